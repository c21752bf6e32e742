// ConsumerOffsetTable: committed consumer offsets ("topic@group" -> queueId -> next offset to
// consume), kept in memory and persisted as RocketMQ's config/consumerOffset.json
// ({"offsetTable":{"topic@group":{"0":5,...}}}).
// Thread-safety: every method may be called from any thread (one internal mutex).
#ifndef BROKERD_BROKER_CONSUMER_OFFSETS_H_
#define BROKERD_BROKER_CONSUMER_OFFSETS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace brokerd::broker {

class ConsumerOffsetTable {
 public:
  // Stores `offset` for (group, topic, queue_id). Negative offsets are ignored (ali-ons commits
  // -1), as Java's broker effectively does.
  void Commit(std::string_view group, std::string_view topic, int32_t queue_id, int64_t offset);
  // The committed offset, or nullopt when none.
  std::optional<int64_t> Query(std::string_view group, std::string_view topic,
                               int32_t queue_id) const;

  // The fastjson form RocketMQ writes.
  std::string ToJson() const;
  // Replaces the table with the contents of `path`; a missing file is an empty table.
  // InvalidArgument when the file is not the expected JSON, DataLoss/Internal on read errors.
  absl::Status Load(const std::string& path);
  // Writes ToJson() to path via a temporary file + fsync + rename (the directory is created).
  absl::Status Persist(const std::string& path) const;

 private:
  mutable std::mutex mu_;
  // "topic@group" -> queueId -> offset.
  std::map<std::string, std::map<int32_t, int64_t>> table_;
};

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_CONSUMER_OFFSETS_H_
