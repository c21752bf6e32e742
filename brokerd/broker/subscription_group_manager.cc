// SubscriptionGroupManager implementation (see subscription_group_manager.h).
// Thread-safety: mu_ guards the table and version and is never held across file I/O; write_mu_
// serializes writers, which build the next table, persist it, and only then publish it.
#include "broker/subscription_group_manager.h"

#include <limits>
#include <utility>
#include <vector>

namespace brokerd::broker {

namespace {

SubscriptionGroupConfig DefaultConfig(std::string_view group) {
  SubscriptionGroupConfig c;
  c.group_name = std::string(group);
  return c;
}

absl::Status ValidateConfig(const SubscriptionGroupConfig& c) {
  if (absl::Status s = ValidateGroupName(c.group_name); !s.ok()) return s;
  const std::string& g = c.group_name;
  if (c.retry_queue_nums < 0 || c.retry_queue_nums > kMaxTopicQueueNums) {
    return absl::InvalidArgumentError("group " + g + ": retryQueueNums is " +
                                      std::to_string(c.retry_queue_nums) + ", must be 0.." +
                                      std::to_string(kMaxTopicQueueNums));
  }
  if (c.retry_max_times < 0) {
    return absl::InvalidArgumentError("group " + g + ": retryMaxTimes is " +
                                      std::to_string(c.retry_max_times) + ", must be >= 0");
  }
  if (c.broker_id < 0 || c.which_broker_when_consume_slowly < 0) {
    return absl::InvalidArgumentError("group " + g + ": brokerId " + std::to_string(c.broker_id) +
                                      " and whichBrokerWhenConsumeSlowly " +
                                      std::to_string(c.which_broker_when_consume_slowly) +
                                      " must be >= 0");
  }
  return absl::OkStatus();
}

template <typename Table>
std::string Encode(const Table& table, const DataVersion& version, JsonStyle style) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(table.size());
  configfile::RecordWriter w;
  for (const auto& [name, c] : table) {
    w.Int("brokerId", c.broker_id)
        .Bool("consumeBroadcastEnable", c.consume_broadcast_enable)
        .Bool("consumeEnable", c.consume_enable)
        .Bool("consumeFromMinEnable", c.consume_from_min_enable)
        .String("groupName", c.group_name)
        .Bool("notifyConsumerIdsChangedEnable", c.notify_consumer_ids_changed_enable)
        .Int("retryMaxTimes", c.retry_max_times)
        .Int("retryQueueNums", c.retry_queue_nums)
        .Int("whichBrokerWhenConsumeSlowly", c.which_broker_when_consume_slowly);
    rows.emplace_back(name, w.Finish());
  }
  return configfile::EncodeTable(version, "subscriptionGroupTable", rows, style);
}

template <typename Table>
absl::Status Decode(std::string_view text, Table* table, DataVersion* version) {
  return configfile::DecodeTable(
      text, "subscriptionGroupTable", version,
      [table](const std::string& name, const configfile::RecordReader& r) -> absl::Status {
        SubscriptionGroupConfig c = DefaultConfig(name);  // keyed by the map key, as in Java
        // Java's int fields may hold negative values written by an admin; keep what is there.
        const int32_t any32 = std::numeric_limits<int32_t>::min();
        const int64_t any64 = std::numeric_limits<int64_t>::min();
        for (absl::Status s :
             {r.Int64("brokerId", any64, &c.broker_id),
              r.Bool("consumeBroadcastEnable", &c.consume_broadcast_enable),
              r.Bool("consumeEnable", &c.consume_enable),
              r.Bool("consumeFromMinEnable", &c.consume_from_min_enable),
              r.Bool("notifyConsumerIdsChangedEnable", &c.notify_consumer_ids_changed_enable),
              r.Int32("retryMaxTimes", any32, &c.retry_max_times),
              r.Int32("retryQueueNums", any32, &c.retry_queue_nums),
              r.Int64("whichBrokerWhenConsumeSlowly", any64,
                      &c.which_broker_when_consume_slowly)}) {
          if (!s.ok()) return s;
        }
        (*table)[name] = std::move(c);
        return absl::OkStatus();
      });
}

}  // namespace

absl::Status ValidateGroupName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("the consumer group name is empty");
  if (name.size() > kMaxGroupNameLength) {
    return absl::InvalidArgumentError("consumer group name " + std::string(name.substr(0, 32)) +
                                      "... is " + std::to_string(name.size()) +
                                      " characters, longer than " +
                                      std::to_string(kMaxGroupNameLength));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '%' || c == '|' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError("consumer group name " + configfile::Quote(name) +
                                        " has a character outside [%|a-zA-Z0-9_-]");
    }
  }
  return absl::OkStatus();
}

SubscriptionGroupManager::SubscriptionGroupManager(std::string path) : path_(std::move(path)) {
  version_.timestamp_ms = configfile::NowMs();
}

absl::Status SubscriptionGroupManager::Load() {
  if (path_.empty()) {
    return absl::FailedPreconditionError("SubscriptionGroupManager has no file path");
  }
  std::lock_guard<std::mutex> write(write_mu_);
  return configfile::LoadTable(
      path_, mu_, &table_, &version_,
      [](std::string_view text, Table* t, DataVersion* v) { return Decode(text, t, v); });
}

absl::Status SubscriptionGroupManager::Persist() const {
  if (path_.empty()) {
    return absl::FailedPreconditionError("SubscriptionGroupManager has no file path");
  }
  std::lock_guard<std::mutex> write(write_mu_);
  return configfile::Persist(path_, ToJson(JsonStyle::kPretty));
}

std::optional<SubscriptionGroupConfig> SubscriptionGroupManager::Find(
    std::string_view group) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table_.find(group);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<SubscriptionGroupConfig> SubscriptionGroupManager::FindOrAutoCreate(
    std::string_view group) {
  if (std::optional<SubscriptionGroupConfig> found = Find(group)) return *found;
  if (absl::Status s = ValidateGroupName(group); !s.ok()) return s;
  std::lock_guard<std::mutex> write(write_mu_);
  Table next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = table_.find(group); it != table_.end()) return it->second;
    next = table_;
  }
  SubscriptionGroupConfig c = DefaultConfig(group);
  next[c.group_name] = c;
  if (absl::Status s = ApplyLocked(std::move(next)); !s.ok()) return s;
  return c;
}

absl::Status SubscriptionGroupManager::CreateOrUpdate(const SubscriptionGroupConfig& config) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  std::lock_guard<std::mutex> write(write_mu_);
  Table next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(config.group_name);
    if (it != table_.end() && it->second == config) return absl::OkStatus();
    next = table_;
  }
  next[config.group_name] = config;
  return ApplyLocked(std::move(next));
}

absl::Status SubscriptionGroupManager::Delete(std::string_view group) {
  std::lock_guard<std::mutex> write(write_mu_);
  Table next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (table_.find(group) == table_.end()) {
      return absl::NotFoundError("consumer group " + configfile::Quote(group) + " does not exist");
    }
    next = table_;
  }
  next.erase(next.find(group));
  return ApplyLocked(std::move(next));
}

absl::Status SubscriptionGroupManager::EnsureSystemGroups() {
  std::lock_guard<std::mutex> write(write_mu_);
  Table next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next = table_;
  }
  bool changed = false;
  for (std::string_view group : kSystemConsumerGroups) {
    if (next.find(group) != next.end()) continue;
    next[std::string(group)] = DefaultConfig(group);
    changed = true;
  }
  if (!changed) return absl::OkStatus();
  return ApplyLocked(std::move(next));
}

std::map<std::string, SubscriptionGroupConfig> SubscriptionGroupManager::Snapshot(
    DataVersion* version) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (version != nullptr) *version = version_;
  return std::map<std::string, SubscriptionGroupConfig>(table_.begin(), table_.end());
}

DataVersion SubscriptionGroupManager::data_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::string SubscriptionGroupManager::ToJson(JsonStyle style) const {
  Table table;
  DataVersion version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    table = table_;
    version = version_;
  }
  return Encode(table, version, style);
}

absl::Status SubscriptionGroupManager::ApplyLocked(Table next) {
  DataVersion version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    version = configfile::Next(version_);
  }
  if (!path_.empty()) {
    if (absl::Status s = configfile::Persist(path_, Encode(next, version, JsonStyle::kPretty));
        !s.ok()) {
      return s;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  table_.swap(next);
  version_ = version;
  return absl::OkStatus();
}

}  // namespace brokerd::broker
