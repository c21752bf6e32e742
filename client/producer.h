// The producer of the C++ client: sync, async and oneway sends, batches, ordered sends through a
// queue selector, and transactional sends, with the behaviour of RocketMQ 4.9.7's
// DefaultMQProducer (remoting spec section 6.1):
//  * routes come from the name servers (RouteCache); a topic with no route yet is sent through
//    the route of `create_topic_key` (TBW102) clamped to `default_topic_queue_nums` queues, and
//    the broker creates it; every route is refreshed every `route_refresh_interval`;
//  * a message goes to the next writable queue round-robin; after a failure the next attempt
//    prefers a queue of another broker, and a broker that failed on the network is avoided for
//    `broker_failure_isolation` (only while another broker is available);
//  * up to 1 + retry_times_when_send_failed attempts for sync sends and batches, and
//    1 + retry_times_when_send_async_failed for async sends, all within one send_timeout; no
//    retry for oneway sends, sends to a given queue and selector (ordered) sends;
//  * bodies of at least `compress_over_bytes` are zlib-compressed (level 5, sysFlag 0x1), never
//    batches;
//  * HEART_BEAT with the producer group to every master it sends to (at once when a broker is
//    first seen, then every `heartbeat_interval`), UNREGISTER_CLIENT on Shutdown.
//
// Errors (absl::Status):
//  * InvalidArgument: the message breaks a rule (ValidateMessage), or options are invalid;
//  * FailedPrecondition: not started / shut down;
//  * NotFound: neither the topic nor create_topic_key has a route;
//  * a broker refusal: a status from BrokerError() whose message reads
//    "code 17 TOPIC_NOT_EXIST: <remark> (broker broker-a 127.0.0.1:10911, topic T)" and whose
//    response code BrokerErrorCode() returns (absl code: 17 -> NotFound, 16 -> PermissionDenied,
//    13 -> InvalidArgument, 2/215 -> ResourceExhausted, 14 -> Unavailable, other -> Internal);
//  * transport errors from RemotingClient: Unavailable (connection refused or lost),
//    DeadlineExceeded (no answer within send_timeout), Cancelled (shut down meanwhile).
// When every attempt failed, the status of the last attempt is returned, its message prefixed
// with "send failed after N attempts: ".
//
// Thread-safety: every method may be called from any thread once Start() returned. Async
// callbacks and transaction check-backs run on the producer's callback thread, one at a time, in
// completion order; they may block and may call Send (not Shutdown).
#ifndef CLIENT_PRODUCER_H_
#define CLIENT_PRODUCER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/message.h"
#include "client/remoting_client.h"
#include "client/route.h"

namespace rsclient {

// ---- Broker errors ----------------------------------------------------------------------------

// A status for a broker's refusal: `code` and its name, the remark and where it happened (see the
// file comment). The response code travels as the payload kBrokerErrorPayloadUrl (decimal text).
inline constexpr std::string_view kBrokerErrorPayloadUrl = "type.rocketstore/rsclient.BrokerError";
absl::Status BrokerError(int32_t code, std::string_view remark, std::string_view where);
// The broker response code a status carries, or nullopt when it is not a broker refusal.
std::optional<int32_t> BrokerErrorCode(const absl::Status& status);

// ---- Results ----------------------------------------------------------------------------------

enum class SendStatus {
  kSendOk,             // 0
  kFlushDiskTimeout,   // 10: stored, not yet flushed (SYNC_FLUSH broker)
  kFlushSlaveTimeout,  // 12: stored, not yet replicated (SYNC_MASTER broker)
  kSlaveNotAvailable,  // 11: stored, no slave to replicate to
};
std::string_view SendStatusName(SendStatus status);  // "SEND_OK", ...

struct SendResult {
  SendStatus status = SendStatus::kSendOk;
  std::string msg_id;          // the UNIQ_KEY (comma-joined for a batch): Java's msgId
  std::string offset_msg_id;   // the broker's id of the stored record (comma-joined for a batch)
  MessageQueue queue;          // where it went
  int64_t queue_offset = 0;    // logical offset in the queue (of the first message of a batch)
  std::string transaction_id;  // transactional sends: the transaction id (the UNIQ_KEY)
};

using SendCallback = std::function<void(absl::StatusOr<SendResult>)>;

// Picks one of the topic's writable queues (sorted by broker name, then queue id) for msg.
using QueueSelector = std::function<MessageQueue(const std::vector<MessageQueue>& queues,
                                                 const Message& msg, const std::string& arg)>;
// Java's SelectMessageQueueByHash: queues[abs(arg.hashCode() % n)].
MessageQueue SelectByHash(const std::vector<MessageQueue>& queues, const Message& msg,
                          const std::string& arg);

// ---- Transactions -----------------------------------------------------------------------------

enum class LocalTransactionState { kCommit, kRollback, kUnknown };

// The callbacks of a transactional producer. `execute` runs on the thread that called
// SendMessageInTransaction, after the half message was stored; `check` runs on the callback
// thread when the broker asks about a transaction left undecided (kUnknown, or a lost answer).
struct TransactionListener {
  std::function<LocalTransactionState(const Message& msg, const std::string& msg_id,
                                      const std::string& arg)>
      execute;
  std::function<LocalTransactionState(const Message& msg, const std::string& msg_id)> check;
};

struct TransactionSendResult {
  SendResult send;
  LocalTransactionState state = LocalTransactionState::kUnknown;  // the decision sent
};

// ---- Options ----------------------------------------------------------------------------------

struct ProducerOptions {
  std::string group = "DEFAULT_PRODUCER";        // producerGroup
  std::string namesrv_addr;                      // "a:9876;b:9876"
  std::string instance_name;                     // "" -> "<pid>#<nanos>" (client id "ip@instance")
  std::chrono::milliseconds send_timeout{3000};  // sendMsgTimeout, per send, all attempts
  int retry_times_when_send_failed = 2;          // retryTimesWhenSendFailed
  int retry_times_when_send_async_failed = 2;    // retryTimesWhenSendAsyncFailed
  size_t compress_over_bytes = 4096;             // compressMsgBodyOverHowmuch
  int compress_level = 5;                        // rocketmq.message.compressLevel
  size_t max_message_size = kDefaultMaxMessageBytes;        // maxMessageSize (4 MiB)
  int32_t default_topic_queue_nums = 4;                     // defaultTopicQueueNums
  std::string create_topic_key = "TBW102";                  // createTopicKey
  std::chrono::milliseconds route_refresh_interval{30000};  // pollNameServerInterval
  std::chrono::milliseconds heartbeat_interval{30000};      // heartbeatBrokerInterval
  // A broker whose send failed on the network (refused, lost, timed out) is passed over for
  // this long while another broker has a writable queue. 0 disables.
  std::chrono::milliseconds broker_failure_isolation{3000};
  // Async sends in flight at most; beyond, SendAsync waits (up to send_timeout) for room.
  size_t max_async_in_flight = 65536;  // semaphoreAsyncSendNum
  RemotingClientOptions remoting;
};

// ---- Producer ---------------------------------------------------------------------------------

class Producer {
 public:
  explicit Producer(ProducerOptions options);
  ~Producer();  // Shutdown()
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Checks the options, starts the route-refresh/heartbeat thread and the callback thread.
  // Nothing goes on the wire until the first send. InvalidArgument for bad options,
  // FailedPrecondition when called twice.
  absl::Status Start();
  // Unregisters from every broker it talked to (bounded by send_timeout), fails async sends
  // still in flight with Cancelled (their callbacks run before Shutdown returns) and stops the
  // threads. Idempotent; must not be called from a callback.
  void Shutdown();

  // Sync send with retries.
  absl::StatusOr<SendResult> Send(const Message& msg);
  // Sync send to the queue `selector` picks among the topic's writable queues; no retry.
  absl::StatusOr<SendResult> Send(const Message& msg, const QueueSelector& selector,
                                  const std::string& arg);
  // Sync send to `queue`; no retry.
  absl::StatusOr<SendResult> Send(const Message& msg, const MessageQueue& queue);
  // Async send with retries; `done` runs exactly once on the callback thread (also for a
  // message that fails validation). The first attempt's route lookup and connection set-up run
  // on the calling thread. With max_async_in_flight sends in flight the call waits for room,
  // and after send_timeout fails the send with ResourceExhausted (which is what a callback that
  // sends into a full window gets, since the callback thread frees the room).
  void SendAsync(const Message& msg, SendCallback done);
  // Async send to `queue`; no retry.
  void SendAsync(const Message& msg, const MessageQueue& queue, SendCallback done);
  // Fire and forget: OK once the request is queued on the connection. No retry.
  absl::Status SendOneway(const Message& msg);
  // Sends messages of one topic, without delay levels, as one SEND_BATCH_MESSAGE (320) stored
  // in one queue with consecutive offsets; their encoded size must be at most
  // max_message_size. Retries like Send.
  absl::StatusOr<SendResult> SendBatch(const std::vector<Message>& msgs);
  absl::StatusOr<SendResult> SendBatch(const std::vector<Message>& msgs, const MessageQueue& queue);

  // The writable queues the producer would use for topic (fetching its route if needed).
  absl::StatusOr<std::vector<MessageQueue>> FetchPublishQueues(const std::string& topic);

  // Transactions: set the listener before Start(). SendMessageInTransaction stores msg as a
  // half message, runs listener.execute and sends its decision (END_TRANSACTION); a send
  // failure returns the error (nothing to decide), a stored-but-not-OK send rolls back.
  void SetTransactionListener(TransactionListener listener);
  absl::StatusOr<TransactionSendResult> SendMessageInTransaction(const Message& msg,
                                                                 const std::string& arg);

  const std::string& client_id() const { return client_id_; }
  const ProducerOptions& options() const { return options_; }

 private:
  struct PublishInfo;
  struct Attempt;

  enum class Mode { kSync, kAsync, kOneway };

  // The publish info of topic: cached, else fetched (falling back to create_topic_key).
  absl::StatusOr<std::shared_ptr<const PublishInfo>> GetPublishInfo(const std::string& topic);
  absl::StatusOr<std::shared_ptr<PublishInfo>> FetchPublishInfo(const std::string& topic);
  // Picks the next queue of info, preferring brokers other than avoid_broker and not isolated.
  MessageQueue SelectQueue(const std::string& topic, const PublishInfo& info,
                           const std::string& avoid_broker);
  bool IsIsolated(const std::string& broker_name);
  void NoteBrokerFailure(const std::string& broker_name);

  // Builds the SEND_MESSAGE_V2 request for msg (topic, properties, body, sysFlag).
  absl::StatusOr<std::shared_ptr<Attempt>> Prepare(const Message& msg, int32_t extra_sys_flag,
                                                   const std::string& extra_properties);
  absl::StatusOr<std::shared_ptr<Attempt>> PrepareBatch(const std::vector<Message>& msgs);
  // Runs the attempts of a sync send.
  absl::StatusOr<SendResult> SendSync(const std::shared_ptr<Attempt>& attempt, int max_attempts,
                                      const MessageQueue* fixed_queue);
  // Runs one async attempt; re-enters (from the callback thread) for retries.
  void SendAsyncAttempt(std::shared_ptr<Attempt> attempt);
  void FinishAsync(const std::shared_ptr<Attempt>& attempt, absl::StatusOr<SendResult> result);
  // Decodes a send response; a broker refusal becomes a BrokerError.
  absl::StatusOr<SendResult> ProcessResponse(const Attempt& attempt, const MessageQueue& queue,
                                             const std::string& addr,
                                             const absl::StatusOr<RemotingCommand>& response);
  // Whether a failed attempt may be retried on another queue.
  static bool Retryable(const absl::Status& status);

  void EnsureHeartbeat(const std::string& addr);
  void SendHeartbeat(const std::string& addr);
  RemotingCommand HeartbeatRequest() const;
  void BackgroundLoop();
  void RefreshRoutes();

  std::optional<RemotingCommand> HandleServerRequest(const std::string& addr,
                                                     RemotingCommand& request);
  void EndTransaction(const std::string& addr, const std::string& group, int64_t table_offset,
                      int64_t commit_log_offset, LocalTransactionState state, bool from_check,
                      const std::string& msg_id, const std::string& transaction_id);

  // Runs fn on the callback thread.
  void Post(std::function<void()> fn);
  void CallbackLoop();

  const ProducerOptions options_;
  std::string client_id_;
  std::unique_ptr<RemotingClient> client_;
  std::unique_ptr<NameServers> namesrv_;
  std::unique_ptr<RouteCache> routes_;
  std::optional<TransactionListener> tx_listener_;

  enum class State { kCreated, kRunning, kStopped };
  std::atomic<State> state_{State::kCreated};

  std::mutex topics_mu_;  // guards topics_
  std::map<std::string, std::shared_ptr<const PublishInfo>> topics_;
  std::mutex fetch_mu_;  // serializes first fetches of a topic's route

  std::mutex brokers_mu_;  // guards isolated_until_ and heartbeat_addrs_
  std::map<std::string, std::chrono::steady_clock::time_point> isolated_until_;
  std::map<std::string, bool> heartbeat_addrs_;  // master addr -> heartbeat sent once

  std::mutex async_mu_;  // guards async_in_flight_, async_waiters_
  std::condition_variable async_cv_;
  size_t async_in_flight_ = 0;
  size_t async_waiters_ = 0;  // SendAsync calls waiting for room

  std::mutex bg_mu_;  // guards bg_stop_
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  std::thread bg_thread_;

  std::mutex cb_mu_;  // guards cb_queue_, cb_stop_, cb_running_
  std::condition_variable cb_cv_;
  std::deque<std::function<void()>> cb_queue_;
  bool cb_stop_ = false;
  bool cb_running_ = false;  // the callback thread takes posts
  std::thread cb_thread_;
};

// A transactional producer: a Producer whose listener decides the transactions of the half
// messages it sends (Java's TransactionMQProducer).
class TransactionProducer {
 public:
  TransactionProducer(ProducerOptions options, TransactionListener listener)
      : producer_(std::move(options)) {
    producer_.SetTransactionListener(std::move(listener));
  }
  absl::Status Start() { return producer_.Start(); }
  void Shutdown() { producer_.Shutdown(); }
  absl::StatusOr<TransactionSendResult> SendMessageInTransaction(const Message& msg,
                                                                 const std::string& arg) {
    return producer_.SendMessageInTransaction(msg, arg);
  }
  Producer& producer() { return producer_; }

 private:
  Producer producer_;
};

}  // namespace rsclient

#endif  // CLIENT_PRODUCER_H_
