// rs_admin's verbs (see admin_verbs.h). Each one resolves its targets through the name server
// (routes, cluster info), sends the broker requests of docs/format/protocol.md, and prints.
// Thread-safety: single-threaded.
#include "tools/admin_verbs.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "remoting/fastjson.h"

namespace rsadmin {

namespace {

using Json = nlohmann::json;
using rsclient::TopicRoute;

// The group the read-only pulls use (every 4.9.7 broker has it).
constexpr char kToolsConsumerGroup[] = "TOOLS_CONSUMER";
// Messages a QUERY_MESSAGE asks each broker for (mqadmin's queryMsgByKey: 64).
constexpr int32_t kQueryMaxNum = 64;
constexpr int32_t kMaxPullBatch = 32;
// Attempts of sendMessage on distinct queues (the Java producer: 1 + retryTimesWhenSendFailed 2).
constexpr int kSendAttempts = 3;
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

// ---- output helpers ----

void PrintJson(const Json& j) {
  std::string text = j.dump(2, ' ', false, Json::error_handler_t::replace);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

void PrintText(const std::string& s) { std::fwrite(s.data(), 1, s.size(), stdout); }

void Warn(const VerbContext& ctx, const std::string& what) {
  std::fprintf(stderr, "rs_admin %s: %s\n", ctx.spec->name.c_str(), what.c_str());
}

int Fail(const VerbContext& ctx, const absl::Status& s) {
  Warn(ctx, std::string(s.message()));
  return kExitFailed;
}

int UsageError(const VerbContext& ctx, const std::string& what) {
  std::fprintf(stderr, "rs_admin %s: %s (see rs_admin %s --help)\n", ctx.spec->name.c_str(),
               what.c_str(), ctx.spec->name.c_str());
  return kExitUsage;
}

Json OptionalInt(const std::optional<int64_t>& v) { return v.has_value() ? Json(*v) : Json(); }
std::string OptionalText(const std::optional<int64_t>& v) {
  return v.has_value() ? std::to_string(*v) : "-";
}

Json MessageJson(const MessageView& m) {
  Json props = Json::object();
  for (const auto& [k, v] : m.properties) props[k] = v;
  Json j = {{"msgId", m.msg_id},
            {"offsetMsgId", m.offset_msg_id},
            {"topic", m.msg.topic},
            {"brokerName", m.broker_name},
            {"queueId", m.msg.queue_id},
            {"queueOffset", m.msg.queue_offset},
            {"commitLogOffset", m.msg.commit_log_offset},
            {"tags", rsclient::GetProperty(m.msg.properties, "TAGS")},
            {"keys", rsclient::GetProperty(m.msg.properties, "KEYS")},
            {"bornTimestamp", m.msg.born_timestamp_ms},
            {"storeTimestamp", m.msg.store_timestamp_ms},
            {"bornHost", m.born_host},
            {"storeHost", m.store_host},
            {"sysFlag", m.msg.sys_flag},
            {"flag", m.msg.flag},
            {"reconsumeTimes", m.msg.reconsume_times},
            {"properties", std::move(props)},
            {"bodyLength", m.body.size()}};
  if (IsValidUtf8(m.body)) {
    j["body"] = m.body;
  } else {
    j["bodyBase64"] = absl::Base64Escape(m.body);
  }
  return j;
}

// mqadmin's message detail: one "Field: value" line per field.
std::string MessageDetail(const MessageView& m) {
  std::string props;
  for (const auto& [k, v] : m.properties) {
    absl::StrAppend(&props, props.empty() ? "" : ", ", Printable(k), "=", Printable(v));
  }
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"OffsetID", m.offset_msg_id},
      {"MsgId", m.msg_id},
      {"Topic", Printable(m.msg.topic)},
      {"Tags", "[" + Printable(rsclient::GetProperty(m.msg.properties, "TAGS")) + "]"},
      {"Keys", "[" + Printable(rsclient::GetProperty(m.msg.properties, "KEYS")) + "]"},
      {"Broker Name", m.broker_name},
      {"Queue ID", std::to_string(m.msg.queue_id)},
      {"Queue Offset", std::to_string(m.msg.queue_offset)},
      {"CommitLog Offset", std::to_string(m.msg.commit_log_offset)},
      {"Reconsume Times", std::to_string(m.msg.reconsume_times)},
      {"Born Timestamp", FormatTimeMs(m.msg.born_timestamp_ms)},
      {"Store Timestamp", FormatTimeMs(m.msg.store_timestamp_ms)},
      {"Born Host", m.born_host},
      {"Store Host", m.store_host},
      {"System Flag", std::to_string(m.msg.sys_flag)},
      {"Properties", "{" + props + "}"},
      {"Body Length", std::to_string(m.body.size())},
      {"Message Body", Printable(m.body)},
  };
  std::string out;
  for (const auto& [k, v] : lines) {
    std::string key = k + ":";
    key.resize(20, ' ');
    absl::StrAppend(&out, key, v, "\n");
  }
  return out;
}

// ---- argument helpers ----

bool IsValidTopicName(const std::string& t) {
  if (t.empty() || t.size() > 127) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '%' ||
           c == '|' || c == '_' || c == '-';
  });
}

bool IsSystemTopic(const std::string& t) {
  static const std::set<std::string> kSystem = {"TBW102",
                                                "SCHEDULE_TOPIC_XXXX",
                                                "RMQ_SYS_TRANS_HALF_TOPIC",
                                                "BenchmarkTest",
                                                "RMQ_SYS_TRANS_OP_HALF_TOPIC",
                                                "TRANS_CHECK_MAX_TIME_TOPIC",
                                                "OFFSET_MOVED_EVENT",
                                                "RMQ_SYS_TRACE_TOPIC"};
  return kSystem.count(t) > 0 || t.rfind("rmq_sys_", 0) == 0 || t.rfind("%DLQ%", 0) == 0;
}

// The brokers of a route that hold queues of the topic, sorted by name, with the address used
// to read (master, else a slave) and to write (master only).
struct RouteBroker {
  std::string name;
  std::string read_addr;
  std::optional<std::string> master_addr;
  rsclient::QueueData queues;
};

std::vector<RouteBroker> BrokersOf(const TopicRoute& route) {
  std::vector<RouteBroker> out;
  for (const rsclient::QueueData& q : route.queue_datas) {
    std::optional<std::string> any = route.AnyAddr(q.broker_name);
    if (!any.has_value()) continue;
    out.push_back({q.broker_name, *any, route.MasterAddr(q.broker_name), q});
  }
  std::sort(out.begin(), out.end(),
            [](const RouteBroker& a, const RouteBroker& b) { return a.name < b.name; });
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- updateTopic ----

int UpdateTopic(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  if (!IsValidTopicName(topic)) {
    return UsageError(ctx,
                      "topic name '" + topic + "' must be 1..127 characters of [%|a-zA-Z0-9_-]");
  }
  absl::StatusOr<int64_t> r = ParseInt("-r", ctx.args.Get("readQueueNums", "8"), 1, 1024);
  absl::StatusOr<int64_t> w = ParseInt("-w", ctx.args.Get("writeQueueNums", "8"), 1, 1024);
  absl::StatusOr<int64_t> p = ParseInt("-p", ctx.args.Get("perm", "6"), 0, 15);
  absl::StatusOr<bool> order = ParseBool("-o", ctx.args.Get("order", "false"));
  for (const absl::Status& s : {r.status(), w.status(), p.status(), order.status()}) {
    if (!s.ok()) return UsageError(ctx, std::string(s.message()));
  }
  if (!ctx.args.Has("brokerAddr") && !ctx.args.Has("clusterName")) {
    return UsageError(ctx, "one of -b/--brokerAddr or -c/--clusterName is required");
  }
  std::vector<std::string> targets;
  absl::StatusOr<ClusterInfo> info = ctx.admin->GetClusterInfo();
  if (ctx.args.Has("brokerAddr")) {
    const std::string addr = ctx.args.Get("brokerAddr");
    if (!rsclient::SplitHostPort(addr).ok()) {
      return UsageError(ctx, "-b/--brokerAddr '" + addr + "' is not ip:port");
    }
    targets.push_back(addr);
  } else {
    if (!info.ok()) return Fail(ctx, info.status());
    absl::StatusOr<std::vector<std::string>> masters =
        info->MasterAddrs(ctx.args.Get("clusterName"));
    if (!masters.ok()) return Fail(ctx, masters.status());
    if (masters->empty()) {
      return Fail(ctx, absl::NotFoundError("cluster " + ctx.args.Get("clusterName") +
                                           " has no master broker"));
    }
    targets = *masters;
  }
  int exit_code = kExitOk;
  Json results = Json::array();
  Table table({"Broker Address", "Broker Name", "Topic", "Read Queues", "Write Queues", "Perm",
               "Order", "Result"});
  std::vector<std::string> order_conf;
  for (const std::string& addr : targets) {
    absl::Status s =
        ctx.admin->CreateTopic(addr, topic, static_cast<int32_t>(*r), static_cast<int32_t>(*w),
                               static_cast<int32_t>(*p), *order);
    const std::string name = info.ok() ? info->BrokerNameOf(addr) : "";
    if (!s.ok()) {
      exit_code = kExitFailed;
      Warn(ctx, std::string(s.message()));
    } else if (*order && !name.empty()) {
      order_conf.push_back(absl::StrCat(name, ":", *w));
    }
    table.AddRow({addr, name, topic, std::to_string(*r), std::to_string(*w), std::to_string(*p),
                  *order ? "true" : "false",
                  s.ok() ? "OK" : "FAILED: " + std::string(s.message())});
    Json one = {{"brokerAddr", addr}, {"brokerName", name}, {"ok", s.ok()}};
    if (!s.ok()) one["error"] = std::string(s.message());
    results.push_back(std::move(one));
  }
  Json out = {{"topic", topic}, {"readQueueNums", *r}, {"writeQueueNums", *w},
              {"perm", *p},     {"order", *order},     {"brokers", std::move(results)}};
  if (*order && !order_conf.empty()) {
    // The name server's ORDER_TOPIC_CONFIG entry that routes carry as orderTopicConf.
    const std::string conf = absl::StrJoin(order_conf, ";");
    absl::Status s = ctx.admin->PutKvConfig("ORDER_TOPIC_CONFIG", topic, conf);
    out["orderConf"] = conf;
    if (!s.ok()) {
      exit_code = kExitFailed;
      Warn(ctx, "order conf: " + std::string(s.message()));
    }
  }
  if (ctx.json) {
    PrintJson(out);
  } else {
    PrintText(table.ToString());
    if (out.contains("orderConf")) {
      PrintText("order conf: " + out["orderConf"].get<std::string>() + "\n");
    }
  }
  return exit_code;
}

// ---- deleteTopic ----

int DeleteTopic(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  std::vector<std::pair<std::string, std::string>> brokers;  // name, master address
  if (ctx.args.Has("clusterName")) {
    absl::StatusOr<ClusterInfo> info = ctx.admin->GetClusterInfo();
    if (!info.ok()) return Fail(ctx, info.status());
    absl::StatusOr<std::vector<std::string>> masters =
        info->MasterAddrs(ctx.args.Get("clusterName"));
    if (!masters.ok()) return Fail(ctx, masters.status());
    for (const std::string& a : *masters) brokers.emplace_back(info->BrokerNameOf(a), a);
  } else {
    absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
    if (absl::IsNotFound(route.status())) {
      return Fail(ctx, absl::NotFoundError(
                           "topic " + topic +
                           " has no route; pass -c CLUSTER to delete it from that cluster's "
                           "brokers"));
    }
    if (!route.ok()) return Fail(ctx, route.status());
    for (const RouteBroker& b : BrokersOf(*route)) {
      if (b.master_addr.has_value()) brokers.emplace_back(b.name, *b.master_addr);
    }
  }
  int exit_code = kExitOk;
  Table table({"Target", "Name", "Address", "Result"});
  Json results = Json::array();
  // Brokers first: a broker's next registration would otherwise bring the route back.
  for (const auto& [name, addr] : brokers) {
    absl::Status s = ctx.admin->DeleteTopicInBroker(addr, topic);
    std::string result = "deleted (stored messages stay until retention removes their files)";
    if (absl::IsUnimplemented(s)) {
      exit_code = kExitFailed;
      result =
          "NOT DELETED: the broker does not serve DELETE_TOPIC_IN_BROKER (215); it keeps the "
          "topic and its messages and registers it again with the name server";
      Warn(ctx, "broker " + addr + ": " + result);
    } else if (!s.ok()) {
      exit_code = kExitFailed;
      result = "FAILED: " + std::string(s.message());
      Warn(ctx, std::string(s.message()));
    }
    table.AddRow({"broker", name, addr, result});
    results.push_back({{"target", "broker"},
                       {"name", name},
                       {"address", addr},
                       {"ok", s.ok()},
                       {"result", result}});
  }
  for (const std::string& addr : ctx.admin->namesrv_addrs()) {
    absl::Status s = ctx.admin->DeleteTopicInNamesrv(addr, topic);
    std::string result = s.ok() ? "route deleted" : "FAILED: " + std::string(s.message());
    if (!s.ok()) {
      exit_code = kExitFailed;
      Warn(ctx, std::string(s.message()));
    }
    table.AddRow({"namesrv", "", addr, result});
    results.push_back({{"target", "namesrv"},
                       {"name", ""},
                       {"address", addr},
                       {"ok", s.ok()},
                       {"result", result}});
  }
  if (ctx.json) {
    PrintJson({{"topic", topic}, {"results", std::move(results)}});
  } else {
    PrintText(table.ToString());
  }
  return exit_code;
}

// ---- topicList ----

int TopicList(VerbContext& ctx) {
  if (ctx.args.Has("clusterModel")) {
    absl::StatusOr<ClusterInfo> info = ctx.admin->GetClusterInfo();
    if (!info.ok()) return Fail(ctx, info.status());
    Table table({"Cluster Name", "Topic"});
    Json rows = Json::array();
    for (const auto& [cluster, names] : info->clusters) {
      absl::StatusOr<std::vector<std::string>> topics = ctx.admin->GetTopicsByCluster(cluster);
      if (!topics.ok()) return Fail(ctx, topics.status());
      for (const std::string& t : *topics) {
        table.AddRow({cluster, t});
        rows.push_back({{"cluster", cluster}, {"topic", t}});
      }
    }
    if (ctx.json) {
      PrintJson({{"topics", std::move(rows)}});
    } else {
      PrintText(table.ToString());
    }
    return kExitOk;
  }
  absl::StatusOr<std::vector<std::string>> topics = ctx.admin->GetAllTopics();
  if (!topics.ok()) return Fail(ctx, topics.status());
  if (ctx.json) {
    PrintJson({{"topicList", *topics}});
  } else {
    for (const std::string& t : *topics) PrintText(t + "\n");
  }
  return kExitOk;
}

// ---- topicRoute ----

int TopicRouteVerb(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  std::string raw;
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic, &raw);
  if (!route.ok()) return Fail(ctx, route.status());
  if (ctx.json) {
    absl::StatusOr<Json> j = brokerd::remoting::ParseFastjson(raw, "route");
    if (!j.ok()) return Fail(ctx, j.status());
    PrintJson(*j);
    return kExitOk;
  }
  Table brokers({"Cluster", "Broker Name", "Broker Id", "Address"});
  for (const rsclient::BrokerData& b : route->broker_datas) {
    for (const auto& [id, addr] : b.addrs) {
      brokers.AddRow({b.cluster, b.broker_name, std::to_string(id), addr});
    }
  }
  Table queues({"Broker Name", "Read Queues", "Write Queues", "Perm", "Topic Sys Flag"});
  for (const rsclient::QueueData& q : route->queue_datas) {
    queues.AddRow({q.broker_name, std::to_string(q.read_queue_nums),
                   std::to_string(q.write_queue_nums), std::to_string(q.perm),
                   std::to_string(q.topic_sys_flag)});
  }
  PrintText("brokers:\n" + brokers.ToString() + "\nqueues:\n" + queues.ToString());
  if (!route->order_topic_conf.empty()) {
    PrintText("\norder topic conf: " + route->order_topic_conf + "\n");
  }
  return kExitOk;
}

// ---- topicStatus ----

// The store time of the message at `offset`, 0 when there is none.
int64_t StoreTimeAt(AdminClient& admin, const std::string& addr, const std::string& topic,
                    int32_t queue_id, int64_t offset) {
  absl::StatusOr<PullResult> p = admin.Pull(addr, kToolsConsumerGroup, topic, queue_id, offset, 1);
  if (!p.ok() || p->code != 0 || p->messages.empty()) return 0;
  return p->messages.front().msg.store_timestamp_ms;
}

int TopicStatus(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
  if (!route.ok()) return Fail(ctx, route.status());
  Table table({"Broker Name", "QID", "Min Offset", "Max Offset", "First Stored", "Last Updated"});
  Json queues = Json::array();
  for (const RouteBroker& b : BrokersOf(*route)) {
    const int32_t n = std::max(b.queues.read_queue_nums, b.queues.write_queue_nums);
    for (int32_t q = 0; q < n; ++q) {
      absl::StatusOr<int64_t> min = ctx.admin->GetMinOffset(b.read_addr, topic, q);
      if (!min.ok()) return Fail(ctx, min.status());
      absl::StatusOr<int64_t> max = ctx.admin->GetMaxOffset(b.read_addr, topic, q);
      if (!max.ok()) return Fail(ctx, max.status());
      absl::StatusOr<int64_t> first = ctx.admin->GetEarliestStoreTime(b.read_addr, topic, q);
      if (!first.ok()) return Fail(ctx, first.status());
      const int64_t last =
          *max > *min ? StoreTimeAt(*ctx.admin, b.read_addr, topic, q, *max - 1) : 0;
      table.AddRow({b.name, std::to_string(q), std::to_string(*min), std::to_string(*max),
                    FormatTimeMs(*first), FormatTimeMs(last)});
      queues.push_back({{"brokerName", b.name},
                        {"queueId", q},
                        {"minOffset", *min},
                        {"maxOffset", *max},
                        {"firstStoreTimestamp", *first > 0 ? *first : 0},
                        {"lastUpdateTimestamp", last}});
    }
  }
  if (ctx.json) {
    PrintJson({{"topic", topic}, {"queues", std::move(queues)}});
  } else {
    PrintText(table.ToString());
  }
  return kExitOk;
}

// ---- clusterList / brokerStatus ----

int ClusterList(VerbContext& ctx) {
  absl::StatusOr<ClusterInfo> info = ctx.admin->GetClusterInfo();
  if (!info.ok()) return Fail(ctx, info.status());
  const std::string only = ctx.args.Get("clusterName");
  if (!only.empty() && info->clusters.count(only) == 0) {
    return Fail(ctx, info->MasterAddrs(only).status());
  }
  int exit_code = kExitOk;
  Table table({"Cluster Name", "Broker Name", "BID", "Addr", "Version", "Role", "Msgs Put",
               "CommitLog Max Offset", "Writable", "Boot Time"});
  Json brokers = Json::array();
  for (const auto& [cluster, names] : info->clusters) {
    if (!only.empty() && cluster != only) continue;
    for (const std::string& name : names) {
      auto b = info->brokers.find(name);
      if (b == info->brokers.end()) continue;
      for (const auto& [id, addr] : b->second.addrs) {
        absl::StatusOr<std::map<std::string, std::string>> rt = ctx.admin->GetRuntimeInfo(addr);
        Json one = {{"cluster", cluster}, {"brokerName", name}, {"brokerId", id}, {"addr", addr}};
        if (!rt.ok()) {
          exit_code = kExitFailed;
          Warn(ctx, std::string(rt.status().message()));
          table.AddRow({cluster, name, std::to_string(id), addr, "UNREACHABLE"});
          one["error"] = std::string(rt.status().message());
        } else {
          auto get = [&](const char* k) {
            auto it = rt->find(k);
            return it == rt->end() ? std::string() : it->second;
          };
          int64_t boot = 0;
          (void)absl::SimpleAtoi(get("bootTimestamp"), &boot);
          table.AddRow({cluster, name, std::to_string(id), addr, get("brokerVersionDesc"),
                        get("brokerRole"), get("msgPutTotalTodayNow"), get("commitLogMaxOffset"),
                        get("storeWritable"), FormatTimeMs(boot)});
          Json t = Json::object();
          for (const auto& [k, v] : *rt) t[k] = v;
          one["runtimeInfo"] = std::move(t);
        }
        brokers.push_back(std::move(one));
      }
    }
  }
  if (ctx.json) {
    PrintJson({{"brokers", std::move(brokers)}});
  } else {
    PrintText(table.ToString());
  }
  return exit_code;
}

int BrokerStatus(VerbContext& ctx) {
  std::vector<std::string> addrs;
  if (ctx.args.Has("brokerAddr")) {
    addrs.push_back(ctx.args.Get("brokerAddr"));
    if (!rsclient::SplitHostPort(addrs[0]).ok()) {
      return UsageError(ctx, "-b/--brokerAddr '" + addrs[0] + "' is not ip:port");
    }
  } else if (ctx.args.Has("clusterName")) {
    absl::StatusOr<ClusterInfo> info = ctx.admin->GetClusterInfo();
    if (!info.ok()) return Fail(ctx, info.status());
    const std::string cluster = ctx.args.Get("clusterName");
    if (info->clusters.count(cluster) == 0) return Fail(ctx, info->MasterAddrs(cluster).status());
    for (const std::string& name : info->clusters.at(cluster)) {
      auto b = info->brokers.find(name);
      if (b == info->brokers.end()) continue;
      for (const auto& [id, addr] : b->second.addrs) addrs.push_back(addr);
    }
  } else {
    return UsageError(ctx, "one of -b/--brokerAddr or -c/--clusterName is required");
  }
  int exit_code = kExitOk;
  const bool many = addrs.size() > 1 || ctx.args.Has("clusterName");
  Table table(many ? std::vector<std::string>{"Broker Address", "Key", "Value"}
                   : std::vector<std::string>{"Key", "Value"});
  Json brokers = Json::array();
  for (const std::string& addr : addrs) {
    absl::StatusOr<std::map<std::string, std::string>> rt = ctx.admin->GetRuntimeInfo(addr);
    if (!rt.ok()) {
      exit_code = kExitFailed;
      Warn(ctx, std::string(rt.status().message()));
      brokers.push_back({{"brokerAddr", addr}, {"error", std::string(rt.status().message())}});
      continue;
    }
    Json t = Json::object();
    for (const auto& [k, v] : *rt) {
      t[k] = v;
      if (many) {
        table.AddRow({addr, k, v});
      } else {
        table.AddRow({k, v});
      }
    }
    brokers.push_back({{"brokerAddr", addr}, {"table", std::move(t)}});
  }
  if (ctx.json) {
    PrintJson({{"brokers", std::move(brokers)}});
  } else if (table.rows() > 0) {
    PrintText(table.ToString());
  }
  return exit_code;
}

// ---- queryMsgById / queryMsgByKey / queryMsgByOffset ----

// Fills in broker names from the cluster info (best effort: the message itself is the answer).
void NameBrokers(AdminClient& admin, std::vector<MessageView>& msgs, const std::string& addr) {
  absl::StatusOr<ClusterInfo> info = admin.GetClusterInfo();
  if (!info.ok()) return;
  const std::string name = info->BrokerNameOf(addr);
  for (MessageView& m : msgs) {
    if (m.broker_name.empty()) m.broker_name = name;
  }
}

void PrintMessages(const VerbContext& ctx, const std::vector<MessageView>& msgs) {
  if (ctx.json) {
    Json arr = Json::array();
    for (const MessageView& m : msgs) arr.push_back(MessageJson(m));
    PrintJson({{"messages", std::move(arr)}});
    return;
  }
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i > 0) PrintText("\n");
    PrintText(MessageDetail(msgs[i]));
  }
}

int QueryMsgById(VerbContext& ctx) {
  std::vector<std::string> ids;
  for (absl::string_view id : absl::StrSplit(ctx.args.Get("msgId"), ',', absl::SkipWhitespace())) {
    ids.emplace_back(absl::StripAsciiWhitespace(id));
  }
  if (ids.empty()) return UsageError(ctx, "-i/--msgId is empty");
  const std::string topic = ctx.args.Get("topic");
  std::vector<MessageView> found;
  int exit_code = kExitOk;
  for (const std::string& id : ids) {
    absl::StatusOr<OffsetMsgId> decoded = DecodeOffsetMsgId(id);
    absl::Status why;
    if (decoded.ok()) {
      absl::StatusOr<MessageView> m =
          ctx.admin->ViewMessage(decoded->broker_addr, decoded->commit_log_offset);
      if (m.ok()) {
        std::vector<MessageView> one = {*std::move(m)};
        NameBrokers(*ctx.admin, one, decoded->broker_addr);
        found.push_back(std::move(one.front()));
        continue;
      }
      why = m.status();
    } else if (topic.empty()) {
      return UsageError(ctx, std::string(decoded.status().message()) +
                                 "; pass -t TOPIC to look it up as a message id (UNIQ_KEY)");
    }
    if (topic.empty()) {
      exit_code = kExitFailed;
      Warn(ctx, "message " + id + " not found: " + std::string(why.message()));
      continue;
    }
    // A client message id (UNIQ_KEY): ask the index of every broker of the topic.
    absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
    if (!route.ok()) return Fail(ctx, route.status());
    bool any = false;
    for (const RouteBroker& b : BrokersOf(*route)) {
      absl::StatusOr<std::vector<MessageView>> msgs =
          ctx.admin->QueryMessage(b.read_addr, topic, id, kQueryMaxNum, 0, kForever, true);
      if (!msgs.ok()) return Fail(ctx, msgs.status());
      for (MessageView& m : *msgs) {
        if (m.msg_id != id || m.msg.topic != topic) continue;
        m.broker_name = b.name;
        found.push_back(std::move(m));
        any = true;
      }
    }
    if (!any) {
      exit_code = kExitFailed;
      Warn(ctx, "message " + id + " not found in topic " + topic);
    }
  }
  PrintMessages(ctx, found);
  return exit_code;
}

bool HasKey(const MessageView& m, const std::string& key) {
  for (absl::string_view k :
       absl::StrSplit(rsclient::GetProperty(m.msg.properties, "KEYS"), ' ', absl::SkipEmpty())) {
    if (k == key) return true;
  }
  return false;
}

int QueryMsgByKey(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  const std::string key = ctx.args.Get("msgKey");
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
  if (!route.ok()) return Fail(ctx, route.status());
  std::vector<MessageView> found;
  for (const RouteBroker& b : BrokersOf(*route)) {
    absl::StatusOr<std::vector<MessageView>> msgs =
        ctx.admin->QueryMessage(b.read_addr, topic, key, kQueryMaxNum, 0, kForever, false);
    if (!msgs.ok()) return Fail(ctx, msgs.status());
    for (MessageView& m : *msgs) {
      if (m.msg.topic != topic || !HasKey(m, key)) continue;  // index hash collisions
      m.broker_name = b.name;
      found.push_back(std::move(m));
    }
  }
  std::sort(found.begin(), found.end(), [](const MessageView& a, const MessageView& b) {
    return a.msg.store_timestamp_ms < b.msg.store_timestamp_ms;
  });
  if (ctx.json) {
    PrintMessages(ctx, found);
    return kExitOk;
  }
  Table table({"Message ID", "Offset Msg ID", "Broker Name", "QID", "Offset", "Store Time"});
  for (const MessageView& m : found) {
    table.AddRow({m.msg_id, m.offset_msg_id, m.broker_name, std::to_string(m.msg.queue_id),
                  std::to_string(m.msg.queue_offset), FormatTimeMs(m.msg.store_timestamp_ms)});
  }
  PrintText(table.ToString());
  return kExitOk;
}

int QueryMsgByOffset(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  const std::string broker = ctx.args.Get("brokerName");
  absl::StatusOr<int64_t> q = ParseInt("-i", ctx.args.Get("queueId"), 0, 65535);
  absl::StatusOr<int64_t> offset = ParseInt("-o", ctx.args.Get("offset"), 0, kForever);
  if (!q.ok()) return UsageError(ctx, std::string(q.status().message()));
  if (!offset.ok()) return UsageError(ctx, std::string(offset.status().message()));
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
  if (!route.ok()) return Fail(ctx, route.status());
  std::optional<std::string> addr = route->AnyAddr(broker);
  if (!addr.has_value()) {
    return Fail(ctx, absl::NotFoundError("broker " + broker + " is not in the route of " + topic));
  }
  absl::StatusOr<PullResult> p =
      ctx.admin->Pull(*addr, kToolsConsumerGroup, topic, static_cast<int32_t>(*q), *offset, 1);
  if (!p.ok()) return Fail(ctx, p.status());
  if (p->code != 0 || p->messages.empty() || p->messages.front().msg.queue_offset != *offset) {
    return Fail(ctx, absl::NotFoundError(absl::StrCat("no message at offset ", *offset, " of ",
                                                      topic, "@", broker, ":", *q, " (", p->status,
                                                      "; the queue holds offsets ", p->min_offset,
                                                      "..", p->max_offset - 1, ")")));
  }
  std::vector<MessageView> msgs = {std::move(p->messages.front())};
  msgs.front().broker_name = broker;
  PrintMessages(ctx, msgs);
  return kExitOk;
}

// ---- consumerProgress ----

struct QueueProgress {
  std::string topic;
  std::string broker_name;
  int32_t queue_id = 0;
  int64_t broker_offset = 0;
  std::optional<int64_t> consumer_offset;
  int64_t last_timestamp = 0;
};

struct GroupProgress {
  std::vector<QueueProgress> queues;
  std::set<std::string> consumers;
  int64_t diff_total = 0;
};

// The progress of `group` on `topic`; with `discover`, an empty result unless the group has
// committed a positive offset on some queue (the broker answers offset 0 for a queue the group
// never committed while the queue still starts at 0, so 0 says nothing).
absl::StatusOr<std::vector<QueueProgress>> TopicProgress(AdminClient& admin,
                                                         const std::string& group,
                                                         const std::string& topic, bool discover,
                                                         bool last_times,
                                                         std::set<std::string>* masters) {
  absl::StatusOr<TopicRoute> route = admin.GetRoute(topic);
  if (discover && absl::IsNotFound(route.status())) return std::vector<QueueProgress>();
  if (!route.ok()) return route.status();
  std::vector<QueueProgress> out;
  bool committed = false;
  for (const RouteBroker& b : BrokersOf(*route)) {
    if ((b.queues.perm & rsclient::kPermRead) == 0) continue;
    const std::string addr = b.master_addr.value_or(b.read_addr);
    masters->insert(addr);
    for (int32_t q = 0; q < b.queues.read_queue_nums; ++q) {
      QueueProgress p{topic, b.name, q};
      absl::StatusOr<std::optional<int64_t>> c = admin.QueryConsumerOffset(addr, group, topic, q);
      if (!c.ok()) return c.status();
      p.consumer_offset = *c;
      if (p.consumer_offset.value_or(0) > 0) committed = true;
      absl::StatusOr<int64_t> max = admin.GetMaxOffset(addr, topic, q);
      if (!max.ok()) return max.status();
      p.broker_offset = *max;
      out.push_back(std::move(p));
    }
  }
  if (discover && !committed) return std::vector<QueueProgress>();
  if (last_times) {
    for (QueueProgress& p : out) {
      if (p.consumer_offset.value_or(0) <= 0) continue;
      std::optional<std::string> addr = route->AnyAddr(p.broker_name);
      if (addr.has_value()) {
        p.last_timestamp = StoreTimeAt(admin, *addr, topic, p.queue_id, *p.consumer_offset - 1);
      }
    }
  }
  return out;
}

absl::StatusOr<GroupProgress> ComputeProgress(AdminClient& admin, const std::string& group,
                                              const std::string& only_topic,
                                              const std::vector<std::string>& all_topics,
                                              bool last_times) {
  GroupProgress out;
  std::set<std::string> masters;
  std::vector<std::string> topics;
  if (!only_topic.empty()) {
    topics.push_back(only_topic);
  } else {
    for (const std::string& t : all_topics) {
      if (IsSystemTopic(t)) continue;
      if (t.rfind("%RETRY%", 0) == 0 && t != "%RETRY%" + group) continue;
      topics.push_back(t);
    }
  }
  for (const std::string& t : topics) {
    absl::StatusOr<std::vector<QueueProgress>> qs =
        TopicProgress(admin, group, t, only_topic.empty(), last_times, &masters);
    if (!qs.ok()) return qs.status();
    for (QueueProgress& q : *qs) out.queues.push_back(std::move(q));
  }
  for (const QueueProgress& q : out.queues) {
    if (q.consumer_offset.has_value()) {
      out.diff_total += std::max<int64_t>(0, q.broker_offset - *q.consumer_offset);
    }
  }
  for (const std::string& addr : masters) {
    absl::StatusOr<std::vector<std::string>> ids = admin.GetConsumerList(addr, group);
    if (!ids.ok()) return ids.status();
    out.consumers.insert(ids->begin(), ids->end());
  }
  return out;
}

int ConsumerProgress(VerbContext& ctx) {
  const std::string group = ctx.args.Get("groupName");
  const std::string topic = ctx.args.Get("topic");
  if (!topic.empty() && group.empty()) return UsageError(ctx, "-t/--topic needs -g/--groupName");
  std::vector<std::string> all_topics;
  if (topic.empty()) {
    absl::StatusOr<std::vector<std::string>> topics = ctx.admin->GetAllTopics();
    if (!topics.ok()) return Fail(ctx, topics.status());
    all_topics = *std::move(topics);
  }
  if (group.empty()) {
    // Every group that has a retry topic, as mqadmin lists them.
    Table table({"Group", "Count", "Diff Total"});
    Json groups = Json::array();
    for (const std::string& t : all_topics) {
      if (t.rfind("%RETRY%", 0) != 0) continue;
      const std::string g = t.substr(7);
      absl::StatusOr<GroupProgress> p = ComputeProgress(*ctx.admin, g, "", all_topics, false);
      if (!p.ok()) return Fail(ctx, p.status());
      table.AddRow({g, std::to_string(p->consumers.size()), std::to_string(p->diff_total)});
      groups.push_back(
          {{"group", g}, {"count", p->consumers.size()}, {"diffTotal", p->diff_total}});
    }
    if (ctx.json) {
      PrintJson({{"groups", std::move(groups)}});
    } else {
      PrintText(table.ToString());
    }
    return kExitOk;
  }
  absl::StatusOr<GroupProgress> p = ComputeProgress(*ctx.admin, group, topic, all_topics, true);
  if (!p.ok()) return Fail(ctx, p.status());
  if (ctx.json) {
    Json queues = Json::array();
    for (const QueueProgress& q : p->queues) {
      queues.push_back(
          {{"topic", q.topic},
           {"brokerName", q.broker_name},
           {"queueId", q.queue_id},
           {"brokerOffset", q.broker_offset},
           {"consumerOffset", OptionalInt(q.consumer_offset)},
           {"diff",
            q.consumer_offset.has_value() ? Json(q.broker_offset - *q.consumer_offset) : Json()},
           {"lastTimestamp", q.last_timestamp}});
    }
    PrintJson({{"group", group},
               {"queues", std::move(queues)},
               {"diffTotal", p->diff_total},
               {"consumers", std::vector<std::string>(p->consumers.begin(), p->consumers.end())}});
    return kExitOk;
  }
  Table table(
      {"Topic", "Broker Name", "QID", "Broker Offset", "Consumer Offset", "Diff", "LastTime"});
  for (const QueueProgress& q : p->queues) {
    table.AddRow(
        {q.topic, q.broker_name, std::to_string(q.queue_id), std::to_string(q.broker_offset),
         OptionalText(q.consumer_offset),
         q.consumer_offset.has_value() ? std::to_string(q.broker_offset - *q.consumer_offset) : "-",
         FormatTimeMs(q.last_timestamp)});
  }
  PrintText(table.ToString());
  PrintText(absl::StrCat("\nConsumers online: ", p->consumers.size(),
                         "\nDiff Total: ", p->diff_total, "\n"));
  return kExitOk;
}

// ---- sendMessage ----

int SendMessage(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  if (!IsValidTopicName(topic)) {
    return UsageError(ctx,
                      "topic name '" + topic + "' must be 1..127 characters of [%|a-zA-Z0-9_-]");
  }
  const std::string broker = ctx.args.Get("broker");
  std::optional<int32_t> qid;
  if (ctx.args.Has("qid")) {
    if (broker.empty()) return UsageError(ctx, "-i/--qid needs -b/--broker (the broker name)");
    absl::StatusOr<int64_t> q = ParseInt("-i", ctx.args.Get("qid"), 0, 65535);
    if (!q.ok()) return UsageError(ctx, std::string(q.status().message()));
    qid = static_cast<int32_t>(*q);
  }
  // A topic without a route is created by the broker from TBW102 on the first send (when the
  // broker allows auto-creation), with 4 queues as the Java producer asks.
  constexpr int32_t kDefaultTopicQueues = 4;
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
  std::vector<rsclient::MessageQueue> queues;
  if (absl::IsNotFound(route.status())) {
    route = ctx.admin->GetRoute("TBW102");
    if (absl::IsNotFound(route.status())) {
      return Fail(ctx, absl::NotFoundError("topic " + topic +
                                           " does not exist and no broker creates topics "
                                           "automatically (no route for TBW102)"));
    }
    if (!route.ok()) return Fail(ctx, route.status());
    for (const rsclient::QueueData& q : route->queue_datas) {
      if ((q.perm & rsclient::kPermWrite) == 0 || !route->MasterAddr(q.broker_name)) continue;
      for (int32_t i = 0; i < std::min(kDefaultTopicQueues, q.write_queue_nums); ++i) {
        queues.push_back({topic, q.broker_name, i});
      }
    }
  } else if (!route.ok()) {
    return Fail(ctx, route.status());
  } else {
    queues = route->WritableQueues(topic);
  }
  if (!broker.empty()) {
    std::erase_if(queues, [&](const rsclient::MessageQueue& q) {
      return q.broker_name != broker || (qid.has_value() && q.queue_id != *qid);
    });
  }
  if (queues.empty()) {
    return Fail(ctx,
                absl::NotFoundError(absl::StrCat(
                    "no writable queue of ", topic, broker.empty() ? "" : " on broker " + broker,
                    qid.has_value() ? absl::StrCat(" with id ", *qid) : "")));
  }
  std::mt19937 rng(std::random_device{}());
  size_t start = std::uniform_int_distribution<size_t>(0, queues.size() - 1)(rng);
  absl::Status last;
  std::optional<SendResult> sent;
  std::string failed_broker;
  for (int attempt = 0; attempt < kSendAttempts && !sent.has_value(); ++attempt) {
    // Next queue, preferring another broker than the one that just failed.
    size_t pick = start;
    for (size_t k = 0; k < queues.size(); ++k) {
      pick = (start + k) % queues.size();
      if (queues[pick].broker_name != failed_broker) break;
    }
    start = pick + 1;
    const rsclient::MessageQueue& mq = queues[pick];
    std::optional<std::string> addr = route->MasterAddr(mq.broker_name);
    absl::StatusOr<SendResult> r =
        ctx.admin->Send(*addr, mq.broker_name, topic, mq.queue_id, ctx.args.Get("body"),
                        ctx.args.Get("tags"), ctx.args.Get("key"), kDefaultTopicQueues);
    if (r.ok()) {
      sent = *std::move(r);
      break;
    }
    last = r.status();
    failed_broker = mq.broker_name;
    Warn(ctx, std::string(last.message()));
    if (!broker.empty()) break;  // the user chose the broker
  }
  if (!sent.has_value()) return Fail(ctx, last);
  if (ctx.json) {
    PrintJson({{"topic", topic},
               {"brokerName", sent->broker_name},
               {"brokerAddr", sent->broker_addr},
               {"queueId", sent->queue_id},
               {"sendStatus", sent->send_status},
               {"msgId", sent->msg_id},
               {"offsetMsgId", sent->offset_msg_id},
               {"queueOffset", sent->queue_offset}});
  } else {
    Table table({"Broker Name", "QID", "Send Result", "MsgId", "Offset Msg ID", "Queue Offset"});
    table.AddRow({sent->broker_name, std::to_string(sent->queue_id), sent->send_status,
                  sent->msg_id, sent->offset_msg_id, std::to_string(sent->queue_offset)});
    PrintText(table.ToString());
  }
  return kExitOk;
}

// ---- consumeMessage ----

int ConsumeMessage(VerbContext& ctx) {
  const std::string topic = ctx.args.Get("topic");
  const std::string broker = ctx.args.Get("brokerName");
  const std::string group = ctx.args.Get("consumerGroup", kToolsConsumerGroup);
  absl::StatusOr<int64_t> count = ParseInt("-c", ctx.args.Get("MessageNumber", "128"), 1, 1 << 30);
  if (!count.ok()) return UsageError(ctx, std::string(count.status().message()));
  std::optional<int32_t> qid;
  std::optional<int64_t> from_offset, begin, end;
  if (ctx.args.Has("queueId")) {
    if (broker.empty()) return UsageError(ctx, "-i/--queueId needs -b/--brokerName");
    absl::StatusOr<int64_t> q = ParseInt("-i", ctx.args.Get("queueId"), 0, 65535);
    if (!q.ok()) return UsageError(ctx, std::string(q.status().message()));
    qid = static_cast<int32_t>(*q);
  }
  if (ctx.args.Has("offset")) {
    if (!qid.has_value()) return UsageError(ctx, "-o/--offset needs -b and -i (one queue)");
    absl::StatusOr<int64_t> o = ParseInt("-o", ctx.args.Get("offset"), 0, kForever);
    if (!o.ok()) return UsageError(ctx, std::string(o.status().message()));
    from_offset = *o;
  }
  for (auto [name, letter, out] :
       {std::tuple{"beginTimestamp", "-s", &begin}, std::tuple{"endTimestamp", "-e", &end}}) {
    if (!ctx.args.Has(name)) continue;
    absl::StatusOr<std::optional<int64_t>> t = ParseTimestamp(letter, ctx.args.Get(name));
    if (!t.ok()) return UsageError(ctx, std::string(t.status().message()));
    *out = t->has_value() ? **t : NowMs();
  }
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
  if (!route.ok()) return Fail(ctx, route.status());
  std::vector<rsclient::MessageQueue> queues = route->ReadableQueues(topic);
  if (!broker.empty()) {
    std::erase_if(queues, [&](const rsclient::MessageQueue& q) {
      return q.broker_name != broker || (qid.has_value() && q.queue_id != *qid);
    });
    if (queues.empty()) {
      return Fail(ctx, absl::NotFoundError(
                           absl::StrCat("no readable queue of ", topic, " on broker ", broker,
                                        qid.has_value() ? absl::StrCat(" with id ", *qid) : "")));
    }
  }
  int64_t left = *count;
  std::vector<MessageView> got;
  for (const rsclient::MessageQueue& mq : queues) {
    if (left <= 0) break;
    const std::optional<std::string> any = route->AnyAddr(mq.broker_name);
    if (!any.has_value()) continue;  // a queue data without broker data
    const std::string& addr = *any;
    absl::StatusOr<int64_t> min = ctx.admin->GetMinOffset(addr, topic, mq.queue_id);
    if (!min.ok()) return Fail(ctx, min.status());
    absl::StatusOr<int64_t> max = ctx.admin->GetMaxOffset(addr, topic, mq.queue_id);
    if (!max.ok()) return Fail(ctx, max.status());
    int64_t from = *min, to = *max;  // [from, to)
    if (begin.has_value()) {
      absl::StatusOr<int64_t> o = ctx.admin->SearchOffset(addr, topic, mq.queue_id, *begin);
      if (!o.ok()) return Fail(ctx, o.status());
      from = std::max(from, *o);
    }
    if (end.has_value()) {
      absl::StatusOr<int64_t> o = ctx.admin->SearchOffset(addr, topic, mq.queue_id, *end);
      if (!o.ok()) return Fail(ctx, o.status());
      to = std::min(to, *o);
    }
    if (from_offset.has_value()) from = std::max(from, *from_offset);
    int64_t at = from;
    while (at < to && left > 0) {
      const auto batch = static_cast<int32_t>(std::min<int64_t>({kMaxPullBatch, left, to - at}));
      absl::StatusOr<PullResult> p = ctx.admin->Pull(addr, group, topic, mq.queue_id, at, batch);
      if (!p.ok()) return Fail(ctx, p.status());
      if (p->code != 0 && p->code != 21 && p->code != 20) break;
      for (MessageView& m : p->messages) {
        if (m.msg.queue_offset >= to || left <= 0) break;
        m.broker_name = mq.broker_name;
        got.push_back(std::move(m));
        --left;
      }
      if (p->next_begin_offset <= at) break;
      at = p->next_begin_offset;
    }
  }
  if (ctx.json) {
    PrintMessages(ctx, got);
    return kExitOk;
  }
  Table table({"Broker Name", "QID", "Offset", "Store Time", "MsgId", "Tags", "Keys", "Body"});
  for (const MessageView& m : got) {
    table.AddRow({m.broker_name, std::to_string(m.msg.queue_id), std::to_string(m.msg.queue_offset),
                  FormatTimeMs(m.msg.store_timestamp_ms), m.msg_id,
                  Printable(rsclient::GetProperty(m.msg.properties, "TAGS")),
                  Printable(rsclient::GetProperty(m.msg.properties, "KEYS")), Printable(m.body)});
  }
  PrintText(table.ToString());
  PrintText(absl::StrCat("\n", got.size(), " message(s)\n"));
  return kExitOk;
}

// ---- resetOffsetByTime ----

int ResetOffsetByTime(VerbContext& ctx) {
  const std::string group = ctx.args.Get("group");
  const std::string topic = ctx.args.Get("topic");
  absl::StatusOr<std::optional<int64_t>> ts = ParseTimestamp("-s", ctx.args.Get("timestamp"));
  if (!ts.ok()) return UsageError(ctx, std::string(ts.status().message()));
  absl::StatusOr<bool> force = ParseBool("-f", ctx.args.Get("force", "true"));
  if (!force.ok()) return UsageError(ctx, std::string(force.status().message()));
  absl::StatusOr<TopicRoute> route = ctx.admin->GetRoute(topic);
  if (!route.ok()) return Fail(ctx, route.status());
  Table table({"Broker Name", "QID", "Old Offset", "New Offset"});
  Json queues = Json::array();
  std::set<std::string> consumers;
  for (const RouteBroker& b : BrokersOf(*route)) {
    if (!b.master_addr.has_value()) {
      return Fail(ctx, absl::UnavailableError("broker " + b.name + " has no master online"));
    }
    const std::string& addr = *b.master_addr;
    for (int32_t q = 0; q < b.queues.read_queue_nums; ++q) {
      absl::StatusOr<std::optional<int64_t>> old =
          ctx.admin->QueryConsumerOffset(addr, group, topic, q);
      if (!old.ok()) return Fail(ctx, old.status());
      absl::StatusOr<int64_t> target = ts->has_value()
                                           ? ctx.admin->SearchOffset(addr, topic, q, **ts)
                                           : ctx.admin->GetMaxOffset(addr, topic, q);
      if (!target.ok()) return Fail(ctx, target.status());
      // Without force, an offset only moves back (mqadmin's -f false).
      int64_t next = *target;
      if (!*force && old->has_value() && **old < *target) next = **old;
      if (!old->has_value() || **old != next) {
        absl::Status s = ctx.admin->UpdateConsumerOffset(addr, group, topic, q, next);
        if (!s.ok()) return Fail(ctx, s);
      }
      table.AddRow({b.name, std::to_string(q), OptionalText(*old), std::to_string(next)});
      queues.push_back({{"brokerName", b.name},
                        {"queueId", q},
                        {"oldOffset", OptionalInt(*old)},
                        {"newOffset", next}});
    }
    absl::StatusOr<std::vector<std::string>> ids = ctx.admin->GetConsumerList(addr, group);
    if (ids.ok()) consumers.insert(ids->begin(), ids->end());
  }
  std::string warning;
  if (!consumers.empty()) {
    warning = absl::StrCat(consumers.size(), " consumer(s) of group ", group,
                           " are online: a running consumer keeps its offsets in memory and "
                           "commits them every few seconds, which overwrites this reset; stop "
                           "the group's consumers, reset, then start them");
    Warn(ctx, "warning: " + warning);
  }
  if (ctx.json) {
    Json out = {{"group", group},
                {"topic", topic},
                {"timestamp", OptionalInt(*ts)},
                {"force", *force},
                {"queues", std::move(queues)},
                {"onlineConsumers", std::vector<std::string>(consumers.begin(), consumers.end())}};
    if (!warning.empty()) out["warning"] = warning;
    PrintJson(out);
  } else {
    PrintText(absl::StrCat("reset offsets of group ", group, " on topic ", topic, " to ",
                           ts->has_value() ? absl::StrCat(**ts, " (", FormatTimeMs(**ts), ")")
                                           : "now (the max offsets)",
                           "\n"));
    PrintText(table.ToString());
  }
  return kExitOk;
}

}  // namespace

const std::vector<Verb>& Verbs() {
  static const std::vector<Verb> kVerbs = {
      {{"updateTopic",
        "Create or update a topic on a broker or on every master of a cluster",
        {{'t', "topic", true, true, "topic name"},
         {'b', "brokerAddr", true, false, "create the topic on this broker (ip:port)"},
         {'c', "clusterName", true, false, "create the topic on every master of this cluster"},
         {'r', "readQueueNums", true, false, "read queues (default 8)"},
         {'w', "writeQueueNums", true, false, "write queues (default 8)"},
         {'p', "perm", true, false, "permission: 2 write, 4 read, 6 read+write (default 6)"},
         {'o', "order", true, false, "ordered topic, true|false (default false)"}},
        "rs_admin updateTopic -n 127.0.0.1:9876 -c DefaultCluster -t Orders -r 8 -w 8",
        "  One of -b or -c is required. With -o true the name servers also get the topic's\n"
        "  ORDER_TOPIC_CONFIG entry (\"brokerName:writeQueues;...\"), as mqadmin does.\n"},
       UpdateTopic},
      {{"deleteTopic",
        "Delete a topic from the brokers and the name servers",
        {{'t', "topic", true, true, "topic name"},
         {'c', "clusterName", true, false,
          "delete it from every master of this cluster (default: the brokers of its route)"}},
        "rs_admin deleteTopic -n 127.0.0.1:9876 -c DefaultCluster -t Orders",
        "  Sends DELETE_TOPIC_IN_BROKER (215) to each broker, then DELETE_TOPIC_IN_NAMESRV (216) "
        "to\n"
        "  every name server. The broker drops the topic's configuration; its stored messages "
        "stay\n"
        "  in the CommitLog until retention removes the files. A broker that does not serve 215\n"
        "  keeps the topic and registers it again: the verb then says so and exits 1.\n"},
       DeleteTopic},
      {{"topicList",
        "List the topics the name servers know",
        {{'c', "clusterModel", false, false, "show the cluster of each topic"}},
        "rs_admin topicList -n 127.0.0.1:9876"},
       TopicList},
      {{"topicRoute",
        "Show a topic's route: brokers and queue counts",
        {{'t', "topic", true, true, "topic name"}},
        "rs_admin topicRoute -n 127.0.0.1:9876 -t Orders",
        "  --json prints the name server's TopicRouteData as it is.\n"},
       TopicRouteVerb},
      {{"topicStatus",
        "Show each queue's min/max offset and last update time",
        {{'t', "topic", true, true, "topic name"}},
        "rs_admin topicStatus -n 127.0.0.1:9876 -t Orders",
        "  Min and max offsets come from GET_MIN/MAX_OFFSET (31/30), the first store time from\n"
        "  GET_EARLIEST_MSG_STORETIME (32), the last update time is the store time of the last\n"
        "  message (a one-message pull at max - 1).\n"},
       TopicStatus},
      {{"clusterList",
        "List clusters and brokers with their runtime figures",
        {{'c', "clusterName", true, false, "only this cluster"}},
        "rs_admin clusterList -n 127.0.0.1:9876"},
       ClusterList},
      {{"brokerStatus",
        "Show a broker's runtime info",
        {{'b', "brokerAddr", true, false, "broker address (ip:port)"},
         {'c', "clusterName", true, false, "every broker of this cluster"}},
        "rs_admin brokerStatus -n 127.0.0.1:9876 -b 127.0.0.1:10911",
        "  One of -b or -c is required. The table is GET_BROKER_RUNTIME_INFO (28), keys sorted.\n"},
       BrokerStatus},
      {{"queryMsgById",
        "Show messages by offsetMsgId (or client message id with -t)",
        {{'i', "msgId", true, true, "offsetMsgId(s), comma-separated"},
         {'t', "topic", true, false,
          "topic to search when an id is a client message id (UNIQ_KEY)"}},
        "rs_admin queryMsgById -n 127.0.0.1:9876 -i 7F00000100002A9F0000000000000000",
        "  An offsetMsgId holds the store host and the CommitLog offset: the message is read from\n"
        "  that broker with VIEW_MESSAGE_BY_ID (33). Any other id is looked up as a UNIQ_KEY in "
        "the\n"
        "  index of every broker of the topic given with -t (QUERY_MESSAGE, 12).\n"},
       QueryMsgById},
      {{"queryMsgByKey",
        "Find messages by key on every broker of a topic",
        {{'t', "topic", true, true, "topic name"}, {'k', "msgKey", true, true, "message key"}},
        "rs_admin queryMsgByKey -n 127.0.0.1:9876 -t Orders -k order-42",
        "  Asks each broker of the topic's route for up to 64 messages (QUERY_MESSAGE, 12).\n"},
       QueryMsgByKey},
      {{"queryMsgByOffset",
        "Show the message at a queue offset",
        {{'t', "topic", true, true, "topic name"},
         {'b', "brokerName", true, true, "broker name"},
         {'i', "queueId", true, true, "queue id"},
         {'o', "offset", true, true, "queue offset"}},
        "rs_admin queryMsgByOffset -n 127.0.0.1:9876 -t Orders -b broker-a -i 0 -o 5"},
       QueryMsgByOffset},
      {{"consumerProgress",
        "Show a consumer group's offsets and lag per queue",
        {{'g', "groupName", true, false, "consumer group (default: list every group)"},
         {'t', "topic", true, false, "only this topic"}},
        "rs_admin consumerProgress -n 127.0.0.1:9876 -g OrderConsumers",
        "  Broker offset = GET_MAX_OFFSET, consumer offset = QUERY_CONSUMER_OFFSET, diff = their\n"
        "  difference; LastTime is the store time of the last consumed message. The broker does "
        "not\n"
        "  serve GET_CONSUME_STATS (208), so without -t the topics shown are those where the "
        "group\n"
        "  committed an offset above 0 (plus its %RETRY% topic); pass -t to see a topic the group\n"
        "  has not consumed yet. Without -g: every group that has a %RETRY% topic.\n"},
       ConsumerProgress},
      {{"sendMessage",
        "Send one message and print the send result",
        {{'t', "topic", true, true, "topic name"},
         {'p', "body", true, true, "message body (UTF-8 text)"},
         {'k', "key", true, false, "message keys (space-separated)"},
         {'c', "tags", true, false, "message tag"},
         {'b', "broker", true, false, "send to this broker (name)"},
         {'i', "qid", true, false, "send to this queue (needs -b)"}},
        "rs_admin sendMessage -n 127.0.0.1:9876 -t Orders -p 'hello' -k order-42 -c TagA",
        "  A topic without a route is created by the broker on the first send (TBW102, 4 queues)\n"
        "  when auto-creation is on. A failed send is tried again on another queue (3 tries).\n"},
       SendMessage},
      {{"consumeMessage",
        "Read messages from a topic's queues (commits nothing)",
        {{'t', "topic", true, true, "topic name"},
         {'b', "brokerName", true, false, "only this broker"},
         {'i', "queueId", true, false, "only this queue (needs -b)"},
         {'o', "offset", true, false, "start at this queue offset (needs -b and -i)"},
         {'g', "consumerGroup", true, false, "group named in the pulls (default TOOLS_CONSUMER)"},
         {'s', "beginTimestamp", true, false,
          "start at this time (ms, now, or yyyy-MM-dd#HH:mm:ss:SSS)"},
         {'e', "endTimestamp", true, false, "stop at this time"},
         {'c', "MessageNumber", true, false, "messages to read at most (default 128)"}},
        "rs_admin consumeMessage -n 127.0.0.1:9876 -t Orders -c 10",
        "  Reads each queue from its min offset (or -o, or the offset of -s) up to its max offset\n"
        "  (or the offset of -e) with pulls that do not commit an offset.\n"},
       ConsumeMessage},
      {{"resetOffsetByTime",
        "Set a group's committed offsets on a topic by time",
        {{'g', "group", true, true, "consumer group"},
         {'t', "topic", true, true, "topic name"},
         {'s', "timestamp", true, true, "ms, now, or yyyy-MM-dd#HH:mm:ss:SSS"},
         {'f', "force", true, false,
          "true: set every offset; false: only move offsets back (default true)"}},
        "rs_admin resetOffsetByTime -n 127.0.0.1:9876 -g OrderConsumers -t Orders -s "
        "2024-05-01#12:00:00:000",
        "  For each queue: SEARCH_OFFSET_BY_TIMESTAMP (29; \"now\": GET_MAX_OFFSET), then\n"
        "  UPDATE_CONSUMER_OFFSET (15). Stop the group's consumers first: a running consumer "
        "keeps\n"
        "  its offsets in memory and its next commit overwrites the reset (the broker cannot tell\n"
        "  clients to reset: INVOKE_BROKER_TO_RESET_OFFSET, 222, is not served). The verb warns\n"
        "  when consumers of the group are connected.\n"},
       ResetOffsetByTime},
  };
  return kVerbs;
}

}  // namespace rsadmin
