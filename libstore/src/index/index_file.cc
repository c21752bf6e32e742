// IndexFile and IndexService; see index_file.h.
#include "index/index_file.h"

#include <algorithm>
#include <climits>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/check.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore::internal {

absl::StatusOr<std::unique_ptr<IndexFile>> IndexFile::Create(Env* env, const std::string& path,
                                                             int32_t slots, int32_t max_entries,
                                                             int64_t begin_phy, int64_t begin_ts) {
  const int64_t size = FileSize(slots, max_entries);
  RS_ASSIGN_OR_RETURN(auto f, env->OpenFile(path, true));
  RS_RETURN_IF_ERROR(f->Truncate(static_cast<uint64_t>(size)));
  RS_RETURN_IF_ERROR(f->Allocate(0, static_cast<uint64_t>(size)));
  RS_ASSIGN_OR_RETURN(auto region, f->Map(static_cast<uint64_t>(size), true));
  std::unique_ptr<IndexFile> idx(
      new IndexFile(std::move(f), std::move(region), slots, max_entries));
  IndexHeader h;
  // A new file continues where the previous one ended (RocketMQ).
  h.begin_phy_offset = begin_phy;
  h.end_phy_offset = begin_phy;
  h.begin_timestamp = begin_ts;
  h.end_timestamp = begin_ts;
  idx->WriteHeader(h);
  return idx;
}

absl::StatusOr<std::unique_ptr<IndexFile>> IndexFile::Open(Env* env, const std::string& path,
                                                           int32_t slots, int32_t max_entries) {
  const int64_t size = FileSize(slots, max_entries);
  RS_ASSIGN_OR_RETURN(auto f, env->OpenFile(path, false));
  RS_ASSIGN_OR_RETURN(uint64_t cur, f->Size());
  if (cur != static_cast<uint64_t>(size)) {
    return absl::DataLossError(
        absl::StrCat(path, ": index file is ", cur, " bytes, expected ", size));
  }
  RS_ASSIGN_OR_RETURN(auto region, f->Map(static_cast<uint64_t>(size), true));
  std::unique_ptr<IndexFile> idx(
      new IndexFile(std::move(f), std::move(region), slots, max_entries));
  const IndexHeader h = idx->header();
  if (h.index_count < 1 || h.index_count > max_entries || h.hash_slot_count < 0 ||
      h.hash_slot_count > slots || h.end_phy_offset < h.begin_phy_offset) {
    return absl::DataLossError(absl::StrCat(path, ": impossible index header (count ",
                                            h.index_count, ", slots ", h.hash_slot_count, ")"));
  }
  return idx;
}

IndexHeader IndexFile::header() const {
  const char* p = region_.data();
  IndexHeader h;
  h.begin_timestamp = GetBEI64(p);
  h.end_timestamp = GetBEI64(p + 8);
  h.begin_phy_offset = GetBEI64(p + 16);
  h.end_phy_offset = GetBEI64(p + 24);
  h.hash_slot_count = GetBEI32(p + 32);
  h.index_count = GetBEI32(p + 36);
  return h;
}

void IndexFile::WriteHeader(const IndexHeader& h) {
  char* p = region_.data();
  PutBE64(p, static_cast<uint64_t>(h.begin_timestamp));
  PutBE64(p + 8, static_cast<uint64_t>(h.end_timestamp));
  PutBE64(p + 16, static_cast<uint64_t>(h.begin_phy_offset));
  PutBE64(p + 24, static_cast<uint64_t>(h.end_phy_offset));
  PutBE32(p + 32, static_cast<uint32_t>(h.hash_slot_count));
  PutBE32(p + 36, static_cast<uint32_t>(h.index_count));
}

bool IndexFile::Put(std::string_view key, int64_t phy_offset, int64_t store_timestamp_ms) {
  IndexHeader h = header();
  if (h.index_count >= max_entries_) return false;
  const int32_t key_hash = IndexKeyHash(key);
  const int32_t slot = key_hash % slots_;
  char* base = region_.data();
  char* slot_p = base + kIndexHeaderSize + int64_t{slot} * kIndexSlotSize;
  int32_t prev = GetBEI32(slot_p);
  if (prev <= 0 || prev > h.index_count) prev = 0;
  int64_t diff = 0;
  if (h.begin_timestamp > 0) diff = JavaSub(store_timestamp_ms, h.begin_timestamp) / 1000;
  diff = std::clamp<int64_t>(diff, 0, INT_MAX);
  char* e = base + kIndexHeaderSize + int64_t{slots_} * kIndexSlotSize +
            int64_t{h.index_count} * kIndexEntrySize;
  PutBE32(e, static_cast<uint32_t>(key_hash));
  PutBE64(e + 4, static_cast<uint64_t>(phy_offset));
  PutBE32(e + 12, static_cast<uint32_t>(diff));
  PutBE32(e + 16, static_cast<uint32_t>(prev));
  PutBE32(slot_p, static_cast<uint32_t>(h.index_count));
  if (h.index_count <= 1) {
    h.begin_phy_offset = phy_offset;
    h.begin_timestamp = store_timestamp_ms;
  }
  if (prev == 0) ++h.hash_slot_count;
  ++h.index_count;
  h.end_phy_offset = phy_offset;
  h.end_timestamp = store_timestamp_ms;
  WriteHeader(h);
  return true;
}

void IndexFile::Select(std::string_view key, size_t max_num, int64_t begin_ms, int64_t end_ms,
                       std::vector<int64_t>* out) const {
  const IndexHeader h = header();
  const int32_t key_hash = IndexKeyHash(key);
  const int32_t slot = key_hash % slots_;
  const char* base = region_.data();
  int32_t cur = GetBEI32(base + kIndexHeaderSize + int64_t{slot} * kIndexSlotSize);
  if (cur <= 0 || cur >= h.index_count) return;
  // Bounded walk: a corrupt chain can never loop forever.
  for (int64_t steps = 0; steps < max_entries_ && out->size() < max_num; ++steps) {
    const char* e =
        base + kIndexHeaderSize + int64_t{slots_} * kIndexSlotSize + int64_t{cur} * kIndexEntrySize;
    const int32_t hash = GetBEI32(e);
    const int64_t phy = GetBEI64(e + 4);
    const int64_t diff = GetBEI32(e + 12);
    const int32_t prev = GetBEI32(e + 16);
    const int64_t ts = JavaAdd(h.begin_timestamp, diff * 1000);
    if (ts < begin_ms) break;
    if (hash == key_hash && ts <= end_ms) out->push_back(phy);
    if (prev <= 0 || prev >= h.index_count || prev == cur) break;
    cur = prev;
  }
}

absl::Status IndexFile::Flush() { return file_->Sync(); }

static std::string IndexFileName(int64_t now_ms) {
  const time_t secs = static_cast<time_t>(now_ms / 1000);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02d%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(now_ms % 1000));
  return buf;
}

static bool IsIndexFileName(const std::string& n) {
  return n.size() == 17 &&
         std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

absl::StatusOr<int64_t> IndexService::Load(int64_t drop_after_ts, int64_t commitlog_end) {
  std::unique_lock l(mu_);
  files_.clear();
  auto names = env_->ListDir(dir_);
  if (absl::IsNotFound(names.status())) return INT64_MAX;
  if (!names.ok()) return names.status();
  std::vector<std::string> sorted;
  for (auto& n : *names) {
    if (IsIndexFileName(n)) sorted.push_back(n);
  }
  std::sort(sorted.begin(), sorted.end());
  int64_t dropped_from = INT64_MAX;
  bool dropping = false;
  for (const auto& n : sorted) {
    const std::string path = absl::StrCat(dir_, "/", n);
    auto f = IndexFile::Open(env_, path, slots_, max_entries_);
    bool drop = dropping || !f.ok();
    if (f.ok()) {
      const IndexHeader h = (*f)->header();
      if ((drop_after_ts >= 0 && h.end_timestamp > drop_after_ts) ||
          h.end_phy_offset > commitlog_end ||
          (h.end_phy_offset == commitlog_end && h.index_count > 1)) {
        drop = true;
      }
      if (drop) dropped_from = std::min(dropped_from, h.begin_phy_offset);
    } else {
      dropped_from = 0;  // unreadable header: rebuild from the start to be safe
    }
    if (drop) {
      // Once one file is dropped, every later one goes too, so the chain of begin offsets
      // stays contiguous.
      dropping = true;
      f = absl::InternalError("dropped");
      RS_RETURN_IF_ERROR(env_->DeleteFile(path));
      continue;
    }
    last_name_ = n;
    files_.push_back(std::move(*f));
  }
  return dropped_from;
}

int64_t IndexService::IndexedEnd() const {
  std::shared_lock l(mu_);
  if (files_.empty()) return 0;
  return files_.back()->header().end_phy_offset;
}

absl::StatusOr<IndexFile*> IndexService::Writable(int64_t phy_offset, int64_t store_ts) {
  if (!files_.empty() && !files_.back()->full()) return files_.back().get();
  int64_t begin_phy = 0, begin_ts = 0;
  if (!files_.empty()) {
    const IndexHeader h = files_.back()->header();
    begin_phy = h.end_phy_offset;
    begin_ts = h.end_timestamp;
    RS_RETURN_IF_ERROR(files_.back()->Flush());
  } else {
    begin_phy = phy_offset;
    begin_ts = 0;
  }
  (void)store_ts;
  RS_RETURN_IF_ERROR(env_->CreateDirs(dir_));
  std::string name = IndexFileName(env_->NowMs());
  if (name <= last_name_) {
    // Two files within one millisecond (or a clock step back): keep names ordered and unique.
    int64_t v = std::stoll(last_name_.substr(11)) + 1;  // ssSSS part, no carry needed in practice
    name = last_name_.substr(0, 11) + absl::StrFormat("%06lld", static_cast<long long>(v));
    if (name.size() != 17 || name <= last_name_) {
      return absl::InternalError("cannot choose an index file name after " + last_name_);
    }
  }
  RS_ASSIGN_OR_RETURN(auto f, IndexFile::Create(env_, absl::StrCat(dir_, "/", name), slots_,
                                                max_entries_, begin_phy, begin_ts));
  last_name_ = name;
  files_.push_back(std::move(f));
  return files_.back().get();
}

absl::Status IndexService::BuildIndex(std::string_view topic, std::string_view uniq_key,
                                      std::string_view keys, int64_t phy_offset, int32_t size,
                                      int64_t store_timestamp_ms) {
  (void)size;
  std::unique_lock l(mu_);
  if (!files_.empty()) {
    // Already indexed (redispatch after recovery)? end_phy_offset is the offset of the last
    // message indexed, so that message itself counts as indexed too, unless the only file has
    // no entry yet (then it is just the begin offset it was created with).
    const IndexHeader h = files_.back()->header();
    const bool has_entries = h.index_count > 1 || files_.size() > 1;
    if (phy_offset < h.end_phy_offset || (phy_offset == h.end_phy_offset && has_entries)) {
      return absl::OkStatus();
    }
  }
  std::string key;
  auto put = [&](std::string_view k) -> absl::Status {
    key.assign(topic.data(), topic.size());
    key.push_back('#');
    key.append(k.data(), k.size());
    for (int attempt = 0; attempt < 2; ++attempt) {
      RS_ASSIGN_OR_RETURN(IndexFile * f, Writable(phy_offset, store_timestamp_ms));
      if (f->Put(key, phy_offset, store_timestamp_ms)) return absl::OkStatus();
    }
    return absl::InternalError("index file full right after creation");
  };
  if (!uniq_key.empty()) RS_RETURN_IF_ERROR(put(uniq_key));
  size_t start = 0;
  while (start <= keys.size()) {
    size_t end = keys.find(' ', start);
    if (end == std::string_view::npos) end = keys.size();
    if (end > start) RS_RETURN_IF_ERROR(put(keys.substr(start, end - start)));
    start = end + 1;
  }
  return absl::OkStatus();
}

std::vector<int64_t> IndexService::Query(std::string_view topic, std::string_view key,
                                         size_t max_num, int64_t begin_ms, int64_t end_ms) const {
  std::vector<int64_t> out;
  const std::string k = absl::StrCat(AV(topic), "#", AV(key));
  std::shared_lock l(mu_);
  for (auto it = files_.rbegin(); it != files_.rend() && out.size() < max_num; ++it) {
    const IndexHeader h = (*it)->header();
    // Files whose time range overlaps [begin, end]; a file that never got an entry has
    // begin_timestamp 0 and is skipped by the entry time check anyway.
    if (h.end_timestamp < begin_ms && h.index_count > 1) break;
    if (h.begin_timestamp > end_ms && h.index_count > 1) continue;
    (*it)->Select(k, max_num, begin_ms, end_ms, &out);
  }
  return out;
}

absl::StatusOr<int64_t> IndexService::Flush() {
  // Only the last two files can have changed since the previous flush (a roll flushes the full
  // file); sync them without holding the lock, so the dispatcher is never stalled by a sync.
  std::vector<std::shared_ptr<IndexFile>> dirty;
  int64_t ts = 0;
  {
    std::shared_lock l(mu_);
    if (files_.empty()) return int64_t{0};
    // RocketMQ's indexMsgTimestamp: the end time of the newest *full* file. Files after it are
    // rebuilt after a crash, and their begin time is >= this value, so recovery (ours or a
    // broker's) re-indexes all of them.
    for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
      if ((*it)->full()) {
        ts = (*it)->header().end_timestamp;
        break;
      }
    }
    dirty.assign(files_.size() >= 2 ? files_.end() - 2 : files_.begin(), files_.end());
  }
  for (auto& f : dirty) RS_RETURN_IF_ERROR(f->Flush());
  return ts;
}

absl::StatusOr<int> IndexService::DeleteExpired(int64_t commitlog_min) {
  std::unique_lock l(mu_);
  int deleted = 0;
  while (files_.size() > 1 && files_.front()->header().end_phy_offset < commitlog_min) {
    RS_RETURN_IF_ERROR(env_->DeleteFile(files_.front()->path()));
    files_.erase(files_.begin());
    ++deleted;
  }
  return deleted;
}

}  // namespace libstore::internal
