// Messages going into the store and records coming out of it.
// Thread-safety: plain values. A StoredMessage's string_views point into a mapped CommitLog file
// and stay valid while the MessageRef (or result) that produced it is alive.
#ifndef LIBSTORE_MESSAGE_H_
#define LIBSTORE_MESSAGE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libstore/types.h"

namespace libstore {

// RocketMQ SYSFLAG bits.
namespace sysflag {
inline constexpr int32_t kCompressed = 0x1;
inline constexpr int32_t kMultiTags = 0x2;
inline constexpr int32_t kTransactionNotType = 0x0;
inline constexpr int32_t kTransactionPrepared = 0x4;
inline constexpr int32_t kTransactionCommit = 0x8;
inline constexpr int32_t kTransactionRollback = 0xC;
inline constexpr int32_t kTransactionMask = 0xC;
inline constexpr int32_t kBornHostV6 = 0x10;
inline constexpr int32_t kStoreHostV6 = 0x20;
}  // namespace sysflag

// Well-known property names.
namespace property {
inline constexpr std::string_view kKeys = "KEYS";
inline constexpr std::string_view kTags = "TAGS";
inline constexpr std::string_view kUniqKey = "UNIQ_KEY";
inline constexpr std::string_view kDelay = "DELAY";
inline constexpr std::string_view kRealTopic = "REAL_TOPIC";
inline constexpr std::string_view kRealQueueId = "REAL_QID";
}  // namespace property

// A socket address as stored in a record: 4 or 16 address bytes and a port.
struct HostAddress {
  std::string ip_bytes;  // 4 (IPv4) or 16 (IPv6) raw bytes
  int32_t port = 0;

  bool is_v6() const { return ip_bytes.size() == 16; }
  // "a.b.c.d:port" or "[v6]:port" accepted; returns InvalidArgument otherwise.
  static absl::StatusOr<HostAddress> Parse(std::string_view text);
  std::string ToString() const;
};

// Properties in RocketMQ's wire form: "key\x01value\x02" repeated.
class Properties {
 public:
  Properties() = default;
  void Set(std::string_view key, std::string_view value);
  std::optional<std::string_view> Get(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  std::string Encode() const;
  // Parses the stored form. Like RocketMQ, segments without a separator are skipped.
  static Properties Decode(std::string_view encoded);

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Looks up one property in the encoded form without allocating.
std::optional<std::string_view> FindProperty(std::string_view encoded, std::string_view key);

// What a producer hands to the store.
struct MessageToStore {
  std::string topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;  // compression / transaction bits; host V6 bits are set by the store
  std::string body;
  std::string properties;  // encoded (Properties::Encode); TAGS, KEYS, UNIQ_KEY live here
  int64_t born_timestamp_ms = 0;
  HostAddress born_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
};

// A decoded record: views into the stored bytes.
struct StoredMessage {
  int32_t store_size = 0;
  int32_t magic = 0;
  int32_t body_crc = 0;
  int32_t queue_id = 0;
  int32_t flag = 0;
  QueueOffset queue_offset;
  PhysicalOffset physical_offset;
  int32_t sys_flag = 0;
  int64_t born_timestamp_ms = 0;
  HostAddress born_host;
  int64_t store_timestamp_ms = 0;
  HostAddress store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
  std::string_view body;
  std::string_view topic;
  std::string_view properties;  // encoded form
  std::string_view record;      // the whole record, store_size bytes
};

// Keeps a mapped file alive while views into it are used. Opaque to users.
class FileRef {
 public:
  virtual ~FileRef() = default;
};

// One record read from the store, with the reference that keeps its bytes mapped.
struct MessageRef {
  std::shared_ptr<const FileRef> file;
  StoredMessage message;
};

// The broker-side message id: store host + physical offset, upper-case hex
// (32 characters for IPv4, 56 for IPv6).
std::string EncodeOffsetMsgId(const HostAddress& store_host, PhysicalOffset offset);
// The same into a caller's buffer of at least 56 bytes; returns the length (32 or 56).
size_t EncodeOffsetMsgId(const HostAddress& store_host, PhysicalOffset offset, char* out);
absl::StatusOr<std::pair<HostAddress, PhysicalOffset>> DecodeOffsetMsgId(std::string_view id);

// Java String.hashCode() over the UTF-16 code units of a UTF-8 string (tag codes, index slots).
int32_t JavaStringHash(std::string_view utf8);

}  // namespace libstore

#endif  // LIBSTORE_MESSAGE_H_
