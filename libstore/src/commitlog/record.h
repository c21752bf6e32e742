// The CommitLog message record of Apache RocketMQ 4.9.7, byte for byte (docs/format/commitlog.md).
// Encoding happens outside the writer lock; the three fields only known inside it (queue offset,
// physical offset, store timestamp) are patched in place. Thread-safety: stateless functions.
#ifndef LIBSTORE_COMMITLOG_RECORD_H_
#define LIBSTORE_COMMITLOG_RECORD_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "libstore/message.h"

namespace libstore::internal {

inline constexpr int32_t kMagicV1 = static_cast<int32_t>(0xDAA320A7);
inline constexpr int32_t kMagicV2 = static_cast<int32_t>(0xDAA320AB);
inline constexpr int32_t kMagicBlank = static_cast<int32_t>(0xCBD43194);
// A record that does not fit must leave room for the 8-byte blank filler.
inline constexpr int32_t kEndFileMinBlankLength = 8;
inline constexpr int kQueueOffsetPos = 20;
inline constexpr int kPhysicalOffsetPos = 28;
inline constexpr int kSysFlagPos = 36;
inline constexpr int kBornHostPos = 48;
inline constexpr int32_t kMaxTopicLengthV1 = 127;
inline constexpr int32_t kMaxPropertiesLength = 32767;

// Length of the record for these field sizes (V1 magic).
int64_t RecordLength(int64_t body_len, int64_t topic_len, int64_t properties_len, bool born_v6,
                     bool store_v6);
inline int StoreTimestampPos(bool born_v6) { return kBornHostPos + (born_v6 ? 20 : 8); }

// RocketMQ's TopicValidator: 1..127 characters of [%|a-zA-Z0-9_-]. Topics name ConsumeQueue
// directories, so anything else ('/', "..", NUL) must never reach a path.
bool IsLegalTopic(std::string_view topic);

// Validates a message for storing; InvalidArgument names the offending field.
absl::Status ValidateForStore(const MessageToStore& msg, int32_t max_message_size);

// Encodes `msg` as a V1 record into out[0, RecordLength(...)). QUEUEOFFSET, PHYSICALOFFSET and
// STORETIMESTAMP are written as zero and patched later with PatchRecord. The store-host V6 bit
// and the born-host V6 bit are set from the addresses. Returns the record length.
int64_t EncodeRecord(const MessageToStore& msg, const HostAddress& store_host, char* out);
void PatchRecord(char* record, int64_t queue_offset, int64_t physical_offset,
                 int64_t store_timestamp_ms);

// Writes the 8-byte end-of-file filler that declares `remaining` bytes (to the file end).
void EncodeBlank(char* out, int32_t remaining);

struct DecodedRecord {
  enum class Kind { kMessage, kBlank, kEnd };
  Kind kind = Kind::kEnd;
  int32_t size = 0;       // for kBlank: the bytes it declares up to the file end
  StoredMessage message;  // only for kMessage
};

// Decodes the record at the start of `avail` (the bytes from the record to the end of what may
// be read). kEnd: the header is all zero (never written). DataLoss: bad magic, impossible or
// inconsistent lengths, truncated record, or (check_crc) a BODYCRC mismatch.
absl::StatusOr<DecodedRecord> DecodeRecord(std::string_view avail, bool check_crc);

}  // namespace libstore::internal

#endif  // LIBSTORE_COMMITLOG_RECORD_H_
