// SubscriptionGroupManager: the broker's consumer group table (RocketMQ's
// SubscriptionGroupManager), persisted as <storeRoot>/config/subscriptionGroup.json in RocketMQ
// 4.9.7's format:
//   {"dataVersion":{"counter":N,"timestamp":T},
//    "subscriptionGroupTable":{"g":{"brokerId":0,"consumeBroadcastEnable":true,
//      "consumeEnable":true,"consumeFromMinEnable":true,"groupName":"g",
//      "notifyConsumerIdsChangedEnable":true,"retryMaxTimes":16,"retryQueueNums":1,
//      "whichBrokerWhenConsumeSlowly":1},...}}
// File handling (fastjson format, ".bak" fallback on load, durable writes that keep a .bak) is
// the one TopicConfigManager uses (configfile:: in topic_config_manager.h).
//
// Durability: every change (FindOrAutoCreate creating, CreateOrUpdate, Delete,
// EnsureSystemGroups) is persisted before it becomes visible and before the call returns; a change
// whose write fails is not applied. An empty path keeps everything in memory.
// Fields of newer RocketMQ versions (e.g. 5.x "groupRetryPolicy", "attributes") are ignored on
// load and not written back.
//
// Thread-safety: every method may be called from any thread (readers take one short mutex and
// never wait for file I/O; writers are serialized by a second mutex held across the write).
#ifndef BROKERD_BROKER_SUBSCRIPTION_GROUP_MANAGER_H_
#define BROKERD_BROKER_SUBSCRIPTION_GROUP_MANAGER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/topic_config_manager.h"

namespace brokerd::broker {

// Longest consumer group name accepted (RocketMQ's Validators.CHARACTER_MAX_LENGTH).
inline constexpr size_t kMaxGroupNameLength = 255;
// Groups every RocketMQ 4.9.7 broker has (SubscriptionGroupManager.init()).
inline constexpr std::array<std::string_view, 7> kSystemConsumerGroups = {
    "TOOLS_CONSUMER",  "FILTERSRV_CONSUMER",    "SELF_TEST_C_GROUP", "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER"};

// OK when `name` is 1..kMaxGroupNameLength characters of [%|a-zA-Z0-9_-] (the Java client's
// Validators.checkGroup rule); InvalidArgument naming the group otherwise.
absl::Status ValidateGroupName(std::string_view name);

// One consumer group (RocketMQ's SubscriptionGroupConfig). Defaults are Java's.
struct SubscriptionGroupConfig {
  std::string group_name;
  bool consume_enable = true;
  bool consume_from_min_enable = true;
  bool consume_broadcast_enable = true;
  int32_t retry_queue_nums = 1;
  int32_t retry_max_times = 16;
  int64_t broker_id = 0;  // MixAll.MASTER_ID
  int64_t which_broker_when_consume_slowly = 1;
  bool notify_consumer_ids_changed_enable = true;

  bool operator==(const SubscriptionGroupConfig&) const = default;
};

class SubscriptionGroupManager {
 public:
  // `path` is subscriptionGroup.json; empty = in memory only. Starts empty, DataVersion {0, now}.
  explicit SubscriptionGroupManager(std::string path);
  SubscriptionGroupManager(const SubscriptionGroupManager&) = delete;
  SubscriptionGroupManager& operator=(const SubscriptionGroupManager&) = delete;

  const std::string& path() const { return path_; }

  // Replaces table and version with the file's (falling back to path.bak; see configfile::Load).
  // Missing file(s) = empty table, OK. Call before EnsureSystemGroups.
  absl::Status Load();
  // Rewrites the file from memory. FailedPrecondition when path() is empty.
  absl::Status Persist() const;

  // The group's config; nullopt when unknown (no creation: for autoCreateSubscriptionGroup=false).
  std::optional<SubscriptionGroupConfig> Find(std::string_view group) const;
  // RocketMQ findSubscriptionGroupConfig with autoCreateSubscriptionGroup=true: the group's config,
  // created with the defaults when unknown. InvalidArgument for a bad name, other codes when the
  // file write failed.
  absl::StatusOr<SubscriptionGroupConfig> FindOrAutoCreate(std::string_view group);
  // Adds or replaces config.group_name (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP). InvalidArgument
  // unless the name passes ValidateGroupName, retry_queue_nums is 0..kMaxTopicQueueNums,
  // retry_max_times >= 0 and broker_id, which_broker_when_consume_slowly >= 0. Storing an
  // unchanged config changes nothing.
  absl::Status CreateOrUpdate(const SubscriptionGroupConfig& config);
  // Removes the group (DELETE_SUBSCRIPTIONGROUP). NotFound when absent.
  absl::Status Delete(std::string_view group);
  // Adds the kSystemConsumerGroups that are missing (defaults), in one write.
  absl::Status EnsureSystemGroups();

  std::map<std::string, SubscriptionGroupConfig> Snapshot(DataVersion* version = nullptr) const;
  DataVersion data_version() const;
  // {"dataVersion":{...},"subscriptionGroupTable":{...}}, groups in name order.
  std::string ToJson(JsonStyle style = JsonStyle::kPretty) const;

 private:
  using Table = std::map<std::string, SubscriptionGroupConfig, std::less<>>;
  // Publishes `next` (with the version bumped) after persisting it. Requires write_mu_.
  absl::Status ApplyLocked(Table next);

  const std::string path_;
  mutable std::mutex write_mu_;  // serializes mutators, Load and Persist (held across file I/O)
  mutable std::mutex mu_;        // guards table_ and version_ (never held across file I/O)
  Table table_;
  DataVersion version_;
};

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_SUBSCRIPTION_GROUP_MANAGER_H_
