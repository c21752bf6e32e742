// The producer (see producer.h).
// Thread-safety: topics_mu_ guards the publish table, brokers_mu_ the broker bookkeeping,
// async_mu_ the async in-flight count, bg_mu_ / cb_mu_ the two threads' control; an Attempt is
// touched by one thread at a time (the sender, then the callback thread).
#include "client/producer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/message_codec.h"
#include "nlohmann/json.hpp"
#include "remoting/codes.h"

namespace rsclient {
namespace {

namespace rc = brokerd::remoting::response_code;
namespace req = brokerd::remoting::request_code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// This Abseil may not alias absl::string_view to std::string_view.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

constexpr std::string_view kClientInnerProducerGroup = "CLIENT_INNER_PRODUCER";
// END_TRANSACTION's commitOrRollback values (MessageSysFlag.TRANSACTION_*_TYPE).
constexpr int32_t kTransactionNotType = 0;
constexpr int32_t kTransactionCommitType = 0x8;
constexpr int32_t kTransactionRollbackType = 0xC;
// Unregistering at shutdown waits at most this long (or send_timeout when shorter).
constexpr milliseconds kUnregisterTimeout{3000};

RemotingCommand NewRequest(int32_t code) {
  RemotingCommand cmd = brokerd::remoting::MakeRequest(code, 0);
  cmd.language = "CPP";
  return cmd;
}

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The status with its message prefixed (code and payloads kept).
absl::Status Prefixed(const absl::Status& s, std::string_view prefix) {
  absl::Status out(s.code(), absl::StrCat(Av(prefix), s.message()));
  s.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

absl::StatusCode CodeForBrokerResponse(int32_t code) {
  switch (code) {
    case rc::kTopicNotExist:
      return absl::StatusCode::kNotFound;
    case rc::kNoPermission:
      return absl::StatusCode::kPermissionDenied;
    case rc::kMessageIllegal:
      return absl::StatusCode::kInvalidArgument;
    case rc::kSystemBusy:
    case rc::kFlowControl:
      return absl::StatusCode::kResourceExhausted;
    case rc::kServiceNotAvailable:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

// Parses a decimal header field of a send response.
template <typename T>
bool ParseField(const RemotingCommand& r, std::string_view name, T* out) {
  const std::string* v = r.FindExtField(name);
  if (v == nullptr || v->empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v->c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = static_cast<T>(x);
  return true;
}

int32_t TransactionTypeOf(LocalTransactionState state) {
  switch (state) {
    case LocalTransactionState::kCommit:
      return kTransactionCommitType;
    case LocalTransactionState::kRollback:
      return kTransactionRollbackType;
    case LocalTransactionState::kUnknown:
      break;
  }
  return kTransactionNotType;
}

// The CommitLog offset in an offsetMsgId (its last 8 bytes, 16 hex chars).
std::optional<int64_t> OffsetOfOffsetMsgId(std::string_view id) {
  if (id.size() != 32 && id.size() != 56) return std::nullopt;
  uint64_t v = 0;
  for (char c : id.substr(id.size() - 16)) {
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return static_cast<int64_t>(v);
}

// Properties of one message of a batch: as a single send's, without WAIT (the batch header
// carries it and the broker appends it to each message).
std::string BatchEntryProperties(const Message& msg, std::string_view uniq_key) {
  std::vector<std::pair<std::string, std::string>> props;
  if (!msg.tags.empty()) props.emplace_back(kPropertyTags, msg.tags);
  if (!msg.keys.empty()) props.emplace_back(kPropertyKeys, absl::StrJoin(msg.keys, " "));
  props.emplace_back(kPropertyUniqKey, std::string(uniq_key));
  for (const auto& [name, value] : msg.properties) props.emplace_back(name, value);
  return EncodeProperties(props);
}

void AppendBe32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

}  // namespace

// ---- Free functions ---------------------------------------------------------------------------

absl::Status BrokerError(int32_t code, std::string_view remark, std::string_view where) {
  std::string_view name = brokerd::remoting::ResponseCodeName(code);
  absl::Status s(
      CodeForBrokerResponse(code),
      absl::StrCat("code ", code, " ", name.empty() ? "UNKNOWN" : Av(name), ": ", Av(remark),
                   where.empty() ? "" : " (", Av(where), where.empty() ? "" : ")"));
  s.SetPayload(Av(kBrokerErrorPayloadUrl), absl::Cord(std::to_string(code)));
  return s;
}

std::optional<int32_t> BrokerErrorCode(const absl::Status& status) {
  auto payload = status.GetPayload(Av(kBrokerErrorPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') return std::nullopt;
  return static_cast<int32_t>(v);
}

std::string_view SendStatusName(SendStatus status) {
  switch (status) {
    case SendStatus::kSendOk:
      return "SEND_OK";
    case SendStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case SendStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
    case SendStatus::kSlaveNotAvailable:
      return "SLAVE_NOT_AVAILABLE";
  }
  return "UNKNOWN";
}

MessageQueue SelectByHash(const std::vector<MessageQueue>& queues, const Message& /*msg*/,
                          const std::string& arg) {
  if (queues.empty()) return MessageQueue{};
  int32_t value = JavaStringHashCode(arg) % static_cast<int32_t>(queues.size());
  if (value < 0) value = -value;
  return queues[static_cast<size_t>(value)];
}

// ---- Internal types ---------------------------------------------------------------------------

struct Producer::PublishInfo {
  std::vector<MessageQueue> queues;                 // writable, sorted
  std::map<std::string, std::string> master_addrs;  // broker name -> master "ip:port"
  bool via_default_topic = false;                   // borrowed from create_topic_key's route
  // Round-robin position, kept across route refreshes (starts at random, as Java's).
  std::shared_ptr<std::atomic<uint32_t>> next;
};

// One send: the request and the state of its attempts.
struct Producer::Attempt {
  RemotingCommand request;  // e (queueId) and n (brokerName) set per attempt
  std::string topic;
  std::string msg_id;  // UNIQ_KEY, comma-joined for a batch
  std::shared_ptr<const PublishInfo> info;
  std::optional<MessageQueue> fixed_queue;
  int max_attempts = 1;
  int attempts_done = 0;
  std::string last_broker;
  Clock::time_point deadline;
  absl::Status last_error;
  SendCallback done;  // async only
};

// ---- Producer ---------------------------------------------------------------------------------

Producer::Producer(ProducerOptions options) : options_(std::move(options)) {
  std::string instance = options_.instance_name;
  if (instance.empty()) {
    instance = absl::StrCat(getpid(), "#", Clock::now().time_since_epoch().count());
  }
  client_id_ = absl::StrCat(LocalIpv4Address(), "@", instance);
}

Producer::~Producer() { Shutdown(); }

void Producer::SetTransactionListener(TransactionListener listener) {
  tx_listener_ = std::move(listener);
}

absl::Status Producer::Start() {
  if (state_.load() != State::kCreated) {
    return absl::FailedPreconditionError("the producer was already started");
  }
  if (absl::Status s = ValidateTopic(options_.group); !s.ok()) {  // same rule as Java's checkGroup
    return absl::InvalidArgumentError(absl::StrCat("producer group: ", s.message()));
  }
  if (options_.send_timeout.count() <= 0) {
    return absl::InvalidArgumentError("send_timeout must be positive");
  }
  if (options_.retry_times_when_send_failed < 0 ||
      options_.retry_times_when_send_async_failed < 0) {
    return absl::InvalidArgumentError("retry times must not be negative");
  }
  if (options_.default_topic_queue_nums <= 0) {
    return absl::InvalidArgumentError("default_topic_queue_nums must be positive");
  }
  if (options_.compress_level < 0 || options_.compress_level > 9) {
    return absl::InvalidArgumentError("compress_level must be 0..9");
  }
  if (options_.max_async_in_flight == 0) {
    return absl::InvalidArgumentError("max_async_in_flight must be positive");
  }
  if (absl::Status s = ValidateTopic(options_.create_topic_key); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("create_topic_key: ", s.message()));
  }
  if (options_.route_refresh_interval.count() <= 0 || options_.heartbeat_interval.count() <= 0) {
    return absl::InvalidArgumentError(
        "route_refresh_interval and heartbeat_interval must be positive");
  }
  absl::StatusOr<std::vector<std::string>> addrs = ParseNamesrvAddr(options_.namesrv_addr);
  if (!addrs.ok()) return addrs.status();
  if (tx_listener_.has_value() && (!tx_listener_->execute || !tx_listener_->check)) {
    return absl::InvalidArgumentError("the transaction listener needs both execute and check");
  }

  client_ = std::make_unique<RemotingClient>(options_.remoting);
  client_->SetRequestHandler([this](const std::string& addr, RemotingCommand& request) {
    return HandleServerRequest(addr, request);
  });
  namesrv_ = std::make_unique<NameServers>(client_.get(), *addrs, options_.send_timeout);
  routes_ = std::make_unique<RouteCache>(namesrv_.get());
  state_ = State::kRunning;
  {
    std::lock_guard<std::mutex> lock(cb_mu_);
    cb_running_ = true;
  }
  cb_thread_ = std::thread([this] { CallbackLoop(); });
  bg_thread_ = std::thread([this] { BackgroundLoop(); });
  return absl::OkStatus();
}

void Producer::Shutdown() {
  State expected = State::kRunning;
  if (!state_.compare_exchange_strong(expected, State::kStopped)) {
    if (expected == State::kCreated) state_ = State::kStopped;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  bg_thread_.join();

  // UNREGISTER_CLIENT to every broker it heartbeated, in parallel, bounded.
  std::vector<std::string> addrs;
  {
    std::lock_guard<std::mutex> lock(brokers_mu_);
    for (const auto& [addr, sent] : heartbeat_addrs_) addrs.push_back(addr);
  }
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
  };
  auto waiter = std::make_shared<Waiter>();
  waiter->left = addrs.size();
  const milliseconds timeout = std::min(options_.send_timeout, kUnregisterTimeout);
  for (const std::string& addr : addrs) {
    RemotingCommand r = NewRequest(req::kUnregisterClient);
    r.SetExtField("clientID", client_id_);
    r.SetExtField("producerGroup", options_.group);
    client_->InvokeAsync(addr, std::move(r), timeout, [waiter](absl::StatusOr<RemotingCommand>) {
      std::lock_guard<std::mutex> lock(waiter->mu);
      --waiter->left;
      waiter->cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(waiter->mu);
    waiter->cv.wait_for(lock, timeout + milliseconds(500), [&] { return waiter->left == 0; });
  }

  client_->Shutdown();  // fails what is in flight: the callbacks are posted
  {
    std::lock_guard<std::mutex> lock(cb_mu_);
    cb_stop_ = true;
  }
  cb_cv_.notify_all();
  cb_thread_.join();
}

// ---- Routes -----------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const Producer::PublishInfo>> Producer::GetPublishInfo(
    const std::string& topic) {
  {
    std::lock_guard<std::mutex> lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end()) return it->second;
  }
  std::lock_guard<std::mutex> fetch_lock(fetch_mu_);
  {
    std::lock_guard<std::mutex> lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end()) return it->second;
  }
  absl::StatusOr<std::shared_ptr<const PublishInfo>> info = FetchPublishInfo(topic);
  if (!info.ok()) return info.status();
  {
    std::lock_guard<std::mutex> lock(topics_mu_);
    topics_[topic] = *info;
  }
  for (const auto& [name, addr] : (*info)->master_addrs) EnsureHeartbeat(addr);
  return info;
}

absl::StatusOr<std::shared_ptr<Producer::PublishInfo>> Producer::FetchPublishInfo(
    const std::string& topic) {
  auto info = std::make_shared<PublishInfo>();
  info->next = std::make_shared<std::atomic<uint32_t>>(std::random_device{}());
  auto fill_addrs = [&info](const TopicRoute& route) {
    for (const BrokerData& b : route.broker_datas) {
      auto it = b.addrs.find(kMasterId);
      if (it != b.addrs.end()) info->master_addrs[b.broker_name] = it->second;
    }
  };
  absl::StatusOr<TopicRoute> route = routes_->Update(topic);
  if (route.ok()) {
    info->queues = route->WritableQueues(topic);
    fill_addrs(*route);
    return info;
  }
  if (!absl::IsNotFound(route.status())) return route.status();
  // No route yet: borrow create_topic_key's, clamped, so the broker creates the topic.
  absl::StatusOr<TopicRoute> def = routes_->Get(options_.create_topic_key);
  if (!def.ok()) {
    if (absl::IsNotFound(def.status())) {
      return absl::NotFoundError(absl::StrCat("no route info of topic ", topic, " (nor of ",
                                              options_.create_topic_key,
                                              " to create it): ", route.status().message()));
    }
    return def.status();
  }
  TopicRoute clamped = *def;
  for (QueueData& q : clamped.queue_datas) {
    const int32_t n = std::min(options_.default_topic_queue_nums, q.read_queue_nums);
    q.read_queue_nums = n;
    q.write_queue_nums = n;
  }
  info->queues = clamped.WritableQueues(topic);
  fill_addrs(clamped);
  info->via_default_topic = true;
  return info;
}

absl::StatusOr<std::vector<MessageQueue>> Producer::FetchPublishQueues(const std::string& topic) {
  if (state_.load() != State::kRunning) {
    return absl::FailedPreconditionError("the producer is not running");
  }
  if (absl::Status s = ValidateTopic(topic); !s.ok()) return s;
  absl::StatusOr<std::shared_ptr<const PublishInfo>> info = GetPublishInfo(topic);
  if (!info.ok()) return info.status();
  return (*info)->queues;
}

void Producer::RefreshRoutes() {
  std::vector<std::string> topics;
  {
    std::lock_guard<std::mutex> lock(topics_mu_);
    for (const auto& [t, e] : topics_) topics.push_back(t);
  }
  (void)routes_->Update(options_.create_topic_key);  // polled forever, as Java does
  for (const std::string& t : topics) {
    if (state_.load() != State::kRunning) return;
    absl::StatusOr<std::shared_ptr<PublishInfo>> info = FetchPublishInfo(t);
    if (!info.ok()) continue;  // keep the old route
    {
      std::lock_guard<std::mutex> lock(topics_mu_);
      std::shared_ptr<const PublishInfo>& slot = topics_[t];
      if (slot != nullptr) {
        (*info)->next = slot->next;  // keep the round-robin position
      }
      slot = *info;
    }
    for (const auto& [name, addr] : (*info)->master_addrs) EnsureHeartbeat(addr);
  }
}

MessageQueue Producer::SelectQueue(const std::string& /*topic*/, const PublishInfo& info,
                                   const std::string& avoid_broker) {
  const uint32_t start = info.next->fetch_add(1, std::memory_order_relaxed);
  const size_t n = info.queues.size();
  for (size_t i = 0; i < n; ++i) {
    const MessageQueue& q = info.queues[(start + i) % n];
    if (q.broker_name != avoid_broker && !IsIsolated(q.broker_name)) return q;
  }
  for (size_t i = 0; i < n; ++i) {
    const MessageQueue& q = info.queues[(start + i) % n];
    if (q.broker_name != avoid_broker) return q;
  }
  return info.queues[start % n];
}

bool Producer::IsIsolated(const std::string& broker_name) {
  if (options_.broker_failure_isolation.count() <= 0) return false;
  std::lock_guard<std::mutex> lock(brokers_mu_);
  if (isolated_until_.empty()) return false;
  auto it = isolated_until_.find(broker_name);
  if (it == isolated_until_.end()) return false;
  if (Clock::now() < it->second) return true;
  isolated_until_.erase(it);
  return false;
}

void Producer::NoteBrokerFailure(const std::string& broker_name) {
  if (options_.broker_failure_isolation.count() <= 0) return;
  std::lock_guard<std::mutex> lock(brokers_mu_);
  isolated_until_[broker_name] = Clock::now() + options_.broker_failure_isolation;
}

// ---- Requests ---------------------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<Producer::Attempt>> Producer::Prepare(
    const Message& msg, int32_t extra_sys_flag, const std::string& extra_properties) {
  if (state_.load() != State::kRunning) {
    return absl::FailedPreconditionError("the producer is not running");
  }
  if (absl::Status s = ValidateMessage(msg, options_.max_message_size); !s.ok()) return s;
  auto a = std::make_shared<Attempt>();
  a->topic = msg.topic;
  a->msg_id = NewUniqKey();
  int32_t sys_flag = extra_sys_flag;
  RemotingCommand& r = a->request;
  r = NewRequest(req::kSendMessageV2);
  if (options_.compress_over_bytes > 0 && msg.body.size() >= options_.compress_over_bytes) {
    absl::StatusOr<std::string> z = CompressBody(msg.body, options_.compress_level);
    if (!z.ok()) return z.status();
    r.body = std::move(*z);
    sys_flag |= kSysFlagCompressed;
  } else {
    r.body = msg.body;
  }
  std::string props = EncodeMessageProperties(msg, a->msg_id) + extra_properties;
  if (props.size() > 32767) {
    return absl::InvalidArgumentError(
        absl::StrCat("the encoded properties are ", props.size(), " bytes, more than 32767"));
  }
  r.SetExtField("a", options_.group);
  r.SetExtField("b", msg.topic);
  r.SetExtField("c", options_.create_topic_key);
  r.SetExtField("d", std::to_string(options_.default_topic_queue_nums));
  r.SetExtField("e", "-1");
  r.SetExtField("f", std::to_string(sys_flag));
  r.SetExtField("g", std::to_string(NowMs()));
  r.SetExtField("h", std::to_string(msg.flag));
  r.SetExtField("i", std::move(props));
  r.SetExtField("j", "0");
  r.SetExtField("k", "false");
  r.SetExtField("m", "false");
  r.SetExtField("n", "");
  return a;
}

absl::StatusOr<std::shared_ptr<Producer::Attempt>> Producer::PrepareBatch(
    const std::vector<Message>& msgs) {
  if (state_.load() != State::kRunning) {
    return absl::FailedPreconditionError("the producer is not running");
  }
  if (msgs.empty()) return absl::InvalidArgumentError("the batch is empty");
  const std::string& topic = msgs.front().topic;
  if (topic.rfind("%RETRY%", 0) == 0) {
    return absl::InvalidArgumentError("retry topics are not supported for batch sends");
  }
  auto a = std::make_shared<Attempt>();
  a->topic = topic;
  std::string body;
  std::vector<std::string> ids;
  ids.reserve(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Message& m = msgs[i];
    if (absl::Status s = ValidateMessage(m, options_.max_message_size); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("batch message ", i, ": ", s.message()));
    }
    if (m.topic != topic) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch message ", i, " has topic ", m.topic, ", the batch's is ", topic));
    }
    if (m.delay_level > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch message ", i, " has a delay level; batches cannot be delayed"));
    }
    ids.push_back(NewUniqKey());
    const std::string props = BatchEntryProperties(m, ids.back());
    if (props.size() > 32767) {
      return absl::InvalidArgumentError(
          absl::StrCat("batch message ", i, ": the encoded properties exceed 32767 bytes"));
    }
    // TOTALSIZE, MAGICCODE (0), BODYCRC (0), FLAG, BODYLENGTH, BODY, PROPERTIESLENGTH (short),
    // PROPERTIES: Java's MessageDecoder.encodeMessage.
    const size_t total = 4 + 4 + 4 + 4 + 4 + m.body.size() + 2 + props.size();
    if (body.size() + total > options_.max_message_size) {
      return absl::InvalidArgumentError(absl::StrCat("the batch is larger than max_message_size ",
                                                     options_.max_message_size,
                                                     " bytes (at message ", i, ")"));
    }
    AppendBe32(body, static_cast<uint32_t>(total));
    AppendBe32(body, 0);
    AppendBe32(body, 0);
    AppendBe32(body, static_cast<uint32_t>(m.flag));
    AppendBe32(body, static_cast<uint32_t>(m.body.size()));
    body += m.body;
    body.push_back(static_cast<char>(props.size() >> 8));
    body.push_back(static_cast<char>(props.size() & 0xFF));
    body += props;
  }
  a->msg_id = absl::StrJoin(ids, ",");
  RemotingCommand& r = a->request;
  r = NewRequest(req::kSendBatchMessage);
  r.body = std::move(body);
  r.SetExtField("a", options_.group);
  r.SetExtField("b", topic);
  r.SetExtField("c", options_.create_topic_key);
  r.SetExtField("d", std::to_string(options_.default_topic_queue_nums));
  r.SetExtField("e", "-1");
  r.SetExtField("f", "0");
  r.SetExtField("g", std::to_string(NowMs()));
  r.SetExtField("h", "0");
  r.SetExtField("i", EncodeProperties({{std::string(kPropertyWaitStoreMsgOk), "true"}}));
  r.SetExtField("j", "0");
  r.SetExtField("k", "false");
  r.SetExtField("m", "true");
  r.SetExtField("n", "");
  return a;
}

absl::StatusOr<SendResult> Producer::ProcessResponse(
    const Attempt& attempt, const MessageQueue& queue, const std::string& addr,
    const absl::StatusOr<RemotingCommand>& response) {
  const std::string where =
      absl::StrCat("broker ", queue.broker_name, " ", addr, ", topic ", attempt.topic);
  if (!response.ok()) {
    return Prefixed(response.status(), absl::StrCat(where, ": "));
  }
  const RemotingCommand& r = *response;
  SendResult result;
  switch (r.code) {
    case rc::kSuccess:
      result.status = SendStatus::kSendOk;
      break;
    case rc::kFlushDiskTimeout:
      result.status = SendStatus::kFlushDiskTimeout;
      break;
    case rc::kFlushSlaveTimeout:
      result.status = SendStatus::kFlushSlaveTimeout;
      break;
    case rc::kSlaveNotAvailable:
      result.status = SendStatus::kSlaveNotAvailable;
      break;
    default:
      return BrokerError(r.code, r.remark.value_or(""), where);
  }
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  const std::string* offset_msg_id = r.FindExtField("msgId");
  if (offset_msg_id == nullptr || !ParseField(r, "queueId", &queue_id) ||
      !ParseField(r, "queueOffset", &queue_offset)) {
    return absl::DataLossError(
        absl::StrCat("the send response lacks msgId, queueId or queueOffset (", where, ")"));
  }
  result.msg_id = attempt.msg_id;
  result.offset_msg_id = *offset_msg_id;
  result.queue = MessageQueue{attempt.topic, queue.broker_name, queue_id};
  result.queue_offset = queue_offset;
  if (const std::string* tid = r.FindExtField("transactionId"); tid != nullptr) {
    result.transaction_id = *tid;
  }
  return result;
}

bool Producer::Retryable(const absl::Status& status) {
  if (std::optional<int32_t> code = BrokerErrorCode(status); code.has_value()) {
    switch (*code) {
      case rc::kTopicNotExist:
      case rc::kServiceNotAvailable:
      case rc::kSystemError:
      case rc::kNoPermission:
      case rc::kNoBuyerId:
      case rc::kNotInCurrentUnit:
        return true;
      default:
        return false;
    }
  }
  // Transport: a refused or lost connection is retried elsewhere; a timeout used up the budget.
  return absl::IsUnavailable(status);
}

absl::StatusOr<SendResult> Producer::SendSync(const std::shared_ptr<Attempt>& attempt,
                                              int max_attempts, const MessageQueue* fixed_queue) {
  absl::StatusOr<std::shared_ptr<const PublishInfo>> info = GetPublishInfo(attempt->topic);
  if (!info.ok()) return info.status();
  if ((*info)->queues.empty() && fixed_queue == nullptr) {
    return absl::NotFoundError(absl::StrCat("topic ", attempt->topic, " has no writable queue"));
  }
  const Clock::time_point deadline = Clock::now() + options_.send_timeout;
  absl::Status last;
  int done = 0;
  std::string last_broker;
  for (; done < max_attempts; ++done) {
    const Clock::time_point now = Clock::now();
    if (done > 0 && now >= deadline) break;
    const MessageQueue mq =
        fixed_queue != nullptr ? *fixed_queue : SelectQueue(attempt->topic, **info, last_broker);
    auto addr_it = (*info)->master_addrs.find(mq.broker_name);
    if (addr_it == (*info)->master_addrs.end()) {
      return absl::NotFoundError(absl::StrCat("broker ", mq.broker_name, " of topic ",
                                              attempt->topic, " has no master address"));
    }
    const std::string& addr = addr_it->second;
    // The last attempt takes the request (no copy of the body); earlier ones copy it.
    RemotingCommand request =
        done + 1 == max_attempts ? std::move(attempt->request) : attempt->request;
    request.SetExtField("e", std::to_string(mq.queue_id));
    request.SetExtField("n", mq.broker_name);
    const auto remaining =
        std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - now));
    absl::StatusOr<SendResult> result = ProcessResponse(
        *attempt, mq, addr, client_->InvokeSync(addr, std::move(request), remaining));
    if (result.ok()) return result;
    last = result.status();
    last_broker = mq.broker_name;
    if (!BrokerErrorCode(last).has_value()) NoteBrokerFailure(mq.broker_name);
    if (!Retryable(last)) {
      ++done;
      break;
    }
  }
  if (done > 1) return Prefixed(last, absl::StrCat("send failed after ", done, " attempts: "));
  if (last.ok()) return absl::DeadlineExceededError("send timed out");
  return last;
}

absl::StatusOr<SendResult> Producer::Send(const Message& msg) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(msg, 0, "");
  if (!a.ok()) return a.status();
  return SendSync(*a, 1 + options_.retry_times_when_send_failed, nullptr);
}

absl::StatusOr<SendResult> Producer::Send(const Message& msg, const MessageQueue& queue) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(msg, 0, "");
  if (!a.ok()) return a.status();
  if (queue.topic != msg.topic) {
    return absl::InvalidArgumentError(
        absl::StrCat("the queue ", queue.ToString(), " is not of the message's topic ", msg.topic));
  }
  return SendSync(*a, 1, &queue);
}

absl::StatusOr<SendResult> Producer::Send(const Message& msg, const QueueSelector& selector,
                                          const std::string& arg) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(msg, 0, "");
  if (!a.ok()) return a.status();
  absl::StatusOr<std::shared_ptr<const PublishInfo>> info = GetPublishInfo(msg.topic);
  if (!info.ok()) return info.status();
  if ((*info)->queues.empty()) {
    return absl::NotFoundError(absl::StrCat("topic ", msg.topic, " has no writable queue"));
  }
  MessageQueue mq = selector((*info)->queues, msg, arg);
  if (std::find((*info)->queues.begin(), (*info)->queues.end(), mq) == (*info)->queues.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the selector chose ", mq.ToString(), ", not a writable queue of the topic"));
  }
  return SendSync(*a, 1, &mq);
}

absl::StatusOr<SendResult> Producer::SendBatch(const std::vector<Message>& msgs) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = PrepareBatch(msgs);
  if (!a.ok()) return a.status();
  return SendSync(*a, 1 + options_.retry_times_when_send_failed, nullptr);
}

absl::StatusOr<SendResult> Producer::SendBatch(const std::vector<Message>& msgs,
                                               const MessageQueue& queue) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = PrepareBatch(msgs);
  if (!a.ok()) return a.status();
  if (queue.topic != (*a)->topic) {
    return absl::InvalidArgumentError(
        absl::StrCat("the queue ", queue.ToString(), " is not of the batch's topic ", (*a)->topic));
  }
  return SendSync(*a, 1, &queue);
}

absl::Status Producer::SendOneway(const Message& msg) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(msg, 0, "");
  if (!a.ok()) return a.status();
  absl::StatusOr<std::shared_ptr<const PublishInfo>> info = GetPublishInfo(msg.topic);
  if (!info.ok()) return info.status();
  if ((*info)->queues.empty()) {
    return absl::NotFoundError(absl::StrCat("topic ", msg.topic, " has no writable queue"));
  }
  const MessageQueue mq = SelectQueue(msg.topic, **info, "");
  auto addr_it = (*info)->master_addrs.find(mq.broker_name);
  if (addr_it == (*info)->master_addrs.end()) {
    return absl::NotFoundError(absl::StrCat("broker ", mq.broker_name, " has no master address"));
  }
  RemotingCommand& request = (*a)->request;
  request.SetExtField("e", std::to_string(mq.queue_id));
  request.SetExtField("n", mq.broker_name);
  absl::Status s = client_->InvokeOneway(addr_it->second, std::move(request));
  if (!s.ok()) {
    NoteBrokerFailure(mq.broker_name);
    return Prefixed(s, absl::StrCat("broker ", mq.broker_name, " ", addr_it->second, ", topic ",
                                    msg.topic, ": "));
  }
  return absl::OkStatus();
}

// ---- Async ------------------------------------------------------------------------------------

void Producer::SendAsync(const Message& msg, SendCallback done) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(msg, 0, "");
  if (!a.ok()) {
    Post([done = std::move(done), s = a.status()] { done(s); });
    return;
  }
  (*a)->max_attempts = 1 + options_.retry_times_when_send_async_failed;
  (*a)->done = std::move(done);
  SendAsyncAttempt(std::move(*a));
}

void Producer::SendAsync(const Message& msg, const MessageQueue& queue, SendCallback done) {
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(msg, 0, "");
  if (!a.ok()) {
    Post([done = std::move(done), s = a.status()] { done(s); });
    return;
  }
  if (queue.topic != msg.topic) {
    Post([done = std::move(done), q = queue.ToString(), t = msg.topic] {
      done(absl::InvalidArgumentError(
          absl::StrCat("the queue ", q, " is not of the message's topic ", t)));
    });
    return;
  }
  (*a)->fixed_queue = queue;
  (*a)->max_attempts = 1;
  (*a)->done = std::move(done);
  SendAsyncAttempt(std::move(*a));
}

void Producer::SendAsyncAttempt(std::shared_ptr<Attempt> attempt) {
  if (attempt->attempts_done == 0) {
    // First attempt, on the caller's thread: route, room in the window, deadline.
    absl::StatusOr<std::shared_ptr<const PublishInfo>> info = GetPublishInfo(attempt->topic);
    if (!info.ok()) {
      Post([done = std::move(attempt->done), s = info.status()] { done(s); });
      return;
    }
    if ((*info)->queues.empty() && !attempt->fixed_queue.has_value()) {
      Post([done = std::move(attempt->done), t = attempt->topic] {
        done(absl::NotFoundError(absl::StrCat("topic ", t, " has no writable queue")));
      });
      return;
    }
    attempt->info = *info;
    attempt->deadline = Clock::now() + options_.send_timeout;
    std::unique_lock<std::mutex> lock(async_mu_);
    ++async_waiters_;
    const bool room = async_cv_.wait_until(
        lock, attempt->deadline, [&] { return async_in_flight_ < options_.max_async_in_flight; });
    --async_waiters_;
    if (!room) {
      lock.unlock();
      Post([done = std::move(attempt->done), n = options_.max_async_in_flight] {
        done(absl::ResourceExhaustedError(
            absl::StrCat("more than ", n, " async sends in flight for send_timeout")));
      });
      return;
    }
    ++async_in_flight_;
  }
  const Clock::time_point now = Clock::now();
  if (attempt->attempts_done > 0 && now >= attempt->deadline) {
    FinishAsync(attempt, attempt->last_error);
    return;
  }
  const MessageQueue mq = attempt->fixed_queue.has_value()
                              ? *attempt->fixed_queue
                              : SelectQueue(attempt->topic, *attempt->info, attempt->last_broker);
  auto addr_it = attempt->info->master_addrs.find(mq.broker_name);
  if (addr_it == attempt->info->master_addrs.end()) {
    FinishAsync(attempt,
                absl::NotFoundError(absl::StrCat("broker ", mq.broker_name, " of topic ",
                                                 attempt->topic, " has no master address")));
    return;
  }
  const std::string addr = addr_it->second;
  ++attempt->attempts_done;
  // The last attempt takes the request (no copy of the body); earlier ones copy it.
  RemotingCommand request = attempt->attempts_done == attempt->max_attempts
                                ? std::move(attempt->request)
                                : attempt->request;
  request.SetExtField("e", std::to_string(mq.queue_id));
  request.SetExtField("n", mq.broker_name);
  const auto remaining =
      std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(attempt->deadline - now));
  client_->InvokeAsync(
      addr, std::move(request), remaining,
      [this, attempt, mq, addr](absl::StatusOr<RemotingCommand> response) mutable {
        // On the I/O thread (or the caller's, on a connect failure): hand over.
        Post([this, attempt = std::move(attempt), mq = std::move(mq), addr = std::move(addr),
              response = std::move(response)]() mutable {
          absl::StatusOr<SendResult> result = ProcessResponse(*attempt, mq, addr, response);
          if (result.ok()) return FinishAsync(attempt, std::move(result));
          attempt->last_error = result.status();
          attempt->last_broker = mq.broker_name;
          if (!BrokerErrorCode(result.status()).has_value()) NoteBrokerFailure(mq.broker_name);
          if (Retryable(result.status()) && attempt->attempts_done < attempt->max_attempts &&
              Clock::now() < attempt->deadline && state_.load() == State::kRunning) {
            return SendAsyncAttempt(std::move(attempt));
          }
          FinishAsync(attempt, result.status());
        });
      });
}

void Producer::FinishAsync(const std::shared_ptr<Attempt>& attempt,
                           absl::StatusOr<SendResult> result) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(async_mu_);
    --async_in_flight_;
    wake = async_waiters_ > 0;  // no futex wake per completion when nobody waits for room
  }
  if (wake) async_cv_.notify_one();
  if (!result.ok() && attempt->attempts_done > 1) {
    result = Prefixed(result.status(),
                      absl::StrCat("send failed after ", attempt->attempts_done, " attempts: "));
  }
  SendCallback done = std::move(attempt->done);
  done(std::move(result));
}

void Producer::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(cb_mu_);
    if (cb_running_) {
      // The callback thread waits only on an empty queue, so only the first post into an empty
      // queue needs to wake it (one futex wake per burst of completions, not per completion).
      const bool wake = cb_queue_.empty();
      cb_queue_.push_back(std::move(fn));
      if (wake) cb_cv_.notify_one();
      return;
    }
  }
  fn();  // no callback thread (not started, or shut down): run here
}

void Producer::CallbackLoop() {
  std::unique_lock<std::mutex> lock(cb_mu_);
  while (true) {
    cb_cv_.wait(lock, [&] { return cb_stop_ || !cb_queue_.empty(); });
    if (cb_queue_.empty()) {  // stopping, drained: later posts run on their caller's thread
      cb_running_ = false;
      return;
    }
    std::function<void()> fn = std::move(cb_queue_.front());
    cb_queue_.pop_front();
    lock.unlock();
    fn();
    lock.lock();
  }
}

// ---- Heartbeats and the background thread -----------------------------------------------------

RemotingCommand Producer::HeartbeatRequest() const {
  nlohmann::json body = {
      {"clientID", client_id_},
      {"consumerDataSet", nlohmann::json::array()},
      {"producerDataSet",
       nlohmann::json::array({{{"groupName", options_.group}},
                              {{"groupName", std::string(kClientInnerProducerGroup)}}})}};
  RemotingCommand r = NewRequest(req::kHeartBeat);
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

void Producer::SendHeartbeat(const std::string& addr) {
  client_->InvokeAsync(addr, HeartbeatRequest(), options_.send_timeout,
                       [](absl::StatusOr<RemotingCommand>) {});
}

void Producer::EnsureHeartbeat(const std::string& addr) {
  {
    std::lock_guard<std::mutex> lock(brokers_mu_);
    if (!heartbeat_addrs_.emplace(addr, true).second) return;
  }
  SendHeartbeat(addr);
}

void Producer::BackgroundLoop() {
  Clock::time_point next_refresh = Clock::now() + options_.route_refresh_interval;
  Clock::time_point next_heartbeat = Clock::now() + options_.heartbeat_interval;
  std::unique_lock<std::mutex> lock(bg_mu_);
  while (!bg_stop_) {
    bg_cv_.wait_until(lock, std::min(next_refresh, next_heartbeat), [&] { return bg_stop_; });
    if (bg_stop_) break;
    lock.unlock();
    const Clock::time_point now = Clock::now();
    if (now >= next_refresh) {
      RefreshRoutes();
      next_refresh = Clock::now() + options_.route_refresh_interval;
    }
    if (now >= next_heartbeat) {
      std::vector<std::string> addrs;
      {
        std::lock_guard<std::mutex> block(brokers_mu_);
        for (const auto& [addr, sent] : heartbeat_addrs_) addrs.push_back(addr);
      }
      for (const std::string& addr : addrs) SendHeartbeat(addr);
      next_heartbeat = Clock::now() + options_.heartbeat_interval;
    }
    lock.lock();
  }
}

// ---- Transactions -----------------------------------------------------------------------------

void Producer::EndTransaction(const std::string& addr, const std::string& group,
                              int64_t table_offset, int64_t commit_log_offset,
                              LocalTransactionState state, bool from_check,
                              const std::string& msg_id, const std::string& transaction_id) {
  RemotingCommand r = NewRequest(req::kEndTransaction);
  r.SetExtField("producerGroup", group);
  r.SetExtField("tranStateTableOffset", std::to_string(table_offset));
  r.SetExtField("commitLogOffset", std::to_string(commit_log_offset));
  r.SetExtField("commitOrRollback", std::to_string(TransactionTypeOf(state)));
  r.SetExtField("fromTransactionCheck", from_check ? "true" : "false");
  r.SetExtField("msgId", msg_id);
  r.SetExtField("transactionId", transaction_id);
  (void)client_->InvokeOneway(addr, std::move(r));  // as Java: oneway, a lost one is checked back
}

absl::StatusOr<TransactionSendResult> Producer::SendMessageInTransaction(const Message& msg,
                                                                         const std::string& arg) {
  if (!tx_listener_.has_value()) {
    return absl::FailedPreconditionError("no transaction listener was set before Start()");
  }
  Message half = msg;
  half.delay_level = 0;  // transactional messages cannot be delayed
  const std::string extra =
      EncodeProperties({{std::string(kPropertyTransactionPrepared), "true"},
                        {std::string(kPropertyProducerGroup), options_.group}});
  absl::StatusOr<std::shared_ptr<Attempt>> a = Prepare(half, kSysFlagTransactionPrepared, extra);
  if (!a.ok()) return a.status();
  absl::StatusOr<SendResult> sent =
      SendSync(*a, 1 + options_.retry_times_when_send_failed, nullptr);
  if (!sent.ok()) return sent.status();
  TransactionSendResult out;
  out.send = *sent;
  out.send.transaction_id = sent->msg_id;
  out.state = sent->status == SendStatus::kSendOk ? tx_listener_->execute(half, sent->msg_id, arg)
                                                  : LocalTransactionState::kRollback;
  std::optional<int64_t> commit_log_offset = OffsetOfOffsetMsgId(sent->offset_msg_id);
  absl::StatusOr<std::shared_ptr<const PublishInfo>> info = GetPublishInfo(msg.topic);
  if (!commit_log_offset.has_value() || !info.ok()) {
    // The broker checks back; nothing else to do.
    return out;
  }
  auto addr_it = (*info)->master_addrs.find(sent->queue.broker_name);
  if (addr_it != (*info)->master_addrs.end()) {
    EndTransaction(addr_it->second, options_.group, sent->queue_offset, *commit_log_offset,
                   out.state, false, sent->msg_id, sent->msg_id);
  }
  return out;
}

std::optional<RemotingCommand> Producer::HandleServerRequest(const std::string& addr,
                                                             RemotingCommand& request) {
  if (request.code == req::kCheckTransactionState && tx_listener_.has_value()) {
    absl::StatusOr<int64_t> table_offset = request.GetInt64("tranStateTableOffset");
    absl::StatusOr<int64_t> commit_log_offset = request.GetInt64("commitLogOffset");
    absl::StatusOr<std::vector<ReceivedMessage>> msgs = DecodeMessages(request.body);
    if (table_offset.ok() && commit_log_offset.ok() && msgs.ok() && !msgs->empty()) {
      ReceivedMessage& m = msgs->front();
      std::string body = std::move(m.body);
      if ((m.sys_flag & kSysFlagCompressed) != 0) {
        absl::StatusOr<std::string> plain = UncompressBody(body, options_.max_message_size);
        if (plain.ok()) body = std::move(*plain);
      }
      std::string msg_id = GetProperty(m.properties, kPropertyUniqKey);
      if (msg_id.empty()) {
        if (const std::string* id = request.FindExtField("msgId"); id != nullptr) msg_id = *id;
      }
      std::string tx_id = msg_id;
      if (const std::string* id = request.FindExtField("transactionId"); id != nullptr) {
        tx_id = *id;
      }
      std::string group = GetProperty(m.properties, kPropertyProducerGroup);
      if (group.empty()) group = options_.group;
      Message msg = MessageFromStored(m.topic, std::move(body), m.flag, m.properties);
      Post([this, addr, msg = std::move(msg), msg_id, tx_id, group, t = *table_offset,
            c = *commit_log_offset] {
        const LocalTransactionState state = tx_listener_->check(msg, msg_id);
        EndTransaction(addr, group, t, c, state, true, msg_id, tx_id);
      });
    }
    if (!request.IsOneway()) return brokerd::remoting::MakeResponse(request, rc::kSuccess);
    return std::nullopt;
  }
  if (request.IsOneway()) return std::nullopt;
  return brokerd::remoting::MakeResponse(
      request, rc::kRequestCodeNotSupported,
      absl::StrCat("the producer does not handle request code ", request.code));
}

}  // namespace rsclient
