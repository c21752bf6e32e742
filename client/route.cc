// Route parsing and caching (see route.h).
// Thread-safety: RouteCache's mutex guards its map; NameServers has only an atomic index.
#include "client/route.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "nlohmann/json.hpp"
#include "remoting/codes.h"
#include "remoting/fastjson.h"

namespace rsclient {

namespace rc = brokerd::remoting::response_code;
namespace req = brokerd::remoting::request_code;

std::string MessageQueue::ToString() const {
  return topic + "@" + broker_name + ":" + std::to_string(queue_id);
}

std::vector<MessageQueue> TopicRoute::WritableQueues(const std::string& topic) const {
  std::vector<MessageQueue> out;
  for (const QueueData& q : queue_datas) {
    if ((q.perm & kPermWrite) == 0 || !MasterAddr(q.broker_name).has_value()) continue;
    for (int32_t i = 0; i < q.write_queue_nums; ++i) out.push_back({topic, q.broker_name, i});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<MessageQueue> TopicRoute::ReadableQueues(const std::string& topic) const {
  std::vector<MessageQueue> out;
  for (const QueueData& q : queue_datas) {
    if ((q.perm & kPermRead) == 0) continue;
    for (int32_t i = 0; i < q.read_queue_nums; ++i) out.push_back({topic, q.broker_name, i});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> TopicRoute::MasterAddr(const std::string& broker_name) const {
  for (const BrokerData& b : broker_datas) {
    if (b.broker_name != broker_name) continue;
    auto it = b.addrs.find(kMasterId);
    if (it != b.addrs.end()) return it->second;
  }
  return std::nullopt;
}

std::optional<std::string> TopicRoute::AnyAddr(const std::string& broker_name) const {
  for (const BrokerData& b : broker_datas) {
    if (b.broker_name == broker_name && !b.addrs.empty()) return b.addrs.begin()->second;
  }
  return std::nullopt;
}

absl::StatusOr<TopicRoute> ParseTopicRoute(std::string_view json) {
  absl::StatusOr<nlohmann::json> j = brokerd::remoting::ParseFastjson(json, "route");
  if (!j.ok()) return j.status();
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError("route: " + what); };
  TopicRoute route;
  auto int_of = [](const nlohmann::json& o, const char* key, int32_t* out) {
    auto it = o.find(key);
    if (it == o.end()) return true;
    if (!it->is_number_integer()) return false;
    *out = it->get<int32_t>();
    return true;
  };
  if (auto qd = j->find("queueDatas"); qd != j->end()) {
    if (!qd->is_array()) return bad("queueDatas is not an array");
    for (const auto& q : *qd) {
      QueueData d;
      if (!q.is_object() || !q.contains("brokerName") || !q["brokerName"].is_string()) {
        return bad("a queue data has no brokerName");
      }
      d.broker_name = q["brokerName"].get<std::string>();
      if (!int_of(q, "readQueueNums", &d.read_queue_nums) ||
          !int_of(q, "writeQueueNums", &d.write_queue_nums) || !int_of(q, "perm", &d.perm) ||
          !int_of(q, "topicSysFlag", &d.topic_sys_flag)) {
        return bad("a queue data field of " + d.broker_name + " is not an integer");
      }
      if (d.read_queue_nums < 0 || d.write_queue_nums < 0 || d.read_queue_nums > 65536 ||
          d.write_queue_nums > 65536) {
        return bad("queue counts of " + d.broker_name + " are out of range");
      }
      route.queue_datas.push_back(std::move(d));
    }
  }
  if (auto bd = j->find("brokerDatas"); bd != j->end()) {
    if (!bd->is_array()) return bad("brokerDatas is not an array");
    for (const auto& b : *bd) {
      BrokerData d;
      if (!b.is_object() || !b.contains("brokerName") || !b["brokerName"].is_string()) {
        return bad("a broker data has no brokerName");
      }
      d.broker_name = b["brokerName"].get<std::string>();
      if (b.contains("cluster") && b["cluster"].is_string()) d.cluster = b["cluster"];
      if (auto addrs = b.find("brokerAddrs"); addrs != b.end() && addrs->is_object()) {
        for (const auto& [id, addr] : addrs->items()) {
          char* end = nullptr;
          long long v = std::strtoll(id.c_str(), &end, 10);
          if (id.empty() || *end != '\0' || !addr.is_string()) {
            return bad("broker " + d.broker_name + " has a bad address entry " + id);
          }
          d.addrs[v] = addr.get<std::string>();
        }
      }
      route.broker_datas.push_back(std::move(d));
    }
  }
  if (auto o = j->find("orderTopicConf"); o != j->end() && o->is_string()) {
    route.order_topic_conf = o->get<std::string>();
  }
  return route;
}

absl::StatusOr<std::vector<std::string>> ParseNamesrvAddr(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t semi = text.find(';', pos);
    if (semi == std::string_view::npos) semi = text.size();
    std::string item(text.substr(pos, semi - pos));
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) {
      if (absl::StatusOr<std::pair<std::string, int>> hp = SplitHostPort(item); !hp.ok()) {
        return absl::InvalidArgumentError("namesrvAddr entry '" + item + "' is not ip:port");
      }
      out.push_back(item);
    }
    pos = semi + 1;
  }
  if (out.empty()) return absl::InvalidArgumentError("namesrvAddr lists no name server");
  return out;
}

NameServers::NameServers(RemotingClient* client, std::vector<std::string> addrs,
                         std::chrono::milliseconds timeout)
    : client_(client), addrs_(std::move(addrs)), timeout_(timeout) {}

absl::StatusOr<RemotingCommand> NameServers::Call(const RemotingCommand& request) {
  if (addrs_.empty()) return absl::FailedPreconditionError("no name server configured");
  absl::Status last;
  const size_t start = next_.fetch_add(1);
  for (size_t i = 0; i < addrs_.size(); ++i) {
    const std::string& addr = addrs_[(start + i) % addrs_.size()];
    absl::StatusOr<RemotingCommand> r = client_->InvokeSync(addr, request, timeout_);
    if (r.ok()) return r;
    last = absl::UnavailableError("name server " + addr + ": " + std::string(r.status().message()));
  }
  return last;
}

absl::StatusOr<TopicRoute> NameServers::FetchRoute(const std::string& topic) {
  RemotingCommand request = brokerd::remoting::MakeRequest(req::kGetRouteinfoByTopic, 0);
  request.SetExtField("topic", topic);
  absl::StatusOr<RemotingCommand> r = Call(request);
  if (!r.ok()) return r.status();
  if (r->code == rc::kTopicNotExist) {
    return absl::NotFoundError("no route for topic " + topic + ": " + r->remark.value_or(""));
  }
  if (r->code != rc::kSuccess) {
    return absl::UnavailableError("route of " + topic + ": code " + std::to_string(r->code) + " " +
                                  r->remark.value_or(""));
  }
  return ParseTopicRoute(r->body);
}

absl::StatusOr<TopicRoute> RouteCache::Get(const std::string& topic) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = routes_.find(topic);
    if (it != routes_.end()) return it->second;
  }
  return Update(topic);
}

absl::StatusOr<TopicRoute> RouteCache::Update(const std::string& topic) {
  absl::StatusOr<TopicRoute> route = namesrv_->FetchRoute(topic);
  if (!route.ok()) return route.status();
  std::lock_guard<std::mutex> lock(mu_);
  routes_[topic] = *route;
  return route;
}

void RouteCache::Refresh() {
  std::vector<std::string> topics;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [t, r] : routes_) topics.push_back(t);
  }
  for (const std::string& t : topics) (void)Update(t);  // keep the old route on failure
}

std::map<std::string, std::string> RouteCache::MasterAddrs() {
  std::map<std::string, std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [t, r] : routes_) {
    for (const BrokerData& b : r.broker_datas) {
      auto it = b.addrs.find(kMasterId);
      if (it != b.addrs.end()) out[b.broker_name] = it->second;
    }
  }
  return out;
}

}  // namespace rsclient
