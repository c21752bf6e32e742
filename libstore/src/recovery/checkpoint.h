// The StoreCheckpoint file (<root>/checkpoint): 4096 bytes, of which RocketMQ 4.9.7 uses the
// first 24 (three big-endian int64 timestamps). docs/format/checkpoint.md.
// Thread-safety: not thread-safe; the store serialises access.
#ifndef LIBSTORE_RECOVERY_CHECKPOINT_H_
#define LIBSTORE_RECOVERY_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libstore/env.h"

namespace libstore::internal {

inline constexpr int64_t kCheckpointFileSize = 4096;

struct CheckpointData {
  int64_t physic_msg_timestamp = 0;  // store time of the last flushed CommitLog record
  int64_t logics_msg_timestamp = 0;  // store time of the last record flushed into a ConsumeQueue
  int64_t index_msg_timestamp = 0;   // end time of the last flushed index data
  // RocketMQ's minTimestamp / minTimestampIndex (3 s margin).
  int64_t MinTimestamp() const;
  int64_t MinTimestampIndex() const;
};

std::string EncodeCheckpoint(const CheckpointData& d);  // 4096 bytes
CheckpointData DecodeCheckpoint(const char* p);         // reads 24 bytes

class Checkpoint {
 public:
  // Opens or creates the file; a missing or short file reads as all zero.
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(Env* env, const std::string& path);
  const CheckpointData& data() const { return data_; }
  CheckpointData& mutable_data() { return data_; }
  // Writes and syncs the file.
  absl::Status Flush();

 private:
  explicit Checkpoint(std::unique_ptr<File> f) : file_(std::move(f)) {}
  std::unique_ptr<File> file_;
  CheckpointData data_;
};

}  // namespace libstore::internal

#endif  // LIBSTORE_RECOVERY_CHECKPOINT_H_
