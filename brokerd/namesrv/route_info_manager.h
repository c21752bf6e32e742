// RouteInfoManager: the name server's in-memory routing tables (RocketMQ 4.9.7
// RouteInfoManager; store spec 9.2): topic -> brokerName -> QueueData, brokerName -> BrokerData,
// cluster -> brokerNames, brokerAddr -> live info (last update, dataVersion, haServerAddr,
// connection id). Registration, unregistration, expiry after a silence, removal when a broker's
// connection closes, topic deletion, wiping a broker's write permission, and the JSON bodies of
// GET_ROUTEINFO_BY_TOPIC / GET_BROKER_CLUSTER_INFO / GET_ALL_TOPIC_LIST_FROM_NAMESERVER /
// GET_TOPICS_BY_CLUSTER / GET_SYSTEM_TOPIC_LIST_FROM_NS as a 4.9.7 name server writes them
// (standard JSON, keys sorted, numeric brokerId keys quoted).
// Thread-safety: every method is thread-safe (one internal mutex).
#ifndef BROKERD_NAMESRV_ROUTE_INFO_MANAGER_H_
#define BROKERD_NAMESRV_ROUTE_INFO_MANAGER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace brokerd::namesrv {

// RocketMQ's RouteInfoManager.BROKER_CHANNEL_EXPIRED_TIME.
inline constexpr int64_t kDefaultBrokerChannelExpiredMs = 120000;

struct DataVersion {
  int64_t timestamp = 0;
  int64_t counter = 0;
  bool operator==(const DataVersion&) const = default;
};

struct TopicConfig {
  std::string topic_name;
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 6;
  int32_t topic_sys_flag = 0;
};

// The parsed body of REGISTER_BROKER (RegisterBrokerBody).
struct RegisterBrokerBody {
  DataVersion data_version;
  std::vector<TopicConfig> topics;
  std::vector<std::string> filter_server_list;
};

struct RegisterBrokerResult {
  std::string ha_server_addr;  // empty = null
  std::string master_addr;     // empty = null
};

class RouteInfoManager {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds
  // clock defaults to the system clock (ms since the epoch).
  explicit RouteInfoManager(int64_t broker_channel_expired_ms = kDefaultBrokerChannelExpiredMs,
                            Clock clock = nullptr);

  // RouteInfoManager.registerBroker. connection_id identifies the broker's connection (0 = none).
  RegisterBrokerResult RegisterBroker(const std::string& cluster, const std::string& broker_addr,
                                      const std::string& broker_name, int64_t broker_id,
                                      const std::string& ha_server_addr,
                                      const RegisterBrokerBody& body, uint64_t connection_id);
  void UnregisterBroker(const std::string& cluster, const std::string& broker_addr,
                        const std::string& broker_name, int64_t broker_id);
  // TopicRouteData JSON, or nullopt when the topic has no route. order_topic_conf, when given,
  // is written as "orderTopicConf" (omitted otherwise, like Java's null field).
  std::optional<std::string> TopicRouteJson(
      const std::string& topic, const std::optional<std::string>& order_topic_conf = {}) const;
  std::string ClusterInfoJson() const;
  std::string AllTopicListJson() const;
  // getTopicsByCluster: {"topicList":[...]} of the topics with queues on a broker of the cluster
  // (sorted; empty for an unknown cluster).
  std::string TopicsByClusterJson(const std::string& cluster) const;
  // getSystemTopicList: {"brokerAddr":"<addr>","topicList":[...]}: every cluster name and
  // broker name (each is a topic on the Java broker), sorted; brokerAddr = the lowest-id address
  // of the first broker by name, omitted when no broker is registered.
  std::string SystemTopicListJson() const;
  // deleteTopic: drops the topic's queue data (it returns when a master re-registers with a
  // changed dataVersion). Returns whether the topic was known.
  bool DeleteTopic(const std::string& topic);
  // wipeWritePermOfBroker: clears PERM_WRITE on every queue data of broker_name; returns how
  // many topics it touched (already unwritable ones included, as in Java).
  int32_t WipeWritePermOfBroker(const std::string& broker_name);
  // Removes brokers silent for longer than the expiry; returns their addresses.
  std::vector<std::string> ScanNotActiveBrokers();
  // Removes the brokers registered over that connection.
  void OnConnectionClosed(uint64_t connection_id);
  size_t live_broker_count() const;

 private:
  struct QueueData {
    int32_t read_queue_nums = 0;
    int32_t write_queue_nums = 0;
    int32_t perm = 0;
    int32_t topic_sys_flag = 0;
  };
  struct BrokerData {
    std::string cluster;
    std::map<int64_t, std::string> addrs;  // brokerId -> addr
  };
  struct LiveInfo {
    int64_t last_update_ms = 0;
    DataVersion data_version;
    uint64_t connection_id = 0;
    std::string ha_server_addr;
  };
  void RemoveBrokerByAddrLocked(const std::string& addr);
  void RemoveTopicsOfBrokerLocked(const std::string& broker_name);

  const int64_t expired_ms_;
  Clock clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, QueueData>> topic_queue_table_;
  std::map<std::string, BrokerData> broker_addr_table_;
  std::map<std::string, std::set<std::string>> cluster_addr_table_;
  std::map<std::string, LiveInfo> broker_live_table_;
  std::map<std::string, std::vector<std::string>> filter_server_table_;
};

}  // namespace brokerd::namesrv

#endif  // BROKERD_NAMESRV_ROUTE_INFO_MANAGER_H_
