// The MessageStore implementation: one writer lock around CommitLog appends, a flusher thread
// (group commit through io_uring), a preparer thread (next file, pages made writable ahead), a
// dispatcher thread (ConsumeQueues and index) and a housekeeping thread (queue/index flush,
// checkpoint, retention). See docs/design.md for the data flow.
//
// Thread-safety: see message_store.h. Lock order: put_mu_ -> waiters_mu_; cq_mu_ and the index
// mutex are leaves.
// Invariants (CHECKed): max_offset_ only grows while open; flushed_offset_ <= max_offset_;
// dispatched_offset_ <= max_offset_; records never span files.
#ifndef LIBSTORE_STORE_MESSAGE_STORE_IMPL_H_
#define LIBSTORE_STORE_MESSAGE_STORE_IMPL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "commitlog/mapped_file.h"
#include "commitlog/record.h"
#include "consumequeue/consume_queue.h"
#include "index/index_file.h"
#include "libstore/message_store.h"
#include "recovery/checkpoint.h"

namespace libstore::internal {

struct QueueKey {
  std::string topic;
  int32_t queue_id;
};
struct QueueKeyView {
  std::string_view topic;
  int32_t queue_id;
};
struct QueueKeyHash {
  using is_transparent = void;
  size_t operator()(const QueueKeyView& k) const {
    return absl::Hash<std::pair<std::string_view, int32_t>>{}({k.topic, k.queue_id});
  }
  size_t operator()(const QueueKey& k) const { return (*this)(QueueKeyView{k.topic, k.queue_id}); }
};
struct QueueKeyEq {
  using is_transparent = void;
  static QueueKeyView V(const QueueKey& k) { return {k.topic, k.queue_id}; }
  static QueueKeyView V(const QueueKeyView& k) { return k; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return V(a).queue_id == V(b).queue_id && V(a).topic == V(b).topic;
  }
};
template <typename T>
using QueueMap = absl::flat_hash_map<QueueKey, T, QueueKeyHash, QueueKeyEq>;

// Delay levels ("1s 5s 10s ...") in ms; used to compute SCHEDULE_TOPIC_XXXX tag codes.
std::vector<int64_t> ParseDelayLevels(std::string_view spec);

class MessageStoreImpl final : public MessageStore {
 public:
  explicit MessageStoreImpl(const StoreOptions& options);
  ~MessageStoreImpl() override;

  absl::Status Init();

  absl::StatusOr<PutResult> Put(const MessageToStore& msg) override;
  absl::StatusOr<PutResult> PutBatch(std::span<const MessageToStore> msgs) override;
  void PutAsync(const MessageToStore& msg, PutCallback done) override;
  void PutBatchAsync(std::span<const MessageToStore> msgs, PutCallback done) override;
  GetResult GetMessages(const GetRequest& req) override;
  absl::StatusOr<MessageRef> GetMessageByOffset(PhysicalOffset offset) override;
  absl::StatusOr<MessageRef> GetMessageById(std::string_view offset_msg_id) override;
  absl::StatusOr<std::vector<MessageRef>> QueryByKey(std::string_view topic, std::string_view key,
                                                     int32_t max_num, int64_t begin_ms,
                                                     int64_t end_ms) override;
  absl::StatusOr<QueueOffset> GetOffsetByTime(std::string_view topic, int32_t queue_id,
                                              int64_t timestamp_ms) override;
  QueueOffset GetMinOffset(std::string_view topic, int32_t queue_id) override;
  QueueOffset GetMaxOffset(std::string_view topic, int32_t queue_id) override;
  absl::StatusOr<int64_t> GetStoreTime(std::string_view topic, int32_t queue_id,
                                       QueueOffset offset) override;
  absl::StatusOr<int64_t> GetEarliestStoreTime() override;
  absl::StatusOr<int64_t> GetEarliestStoreTime(std::string_view topic, int32_t queue_id) override;
  std::vector<std::pair<std::string, int32_t>> ListQueues() override;
  absl::StatusOr<RawSlice> ReadCommitLog(PhysicalOffset from, int64_t max_bytes) override;
  absl::StatusOr<int64_t> AppendReplicated(PhysicalOffset at, std::string_view bytes) override;
  void SetReplicaConfirmedOffset(PhysicalOffset offset) override;
  absl::Status Flush() override;
  absl::Status WaitForDispatch(int64_t timeout_ms) override;
  absl::StatusOr<int> RunRetention(bool force) override;
  StoreStats GetStats() override;
  absl::Status Close() override;

 private:
  struct Waiter {
    int64_t end_offset;
    // Each wait has its own bound (RocketMQ starts the flush and the replica request together,
    // each with its own timeout); the put completes once both are settled.
    int64_t flush_deadline_us;
    int64_t replica_deadline_us;
    bool need_flush;
    bool need_replica;
    PutResult result;
    PutCallback done;
  };

  // Write path.
  absl::StatusOr<PutResult> Append(std::span<const MessageToStore> msgs, PutCallback* async_done);
  absl::StatusOr<MappedFile*> FileForAppend(int64_t len);
  absl::Status WritableStatus() const;
  void FillMessageIds(PutResult* r, const std::vector<int64_t>& rec_offsets) const;
  void PublishWrite(int64_t new_max);

  // Recovery.
  absl::Status Recover();
  absl::Status LoadConsumeQueues();
  absl::StatusOr<int64_t> ScanValidEnd(size_t start_file, std::string* stop_reason);
  absl::Status DispatchRange(int64_t from, int64_t to);

  // Dispatch.
  void DispatcherLoop();
  // Parses and dispatches the records of [dispatched_, limit); returns the new position.
  int64_t DispatchSome(int64_t from, int64_t limit);
  absl::Status DispatchRecord(const StoredMessage& m);
  ConsumeQueue* FindOrCreateCq(std::string_view topic, int32_t queue_id);
  ConsumeQueue* FindOrCreateCqShared(std::string_view topic, int32_t queue_id);
  ConsumeQueue* FindCq(std::string_view topic, int32_t queue_id);

  // Flush and completion.
  void FlusherLoop();
  absl::Status SyncCommitLogUpTo(int64_t target);
  void CompleteWaiters(bool expire_all);
  void MarkNotWritable(const std::string& reason);

  // Preallocation.
  void PreparerLoop();

  // Housekeeping.
  void HousekeepingLoop();
  absl::Status FlushQueuesAndCheckpoint();

  absl::StatusOr<MessageRef> ReadRecordAt(int64_t offset, bool check_crc);

  StoreOptions options_;
  Env* env_;
  HostAddress store_host_;
  std::vector<int64_t> delay_levels_ms_;
  std::string commitlog_dir_, cq_dir_, index_dir_, abort_path_, checkpoint_path_;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::mutex checkpoint_mu_;
  MappedFileQueue commitlog_;
  std::unique_ptr<IndexService> index_;

  // Writer state.
  std::mutex put_mu_;
  std::shared_ptr<MappedFile> cur_file_;
  QueueMap<int64_t> queue_table_;
  // Read by every thread; kept apart from the writer-only fields around it.
  alignas(64) std::atomic<int64_t> max_offset_{0};
  std::atomic<int64_t> last_store_ts_{0};
  alignas(64) std::atomic<int64_t> puts_{0}, put_bytes_{0};

  // Preparer state.
  std::mutex prep_mu_;
  std::condition_variable prep_cv_;
  std::shared_ptr<MappedFile> prep_cur_;   // the file being written (set on roll)
  std::shared_ptr<MappedFile> next_file_;  // created ahead
  absl::Status prep_error_;

  // Flush / completion state.
  std::mutex waiters_mu_;
  std::condition_variable flush_cv_;
  std::deque<Waiter> waiters_;
  std::atomic<int64_t> flushed_offset_{0};
  std::atomic<int64_t> flushed_store_ts_{0};
  std::atomic<int64_t> replica_offset_{0};
  std::atomic<int64_t> syncs_{0};

  // Dispatch state.
  std::mutex dispatch_mu_;
  std::condition_variable dispatch_cv_;       // wakes the dispatcher
  std::condition_variable dispatch_done_cv_;  // wakes WaitForDispatch
  alignas(64) std::atomic<bool> dispatcher_idle_{false};
  alignas(64) std::atomic<int64_t> dispatched_offset_{0};
  std::atomic<int64_t> dispatched_store_ts_{0};
  std::shared_mutex cq_mu_;
  // Owned by the dispatcher (and by recovery before it starts).
  std::shared_ptr<MappedFile> dispatch_file_;
  QueueMap<ConsumeQueue*> dispatch_cqs_;
  QueueMap<std::unique_ptr<ConsumeQueue>> cqs_;

  // Health.
  std::atomic<bool> sync_failed_{false};
  std::atomic<bool> disk_full_{false};
  std::mutex health_mu_;
  std::string not_writable_reason_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> stop_{false};
  bool last_open_abnormal_ = false;
  std::string recovery_note_;

  std::mutex housekeeping_mu_;
  std::condition_variable housekeeping_cv_;
  std::mutex retention_mu_;
  std::vector<std::thread> threads_;
};

}  // namespace libstore::internal

#endif  // LIBSTORE_STORE_MESSAGE_STORE_IMPL_H_
