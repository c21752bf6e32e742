// Broker: the request processor of brokerd on libstore. Serves SEND_MESSAGE / SEND_MESSAGE_V2
// (single messages; topic auto-creation through TBW102; DELAY levels through
// SCHEDULE_TOPIC_XXXX; sends to a retry topic past maxReconsumeTimes go to the DLQ),
// SEND_BATCH_MESSAGE and SEND_MESSAGE_V2 with m=true (batches), transactional half messages
// with END_TRANSACTION and CHECK_TRANSACTION_STATE check-backs (transaction_service.h),
// CONSUMER_SEND_MSG_BACK (retry / dead-letter topics), VIEW_MESSAGE_BY_ID, QUERY_MESSAGE,
// SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME, PULL_MESSAGE (long polling: a pull that
// finds nothing new and carries the SUSPEND flag is held until a message arrives for its queue or
// suspendTimeoutMillis passes), GET_MAX_OFFSET / GET_MIN_OFFSET, QUERY_CONSUMER_OFFSET /
// UPDATE_CONSUMER_OFFSET (config/consumerOffset.json), HEART_BEAT / UNREGISTER_CLIENT /
// GET_CONSUMER_LIST_BY_GROUP (clients silent for 120 s expire; the other members of a group are
// told with NOTIFY_CONSUMER_IDS_CHANGED when it changes), LOCK_BATCH_MQ / UNLOCK_BATCH_MQ
// (queue locks for orderly consumers, 60 s expiry), UPDATE_AND_CREATE_TOPIC /
// GET_ALL_TOPIC_CONFIG / DELETE_TOPIC_IN_BROKER (config/topics.json),
// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (groups are auto-created into config/subscriptionGroup.json),
// GET_BROKER_RUNTIME_INFO; anything else is REQUEST_CODE_NOT_SUPPORTED. docs/format/protocol.md
// documents each.
//
// Thread-safety: Handle and OnConnectionClosed are called on the net loop thread; sends complete
// on libstore's flusher thread, held pulls on the hold thread, delayed deliveries on the
// schedule thread (answers go out through the thread-safe Connection::Send).
// PersistOffsets may be called from any thread. Close must be called after the server stopped.
#ifndef BROKERD_BROKER_BROKER_H_
#define BROKERD_BROKER_BROKER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/consumer_offsets.h"
#include "broker/queue_lock_manager.h"
#include "broker/schedule_service.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "broker/transaction_service.h"
#include "config/broker_config.h"
#include "libstore/message_store.h"
#include "net/server.h"
#include "remoting/command.h"

namespace brokerd::broker {

// Largest encoded properties string accepted (RocketMQ's Short.MAX_VALUE).
inline constexpr size_t kMaxPropertiesBytes = 32767;
// maxMsgNums of a pull that does not say (the answer is further bounded by
// maxTransferCountOnMessageInMemory / maxTransferBytesOnMessageInMemory of broker.conf).
inline constexpr int32_t kMaxPullMessages = 32;

// QUERY_MESSAGE results for a UNIQ_KEY lookup (RocketMQ's defaultQueryMaxNum).
inline constexpr int32_t kDefaultQueryMaxNum = 32;

// Long polling: held pulls at most (beyond, "nothing new" is answered at once), the longest hold
// honoured, and how often held pulls are re-checked without a wake-up from a send.
inline constexpr size_t kMaxHeldPulls = 10000;
inline constexpr int64_t kMaxSuspendMs = 60000;
inline constexpr int64_t kHoldCheckIntervalMs = 100;

// The reconsume bound of a group (subscription group retryMaxTimes).
inline constexpr int32_t kDefaultMaxReconsumeTimes = 16;
// Message properties the broker sets on sent-back messages.
inline constexpr std::string_view kPropertyRetryTopic = "RETRY_TOPIC";
inline constexpr std::string_view kPropertyOriginMessageId = "ORIGIN_MESSAGE_ID";
inline constexpr std::string_view kPropertyWait = "WAIT";

// A consumer client that sent no heartbeat for this long is forgotten (RocketMQ's
// channelExpiredTimeout), checked every kClientScanIntervalMs.
inline constexpr int64_t kClientExpiryMs = 120000;
inline constexpr int64_t kClientScanIntervalMs = 10000;

class Broker {
 public:
  // Opens the store (MessageStore::Open(ToStoreOptions(config))) and loads consumer offsets.
  static absl::StatusOr<std::unique_ptr<Broker>> Open(const config::BrokerConfig& config);
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Processes one frame from conn; the answer is sent now or (sends) from the put completion.
  void Handle(net::Connection& conn, remoting::RemotingCommand request);
  // Forgets the clients registered over the connection.
  void OnConnectionClosed(uint64_t conn_id);

  // Writes config/consumerOffset.json under the store root.
  absl::Status PersistOffsets();
  // Persists offsets and closes the store (clean shutdown, no abort file). Idempotent.
  absl::Status Close();

  std::string offsets_path() const { return offsets_path_; }
  // Topics known to this broker (for registration with name servers).
  std::map<std::string, TopicConfig> TopicsSnapshot() const;
  // Bumped whenever a topic is created (the registrar re-registers at once).
  uint64_t topics_version() const;
  // REGISTER_BROKER (103) for the current topic table: header brokerAddr (brokerIP1:listenPort),
  // brokerName, brokerId, clusterName, haServerAddr, compressed=false, bodyCrc32; JSON body
  // {"topicConfigSerializeWrapper":{"topicConfigTable":{...},"dataVersion":{...}},
  // "filterServerList":[]}.
  remoting::RemotingCommand MakeRegisterRequest(int32_t opaque) const;
  // UNREGISTER_BROKER (104).
  remoting::RemotingCommand MakeUnregisterRequest(int32_t opaque) const;

 private:
  Broker(config::BrokerConfig config, std::unique_ptr<libstore::MessageStore> store);

  void HandleSend(net::Connection& conn, const remoting::RemotingCommand& request);
  // CONSUMER_SEND_MSG_BACK (36): the record at header offset goes to %RETRY%<group> through the
  // schedule topic (delay level 3 + reconsumeTimes unless the client chose one), or to
  // %DLQ%<group> after maxReconsumeTimes or with delayLevel < 0.
  void HandleSendBack(net::Connection& conn, const remoting::RemotingCommand& request);
  // Stores msgs (one message, or a batch for one queue) asynchronously and answers request from
  // the completion (send fields, or just a code for a send-back); SYSTEM_BUSY when
  // sendThreadPoolQueueCapacity puts are in flight.
  void PutAndRespond(net::Connection& conn, const remoting::RemotingCommand& request,
                     std::span<const libstore::MessageToStore> msgs, int32_t reported_queue_id);
  // Creates a retry / DLQ / schedule topic when missing.
  void EnsureSystemTopic(const std::string& topic, int32_t queues, int32_t perm);
  remoting::RemotingCommand HandlePull(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleQueryOffset(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleUpdateOffset(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleQueueOffset(const remoting::RemotingCommand& request, bool max);
  // VIEW_MESSAGE_BY_ID (33): the record at header offset. QUERY_MESSAGE (12): records by key.
  remoting::RemotingCommand HandleViewMessage(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleQueryMessage(const remoting::RemotingCommand& request);
  // SEARCH_OFFSET_BY_TIMESTAMP (29) and GET_EARLIEST_MSG_STORETIME (32).
  remoting::RemotingCommand HandleSearchOffset(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleEarliestStoreTime(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleHeartbeat(net::Connection& conn,
                                            const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleUnregister(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleConsumerList(const remoting::RemotingCommand& request);
  // END_TRANSACTION (37): commit or roll back a half message (on the transaction thread).
  void HandleEndTransaction(net::Connection& conn, const remoting::RemotingCommand& request);
  // A live connection of a producer of group (transaction check-backs), or null.
  std::shared_ptr<net::Connection> FindProducer(const std::string& group);
  // LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42).
  remoting::RemotingCommand HandleLockBatch(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleUnlockBatch(const remoting::RemotingCommand& request);
  // UPDATE_AND_CREATE_TOPIC (17), GET_ALL_TOPIC_CONFIG (21), GET_ALL_SUBSCRIPTIONGROUP_CONFIG
  // (201), GET_BROKER_RUNTIME_INFO (28).
  remoting::RemotingCommand HandleCreateTopic(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleAllTopicConfig(const remoting::RemotingCommand& request);
  // DELETE_TOPIC_IN_BROKER (215): drops the topic's config (not its stored messages).
  remoting::RemotingCommand HandleDeleteTopic(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleAllGroupConfig(const remoting::RemotingCommand& request);
  remoting::RemotingCommand HandleRuntimeInfo(const remoting::RemotingCommand& request);

  // The group's subscription config (auto-created when autoCreateSubscriptionGroup); NotFound
  // otherwise.
  absl::StatusOr<SubscriptionGroupConfig> FindGroup(const std::string& group);
  // Sends NOTIFY_CONSUMER_IDS_CHANGED (oneway) to every live client of each group.
  void NotifyGroupsChanged(const std::set<std::string>& groups);
  // Forgets clients silent for kClientExpiryMs (called from the hold thread).
  void ExpireSilentClients();

  // Parks a pull answered PULL_NOT_FOUND when it asked for suspension; false when it cannot be
  // held (answer now).
  bool MaybeHold(net::Connection& conn, const remoting::RemotingCommand& request);
  // The hold thread: re-runs held pulls whose queue grew or whose time ran out.
  void HoldLoop();

  // The topic's config, auto-creating it from default_topic when allowed. NotFound when it
  // neither exists nor may be created; other errors when the topic file cannot be written.
  absl::StatusOr<TopicConfig> FindOrCreateTopic(const std::string& topic,
                                                const std::string& default_topic,
                                                int32_t default_queue_nums);
  // The subscribed tags of (group, topic) from heartbeats; empty = all.
  std::vector<std::string> HeartbeatTags(const std::string& group, const std::string& topic);

  const config::BrokerConfig config_;
  std::unique_ptr<libstore::MessageStore> store_;
  std::string offsets_path_;
  ConsumerOffsetTable offsets_;
  std::unique_ptr<ScheduleService> schedule_;
  std::unique_ptr<TransactionService> tx_;
  // Puts stored asynchronously and not yet completed (shared with the completions).
  std::shared_ptr<std::atomic<int64_t>> inflight_puts_ = std::make_shared<std::atomic<int64_t>>(0);

  std::unique_ptr<TopicConfigManager> topics_;        // thread-safe
  std::unique_ptr<SubscriptionGroupManager> groups_;  // thread-safe
  QueueLockManager locks_;                            // thread-safe
  const int64_t boot_timestamp_ms_;
  std::atomic<int32_t> notify_opaque_{1};

  mutable std::mutex mu_;    // guards everything below
  uint32_t next_queue_ = 0;  // round-robin for queueId < 0
  struct ClientInfo {
    uint64_t conn_id = 0;
    std::weak_ptr<net::Connection> conn;
    int64_t last_heartbeat_ms = 0;                                  // steady clock
    std::map<std::string, std::vector<std::string>> subscriptions;  // topic -> tags
  };
  // consumer group -> clientId -> info.
  std::map<std::string, std::map<std::string, ClientInfo>> consumers_;
  // producer group -> clientId -> info (connections for transaction check-backs).
  std::map<std::string, std::map<std::string, ClientInfo>> producers_;
  // Removes the clients of registry that pred selects; returns the groups that lost one.
  // Requires mu_.
  static std::set<std::string> EraseClients(
      std::map<std::string, std::map<std::string, ClientInfo>>& registry,
      const std::function<bool(const std::string&, const std::string&, const ClientInfo&)>& pred);
  bool closed_ = false;

  // Long polling state, shared with put completions (which only notify).
  struct HeldPull {
    std::shared_ptr<net::Connection> conn;
    remoting::RemotingCommand request;
    std::string topic;
    int32_t queue_id = 0;
    int64_t offset = 0;
    std::chrono::steady_clock::time_point deadline;
  };
  struct HoldState {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<HeldPull> held;
    bool scanning = false;  // the hold thread has taken `held` out and is re-checking it
    bool woken = false;
    bool stop = false;
  };
  std::shared_ptr<HoldState> hold_ = std::make_shared<HoldState>();
  std::thread hold_thread_;
};

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_BROKER_H_
