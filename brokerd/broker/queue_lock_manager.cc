// QueueLockManager and the lock-batch body codec (see queue_lock_manager.h).
// Thread-safety: one mutex guards the lock table; the codec functions are pure.
#include "broker/queue_lock_manager.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "nlohmann/json.hpp"

namespace brokerd::broker {

namespace {

using Json = nlohmann::ordered_json;

// Programmer errors (bad constructor arguments, broken invariants) abort with the values.
void Check(bool ok, const char* what, long long a, long long b) {
  if (ok) return;
  std::fprintf(stderr, "QueueLockManager check failed: %s (%lld vs %lld)\n", what, a, b);
  std::abort();
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

absl::Status Bad(std::string_view what, std::string_view where, const std::string& detail) {
  return absl::InvalidArgumentError(std::string(what) + ": " + std::string(where) + " " + detail);
}

absl::StatusOr<std::set<MessageQueue>> DecodeMqArray(const Json& obj, const char* key,
                                                     std::string_view what) {
  std::set<MessageQueue> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return Bad(what, key, "is " + Dump(*it) + ", not an array");
  size_t index = 0;
  for (const Json& e : *it) {
    const std::string where = std::string(key) + "[" + std::to_string(index++) + "]";
    if (!e.is_object()) return Bad(what, where, "is " + Dump(e) + ", not an object");
    MessageQueue mq;
    auto topic = e.find("topic");
    auto broker = e.find("brokerName");
    auto queue = e.find("queueId");
    if (topic == e.end() || !topic->is_string()) {
      return Bad(what, where, "has no string \"topic\": " + Dump(e));
    }
    if (broker == e.end() || !broker->is_string()) {
      return Bad(what, where, "has no string \"brokerName\": " + Dump(e));
    }
    bool queue_ok = false;
    if (queue != e.end() && queue->is_number_unsigned()) {
      queue_ok = queue->get<uint64_t>() <= static_cast<uint64_t>(INT32_MAX);
    } else if (queue != e.end() && queue->is_number_integer()) {
      int64_t q = queue->get<int64_t>();
      queue_ok = q >= INT32_MIN && q <= INT32_MAX;
    }
    if (!queue_ok) return Bad(what, where, "has no int32 \"queueId\": " + Dump(e));
    mq.topic = topic->get<std::string>();
    mq.broker_name = broker->get<std::string>();
    mq.queue_id = static_cast<int32_t>(queue->get<int64_t>());
    out.insert(std::move(mq));
  }
  return out;
}

Json EncodeMqArray(const std::set<MessageQueue>& mqs) {
  Json array = Json::array();
  for (const MessageQueue& mq : mqs) {
    array.push_back(
        {{"brokerName", mq.broker_name}, {"queueId", mq.queue_id}, {"topic", mq.topic}});
  }
  return array;
}

}  // namespace

int64_t QueueLockManager::SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

QueueLockManager::QueueLockManager(int64_t expiry_ms, Clock clock, size_t max_locks)
    : expiry_ms_(expiry_ms), clock_(std::move(clock)), max_locks_(max_locks) {
  Check(expiry_ms_ > 0, "expiry_ms > 0", expiry_ms_, 0);
  Check(static_cast<bool>(clock_), "clock is set", 0, 0);
  Check(max_locks_ > 0, "max_locks > 0", static_cast<long long>(max_locks_), 0);
}

std::set<MessageQueue> QueueLockManager::TryLockBatch(std::string_view group,
                                                      std::string_view client_id,
                                                      const std::set<MessageQueue>& mqs) {
  std::set<MessageQueue> locked;
  if (mqs.empty()) return locked;
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_();
  auto g = groups_.find(group);
  if (g == groups_.end()) g = groups_.emplace(std::string(group), GroupTable()).first;
  bool purged = false;
  for (const MessageQueue& mq : mqs) {
    auto e = g->second.find(mq);
    if (e != g->second.end()) {
      Entry& entry = e->second;
      if (entry.client_id == client_id || Expired(entry, now)) {
        // Held by this client (refresh, even when it had lapsed) or expired (taken over).
        if (entry.client_id != client_id) entry.client_id = std::string(client_id);
        entry.last_refresh_ms = now;
        locked.insert(mq);
      }
      continue;
    }
    if (size_ >= max_locks_ && !purged) {
      PurgeExpiredLocked(now);
      purged = true;
      g = groups_.find(group);  // the purge may have dropped this group's (empty) table
      if (g == groups_.end()) g = groups_.emplace(std::string(group), GroupTable()).first;
    }
    if (size_ >= max_locks_) continue;  // full: not granted
    g->second.emplace(mq, Entry{std::string(client_id), now});
    ++size_;
    locked.insert(mq);
  }
  if (g->second.empty()) groups_.erase(g);
  Check(size_ <= max_locks_, "size <= max_locks", static_cast<long long>(size_),
        static_cast<long long>(max_locks_));
  return locked;
}

void QueueLockManager::UnlockBatch(std::string_view group, std::string_view client_id,
                                   const std::set<MessageQueue>& mqs) {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = groups_.find(group);
  if (g == groups_.end()) return;
  for (const MessageQueue& mq : mqs) {
    auto e = g->second.find(mq);
    if (e == g->second.end() || e->second.client_id != client_id) continue;
    g->second.erase(e);
    --size_;
  }
  if (g->second.empty()) groups_.erase(g);
}

bool QueueLockManager::IsLocked(std::string_view group, const MessageQueue& mq,
                                std::string_view client_id) const {
  std::optional<std::string> holder = Holder(group, mq);
  return holder.has_value() && *holder == client_id;
}

std::optional<std::string> QueueLockManager::Holder(std::string_view group,
                                                    const MessageQueue& mq) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto g = groups_.find(group);
  if (g == groups_.end()) return std::nullopt;
  auto e = g->second.find(mq);
  if (e == g->second.end() || Expired(e->second, clock_())) return std::nullopt;
  return e->second.client_id;
}

size_t QueueLockManager::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

void QueueLockManager::PurgeExpiredLocked(int64_t now_ms) {
  for (auto g = groups_.begin(); g != groups_.end();) {
    for (auto e = g->second.begin(); e != g->second.end();) {
      if (Expired(e->second, now_ms)) {
        e = g->second.erase(e);
        --size_;
      } else {
        ++e;
      }
    }
    g = g->second.empty() ? groups_.erase(g) : std::next(g);
  }
}

absl::StatusOr<QueueLockRequest> DecodeQueueLockRequest(std::string_view body) {
  constexpr std::string_view kWhat = "lock/unlock batch body";
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return absl::InvalidArgumentError(std::string(kWhat) + " is not JSON");
  if (!j.is_object()) return Bad(kWhat, "the body", "is " + Dump(j) + ", not an object");
  QueueLockRequest r;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"consumerGroup", &r.consumer_group},
                          std::pair<const char*, std::string*>{"clientId", &r.client_id}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) {
      return Bad(kWhat, key, it == j.end() ? "is missing" : "is " + Dump(*it) + ", not a string");
    }
    *out = it->get<std::string>();
  }
  if (auto it = j.find("onlyThisBroker"); it != j.end()) {
    if (!it->is_boolean())
      return Bad(kWhat, "onlyThisBroker", "is " + Dump(*it) + ", not a boolean");
    r.only_this_broker = it->get<bool>();
  }
  absl::StatusOr<std::set<MessageQueue>> mqs = DecodeMqArray(j, "mqSet", kWhat);
  if (!mqs.ok()) return mqs.status();
  r.mq_set = *std::move(mqs);
  return r;
}

absl::StatusOr<std::set<MessageQueue>> DecodeLockBatchResponse(std::string_view body) {
  constexpr std::string_view kWhat = "LOCK_BATCH_MQ response body";
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return absl::InvalidArgumentError(std::string(kWhat) + " is not JSON");
  if (!j.is_object()) return Bad(kWhat, "the body", "is " + Dump(j) + ", not an object");
  return DecodeMqArray(j, "lockOKMQSet", kWhat);
}

std::string EncodeQueueLockRequest(const QueueLockRequest& request) {
  Json j = Json::object();
  j["clientId"] = request.client_id;
  j["consumerGroup"] = request.consumer_group;
  j["mqSet"] = EncodeMqArray(request.mq_set);
  if (request.only_this_broker) j["onlyThisBroker"] = true;
  return Dump(j);
}

std::string EncodeLockBatchResponse(const std::set<MessageQueue>& locked) {
  Json j = Json::object();
  j["lockOKMQSet"] = EncodeMqArray(locked);
  return Dump(j);
}

}  // namespace brokerd::broker
