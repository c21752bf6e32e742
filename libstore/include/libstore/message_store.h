// The embeddable message store: an append-only CommitLog, one ConsumeQueue per (topic, queueId)
// and an IndexFile, byte-compatible with Apache RocketMQ 4.9.7. No networking.
//
// Thread-safety: every method may be called from any thread concurrently. Puts are serialised
// by one writer lock (offsets are assigned in CommitLog order); reads never take that lock.
#ifndef LIBSTORE_MESSAGE_STORE_H_
#define LIBSTORE_MESSAGE_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libstore/message.h"
#include "libstore/options.h"
#include "libstore/types.h"

namespace libstore {

// How a stored put completed. Anything that was not stored is an error Status instead.
enum class PutStatus {
  kOk,
  // SYNC flush: the record is stored but no sync covered it within sync_flush_timeout_ms.
  kFlushDiskTimeout,
  // wait_for_replica: the record is stored (and flushed as configured) but no replica confirmed
  // it within replica_timeout_ms.
  kFlushSlaveTimeout,
};
const char* PutStatusName(PutStatus s);

struct PutResult {
  PutStatus status = PutStatus::kOk;
  PhysicalOffset wrote_offset;  // physical offset of the first record
  int64_t wrote_bytes = 0;      // bytes of all records
  QueueOffset queue_offset;     // queue offset of the first record
  int32_t message_count = 0;
  int64_t store_timestamp_ms = 0;

  // offsetMsgId of the first record (RocketMQ's SendResult offsetMsgId). No allocation.
  std::string_view offset_msg_id() const { return std::string_view(msg_id_.data(), msg_id_len_); }
  // All records' ids, comma-joined, as RocketMQ reports a batch; the single id otherwise.
  std::string offset_msg_ids() const {
    return batch_msg_ids_.empty() ? std::string(offset_msg_id()) : batch_msg_ids_;
  }

  // Filled by the store.
  std::array<char, 56> msg_id_{};
  size_t msg_id_len_ = 0;
  std::string batch_msg_ids_;
};

using PutCallback = std::function<void(absl::StatusOr<PutResult>)>;

// RocketMQ's GetMessageStatus.
enum class GetStatus {
  kFound,
  kNoMatchedMessage,     // the scanned window held nothing matching the filter
  kMessageWasRemoving,   // units point below the CommitLog minimum (retention ran)
  kOffsetFoundNull,      // no unit readable at the offset
  kOffsetOverflowBadly,  // offset > max
  kOffsetOverflowOne,    // offset == max: nothing new yet
  kOffsetTooSmall,       // offset < min: out of range, next_begin_offset = min
  kNoMatchedLogicQueue,  // no such queue
  kNoMessageInQueue,     // the queue is empty
};
const char* GetStatusName(GetStatus s);

struct GetRequest {
  std::string topic;
  int32_t queue_id = 0;
  QueueOffset offset;
  int32_t max_count = 32;
  int64_t max_bytes = 256 * 1024;
  // Tag filter: empty or containing "*" = every message. Otherwise a message matches when its
  // TAGS property equals one of these (the ConsumeQueue tag hash is checked first).
  std::vector<std::string> tags;
};

struct GetResult {
  GetStatus status = GetStatus::kNoMatchedLogicQueue;
  QueueOffset next_begin_offset;
  QueueOffset min_offset;
  QueueOffset max_offset;
  std::vector<MessageRef> messages;
  int64_t total_bytes = 0;
};

// Raw CommitLog bytes for replication: whole records (and blank fillers), zero-copy.
struct RawSlice {
  std::shared_ptr<const FileRef> file;
  PhysicalOffset offset;
  std::string_view bytes;
};

struct StoreStats {
  PhysicalOffset commitlog_min_offset;
  PhysicalOffset commitlog_max_offset;      // end of the last record written
  PhysicalOffset commitlog_flushed_offset;  // end of the data known durable
  PhysicalOffset dispatched_offset;         // end of the data in ConsumeQueues and index
  int64_t dispatch_behind_bytes = 0;
  PhysicalOffset replica_confirmed_offset;
  bool writable = true;
  std::string not_writable_reason;
  int64_t puts = 0;
  int64_t put_bytes = 0;
  int64_t syncs = 0;          // data syncs issued by the flusher
  std::string recovery_note;  // what the last Open found at the CommitLog tail
  bool last_open_was_abnormal = false;
};

class MessageStore {
 public:
  // Opens (creating if needed) the store in options.root_dir, recovering from an unclean
  // shutdown when the abort marker is present. Only one store may hold a directory at a time.
  static absl::StatusOr<std::unique_ptr<MessageStore>> Open(const StoreOptions& options);

  virtual ~MessageStore() = default;

  // Appends one message. Blocks under SYNC flush until durable (or kFlushDiskTimeout).
  // Errors: InvalidArgument (bad topic, oversize), FailedPrecondition (closed or read-only
  // after a failed sync), ResourceExhausted (disk full).
  virtual absl::StatusOr<PutResult> Put(const MessageToStore& msg) = 0;
  // Appends a batch to one (topic, queueId). All records land back to back in one file.
  virtual absl::StatusOr<PutResult> PutBatch(std::span<const MessageToStore> msgs) = 0;
  // Appends without blocking; `done` runs once the put is complete as Put would return it
  // (possibly on the calling thread, otherwise on the flusher's).
  virtual void PutAsync(const MessageToStore& msg, PutCallback done) = 0;
  // PutBatch without blocking; `done` as for PutAsync.
  virtual void PutBatchAsync(std::span<const MessageToStore> msgs, PutCallback done) = 0;

  virtual GetResult GetMessages(const GetRequest& req) = 0;
  // The record at a physical offset. OutOfRange below the minimum or at/after the maximum,
  // DataLoss if the bytes there are not a valid record.
  virtual absl::StatusOr<MessageRef> GetMessageByOffset(PhysicalOffset offset) = 0;
  virtual absl::StatusOr<MessageRef> GetMessageById(std::string_view offset_msg_id) = 0;
  // Messages whose KEYS contain `key` or whose UNIQ_KEY equals it, stored in [begin_ms, end_ms]:
  // the newest max_num (capped by options.max_query_results), returned in CommitLog order.
  virtual absl::StatusOr<std::vector<MessageRef>> QueryByKey(std::string_view topic,
                                                             std::string_view key, int32_t max_num,
                                                             int64_t begin_ms, int64_t end_ms) = 0;
  // Offset of the first message stored at or after `timestamp_ms` (max offset if none).
  virtual absl::StatusOr<QueueOffset> GetOffsetByTime(std::string_view topic, int32_t queue_id,
                                                      int64_t timestamp_ms) = 0;
  virtual QueueOffset GetMinOffset(std::string_view topic, int32_t queue_id) = 0;
  virtual QueueOffset GetMaxOffset(std::string_view topic, int32_t queue_id) = 0;
  // Store time of the message at a queue offset.
  virtual absl::StatusOr<int64_t> GetStoreTime(std::string_view topic, int32_t queue_id,
                                               QueueOffset offset) = 0;
  // Store time of the first message of the CommitLog / of one queue.
  virtual absl::StatusOr<int64_t> GetEarliestStoreTime() = 0;
  virtual absl::StatusOr<int64_t> GetEarliestStoreTime(std::string_view topic,
                                                       int32_t queue_id) = 0;
  // (topic, queueId) pairs that have a ConsumeQueue.
  virtual std::vector<std::pair<std::string, int32_t>> ListQueues() = 0;

  // Replication primitives. Raw bytes from `from` (whole records, at most max_bytes, never
  // across a file end); empty when caught up.
  virtual absl::StatusOr<RawSlice> ReadCommitLog(PhysicalOffset from, int64_t max_bytes) = 0;
  // Appends bytes shipped by a master at `at`, which must be this store's max offset. Each
  // record is validated (layout, CRC, physical offset) before anything is written; they are
  // then dispatched as usual.
  // Returns the bytes appended: the whole records at the front of `bytes` (a trailing partial
  // record is left for the caller to resend with more data).
  virtual absl::StatusOr<int64_t> AppendReplicated(PhysicalOffset at, std::string_view bytes) = 0;
  // A replica has durably received everything below `offset`; releases waiting puts.
  virtual void SetReplicaConfirmedOffset(PhysicalOffset offset) = 0;

  // Flushes the CommitLog, queues, index and checkpoint now.
  virtual absl::Status Flush() = 0;
  // Waits until the dispatcher has caught up with the CommitLog (or the timeout).
  virtual absl::Status WaitForDispatch(int64_t timeout_ms) = 0;
  // Runs one retention pass now (as the background cleaner does); returns files deleted.
  // `force` deletes expired files regardless of deleteWhen and disk usage.
  virtual absl::StatusOr<int> RunRetention(bool force) = 0;

  virtual StoreStats GetStats() = 0;
  // Clean shutdown: flush everything, remove the abort marker, release the lock.
  // Idempotent; the destructor calls it.
  virtual absl::Status Close() = 0;
};

}  // namespace libstore

#endif  // LIBSTORE_MESSAGE_STORE_H_
