// RouteInfoManager implementation (follows RocketMQ 4.9.7 RouteInfoManager).
// Thread-safety: all state under mu_.
#include "namesrv/route_info_manager.h"

#include <chrono>
#include <utility>

#include "nlohmann/json.hpp"

namespace brokerd::namesrv {
namespace {

using Json = nlohmann::ordered_json;
constexpr int64_t kMasterId = 0;
constexpr int32_t kPermWrite = 2;  // PermName.PERM_WRITE

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RouteInfoManager::RouteInfoManager(int64_t broker_channel_expired_ms, Clock clock)
    : expired_ms_(broker_channel_expired_ms), clock_(clock ? std::move(clock) : SystemNowMs) {}

RegisterBrokerResult RouteInfoManager::RegisterBroker(
    const std::string& cluster, const std::string& broker_addr, const std::string& broker_name,
    int64_t broker_id, const std::string& ha_server_addr, const RegisterBrokerBody& body,
    uint64_t connection_id) {
  std::lock_guard<std::mutex> lock(mu_);
  RegisterBrokerResult result;
  cluster_addr_table_[cluster].insert(broker_name);
  bool register_first = false;
  auto bit = broker_addr_table_.find(broker_name);
  if (bit == broker_addr_table_.end()) {
    register_first = true;
    bit = broker_addr_table_.emplace(broker_name, BrokerData{cluster, {}}).first;
  }
  auto& addrs = bit->second.addrs;
  // Slave switched to master: drop <otherId, addr> first.
  for (auto it = addrs.begin(); it != addrs.end();) {
    if (it->second == broker_addr && it->first != broker_id) {
      it = addrs.erase(it);
    } else {
      ++it;
    }
  }
  auto [ait, inserted] = addrs.insert_or_assign(broker_id, broker_addr);
  (void)ait;
  register_first = register_first || inserted;

  if (broker_id == kMasterId) {
    auto lit = broker_live_table_.find(broker_addr);
    bool changed =
        lit == broker_live_table_.end() || !(lit->second.data_version == body.data_version);
    if (changed || register_first) {
      for (const TopicConfig& t : body.topics) {
        topic_queue_table_[t.topic_name][broker_name] =
            QueueData{t.read_queue_nums, t.write_queue_nums, t.perm, t.topic_sys_flag};
      }
    }
  }
  broker_live_table_[broker_addr] =
      LiveInfo{clock_(), body.data_version, connection_id, ha_server_addr};
  if (!body.filter_server_list.empty()) {
    filter_server_table_[broker_addr] = body.filter_server_list;
  } else {
    filter_server_table_.erase(broker_addr);
  }
  if (broker_id != kMasterId) {
    auto mit = addrs.find(kMasterId);
    if (mit != addrs.end()) {
      auto lit = broker_live_table_.find(mit->second);
      if (lit != broker_live_table_.end()) {
        result.ha_server_addr = lit->second.ha_server_addr;
        result.master_addr = mit->second;
      }
    }
  }
  return result;
}

void RouteInfoManager::RemoveTopicsOfBrokerLocked(const std::string& broker_name) {
  for (auto it = topic_queue_table_.begin(); it != topic_queue_table_.end();) {
    it->second.erase(broker_name);
    if (it->second.empty()) {
      it = topic_queue_table_.erase(it);
    } else {
      ++it;
    }
  }
}

void RouteInfoManager::UnregisterBroker(const std::string& cluster, const std::string& broker_addr,
                                        const std::string& broker_name, int64_t broker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  broker_live_table_.erase(broker_addr);
  filter_server_table_.erase(broker_addr);
  bool remove_broker_name = false;
  auto bit = broker_addr_table_.find(broker_name);
  if (bit != broker_addr_table_.end()) {
    bit->second.addrs.erase(broker_id);
    if (bit->second.addrs.empty()) {
      broker_addr_table_.erase(bit);
      remove_broker_name = true;
    }
  }
  if (remove_broker_name) {
    auto cit = cluster_addr_table_.find(cluster);
    if (cit != cluster_addr_table_.end()) {
      cit->second.erase(broker_name);
      if (cit->second.empty()) cluster_addr_table_.erase(cit);
    }
    RemoveTopicsOfBrokerLocked(broker_name);
  }
}

void RouteInfoManager::RemoveBrokerByAddrLocked(const std::string& addr) {
  broker_live_table_.erase(addr);
  filter_server_table_.erase(addr);
  for (auto bit = broker_addr_table_.begin(); bit != broker_addr_table_.end();) {
    auto& addrs = bit->second.addrs;
    for (auto it = addrs.begin(); it != addrs.end();) {
      it = it->second == addr ? addrs.erase(it) : std::next(it);
    }
    if (addrs.empty()) {
      std::string name = bit->first;
      for (auto cit = cluster_addr_table_.begin(); cit != cluster_addr_table_.end();) {
        cit->second.erase(name);
        cit = cit->second.empty() ? cluster_addr_table_.erase(cit) : std::next(cit);
      }
      RemoveTopicsOfBrokerLocked(name);
      bit = broker_addr_table_.erase(bit);
    } else {
      ++bit;
    }
  }
}

std::vector<std::string> RouteInfoManager::ScanNotActiveBrokers() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = clock_();
  std::vector<std::string> expired;
  for (const auto& [addr, live] : broker_live_table_) {
    if (live.last_update_ms + expired_ms_ < now) expired.push_back(addr);
  }
  for (const std::string& addr : expired) RemoveBrokerByAddrLocked(addr);
  return expired;
}

void RouteInfoManager::OnConnectionClosed(uint64_t connection_id) {
  if (connection_id == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> gone;
  for (const auto& [addr, live] : broker_live_table_) {
    if (live.connection_id == connection_id) gone.push_back(addr);
  }
  for (const std::string& addr : gone) RemoveBrokerByAddrLocked(addr);
}

size_t RouteInfoManager::live_broker_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return broker_live_table_.size();
}

namespace {

Json BrokerDataJson(const std::string& name, const std::string& cluster,
                    const std::map<int64_t, std::string>& addrs) {
  Json addr_json = Json::object();
  for (const auto& [id, addr] : addrs) addr_json[std::to_string(id)] = addr;
  Json b = Json::object();
  b["brokerAddrs"] = std::move(addr_json);
  b["brokerName"] = name;
  b["cluster"] = cluster;
  return b;
}

std::string Dump(const Json& j) {
  // Names come from the network: invalid UTF-8 is replaced (U+FFFD), never thrown on.
  return j.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

}  // namespace

std::optional<std::string> RouteInfoManager::TopicRouteJson(
    const std::string& topic, const std::optional<std::string>& order_topic_conf) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto tit = topic_queue_table_.find(topic);
  if (tit == topic_queue_table_.end() || tit->second.empty()) return std::nullopt;
  Json broker_datas = Json::array();
  Json filter = Json::object();
  Json queue_datas = Json::array();
  for (const auto& [name, q] : tit->second) {
    Json qd = Json::object();
    qd["brokerName"] = name;
    qd["perm"] = q.perm;
    qd["readQueueNums"] = q.read_queue_nums;
    qd["topicSysFlag"] = q.topic_sys_flag;
    qd["writeQueueNums"] = q.write_queue_nums;
    queue_datas.push_back(std::move(qd));
    auto bit = broker_addr_table_.find(name);
    if (bit == broker_addr_table_.end()) continue;
    broker_datas.push_back(BrokerDataJson(name, bit->second.cluster, bit->second.addrs));
    for (const auto& [id, addr] : bit->second.addrs) {
      auto fit = filter_server_table_.find(addr);
      if (fit != filter_server_table_.end()) filter[addr] = fit->second;
    }
  }
  if (broker_datas.empty()) return std::nullopt;
  Json route = Json::object();
  route["brokerDatas"] = std::move(broker_datas);
  route["filterServerTable"] = std::move(filter);
  if (order_topic_conf.has_value()) route["orderTopicConf"] = *order_topic_conf;
  route["queueDatas"] = std::move(queue_datas);
  return Dump(route);
}

std::string RouteInfoManager::ClusterInfoJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  Json brokers = Json::object();
  for (const auto& [name, b] : broker_addr_table_) {
    brokers[name] = BrokerDataJson(name, b.cluster, b.addrs);
  }
  Json clusters = Json::object();
  for (const auto& [cluster, names] : cluster_addr_table_) {
    Json arr = Json::array();
    for (const std::string& n : names) arr.push_back(n);
    clusters[cluster] = std::move(arr);
  }
  Json j = Json::object();
  j["brokerAddrTable"] = std::move(brokers);
  j["clusterAddrTable"] = std::move(clusters);
  return Dump(j);
}

std::string RouteInfoManager::AllTopicListJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  Json arr = Json::array();
  for (const auto& [topic, q] : topic_queue_table_) arr.push_back(topic);
  Json j = Json::object();
  j["topicList"] = std::move(arr);
  return Dump(j);
}

std::string RouteInfoManager::TopicsByClusterJson(const std::string& cluster) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> topics;
  auto cit = cluster_addr_table_.find(cluster);
  if (cit != cluster_addr_table_.end()) {
    for (const auto& [topic, by_broker] : topic_queue_table_) {
      for (const std::string& name : cit->second) {
        if (by_broker.count(name) != 0) {
          topics.insert(topic);
          break;
        }
      }
    }
  }
  Json arr = Json::array();
  for (const std::string& t : topics) arr.push_back(t);
  Json j = Json::object();
  j["topicList"] = std::move(arr);
  return Dump(j);
}

std::string RouteInfoManager::SystemTopicListJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> topics;
  for (const auto& [cluster, names] : cluster_addr_table_) {
    topics.insert(cluster);
    topics.insert(names.begin(), names.end());
  }
  Json j = Json::object();
  for (const auto& [name, b] : broker_addr_table_) {
    if (!b.addrs.empty()) {
      j["brokerAddr"] = b.addrs.begin()->second;
      break;
    }
  }
  Json arr = Json::array();
  for (const std::string& t : topics) arr.push_back(t);
  j["topicList"] = std::move(arr);
  return Dump(j);
}

bool RouteInfoManager::DeleteTopic(const std::string& topic) {
  std::lock_guard<std::mutex> lock(mu_);
  return topic_queue_table_.erase(topic) != 0;
}

int32_t RouteInfoManager::WipeWritePermOfBroker(const std::string& broker_name) {
  std::lock_guard<std::mutex> lock(mu_);
  int32_t count = 0;
  for (auto& [topic, by_broker] : topic_queue_table_) {
    auto it = by_broker.find(broker_name);
    if (it == by_broker.end()) continue;
    it->second.perm &= ~kPermWrite;
    ++count;
  }
  return count;
}

}  // namespace brokerd::namesrv
