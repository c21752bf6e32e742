// rs_roundtrip: a produce/consume round trip against a running name server and broker, the way
// a RocketMQ client does it: route lookup at the name server (GET_ROUTEINFO_BY_TOPIC, falling
// back to TBW102 for a topic that does not exist yet), SEND_MESSAGE_V2 to the broker, then
// PULL_MESSAGE of every queue from the first offset it wrote. Exits non-zero unless every
// message comes back with its body. Used by scripts/run.sh.
// Usage: rs_roundtrip [--namesrv HOST:PORT] [--topic NAME] [--count N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "client/message_codec.h"
#include "net/client.h"
#include "remoting/command.h"

namespace {

using brokerd::remoting::RemotingCommand;
using std::chrono::milliseconds;
constexpr milliseconds kIo(5000);

int32_t next_opaque = 1;

RemotingCommand Request(int32_t code) {
  RemotingCommand c;
  c.code = code;
  c.opaque = next_opaque++;
  return c;
}

bool SplitHostPort(const std::string& s, std::string* host, int* port) {
  const size_t c = s.rfind(':');
  if (c == std::string::npos) return false;
  *host = s.substr(0, c);
  *port = std::atoi(s.c_str() + c + 1);
  return *port > 0;
}

// The master's address and the queue count from a route lookup; empty address when unknown.
bool LookupRoute(brokerd::net::Client& ns, const std::string& topic, std::string* addr,
                 int* queues) {
  RemotingCommand req = Request(105);  // GET_ROUTEINFO_BY_TOPIC
  req.SetExtField("topic", topic);
  auto resp = ns.Call(req, kIo);
  if (!resp.ok() || resp->code != 0) return false;
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded() || !j.contains("brokerDatas") || !j["brokerDatas"].is_array()) return false;
  for (const auto& b : j["brokerDatas"]) {
    if (b.contains("brokerAddrs") && b["brokerAddrs"].contains("0") &&
        b["brokerAddrs"]["0"].is_string()) {
      *addr = b["brokerAddrs"]["0"].get<std::string>();
    }
  }
  *queues = 4;
  if (j.contains("queueDatas") && j["queueDatas"].is_array() && !j["queueDatas"].empty() &&
      j["queueDatas"][0].contains("writeQueueNums") &&
      j["queueDatas"][0]["writeQueueNums"].is_number_integer()) {
    *queues = std::min(4, j["queueDatas"][0]["writeQueueNums"].get<int>());
  }
  return !addr->empty();
}

}  // namespace

int main(int argc, char** argv) {
  std::string namesrv = "127.0.0.1:9876", topic = "RoundTripTopic";
  int count = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf("usage: rs_roundtrip [--namesrv HOST:PORT] [--topic NAME] [--count N]\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "rs_roundtrip: %s needs a value\n", a.c_str());
      return 2;
    }
    if (a == "--namesrv") {
      namesrv = argv[++i];
    } else if (a == "--topic") {
      topic = argv[++i];
    } else if (a == "--count") {
      count = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "rs_roundtrip: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  std::string host;
  int port = 0;
  if (!SplitHostPort(namesrv, &host, &port)) {
    std::fprintf(stderr, "rs_roundtrip: bad name server address %s\n", namesrv.c_str());
    return 2;
  }
  brokerd::net::Client ns;
  if (auto s = ns.Connect(host, port, kIo); !s.ok()) {
    std::fprintf(stderr, "rs_roundtrip: name server %s: %s\n", namesrv.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  std::string broker;
  int queues = 0;
  if (!LookupRoute(ns, topic, &broker, &queues) && !LookupRoute(ns, "TBW102", &broker, &queues)) {
    std::fprintf(stderr, "rs_roundtrip: no route for %s or TBW102 (is a broker registered?)\n",
                 topic.c_str());
    return 1;
  }
  std::printf("route: %s -> broker %s, %d queues\n", topic.c_str(), broker.c_str(), queues);
  brokerd::net::Client bc;
  if (!SplitHostPort(broker, &host, &port) || !bc.Connect(host, port, kIo).ok()) {
    std::fprintf(stderr, "rs_roundtrip: cannot connect to broker %s\n", broker.c_str());
    return 1;
  }
  const auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::map<int, int64_t> first_offset;  // queue -> first offset written
  std::map<std::string, bool> pending;  // bodies not yet received
  for (int i = 0; i < count; ++i) {
    RemotingCommand send = Request(310);  // SEND_MESSAGE_V2
    const int q = i % queues;
    for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
             {"a", "rs_roundtrip"},
             {"b", topic},
             {"c", "TBW102"},
             {"d", std::to_string(queues)},
             {"e", std::to_string(q)},
             {"f", "0"},
             {"g", std::to_string(0)},
             {"h", "0"},
             {"i", std::string("TAGS\x01") + "demo\x02KEYS\x01" + "rt-" + std::to_string(i) +
                       "\x02WAIT\x01true\x02"},
             {"j", "0"},
             {"k", "false"},
             {"m", "false"}}) {
      send.SetExtField(k, v);
    }
    send.body = "round trip " + run_id + " #" + std::to_string(i);
    auto r = bc.Call(send, kIo);
    if (!r.ok() || r->code != 0) {
      std::fprintf(stderr, "rs_roundtrip: send %d failed: %s\n", i,
                   r.ok() ? (std::to_string(r->code) + " " + r->remark.value_or("")).c_str()
                          : r.status().ToString().c_str());
      return 1;
    }
    const int64_t qo = r->GetInt64Or("queueOffset", -1).value_or(-1);
    if (!first_offset.count(q)) first_offset[q] = qo;
    pending[send.body] = true;
    std::printf("sent  %-32s queue %d offset %lld msgId %s\n", send.body.c_str(), q,
                static_cast<long long>(qo), r->GetString("msgId").value_or("?").c_str());
  }
  // Consume like a push consumer: long-polling pulls (SUSPEND flag) that follow
  // nextBeginOffset, until every message came back or the deadline passes.
  std::map<int, int64_t> next = first_offset;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    for (auto& [q, from] : next) {
      RemotingCommand pull = Request(11);  // PULL_MESSAGE
      for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
               {"consumerGroup", "rs_roundtrip"},
               {"topic", topic},
               {"queueId", std::to_string(q)},
               {"queueOffset", std::to_string(from)},
               {"maxMsgNums", "32"},
               {"sysFlag", "6"},  // SUSPEND | SUBSCRIPTION
               {"commitOffset", "0"},
               {"suspendTimeoutMillis", "500"},
               {"subscription", "*"},
               {"subVersion", "0"}}) {
        pull.SetExtField(k, v);
      }
      auto r = bc.Call(pull, kIo);
      if (!r.ok()) {
        std::fprintf(stderr, "rs_roundtrip: pull of queue %d: %s\n", q,
                     r.status().ToString().c_str());
        return 1;
      }
      if (r->code == 19 || r->code == 20) continue;  // nothing new yet / retry
      if (r->code != 0) {
        std::fprintf(stderr, "rs_roundtrip: pull of queue %d answered %d %s\n", q, r->code,
                     r->remark.value_or("").c_str());
        return 1;
      }
      auto msgs = rsclient::DecodeMessages(r->body);
      if (!msgs.ok()) {
        std::fprintf(stderr, "rs_roundtrip: %s\n", msgs.status().ToString().c_str());
        return 1;
      }
      for (const auto& m : *msgs) {
        if (pending.erase(m.body) == 0) continue;  // an earlier run's message
        std::printf("got   %-32s queue %d offset %lld keys %s\n", m.body.c_str(), m.queue_id,
                    static_cast<long long>(m.queue_offset),
                    rsclient::GetProperty(m.properties, "KEYS").c_str());
      }
      from = r->GetInt64Or("nextBeginOffset", from).value_or(from);
    }
  }
  if (!pending.empty()) {
    std::fprintf(stderr, "rs_roundtrip: %zu message(s) did not come back\n", pending.size());
    return 1;
  }
  std::printf("round trip OK: %d messages sent and consumed\n", count);
  return 0;
}
