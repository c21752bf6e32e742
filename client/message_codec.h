// Client-side decoding of the message records a broker returns (PULL_MESSAGE bodies,
// VIEW_MESSAGE_BY_ID): the stored CommitLog record layout of RocketMQ 4.9.7
// (docs/format/commitlog.md). Independent of libstore so that clients need no store code.
// Thread-safety: stateless functions.
#ifndef CLIENT_MESSAGE_CODEC_H_
#define CLIENT_MESSAGE_CODEC_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rsclient {

struct ReceivedMessage {
  std::string topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;
  int64_t queue_offset = 0;
  int64_t commit_log_offset = 0;
  int64_t born_timestamp_ms = 0;
  int64_t store_timestamp_ms = 0;
  int32_t reconsume_times = 0;
  std::string body;        // as stored (compressed when sys_flag & 1)
  std::string properties;  // "key\x01value\x02..." as stored
};

// A record as views into the bytes it was decoded from (no copies): valid as long as they are.
struct RecordView {
  std::string_view topic;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int32_t sys_flag = 0;
  int64_t queue_offset = 0;
  int64_t commit_log_offset = 0;
  int64_t born_timestamp_ms = 0;
  int64_t store_timestamp_ms = 0;
  int32_t reconsume_times = 0;
  std::string_view body;        // as stored (compressed when sys_flag & 1)
  std::string_view properties;  // "key\x01value\x02..." as stored
};

// Decodes back-to-back records, calling visit(record) for each in order. InvalidArgument names
// the record and field that is malformed (records before it were visited); visit returning a
// non-OK status stops the walk with that status.
absl::Status VisitRecords(std::string_view bytes,
                          const std::function<absl::Status(const RecordView&)>& visit);

// Decodes back-to-back records into copies. Errors as VisitRecords.
absl::StatusOr<std::vector<ReceivedMessage>> DecodeMessages(std::string_view bytes);

// The value of one property, or "" when absent.
std::string GetProperty(std::string_view properties, std::string_view key);
// The same, as a view into `properties`.
std::string_view FindPropertyView(std::string_view properties, std::string_view key);

}  // namespace rsclient

#endif  // CLIENT_MESSAGE_CODEC_H_
