// Helpers of the fixture compatibility suite; see compat_support.h.
#include "compat_support.h"

#include <openssl/sha.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#ifndef RS_SOURCE_DIR_DEFAULT
#define RS_SOURCE_DIR_DEFAULT ""
#endif

namespace compat {

using libstore::GetRequest;
using libstore::GetStatus;
using libstore::MessageRef;
using libstore::MessageStore;
using libstore::PhysicalOffset;
using libstore::QueueOffset;
using libstore::StoredMessage;

std::string FixturesDir() {
  const char* env = std::getenv("RS_SOURCE_DIR");
  const std::string src = env != nullptr && *env != '\0' ? env : RS_SOURCE_DIR_DEFAULT;
  if (src.empty()) return "";
  const std::string dir = src + "/../shared/fixtures";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return "";
  return std::filesystem::weakly_canonical(dir, ec).string();
}

libstore::StoreOptions FixtureOptions(const std::string& root) {
  libstore::StoreOptions o;
  o.root_dir = root;
  o.commitlog_file_size = kCommitLogFileSize;
  o.consume_queue_units_per_file = kCqUnitsPerFile;
  o.index_hash_slots = kIndexSlots;
  o.index_max_entries = kIndexMaxEntries;
  o.store_host = kStoreHost;
  // The broker ran with the default maxMessageSize (4 MiB), which libstore refuses next to a
  // 64 KiB CommitLog file (a record of that size could never be stored). Use the largest round
  // value libstore accepts for this file size; the fixtures' largest body is about 20 KiB.
  o.max_message_size = 32000;
  o.clean_resource_interval_ms = 0;  // no retention while testing
  o.flush_mode = libstore::FlushMode::kAsync;
  return o;
}

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return static_cast<bool>(in) || in.eof();
}

std::vector<std::string> ListDirSorted(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ListFilesRecursive(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root, ec)) {
    if (e.is_regular_file()) {
      out.push_back(std::filesystem::relative(e.path(), root).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<json>& LoadJsonl(const std::string& path) {
  static std::map<std::string, std::unique_ptr<std::vector<json>>> cache;
  auto& slot = cache[path];
  if (!slot) {
    slot = std::make_unique<std::vector<json>>();
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) slot->push_back(json::parse(line));
    }
  }
  return *slot;
}

const json& LoadJson(const std::string& path) {
  static std::map<std::string, std::unique_ptr<json>> cache;
  auto& slot = cache[path];
  if (!slot) {
    std::ifstream in(path);
    slot = std::make_unique<json>(in ? json::parse(in) : json());
  }
  return *slot;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<std::string> Inflate(std::string_view data) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

int32_t MaskedCrc32(std::string_view data) {
  const uLong c =
      crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return static_cast<int32_t>(c & 0x7FFFFFFFu);
}

int32_t JavaHashAscii(std::string_view s) {
  uint32_t h = 0;
  for (char c : s) h = 31 * h + static_cast<unsigned char>(c);
  return static_cast<int32_t>(h);
}

int32_t JavaHash(std::string_view s) {
  uint32_t h = 0;
  auto unit = [&h](uint32_t cu) { h = 31 * h + cu; };
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else if (c >= 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if (c >= 0xC0) {
      cp = c & 0x1F;
      len = 2;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

namespace {

std::string OffsetName(int64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(v));
  return buf;
}

void PutBE32At(std::string* s, size_t at, uint32_t v) {
  std::string b;
  AppendBE32(&b, v);
  s->replace(at, 4, b);
}

void PutBE64At(std::string* s, size_t at, uint64_t v) {
  std::string b;
  AppendBE64(&b, v);
  s->replace(at, 8, b);
}

std::string JsonProperty(const json& m, const char* name) {
  const json& p = m.at("properties");
  return p.contains(name) ? p.at(name).get<std::string>() : std::string();
}

// IndexFile as RocketMQ 4.9.7 writes it (IndexFile.putKey / IndexService.buildIndex).
class IndexModel {
 public:
  static constexpr size_t kSize = 40 + kIndexSlots * 4 + size_t{kIndexMaxEntries} * 20;

  void Build(const json& m) {
    const int64_t phy = m.at("commitLogOffset").get<int64_t>();
    const int64_t ts = m.at("storeTimestamp").get<int64_t>();
    if ((m.at("sysFlag").get<int32_t>() & 0xC) == 0xC) return;      // rollback: not indexed
    if (!files_.empty() && phy < Get64(files_.back(), 24)) return;  // already indexed
    const std::string topic = m.at("topic").get<std::string>();
    const std::string uniq = JsonProperty(m, "UNIQ_KEY");
    if (!uniq.empty()) PutKey(topic + "#" + uniq, phy, ts);
    const std::string keys = JsonProperty(m, "KEYS");
    size_t start = 0;
    while (start < keys.size()) {
      size_t end = keys.find(' ', start);
      if (end == std::string::npos) end = keys.size();
      if (end > start) PutKey(topic + "#" + keys.substr(start, end - start), phy, ts);
      start = end + 1;
    }
  }
  const std::vector<std::string>& files() const { return files_; }

 private:
  static int64_t Get64(const std::string& f, size_t at) { return ReadBE64(f.data() + at); }
  static int32_t Get32(const std::string& f, size_t at) { return ReadBE32(f.data() + at); }

  std::string* Writable() {
    if (files_.empty() || Get32(files_.back(), 36) >= kIndexMaxEntries) {
      int64_t begin_phy = 0, begin_ts = 0;
      if (!files_.empty()) {
        begin_phy = Get64(files_.back(), 24);
        begin_ts = Get64(files_.back(), 8);
      }
      std::string f(kSize, '\0');
      PutBE64At(&f, 0, static_cast<uint64_t>(begin_ts));
      PutBE64At(&f, 8, static_cast<uint64_t>(begin_ts));
      PutBE64At(&f, 16, static_cast<uint64_t>(begin_phy));
      PutBE64At(&f, 24, static_cast<uint64_t>(begin_phy));
      PutBE32At(&f, 36, 1);
      files_.push_back(std::move(f));
    }
    return &files_.back();
  }

  void PutKey(const std::string& key, int64_t phy, int64_t ts) {
    std::string& f = *Writable();
    const int32_t h = JavaHash(key);
    const int32_t key_hash = h == INT32_MIN ? 0 : (h < 0 ? -h : h);
    const size_t slot_at = 40 + static_cast<size_t>(key_hash % kIndexSlots) * 4;
    const int32_t count = Get32(f, 36);
    int32_t prev = Get32(f, slot_at);
    if (prev <= 0 || prev > count) prev = 0;
    const int64_t begin_ts = Get64(f, 0);
    int64_t diff = (ts - begin_ts) / 1000;
    if (begin_ts <= 0) {
      diff = 0;
    } else if (diff > INT32_MAX) {
      diff = INT32_MAX;
    } else if (diff < 0) {
      diff = 0;
    }
    const size_t e = 40 + kIndexSlots * 4 + static_cast<size_t>(count) * 20;
    PutBE32At(&f, e, static_cast<uint32_t>(key_hash));
    PutBE64At(&f, e + 4, static_cast<uint64_t>(phy));
    PutBE32At(&f, e + 12, static_cast<uint32_t>(diff));
    PutBE32At(&f, e + 16, static_cast<uint32_t>(prev));
    PutBE32At(&f, slot_at, static_cast<uint32_t>(count));
    if (count <= 1) {
      PutBE64At(&f, 16, static_cast<uint64_t>(phy));
      PutBE64At(&f, 0, static_cast<uint64_t>(ts));
    }
    if (prev == 0) PutBE32At(&f, 32, static_cast<uint32_t>(Get32(f, 32) + 1));
    PutBE32At(&f, 36, static_cast<uint32_t>(count + 1));
    PutBE64At(&f, 24, static_cast<uint64_t>(phy));
    PutBE64At(&f, 8, static_cast<uint64_t>(ts));
  }

  std::vector<std::string> files_;
};

}  // namespace

std::map<std::string, std::string> ModelConsumeQueues(const std::vector<json>& messages) {
  // messageDelayLevel (4.9.7 default), in ms.
  static const int64_t kDelays[] = {1000,   5000,   10000,   30000,   60000,   120000,
                                    180000, 240000, 300000,  360000,  420000,  480000,
                                    540000, 600000, 1200000, 1800000, 3600000, 7200000};
  const int64_t file_bytes = kCqUnitsPerFile * kCqUnitSize;
  std::map<std::string, std::string> files;
  for (const json& m : messages) {
    const int32_t tx = m.at("sysFlag").get<int32_t>() & 0xC;
    if (tx != 0 && tx != 0x8) continue;  // prepared / rollback records have no unit
    const std::string topic = m.at("topic").get<std::string>();
    int64_t tags_code = 0;
    if (topic == "SCHEDULE_TOPIC_XXXX") {
      const int level = std::min(std::atoi(JsonProperty(m, "DELAY").c_str()), 18);
      if (level > 0) tags_code = m.at("storeTimestamp").get<int64_t>() + kDelays[level - 1];
    } else if (m.contains("tags") && !m.at("tags").is_null()) {
      tags_code = JavaHash(m.at("tags").get<std::string>());
    }
    const int64_t byte_off = m.at("queueOffset").get<int64_t>() * kCqUnitSize;
    const std::string rel = topic + "/" + std::to_string(m.at("queueId").get<int32_t>()) + "/" +
                            OffsetName(byte_off - byte_off % file_bytes);
    auto it = files.find(rel);
    if (it == files.end()) {
      it = files.emplace(rel, std::string(static_cast<size_t>(file_bytes), '\0')).first;
    }
    const size_t at = static_cast<size_t>(byte_off % file_bytes);
    PutBE64At(&it->second, at, static_cast<uint64_t>(m.at("commitLogOffset").get<int64_t>()));
    PutBE32At(&it->second, at + 8, static_cast<uint32_t>(m.at("storeSize").get<int32_t>()));
    PutBE64At(&it->second, at + 12, static_cast<uint64_t>(tags_code));
  }
  return files;
}

std::vector<std::string> ModelIndexFiles(const std::vector<json>& messages) {
  std::vector<const json*> ordered;
  for (const json& m : messages) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(), [](const json* a, const json* b) {
    return a->at("commitLogOffset").get<int64_t>() < b->at("commitLogOffset").get<int64_t>();
  });
  IndexModel model;
  for (const json* m : ordered) model.Build(*m);
  return model.files();
}

int32_t ReadBE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<int32_t>((uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
                              (uint32_t{u[2]} << 8) | uint32_t{u[3]});
}

int64_t ReadBE64(const char* p) {
  const uint64_t hi = static_cast<uint32_t>(ReadBE32(p));
  const uint64_t lo = static_cast<uint32_t>(ReadBE32(p + 4));
  return static_cast<int64_t>((hi << 32) | lo);
}

void AppendBE16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xFF));
}

void AppendBE32(std::string* out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<char>((v >> s) & 0xFF));
}

void AppendBE64(std::string* out, uint64_t v) {
  AppendBE32(out, static_cast<uint32_t>(v >> 32));
  AppendBE32(out, static_cast<uint32_t>(v & 0xFFFFFFFFu));
}

std::string HostString(std::string_view ip, int32_t port) {
  std::string out;
  if (ip.size() == 4) {
    for (size_t i = 0; i < 4; ++i) {
      if (i > 0) out.push_back('.');
      out += std::to_string(static_cast<unsigned char>(ip[i]));
    }
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('[');
    for (char c : ip) {
      out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
      out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
    }
    out.push_back(']');
  }
  return out + ":" + std::to_string(port);
}

std::string HostString(const libstore::HostAddress& h) { return HostString(h.ip_bytes, h.port); }

std::string OffsetMsgIdV4(std::string_view ip4, int32_t port, int64_t offset) {
  std::string raw(ip4);
  AppendBE32(&raw, static_cast<uint32_t>(port));
  AppendBE64(&raw, static_cast<uint64_t>(offset));
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : raw) {
    out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
  }
  return out;
}

bool ParseRawRecord(std::string_view avail, RawRecord* out, std::string* error) {
  *out = RawRecord();
  if (avail.size() < 8) {
    *error = "fewer than 8 bytes left";
    return false;
  }
  const char* p = avail.data();
  out->total_size = ReadBE32(p);
  out->magic = ReadBE32(p + 4);
  if (out->magic == kMagicBlank) {
    out->blank = true;
    out->bytes = avail.substr(0, 8);
    if (out->total_size < 8) {
      *error = "blank record declares fewer than 8 bytes";
      return false;
    }
    return true;
  }
  if (out->magic != kMagicMessage) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "bad magic 0x%08x", static_cast<uint32_t>(out->magic));
    *error = buf;
    return false;
  }
  const int64_t total = out->total_size;
  if (total < 91 || static_cast<size_t>(total) > avail.size()) {
    *error = "total size " + std::to_string(total) + " impossible with " +
             std::to_string(avail.size()) + " bytes left";
    return false;
  }
  out->body_crc = ReadBE32(p + 8);
  out->queue_id = ReadBE32(p + 12);
  out->flag = ReadBE32(p + 16);
  out->queue_offset = ReadBE64(p + 20);
  out->physical_offset = ReadBE64(p + 28);
  out->sys_flag = ReadBE32(p + 36);
  out->born_timestamp = ReadBE64(p + 40);
  size_t pos = 48;
  const size_t born_len = (out->sys_flag & 0x10) != 0 ? 16 : 4;
  const size_t store_len = (out->sys_flag & 0x20) != 0 ? 16 : 4;
  const size_t fixed = 91 + (born_len - 4) + (store_len - 4);
  if (static_cast<size_t>(total) < fixed) {
    *error = "total size below the fixed part";
    return false;
  }
  out->born_host = HostString(std::string_view(p + pos, born_len), ReadBE32(p + pos + born_len));
  pos += born_len + 4;
  out->store_timestamp = ReadBE64(p + pos);
  pos += 8;
  out->store_host = HostString(std::string_view(p + pos, store_len), ReadBE32(p + pos + store_len));
  pos += store_len + 4;
  out->reconsume_times = ReadBE32(p + pos);
  out->prepared_transaction_offset = ReadBE64(p + pos + 4);
  const int32_t body_len = ReadBE32(p + pos + 12);
  pos += 16;
  if (body_len < 0 || pos + static_cast<size_t>(body_len) + 3 > static_cast<size_t>(total)) {
    *error = "body length " + std::to_string(body_len) + " does not fit";
    return false;
  }
  out->body = std::string_view(p + pos, static_cast<size_t>(body_len));
  pos += static_cast<size_t>(body_len);
  const size_t topic_len = static_cast<unsigned char>(p[pos]);
  pos += 1;
  if (pos + topic_len + 2 > static_cast<size_t>(total)) {
    *error = "topic length does not fit";
    return false;
  }
  out->topic = std::string_view(p + pos, topic_len);
  pos += topic_len;
  const size_t props_len = (static_cast<size_t>(static_cast<unsigned char>(p[pos])) << 8) |
                           static_cast<unsigned char>(p[pos + 1]);
  pos += 2;
  if (pos + props_len != static_cast<size_t>(total)) {
    *error = "fields add up to " + std::to_string(pos + props_len) + " bytes, total size is " +
             std::to_string(total);
    return false;
  }
  out->properties = std::string_view(p + pos, props_len);
  out->bytes = avail.substr(0, static_cast<size_t>(total));
  return true;
}

std::string EncodeExpectedRecord(const libstore::MessageToStore& msg, int64_t queue_offset,
                                 int64_t physical_offset, int64_t store_timestamp,
                                 std::string_view store_ip4, int32_t store_port) {
  const size_t total =
      91 + msg.body.size() + msg.topic.size() + msg.properties.size();  // IPv4 hosts, V1
  std::string r;
  AppendBE32(&r, static_cast<uint32_t>(total));
  AppendBE32(&r, static_cast<uint32_t>(kMagicMessage));
  AppendBE32(&r, static_cast<uint32_t>(MaskedCrc32(msg.body)));
  AppendBE32(&r, static_cast<uint32_t>(msg.queue_id));
  AppendBE32(&r, static_cast<uint32_t>(msg.flag));
  AppendBE64(&r, static_cast<uint64_t>(queue_offset));
  AppendBE64(&r, static_cast<uint64_t>(physical_offset));
  AppendBE32(&r, static_cast<uint32_t>(msg.sys_flag));
  AppendBE64(&r, static_cast<uint64_t>(msg.born_timestamp_ms));
  r += msg.born_host.ip_bytes;
  AppendBE32(&r, static_cast<uint32_t>(msg.born_host.port));
  AppendBE64(&r, static_cast<uint64_t>(store_timestamp));
  r += store_ip4;
  AppendBE32(&r, static_cast<uint32_t>(store_port));
  AppendBE32(&r, static_cast<uint32_t>(msg.reconsume_times));
  AppendBE64(&r, static_cast<uint64_t>(msg.prepared_transaction_offset));
  AppendBE32(&r, static_cast<uint32_t>(msg.body.size()));
  r += msg.body;
  r.push_back(static_cast<char>(msg.topic.size()));
  r += msg.topic;
  AppendBE16(&r, static_cast<uint16_t>(msg.properties.size()));
  r += msg.properties;
  return r;
}

void Mismatches::Add(std::string what) {
  ++count_;
  if (listed_.size() < max_listed_) listed_.push_back(std::move(what));
}

std::string Mismatches::Summary() const {
  if (count_ == 0) return "no mismatch";
  std::string out = std::to_string(count_) + " mismatch(es)";
  if (count_ > listed_.size()) out += ", the first " + std::to_string(listed_.size());
  out += ":\n";
  for (const auto& l : listed_) out += "  " + l + "\n";
  return out;
}

std::string ToDebugString(int64_t v) { return std::to_string(v); }
std::string ToDebugString(const char* v) { return ToDebugString(std::string_view(v)); }
std::string ToDebugString(const std::string& v) { return ToDebugString(std::string_view(v)); }
std::string ToDebugString(std::string_view v) {
  std::string out = "\"";
  for (size_t i = 0; i < v.size() && i < 200; ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (v.size() > 200) out += "...";
  return out + "\"";
}

namespace {

constexpr char kAbsent[] = "<absent>";

std::string OptProperty(std::string_view props, std::string_view key) {
  const auto v = libstore::FindProperty(props, key);
  return v ? std::string(*v) : std::string(kAbsent);
}

std::string OptJsonString(const json& e, const char* key) {
  if (!e.contains(key) || e.at(key).is_null()) return kAbsent;
  return e.at(key).get<std::string>();
}

std::string QueueCtx(const std::string& topic, int64_t qid) {
  return topic + "/" + std::to_string(qid);
}

}  // namespace

void CompareWithExpected(const StoredMessage& m, const json& e, const std::string& ctx,
                         Mismatches* mm) {
  auto I = [&e](const char* k) { return e.at(k).get<int64_t>(); };
  auto S = [&e](const char* k) { return e.at(k).get<std::string>(); };
  mm->Eq(ctx, "topic", std::string(m.topic), S("topic"));
  mm->Eq(ctx, "queueId", int64_t{m.queue_id}, I("queueId"));
  mm->Eq(ctx, "queueOffset", m.queue_offset.value(), I("queueOffset"));
  mm->Eq(ctx, "commitLogOffset", m.physical_offset.value(), I("commitLogOffset"));
  mm->Eq(ctx, "storeSize", int64_t{m.store_size}, I("storeSize"));
  mm->Eq(ctx, "sysFlag", int64_t{m.sys_flag}, I("sysFlag"));
  mm->Eq(ctx, "flag", int64_t{m.flag}, I("flag"));
  mm->Eq(ctx, "bornTimestamp", m.born_timestamp_ms, I("bornTimestamp"));
  mm->Eq(ctx, "bornHost", HostString(m.born_host), S("bornHost"));
  mm->Eq(ctx, "storeTimestamp", m.store_timestamp_ms, I("storeTimestamp"));
  mm->Eq(ctx, "storeHost", HostString(m.store_host), S("storeHost"));
  mm->Eq(ctx, "reconsumeTimes", int64_t{m.reconsume_times}, I("reconsumeTimes"));
  mm->Eq(ctx, "preparedTransactionOffset", m.prepared_transaction_offset,
         I("preparedTransactionOffset"));
  // The whole record.
  mm->Eq(ctx, "record length", static_cast<int64_t>(m.record.size()), I("storeSize"));
  mm->Eq(ctx, "recordSha256", Sha256Hex(m.record), S("recordSha256"));
  // Body as stored, and as the client sees it.
  mm->Eq(ctx, "bodyCRC", int64_t{m.body_crc}, I("bodyCRC"));
  mm->Eq(ctx, "crc32(stored body)", int64_t{MaskedCrc32(m.body)}, I("bodyCRC"));
  mm->Eq(ctx, "storedBodyLength", static_cast<int64_t>(m.body.size()), I("storedBodyLength"));
  mm->Eq(ctx, "storedBodySha256", Sha256Hex(m.body), S("storedBodySha256"));
  if ((m.sys_flag & libstore::sysflag::kCompressed) != 0) {
    const auto plain = Inflate(m.body);
    if (!plain) {
      mm->Add(ctx + ": sysFlag says compressed but the stored body does not inflate");
    } else {
      mm->Eq(ctx, "bodyLength (inflated)", static_cast<int64_t>(plain->size()), I("bodyLength"));
      mm->Eq(ctx, "bodySha256 (inflated)", Sha256Hex(*plain), S("bodySha256"));
    }
  } else {
    mm->Eq(ctx, "bodyLength", static_cast<int64_t>(m.body.size()), I("bodyLength"));
    mm->Eq(ctx, "bodySha256", Sha256Hex(m.body), S("bodySha256"));
  }
  // Properties: the complete map.
  // Batch records carry a name twice (the inner message's WAIT and the batch's): like Java's
  // decoder filling a HashMap, the last occurrence wins.
  const libstore::Properties props = libstore::Properties::Decode(m.properties);
  std::map<std::string, std::string> actual;
  for (const auto& [k, v] : props.entries()) actual[k] = v;
  std::map<std::string, std::string> expected;
  for (const auto& [k, v] : e.at("properties").items()) expected[k] = v.get<std::string>();
  if (actual != expected) {
    std::set<std::string> names;
    for (const auto& [k, v] : actual) names.insert(k);
    for (const auto& [k, v] : expected) names.insert(k);
    for (const auto& n : names) {
      const auto a = actual.find(n);
      const auto x = expected.find(n);
      const std::string av = a == actual.end() ? kAbsent : a->second;
      const std::string xv = x == expected.end() ? kAbsent : x->second;
      if (av != xv)
        mm->Add(ctx + ": property " + n + " is " + ToDebugString(av) + ", expected " +
                ToDebugString(xv));
    }
  }
  mm->Eq(ctx, "tags", OptProperty(m.properties, libstore::property::kTags),
         OptJsonString(e, "tags"));
  mm->Eq(ctx, "keys", OptProperty(m.properties, libstore::property::kKeys),
         OptJsonString(e, "keys"));
  mm->Eq(ctx, "uniqKey", OptProperty(m.properties, libstore::property::kUniqKey),
         OptJsonString(e, "uniqKey"));
  // Message ids: libstore's encoder and an independent one.
  mm->Eq(ctx, "offsetMsgId", libstore::EncodeOffsetMsgId(m.store_host, m.physical_offset),
         S("offsetMsgId"));
  if (m.store_host.ip_bytes.size() == 4) {
    mm->Eq(ctx, "offsetMsgId (test encoder)",
           OffsetMsgIdV4(m.store_host.ip_bytes, m.store_host.port, m.physical_offset.value()),
           S("offsetMsgId"));
  }
}

int64_t PullAndCompare(MessageStore* store, const std::vector<json>& expected, Mismatches* mm) {
  // Group per queue, keeping the file's order (queue order).
  std::map<std::pair<std::string, int32_t>, std::vector<const json*>> queues;
  for (const json& e : expected) {
    queues[{e.at("topic").get<std::string>(), e.at("queueId").get<int32_t>()}].push_back(&e);
  }
  int64_t compared = 0;
  for (const auto& [key, lines] : queues) {
    const std::string qctx = QueueCtx(key.first, key.second);
    const int64_t start = lines.front()->at("queueOffset").get<int64_t>();
    const int64_t end = start + static_cast<int64_t>(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i]->at("queueOffset").get<int64_t>() != start + static_cast<int64_t>(i)) {
        mm->Add(qctx + ": fixture lines are not consecutive (test bug)");
      }
    }
    int64_t cur = start;
    while (cur < end) {
      GetRequest req;
      req.topic = key.first;
      req.queue_id = key.second;
      req.offset = QueueOffset(cur);
      // 32 per pull as the broker dump did, never past the expected range (queues may have
      // grown since, see CheckOffsets' extra_max).
      req.max_count = static_cast<int32_t>(std::min<int64_t>(32, end - cur));
      const libstore::GetResult r = store->GetMessages(req);
      if (r.status != GetStatus::kFound || r.messages.empty()) {
        mm->Add(qctx + ": GetMessages at " + std::to_string(cur) + " returned " +
                libstore::GetStatusName(r.status) + " with " + std::to_string(r.messages.size()) +
                " message(s), " + std::to_string(end - cur) + " more expected");
        break;
      }
      const int64_t before = cur;
      for (const MessageRef& ref : r.messages) {
        const std::string ctx = qctx + "@" + std::to_string(cur);
        if (cur >= end) {
          mm->Add(ctx + ": more messages than the broker served");
          break;
        }
        mm->Eq(ctx, "queue offset of the pulled message", ref.message.queue_offset.value(), cur);
        const json& e = *lines[static_cast<size_t>(cur - start)];
        CompareWithExpected(ref.message, e, ctx, mm);
        const auto ts = store->GetStoreTime(key.first, key.second, QueueOffset(cur));
        if (!ts.ok()) {
          mm->Add(ctx + ": GetStoreTime failed: " + ts.status().ToString());
        } else {
          mm->Eq(ctx, "GetStoreTime", *ts, e.at("storeTimestamp").get<int64_t>());
        }
        ++cur;
        ++compared;
      }
      if (cur < end && r.next_begin_offset.value() != cur) {
        mm->Add(qctx + ": next_begin_offset " + std::to_string(r.next_begin_offset.value()) +
                " after reading up to " + std::to_string(cur));
        break;
      }
      if (cur == before) break;
    }
  }
  return compared;
}

void CheckOffsets(MessageStore* store, const json& offsets,
                  const std::map<std::pair<std::string, int32_t>, int64_t>& extra_max,
                  int64_t expected_commitlog_max, Mismatches* mm) {
  const libstore::StoreStats st = store->GetStats();
  const json& cl = offsets.at("commitLog");
  mm->Eq("CommitLog", "min offset", st.commitlog_min_offset.value(),
         cl.at("commitLogMinOffset").get<int64_t>());
  mm->Eq("CommitLog", "max offset", st.commitlog_max_offset.value(), expected_commitlog_max);
  mm->Eq("CommitLog", "dispatch behind bytes", st.dispatch_behind_bytes,
         cl.at("dispatchBehindBytes").get<int64_t>());
  mm->Eq("CommitLog", "dispatched offset", st.dispatched_offset.value(), expected_commitlog_max);

  std::set<std::pair<std::string, int32_t>> expected_queues;
  for (const json& q : offsets.at("queues")) {
    const std::string topic = q.at("topic").get<std::string>();
    const int32_t qid = q.at("queueId").get<int32_t>();
    expected_queues.insert({topic, qid});
    const std::string ctx = QueueCtx(topic, qid);
    int64_t want_max = q.at("maxOffset").get<int64_t>();
    if (auto it = extra_max.find({topic, qid}); it != extra_max.end()) want_max = it->second;
    const int64_t want_min = q.at("minOffset").get<int64_t>();
    mm->Eq(ctx, "min offset", store->GetMinOffset(topic, qid).value(), want_min);
    mm->Eq(ctx, "max offset", store->GetMaxOffset(topic, qid).value(), want_max);
    // Reading at the max offset is the long-polling case, past it is out of range.
    GetRequest req;
    req.topic = topic;
    req.queue_id = qid;
    req.offset = QueueOffset(want_max);
    libstore::GetResult r = store->GetMessages(req);
    mm->Eq(ctx, "GetMessages(max) status", std::string(libstore::GetStatusName(r.status)),
           std::string(libstore::GetStatusName(GetStatus::kOffsetOverflowOne)));
    mm->Eq(ctx, "GetMessages(max) min_offset", r.min_offset.value(), want_min);
    mm->Eq(ctx, "GetMessages(max) max_offset", r.max_offset.value(), want_max);
    req.offset = QueueOffset(want_max + 1);
    r = store->GetMessages(req);
    mm->Eq(ctx, "GetMessages(max+1) status", std::string(libstore::GetStatusName(r.status)),
           std::string(libstore::GetStatusName(GetStatus::kOffsetOverflowBadly)));
    mm->Eq(ctx, "GetMessages(max+1) next_begin_offset", r.next_begin_offset.value(), want_max);
  }
  for (const auto& [k, v] : extra_max) expected_queues.insert(k);
  std::set<std::pair<std::string, int32_t>> actual_queues;
  for (const auto& q : store->ListQueues()) actual_queues.insert(q);
  for (const auto& q : actual_queues) {
    if (!expected_queues.count(q)) {
      mm->Add(QueueCtx(q.first, q.second) + ": the store has a queue the broker did not have");
    }
  }
  for (const auto& q : expected_queues) {
    if (!actual_queues.count(q)) {
      mm->Add(QueueCtx(q.first, q.second) + ": queue missing from ListQueues()");
    }
  }
  // brokerOffset of the consumer-offset table is the queue's max offset (0 for queues the
  // broker never wrote, such as FixDelay/2 whose messages all went to level 18).
  if (offsets.contains("consumerOffsets")) {
    for (const json& c : offsets.at("consumerOffsets")) {
      const std::string topic = c.at("topic").get<std::string>();
      const int32_t qid = c.at("queueId").get<int32_t>();
      if (extra_max.count({topic, qid})) continue;
      mm->Eq(QueueCtx(topic, qid) + " (consumer " + c.at("group").get<std::string>() + ")",
             "brokerOffset", store->GetMaxOffset(topic, qid).value(),
             c.at("brokerOffset").get<int64_t>());
    }
  }
}

void WalkCommitLog(MessageStore* store, const std::vector<json>& lines,
                   const std::string& fixture_commitlog, Mismatches* mm) {
  const libstore::StoreStats st = store->GetStats();
  const int64_t max = st.commitlog_max_offset.value();
  // (a) Every line through the "view message by offset" path.
  for (const json& l : lines) {
    const int64_t off = l.at("commitLogOffset").get<int64_t>();
    const std::string ctx = "CommitLog@" + std::to_string(off);
    const auto r = store->GetMessageByOffset(PhysicalOffset(off));
    if (l.at("kind").get<std::string>() == "blank") {
      if (r.ok()) mm->Add(ctx + ": GetMessageByOffset returned a message at an end-of-file blank");
      continue;
    }
    if (!r.ok()) {
      mm->Add(ctx + ": GetMessageByOffset failed: " + r.status().ToString());
      continue;
    }
    const StoredMessage& m = r->message;
    mm->Eq(ctx, "physical offset", m.physical_offset.value(), off);
    mm->Eq(ctx, "storeSize", int64_t{m.store_size}, l.at("storeSize").get<int64_t>());
    mm->Eq(ctx, "topic", std::string(m.topic), l.at("topic").get<std::string>());
    mm->Eq(ctx, "queueId", int64_t{m.queue_id}, l.at("queueId").get<int64_t>());
    mm->Eq(ctx, "queueOffset", m.queue_offset.value(), l.at("queueOffset").get<int64_t>());
    mm->Eq(ctx, "sysFlag", int64_t{m.sys_flag}, l.at("sysFlag").get<int64_t>());
    mm->Eq(ctx, "recordSha256", Sha256Hex(m.record), l.at("recordSha256").get<std::string>());
  }
  {
    const auto r = store->GetMessageByOffset(PhysicalOffset(max));
    if (r.ok() || r.status().code() != absl::StatusCode::kOutOfRange) {
      mm->Add("GetMessageByOffset(max offset) should be OutOfRange, got " +
              (r.ok() ? std::string("a message") : r.status().ToString()));
    }
  }
  // (b) Raw walk: ReadCommitLog slices decoded by the test's own parser, in physical order.
  std::map<int64_t, std::string> fixture_files;
  auto fixture_bytes = [&](int64_t file_from) -> const std::string* {
    auto it = fixture_files.find(file_from);
    if (it == fixture_files.end()) {
      char name[32];
      std::snprintf(name, sizeof(name), "%020lld", static_cast<long long>(file_from));
      std::string data;
      if (!ReadWholeFile(fixture_commitlog + "/" + name, &data)) data.clear();
      it = fixture_files.emplace(file_from, std::move(data)).first;
    }
    return it->second.empty() ? nullptr : &it->second;
  };
  size_t li = 0;
  int64_t pos = st.commitlog_min_offset.value();
  while (pos < max) {
    const auto s = store->ReadCommitLog(PhysicalOffset(pos), 1 << 20);
    if (!s.ok()) {
      mm->Add("ReadCommitLog(" + std::to_string(pos) + ") failed: " + s.status().ToString());
      break;
    }
    if (s->offset.value() != pos || s->bytes.empty()) {
      mm->Add("ReadCommitLog(" + std::to_string(pos) + ") returned " +
              std::to_string(s->bytes.size()) + " bytes at " + std::to_string(s->offset.value()));
      break;
    }
    const std::string_view bytes = s->bytes;
    const int64_t file_from = pos - pos % kCommitLogFileSize;
    if (pos % kCommitLogFileSize + static_cast<int64_t>(bytes.size()) > kCommitLogFileSize) {
      mm->Add("ReadCommitLog(" + std::to_string(pos) + ") crossed a file end");
      break;
    }
    if (!fixture_commitlog.empty()) {
      const std::string* f = fixture_bytes(file_from);
      if (f == nullptr) {
        mm->Add("fixture CommitLog file for offset " + std::to_string(pos) + " is missing");
      } else {
        const std::string_view want =
            std::string_view(*f).substr(static_cast<size_t>(pos - file_from), bytes.size());
        if (want != bytes) {
          size_t i = 0;
          while (i < want.size() && i < bytes.size() && want[i] == bytes[i]) ++i;
          mm->Add("raw CommitLog bytes differ from the fixture at offset " +
                  std::to_string(pos + static_cast<int64_t>(i)));
        }
      }
    }
    size_t p = 0;
    bool stop = false;
    while (p < bytes.size() && !stop) {
      const int64_t off = pos + static_cast<int64_t>(p);
      const std::string ctx = "raw CommitLog@" + std::to_string(off);
      RawRecord rec;
      std::string err;
      if (!ParseRawRecord(bytes.substr(p), &rec, &err)) {
        mm->Add(ctx + ": " + err);
        stop = true;
        break;
      }
      if (li >= lines.size()) {
        mm->Add(ctx + ": record beyond the last expected one");
        stop = true;
        break;
      }
      const json& l = lines[li++];
      mm->Eq(ctx, "commitLogOffset", off, l.at("commitLogOffset").get<int64_t>());
      mm->Eq(ctx, "storeSize", int64_t{rec.total_size}, l.at("storeSize").get<int64_t>());
      mm->Eq(ctx, "kind", std::string(rec.blank ? "blank" : "message"),
             l.at("kind").get<std::string>());
      if (rec.blank) {
        mm->Eq(ctx, "blank reaches the file end", off % kCommitLogFileSize + rec.total_size,
               kCommitLogFileSize);
        if (p + static_cast<size_t>(rec.total_size) > bytes.size()) {
          mm->Add(ctx + ": ReadCommitLog cut the end-of-file filler");
          stop = true;
          break;
        }
      } else if (l.at("kind") == "message") {
        mm->Eq(ctx, "topic", std::string(rec.topic), l.at("topic").get<std::string>());
        mm->Eq(ctx, "queueId", int64_t{rec.queue_id}, l.at("queueId").get<int64_t>());
        mm->Eq(ctx, "queueOffset", rec.queue_offset, l.at("queueOffset").get<int64_t>());
        mm->Eq(ctx, "sysFlag", int64_t{rec.sys_flag}, l.at("sysFlag").get<int64_t>());
        mm->Eq(ctx, "physicalOffset field", rec.physical_offset, off);
        mm->Eq(ctx, "recordSha256", Sha256Hex(rec.bytes), l.at("recordSha256").get<std::string>());
        mm->Eq(ctx, "bodyCRC", int64_t{rec.body_crc}, int64_t{MaskedCrc32(rec.body)});
      }
      p += static_cast<size_t>(rec.total_size);
    }
    if (stop) break;
    pos += static_cast<int64_t>(bytes.size());
  }
  mm->Eq("raw CommitLog walk", "end offset", pos, max);
  mm->Eq("raw CommitLog walk", "records seen", static_cast<int64_t>(li),
         static_cast<int64_t>(lines.size()));
}

void CheckKeyQueries(MessageStore* store, const json& keys, const std::vector<json>& expected,
                     Mismatches* mm) {
  for (const json& q : keys) {
    const std::string kind = q.at("kind").get<std::string>();
    const std::string topic = q.at("topic").get<std::string>();
    const std::string key = q.at("key").get<std::string>();
    if (kind == "key") {
      const int32_t max_num = q.at("maxNum").get<int32_t>();
      const int64_t begin = q.at("begin").get<int64_t>();
      const int64_t end = q.at("end").get<int64_t>();
      const std::string ctx = "QueryByKey(" + topic + ", " + key + ", " + std::to_string(max_num) +
                              ", " + std::to_string(begin) + ", " + std::to_string(end) + ")";
      const auto r = store->QueryByKey(topic, key, max_num, begin, end);
      if (!r.ok()) {
        mm->Add(ctx + " failed: " + r.status().ToString());
        continue;
      }
      if (q.contains("error")) {
        if (q.at("error").get<std::string>().find("CODE: 208") == std::string::npos) {
          mm->Add(ctx + ": unexpected fixture error (test bug)");
        }
        mm->Eq(ctx, "result count (broker: 208 no message)", static_cast<int64_t>(r->size()),
               int64_t{0});
        continue;
      }
      const json& want = q.at("results");
      mm->Eq(ctx, "result count", static_cast<int64_t>(r->size()),
             static_cast<int64_t>(want.size()));
      mm->Eq(ctx, "resultCount field", static_cast<int64_t>(want.size()),
             q.at("resultCount").get<int64_t>());
      for (size_t i = 1; i < r->size(); ++i) {
        if ((*r)[i - 1].message.physical_offset >= (*r)[i].message.physical_offset) {
          mm->Add(ctx + ": results are not in CommitLog order");
          break;
        }
      }
      for (size_t i = 0; i < r->size() && i < want.size(); ++i) {
        const StoredMessage& m = (*r)[i].message;
        const json& w = want[i];
        const std::string c = ctx + "[" + std::to_string(i) + "]";
        mm->Eq(c, "commitLogOffset", m.physical_offset.value(),
               w.at("commitLogOffset").get<int64_t>());
        mm->Eq(c, "offsetMsgId", libstore::EncodeOffsetMsgId(m.store_host, m.physical_offset),
               w.at("offsetMsgId").get<std::string>());
        mm->Eq(c, "topic", std::string(m.topic), topic);
        mm->Eq(c, "queueId", int64_t{m.queue_id}, w.at("queueId").get<int64_t>());
        mm->Eq(c, "queueOffset", m.queue_offset.value(), w.at("queueOffset").get<int64_t>());
        mm->Eq(c, "storeTimestamp", m.store_timestamp_ms, w.at("storeTimestamp").get<int64_t>());
        mm->Eq(c, "keys", OptProperty(m.properties, libstore::property::kKeys),
               OptJsonString(w, "keys"));
        mm->Eq(c, "uniqKey", OptProperty(m.properties, libstore::property::kUniqKey),
               OptJsonString(w, "uniqKey"));
      }
    } else if (kind == "uniqKey") {
      const std::string ctx = "QueryByKey(" + topic + ", uniqKey " + key + ")";
      const int64_t want_off = q.at("commitLogOffset").get<int64_t>();
      int64_t want_count = 0;
      for (const json& e : expected) {
        if (e.at("topic") == topic && OptJsonString(e, "uniqKey") == key) ++want_count;
      }
      if (want_count == 0) mm->Add(ctx + ": no such message in expected.jsonl (test bug)");
      const auto r = store->QueryByKey(topic, key, 32, 0, INT64_MAX);
      if (!r.ok()) {
        mm->Add(ctx + " failed: " + r.status().ToString());
        continue;
      }
      mm->Eq(ctx, "result count", static_cast<int64_t>(r->size()), want_count);
      bool found = false;
      for (const MessageRef& ref : *r) {
        const StoredMessage& m = ref.message;
        mm->Eq(ctx, "topic", std::string(m.topic), topic);
        mm->Eq(ctx, "UNIQ_KEY", OptProperty(m.properties, libstore::property::kUniqKey), key);
        if (m.physical_offset.value() != want_off) continue;
        found = true;
        mm->Eq(ctx, "offsetMsgId", libstore::EncodeOffsetMsgId(m.store_host, m.physical_offset),
               q.at("offsetMsgId").get<std::string>());
        mm->Eq(ctx, "queueId", int64_t{m.queue_id}, q.at("queueId").get<int64_t>());
        mm->Eq(ctx, "queueOffset", m.queue_offset.value(), q.at("queueOffset").get<int64_t>());
      }
      if (!found) mm->Add(ctx + ": the message at " + std::to_string(want_off) + " is missing");
      const auto byid = store->GetMessageById(q.at("offsetMsgId").get<std::string>());
      if (!byid.ok()) {
        mm->Add(ctx + ": GetMessageById failed: " + byid.status().ToString());
      } else {
        mm->Eq(ctx, "GetMessageById offset", byid->message.physical_offset.value(), want_off);
        mm->Eq(ctx, "GetMessageById UNIQ_KEY",
               OptProperty(byid->message.properties, libstore::property::kUniqKey), key);
      }
    } else {
      mm->Add("unknown lookup kind " + kind + " (test bug)");
    }
  }
}

}  // namespace compat
