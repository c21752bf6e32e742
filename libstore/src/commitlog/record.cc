// Encoder and validating decoder of CommitLog records; see record.h.
#include "commitlog/record.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/check.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore::internal {

int64_t RecordLength(int64_t body_len, int64_t topic_len, int64_t properties_len, bool born_v6,
                     bool store_v6) {
  return 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + (born_v6 ? 20 : 8) + 8 + (store_v6 ? 20 : 8) + 4 + 8 +
         4 + body_len + 1 + topic_len + 2 + properties_len;
}

bool IsLegalTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > static_cast<size_t>(kMaxTopicLengthV1)) return false;
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '%' || c == '|' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status ValidateForStore(const MessageToStore& msg, int32_t max_message_size) {
  if (msg.topic.empty()) return absl::InvalidArgumentError("topic is empty");
  if (msg.topic.size() > static_cast<size_t>(kMaxTopicLengthV1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic is ", msg.topic.size(), " bytes; at most 127 are allowed"));
  }
  if (!IsLegalTopic(msg.topic)) {
    return absl::InvalidArgumentError(
        "topic may only contain the characters %|a-zA-Z0-9_- (RocketMQ's TopicValidator)");
  }
  if (msg.queue_id < 0) return absl::InvalidArgumentError("queue id is negative");
  if (msg.body.size() > static_cast<size_t>(max_message_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("body is ", msg.body.size(), " bytes; maxMessageSize is ", max_message_size));
  }
  if (msg.properties.size() > static_cast<size_t>(kMaxPropertiesLength)) {
    return absl::InvalidArgumentError(
        absl::StrCat("properties are ", msg.properties.size(), " bytes; at most 32767 allowed"));
  }
  if (msg.born_host.ip_bytes.size() != 4 && msg.born_host.ip_bytes.size() != 16) {
    return absl::InvalidArgumentError("born host must be an IPv4 or IPv6 address");
  }
  return absl::OkStatus();
}

static char* PutHost(char* p, const HostAddress& h) {
  std::memcpy(p, h.ip_bytes.data(), h.ip_bytes.size());
  p += h.ip_bytes.size();
  PutBE32(p, static_cast<uint32_t>(h.port));
  return p + 4;
}

int64_t EncodeRecord(const MessageToStore& msg, const HostAddress& store_host, char* out) {
  const bool born_v6 = msg.born_host.is_v6();
  const bool store_v6 = store_host.is_v6();
  const int64_t len =
      RecordLength(static_cast<int64_t>(msg.body.size()), static_cast<int64_t>(msg.topic.size()),
                   static_cast<int64_t>(msg.properties.size()), born_v6, store_v6);
  int32_t sys_flag = msg.sys_flag & ~(sysflag::kBornHostV6 | sysflag::kStoreHostV6);
  if (born_v6) sys_flag |= sysflag::kBornHostV6;
  if (store_v6) sys_flag |= sysflag::kStoreHostV6;
  char* p = out;
  PutBE32(p, static_cast<uint32_t>(len));
  PutBE32(p + 4, static_cast<uint32_t>(kMagicV1));
  PutBE32(p + 8, static_cast<uint32_t>(BodyCrc(msg.body)));
  PutBE32(p + 12, static_cast<uint32_t>(msg.queue_id));
  PutBE32(p + 16, static_cast<uint32_t>(msg.flag));
  PutBE64(p + 20, 0);  // QUEUEOFFSET, patched
  PutBE64(p + 28, 0);  // PHYSICALOFFSET, patched
  PutBE32(p + 36, static_cast<uint32_t>(sys_flag));
  PutBE64(p + 40, static_cast<uint64_t>(msg.born_timestamp_ms));
  p = PutHost(p + 48, msg.born_host);
  PutBE64(p, 0);  // STORETIMESTAMP, patched
  p = PutHost(p + 8, store_host);
  PutBE32(p, static_cast<uint32_t>(msg.reconsume_times));
  PutBE64(p + 4, static_cast<uint64_t>(msg.prepared_transaction_offset));
  PutBE32(p + 12, static_cast<uint32_t>(msg.body.size()));
  p += 16;
  std::memcpy(p, msg.body.data(), msg.body.size());
  p += msg.body.size();
  *p++ = static_cast<char>(msg.topic.size());
  std::memcpy(p, msg.topic.data(), msg.topic.size());
  p += msg.topic.size();
  PutBE16(p, static_cast<uint16_t>(msg.properties.size()));
  p += 2;
  std::memcpy(p, msg.properties.data(), msg.properties.size());
  p += msg.properties.size();
  RS_CHECK_EQ(p - out, len);
  return len;
}

void PatchRecord(char* record, int64_t queue_offset, int64_t physical_offset,
                 int64_t store_timestamp_ms) {
  PutBE64(record + kQueueOffsetPos, static_cast<uint64_t>(queue_offset));
  PutBE64(record + kPhysicalOffsetPos, static_cast<uint64_t>(physical_offset));
  const bool born_v6 = (GetBEI32(record + kSysFlagPos) & sysflag::kBornHostV6) != 0;
  PutBE64(record + StoreTimestampPos(born_v6), static_cast<uint64_t>(store_timestamp_ms));
}

void EncodeBlank(char* out, int32_t remaining) {
  PutBE32(out, static_cast<uint32_t>(remaining));
  PutBE32(out + 4, static_cast<uint32_t>(kMagicBlank));
}

static absl::Status Corrupt(std::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt CommitLog record: ", AV(what)));
}

absl::StatusOr<DecodedRecord> DecodeRecord(std::string_view avail, bool check_crc) {
  DecodedRecord out;
  if (avail.size() < 8) {
    for (char c : avail) {
      if (c != 0) return Corrupt("truncated header");
    }
    return out;  // kEnd
  }
  const char* p = avail.data();
  const int32_t total = GetBEI32(p);
  const int32_t magic = GetBEI32(p + 4);
  if (total == 0 && magic == 0) return out;  // kEnd: never written
  if (magic == kMagicBlank) {
    if (total < 8 || static_cast<size_t>(total) > avail.size()) {
      return Corrupt(absl::StrCat("blank record declares ", total, " bytes, ", avail.size(),
                                  " remain in the file"));
    }
    out.kind = DecodedRecord::Kind::kBlank;
    out.size = total;
    return out;
  }
  if (magic != kMagicV1 && magic != kMagicV2) {
    return Corrupt(absl::StrCat("bad magic 0x", absl::Hex(static_cast<uint32_t>(magic))));
  }
  const int64_t min_len = RecordLength(0, 0, 0, false, false);
  if (total < min_len) return Corrupt(absl::StrCat("total size ", total, " is too small"));
  if (static_cast<size_t>(total) > avail.size()) {
    return Corrupt(absl::StrCat("total size ", total, " runs past the readable end (", avail.size(),
                                " bytes)"));
  }
  StoredMessage& m = out.message;
  m.store_size = total;
  m.magic = magic;
  m.body_crc = GetBEI32(p + 8);
  m.queue_id = GetBEI32(p + 12);
  m.flag = GetBEI32(p + 16);
  m.queue_offset = QueueOffset(GetBEI64(p + 20));
  m.physical_offset = PhysicalOffset(GetBEI64(p + 28));
  m.sys_flag = GetBEI32(p + 36);
  m.born_timestamp_ms = GetBEI64(p + 40);
  const bool born_v6 = (m.sys_flag & sysflag::kBornHostV6) != 0;
  const bool store_v6 = (m.sys_flag & sysflag::kStoreHostV6) != 0;
  const int64_t fixed = RecordLength(0, 0, 0, born_v6, store_v6) + (magic == kMagicV2 ? 1 : 0);
  if (total < fixed) return Corrupt(absl::StrCat("total size ", total, " is too small"));
  size_t pos = 48;
  const size_t born_len = born_v6 ? 16 : 4;
  m.born_host.ip_bytes.assign(p + pos, born_len);
  m.born_host.port = GetBEI32(p + pos + born_len);
  pos += born_len + 4;
  m.store_timestamp_ms = GetBEI64(p + pos);
  pos += 8;
  const size_t store_len = store_v6 ? 16 : 4;
  m.store_host.ip_bytes.assign(p + pos, store_len);
  m.store_host.port = GetBEI32(p + pos + store_len);
  pos += store_len + 4;
  m.reconsume_times = GetBEI32(p + pos);
  m.prepared_transaction_offset = GetBEI64(p + pos + 4);
  const int32_t body_len = GetBEI32(p + pos + 12);
  pos += 16;
  if (body_len < 0 || body_len > total - fixed) {
    return Corrupt(absl::StrCat("body length ", body_len, " does not fit total size ", total));
  }
  m.body = std::string_view(p + pos, static_cast<size_t>(body_len));
  pos += body_len;
  size_t topic_len;
  if (magic == kMagicV2) {
    topic_len = GetBE16(p + pos);
    pos += 2;
  } else {
    const auto b = static_cast<int8_t>(p[pos]);
    if (b < 0) return Corrupt("negative topic length");
    topic_len = static_cast<size_t>(b);
    pos += 1;
  }
  if (pos + topic_len + 2 > static_cast<size_t>(total)) {
    return Corrupt(absl::StrCat("topic length ", topic_len, " does not fit total size ", total));
  }
  m.topic = std::string_view(p + pos, topic_len);
  pos += topic_len;
  const auto props_len = static_cast<int16_t>(GetBE16(p + pos));
  pos += 2;
  if (props_len < 0) return Corrupt("negative properties length");
  if (pos + static_cast<size_t>(props_len) != static_cast<size_t>(total)) {
    return Corrupt(
        absl::StrCat("fields add up to ", pos + props_len, " bytes but total size is ", total));
  }
  m.properties = std::string_view(p + pos, static_cast<size_t>(props_len));
  m.record = std::string_view(p, static_cast<size_t>(total));
  if (check_crc && BodyCrc(m.body) != m.body_crc) {
    return Corrupt(absl::StrCat("body CRC mismatch (stored ", m.body_crc, ", computed ",
                                BodyCrc(m.body), ")"));
  }
  out.kind = DecodedRecord::Kind::kMessage;
  out.size = total;
  return out;
}

}  // namespace libstore::internal
