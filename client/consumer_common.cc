// Shared consumer pieces (see consumer_common.h).
// Thread-safety: stateless functions; BrokerApi holds only pointers to thread-safe objects.
#include "client/consumer_common.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/message.h"
#include "client/message_codec.h"
#include "nlohmann/json.hpp"
#include "remoting/codes.h"
#include "remoting/fastjson.h"

namespace rsclient {

namespace rc = brokerd::remoting::response_code;
namespace req = brokerd::remoting::request_code;
using brokerd::remoting::MakeRequest;

namespace {

constexpr std::string_view kRetryPrefix = "%RETRY%";
constexpr std::string_view kDlqPrefix = "%DLQ%";
constexpr const char* kInnerProducerGroup = "CLIENT_INNER_PRODUCER";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "ip:port" -> the host part of a Java offsetMsgId (4 address bytes and the port as 4 bytes),
// as 16 hex digits; "" when the address is not IPv4.
std::string OffsetMsgIdHost(const std::string& broker_addr) {
  absl::StatusOr<std::pair<std::string, int>> hp = SplitHostPort(broker_addr);
  in_addr a{};
  if (!hp.ok() || ::inet_pton(AF_INET, hp->first.c_str(), &a) != 1) return "";
  const auto* ip = reinterpret_cast<const uint8_t*>(&a.s_addr);
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%02X%02X%02X%02X%08X", ip[0], ip[1], ip[2], ip[3],
                static_cast<unsigned>(hp->second));
  return buf;
}

// host (OffsetMsgIdHost) + the CommitLog offset as 16 hex digits; "" when host is "".
std::string OffsetMsgId(const std::string& host, int64_t commit_log_offset) {
  if (host.empty()) return "";
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string id(host.size() + 16, '0');
  std::memcpy(id.data(), host.data(), host.size());
  auto v = static_cast<uint64_t>(commit_log_offset);
  for (size_t i = id.size(); i > host.size(); v >>= 4) id[--i] = kHex[v & 0xF];
  return id;
}

nlohmann::json QueueJson(const MessageQueue& mq) {
  return nlohmann::json{
      {"brokerName", mq.broker_name}, {"queueId", mq.queue_id}, {"topic", mq.topic}};
}

std::string LockBody(const std::string& group, const std::string& client_id,
                     const std::vector<MessageQueue>& mqs) {
  nlohmann::json body;
  body["consumerGroup"] = group;
  body["clientId"] = client_id;
  body["mqSet"] = nlohmann::json::array();
  for (const MessageQueue& mq : mqs) body["mqSet"].push_back(QueueJson(mq));
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string_view MessageModelName(MessageModel m) {
  return m == MessageModel::kClustering ? "CLUSTERING" : "BROADCASTING";
}

std::string_view ConsumeFromWhereName(ConsumeFromWhere w) {
  switch (w) {
    case ConsumeFromWhere::kLastOffset:
      return "CONSUME_FROM_LAST_OFFSET";
    case ConsumeFromWhere::kFirstOffset:
      return "CONSUME_FROM_FIRST_OFFSET";
    case ConsumeFromWhere::kTimestamp:
      return "CONSUME_FROM_TIMESTAMP";
  }
  return "CONSUME_FROM_LAST_OFFSET";
}

std::string RetryTopic(std::string_view group) {
  return std::string(kRetryPrefix) + std::string(group);
}
std::string DlqTopic(std::string_view group) {
  return std::string(kDlqPrefix) + std::string(group);
}
bool IsRetryTopic(std::string_view topic) { return topic.starts_with(kRetryPrefix); }

std::string ConsumedMessage::Property(std::string_view name) const {
  auto it = properties.find(std::string(name));
  return it == properties.end() ? std::string() : it->second;
}

bool SubscriptionData::Matches(std::string_view tag) const {
  if (tags.empty()) return true;
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

absl::StatusOr<SubscriptionData> ParseSubscription(std::string_view topic,
                                                   std::string_view expression) {
  if (topic.empty()) return absl::InvalidArgumentError("subscription without a topic");
  SubscriptionData sub;
  sub.topic = std::string(topic);
  sub.sub_version = NowMs();
  std::string_view expr = expression;
  while (!expr.empty() && (expr.front() == ' ' || expr.front() == '\t')) expr.remove_prefix(1);
  while (!expr.empty() && (expr.back() == ' ' || expr.back() == '\t')) expr.remove_suffix(1);
  if (expr.empty() || expr == "*") {
    sub.sub_string = "*";
    return sub;
  }
  sub.sub_string = std::string(expression);
  for (absl::string_view piece :
       absl::StrSplit(absl::string_view(expr.data(), expr.size()), "||")) {
    std::string_view part(piece.data(), piece.size());
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (part.empty()) continue;
    std::string tag(part);
    if (std::find(sub.tags.begin(), sub.tags.end(), tag) != sub.tags.end()) continue;
    sub.codes.push_back(TagHashCode(tag));
    sub.tags.push_back(std::move(tag));
  }
  if (sub.tags.empty()) {
    return absl::InvalidArgumentError("tag expression '" + std::string(expression) + "' of topic " +
                                      std::string(topic) + " names no tag");
  }
  return sub;
}

int32_t TagHashCode(std::string_view utf8) { return JavaStringHashCode(utf8); }

std::string_view PullStatusName(PullStatus s) {
  switch (s) {
    case PullStatus::kFound:
      return "FOUND";
    case PullStatus::kNoNewMsg:
      return "NO_NEW_MSG";
    case PullStatus::kNoMatchedMsg:
      return "NO_MATCHED_MSG";
    case PullStatus::kOffsetIllegal:
      return "OFFSET_ILLEGAL";
  }
  return "?";
}

RemotingCommand MakePullRequest(const std::string& group, const MessageQueue& mq,
                                const SubscriptionData& sub, int64_t offset, int32_t max_nums,
                                int32_t sys_flag, int64_t commit_offset,
                                int64_t suspend_timeout_ms) {
  RemotingCommand r = MakeRequest(req::kPullMessage, 0);
  r.SetExtField("consumerGroup", group);
  r.SetExtField("topic", mq.topic);
  r.SetExtField("queueId", std::to_string(mq.queue_id));
  r.SetExtField("queueOffset", std::to_string(offset));
  r.SetExtField("maxMsgNums", std::to_string(max_nums));
  r.SetExtField("sysFlag", std::to_string(sys_flag));
  r.SetExtField("commitOffset", std::to_string(commit_offset));
  r.SetExtField("suspendTimeoutMillis", std::to_string(suspend_timeout_ms));
  if (sys_flag & kPullSubscription) r.SetExtField("subscription", sub.sub_string);
  r.SetExtField("subVersion", std::to_string(sub.sub_version));
  r.SetExtField("expressionType", "TAG");
  r.SetExtField("bname", mq.broker_name);
  return r;
}

namespace {

// The status and offsets of a pull answer (no messages): codes 0/19/20/21, else an error.
absl::StatusOr<PullResult> PullAnswerHeader(const RemotingCommand& response, const MessageQueue& mq,
                                            const std::string& broker_addr) {
  PullResult result;
  switch (response.code) {
    case rc::kSuccess:
      result.status = PullStatus::kFound;
      break;
    case rc::kPullNotFound:
      result.status = PullStatus::kNoNewMsg;
      break;
    case rc::kPullRetryImmediately:
      result.status = PullStatus::kNoMatchedMsg;
      break;
    case rc::kPullOffsetMoved:
      result.status = PullStatus::kOffsetIllegal;
      break;
    default:
      return BrokerError("PULL_MESSAGE of " + mq.ToString(), broker_addr, response);
  }
  absl::StatusOr<int64_t> next = response.GetInt64("nextBeginOffset");
  absl::StatusOr<int64_t> min = response.GetInt64("minOffset");
  absl::StatusOr<int64_t> max = response.GetInt64("maxOffset");
  for (const absl::Status& s : {next.status(), min.status(), max.status()}) {
    if (!s.ok()) {
      return absl::DataLossError(
          absl::StrCat("PULL_MESSAGE answer from ", broker_addr, ": ", s.message()));
    }
  }
  result.next_begin_offset = *next;
  result.min_offset = *min;
  result.max_offset = *max;
  return result;
}

}  // namespace

std::string_view MessageView::Property(std::string_view name) const {
  return FindPropertyView(properties, name);
}

absl::StatusOr<PullResult> VisitPullResponse(const RemotingCommand& response,
                                             const MessageQueue& mq, const std::string& broker_addr,
                                             const SubscriptionData& sub,
                                             const MessageVisitor& visit) {
  absl::StatusOr<PullResult> result = PullAnswerHeader(response, mq, broker_addr);
  if (!result.ok() || result->status != PullStatus::kFound) return result;
  std::string inflated;  // the body of a compressed record, reused
  absl::Status bad_body;
  absl::Status s = VisitRecords(response.body, [&](const RecordView& r) {
    MessageView v;
    v.tags = FindPropertyView(r.properties, kPropertyTags);
    if (!sub.Matches(v.tags)) return absl::OkStatus();
    v.queue = &mq;
    v.topic = r.topic;
    v.properties = r.properties;
    v.queue_offset = r.queue_offset;
    v.commit_log_offset = r.commit_log_offset;
    v.reconsume_times = r.reconsume_times;
    v.sys_flag = r.sys_flag;
    v.flag = r.flag;
    v.born_timestamp_ms = r.born_timestamp_ms;
    v.store_timestamp_ms = r.store_timestamp_ms;
    // Compression type bits 0x700: 0 (older clients) and 0x300 are zlib; LZ4 / ZSTD bodies are
    // handed over as stored.
    const int32_t type = r.sys_flag & 0x700;
    if ((r.sys_flag & kSysFlagCompressed) != 0 && (type == 0 || type == 0x300)) {
      absl::StatusOr<std::string> body = UncompressBody(r.body, kMaxUncompressedBodyBytes);
      if (!body.ok()) {
        bad_body = absl::DataLossError(absl::StrCat("message ", mq.ToString(), "@", r.queue_offset,
                                                    ": ", body.status().message()));
        return bad_body;
      }
      inflated = std::move(*body);
      v.body = inflated;
    } else {
      v.body = r.body;
    }
    visit(v);
    return absl::OkStatus();
  });
  if (!bad_body.ok()) return bad_body;
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("PULL_MESSAGE answer from ", broker_addr, " for ",
                                            mq.ToString(), ": ", s.message()));
  }
  return result;
}

absl::StatusOr<PullResult> ParsePullResponse(const RemotingCommand& response,
                                             const MessageQueue& mq, const std::string& broker_addr,
                                             const SubscriptionData& sub,
                                             const std::string& group) {
  const std::string retry_topic = RetryTopic(group);
  const std::string id_host = OffsetMsgIdHost(broker_addr);
  std::vector<ConsumedMessage> messages;
  absl::StatusOr<PullResult> result =
      VisitPullResponse(response, mq, broker_addr, sub, [&](const MessageView& v) {
        ConsumedMessage& m = messages.emplace_back();
        m.properties = DecodeProperties(v.properties);
        m.tags = std::string(v.tags);
        m.keys = m.Property(kPropertyKeys);
        m.queue = mq;
        m.topic = std::string(v.topic);
        if (m.topic == retry_topic) {
          if (std::string original = m.Property(kPropertyRetryTopic); !original.empty()) {
            m.topic = std::move(original);
          }
        }
        m.queue_offset = v.queue_offset;
        m.commit_log_offset = v.commit_log_offset;
        m.reconsume_times = v.reconsume_times;
        m.sys_flag = v.sys_flag;
        m.flag = v.flag;
        m.born_timestamp_ms = v.born_timestamp_ms;
        m.store_timestamp_ms = v.store_timestamp_ms;
        m.body = std::string(v.body);
        m.offset_msg_id = OffsetMsgId(id_host, v.commit_log_offset);
        m.msg_id = m.Property(kPropertyUniqKey);
        if (m.msg_id.empty()) m.msg_id = m.offset_msg_id;
      });
  if (!result.ok()) return result;
  const std::string min_offset = std::to_string(result->min_offset);
  const std::string max_offset = std::to_string(result->max_offset);
  for (ConsumedMessage& m : messages) {
    m.properties[std::string(kPropertyMinOffset)] = min_offset;
    m.properties[std::string(kPropertyMaxOffset)] = max_offset;
  }
  result->messages = std::move(messages);
  return result;
}

std::string ClientIpAddress() {
  std::string found = "127.0.0.1";
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return found;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)) != nullptr) {
      found = buf;
      break;
    }
  }
  ::freeifaddrs(list);
  return found;
}

std::string MakeClientId(const std::string& instance_name) {
  std::string instance = instance_name;
  if (instance.empty()) {
    instance =
        absl::StrCat(::getpid(), "#", std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return ClientIpAddress() + "@" + instance;
}

absl::Status BrokerError(std::string_view what, const std::string& addr,
                         const RemotingCommand& response) {
  std::string msg = absl::StrCat(std::string(what), " at ", addr, ": code ", response.code, " (",
                                 response.remark.value_or(""), ")");
  switch (response.code) {
    case rc::kSystemBusy:
    case rc::kServiceNotAvailable:
      return absl::UnavailableError(msg);
    case rc::kTopicNotExist:
    case rc::kQueryNotFound:
    case rc::kSubscriptionGroupNotExist:
      return absl::NotFoundError(msg);
    case rc::kNoPermission:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::UnknownError(msg);
  }
}

absl::StatusOr<std::string> BrokerApi::MasterAddr(const MessageQueue& mq) {
  absl::StatusOr<TopicRoute> route = routes_->Get(mq.topic);
  if (!route.ok()) return route.status();
  std::optional<std::string> addr = route->MasterAddr(mq.broker_name);
  if (!addr.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no master of broker ", mq.broker_name, " for ", mq.ToString()));
  }
  return *addr;
}

absl::StatusOr<std::string> BrokerApi::ReadAddr(const MessageQueue& mq) {
  absl::StatusOr<TopicRoute> route = routes_->Get(mq.topic);
  if (!route.ok()) return route.status();
  std::optional<std::string> addr = route->AnyAddr(mq.broker_name);
  if (!addr.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no address of broker ", mq.broker_name, " for ", mq.ToString()));
  }
  return *addr;
}

absl::StatusOr<RemotingCommand> BrokerApi::Call(const std::string& addr, RemotingCommand request) {
  return client_->InvokeSync(addr, std::move(request), timeout_);
}

absl::StatusOr<std::optional<int64_t>> BrokerApi::QueryConsumerOffset(const std::string& group,
                                                                      const MessageQueue& mq,
                                                                      bool zero_if_not_found) {
  absl::StatusOr<std::string> addr = MasterAddr(mq);
  if (!addr.ok()) return addr.status();
  RemotingCommand r = MakeRequest(req::kQueryConsumerOffset, 0);
  r.SetExtField("consumerGroup", group);
  r.SetExtField("topic", mq.topic);
  r.SetExtField("queueId", std::to_string(mq.queue_id));
  if (!zero_if_not_found) r.SetExtField("setZeroIfNotFound", "false");
  r.SetExtField("bname", mq.broker_name);
  absl::StatusOr<RemotingCommand> resp = Call(*addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code == rc::kQueryNotFound) return std::optional<int64_t>();
  if (resp->code != rc::kSuccess) return BrokerError("QUERY_CONSUMER_OFFSET", *addr, *resp);
  absl::StatusOr<int64_t> offset = resp->GetInt64("offset");
  if (!offset.ok()) return offset.status();
  return std::optional<int64_t>(*offset);
}

absl::Status BrokerApi::UpdateConsumerOffset(const std::string& group, const MessageQueue& mq,
                                             int64_t offset, bool oneway) {
  absl::StatusOr<std::string> addr = MasterAddr(mq);
  if (!addr.ok()) return addr.status();
  RemotingCommand r = MakeRequest(req::kUpdateConsumerOffset, 0);
  r.SetExtField("consumerGroup", group);
  r.SetExtField("topic", mq.topic);
  r.SetExtField("queueId", std::to_string(mq.queue_id));
  r.SetExtField("commitOffset", std::to_string(offset));
  r.SetExtField("bname", mq.broker_name);
  if (oneway) return client_->InvokeOneway(*addr, std::move(r));
  absl::StatusOr<RemotingCommand> resp = Call(*addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("UPDATE_CONSUMER_OFFSET", *addr, *resp);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> BrokerApi::QueueOffsetCall(int32_t code, const char* what,
                                                   const MessageQueue& mq, const char* result_field,
                                                   int64_t timestamp) {
  absl::StatusOr<std::string> addr = ReadAddr(mq);
  if (!addr.ok()) return addr.status();
  RemotingCommand r = MakeRequest(code, 0);
  r.SetExtField("topic", mq.topic);
  r.SetExtField("queueId", std::to_string(mq.queue_id));
  if (code == req::kSearchOffsetByTimestamp) r.SetExtField("timestamp", std::to_string(timestamp));
  r.SetExtField("bname", mq.broker_name);
  absl::StatusOr<RemotingCommand> resp = Call(*addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError(what, *addr, *resp);
  return resp->GetInt64(result_field);
}

absl::StatusOr<int64_t> BrokerApi::GetMaxOffset(const MessageQueue& mq) {
  return QueueOffsetCall(req::kGetMaxOffset, "GET_MAX_OFFSET", mq, "offset", 0);
}
absl::StatusOr<int64_t> BrokerApi::GetMinOffset(const MessageQueue& mq) {
  return QueueOffsetCall(req::kGetMinOffset, "GET_MIN_OFFSET", mq, "offset", 0);
}
absl::StatusOr<int64_t> BrokerApi::SearchOffset(const MessageQueue& mq, int64_t ts_ms) {
  return QueueOffsetCall(req::kSearchOffsetByTimestamp, "SEARCH_OFFSET_BY_TIMESTAMP", mq, "offset",
                         ts_ms);
}
absl::StatusOr<int64_t> BrokerApi::GetEarliestStoreTime(const MessageQueue& mq) {
  return QueueOffsetCall(req::kGetEarliestMsgStoretime, "GET_EARLIEST_MSG_STORETIME", mq,
                         "timestamp", 0);
}

absl::StatusOr<std::vector<std::string>> BrokerApi::GetConsumerIds(const std::string& addr,
                                                                   const std::string& group) {
  RemotingCommand r = MakeRequest(req::kGetConsumerListByGroup, 0);
  r.SetExtField("consumerGroup", group);
  absl::StatusOr<RemotingCommand> resp = Call(addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("GET_CONSUMER_LIST_BY_GROUP", addr, *resp);
  absl::StatusOr<nlohmann::json> j =
      brokerd::remoting::ParseFastjson(resp->body, "GET_CONSUMER_LIST_BY_GROUP answer");
  if (!j.ok()) return j.status();
  std::vector<std::string> ids;
  auto list = j->find("consumerIdList");
  if (list == j->end() || !list->is_array()) {
    return absl::DataLossError("GET_CONSUMER_LIST_BY_GROUP answer without consumerIdList");
  }
  for (const auto& id : *list) {
    if (id.is_string()) ids.push_back(id.get<std::string>());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<std::set<MessageQueue>> BrokerApi::LockBatch(const std::string& addr,
                                                            const std::string& group,
                                                            const std::string& client_id,
                                                            const std::vector<MessageQueue>& mqs) {
  RemotingCommand r = MakeRequest(req::kLockBatchMq, 0);
  r.body = LockBody(group, client_id, mqs);
  absl::StatusOr<RemotingCommand> resp = Call(addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("LOCK_BATCH_MQ", addr, *resp);
  absl::StatusOr<nlohmann::json> j =
      brokerd::remoting::ParseFastjson(resp->body, "LOCK_BATCH_MQ answer");
  if (!j.ok()) return j.status();
  std::set<MessageQueue> locked;
  auto set = j->find("lockOKMQSet");
  if (set == j->end() || !set->is_array()) return locked;
  for (const auto& q : *set) {
    if (!q.is_object() || !q.contains("topic") || !q.contains("brokerName") ||
        !q.contains("queueId") || !q["topic"].is_string() || !q["brokerName"].is_string() ||
        !q["queueId"].is_number_integer()) {
      return absl::DataLossError("LOCK_BATCH_MQ answer with a malformed queue");
    }
    locked.insert(MessageQueue{q["topic"].get<std::string>(), q["brokerName"].get<std::string>(),
                               q["queueId"].get<int32_t>()});
  }
  return locked;
}

absl::Status BrokerApi::UnlockBatch(const std::string& addr, const std::string& group,
                                    const std::string& client_id,
                                    const std::vector<MessageQueue>& mqs, bool oneway) {
  RemotingCommand r = MakeRequest(req::kUnlockBatchMq, 0);
  r.body = LockBody(group, client_id, mqs);
  if (oneway) return client_->InvokeOneway(addr, std::move(r));
  absl::StatusOr<RemotingCommand> resp = Call(addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("UNLOCK_BATCH_MQ", addr, *resp);
  return absl::OkStatus();
}

absl::Status BrokerApi::SendBack(const std::string& group, const ConsumedMessage& msg,
                                 int32_t delay_level, int32_t max_reconsume_times) {
  absl::StatusOr<std::string> addr = MasterAddr(msg.queue);
  if (!addr.ok()) return addr.status();
  RemotingCommand r = MakeRequest(req::kConsumerSendMsgBack, 0);
  r.SetExtField("offset", std::to_string(msg.commit_log_offset));
  r.SetExtField("group", group);
  r.SetExtField("delayLevel", std::to_string(delay_level));
  r.SetExtField("originMsgId", msg.msg_id);
  r.SetExtField("originTopic", msg.topic);
  r.SetExtField("unitMode", "false");
  r.SetExtField("maxReconsumeTimes", std::to_string(max_reconsume_times));
  r.SetExtField("bname", msg.queue.broker_name);
  absl::StatusOr<RemotingCommand> resp = Call(*addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("CONSUMER_SEND_MSG_BACK", *addr, *resp);
  return absl::OkStatus();
}

absl::Status BrokerApi::SendToRetryTopic(const std::string& group, const ConsumedMessage& msg,
                                         int32_t max_reconsume_times) {
  const std::string topic = RetryTopic(group);
  MessageQueue retry_queue{topic, msg.queue.broker_name, 0};
  absl::StatusOr<std::string> addr = MasterAddr(retry_queue);
  if (!addr.ok()) addr = MasterAddr(msg.queue);  // the retry route may not be known yet
  if (!addr.ok()) return addr.status();
  std::map<std::string, std::string> props = msg.properties;
  props.erase(std::string(kPropertyMinOffset));
  props.erase(std::string(kPropertyMaxOffset));
  props.emplace(kPropertyRetryTopic, msg.topic);
  props.emplace(kPropertyOriginMessageId, msg.msg_id);
  props[std::string(kPropertyDelayLevel)] = std::to_string(3 + msg.reconsume_times);
  props[std::string(kPropertyWaitStoreMsgOk)] = "true";
  std::vector<std::pair<std::string, std::string>> list(props.begin(), props.end());
  RemotingCommand r = MakeRequest(req::kSendMessageV2, 0);
  r.SetExtField("a", kInnerProducerGroup);
  r.SetExtField("b", topic);
  r.SetExtField("c", "TBW102");
  r.SetExtField("d", "4");
  r.SetExtField("e", "0");
  r.SetExtField("f", std::to_string(msg.sys_flag & ~(kSysFlagCompressed | 0x700)));
  r.SetExtField("g", std::to_string(NowMs()));
  r.SetExtField("h", std::to_string(msg.flag));
  r.SetExtField("i", EncodeProperties(list));
  r.SetExtField("j", std::to_string(msg.reconsume_times + 1));
  r.SetExtField("k", "false");
  r.SetExtField("l", std::to_string(max_reconsume_times));
  r.body = msg.body;
  absl::StatusOr<RemotingCommand> resp = Call(*addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("SEND_MESSAGE_V2 to " + topic, *addr, *resp);
  return absl::OkStatus();
}

absl::Status BrokerApi::Heartbeat(const std::string& addr, const std::string& body) {
  RemotingCommand r = MakeRequest(req::kHeartBeat, 0);
  r.body = body;
  absl::StatusOr<RemotingCommand> resp = Call(addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("HEART_BEAT", addr, *resp);
  return absl::OkStatus();
}

absl::Status BrokerApi::UnregisterClient(const std::string& addr, const std::string& client_id,
                                         const std::string& consumer_group) {
  RemotingCommand r = MakeRequest(req::kUnregisterClient, 0);
  r.SetExtField("clientID", client_id);
  r.SetExtField("producerGroup", kInnerProducerGroup);
  r.SetExtField("consumerGroup", consumer_group);
  absl::StatusOr<RemotingCommand> resp = Call(addr, std::move(r));
  if (!resp.ok()) return resp.status();
  if (resp->code != rc::kSuccess) return BrokerError("UNREGISTER_CLIENT", addr, *resp);
  return absl::OkStatus();
}

std::string MakeConsumerHeartbeatBody(const std::string& client_id, const std::string& group,
                                      std::string_view consume_type, MessageModel model,
                                      ConsumeFromWhere from,
                                      const std::vector<SubscriptionData>& subs) {
  nlohmann::json set = nlohmann::json::array();
  for (const SubscriptionData& s : subs) {
    set.push_back({{"classFilterMode", false},
                   {"codeSet", s.codes},
                   {"expressionType", "TAG"},
                   {"subString", s.sub_string},
                   {"subVersion", s.sub_version},
                   {"tagsSet", s.tags},
                   {"topic", s.topic}});
  }
  nlohmann::json consumer = {{"consumeFromWhere", ConsumeFromWhereName(from)},
                             {"consumeType", consume_type},
                             {"groupName", group},
                             {"messageModel", MessageModelName(model)},
                             {"subscriptionDataSet", set},
                             {"unitMode", false}};
  nlohmann::json body = {
      {"clientID", client_id},
      {"consumerDataSet", nlohmann::json::array({consumer})},
      {"producerDataSet", nlohmann::json::array({{{"groupName", kInnerProducerGroup}}})}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace rsclient
