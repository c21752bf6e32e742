// NamesrvProcessor implementation and the REGISTER_BROKER body parsers.
// Thread-safety: see processor.h.
#include "namesrv/processor.h"

#include <zlib.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "remoting/zlib_body.h"

namespace brokerd::namesrv {
namespace {

using Json = nlohmann::json;
using remoting::MakeResponse;
using remoting::RemotingCommand;

int64_t IntOr(const Json& j, const char* key, int64_t fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return fallback;
  return it->get<int64_t>();
}

DataVersion ParseDataVersion(const Json& j) {
  DataVersion v;
  v.timestamp = IntOr(j, "timestamp", 0);
  v.counter = IntOr(j, "counter", 0);
  return v;
}

absl::StatusOr<std::string> Inflate(std::string_view in, size_t max_bytes) {
  absl::StatusOr<std::string> out = remoting::InflateZlib(in, max_bytes);
  if (!out.ok()) {
    return absl::InvalidArgumentError("register body: " + std::string(out.status().message()));
  }
  return out;
}

// Big-endian length-prefixed reads over the inflated compressed body.
struct Reader {
  std::string_view s;
  bool Int(int32_t* v) {
    if (s.size() < 4) return false;
    uint32_t u = 0;
    for (int i = 0; i < 4; ++i) u = (u << 8) | static_cast<uint8_t>(s[i]);
    *v = static_cast<int32_t>(u);
    s.remove_prefix(4);
    return true;
  }
  bool Bytes(std::string_view* out) {
    int32_t n;
    if (!Int(&n) || n < 0 || static_cast<size_t>(n) > s.size()) return false;
    *out = s.substr(0, static_cast<size_t>(n));
    s.remove_prefix(static_cast<size_t>(n));
    return true;
  }
};

bool ParseInt32(std::string_view s, int32_t* out) {
  Json j = Json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_number_integer()) return false;
  *out = j.get<int32_t>();
  return true;
}

RemotingCommand FieldError(const RemotingCommand& request, const absl::Status& s) {
  return MakeResponse(request, remoting::response_code::kSystemError, std::string(s.message()));
}

}  // namespace

std::string TopicNotExistRemark(std::string_view topic) {
  return absl::StrCat("No topic route info in name server for the topic: ", std::string(topic),
                      "\nSee http://rocketmq.apache.org/docs/faq/ for further details.");
}

absl::StatusOr<RegisterBrokerBody> ParseRegisterBrokerBody(std::string_view body, bool compressed,
                                                           size_t max_inflated_bytes) {
  RegisterBrokerBody out;
  if (compressed) {
    absl::StatusOr<std::string> raw = Inflate(body, max_inflated_bytes);
    if (!raw.ok()) return raw.status();
    Reader r{*raw};
    std::string_view dv;
    int32_t count;
    if (!r.Bytes(&dv) || !r.Int(&count) || count < 0) {
      return absl::InvalidArgumentError("register body: truncated compressed body");
    }
    Json dvj = Json::parse(dv, nullptr, false);
    if (dvj.is_discarded()) return absl::InvalidArgumentError("register body: bad dataVersion");
    out.data_version = ParseDataVersion(dvj);
    for (int32_t i = 0; i < count; ++i) {
      std::string_view text;
      if (!r.Bytes(&text)) return absl::InvalidArgumentError("register body: truncated topic");
      std::vector<std::string> parts = absl::StrSplit(std::string(text), ' ');
      TopicConfig t;
      if (parts.size() != 5 || !ParseInt32(parts[1], &t.read_queue_nums) ||
          !ParseInt32(parts[2], &t.write_queue_nums) || !ParseInt32(parts[3], &t.perm)) {
        return absl::InvalidArgumentError("register body: bad topic config text");
      }
      t.topic_name = parts[0];
      out.topics.push_back(std::move(t));
    }
    std::string_view filters;
    if (r.Bytes(&filters)) {
      Json f = Json::parse(filters, nullptr, false);
      if (f.is_array()) {
        for (const Json& e : f) {
          if (e.is_string()) out.filter_server_list.push_back(e.get<std::string>());
        }
      }
    }
    return out;
  }
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("register body: not a JSON object");
  }
  auto wit = j.find("topicConfigSerializeWrapper");
  if (wit != j.end() && wit->is_object()) {
    auto dit = wit->find("dataVersion");
    if (dit != wit->end()) out.data_version = ParseDataVersion(*dit);
    auto tit = wit->find("topicConfigTable");
    if (tit != wit->end() && tit->is_object()) {
      for (auto it = tit->begin(); it != tit->end(); ++it) {
        const Json& tc = it.value();
        TopicConfig t;
        t.topic_name = it.key();
        if (tc.is_object()) {
          auto nit = tc.find("topicName");
          if (nit != tc.end() && nit->is_string()) t.topic_name = nit->get<std::string>();
        }
        t.read_queue_nums = static_cast<int32_t>(IntOr(tc, "readQueueNums", 0));
        t.write_queue_nums = static_cast<int32_t>(IntOr(tc, "writeQueueNums", 0));
        t.perm = static_cast<int32_t>(IntOr(tc, "perm", 6));
        t.topic_sys_flag = static_cast<int32_t>(IntOr(tc, "topicSysFlag", 0));
        out.topics.push_back(std::move(t));
      }
    }
  }
  auto fit = j.find("filterServerList");
  if (fit != j.end() && fit->is_array()) {
    for (const Json& e : *fit) {
      if (e.is_string()) out.filter_server_list.push_back(e.get<std::string>());
    }
  }
  return out;
}

RemotingCommand NamesrvProcessor::Process(const RemotingCommand& request, uint64_t connection_id) {
  switch (request.code) {
    case remoting::request_code::kRegisterBroker:
      return RegisterBroker(request, connection_id);
    case remoting::request_code::kUnregisterBroker:
      return UnregisterBroker(request);
    case remoting::request_code::kGetRouteinfoByTopic:
      return GetRouteInfo(request);
    case remoting::request_code::kGetBrokerClusterInfo: {
      RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
      r.body = routes_->ClusterInfoJson();
      return r;
    }
    case remoting::request_code::kGetAllTopicListFromNameserver: {
      RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
      r.body = routes_->AllTopicListJson();
      return r;
    }
    case remoting::request_code::kPutKvConfig:
      return PutKvConfig(request);
    case remoting::request_code::kGetKvConfig:
      return GetKvConfig(request);
    case remoting::request_code::kDeleteKvConfig:
      return DeleteKvConfig(request);
    case remoting::request_code::kGetKvlistByNamespace:
      return GetKvListByNamespace(request);
    case remoting::request_code::kGetTopicsByCluster:
      return GetTopicsByCluster(request);
    case remoting::request_code::kDeleteTopicInNamesrv:
      return DeleteTopicInNamesrv(request);
    case remoting::request_code::kWipeWritePermOfBroker:
      return WipeWritePermOfBroker(request);
    case remoting::request_code::kGetSystemTopicListFromNs: {
      RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
      r.body = routes_->SystemTopicListJson();
      return r;
    }
    default:
      return MakeResponse(request, remoting::response_code::kRequestCodeNotSupported,
                          absl::StrCat(" request type ", request.code, " not supported"));
  }
}

RemotingCommand NamesrvProcessor::RegisterBroker(const RemotingCommand& request,
                                                 uint64_t connection_id) {
  auto cluster = request.GetString("clusterName");
  auto addr = request.GetString("brokerAddr");
  auto name = request.GetString("brokerName");
  auto id = request.GetInt64("brokerId");
  auto compressed = request.GetBoolOr("compressed", false);
  auto crc = request.GetInt64Or("bodyCrc32", 0);
  for (const absl::Status& s : {cluster.status(), addr.status(), name.status(), id.status(),
                                compressed.status(), crc.status()}) {
    if (!s.ok()) {
      return MakeResponse(request, remoting::response_code::kSystemError, std::string(s.message()));
    }
  }
  std::string ha = "";
  if (const std::string* h = request.FindExtField("haServerAddr")) ha = *h;
  if (*crc != 0) {
    uint32_t actual =
        static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(request.body.data()),
                                    static_cast<uInt>(request.body.size()))) &
        0x7FFFFFFFu;
    if (static_cast<int64_t>(actual) != *crc) {
      return MakeResponse(request, remoting::response_code::kSystemError, "crc32 not match");
    }
  }
  RegisterBrokerBody body;
  if (!request.body.empty()) {
    absl::StatusOr<RegisterBrokerBody> parsed = ParseRegisterBrokerBody(request.body, *compressed);
    if (!parsed.ok()) {
      return MakeResponse(request, remoting::response_code::kSystemError,
                          std::string(parsed.status().message()));
    }
    body = *std::move(parsed);
  }
  RegisterBrokerResult result =
      routes_->RegisterBroker(*cluster, *addr, *name, *id, ha, body, connection_id);
  RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
  r.emit_empty_ext_fields = true;  // RegisterBrokerResponseHeader with null fields -> {}
  if (!result.ha_server_addr.empty()) r.SetExtField("haServerAddr", result.ha_server_addr);
  if (!result.master_addr.empty()) r.SetExtField("masterAddr", result.master_addr);
  // The broker marks these topics ordered (BrokerController: updateOrderTopicConfig).
  if (std::optional<std::string> order = kv_->ListJson(kNamespaceOrderTopicConfig)) {
    r.body = *std::move(order);
  }
  return r;
}

RemotingCommand NamesrvProcessor::UnregisterBroker(const RemotingCommand& request) {
  auto cluster = request.GetString("clusterName");
  auto addr = request.GetString("brokerAddr");
  auto name = request.GetString("brokerName");
  auto id = request.GetInt64("brokerId");
  for (const absl::Status& s : {cluster.status(), addr.status(), name.status(), id.status()}) {
    if (!s.ok()) {
      return MakeResponse(request, remoting::response_code::kSystemError, std::string(s.message()));
    }
  }
  routes_->UnregisterBroker(*cluster, *addr, *name, *id);
  return MakeResponse(request, remoting::response_code::kSuccess);
}

RemotingCommand NamesrvProcessor::GetRouteInfo(const RemotingCommand& request) {
  auto topic = request.GetString("topic");
  if (!topic.ok()) {
    return MakeResponse(request, remoting::response_code::kSystemError,
                        std::string(topic.status().message()));
  }
  std::optional<std::string> order_topic_conf;
  if (options_.order_message_enable) {
    order_topic_conf = kv_->Get(kNamespaceOrderTopicConfig, *topic);
  }
  std::optional<std::string> route = routes_->TopicRouteJson(*topic, order_topic_conf);
  if (!route.has_value()) {
    return MakeResponse(request, remoting::response_code::kTopicNotExist,
                        TopicNotExistRemark(*topic));
  }
  RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
  r.body = *std::move(route);
  return r;
}

RemotingCommand NamesrvProcessor::PutKvConfig(const RemotingCommand& request) {
  auto ns = request.GetString("namespace");
  auto key = request.GetString("key");
  auto value = request.GetString("value");
  for (const absl::Status& s : {ns.status(), key.status(), value.status()}) {
    if (!s.ok()) return FieldError(request, s);
  }
  if (absl::Status s = kv_->Put(*ns, *key, *value); !s.ok()) {
    std::fprintf(stderr, "namesrvd: PUT_KV_CONFIG %s/%s: %s\n", ns->c_str(), key->c_str(),
                 s.ToString().c_str());
    return MakeResponse(request, remoting::response_code::kSystemError, std::string(s.message()));
  }
  return MakeResponse(request, remoting::response_code::kSuccess);
}

RemotingCommand NamesrvProcessor::GetKvConfig(const RemotingCommand& request) {
  auto ns = request.GetString("namespace");
  auto key = request.GetString("key");
  for (const absl::Status& s : {ns.status(), key.status()}) {
    if (!s.ok()) return FieldError(request, s);
  }
  std::optional<std::string> value = kv_->Get(*ns, *key);
  if (!value.has_value()) {
    RemotingCommand r =
        MakeResponse(request, remoting::response_code::kQueryNotFound,
                     absl::StrCat("No config item, Namespace: ", *ns, " Key: ", *key));
    r.emit_empty_ext_fields = true;  // GetKVConfigResponseHeader with a null value -> {}
    return r;
  }
  RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
  r.SetExtField("value", *std::move(value));
  return r;
}

RemotingCommand NamesrvProcessor::DeleteKvConfig(const RemotingCommand& request) {
  auto ns = request.GetString("namespace");
  auto key = request.GetString("key");
  for (const absl::Status& s : {ns.status(), key.status()}) {
    if (!s.ok()) return FieldError(request, s);
  }
  if (absl::Status s = kv_->Delete(*ns, *key); !s.ok()) {
    std::fprintf(stderr, "namesrvd: DELETE_KV_CONFIG %s/%s: %s\n", ns->c_str(), key->c_str(),
                 s.ToString().c_str());
    return MakeResponse(request, remoting::response_code::kSystemError, std::string(s.message()));
  }
  return MakeResponse(request, remoting::response_code::kSuccess);
}

RemotingCommand NamesrvProcessor::GetKvListByNamespace(const RemotingCommand& request) {
  auto ns = request.GetString("namespace");
  if (!ns.ok()) return FieldError(request, ns.status());
  std::optional<std::string> table = kv_->ListJson(*ns);
  if (!table.has_value()) {
    return MakeResponse(request, remoting::response_code::kQueryNotFound,
                        absl::StrCat("No config item, Namespace: ", *ns));
  }
  RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
  r.body = *std::move(table);
  return r;
}

RemotingCommand NamesrvProcessor::GetTopicsByCluster(const RemotingCommand& request) {
  auto cluster = request.GetString("cluster");
  if (!cluster.ok()) return FieldError(request, cluster.status());
  RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
  r.body = routes_->TopicsByClusterJson(*cluster);
  return r;
}

RemotingCommand NamesrvProcessor::DeleteTopicInNamesrv(const RemotingCommand& request) {
  auto topic = request.GetString("topic");
  if (!topic.ok()) return FieldError(request, topic.status());
  routes_->DeleteTopic(*topic);
  return MakeResponse(request, remoting::response_code::kSuccess);
}

RemotingCommand NamesrvProcessor::WipeWritePermOfBroker(const RemotingCommand& request) {
  auto name = request.GetString("brokerName");
  if (!name.ok()) return FieldError(request, name.status());
  const int32_t count = routes_->WipeWritePermOfBroker(*name);
  std::fprintf(stderr, "namesrvd: wiped the write permission of broker %s on %d topic(s)\n",
               name->c_str(), count);
  RemotingCommand r = MakeResponse(request, remoting::response_code::kSuccess);
  r.SetExtField("wipeTopicCount", std::to_string(count));
  return r;
}

}  // namespace brokerd::namesrv
