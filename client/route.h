// Topic routes for the C++ client: the TopicRouteData a name server answers to
// GET_ROUTEINFO_BY_TOPIC (105), parsed; message queues; and a cache that looks routes up on the
// name servers of `namesrvAddr` (trying the next one when one fails) and refreshes them.
// Thread-safety: ParseTopicRoute is stateless; NameServers and RouteCache may be used from any
// thread.
#ifndef CLIENT_ROUTE_H_
#define CLIENT_ROUTE_H_

#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/remoting_client.h"

namespace rsclient {

// Permission bits of a queue (RocketMQ's PermName).
inline constexpr int32_t kPermRead = 4;
inline constexpr int32_t kPermWrite = 2;
// brokerId of a master.
inline constexpr int64_t kMasterId = 0;

struct MessageQueue {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  auto operator<=>(const MessageQueue&) const = default;
  std::string ToString() const;  // "topic@broker:queueId"
};

struct QueueData {
  std::string broker_name;
  int32_t read_queue_nums = 0;
  int32_t write_queue_nums = 0;
  int32_t perm = 0;
  int32_t topic_sys_flag = 0;
};

struct BrokerData {
  std::string cluster;
  std::string broker_name;
  std::map<int64_t, std::string> addrs;  // brokerId -> "ip:port"
};

struct TopicRoute {
  std::vector<QueueData> queue_datas;
  std::vector<BrokerData> broker_datas;
  std::string order_topic_conf;  // "brokerName:queues;..." when the topic is ordered

  // Queues that may be written: every write queue of a broker with write permission and a
  // master, sorted.
  std::vector<MessageQueue> WritableQueues(const std::string& topic) const;
  // Queues that may be read (read queues of brokers with read permission), sorted.
  std::vector<MessageQueue> ReadableQueues(const std::string& topic) const;
  // The master's address of broker_name; nullopt when it has none.
  std::optional<std::string> MasterAddr(const std::string& broker_name) const;
  // The master's address, else the lowest-id slave's (reads when the master is gone).
  std::optional<std::string> AnyAddr(const std::string& broker_name) const;
};

// Parses a TopicRouteData body (fastjson form, bare integer brokerId keys accepted).
absl::StatusOr<TopicRoute> ParseTopicRoute(std::string_view json);

// "a:9876;b:9876" (RocketMQ's namesrvAddr) -> {"a:9876", "b:9876"}; InvalidArgument when empty
// or an entry is not ip:port.
absl::StatusOr<std::vector<std::string>> ParseNamesrvAddr(std::string_view text);

// The name servers of one client.
class NameServers {
 public:
  NameServers(RemotingClient* client, std::vector<std::string> addrs,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // GET_ROUTEINFO_BY_TOPIC on one name server after another until one answers: NotFound when
  // the topic has no route (TOPIC_NOT_EXIST), Unavailable when none answers.
  absl::StatusOr<TopicRoute> FetchRoute(const std::string& topic);
  // Sends request to one name server after another until one answers (any code).
  absl::StatusOr<RemotingCommand> Call(const RemotingCommand& request);
  const std::vector<std::string>& addrs() const { return addrs_; }

 private:
  RemotingClient* const client_;
  const std::vector<std::string> addrs_;
  const std::chrono::milliseconds timeout_;
  std::atomic<size_t> next_{0};
};

// Cached routes. Get returns the cached route, fetching it on first use; Refresh re-fetches
// every topic in the cache (call it periodically, RocketMQ does every 30 s).
class RouteCache {
 public:
  explicit RouteCache(NameServers* namesrv) : namesrv_(namesrv) {}
  absl::StatusOr<TopicRoute> Get(const std::string& topic);
  // Fetches topic now (after a send failure, say) and updates the cache.
  absl::StatusOr<TopicRoute> Update(const std::string& topic);
  void Refresh();
  // Broker name -> master address, from every cached route.
  std::map<std::string, std::string> MasterAddrs();

 private:
  NameServers* const namesrv_;
  std::mutex mu_;
  std::map<std::string, TopicRoute> routes_;
};

}  // namespace rsclient

#endif  // CLIENT_ROUTE_H_
