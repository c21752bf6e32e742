// PushConsumer: RocketMQ's DefaultMQPushConsumer for C++. The consumer long-polls the queues
// assigned to it and hands the messages to a listener on a pool of consume threads.
//
//   * Clustering: the group's members split the readable queues of each subscribed topic with
//     AllocateMessageQueueAveragely (rebalance.h), every 20 s and at once when a broker sends
//     NOTIFY_CONSUMER_IDS_CHANGED; offsets are kept on the brokers. %RETRY%<group> is subscribed
//     automatically. Broadcasting: every member takes every queue; offsets in a local file.
//   * Concurrent listener: messages of a queue are consumed in parallel, in batches of
//     consume_message_batch_max_size. RECONSUME_LATER (clustering) sends the message back
//     (CONSUMER_SEND_MSG_BACK) so that it returns later through %RETRY%<group> with
//     reconsume_times + 1; if that fails, a copy is sent to the retry topic; if that fails
//     too, it is consumed again locally after 5 s. Broadcasting drops failed messages (as Java).
//   * Orderly listener: each queue is locked on its broker (LOCK_BATCH_MQ) before it is pulled
//     (clustering), locks are renewed every 20 s, and a queue is consumed by one thread at a
//     time in queue order. SUSPEND_CURRENT_QUEUE_A_MOMENT puts the batch back and retries it
//     after suspend_ms (1 s) with reconsume_times + 1; past max_reconsume_times (default
//     unlimited) the message goes to the DLQ. A queue given up (rebalance, shutdown) has its
//     offset committed and then its lock released.
//   * Committed offset of a queue: the smallest offset still pulled but not consumed, else the
//     next offset to pull (at-least-once: a crash or a queue moving away may deliver again what
//     was consumed after the last commit). Written every 5 s, when a queue is given up, and at
//     shutdown; also piggy-backed on pulls.
//   * Flow control: a queue is not pulled while more than pull_threshold_for_queue messages of
//     it wait for consumption (or, concurrent, while they span more than
//     consume_concurrently_max_span offsets).
//   * Start offset of a newly assigned queue: the committed offset (QUERY_CONSUMER_OFFSET, or
//     the local file), else consume_from_where: LAST_OFFSET -> the queue's max offset (0 for a
//     retry topic), FIRST_OFFSET -> 0, TIMESTAMP -> the first message stored at or after
//     consume_timestamp_ms. As a 4.9.7 broker answers 0 for a group without commit on a queue
//     that still starts at 0, a new group reads such "young" queues from the start with
//     LAST_OFFSET, as the Java client does; with TIMESTAMP a committed 0 (nothing consumed) is
//     resolved by the timestamp instead, so TIMESTAMP starts where it says on any broker.
//
// Thread model: pulls are asynchronous (RemotingClient::InvokeAsync; the I/O thread only posts
// the answer to the pull scheduler thread, which decodes it and issues the next pull); a service
// thread runs rebalance, heartbeats, route refresh, lock renewal and offset persistence; the
// listener runs on the consume pool. The listener may block; it must not call Shutdown.
// Thread-safety: Subscribe / Register* / options before Start; Start and Shutdown from one
// thread; the accessors from any thread.
#ifndef CLIENT_PUSH_CONSUMER_H_
#define CLIENT_PUSH_CONSUMER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/consumer_common.h"
#include "client/route.h"

namespace rsclient {

// ConsumeConcurrentlyStatus.
enum class ConsumeConcurrentlyStatus { kConsumeSuccess, kReconsumeLater };
// ConsumeOrderlyStatus.
enum class ConsumeOrderlyStatus { kSuccess, kSuspendCurrentQueueAMoment };

struct ConsumeConcurrentlyContext {
  MessageQueue queue;
  // Delay level for messages sent back: 0 lets the broker pick 3 + reconsumeTimes; -1 sends
  // them to the DLQ at once.
  int32_t delay_level = 0;
  // On kConsumeSuccess, messages after this index of the batch count as failed (Java's
  // ackIndex). The default acknowledges the whole batch.
  int32_t ack_index = std::numeric_limits<int32_t>::max();
};

struct ConsumeOrderlyContext {
  MessageQueue queue;
  // How long the queue waits after kSuspendCurrentQueueAMoment; -1: the consumer's
  // suspend_current_queue_time_ms.
  int64_t suspend_ms = -1;
};

using ConcurrentListener = std::function<ConsumeConcurrentlyStatus(
    const std::vector<ConsumedMessage>&, ConsumeConcurrentlyContext&)>;
using OrderlyListener = std::function<ConsumeOrderlyStatus(const std::vector<ConsumedMessage>&,
                                                           ConsumeOrderlyContext&)>;

struct PushConsumerOptions {
  std::string group;          // consumerGroup, required
  std::string namesrv_addr;   // "host:port;host:port", required
  std::string instance_name;  // client id "ip@instance"; "" -> "<pid>#<nanoTime>"
  MessageModel message_model = MessageModel::kClustering;
  ConsumeFromWhere consume_from_where = ConsumeFromWhere::kLastOffset;
  int64_t consume_timestamp_ms = 0;  // kTimestamp; 0 -> 30 minutes before Start
  int32_t consume_thread_min = 20;
  int32_t consume_thread_max = 20;
  // maxMsgNums of a pull, 1..1024; a broker answers at most its maxTransferCountOnMessageInMemory
  // (default 32) messages per pull.
  int32_t pull_batch_size = 32;
  int32_t pull_threshold_for_queue = 1000;       // cached messages per queue before pausing
  int32_t consume_concurrently_max_span = 2000;  // concurrent: offset span before pausing
  int32_t consume_message_batch_max_size = 1;    // messages per listener call, 1..1024
  // Retries before the DLQ; -1: 16 (concurrent), unlimited (orderly).
  int32_t max_reconsume_times = -1;
  int64_t suspend_current_queue_time_ms = 1000;  // orderly SUSPEND_CURRENT_QUEUE_A_MOMENT
  // Broadcasting offsets: <offset_store_dir>/<ip@instance>/<group>/offsets.json; "" ->
  // $HOME/.rocketmq_offsets. Set instance_name for the offsets to survive a restart.
  std::string offset_store_dir;
  // Periods (Java's defaults).
  std::chrono::milliseconds rebalance_interval{20000};
  std::chrono::milliseconds heartbeat_interval{30000};
  std::chrono::milliseconds route_refresh_interval{30000};
  std::chrono::milliseconds persist_offset_interval{5000};
  std::chrono::milliseconds lock_renew_interval{20000};
  std::chrono::milliseconds rpc_timeout{3000};  // every request but pulls
  // Long polling: the broker holds a pull this long; the pull times out after pull_timeout.
  std::chrono::milliseconds broker_suspend_max_time{15000};
  std::chrono::milliseconds pull_timeout{30000};
};

class PushConsumer {
 public:
  explicit PushConsumer(PushConsumerOptions options);
  ~PushConsumer();  // Shutdown()
  PushConsumer(const PushConsumer&) = delete;
  PushConsumer& operator=(const PushConsumer&) = delete;

  // Subscribes topic with a tag expression ("*", "tagA || tagB"). Before Start.
  absl::Status Subscribe(const std::string& topic, const std::string& expression);
  // Exactly one listener, before Start.
  void RegisterMessageListener(ConcurrentListener listener);
  void RegisterMessageListener(OrderlyListener listener);

  // Validates the options and starts; route lookups, the first heartbeat and the first
  // rebalance follow at once on the service thread.
  // InvalidArgument for bad options, FailedPrecondition when started twice or without a
  // listener or subscription.
  absl::Status Start();
  // Stops pulling, waits for running listener calls, commits offsets, releases queue locks and
  // unregisters from the brokers. Idempotent.
  void Shutdown();

  std::string client_id() const;
  // The queues this consumer holds now (sorted).
  std::vector<MessageQueue> AssignedQueues() const;
  // The in-memory committed offset of each held queue.
  std::map<MessageQueue, int64_t> CommittedOffsets() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rsclient

#endif  // CLIENT_PUSH_CONSUMER_H_
