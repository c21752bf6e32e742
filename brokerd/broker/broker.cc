// Broker implementation (see broker.h).
// Thread-safety: mu_ guards the topic table and the client registry; the store and the offset
// table are thread-safe themselves. Put completions capture only values and a shared_ptr to the
// connection, never `this`.
#include "broker/broker.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "broker/schedule_service.h"
#include "libstore/message.h"
#include "nlohmann/json.hpp"

namespace brokerd::broker {

namespace {

using remoting::MakeResponse;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req = remoting::request_code;

bool NotAllowedSendTopic(const std::string& topic) {
  return topic == "SCHEDULE_TOPIC_XXXX" || topic == "RMQ_SYS_TRANS_HALF_TOPIC" ||
         topic == "RMQ_SYS_TRANS_OP_HALF_TOPIC" || topic == "TRANS_CHECK_MAX_TIME_TOPIC";
}

// Topics UPDATE_AND_CREATE_TOPIC refuses: the send-forbidden ones and the trace topic (clients
// with message tracing send to it; it is not configured by hand).
bool ReservedTopic(const std::string& topic) {
  return NotAllowedSendTopic(topic) || topic == "RMQ_SYS_TRACE_TOPIC";
}

// "a || b" -> {"a", "b"}; "*" or empty -> {} (everything).
std::vector<std::string> ParseTagExpression(const std::string& expr) {
  std::vector<std::string> tags;
  size_t pos = 0;
  while (pos <= expr.size()) {
    size_t bar = expr.find("||", pos);
    std::string part = expr.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos);
    size_t b = part.find_first_not_of(" \t");
    size_t e = part.find_last_not_of(" \t");
    if (b != std::string::npos) {
      part = part.substr(b, e - b + 1);
      if (part == "*") return {};
      tags.push_back(part);
    }
    if (bar == std::string::npos) break;
    pos = bar + 2;
  }
  return tags;
}

// The stored properties: the producer's, without WAIT, plus CLUSTER (as RocketMQ 4.9.7 does).
std::string StoredProperties(const std::string& encoded, const std::string& cluster) {
  libstore::Properties in = libstore::Properties::Decode(encoded);
  libstore::Properties out;
  for (const auto& [k, v] : in.entries()) {
    if (k != "WAIT" && k != "CLUSTER") out.Set(k, v);
  }
  out.Set("CLUSTER", cluster);
  return EncodeStoredProperties(out);
}

int32_t PullCode(libstore::GetStatus status, int64_t requested) {
  using libstore::GetStatus;
  switch (status) {
    case GetStatus::kFound:
      return rc::kSuccess;
    case GetStatus::kOffsetOverflowOne:
    case GetStatus::kOffsetFoundNull:
      return rc::kPullNotFound;
    case GetStatus::kNoMatchedMessage:
    case GetStatus::kMessageWasRemoving:
      return rc::kPullRetryImmediately;
    case GetStatus::kOffsetTooSmall:
    case GetStatus::kOffsetOverflowBadly:
      return rc::kPullOffsetMoved;
    case GetStatus::kNoMessageInQueue:
    case GetStatus::kNoMatchedLogicQueue:
      return requested != 0 ? rc::kPullOffsetMoved : rc::kPullNotFound;
  }
  return rc::kSystemError;
}

std::string StatusRemark(const absl::Status& s) { return std::string(s.message()); }

// Fills a send response from a put outcome (the field order of the Java broker's responses,
// HashMap order).
void FillSendResponse(const absl::StatusOr<libstore::PutResult>& result, int32_t queue_id,
                      RemotingCommand& proto) {
  if (!result.ok()) {
    const absl::Status& s = result.status();
    proto.code = s.code() == absl::StatusCode::kInvalidArgument ? rc::kMessageIllegal
                 : (s.code() == absl::StatusCode::kResourceExhausted ||
                    s.code() == absl::StatusCode::kFailedPrecondition)
                     ? rc::kServiceNotAvailable
                     : rc::kSystemError;
    proto.remark = std::string(s.message());
    return;
  }
  switch (result->status) {
    case libstore::PutStatus::kOk:
      proto.code = rc::kSuccess;
      break;
    case libstore::PutStatus::kFlushDiskTimeout:
      proto.code = rc::kFlushDiskTimeout;
      break;
    case libstore::PutStatus::kFlushSlaveTimeout:
      proto.code = rc::kFlushSlaveTimeout;
      break;
  }
  proto.SetExtField("queueId", std::to_string(queue_id));
  proto.SetExtField("TRACE_ON", "true");
  proto.SetExtField("MSG_REGION", "DefaultRegion");
  proto.SetExtField("msgId", result->offset_msg_ids());
  proto.SetExtField("queueOffset", std::to_string(result->queue_offset.value()));
}

// One message of a batch body (remoting spec 5.6).
struct BatchEntry {
  int32_t flag = 0;
  std::string body;
  std::string properties;
};

uint32_t ReadBe32(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}

// Decodes TOTALSIZE MAGIC BODYCRC FLAG BODYLEN BODY PROPLEN PROPS records (big-endian);
// InvalidArgument when a record is truncated or its TOTALSIZE disagrees with its lengths.
absl::StatusOr<std::vector<BatchEntry>> DecodeBatchBody(std::string_view body) {
  std::vector<BatchEntry> out;
  size_t p = 0;
  while (p < body.size()) {
    if (body.size() - p < 22) return absl::InvalidArgumentError("truncated batch message");
    uint32_t total = ReadBe32(body, p);
    BatchEntry e;
    e.flag = static_cast<int32_t>(ReadBe32(body, p + 12));
    uint32_t body_len = ReadBe32(body, p + 16);
    if (body_len > body.size() - p - 22) {
      return absl::InvalidArgumentError("batch message body length out of range");
    }
    size_t q = p + 20 + body_len;
    uint32_t props_len = (static_cast<uint32_t>(static_cast<uint8_t>(body[q])) << 8) |
                         static_cast<uint32_t>(static_cast<uint8_t>(body[q + 1]));
    if (props_len > body.size() - q - 2) {
      return absl::InvalidArgumentError("batch message properties length out of range");
    }
    if (total != 22 + body_len + props_len) {
      return absl::InvalidArgumentError("batch message TOTALSIZE does not match its lengths");
    }
    e.body = std::string(body.substr(p + 20, body_len));
    e.properties = std::string(body.substr(q + 2, props_len));
    out.push_back(std::move(e));
    p += total;
  }
  if (out.empty()) return absl::InvalidArgumentError("empty batch");
  return out;
}

// props without `key`.
libstore::Properties RemoveProperty(const libstore::Properties& props, std::string_view key) {
  libstore::Properties out;
  for (const auto& [k, v] : props.entries()) {
    if (k != key) out.Set(k, v);
  }
  return out;
}

bool IsTransactional(const std::string& encoded) {
  std::optional<std::string_view> t = libstore::FindProperty(encoded, "TRAN_MSG");
  return t.has_value() && (*t == "true" || *t == "TRUE" || *t == "True");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Broker>> Broker::Open(const config::BrokerConfig& config) {
  libstore::StoreOptions options = config::ToStoreOptions(config);
  absl::StatusOr<std::vector<int64_t>> delays = ParseDelayLevels(config.message_delay_level);
  if (!delays.ok()) return delays.status();
  absl::StatusOr<std::unique_ptr<libstore::MessageStore>> store =
      libstore::MessageStore::Open(options);
  if (!store.ok()) return store.status();
  std::unique_ptr<Broker> broker(new Broker(config, std::move(*store)));
  Broker& b = *broker;
  // On a startup error the store closes cleanly and the metadata files stay as they are.
  auto fail = [&b](absl::Status s) {
    b.closed_ = true;
    (void)b.store_->Close();
    return s;
  };
  const std::string config_dir = options.root_dir + "/config/";
  b.offsets_path_ = config_dir + "consumerOffset.json";
  if (absl::Status s = b.offsets_.Load(b.offsets_path_); !s.ok()) return fail(s);

  // Topics: the file, then the broker's own topics when missing (the file wins, as in Java).
  std::error_code ec;
  const bool had_topics_file = std::filesystem::exists(config_dir + "topics.json", ec) ||
                               std::filesystem::exists(config_dir + "topics.json.bak", ec);
  b.topics_ = std::make_unique<TopicConfigManager>(config_dir + "topics.json");
  if (absl::Status s = b.topics_->Load(); !s.ok()) return fail(s);
  if (config.auto_create_topic_enable) {
    absl::StatusOr<TopicConfig> t =
        b.topics_->EnsureSystemTopic(kAutoCreateTopicKey, config.default_topic_queue_nums,
                                     kPermRead | kPermWrite | kPermInherit);
    if (!t.ok()) return fail(t.status());
  }
  absl::StatusOr<TopicConfig> sched = b.topics_->EnsureSystemTopic(
      kScheduleTopic, static_cast<int32_t>(delays->size()), kPermRead | kPermWrite);
  if (!sched.ok()) return fail(sched.status());
  // A store written without topics.json (an embedded store, an older brokerd) keeps serving
  // the topics of its queues. With a topics file, the file is the truth (a deleted topic stays
  // deleted).
  std::map<std::string, int32_t> stored;
  for (const auto& [topic, queue_id] :
       had_topics_file ? std::vector<std::pair<std::string, int32_t>>() : b.store_->ListQueues()) {
    stored[topic] = std::max(stored[topic], queue_id + 1);
  }
  for (const auto& [topic, queues] : stored) {
    if (b.topics_->Find(topic).has_value()) continue;
    absl::StatusOr<TopicConfig> t = b.topics_->EnsureSystemTopic(
        topic, std::min(queues, kMaxTopicQueueNums), kPermRead | kPermWrite);
    if (!t.ok()) {
      std::fprintf(stderr, "brokerd: stored queues of topic %s not registered: %s\n", topic.c_str(),
                   t.status().ToString().c_str());
    }
  }
  b.groups_ = std::make_unique<SubscriptionGroupManager>(config_dir + "subscriptionGroup.json");
  if (absl::Status s = b.groups_->Load(); !s.ok()) return fail(s);
  if (absl::Status s = b.groups_->EnsureSystemGroups(); !s.ok()) return fail(s);

  std::shared_ptr<HoldState> hold = b.hold_;
  b.schedule_ = std::make_unique<ScheduleService>(b.store_.get(), std::move(*delays),
                                                  config_dir + "delayOffset.json", [hold] {
                                                    {
                                                      std::lock_guard<std::mutex> lock(hold->mu);
                                                      hold->woken = true;
                                                    }
                                                    hold->cv.notify_all();
                                                  });
  if (absl::Status s = b.schedule_->Load(); !s.ok()) return fail(s);
  TransactionOptions tx;
  tx.timeout_ms = config.transaction_timeout_ms;
  tx.check_max = config.transaction_check_max;
  tx.check_interval_ms = config.transaction_check_interval_ms;
  absl::StatusOr<libstore::HostAddress> self =
      libstore::HostAddress::Parse(config.broker_ip1 + ":" + std::to_string(config.listen_port));
  if (self.ok()) tx.broker_host = *self;
  b.tx_ = std::make_unique<TransactionService>(
      b.store_.get(), &b.offsets_, tx,
      [&b](const std::string& group) { return b.FindProducer(group); },
      [hold] {
        {
          std::lock_guard<std::mutex> lock(hold->mu);
          hold->woken = true;
        }
        hold->cv.notify_all();
      });
  b.schedule_->Start();
  b.tx_->Start();
  b.hold_thread_ = std::thread([&b] { b.HoldLoop(); });
  return broker;
}

Broker::Broker(config::BrokerConfig config, std::unique_ptr<libstore::MessageStore> store)
    : config_(std::move(config)),
      store_(std::move(store)),
      locks_(config_.rebalance_lock_max_live_time_ms),
      boot_timestamp_ms_(configfile::NowMs()) {}

Broker::~Broker() { (void)Close(); }

absl::Status Broker::PersistOffsets() { return offsets_.Persist(offsets_path_); }

absl::Status Broker::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::OkStatus();
    closed_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(hold_->mu);
    hold_->stop = true;
  }
  hold_->cv.notify_all();
  if (hold_thread_.joinable()) hold_thread_.join();
  if (tx_ != nullptr) tx_->Stop();
  absl::Status delays = schedule_ != nullptr ? schedule_->Stop() : absl::OkStatus();
  if (!delays.ok()) {
    std::fprintf(stderr, "brokerd: persist delay offsets: %s\n", delays.ToString().c_str());
  }
  absl::Status offsets = PersistOffsets();
  absl::Status store = store_->Close();
  return !offsets.ok() ? offsets : store;
}

uint64_t Broker::topics_version() const {
  return static_cast<uint64_t>(topics_->data_version().counter);
}

RemotingCommand Broker::MakeRegisterRequest(int32_t opaque) const {
  RemotingCommand cmd = remoting::MakeRequest(req::kRegisterBroker, opaque);
  cmd.body = "{\"filterServerList\":[],\"topicConfigSerializeWrapper\":" +
             topics_->ToJson(JsonStyle::kCompact) + "}";
  uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(cmd.body.data()),
                                             static_cast<uInt>(cmd.body.size()))) &
                 0x7FFFFFFFu;
  cmd.SetExtField("brokerAddr", config_.broker_ip1 + ":" + std::to_string(config_.listen_port));
  cmd.SetExtField("brokerId", std::to_string(config_.broker_id));
  cmd.SetExtField("brokerName", config_.broker_name);
  cmd.SetExtField("clusterName", config_.broker_cluster_name);
  cmd.SetExtField("haServerAddr",
                  config_.broker_ip2 + ":" + std::to_string(config_.ha_listen_port));
  cmd.SetExtField("compressed", "false");
  cmd.SetExtField("bodyCrc32", std::to_string(crc));
  return cmd;
}

RemotingCommand Broker::MakeUnregisterRequest(int32_t opaque) const {
  RemotingCommand cmd = remoting::MakeRequest(req::kUnregisterBroker, opaque);
  cmd.SetExtField("brokerAddr", config_.broker_ip1 + ":" + std::to_string(config_.listen_port));
  cmd.SetExtField("brokerId", std::to_string(config_.broker_id));
  cmd.SetExtField("brokerName", config_.broker_name);
  cmd.SetExtField("clusterName", config_.broker_cluster_name);
  return cmd;
}

std::map<std::string, TopicConfig> Broker::TopicsSnapshot() const { return topics_->Snapshot(); }

void Broker::Handle(net::Connection& conn, RemotingCommand request) {
  if (request.IsResponse()) return;  // our 39/40 requests are oneway: nothing to match
  RemotingCommand response;
  switch (request.code) {
    case req::kSendMessage:
    case req::kSendMessageV2:
    case req::kSendBatchMessage:
      HandleSend(conn, request);
      return;
    case req::kConsumerSendMsgBack:
      HandleSendBack(conn, request);
      return;
    case req::kPullMessage:
      response = HandlePull(request);
      if (response.code == rc::kPullNotFound && MaybeHold(conn, request)) return;
      break;
    case req::kQueryConsumerOffset:
      response = HandleQueryOffset(request);
      break;
    case req::kUpdateConsumerOffset:
      response = HandleUpdateOffset(request);
      break;
    case req::kGetMaxOffset:
      response = HandleQueueOffset(request, /*max=*/true);
      break;
    case req::kGetMinOffset:
      response = HandleQueueOffset(request, /*max=*/false);
      break;
    case req::kViewMessageById:
      response = HandleViewMessage(request);
      break;
    case req::kQueryMessage:
      response = HandleQueryMessage(request);
      break;
    case req::kSearchOffsetByTimestamp:
      response = HandleSearchOffset(request);
      break;
    case req::kGetEarliestMsgStoretime:
      response = HandleEarliestStoreTime(request);
      break;
    case req::kHeartBeat:
      response = HandleHeartbeat(conn, request);
      break;
    case req::kUnregisterClient:
      response = HandleUnregister(request);
      break;
    case req::kGetConsumerListByGroup:
      response = HandleConsumerList(request);
      break;
    case req::kEndTransaction:
      HandleEndTransaction(conn, request);
      return;
    case req::kLockBatchMq:
      response = HandleLockBatch(request);
      break;
    case req::kUnlockBatchMq:
      response = HandleUnlockBatch(request);
      break;
    case req::kUpdateAndCreateTopic:
      response = HandleCreateTopic(request);
      break;
    case req::kDeleteTopicInBroker:
      response = HandleDeleteTopic(request);
      break;
    case req::kGetAllTopicConfig:
      response = HandleAllTopicConfig(request);
      break;
    case req::kGetAllSubscriptionGroupConfig:
      response = HandleAllGroupConfig(request);
      break;
    case req::kGetBrokerRuntimeInfo:
      response = HandleRuntimeInfo(request);
      break;
    default:
      response = MakeResponse(request, rc::kRequestCodeNotSupported,
                              " request type " + std::to_string(request.code) + " not supported");
      break;
  }
  if (request.IsOneway()) return;
  if (absl::Status s = conn.Send(response); !s.ok()) {
    std::fprintf(stderr, "brokerd: send to %s: %s\n", conn.peer().c_str(), s.ToString().c_str());
  }
}

absl::StatusOr<TopicConfig> Broker::FindOrCreateTopic(const std::string& topic,
                                                      const std::string& default_topic,
                                                      int32_t default_queue_nums) {
  if (std::optional<TopicConfig> t = topics_->Find(topic); t.has_value()) return *t;
  if (topic.rfind(kRetryGroupTopicPrefix, 0) == 0) {
    return topics_->EnsureRetryTopic(topic.substr(kRetryGroupTopicPrefix.size()), 1);
  }
  if (!config_.auto_create_topic_enable) {
    return absl::NotFoundError("topic[" + topic + "] not exist, apply first please!");
  }
  absl::StatusOr<TopicConfig> created =
      topics_->CreateFromDefault(topic, default_topic, default_queue_nums);
  if (absl::IsNotFound(created.status())) {
    return absl::NotFoundError("topic[" + topic + "] not exist, apply first please!");
  }
  return created;
}

void Broker::EnsureSystemTopic(const std::string& topic, int32_t queues, int32_t perm) {
  if (absl::StatusOr<TopicConfig> t = topics_->EnsureSystemTopic(topic, queues, perm); !t.ok()) {
    std::fprintf(stderr, "brokerd: create topic %s: %s\n", topic.c_str(),
                 t.status().ToString().c_str());
  }
}

void Broker::HandleSend(net::Connection& conn, const RemotingCommand& request) {
  const bool v2 = request.code == req::kSendMessageV2 || request.code == req::kSendBatchMessage;
  auto name = [v2](const char* v1, const char* short_name) { return v2 ? short_name : v1; };
  auto reject = [&](int32_t code, std::string remark) {
    if (request.IsOneway()) return;
    (void)conn.Send(MakeResponse(request, code, std::move(remark)));
  };
  absl::StatusOr<std::string> group = request.GetString(name("producerGroup", "a"));
  absl::StatusOr<std::string> topic = request.GetString(name("topic", "b"));
  absl::StatusOr<std::string> default_topic = request.GetString(name("defaultTopic", "c"));
  absl::StatusOr<int32_t> default_nums = request.GetInt32(name("defaultTopicQueueNums", "d"));
  absl::StatusOr<int32_t> queue_id = request.GetInt32(name("queueId", "e"));
  absl::StatusOr<int32_t> sys_flag = request.GetInt32(name("sysFlag", "f"));
  absl::StatusOr<int64_t> born = request.GetInt64(name("bornTimestamp", "g"));
  absl::StatusOr<int32_t> flag = request.GetInt32(name("flag", "h"));
  absl::StatusOr<int32_t> reconsume = request.GetInt32Or(name("reconsumeTimes", "j"), 0);
  absl::StatusOr<bool> batch = request.GetBoolOr(name("batch", "m"), false);
  for (const absl::Status& s : {group.status(), topic.status(), default_topic.status(),
                                default_nums.status(), queue_id.status(), sys_flag.status(),
                                born.status(), flag.status(), reconsume.status(), batch.status()}) {
    if (!s.ok()) return reject(rc::kSystemError, StatusRemark(s));
  }
  if (absl::Status valid = ValidateTopicName(*topic); !valid.ok()) {
    return reject(rc::kSystemError, StatusRemark(valid));
  }
  if (NotAllowedSendTopic(*topic)) {
    return reject(rc::kNoPermission, "Sending message to topic[" + *topic + "] is forbidden.");
  }
  absl::StatusOr<TopicConfig> tc = FindOrCreateTopic(*topic, *default_topic, *default_nums);
  if (!tc.ok()) {
    return reject(absl::IsNotFound(tc.status()) ? rc::kTopicNotExist : rc::kSystemError,
                  StatusRemark(tc.status()));
  }
  if ((tc->perm & kPermWrite) == 0) {
    return reject(rc::kNoPermission, "the topic[" + *topic + "] sending message is forbidden");
  }
  int32_t qid = *queue_id;
  if (qid < 0) {
    std::lock_guard<std::mutex> lock(mu_);
    qid = static_cast<int32_t>(next_queue_++ % static_cast<uint32_t>(tc->write_queue_nums));
  }
  if (qid >= std::max(tc->read_queue_nums, tc->write_queue_nums)) {
    return reject(rc::kSystemError,
                  "request queueId[" + std::to_string(qid) + "] is illegal, topic[" + *topic + "]");
  }
  const std::string* props = request.FindExtField(name("properties", "i"));
  if (props != nullptr && props->size() > kMaxPropertiesBytes) {
    return reject(rc::kMessageIllegal,
                  "properties size exceeds " + std::to_string(kMaxPropertiesBytes) + " bytes");
  }
  if (request.body.size() > static_cast<size_t>(config_.max_message_size)) {
    return reject(rc::kMessageIllegal, "message body size exceeds maxMessageSize " +
                                           std::to_string(config_.max_message_size));
  }

  libstore::HostAddress born_host;
  if (absl::StatusOr<libstore::HostAddress> host = libstore::HostAddress::Parse(conn.peer());
      host.ok()) {
    born_host = *host;
  } else {
    born_host.ip_bytes = std::string("\x7f\0\0\x01", 4);
  }

  if (*batch) {
    // A batch: every message goes to qid with the header's sysFlag, bornTimestamp and host; the
    // header's properties (plus CLUSTER) are appended to each message's own (WAIT included).
    if (topic->rfind("%RETRY%", 0) == 0) {
      return reject(rc::kMessageIllegal, "batch request does not support retry group");
    }
    const std::string header_props = props != nullptr ? *props : "";
    if ((*sys_flag & libstore::sysflag::kTransactionMask) != 0 || IsTransactional(header_props)) {
      return reject(rc::kMessageIllegal, "batch message does not support transaction");
    }
    if (DelayLevelOf(header_props) > 0) {
      return reject(rc::kMessageIllegal, "batch message does not support delay");
    }
    absl::StatusOr<std::vector<BatchEntry>> entries = DecodeBatchBody(request.body);
    if (!entries.ok()) return reject(rc::kMessageIllegal, StatusRemark(entries.status()));
    // As the 4.9.7 broker stores it: "CLUSTER\x01c" first (HashMap order for the usual
    // {WAIT, CLUSTER}), then the header's other properties, no trailing separator.
    std::string appended = "CLUSTER\x01" + config_.broker_cluster_name;
    const libstore::Properties header_entries = libstore::Properties::Decode(header_props);
    for (const auto& [k, v] : header_entries.entries()) {
      if (k == "CLUSTER") continue;
      appended += '\x02' + k + '\x01' + v;
    }
    std::vector<libstore::MessageToStore> msgs;
    msgs.reserve(entries->size());
    for (BatchEntry& e : *entries) {
      if (IsTransactional(e.properties)) {
        return reject(rc::kMessageIllegal, "batch message does not support transaction");
      }
      if (DelayLevelOf(e.properties) > 0) {
        return reject(rc::kMessageIllegal, "batch message does not support delay");
      }
      libstore::MessageToStore m;
      m.topic = *topic;
      m.queue_id = qid;
      m.flag = e.flag;
      m.sys_flag = *sys_flag;
      m.body = std::move(e.body);
      m.properties = std::move(e.properties);
      if (!m.properties.empty() && !appended.empty() && m.properties.back() != '\x02') {
        m.properties.push_back('\x02');
      }
      m.properties += appended;
      if (m.properties.size() > kMaxPropertiesBytes) {
        return reject(rc::kMessageIllegal,
                      "properties size exceeds " + std::to_string(kMaxPropertiesBytes) + " bytes");
      }
      m.born_timestamp_ms = *born;
      m.born_host = born_host;
      m.reconsume_times = *reconsume;
      msgs.push_back(std::move(m));
    }
    // Stored without blocking the net loop; answered from the completion.
    PutAndRespond(conn, request, msgs, qid);
    return;
  }

  libstore::MessageToStore msg;
  msg.topic = *topic;
  msg.queue_id = qid;
  msg.flag = *flag;
  msg.sys_flag = *sys_flag;
  msg.body = request.body;
  msg.properties = StoredProperties(props != nullptr ? *props : "", config_.broker_cluster_name);
  msg.born_timestamp_ms = *born;
  msg.born_host = born_host;
  msg.reconsume_times = *reconsume;

  // A transactional message is stored as a half message until END_TRANSACTION decides it.
  if (IsTransactional(msg.properties)) {
    EnsureSystemTopic(std::string(kTransHalfTopic), 1, kPermRead | kPermWrite);
    EnsureSystemTopic(std::string(kTransOpHalfTopic), 1, kPermRead | kPermWrite);
    EnsureSystemTopic(std::string(kTransCheckMaxTimeTopic), 1, kPermRead | kPermWrite);
    TransactionService::ToHalf(msg);
    PutAndRespond(conn, request, std::span<const libstore::MessageToStore>(&msg, 1), qid);
    return;
  }
  // A message sent straight to a retry topic (the client's fallback when send-back failed)
  // goes to the group's DLQ once it was consumed too often (RocketMQ's handleRetryAndDLQ).
  if (topic->rfind(kRetryGroupTopicPrefix, 0) == 0) {
    absl::StatusOr<int32_t> max_times =
        request.GetInt32Or(name("maxReconsumeTimes", "l"), kDefaultMaxReconsumeTimes);
    if (!max_times.ok()) return reject(rc::kSystemError, StatusRemark(max_times.status()));
    if (*reconsume >= *max_times) {
      std::string group = topic->substr(kRetryGroupTopicPrefix.size());
      msg.topic = std::string(kDlqGroupTopicPrefix) + group;
      msg.queue_id = 0;
      if (absl::StatusOr<TopicConfig> dlq = topics_->EnsureDlqTopic(group); !dlq.ok()) {
        return reject(rc::kSystemError, StatusRemark(dlq.status()));
      }
      msg.properties = EncodeStoredProperties(
          RemoveProperty(libstore::Properties::Decode(msg.properties), libstore::property::kDelay));
    }
  }
  // Delayed delivery: not for prepared or rolled-back transactional messages.
  const int32_t tran_type = *sys_flag & libstore::sysflag::kTransactionMask;
  if (tran_type == 0 || tran_type == libstore::sysflag::kTransactionCommit) {
    if (int32_t level = DelayLevelOf(msg.properties); level > 0) {
      schedule_->Divert(msg, level);
    }
  }
  PutAndRespond(conn, request, std::span<const libstore::MessageToStore>(&msg, 1), qid);
}

void Broker::PutAndRespond(net::Connection& conn, const RemotingCommand& request,
                           std::span<const libstore::MessageToStore> msgs,
                           int32_t reported_queue_id) {
  const bool oneway = request.IsOneway();
  // Back-pressure: a full put queue answers SYSTEM_BUSY (clients retry another broker or
  // later) instead of queueing without bound.
  if (inflight_puts_->fetch_add(1) >= config_.send_thread_pool_queue_capacity) {
    inflight_puts_->fetch_sub(1);
    if (!oneway) {
      (void)conn.Send(MakeResponse(
          request, rc::kSystemBusy,
          "[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "
          "0ms, size of queue: " +
              std::to_string(config_.send_thread_pool_queue_capacity)));
    }
    return;
  }
  std::shared_ptr<net::Connection> target = conn.shared_from_this();
  RemotingCommand proto = MakeResponse(request, rc::kSuccess);
  const bool send_back = request.code == req::kConsumerSendMsgBack;
  store_->PutBatchAsync(msgs, [target, proto = std::move(proto), oneway, reported_queue_id,
                               send_back, inflight = inflight_puts_,
                               hold = hold_](absl::StatusOr<libstore::PutResult> result) mutable {
    inflight->fetch_sub(1);
    if (result.ok()) {
      // Wake the hold thread if pulls are held, once per scan: a put that finds `woken` set
      // has a wake-up on its way already (no futex wake per put).
      bool wake = false;
      {
        std::lock_guard<std::mutex> lock(hold->mu);
        wake = (!hold->held.empty() || hold->scanning) && !hold->woken;
        if (wake) hold->woken = true;
      }
      if (wake) hold->cv.notify_one();
    }
    if (oneway) return;
    if (send_back) {
      // CONSUMER_SEND_MSG_BACK answers only a code (and the error).
      if (!result.ok()) {
        proto.code = rc::kSystemError;
        proto.remark = std::string(result.status().message());
      } else if (result->status != libstore::PutStatus::kOk) {
        proto.code = rc::kSystemError;
        proto.remark = "store the message failed";
      }
    } else {
      FillSendResponse(result, reported_queue_id, proto);
    }
    if (absl::Status s = target->Send(proto); !s.ok()) {
      std::fprintf(stderr, "brokerd: send response: %s\n", s.ToString().c_str());
    }
  });
}

void Broker::HandleSendBack(net::Connection& conn, const RemotingCommand& request) {
  auto reject = [&](int32_t code, std::string remark) {
    if (request.IsOneway()) return;
    (void)conn.Send(MakeResponse(request, code, std::move(remark)));
  };
  absl::StatusOr<int64_t> offset = request.GetInt64("offset");
  absl::StatusOr<std::string> group = request.GetString("group");
  absl::StatusOr<int32_t> delay_level = request.GetInt32Or("delayLevel", 0);
  absl::StatusOr<int32_t> max_times =
      request.GetInt32Or("maxReconsumeTimes", kDefaultMaxReconsumeTimes);
  for (const absl::Status& s :
       {offset.status(), group.status(), delay_level.status(), max_times.status()}) {
    if (!s.ok()) return reject(rc::kSystemError, StatusRemark(s));
  }
  absl::StatusOr<SubscriptionGroupConfig> sub = FindGroup(*group);
  if (!sub.ok()) {
    return reject(
        absl::IsNotFound(sub.status()) ? rc::kSubscriptionGroupNotExist : rc::kSystemError,
        StatusRemark(sub.status()));
  }
  if (sub->retry_queue_nums <= 0) {  // retry disabled for the group: the message is dropped
    if (!request.IsOneway()) (void)conn.Send(MakeResponse(request, rc::kSuccess));
    return;
  }
  absl::StatusOr<libstore::MessageRef> ref =
      store_->GetMessageByOffset(libstore::PhysicalOffset(*offset));
  if (!ref.ok()) {
    return reject(rc::kSystemError, "look message by offset failed, " + std::to_string(*offset));
  }
  const libstore::StoredMessage& orig = ref->message;
  libstore::Properties props = libstore::Properties::Decode(orig.properties);
  if (!props.Get(kPropertyRetryTopic).has_value()) {
    props.Set(kPropertyRetryTopic, orig.topic);
  }
  props.Set(kPropertyWait, "false");
  if (!props.Get(kPropertyOriginMessageId).has_value()) {
    props.Set(kPropertyOriginMessageId,
              libstore::EncodeOffsetMsgId(orig.store_host, orig.physical_offset));
  }
  libstore::MessageToStore msg;
  msg.flag = orig.flag;
  msg.sys_flag = orig.sys_flag;
  msg.body = std::string(orig.body);
  msg.born_timestamp_ms = orig.born_timestamp_ms;
  msg.born_host = orig.born_host;
  msg.reconsume_times = orig.reconsume_times + 1;
  // The client's maximum counts from protocol V3_4_9 on (ali-ons sends 121); older clients get
  // the subscription group's retryMaxTimes.
  const int32_t max_reconsume =
      request.version >= remoting::version::kV3_4_9 ? *max_times : sub->retry_max_times;
  int32_t level = *delay_level;
  if (orig.reconsume_times >= max_reconsume || level < 0) {
    absl::StatusOr<TopicConfig> dlq = topics_->EnsureDlqTopic(*group);
    if (!dlq.ok()) return reject(rc::kSystemError, StatusRemark(dlq.status()));
    msg.topic = dlq->name;
    msg.queue_id = 0;
    msg.properties = EncodeStoredProperties(RemoveProperty(props, libstore::property::kDelay));
  } else {
    absl::StatusOr<TopicConfig> retry = topics_->EnsureRetryTopic(*group, sub->retry_queue_nums);
    if (!retry.ok()) return reject(rc::kSystemError, StatusRemark(retry.status()));
    msg.topic = retry->name;
    {
      std::lock_guard<std::mutex> lock(mu_);
      msg.queue_id =
          static_cast<int32_t>(next_queue_++ % static_cast<uint32_t>(retry->write_queue_nums));
    }
    if (level == 0) level = 3 + orig.reconsume_times;
    msg.properties = EncodeStoredProperties(props);
    schedule_->Divert(msg, level);
  }
  if (msg.properties.size() > kMaxPropertiesBytes) {
    return reject(rc::kMessageIllegal,
                  "properties size exceeds " + std::to_string(kMaxPropertiesBytes) + " bytes");
  }
  PutAndRespond(conn, request, std::span<const libstore::MessageToStore>(&msg, 1), 0);
}

bool Broker::MaybeHold(net::Connection& conn, const RemotingCommand& request) {
  absl::StatusOr<int32_t> sys_flag = request.GetInt32Or("sysFlag", 0);
  absl::StatusOr<int64_t> suspend = request.GetInt64Or("suspendTimeoutMillis", 0);
  if (request.IsOneway() || !sys_flag.ok() || (*sys_flag & 0x2) == 0 || !suspend.ok()) {
    return false;
  }
  int64_t hold_ms = config_.long_polling_enable ? *suspend : config_.short_polling_time_ms;
  hold_ms = std::clamp<int64_t>(hold_ms, 0, kMaxSuspendMs);
  if (hold_ms == 0) return false;
  HeldPull held;
  held.conn = conn.shared_from_this();
  held.request = request;
  held.topic = *request.GetString("topic");
  held.queue_id = *request.GetInt32("queueId");
  held.offset = *request.GetInt64("queueOffset");
  held.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(hold_ms);
  const std::string topic = held.topic;
  const int32_t queue_id = held.queue_id;
  const int64_t offset = held.offset;
  {
    std::lock_guard<std::mutex> lock(hold_->mu);
    if (hold_->stop || hold_->held.size() >= kMaxHeldPulls) return false;
    hold_->held.push_back(std::move(held));
  }
  // Puts wake the hold thread only while something is held: one that completed between the
  // pull's look and the push above did not, so look again now if the queue has grown meanwhile
  // (outside hold_->mu: put completions take it, possibly under the store's own locks).
  if (store_->GetMaxOffset(topic, queue_id).value() > offset) {
    {
      std::lock_guard<std::mutex> lock(hold_->mu);
      hold_->woken = true;
    }
    hold_->cv.notify_all();
  }
  return true;
}

void Broker::HoldLoop() {
  auto last_scan = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(hold_->mu);
  while (!hold_->stop) {
    hold_->cv.wait_for(lock, std::chrono::milliseconds(kHoldCheckIntervalMs),
                       [&] { return hold_->stop || hold_->woken; });
    if (hold_->stop) break;
    if (std::chrono::steady_clock::now() - last_scan >
        std::chrono::milliseconds(kClientScanIntervalMs)) {
      last_scan = std::chrono::steady_clock::now();
      lock.unlock();
      ExpireSilentClients();
      lock.lock();
    }
    hold_->woken = false;
    if (hold_->held.empty()) continue;
    std::vector<HeldPull> held = std::move(hold_->held);
    hold_->held.clear();
    hold_->scanning = true;
    lock.unlock();
    std::vector<HeldPull> keep;
    auto now = std::chrono::steady_clock::now();
    for (HeldPull& h : held) {
      if (h.conn->closed()) continue;
      bool arrived = store_->GetMaxOffset(h.topic, h.queue_id).value() > h.offset;
      if (!arrived && now < h.deadline) {
        keep.push_back(std::move(h));
        continue;
      }
      RemotingCommand response = HandlePull(h.request);
      if (response.code == rc::kPullNotFound && now < h.deadline) {
        keep.push_back(std::move(h));  // arrived but not yet dispatched: look again
        continue;
      }
      if (absl::Status s = h.conn->Send(response); !s.ok()) {
        std::fprintf(stderr, "brokerd: send held pull response: %s\n", s.ToString().c_str());
      }
    }
    lock.lock();
    hold_->scanning = false;
    for (HeldPull& h : keep) hold_->held.push_back(std::move(h));
  }
}

std::vector<std::string> Broker::HeartbeatTags(const std::string& group, const std::string& topic) {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = consumers_.find(group);
  if (g == consumers_.end()) return {};
  for (const auto& [client, info] : g->second) {
    auto t = info.subscriptions.find(topic);
    if (t != info.subscriptions.end()) return t->second;
  }
  return {};
}

RemotingCommand Broker::HandlePull(const RemotingCommand& request) {
  absl::StatusOr<std::string> group = request.GetString("consumerGroup");
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> queue_id = request.GetInt32("queueId");
  absl::StatusOr<int64_t> offset = request.GetInt64("queueOffset");
  absl::StatusOr<int32_t> max_nums = request.GetInt32Or("maxMsgNums", kMaxPullMessages);
  absl::StatusOr<int32_t> sys_flag = request.GetInt32Or("sysFlag", 0);
  absl::StatusOr<int64_t> commit = request.GetInt64Or("commitOffset", -1);
  for (const absl::Status& s : {group.status(), topic.status(), queue_id.status(), offset.status(),
                                max_nums.status(), sys_flag.status(), commit.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  absl::StatusOr<SubscriptionGroupConfig> group_config = FindGroup(*group);
  if (!group_config.ok()) {
    return MakeResponse(
        request,
        absl::IsNotFound(group_config.status()) ? rc::kSubscriptionGroupNotExist : rc::kSystemError,
        StatusRemark(group_config.status()));
  }
  if (!group_config->consume_enable) {
    return MakeResponse(request, rc::kNoPermission, "subscription group no permission, " + *group);
  }
  if ((*sys_flag & 0x1) != 0) offsets_.Commit(*group, *topic, *queue_id, *commit);

  libstore::GetRequest get;
  get.topic = *topic;
  get.queue_id = *queue_id;
  get.offset = libstore::QueueOffset(*offset);
  get.max_count = std::clamp(*max_nums, 1, config_.max_transfer_count_on_message_in_memory);
  get.max_bytes = config_.max_transfer_bytes_on_message_in_memory;
  const std::string* sub = request.FindExtField("subscription");
  if ((*sys_flag & 0x4) != 0 && sub != nullptr) {
    get.tags = ParseTagExpression(*sub);
  } else {
    get.tags = HeartbeatTags(*group, *topic);
  }
  libstore::GetResult result = store_->GetMessages(get);
  int32_t code = PullCode(result.status, *offset);
  RemotingCommand response =
      MakeResponse(request, code, std::string(libstore::GetStatusName(result.status)));
  int64_t next = result.next_begin_offset.value();
  if (result.status == libstore::GetStatus::kNoMatchedLogicQueue ||
      result.status == libstore::GetStatus::kNoMessageInQueue) {
    next = 0;
  }
  response.SetExtField("suggestWhichBrokerId", "0");
  response.SetExtField("nextBeginOffset", std::to_string(next));
  response.SetExtField("maxOffset", std::to_string(result.max_offset.value()));
  response.SetExtField("minOffset", std::to_string(result.min_offset.value()));
  if (code == rc::kSuccess) {
    std::string body;
    body.reserve(static_cast<size_t>(result.total_bytes));
    for (const libstore::MessageRef& m : result.messages) body.append(m.message.record);
    response.body = std::move(body);
  }
  return response;
}

RemotingCommand Broker::HandleQueryOffset(const RemotingCommand& request) {
  absl::StatusOr<std::string> group = request.GetString("consumerGroup");
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> queue_id = request.GetInt32("queueId");
  for (const absl::Status& s : {group.status(), topic.status(), queue_id.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  std::optional<int64_t> offset = offsets_.Query(*group, *topic, *queue_id);
  if (!offset.has_value()) {
    // The 4.x broker answers 0 for a queue that still starts at 0 (its first message is "in
    // memory"), so a new group on a young topic reads from the beginning.
    if (store_->GetMinOffset(*topic, *queue_id).value() == 0) {
      offset = 0;
    } else {
      return MakeResponse(request, rc::kQueryNotFound,
                          "Not found, maybe this group consumer boot first");
    }
  }
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.SetExtField("offset", std::to_string(*offset));
  return response;
}

RemotingCommand Broker::HandleUpdateOffset(const RemotingCommand& request) {
  absl::StatusOr<std::string> group = request.GetString("consumerGroup");
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> queue_id = request.GetInt32("queueId");
  absl::StatusOr<int64_t> commit = request.GetInt64("commitOffset");
  for (const absl::Status& s :
       {group.status(), topic.status(), queue_id.status(), commit.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  offsets_.Commit(*group, *topic, *queue_id, *commit);
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.emit_empty_ext_fields = true;
  return response;
}

RemotingCommand Broker::HandleQueueOffset(const RemotingCommand& request, bool max) {
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> queue_id = request.GetInt32("queueId");
  for (const absl::Status& s : {topic.status(), queue_id.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  libstore::QueueOffset offset =
      max ? store_->GetMaxOffset(*topic, *queue_id) : store_->GetMinOffset(*topic, *queue_id);
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.SetExtField("offset", std::to_string(offset.value()));
  return response;
}

RemotingCommand Broker::HandleViewMessage(const RemotingCommand& request) {
  absl::StatusOr<int64_t> offset = request.GetInt64("offset");
  if (!offset.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(offset.status()));
  absl::StatusOr<libstore::MessageRef> ref =
      store_->GetMessageByOffset(libstore::PhysicalOffset(*offset));
  if (!ref.ok()) {
    return MakeResponse(request, rc::kSystemError,
                        "can not find message by the offset, " + std::to_string(*offset));
  }
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.body = std::string(ref->message.record);
  return response;
}

RemotingCommand Broker::HandleQueryMessage(const RemotingCommand& request) {
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<std::string> key = request.GetString("key");
  absl::StatusOr<int32_t> max_num = request.GetInt32("maxNum");
  absl::StatusOr<int64_t> begin = request.GetInt64("beginTimestamp");
  absl::StatusOr<int64_t> end = request.GetInt64("endTimestamp");
  absl::StatusOr<bool> unique = request.GetBoolOr("_UNIQUE_KEY_QUERY", false);
  for (const absl::Status& s : {topic.status(), key.status(), max_num.status(), begin.status(),
                                end.status(), unique.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  // A UNIQ_KEY lookup uses the broker's default maximum (RocketMQ's defaultQueryMaxNum).
  int32_t limit = *unique ? kDefaultQueryMaxNum : *max_num;
  absl::StatusOr<std::vector<libstore::MessageRef>> found =
      store_->QueryByKey(*topic, *key, limit, *begin, *end);
  if (!found.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(found.status()));
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  // The store keeps no index-file timestamps apart: report the newest store time returned and
  // the end of the dispatched (indexed) CommitLog.
  int64_t last_ts = 0;
  std::string body;
  for (const libstore::MessageRef& m : *found) {
    last_ts = std::max(last_ts, m.message.store_timestamp_ms);
    body.append(m.message.record);
  }
  response.SetExtField("indexLastUpdateTimestamp", std::to_string(last_ts));
  response.SetExtField("indexLastUpdatePhyoffset",
                       std::to_string(store_->GetStats().dispatched_offset.value()));
  if (body.empty()) {
    response.code = rc::kQueryNotFound;
    response.remark = "can not find message, maybe time range not correct";
  } else {
    response.body = std::move(body);
  }
  return response;
}

RemotingCommand Broker::HandleSearchOffset(const RemotingCommand& request) {
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> queue_id = request.GetInt32("queueId");
  absl::StatusOr<int64_t> timestamp = request.GetInt64("timestamp");
  for (const absl::Status& s : {topic.status(), queue_id.status(), timestamp.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  absl::StatusOr<libstore::QueueOffset> offset =
      store_->GetOffsetByTime(*topic, *queue_id, *timestamp);
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  // Like the Java store, an unknown queue answers 0.
  response.SetExtField("offset", std::to_string(offset.ok() ? offset->value() : 0));
  return response;
}

RemotingCommand Broker::HandleEarliestStoreTime(const RemotingCommand& request) {
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> queue_id = request.GetInt32("queueId");
  for (const absl::Status& s : {topic.status(), queue_id.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  absl::StatusOr<int64_t> ts = store_->GetEarliestStoreTime(*topic, *queue_id);
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  // Like the Java store, -1 when the queue holds nothing.
  response.SetExtField("timestamp", std::to_string(ts.ok() ? *ts : -1));
  return response;
}

namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::set<std::string> Broker::EraseClients(
    std::map<std::string, std::map<std::string, ClientInfo>>& registry,
    const std::function<bool(const std::string&, const std::string&, const ClientInfo&)>& pred) {
  std::set<std::string> changed;
  for (auto g = registry.begin(); g != registry.end();) {
    for (auto c = g->second.begin(); c != g->second.end();) {
      if (pred(g->first, c->first, c->second)) {
        changed.insert(g->first);
        c = g->second.erase(c);
      } else {
        ++c;
      }
    }
    g = g->second.empty() ? registry.erase(g) : std::next(g);
  }
  return changed;
}

absl::StatusOr<SubscriptionGroupConfig> Broker::FindGroup(const std::string& group) {
  if (config_.auto_create_subscription_group) return groups_->FindOrAutoCreate(group);
  std::optional<SubscriptionGroupConfig> found = groups_->Find(group);
  if (!found.has_value()) {
    return absl::NotFoundError("subscription group [" + group +
                               "] does not exist (autoCreateSubscriptionGroup=false)");
  }
  return *found;
}

RemotingCommand Broker::HandleHeartbeat(net::Connection& conn, const RemotingCommand& request) {
  nlohmann::json j = nlohmann::json::parse(request.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeResponse(request, rc::kSystemError, "heartbeat body is not a JSON object");
  }
  auto client = j.find("clientID");
  if (client == j.end() || !client->is_string()) {
    return MakeResponse(request, rc::kSystemError, "heartbeat without clientID");
  }
  const std::string client_id = client->get<std::string>();
  auto consumers = j.find("consumerDataSet");
  std::set<std::string> changed;
  if (consumers != j.end() && consumers->is_array()) {
    for (const auto& c : *consumers) {
      if (!c.is_object() || !c.contains("groupName") || !c["groupName"].is_string()) continue;
      std::string group = c["groupName"].get<std::string>();
      // Like 4.9.7, a group that does not exist (autoCreateSubscriptionGroup=false) still
      // registers; it just gets no retry topic (its pulls and send-backs are refused).
      absl::StatusOr<SubscriptionGroupConfig> sub = FindGroup(group);
      if (!sub.ok() && !absl::IsNotFound(sub.status())) {
        return MakeResponse(request, rc::kSystemError, StatusRemark(sub.status()));
      }
      // Every consumer group has its retry topic (the client subscribes it with "*").
      if (sub.ok() && sub->retry_queue_nums > 0) {
        if (absl::StatusOr<TopicConfig> t = topics_->EnsureRetryTopic(group, sub->retry_queue_nums);
            !t.ok()) {
          return MakeResponse(request, rc::kSystemError, StatusRemark(t.status()));
        }
      }
      ClientInfo info;
      info.conn_id = conn.id();
      info.conn = conn.weak_from_this();
      info.last_heartbeat_ms = SteadyNowMs();
      auto subs = c.find("subscriptionDataSet");
      if (subs != c.end() && subs->is_array()) {
        for (const auto& s : *subs) {
          if (!s.is_object() || !s.contains("topic") || !s["topic"].is_string()) continue;
          std::string expr = s.contains("subString") && s["subString"].is_string()
                                 ? s["subString"].get<std::string>()
                                 : "*";
          info.subscriptions[s["topic"].get<std::string>()] = ParseTagExpression(expr);
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      auto& members = consumers_[group];
      auto it = members.find(client_id);
      // A new member, a member on a new connection, or changed subscriptions (as 4.9.7).
      if (it == members.end() || it->second.conn_id != info.conn_id ||
          it->second.subscriptions != info.subscriptions) {
        changed.insert(group);
      }
      members[client_id] = std::move(info);
    }
  }
  auto producers = j.find("producerDataSet");
  if (producers != j.end() && producers->is_array()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : *producers) {
      if (!p.is_object() || !p.contains("groupName") || !p["groupName"].is_string()) continue;
      ClientInfo& info = producers_[p["groupName"].get<std::string>()][client_id];
      info.conn_id = conn.id();
      info.conn = conn.weak_from_this();
      info.last_heartbeat_ms = SteadyNowMs();
    }
  }
  if (!changed.empty()) NotifyGroupsChanged(changed);
  return MakeResponse(request, rc::kSuccess);
}

std::shared_ptr<net::Connection> Broker::FindProducer(const std::string& group) {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = producers_.find(group);
  if (g == producers_.end()) return nullptr;
  for (const auto& [id, info] : g->second) {
    if (std::shared_ptr<net::Connection> c = info.conn.lock(); c != nullptr && !c->closed()) {
      return c;
    }
  }
  return nullptr;
}

void Broker::HandleEndTransaction(net::Connection& conn, const RemotingCommand& request) {
  auto reject = [&](int32_t code, std::string remark) {
    if (request.IsOneway()) return;
    (void)conn.Send(MakeResponse(request, code, std::move(remark)));
  };
  absl::StatusOr<std::string> group = request.GetString("producerGroup");
  absl::StatusOr<int64_t> table_offset = request.GetInt64("tranStateTableOffset");
  absl::StatusOr<int64_t> commit_log_offset = request.GetInt64("commitLogOffset");
  absl::StatusOr<int32_t> decision = request.GetInt32("commitOrRollback");
  absl::StatusOr<bool> from_check = request.GetBoolOr("fromTransactionCheck", false);
  for (const absl::Status& s : {group.status(), table_offset.status(), commit_log_offset.status(),
                                decision.status(), from_check.status()}) {
    if (!s.ok()) return reject(rc::kSystemError, StatusRemark(s));
  }
  EndTransactionRequest end;
  end.producer_group = *group;
  end.tran_state_table_offset = *table_offset;
  end.commit_log_offset = *commit_log_offset;
  end.commit_or_rollback = *decision;
  end.from_transaction_check = *from_check;
  std::function<void(int32_t, std::string)> reply;
  if (!request.IsOneway()) {
    reply = [target = conn.shared_from_this(), proto = MakeResponse(request, rc::kSuccess)](
                int32_t code, std::string remark) mutable {
      proto.code = code;
      if (!remark.empty()) proto.remark = std::move(remark);
      if (absl::Status s = target->Send(proto); !s.ok()) {
        std::fprintf(stderr, "brokerd: send END_TRANSACTION response: %s\n", s.ToString().c_str());
      }
    };
  }
  tx_->End(std::move(end), std::move(reply));
}

RemotingCommand Broker::HandleUnregister(const RemotingCommand& request) {
  const std::string* client = request.FindExtField("clientID");
  const std::string* group = request.FindExtField("consumerGroup");
  const std::string* producer_group = request.FindExtField("producerGroup");
  if (client != nullptr && producer_group != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    auto g = producers_.find(*producer_group);
    if (g != producers_.end()) {
      g->second.erase(*client);
      if (g->second.empty()) producers_.erase(g);
    }
  }
  bool removed = false;
  if (client != nullptr && group != nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    auto g = consumers_.find(*group);
    if (g != consumers_.end()) {
      removed = g->second.erase(*client) > 0;
      if (g->second.empty()) consumers_.erase(g);
    }
  }
  if (removed) NotifyGroupsChanged({*group});
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.emit_empty_ext_fields = true;
  return response;
}

void Broker::NotifyGroupsChanged(const std::set<std::string>& groups) {
  std::vector<std::pair<std::string, std::shared_ptr<net::Connection>>> targets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& group : groups) {
      std::optional<SubscriptionGroupConfig> sub = groups_->Find(group);
      if (sub.has_value() && !sub->notify_consumer_ids_changed_enable) continue;
      auto g = consumers_.find(group);
      if (g == consumers_.end()) continue;
      std::set<uint64_t> seen;
      for (const auto& [id, info] : g->second) {
        std::shared_ptr<net::Connection> c = info.conn.lock();
        if (c != nullptr && seen.insert(c->id()).second) targets.emplace_back(group, std::move(c));
      }
    }
  }
  for (auto& [group, c] : targets) {
    RemotingCommand notify =
        remoting::MakeRequest(req::kNotifyConsumerIdsChanged, notify_opaque_.fetch_add(1));
    notify.flag |= remoting::kFlagOneway;
    notify.SetExtField("consumerGroup", group);
    if (absl::Status s = c->Send(notify); !s.ok()) {
      std::fprintf(stderr, "brokerd: notify %s of group %s: %s\n", c->peer().c_str(), group.c_str(),
                   s.ToString().c_str());
    }
  }
}

void Broker::ExpireSilentClients() {
  const int64_t now = SteadyNowMs();
  auto silent = [now](const std::string& group, const std::string& id, const ClientInfo& c) {
    if (now - c.last_heartbeat_ms <= kClientExpiryMs) return false;
    std::fprintf(stderr, "brokerd: client %s of group %s expired (no heartbeat for %lld ms)\n",
                 id.c_str(), group.c_str(), static_cast<long long>(now - c.last_heartbeat_ms));
    return true;
  };
  std::set<std::string> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = EraseClients(consumers_, silent);
    EraseClients(producers_, silent);
  }
  if (!changed.empty()) NotifyGroupsChanged(changed);
}

RemotingCommand Broker::HandleConsumerList(const RemotingCommand& request) {
  absl::StatusOr<std::string> group = request.GetString("consumerGroup");
  if (!group.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(group.status()));
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto g = consumers_.find(*group);
    if (g != consumers_.end()) {
      for (const auto& [id, info] : g->second) ids.push_back(id);
    }
  }
  if (ids.empty()) {
    return MakeResponse(request, rc::kSystemError, "no consumer for this group, " + *group);
  }
  nlohmann::ordered_json body;
  body["consumerIdList"] = ids;  // std::map order: sorted
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.emit_empty_ext_fields = true;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

void Broker::OnConnectionClosed(uint64_t conn_id) {
  auto on_conn = [conn_id](const std::string&, const std::string&, const ClientInfo& c) {
    return c.conn_id == conn_id;
  };
  std::set<std::string> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    changed = EraseClients(consumers_, on_conn);
    EraseClients(producers_, on_conn);
  }
  if (!changed.empty()) NotifyGroupsChanged(changed);
}

RemotingCommand Broker::HandleLockBatch(const RemotingCommand& request) {
  absl::StatusOr<QueueLockRequest> body = DecodeQueueLockRequest(request.body);
  if (!body.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(body.status()));
  std::set<MessageQueue> locked =
      locks_.TryLockBatch(body->consumer_group, body->client_id, body->mq_set);
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.body = EncodeLockBatchResponse(locked);
  return response;
}

RemotingCommand Broker::HandleUnlockBatch(const RemotingCommand& request) {
  absl::StatusOr<QueueLockRequest> body = DecodeQueueLockRequest(request.body);
  if (!body.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(body.status()));
  locks_.UnlockBatch(body->consumer_group, body->client_id, body->mq_set);
  return MakeResponse(request, rc::kSuccess);
}

RemotingCommand Broker::HandleCreateTopic(const RemotingCommand& request) {
  absl::StatusOr<std::string> topic = request.GetString("topic");
  absl::StatusOr<int32_t> read = request.GetInt32("readQueueNums");
  absl::StatusOr<int32_t> write = request.GetInt32("writeQueueNums");
  absl::StatusOr<int32_t> perm = request.GetInt32("perm");
  const std::string* filter_field = request.FindExtField("topicFilterType");
  absl::StatusOr<std::string> filter =
      filter_field != nullptr ? *filter_field : std::string("SINGLE_TAG");
  absl::StatusOr<int32_t> sys_flag = request.GetInt32Or("topicSysFlag", 0);
  absl::StatusOr<bool> order = request.GetBoolOr("order", false);
  for (const absl::Status& s : {topic.status(), read.status(), write.status(), perm.status(),
                                filter.status(), sys_flag.status(), order.status()}) {
    if (!s.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  if (*topic == config_.broker_cluster_name || ReservedTopic(*topic) ||
      *topic == kAutoCreateTopicKey) {
    return MakeResponse(request, rc::kSystemError,
                        "The topic[" + *topic + "] is conflict with system reserved words.");
  }
  if (*filter != "SINGLE_TAG" && *filter != "MULTI_TAG") {
    return MakeResponse(request, rc::kSystemError,
                        "topicFilterType must be SINGLE_TAG or MULTI_TAG, not " + *filter);
  }
  TopicConfig t;
  t.name = *topic;
  t.read_queue_nums = *read;
  t.write_queue_nums = *write;
  t.perm = *perm;
  t.topic_filter_type =
      *filter == "MULTI_TAG" ? TopicFilterType::kMultiTag : TopicFilterType::kSingleTag;
  t.topic_sys_flag = *sys_flag;
  t.order = *order;
  if (absl::Status s = topics_->CreateOrUpdate(t); !s.ok()) {
    return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  // 4.9.7 answers with the remark its response object was created with.
  return MakeResponse(request, rc::kSuccess, "not set any response code");
}

RemotingCommand Broker::HandleDeleteTopic(const RemotingCommand& request) {
  absl::StatusOr<std::string> topic = request.GetString("topic");
  if (!topic.ok()) return MakeResponse(request, rc::kSystemError, StatusRemark(topic.status()));
  if (*topic == kAutoCreateTopicKey || *topic == kScheduleTopic || *topic == kTransHalfTopic ||
      *topic == kTransOpHalfTopic || *topic == config_.broker_cluster_name) {
    return MakeResponse(request, rc::kSystemError,
                        "The topic[" + *topic + "] is a system topic and cannot be deleted");
  }
  // The topic's config goes now (it is no longer registered or routed); its stored messages
  // stay until retention removes their files, and a topic re-created under the same name
  // continues from the queues' current offsets.
  absl::Status s = topics_->Delete(*topic);
  if (!s.ok() && !absl::IsNotFound(s)) {
    return MakeResponse(request, rc::kSystemError, StatusRemark(s));
  }
  return MakeResponse(request, rc::kSuccess);
}

RemotingCommand Broker::HandleAllTopicConfig(const RemotingCommand& request) {
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.body = topics_->ToJson(JsonStyle::kCompact);
  return response;
}

RemotingCommand Broker::HandleAllGroupConfig(const RemotingCommand& request) {
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.body = groups_->ToJson(JsonStyle::kCompact);
  return response;
}

RemotingCommand Broker::HandleRuntimeInfo(const RemotingCommand& request) {
  libstore::StoreStats stats = store_->GetStats();
  const int64_t now = configfile::NowMs();
  absl::StatusOr<int64_t> earliest = store_->GetEarliestStoreTime();
  nlohmann::ordered_json table = nlohmann::ordered_json::object();
  auto put = [&table](const char* key, const std::string& value) { table[key] = value; };
  put("brokerVersionDesc", "V4_9_7");
  put("brokerVersion", std::to_string(remoting::kServerVersion));
  put("bootTimestamp", std::to_string(boot_timestamp_ms_));
  put("runtime", std::to_string((now - boot_timestamp_ms_) / 1000) + " s");
  put("msgPutTotalTodayNow", std::to_string(stats.puts));
  put("putMessageBytesTotal", std::to_string(stats.put_bytes));
  put("commitLogMinOffset", std::to_string(stats.commitlog_min_offset.value()));
  put("commitLogMaxOffset", std::to_string(stats.commitlog_max_offset.value()));
  put("commitLogFlushedOffset", std::to_string(stats.commitlog_flushed_offset.value()));
  put("remainHowManyDataToFlush",
      std::to_string(stats.commitlog_max_offset.value() - stats.commitlog_flushed_offset.value()));
  put("dispatchBehindBytes", std::to_string(stats.dispatch_behind_bytes));
  put("earliestMessageTimeStamp", std::to_string(earliest.ok() ? *earliest : -1));
  put("sendThreadPoolQueueSize", std::to_string(inflight_puts_->load()));
  put("sendThreadPoolQueueCapacity", std::to_string(config_.send_thread_pool_queue_capacity));
  put("storeWritable", stats.writable ? "true" : "false");
  if (!stats.writable) put("storeNotWritableReason", stats.not_writable_reason);
  put("brokerRole", std::string(config::BrokerRoleName(config_.broker_role)));
  put("brokerName", config_.broker_name);
  put("brokerClusterName", config_.broker_cluster_name);
  nlohmann::ordered_json body;
  body["table"] = std::move(table);
  RemotingCommand response = MakeResponse(request, rc::kSuccess);
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace brokerd::broker
