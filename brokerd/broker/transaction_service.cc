// TransactionService implementation (see transaction_service.h).
// Thread-safety: mu_ guards the job queue and thread state; all store work happens on the
// service thread without holding mu_.
#include "broker/transaction_service.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "broker/schedule_service.h"
#include "broker/topic_config_manager.h"
#include "remoting/codes.h"

namespace brokerd::broker {

namespace {

namespace rc = remoting::response_code;

// A non-negative decimal of at most 18 digits; nullopt otherwise.
std::optional<int64_t> ParseOffset(std::string_view s) { return ParseDecimal(s, INT64_MAX); }

void PutBe32(std::string& s, size_t at, uint32_t v) {
  s[at] = static_cast<char>(v >> 24);
  s[at + 1] = static_cast<char>(v >> 16);
  s[at + 2] = static_cast<char>(v >> 8);
  s[at + 3] = static_cast<char>(v);
}

// The half offsets an op message names: "12" (4.x) or "12,13," (5.x batches).
std::vector<int64_t> OpOffsets(std::string_view body) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t comma = body.find(',', pos);
    if (comma == std::string_view::npos) comma = body.size();
    if (std::optional<int64_t> v = ParseOffset(body.substr(pos, comma - pos)); v.has_value()) {
      out.push_back(*v);
    }
    pos = comma + 1;
  }
  return out;
}

libstore::MessageToStore CopyOf(const libstore::StoredMessage& m) {
  libstore::MessageToStore out;
  out.topic = std::string(m.topic);
  out.queue_id = m.queue_id;
  out.flag = m.flag;
  out.sys_flag = m.sys_flag;
  out.body = std::string(m.body);
  out.properties = std::string(m.properties);
  out.born_timestamp_ms = m.born_timestamp_ms;
  out.born_host = m.born_host;
  out.reconsume_times = m.reconsume_times;
  out.prepared_transaction_offset = m.prepared_transaction_offset;
  return out;
}

}  // namespace

std::string RewriteRecordTopic(const libstore::StoredMessage& m, std::string_view topic,
                               int32_t queue_id) {
  const std::string_view rec = m.record;
  // TOPICLEN(1) TOPIC PROPLEN(2) PROPERTIES end the record.
  const size_t topic_len_at = static_cast<size_t>(m.topic.data() - rec.data()) - 1;
  std::string out(rec.substr(0, topic_len_at));
  const std::string_view t = topic.substr(0, 255);
  out.push_back(static_cast<char>(t.size()));
  out.append(t);
  out.append(rec.substr(topic_len_at + 1 + m.topic.size()));
  PutBe32(out, 0, static_cast<uint32_t>(out.size()));
  PutBe32(out, 12, static_cast<uint32_t>(queue_id));
  return out;
}

TransactionService::TransactionService(libstore::MessageStore* store, ConsumerOffsetTable* offsets,
                                       TransactionOptions options, ProducerLookup producers,
                                       OnStored on_stored)
    : store_(store),
      offsets_(offsets),
      options_(std::move(options)),
      producers_(std::move(producers)),
      on_stored_(std::move(on_stored)) {}

TransactionService::~TransactionService() { Stop(); }

void TransactionService::ToHalf(libstore::MessageToStore& msg) {
  libstore::Properties props = libstore::Properties::Decode(msg.properties);
  props.Set(libstore::property::kRealTopic, msg.topic);
  props.Set(libstore::property::kRealQueueId, std::to_string(msg.queue_id));
  msg.properties = EncodeStoredProperties(props);
  msg.sys_flag &= ~libstore::sysflag::kTransactionMask;
  msg.topic = std::string(kTransHalfTopic);
  msg.queue_id = 0;
}

void TransactionService::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void TransactionService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TransactionService::End(EndTransactionRequest request,
                             std::function<void(int32_t, std::string)> reply) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {
      if (reply) reply(rc::kServiceNotAvailable, "the broker is shutting down");
      return;
    }
    jobs_.push_back(Job{std::move(request), std::move(reply)});
  }
  cv_.notify_all();
}

void TransactionService::CheckNow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    check_requested_ = true;
  }
  cv_.notify_all();
}

void TransactionService::Loop() {
  auto next_check =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.check_interval_ms);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait_until(lock, next_check,
                   [this] { return stop_ || !jobs_.empty() || check_requested_; });
    while (!jobs_.empty()) {
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      DoEnd(job.request, job.reply);
      lock.lock();
    }
    if (stop_) break;
    if (check_requested_ || std::chrono::steady_clock::now() >= next_check) {
      check_requested_ = false;
      lock.unlock();
      CheckRound();
      lock.lock();
      next_check =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.check_interval_ms);
    }
  }
}

absl::Status TransactionService::PutOp(int64_t half_queue_offset) {
  libstore::MessageToStore op;
  op.topic = std::string(kTransOpHalfTopic);
  op.queue_id = 0;
  op.body = std::to_string(half_queue_offset);
  libstore::Properties props;
  props.Set(libstore::property::kTags, kOpTag);
  props.Set("WAIT", "true");
  op.properties = EncodeStoredProperties(props);
  op.born_timestamp_ms = configfile::NowMs();
  op.born_host = options_.broker_host;
  absl::StatusOr<libstore::PutResult> r = store_->Put(op);
  if (!r.ok()) return r.status();
  return absl::OkStatus();
}

void TransactionService::DoEnd(const EndTransactionRequest& request,
                               const std::function<void(int32_t, std::string)>& reply) {
  auto answer = [&reply](int32_t code, std::string remark) {
    if (reply) reply(code, std::move(remark));
  };
  using libstore::sysflag::kTransactionCommit;
  constexpr int32_t kRollback = libstore::sysflag::kTransactionMask;
  if (request.commit_or_rollback == 0) return;  // UNKNOWN: wait for the check (no answer)
  if (request.commit_or_rollback != kTransactionCommit && request.commit_or_rollback != kRollback) {
    return answer(rc::kSystemError, "commitOrRollback must be 0, 8 or 12, not " +
                                        std::to_string(request.commit_or_rollback));
  }
  absl::StatusOr<libstore::MessageRef> ref =
      store_->GetMessageByOffset(libstore::PhysicalOffset(request.commit_log_offset));
  if (!ref.ok()) return answer(rc::kSystemError, "Find prepared transaction message failed");
  const libstore::StoredMessage& m = ref->message;
  if (m.topic != kTransHalfTopic) {
    return answer(rc::kSystemError, "the message at commitLogOffset " +
                                        std::to_string(request.commit_log_offset) +
                                        " is not a half message");
  }
  std::optional<std::string_view> group =
      libstore::FindProperty(m.properties, kPropertyProducerGroup);
  if (!group.has_value() || *group != request.producer_group) {
    return answer(rc::kSystemError, "The producer group wrong");
  }
  if (m.queue_offset.value() != request.tran_state_table_offset) {
    return answer(rc::kSystemError, "The transaction state table offset wrong");
  }
  if (m.physical_offset.value() != request.commit_log_offset) {
    return answer(rc::kSystemError, "The commit log offset wrong");
  }
  if (request.commit_or_rollback == kTransactionCommit) {
    std::optional<std::string_view> topic =
        libstore::FindProperty(m.properties, libstore::property::kRealTopic);
    std::optional<std::string_view> qid =
        libstore::FindProperty(m.properties, libstore::property::kRealQueueId);
    std::optional<int64_t> queue = qid.has_value() ? ParseOffset(*qid) : std::nullopt;
    if (!topic.has_value() || topic->empty() || !queue.has_value() || *queue > INT32_MAX) {
      return answer(rc::kSystemError, "the half message has no valid REAL_TOPIC / REAL_QID");
    }
    // As 4.9.7 stores it: the half message's properties unchanged, COMMIT type, linked to the
    // half record.
    libstore::MessageToStore out = CopyOf(m);
    out.topic = std::string(*topic);
    out.queue_id = static_cast<int32_t>(*queue);
    out.sys_flag = (m.sys_flag & ~libstore::sysflag::kTransactionMask) | kTransactionCommit;
    out.prepared_transaction_offset = m.physical_offset.value();
    absl::StatusOr<libstore::PutResult> put = store_->Put(out);
    if (!put.ok()) return answer(rc::kSystemError, std::string(put.status().message()));
    if (on_stored_) on_stored_();
  }
  if (absl::Status s = PutOp(m.queue_offset.value()); !s.ok()) {
    // The transaction itself is decided; without its op message the half message will be
    // checked again later.
    std::fprintf(stderr, "brokerd: op message for half offset %lld: %s\n",
                 static_cast<long long>(m.queue_offset.value()), s.ToString().c_str());
  }
  answer(rc::kSuccess, "");
}

void TransactionService::CheckRound() {
  const std::string half(kTransHalfTopic);
  const std::string op(kTransOpHalfTopic);
  const std::string group(kSysTransGroup);
  const int64_t round_start = configfile::NowMs();
  const int64_t half_max = store_->GetMaxOffset(half, 0).value();
  int64_t half_offset =
      offsets_->Query(group, half, 0).value_or(store_->GetMinOffset(half, 0).value());
  half_offset = std::max(half_offset, store_->GetMinOffset(half, 0).value());
  if (half_offset >= half_max) return;
  int64_t op_offset = offsets_->Query(group, op, 0).value_or(store_->GetMinOffset(op, 0).value());
  op_offset = std::max(op_offset, store_->GetMinOffset(op, 0).value());

  // Op messages from the op consume offset: which half offsets are decided, and for each op
  // message the largest half offset it names (to advance the op offset afterwards).
  std::map<int64_t, int64_t> decided;                 // half offset -> op queue offset
  std::vector<std::pair<int64_t, int64_t>> op_spans;  // (op queue offset, max half offset)
  int64_t op_end = op_offset;
  for (int round = 0; round < 1000; ++round) {
    libstore::GetRequest get;
    get.topic = op;
    get.queue_id = 0;
    get.offset = libstore::QueueOffset(op_end);
    get.max_count = 32;
    libstore::GetResult r = store_->GetMessages(get);
    if (r.status != libstore::GetStatus::kFound || r.messages.empty()) break;
    for (const libstore::MessageRef& ref : r.messages) {
      int64_t max_half = -1;
      for (int64_t h : OpOffsets(ref.message.body)) {
        max_half = std::max(max_half, h);
        if (h >= half_offset) decided[h] = ref.message.queue_offset.value();
      }
      op_spans.emplace_back(ref.message.queue_offset.value(), max_half);
    }
    op_end = r.next_begin_offset.value();
  }

  int64_t i = half_offset;
  int32_t looked = 0;
  while (i < half_max && looked < options_.max_checks_per_round) {
    if (decided.contains(i)) {
      ++i;
      continue;
    }
    libstore::GetRequest get;
    get.topic = half;
    get.queue_id = 0;
    get.offset = libstore::QueueOffset(i);
    get.max_count = 1;
    libstore::GetResult r = store_->GetMessages(get);
    if (r.status != libstore::GetStatus::kFound || r.messages.empty()) {
      if (r.next_begin_offset.value() > i) {
        i = r.next_begin_offset.value();
        continue;
      }
      break;
    }
    ++looked;
    const libstore::StoredMessage& m = r.messages.front().message;
    std::optional<std::string_view> times_text =
        libstore::FindProperty(m.properties, kPropertyCheckTimes);
    const int64_t times = times_text.has_value() ? ParseOffset(*times_text).value_or(0) : 0;
    if (times >= options_.check_max) {
      // Checked often enough without an answer: set aside (RocketMQ keeps it in
      // TRANS_CHECK_MAX_TIME_TOPIC for operators).
      libstore::MessageToStore dead = CopyOf(m);
      dead.topic = std::string(kTransCheckMaxTimeTopic);
      dead.queue_id = 0;
      absl::StatusOr<libstore::PutResult> put = store_->Put(dead);
      if (!put.ok()) {
        std::fprintf(stderr, "brokerd: discard half message %lld: %s\n", static_cast<long long>(i),
                     put.status().ToString().c_str());
        break;
      }
      ++i;
      continue;
    }
    if (m.store_timestamp_ms > round_start) break;  // appended during this round
    const int64_t age = configfile::NowMs() - m.born_timestamp_ms;
    if (age >= 0 && age < options_.timeout_ms) break;  // the later ones are younger still
    // Ask the producer: append a fresh copy that counts the check, then send the copy's
    // coordinates (the producer answers END_TRANSACTION on them).
    libstore::MessageToStore copy = CopyOf(m);
    libstore::Properties props = libstore::Properties::Decode(copy.properties);
    props.Set(kPropertyCheckTimes, std::to_string(times + 1));
    copy.properties = EncodeStoredProperties(props);
    copy.prepared_transaction_offset = 0;
    absl::StatusOr<libstore::PutResult> put = store_->Put(copy);
    if (!put.ok()) {
      std::fprintf(stderr, "brokerd: re-append half message %lld: %s\n", static_cast<long long>(i),
                   put.status().ToString().c_str());
      break;
    }
    std::optional<std::string_view> pgroup =
        libstore::FindProperty(m.properties, kPropertyProducerGroup);
    std::shared_ptr<net::Connection> conn =
        pgroup.has_value() && producers_ ? producers_(std::string(*pgroup)) : nullptr;
    absl::StatusOr<libstore::MessageRef> stored = store_->GetMessageByOffset(put->wrote_offset);
    if (conn == nullptr) {
      std::fprintf(stderr, "brokerd: no live producer of group %s to check half message %lld\n",
                   pgroup.has_value() ? std::string(*pgroup).c_str() : "(none)",
                   static_cast<long long>(i));
    } else if (stored.ok()) {
      const libstore::StoredMessage& c = stored->message;
      std::optional<std::string_view> real_topic =
          libstore::FindProperty(c.properties, libstore::property::kRealTopic);
      std::optional<std::string_view> real_qid =
          libstore::FindProperty(c.properties, libstore::property::kRealQueueId);
      std::optional<std::string_view> uniq =
          libstore::FindProperty(c.properties, libstore::property::kUniqKey);
      const std::string offset_msg_id(put->offset_msg_id());
      int32_t opaque = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        opaque = check_opaque_++;
      }
      remoting::RemotingCommand check =
          remoting::MakeRequest(remoting::request_code::kCheckTransactionState, opaque);
      check.flag |= remoting::kFlagOneway;
      check.SetExtField("commitLogOffset", std::to_string(c.physical_offset.value()));
      check.SetExtField("msgId", uniq.has_value() ? std::string(*uniq) : offset_msg_id);
      check.SetExtField("tranStateTableOffset", std::to_string(c.queue_offset.value()));
      check.SetExtField("offsetMsgId", offset_msg_id);
      check.SetExtField("transactionId", uniq.has_value() ? std::string(*uniq) : offset_msg_id);
      check.body = RewriteRecordTopic(
          c, real_topic.value_or(kTransHalfTopic),
          static_cast<int32_t>(real_qid.has_value() ? ParseOffset(*real_qid).value_or(0) : 0));
      if (absl::Status s = conn->Send(check); !s.ok()) {
        std::fprintf(stderr, "brokerd: send CHECK_TRANSACTION_STATE to %s: %s\n",
                     conn->peer().c_str(), s.ToString().c_str());
      }
    }
    ++i;
  }
  offsets_->Commit(group, half, 0, i);
  // The op offset moves past every op message that only names half offsets now behind.
  int64_t new_op = op_end;
  for (const auto& [op_queue_offset, max_half] : op_spans) {
    if (max_half >= i) {
      new_op = op_queue_offset;
      break;
    }
  }
  offsets_->Commit(group, op, 0, new_op);
}

}  // namespace brokerd::broker
