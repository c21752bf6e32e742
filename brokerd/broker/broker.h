// Broker: the request processor of brokerd on libstore. Serves SEND_MESSAGE / SEND_MESSAGE_V2
// (single messages; topic auto-creation through TBW102), SEND_BATCH_MESSAGE and SEND_MESSAGE_V2
// with m=true (batches, stored with PutBatch on the net loop thread), VIEW_MESSAGE_BY_ID,
// QUERY_MESSAGE, SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME, PULL_MESSAGE (with long
// polling: a pull that finds nothing new and carries the SUSPEND flag is held until a message
// arrives for its queue or suspendTimeoutMillis passes), GET_MAX_OFFSET / GET_MIN_OFFSET,
// QUERY_CONSUMER_OFFSET / UPDATE_CONSUMER_OFFSET (offsets persisted as
// config/consumerOffset.json), HEART_BEAT / UNREGISTER_CLIENT / GET_CONSUMER_LIST_BY_GROUP;
// anything else is REQUEST_CODE_NOT_SUPPORTED.
//
// Thread-safety: Handle and OnConnectionClosed are called on the net loop thread; sends complete
// on libstore's flusher thread and held pulls on the hold thread (answers go out through the
// thread-safe Connection::Send).
// PersistOffsets may be called from any thread. Close must be called after the server stopped.
#ifndef BROKERD_BROKER_BROKER_H_
#define BROKERD_BROKER_BROKER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/consumer_offsets.h"
#include "config/broker_config.h"
#include "libstore/message_store.h"
#include "net/server.h"
#include "remoting/command.h"

namespace brokerd::broker {

// The topic that carries auto-creation defaults (RocketMQ's TopicValidator.AUTO_CREATE_TOPIC_KEY).
inline constexpr std::string_view kAutoCreateTopicKey = "TBW102";
// Longest topic name accepted (RocketMQ's TOPIC_MAX_LENGTH).
inline constexpr size_t kMaxTopicLength = 127;
// Largest encoded properties string accepted (RocketMQ's Short.MAX_VALUE).
inline constexpr size_t kMaxPropertiesBytes = 32767;
// Largest pull answer: messages and bytes (the Java broker's in-memory limits).
inline constexpr int32_t kMaxPullMessages = 32;
inline constexpr int64_t kMaxPullBytes = 256 * 1024;

// QUERY_MESSAGE results for a UNIQ_KEY lookup (RocketMQ's defaultQueryMaxNum).
inline constexpr int32_t kDefaultQueryMaxNum = 32;

// Long polling: held pulls at most (beyond, "nothing new" is answered at once), the longest hold
// honoured, and how often held pulls are re-checked without a wake-up from a send.
inline constexpr size_t kMaxHeldPulls = 10000;
inline constexpr int64_t kMaxSuspendMs = 60000;
inline constexpr int64_t kHoldCheckIntervalMs = 100;

// Permission bits of a topic (RocketMQ's PermName).
inline constexpr int32_t kPermInherit = 1;
inline constexpr int32_t kPermWrite = 2;
inline constexpr int32_t kPermRead = 4;

struct TopicConfig {
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = kPermRead | kPermWrite;
};

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

  // Parks a pull answered PULL_NOT_FOUND when it asked for suspension; false when it cannot be
  // held (answer now).
  bool MaybeHold(net::Connection& conn, const remoting::RemotingCommand& request);
  // The hold thread: re-runs held pulls whose queue grew or whose time ran out.
  void HoldLoop();

  // The topic's config, auto-creating it from default_topic when allowed; nullopt when neither.
  std::optional<TopicConfig> FindOrCreateTopic(const std::string& topic,
                                               const std::string& default_topic,
                                               int32_t default_queue_nums);
  // The subscribed tags of (group, topic) from heartbeats; empty = all.
  std::vector<std::string> HeartbeatTags(const std::string& group, const std::string& topic);

  const config::BrokerConfig config_;
  std::unique_ptr<libstore::MessageStore> store_;
  std::string offsets_path_;
  ConsumerOffsetTable offsets_;

  mutable std::mutex mu_;  // guards everything below
  std::map<std::string, TopicConfig> topics_;
  uint32_t next_queue_ = 0;  // round-robin for queueId < 0
  uint64_t topics_version_ = 1;
  int64_t data_version_timestamp_ms_ = 0;  // dataVersion.timestamp of the registration body
  struct ClientInfo {
    uint64_t conn_id = 0;
    std::map<std::string, std::vector<std::string>> subscriptions;  // topic -> tags
  };
  // consumer group -> clientId -> info.
  std::map<std::string, std::map<std::string, ClientInfo>> consumers_;
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
    bool woken = false;
    bool stop = false;
  };
  std::shared_ptr<HoldState> hold_ = std::make_shared<HoldState>();
  std::thread hold_thread_;
};

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_BROKER_H_
