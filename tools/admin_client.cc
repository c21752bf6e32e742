// rs_admin's requests to name servers and brokers (see admin_client.h).
// Thread-safety: single-threaded use; the RemotingClient's I/O thread only completes calls.
#include "tools/admin_client.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <limits>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/message.h"
#include "nlohmann/json.hpp"
#include "remoting/codes.h"
#include "remoting/fastjson.h"
#include "tools/admin_cli.h"

namespace rsadmin {

namespace req = brokerd::remoting::request_code;
namespace rc = brokerd::remoting::response_code;
using brokerd::remoting::MakeRequest;

namespace {

// Largest inflated body accepted from a compressed record.
constexpr size_t kMaxInflatedBytes = 64u << 20;
// Record header bytes up to the born host (size, magic, CRC, queue id, flag, queue offset,
// physical offset, sysFlag, born timestamp).
constexpr size_t kBornHostAt = 48;

RemotingCommand NewRequest(int32_t code) {
  RemotingCommand r = MakeRequest(code, 0);
  r.language = "CPP";
  return r;
}

absl::Status BadAnswer(const std::string& who, const RemotingCommand& response) {
  const std::string text = absl::StrCat(who, " answered ", DescribeAnswer(response));
  if (response.code == rc::kRequestCodeNotSupported) return absl::UnimplementedError(text);
  return absl::InternalError(text);
}

uint64_t Be(std::string_view b, size_t at, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

absl::StatusOr<std::string> Inflate(std::string_view in) {
  return rsclient::UncompressBody(in, kMaxInflatedBytes);
}

std::map<std::string, std::string> SplitProperties(std::string_view p) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('\x02', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view seg = p.substr(start, end - start);
    if (size_t sep = seg.find('\x01'); sep != std::string_view::npos) {
      out[std::string(seg.substr(0, sep))] = std::string(seg.substr(sep + 1));
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string DescribeAnswer(const RemotingCommand& response) {
  return absl::StrCat(brokerd::remoting::DescribeCode(response.code, /*is_response=*/true),
                      response.remark.has_value() ? ": " + *response.remark : "");
}

absl::StatusOr<std::vector<MessageView>> DecodeRecords(std::string_view bytes) {
  std::vector<MessageView> out;
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 4) return absl::DataLossError("truncated record");
    const size_t total = Be(bytes, at, 4);
    if (total < kBornHostAt || total > bytes.size() - at) {
      return absl::DataLossError(absl::StrCat("record at byte ", at, " has a bad size ", total));
    }
    const std::string_view record = bytes.substr(at, total);
    absl::StatusOr<std::vector<rsclient::ReceivedMessage>> decoded =
        rsclient::DecodeMessages(record);
    if (!decoded.ok()) return decoded.status();
    if (decoded->size() != 1) return absl::DataLossError("record does not decode as one message");
    MessageView v;
    v.msg = std::move(decoded->front());
    const size_t born_len = (v.msg.sys_flag & 0x10) ? 20 : 8;
    const size_t store_len = (v.msg.sys_flag & 0x20) ? 20 : 8;
    const size_t store_at = kBornHostAt + born_len + 8;
    v.born_host = HostToString(record.substr(kBornHostAt, born_len));
    v.store_host = HostToString(record.substr(store_at, store_len));
    v.offset_msg_id =
        EncodeOffsetMsgId(record.substr(store_at, store_len), v.msg.commit_log_offset);
    v.properties = SplitProperties(v.msg.properties);
    auto uniq = v.properties.find("UNIQ_KEY");
    v.msg_id = uniq != v.properties.end() && !uniq->second.empty() ? uniq->second : v.offset_msg_id;
    if (v.msg.sys_flag & 0x1) {
      absl::StatusOr<std::string> body = Inflate(v.msg.body);
      v.body = body.ok() ? *std::move(body) : v.msg.body;
    } else {
      v.body = v.msg.body;
    }
    out.push_back(std::move(v));
    at += total;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ClusterInfo::MasterAddrs(
    const std::string& cluster) const {
  auto it = clusters.find(cluster);
  if (it == clusters.end()) {
    std::string known;
    for (const auto& [name, brokers_of] : clusters)
      absl::StrAppend(&known, known.empty() ? "" : ", ", name);
    return absl::NotFoundError(absl::StrCat(
        "cluster ", cluster, " is not registered (known: ", known.empty() ? "none" : known, ")"));
  }
  std::vector<std::string> out;
  for (const std::string& name : it->second) {
    auto b = brokers.find(name);
    if (b == brokers.end()) continue;
    auto m = b->second.addrs.find(rsclient::kMasterId);
    if (m != b->second.addrs.end()) out.push_back(m->second);
  }
  return out;
}

std::string ClusterInfo::BrokerNameOf(const std::string& addr) const {
  for (const auto& [name, b] : brokers) {
    for (const auto& [id, a] : b.addrs) {
      if (a == addr) return name;
    }
  }
  return "";
}

AdminClient::AdminClient(std::vector<std::string> namesrv_addrs, std::chrono::milliseconds timeout)
    : namesrv_(&client_, std::move(namesrv_addrs), timeout), timeout_(timeout) {}

absl::StatusOr<RemotingCommand> AdminClient::Call(const std::string& addr,
                                                  RemotingCommand request) {
  absl::StatusOr<RemotingCommand> r = client_.InvokeSync(addr, std::move(request), timeout_);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("broker ", addr, ": ", r.status().message()));
  }
  return r;
}

absl::StatusOr<RemotingCommand> AdminClient::CallNamesrv(RemotingCommand request) {
  return namesrv_.Call(request);
}

absl::StatusOr<ClusterInfo> AdminClient::GetClusterInfo() {
  absl::StatusOr<RemotingCommand> r = CallNamesrv(NewRequest(req::kGetBrokerClusterInfo));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("name server", *r);
  absl::StatusOr<nlohmann::json> j = brokerd::remoting::ParseFastjson(r->body, "cluster info");
  if (!j.ok()) return j.status();
  ClusterInfo info;
  if (auto t = j->find("brokerAddrTable"); t != j->end() && t->is_object()) {
    for (const auto& [name, b] : t->items()) {
      rsclient::BrokerData d;
      d.broker_name = name;
      if (b.contains("cluster") && b["cluster"].is_string()) d.cluster = b["cluster"];
      if (auto addrs = b.find("brokerAddrs"); addrs != b.end() && addrs->is_object()) {
        for (const auto& [id, addr] : addrs->items()) {
          int64_t v = 0;
          if (!addr.is_string() || !absl::SimpleAtoi(id, &v)) continue;
          d.addrs[v] = addr.get<std::string>();
        }
      }
      info.brokers[name] = std::move(d);
    }
  }
  if (auto t = j->find("clusterAddrTable"); t != j->end() && t->is_object()) {
    for (const auto& [cluster, names] : t->items()) {
      std::vector<std::string>& v = info.clusters[cluster];
      if (!names.is_array()) continue;
      for (const auto& n : names) {
        if (n.is_string()) v.push_back(n.get<std::string>());
      }
      std::sort(v.begin(), v.end());
    }
  }
  return info;
}

namespace {

absl::StatusOr<std::vector<std::string>> TopicListOf(const RemotingCommand& r) {
  absl::StatusOr<nlohmann::json> j = brokerd::remoting::ParseFastjson(r.body, "topic list");
  if (!j.ok()) return j.status();
  std::vector<std::string> out;
  if (auto t = j->find("topicList"); t != j->end() && t->is_array()) {
    for (const auto& s : *t) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> AdminClient::GetAllTopics() {
  absl::StatusOr<RemotingCommand> r = CallNamesrv(NewRequest(req::kGetAllTopicListFromNameserver));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("name server", *r);
  return TopicListOf(*r);
}

absl::StatusOr<std::vector<std::string>> AdminClient::GetTopicsByCluster(
    const std::string& cluster) {
  RemotingCommand request = NewRequest(req::kGetTopicsByCluster);
  request.SetExtField("cluster", cluster);
  absl::StatusOr<RemotingCommand> r = CallNamesrv(std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("name server", *r);
  return TopicListOf(*r);
}

absl::StatusOr<rsclient::TopicRoute> AdminClient::GetRoute(const std::string& topic,
                                                           std::string* raw) {
  RemotingCommand request = NewRequest(req::kGetRouteinfoByTopic);
  request.SetExtField("topic", topic);
  absl::StatusOr<RemotingCommand> r = CallNamesrv(std::move(request));
  if (!r.ok()) return r.status();
  if (r->code == rc::kTopicNotExist) {
    return absl::NotFoundError("topic " + topic + " has no route on the name server");
  }
  if (r->code != rc::kSuccess) return BadAnswer("name server", *r);
  if (raw != nullptr) *raw = r->body;
  return rsclient::ParseTopicRoute(r->body);
}

absl::Status AdminClient::DeleteTopicInNamesrv(const std::string& namesrv_addr,
                                               const std::string& topic) {
  RemotingCommand request = NewRequest(req::kDeleteTopicInNamesrv);
  request.SetExtField("topic", topic);
  absl::StatusOr<RemotingCommand> r =
      client_.InvokeSync(namesrv_addr, std::move(request), timeout_);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("name server ", namesrv_addr, ": ", r.status().message()));
  }
  if (r->code != rc::kSuccess) return BadAnswer("name server " + namesrv_addr, *r);
  return absl::OkStatus();
}

absl::Status AdminClient::PutKvConfig(const std::string& ns, const std::string& key,
                                      const std::string& value) {
  for (const std::string& addr : namesrv_.addrs()) {
    RemotingCommand request = NewRequest(req::kPutKvConfig);
    request.SetExtField("namespace", ns);
    request.SetExtField("key", key);
    request.SetExtField("value", value);
    absl::StatusOr<RemotingCommand> r = client_.InvokeSync(addr, std::move(request), timeout_);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat("name server ", addr, ": ", r.status().message()));
    }
    if (r->code != rc::kSuccess) return BadAnswer("name server " + addr, *r);
  }
  return absl::OkStatus();
}

absl::Status AdminClient::CreateTopic(const std::string& addr, const std::string& topic,
                                      int32_t read_queues, int32_t write_queues, int32_t perm,
                                      bool order) {
  RemotingCommand request = NewRequest(req::kUpdateAndCreateTopic);
  request.SetExtField("topic", topic);
  request.SetExtField("defaultTopic", "TBW102");
  request.SetExtField("readQueueNums", std::to_string(read_queues));
  request.SetExtField("writeQueueNums", std::to_string(write_queues));
  request.SetExtField("perm", std::to_string(perm));
  request.SetExtField("topicFilterType", "SINGLE_TAG");
  request.SetExtField("topicSysFlag", "0");
  request.SetExtField("order", order ? "true" : "false");
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return absl::OkStatus();
}

absl::Status AdminClient::DeleteTopicInBroker(const std::string& addr, const std::string& topic) {
  RemotingCommand request = NewRequest(req::kDeleteTopicInBroker);
  request.SetExtField("topic", topic);
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> AdminClient::GetRuntimeInfo(
    const std::string& addr) {
  absl::StatusOr<RemotingCommand> r = Call(addr, NewRequest(req::kGetBrokerRuntimeInfo));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  absl::StatusOr<nlohmann::json> j = brokerd::remoting::ParseFastjson(r->body, "runtime info");
  if (!j.ok()) return j.status();
  std::map<std::string, std::string> out;
  if (auto t = j->find("table"); t != j->end() && t->is_object()) {
    for (const auto& [k, v] : t->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

namespace {

RemotingCommand QueueRequest(int32_t code, const std::string& topic, int32_t queue_id) {
  RemotingCommand request = NewRequest(code);
  request.SetExtField("topic", topic);
  request.SetExtField("queueId", std::to_string(queue_id));
  return request;
}

}  // namespace

absl::StatusOr<int64_t> AdminClient::GetMaxOffset(const std::string& addr, const std::string& topic,
                                                  int32_t queue_id) {
  absl::StatusOr<RemotingCommand> r = Call(addr, QueueRequest(req::kGetMaxOffset, topic, queue_id));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return r->GetInt64("offset");
}

absl::StatusOr<int64_t> AdminClient::GetMinOffset(const std::string& addr, const std::string& topic,
                                                  int32_t queue_id) {
  absl::StatusOr<RemotingCommand> r = Call(addr, QueueRequest(req::kGetMinOffset, topic, queue_id));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return r->GetInt64("offset");
}

absl::StatusOr<int64_t> AdminClient::GetEarliestStoreTime(const std::string& addr,
                                                          const std::string& topic,
                                                          int32_t queue_id) {
  absl::StatusOr<RemotingCommand> r =
      Call(addr, QueueRequest(req::kGetEarliestMsgStoretime, topic, queue_id));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return r->GetInt64("timestamp");
}

absl::StatusOr<int64_t> AdminClient::SearchOffset(const std::string& addr, const std::string& topic,
                                                  int32_t queue_id, int64_t timestamp_ms) {
  RemotingCommand request = QueueRequest(req::kSearchOffsetByTimestamp, topic, queue_id);
  request.SetExtField("timestamp", std::to_string(timestamp_ms));
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return r->GetInt64("offset");
}

absl::StatusOr<std::optional<int64_t>> AdminClient::QueryConsumerOffset(const std::string& addr,
                                                                        const std::string& group,
                                                                        const std::string& topic,
                                                                        int32_t queue_id) {
  RemotingCommand request = NewRequest(req::kQueryConsumerOffset);
  request.SetExtField("consumerGroup", group);
  request.SetExtField("topic", topic);
  request.SetExtField("queueId", std::to_string(queue_id));
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code == rc::kQueryNotFound) return std::optional<int64_t>();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  absl::StatusOr<int64_t> offset = r->GetInt64("offset");
  if (!offset.ok()) return offset.status();
  return std::optional<int64_t>(*offset);
}

absl::Status AdminClient::UpdateConsumerOffset(const std::string& addr, const std::string& group,
                                               const std::string& topic, int32_t queue_id,
                                               int64_t offset) {
  RemotingCommand request = NewRequest(req::kUpdateConsumerOffset);
  request.SetExtField("consumerGroup", group);
  request.SetExtField("topic", topic);
  request.SetExtField("queueId", std::to_string(queue_id));
  request.SetExtField("commitOffset", std::to_string(offset));
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> AdminClient::GetConsumerList(const std::string& addr,
                                                                      const std::string& group) {
  RemotingCommand request = NewRequest(req::kGetConsumerListByGroup);
  request.SetExtField("consumerGroup", group);
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  // 1 "no consumer for this group" is how the broker says the list is empty.
  if (r->code == rc::kSystemError && r->remark.value_or("").find("no consumer") == 0) return out;
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  absl::StatusOr<nlohmann::json> j = brokerd::remoting::ParseFastjson(r->body, "consumer list");
  if (!j.ok()) return j.status();
  if (auto t = j->find("consumerIdList"); t != j->end() && t->is_array()) {
    for (const auto& s : *t) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

absl::StatusOr<PullResult> AdminClient::Pull(const std::string& addr, const std::string& group,
                                             const std::string& topic, int32_t queue_id,
                                             int64_t offset, int32_t max_messages) {
  RemotingCommand request = NewRequest(req::kPullMessage);
  request.SetExtField("consumerGroup", group);
  request.SetExtField("topic", topic);
  request.SetExtField("queueId", std::to_string(queue_id));
  request.SetExtField("queueOffset", std::to_string(offset));
  request.SetExtField("maxMsgNums", std::to_string(max_messages));
  request.SetExtField("sysFlag", "4");  // SUBSCRIPTION: use "*", not the group's own filter
  request.SetExtField("commitOffset", "0");
  request.SetExtField("suspendTimeoutMillis", "0");
  request.SetExtField("subscription", "*");
  request.SetExtField("subVersion", "0");
  request.SetExtField("expressionType", "TAG");
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess && r->code != rc::kPullNotFound &&
      r->code != rc::kPullRetryImmediately && r->code != rc::kPullOffsetMoved) {
    return BadAnswer("broker " + addr, *r);
  }
  PullResult out;
  out.code = r->code;
  out.status = r->remark.value_or("");
  absl::StatusOr<int64_t> next = r->GetInt64("nextBeginOffset");
  absl::StatusOr<int64_t> min = r->GetInt64("minOffset");
  absl::StatusOr<int64_t> max = r->GetInt64("maxOffset");
  if (!next.ok() || !min.ok() || !max.ok()) {
    return absl::DataLossError("broker " + addr + ": pull answer without offsets");
  }
  out.next_begin_offset = *next;
  out.min_offset = *min;
  out.max_offset = *max;
  if (r->code == rc::kSuccess) {
    absl::StatusOr<std::vector<MessageView>> msgs = DecodeRecords(r->body);
    if (!msgs.ok()) return msgs.status();
    out.messages = *std::move(msgs);
  }
  return out;
}

absl::StatusOr<MessageView> AdminClient::ViewMessage(const std::string& addr,
                                                     int64_t commit_log_offset) {
  RemotingCommand request = NewRequest(req::kViewMessageById);
  request.SetExtField("offset", std::to_string(commit_log_offset));
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code != rc::kSuccess) {
    return absl::NotFoundError(absl::StrCat("broker ", addr, " answered ", DescribeAnswer(*r)));
  }
  absl::StatusOr<std::vector<MessageView>> msgs = DecodeRecords(r->body);
  if (!msgs.ok()) return msgs.status();
  if (msgs->size() != 1) return absl::DataLossError("broker " + addr + ": not one record");
  return std::move(msgs->front());
}

absl::StatusOr<std::vector<MessageView>> AdminClient::QueryMessage(
    const std::string& addr, const std::string& topic, const std::string& key, int32_t max_num,
    int64_t begin_ms, int64_t end_ms, bool unique_key) {
  RemotingCommand request = NewRequest(req::kQueryMessage);
  request.SetExtField("topic", topic);
  request.SetExtField("key", key);
  request.SetExtField("maxNum", std::to_string(max_num));
  request.SetExtField("beginTimestamp", std::to_string(begin_ms));
  request.SetExtField("endTimestamp", std::to_string(end_ms));
  if (unique_key) request.SetExtField("_UNIQUE_KEY_QUERY", "true");
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  if (r->code == rc::kQueryNotFound) return std::vector<MessageView>();
  if (r->code != rc::kSuccess) return BadAnswer("broker " + addr, *r);
  return DecodeRecords(r->body);
}

absl::StatusOr<SendResult> AdminClient::Send(const std::string& addr,
                                             const std::string& broker_name,
                                             const std::string& topic, int32_t queue_id,
                                             const std::string& body, const std::string& tags,
                                             const std::string& keys,
                                             int32_t default_topic_queues) {
  const std::string uniq = NewUniqueKey();
  std::string props;
  if (!keys.empty()) absl::StrAppend(&props, "KEYS\x01", keys, "\x02");
  if (!tags.empty()) absl::StrAppend(&props, "TAGS\x01", tags, "\x02");
  absl::StrAppend(&props, "UNIQ_KEY\x01", uniq, "\x02WAIT\x01true\x02");
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  RemotingCommand request = NewRequest(req::kSendMessageV2);
  request.SetExtField("a", "rs_admin_producer");
  request.SetExtField("b", topic);
  request.SetExtField("c", "TBW102");
  request.SetExtField("d", std::to_string(default_topic_queues));
  request.SetExtField("e", std::to_string(queue_id));
  request.SetExtField("f", "0");
  request.SetExtField("g", std::to_string(now_ms));
  request.SetExtField("h", "0");
  request.SetExtField("i", props);
  request.SetExtField("j", "0");
  request.SetExtField("k", "false");
  request.SetExtField("m", "false");
  request.SetExtField("n", broker_name);
  request.body = body;
  absl::StatusOr<RemotingCommand> r = Call(addr, std::move(request));
  if (!r.ok()) return r.status();
  SendResult out;
  out.code = r->code;
  switch (r->code) {
    case rc::kSuccess:
      out.send_status = "SEND_OK";
      break;
    case rc::kFlushDiskTimeout:
      out.send_status = "FLUSH_DISK_TIMEOUT";
      break;
    case rc::kFlushSlaveTimeout:
      out.send_status = "FLUSH_SLAVE_TIMEOUT";
      break;
    case rc::kSlaveNotAvailable:
      out.send_status = "SLAVE_NOT_AVAILABLE";
      break;
    default:
      return BadAnswer("broker " + addr, *r);
  }
  out.broker_name = broker_name;
  out.broker_addr = addr;
  out.queue_id = r->GetInt32Or("queueId", queue_id).value_or(queue_id);
  out.queue_offset = r->GetInt64Or("queueOffset", -1).value_or(-1);
  out.offset_msg_id = r->GetString("msgId").value_or("");
  out.msg_id = uniq;
  return out;
}

std::string NewUniqueKey() {
  static std::atomic<uint32_t> counter{0};
  static const uint32_t random = std::random_device{}();
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  const std::time_t month_start = std::mktime(&tm);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() -
      static_cast<int64_t>(month_start) * 1000;
  std::string out = absl::StrCat(
      "7F000001", absl::Hex(static_cast<uint16_t>(getpid()), absl::kZeroPad4),
      absl::Hex(random, absl::kZeroPad8), absl::Hex(static_cast<uint32_t>(ms), absl::kZeroPad8),
      absl::Hex(static_cast<uint16_t>(counter.fetch_add(1)), absl::kZeroPad4));
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace rsadmin
