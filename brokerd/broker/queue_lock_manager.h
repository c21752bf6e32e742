// QueueLockManager: the broker side of orderly consumption (RocketMQ's RebalanceLockManager).
// An orderly push consumer locks each queue it was assigned (LOCK_BATCH_MQ, 41) every 20 s and
// before consuming, and unlocks queues it gives up (UNLOCK_BATCH_MQ, 42), so that one client of a
// group consumes a queue at a time. A lock is held by (group, clientId) and lapses when it has not
// been refreshed for expiry_ms (Java: rocketmq.broker.rebalance.lockMaxLiveTime, 60 s).
//
// Rules (as RebalanceLockManager.tryLockBatch / unlockBatch in 4.9.7):
//  * TryLockBatch grants a queue that is unlocked, whose lock expired (taken over), or that the
//    same client already holds (its time is refreshed); other queues are left out of the answer.
//  * UnlockBatch releases only queues the client holds (expired or not); others are untouched.
//  * "Expired" means now - last_refresh > expiry_ms (strictly), on the injected clock.
// Bound: at most max_locks entries (default kDefaultMaxQueueLocks). When full, expired entries are
// dropped; if it is still full, new queues are not granted (refreshes still are). Java has no
// bound.
//
// Also here: the JSON bodies of LOCK_BATCH_MQ / UNLOCK_BATCH_MQ and the LOCK_BATCH_MQ answer,
// byte-for-byte as the Java client and broker write them (fastjson, fields in alphabetical order):
//   request
//   {"clientId":"c","consumerGroup":"g","mqSet":[{"brokerName":"b","queueId":0,"topic":"t"}]}
//   response  {"lockOKMQSet":[{"brokerName":"b","queueId":0,"topic":"t"}]}
// The UNLOCK_BATCH_MQ answer has no body.
//
// Thread-safety: every method may be called from any thread (one internal mutex; the clock is
// called with it held and must not call back). The codec functions are pure.
#ifndef BROKERD_BROKER_QUEUE_LOCK_MANAGER_H_
#define BROKERD_BROKER_QUEUE_LOCK_MANAGER_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace brokerd::broker {

// Java's REBALANCE_LOCK_MAX_LIVE_TIME default.
inline constexpr int64_t kDefaultQueueLockExpiryMs = 60000;
// Most lock entries kept (all groups together).
inline constexpr size_t kDefaultMaxQueueLocks = size_t{1} << 20;

// RocketMQ's MessageQueue; ordered as Java's compareTo (topic, brokerName, queueId).
struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;

  auto operator<=>(const MessageQueue&) const = default;
};

class QueueLockManager {
 public:
  // Milliseconds on any monotonic scale.
  using Clock = std::function<int64_t()>;
  // std::chrono::steady_clock in milliseconds.
  static int64_t SteadyNowMs();

  // expiry_ms > 0, clock non-null and max_locks > 0, else the process aborts (programmer error).
  explicit QueueLockManager(int64_t expiry_ms = kDefaultQueueLockExpiryMs,
                            Clock clock = &QueueLockManager::SteadyNowMs,
                            size_t max_locks = kDefaultMaxQueueLocks);
  QueueLockManager(const QueueLockManager&) = delete;
  QueueLockManager& operator=(const QueueLockManager&) = delete;

  // The queues of `mqs` that client_id now holds for `group` (granted or refreshed).
  std::set<MessageQueue> TryLockBatch(std::string_view group, std::string_view client_id,
                                      const std::set<MessageQueue>& mqs);
  // Releases the queues of `mqs` that client_id holds for `group`.
  void UnlockBatch(std::string_view group, std::string_view client_id,
                   const std::set<MessageQueue>& mqs);

  // True when client_id holds an unexpired lock on mq for group. Does not refresh it (Java's
  // private isLocked does; our refreshes happen only in TryLockBatch).
  bool IsLocked(std::string_view group, const MessageQueue& mq, std::string_view client_id) const;
  // The client holding an unexpired lock on mq for group, if any.
  std::optional<std::string> Holder(std::string_view group, const MessageQueue& mq) const;
  // Lock entries kept, expired ones included.
  size_t size() const;

 private:
  struct Entry {
    std::string client_id;
    int64_t last_refresh_ms = 0;
  };
  using GroupTable = std::map<MessageQueue, Entry>;

  bool Expired(const Entry& e, int64_t now_ms) const {
    return now_ms - e.last_refresh_ms > expiry_ms_;
  }
  // Drops expired entries (and emptied groups). Requires mu_.
  void PurgeExpiredLocked(int64_t now_ms);

  const int64_t expiry_ms_;
  const Clock clock_;
  const size_t max_locks_;

  mutable std::mutex mu_;
  std::map<std::string, GroupTable, std::less<>> groups_;  // no empty GroupTable is kept
  size_t size_ = 0;  // invariant: sum of groups_[*].size() <= max_locks_
};

// The request body of LOCK_BATCH_MQ (41, LockBatchRequestBody) and UNLOCK_BATCH_MQ (42,
// UnlockBatchRequestBody): both are {"clientId","consumerGroup","mqSet"} in 4.9.7. A oneway
// unlock is the frame's oneway flag, not a body field. RocketMQ 5.x adds "onlyThisBroker" (false
// by default) to both, so it is read when present.
struct QueueLockRequest {
  std::string consumer_group;
  std::string client_id;
  bool only_this_broker = false;
  std::set<MessageQueue> mq_set;
};

// InvalidArgument (saying what is wrong) unless the body is a JSON object whose consumerGroup and
// clientId are strings, mqSet an array of {"brokerName":string,"queueId":int32,"topic":string}
// and onlyThisBroker (optional) a boolean. Unknown fields are ignored; a missing or null mqSet is
// an empty set (Java would keep its empty HashSet too). Duplicate queues collapse.
absl::StatusOr<QueueLockRequest> DecodeQueueLockRequest(std::string_view body);
// {"lockOKMQSet":[...]} of the LOCK_BATCH_MQ answer (LockBatchResponseBody); InvalidArgument as
// above.
absl::StatusOr<std::set<MessageQueue>> DecodeLockBatchResponse(std::string_view body);

// Encoders, in the Java client's / broker's key order; "onlyThisBroker" is written only when true.
// Queues are written in MessageQueue order (Java writes HashSet order; readers do not care).
std::string EncodeQueueLockRequest(const QueueLockRequest& request);
std::string EncodeLockBatchResponse(const std::set<MessageQueue>& locked);

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_QUEUE_LOCK_MANAGER_H_
