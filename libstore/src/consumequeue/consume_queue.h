// One ConsumeQueue: the 20-byte units (physical offset, size, tag code) of one (topic, queueId),
// unit i at logical byte offset 20*i, in fixed-size files named by the byte offset of their first
// unit (docs/format/consumequeue.md).
//
// Thread-safety: one writer (the dispatcher, or recovery before the store opens); any number of
// readers. The writer publishes max_offset() with release semantics after writing a unit.
// Invariant: units below max_offset() are written; unit i describes the message whose
// QUEUEOFFSET is i.
#ifndef LIBSTORE_CONSUMEQUEUE_CONSUME_QUEUE_H_
#define LIBSTORE_CONSUMEQUEUE_CONSUME_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "commitlog/mapped_file.h"

namespace libstore::internal {

inline constexpr int64_t kCqUnitSize = 20;

struct CqUnit {
  int64_t physical_offset = 0;
  int32_t size = 0;
  int64_t tags_code = 0;
  // RocketMQ's validity rule: offset >= 0 && size > 0. Blank fillers (0, INT_MAX, 0) are valid
  // units that point at nothing. A unit whose end (offset + size) does not fit an int64 can
  // only come from a corrupt file and is never valid.
  bool valid() const {
    return physical_offset >= 0 && size > 0 && physical_offset <= INT64_MAX - size;
  }
  bool blank() const { return physical_offset == 0 && size == 0x7FFFFFFF && tags_code == 0; }
};

void EncodeCqUnit(const CqUnit& u, char* out);
CqUnit DecodeCqUnit(const char* p);

class ConsumeQueue {
 public:
  ConsumeQueue(Env* env, const std::string& cq_root, std::string topic, int32_t queue_id,
               int64_t units_per_file);

  const std::string& topic() const { return topic_; }
  int32_t queue_id() const { return queue_id_; }

  absl::Status Load();
  // Scans units from the third-to-last file, stops at the first invalid unit, and cuts (zeroes)
  // everything after it.
  absl::Status Recover();
  // Drops units whose record does not end at or before `commitlog_end`.
  absl::Status TruncateDirty(int64_t commitlog_end);
  // Raises min_offset() to the first unit pointing at or above the CommitLog minimum and
  // deletes files whose every unit points below it. Returns the files deleted.
  absl::StatusOr<int> DeleteExpired(int64_t commitlog_min);

  // Dispatcher: writes the unit for queue offset `queue_offset`. Idempotent: a unit already
  // present (or a record below max_physical_end()) is skipped.
  absl::Status Put(int64_t queue_offset, const CqUnit& unit);

  // Units [min_offset(), max_offset()) are readable.
  int64_t min_offset() const { return min_offset_.load(std::memory_order_acquire); }
  int64_t max_offset() const { return max_offset_.load(std::memory_order_acquire); }
  int64_t max_physical_end() const { return max_phys_end_.load(std::memory_order_acquire); }
  // Reads the unit at `queue_offset`; false when not readable.
  bool Read(int64_t queue_offset, CqUnit* out) const;
  // Store-time binary search helper: the file and the units it holds.
  std::shared_ptr<MappedFile> FileFor(int64_t queue_offset) const;
  int64_t units_per_file() const { return units_per_file_; }

  // Syncs written units (called by the housekeeping thread).
  absl::Status Flush();
  absl::Status Destroy();

 private:
  absl::Status EnsureFileFor(int64_t byte_offset);

  const std::string topic_;
  const int32_t queue_id_;
  const int64_t units_per_file_;
  MappedFileQueue files_;
  std::shared_ptr<MappedFile> tail_;  // writer's cache of the last file
  std::atomic<int64_t> min_offset_{0};
  std::atomic<int64_t> max_offset_{0};
  std::atomic<int64_t> max_phys_end_{0};
};

}  // namespace libstore::internal

#endif  // LIBSTORE_CONSUMEQUEUE_CONSUME_QUEUE_H_
