// ScheduleService implementation (see schedule_service.h).
// Thread-safety: mu_ guards next_ and the thread state; the store is thread-safe. Deliveries
// happen on the service thread only, without holding mu_ during puts.
#include "broker/schedule_service.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <optional>
#include <utility>

#include "broker/topic_config_manager.h"
#include "libstore/message.h"
#include "nlohmann/json.hpp"
#include "remoting/fastjson.h"

namespace brokerd::broker {

std::optional<int64_t> ParseDecimal(std::string_view s, int64_t max) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

namespace {

// A non-negative decimal that fits int32; nullopt otherwise.
std::optional<int32_t> ParseNonNegative(std::string_view s) {
  std::optional<int64_t> v = ParseDecimal(s, INT32_MAX);
  if (!v.has_value()) return std::nullopt;
  return static_cast<int32_t>(*v);
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> ParseDelayLevels(std::string_view spec) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t end = spec.find(' ', pos);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    int64_t unit = 0;
    switch (item.back()) {
      case 's':
        unit = 1000;
        break;
      case 'm':
        unit = 60 * 1000;
        break;
      case 'h':
        unit = 3600 * 1000;
        break;
      case 'd':
        unit = 24 * 3600 * 1000;
        break;
      default:
        return absl::InvalidArgumentError("messageDelayLevel item '" + std::string(item) +
                                          "' does not end in s, m, h or d");
    }
    std::optional<int32_t> n = ParseNonNegative(item.substr(0, item.size() - 1));
    if (!n.has_value() || *n > 1000000) {
      return absl::InvalidArgumentError("messageDelayLevel item '" + std::string(item) +
                                        "' is not a number of units");
    }
    out.push_back(*n * unit);
  }
  if (out.empty()) return absl::InvalidArgumentError("messageDelayLevel lists no level");
  return out;
}

std::string EncodeStoredProperties(const libstore::Properties& props) {
  std::string out = props.Encode();
  if (!out.empty() && out.back() == '\x02') out.pop_back();
  return out;
}

int32_t DelayLevelOf(std::string_view encoded_properties) {
  std::optional<std::string_view> d =
      libstore::FindProperty(encoded_properties, libstore::property::kDelay);
  if (!d.has_value()) return 0;
  std::optional<int32_t> level = ParseNonNegative(*d);
  return level.value_or(0);
}

ScheduleService::ScheduleService(libstore::MessageStore* store, std::vector<int64_t> delays_ms,
                                 std::string offsets_path, std::function<void()> on_delivered)
    : store_(store),
      delays_ms_(std::move(delays_ms)),
      offsets_path_(std::move(offsets_path)),
      on_delivered_(std::move(on_delivered)) {}

ScheduleService::~ScheduleService() { (void)Stop(); }

absl::Status ScheduleService::Load() {
  std::map<int32_t, int64_t> next;
  absl::Status s = configfile::Load(offsets_path_, [&](std::string_view text) -> absl::Status {
    absl::StatusOr<nlohmann::json> j = remoting::ParseFastjson(text, offsets_path_);
    if (!j.ok()) return absl::DataLossError(j.status().message());
    std::map<int32_t, int64_t> decoded;
    auto it = j->find("offsetTable");
    if (it != j->end()) {
      if (!it->is_object()) {
        return absl::DataLossError(offsets_path_ + ": offsetTable is not an object");
      }
      for (const auto& [key, value] : it->items()) {
        std::optional<int32_t> level = ParseNonNegative(key);
        if (!level.has_value() || *level < 1 || !value.is_number_integer() ||
            value.get<int64_t>() < 0) {
          return absl::DataLossError(offsets_path_ + ": bad entry " + key);
        }
        decoded[*level] = value.get<int64_t>();
      }
    }
    next = std::move(decoded);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  next_ = std::move(next);
  return absl::OkStatus();
}

void ScheduleService::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

absl::Status ScheduleService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stop_) return absl::OkStatus();
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return Persist();
}

std::string ScheduleService::ToJson() const {
  // fastjson's form: bare integer keys.
  std::string out = "{\n\t\"offsetTable\":{";
  bool first = true;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [level, offset] : next_) {
    if (!first) out.push_back(',');
    first = false;
    out += std::to_string(level) + ":" + std::to_string(offset);
  }
  out += "\n\t}\n}";
  return out;
}

absl::Status ScheduleService::Persist() { return configfile::Persist(offsets_path_, ToJson()); }

std::map<int32_t, int64_t> ScheduleService::NextOffsets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_;
}

void ScheduleService::Divert(libstore::MessageToStore& msg, int32_t level) const {
  level = std::clamp(level, 1, max_level());
  libstore::Properties props = libstore::Properties::Decode(msg.properties);
  props.Set(libstore::property::kDelay, std::to_string(level));
  props.Set(libstore::property::kRealTopic, msg.topic);
  props.Set(libstore::property::kRealQueueId, std::to_string(msg.queue_id));
  msg.properties = EncodeStoredProperties(props);
  msg.topic = std::string(kScheduleTopic);
  msg.queue_id = level - 1;
}

int ScheduleService::DeliverDue(int32_t level, int64_t now_ms) {
  int64_t from = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = next_[level];
  }
  libstore::GetRequest get;
  get.topic = std::string(kScheduleTopic);
  get.queue_id = level - 1;
  get.offset = libstore::QueueOffset(from);
  get.max_count = kBatch;
  get.max_bytes = 4 << 20;
  libstore::GetResult result = store_->GetMessages(get);
  using libstore::GetStatus;
  if (result.status == GetStatus::kOffsetTooSmall ||
      result.status == GetStatus::kOffsetOverflowBadly ||
      result.status == GetStatus::kMessageWasRemoving) {
    std::lock_guard<std::mutex> lock(mu_);
    next_[level] = result.next_begin_offset.value();
    return 0;
  }
  if (result.status != GetStatus::kFound) return 0;
  const int64_t delay = delay_ms(level);
  int delivered = 0;
  for (const libstore::MessageRef& ref : result.messages) {
    const libstore::StoredMessage& m = ref.message;
    int64_t deliver_at = m.store_timestamp_ms + delay;
    if (deliver_at > now_ms + delay) deliver_at = now_ms;  // clock moved back: deliver now
    if (deliver_at > now_ms) break;
    std::optional<std::string_view> real_topic =
        libstore::FindProperty(m.properties, libstore::property::kRealTopic);
    std::optional<std::string_view> real_qid =
        libstore::FindProperty(m.properties, libstore::property::kRealQueueId);
    std::optional<int32_t> qid =
        real_qid.has_value() ? ParseNonNegative(*real_qid) : std::optional<int32_t>();
    if (real_topic.has_value() && !real_topic->empty() && qid.has_value()) {
      libstore::MessageToStore out;
      out.topic = std::string(*real_topic);
      out.queue_id = *qid;
      out.flag = m.flag;
      out.sys_flag = m.sys_flag;
      out.body = std::string(m.body);
      out.properties = std::string(m.properties);
      out.born_timestamp_ms = m.born_timestamp_ms;
      out.born_host = m.born_host;
      out.reconsume_times = m.reconsume_times;
      absl::StatusOr<libstore::PutResult> put = store_->Put(out);
      if (!put.ok()) {
        // Try again on the next pass (the store may be full or closing).
        std::fprintf(stderr, "brokerd: delayed delivery of %s/%d offset %lld: %s\n",
                     out.topic.c_str(), out.queue_id,
                     static_cast<long long>(m.queue_offset.value()),
                     put.status().ToString().c_str());
        break;
      }
      ++delivered;
    } else {
      std::fprintf(stderr,
                   "brokerd: %s queue %d offset %lld has no valid REAL_TOPIC/REAL_QID; skipped\n",
                   std::string(kScheduleTopic).c_str(), level - 1,
                   static_cast<long long>(m.queue_offset.value()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    next_[level] = m.queue_offset.value() + 1;
  }
  return delivered;
}

void ScheduleService::Loop() {
  auto last_persist = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(kPollIntervalMs), [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    int delivered = 0;
    const int64_t now = configfile::NowMs();
    for (int32_t level = 1; level <= max_level(); ++level) {
      // A level keeps going while whole batches come due.
      for (int round = 0; round < 64; ++round) {
        int n = DeliverDue(level, now);
        delivered += n;
        if (n < kBatch) break;
      }
    }
    if (delivered > 0 && on_delivered_) on_delivered_();
    if (std::chrono::steady_clock::now() - last_persist >
        std::chrono::milliseconds(kPersistIntervalMs)) {
      last_persist = std::chrono::steady_clock::now();
      if (absl::Status s = Persist(); !s.ok()) {
        std::fprintf(stderr, "brokerd: persist delay offsets: %s\n", s.ToString().c_str());
      }
    }
    lock.lock();
  }
}

}  // namespace brokerd::broker
