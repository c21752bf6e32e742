// The broker's configuration: Apache RocketMQ's broker.conf (a Java properties file, the keys
// of RocketMQ's BrokerConfig, MessageStoreConfig and NettyServerConfig) with RocketMQ 4.9.7's
// defaults, validated at start-up, and its mapping onto libstore::StoreOptions.
//
// Loading differs from RocketMQ on purpose where RocketMQ loses a setting silently:
//  * an unknown key (e.g. the 3.x spelling mapedFileSizeCommitLog) is an error naming the key
//    and, when one is close, the key that was probably meant;
//  * a RocketMQ key we do not act on yet is accepted and kept (BrokerConfig::other_settings)
//    with a warning naming it;
//  * a value RocketMQ would drop (a non-numeric int, " true" with a space, an enum in the
//    wrong case) or that is out of range is an error naming the key, the value and the line;
//  * brokerRole SLAVE needs brokerId > 0, and a master needs brokerId 0 (RocketMQ resets a
//    master's id to 0 silently).
// Values RocketMQ clamps (diskMaxUsedSpaceRatio to [10, 95], registerNameServerPeriod to
// [10000, 60000]) are clamped the same way, with a warning.
//
// Thread-safety: BrokerConfig is a plain value; the functions are stateless.
#ifndef BROKERD_CONFIG_BROKER_CONFIG_H_
#define BROKERD_CONFIG_BROKER_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config_common.h"
#include "config/properties.h"
#include "libstore/options.h"

namespace brokerd::config {

enum class BrokerRole {
  kAsyncMaster,  // ASYNC_MASTER: replicate in the background
  kSyncMaster,   // SYNC_MASTER: a put completes once a slave has it (or slaveTimeout passes)
  kSlave,        // SLAVE: replicate from the master of the same brokerName
};
enum class FlushDiskType {
  kAsyncFlush,  // ASYNC_FLUSH
  kSyncFlush,   // SYNC_FLUSH
};

// "ASYNC_MASTER" / "SYNC_MASTER" / "SLAVE", "ASYNC_FLUSH" / "SYNC_FLUSH".
std::string_view BrokerRoleName(BrokerRole role);
std::string_view FlushDiskTypeName(FlushDiskType type);

// ---- Bounds of our own on RocketMQ keys (RocketMQ checks none of these). ----
inline constexpr int32_t kMaxDefaultTopicQueueNums = 1024;  // defaultTopicQueueNums
inline constexpr int32_t kMaxThreadPoolNums = 1024;         // sendMessageThreadPoolNums
inline constexpr size_t kMaxNameBytes = 255;                // brokerName, brokerClusterName
// libstore maps CommitLog files in whole pages: mappedFileSizeCommitLog must be a multiple.
inline constexpr int32_t kCommitLogFileSizeAlignment = 4096;
// One ConsumeQueue unit (offset 8 + size 4 + tags code 8): mappedFileSizeConsumeQueue must be
// a multiple (RocketMQ rounds it up instead; we refuse so that files stay where they were).
inline constexpr int32_t kConsumeQueueUnitBytes = 20;
// registerNameServerPeriod is clamped into this range (RocketMQ's BrokerController).
inline constexpr int32_t kMinRegisterNameServerPeriodMs = 10000;
inline constexpr int32_t kMaxRegisterNameServerPeriodMs = 60000;
// diskMaxUsedSpaceRatio is clamped into this range (MessageStoreConfig's getter).
inline constexpr int32_t kMinDiskMaxUsedSpaceRatio = 10;
inline constexpr int32_t kMaxDiskMaxUsedSpaceRatio = 95;

// Every field is one broker.conf key (named in its comment) with RocketMQ 4.9.7's default,
// except the two bounds marked "ours".
struct BrokerConfig {
  // ---- Identity ----
  std::string broker_cluster_name = "DefaultCluster";          // brokerClusterName
  std::string broker_name;                                     // brokerName; default: host name
  int64_t broker_id = 0;                                       // brokerId: 0 = master, > 0 = slave
  BrokerRole broker_role = BrokerRole::kAsyncMaster;           // brokerRole
  FlushDiskType flush_disk_type = FlushDiskType::kAsyncFlush;  // flushDiskType

  // ---- Network ----
  // namesrvAddr: "host:port;host:port" (default $NAMESRV_ADDR; empty = register nowhere).
  std::string namesrv_addr;
  std::vector<HostPort> namesrv_addrs;  // namesrvAddr parsed (derived, not a key)
  std::string broker_ip1;               // brokerIP1: advertised address; default: local IP
  std::string broker_ip2;               // brokerIP2: HA address; default: local IP
  int32_t listen_port = 10911;          // listenPort (client remoting)
  int32_t ha_listen_port = 10912;       // haListenPort: listenPort + 1 unless set
  std::string ha_master_address;        // haMasterAddress: a slave's static master HA address

  // ---- Store (see ToStoreOptions) ----
  std::string store_path_root_dir;    // storePathRootDir: default ~/store
  std::string store_path_commit_log;  // storePathCommitLog: <root>/commitlog (only that)
  int32_t mapped_file_size_commit_log = 1073741824;  // mappedFileSizeCommitLog
  int32_t mapped_file_size_consume_queue = 6000000;  // mappedFileSizeConsumeQueue (300000 x 20)
  std::string delete_when = "04";                    // deleteWhen: hours, ';'-separated
  int32_t file_reserved_time_hours = 72;             // fileReservedTime
  int32_t disk_max_used_space_ratio = 75;            // diskMaxUsedSpaceRatio (%)
  int32_t clean_resource_interval_ms = 10000;        // cleanResourceInterval
  int32_t max_message_size = 4194304;                // maxMessageSize (body bytes)
  int32_t flush_interval_commit_log_ms = 500;        // flushIntervalCommitLog
  int32_t flush_commit_log_least_pages = 4;          // flushCommitLogLeastPages
  int32_t flush_commit_log_thorough_interval_ms = 10000;  // flushCommitLogThoroughInterval
  int32_t flush_interval_consume_queue_ms = 1000;         // flushIntervalConsumeQueue
  int32_t sync_flush_timeout_ms = 5000;                   // syncFlushTimeout
  int32_t slave_timeout_ms = 3000;                        // slaveTimeout
  bool message_index_enable = true;                       // messageIndexEnable
  int32_t max_hash_slot_num = 5000000;                    // maxHashSlotNum
  int32_t max_index_num = 20000000;                       // maxIndexNum
  int32_t max_msgs_num_batch = 64;                        // maxMsgsNumBatch
  bool check_crc_on_recover = true;                       // checkCRCOnRecover
  // messageDelayLevel: delay of each level, "<n><s|m|h|d>" separated by single spaces.
  std::string message_delay_level = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

  // ---- Topics, consumption, transactions ----
  bool auto_create_topic_enable = true;           // autoCreateTopicEnable
  bool auto_create_subscription_group = true;     // autoCreateSubscriptionGroup
  int32_t default_topic_queue_nums = 8;           // defaultTopicQueueNums
  bool long_polling_enable = true;                // longPollingEnable
  int64_t short_polling_time_ms = 1000;           // shortPollingTimeMills
  bool slave_read_enable = false;                 // slaveReadEnable
  int64_t transaction_timeout_ms = 6000;          // transactionTimeOut
  int32_t transaction_check_max = 15;             // transactionCheckMax
  int64_t transaction_check_interval_ms = 60000;  // transactionCheckInterval

  // ---- Name server registration, threads, flow control ----
  int32_t register_name_server_period_ms = 30000;  // registerNameServerPeriod
  int32_t send_message_thread_pool_nums = 1;       // sendMessageThreadPoolNums: min(cpus, 4)
  bool broker_fast_failure_enable = true;          // brokerFastFailureEnable
  int64_t wait_time_ms_in_send_queue = 200;        // waitTimeMillsInSendQueue
  // Sends being stored at most; beyond, a send is answered SYSTEM_BUSY.
  int32_t send_thread_pool_queue_capacity = 10000;  // sendThreadPoolQueueCapacity
  // A pull answers at most this many messages / bytes of message records (RocketMQ's in-memory
  // bounds; we apply them to every pull, the page cache decides what is in memory).
  int32_t max_transfer_count_on_message_in_memory = 32;      // maxTransferCountOnMessageInMemory
  int32_t max_transfer_bytes_on_message_in_memory = 262144;  // maxTransferBytesOnMessageInMemory

  // ---- Bounds of our own (not RocketMQ keys) ----
  int32_t max_frame_bytes = kDefaultMaxFrameBytes;  // maxFrameBytes (ours)
  // A queue lock of an orderly consumer lapses when not renewed for this long (Java reads it
  // from -Drocketmq.broker.rebalance.lockMaxLiveTime; here a broker.conf key of ours).
  int64_t rebalance_lock_max_live_time_ms = 60000;   // rebalanceLockMaxLiveTime (ours)
  int32_t max_connections = kDefaultMaxConnections;  // maxConnections (ours)

  // RocketMQ keys we accept but do not act on yet, in file order (see rocketmq_keys.cc).
  std::vector<Setting> other_settings;

  bool operator==(const BrokerConfig&) const = default;
};

// The defaults alone (what an empty broker.conf gives) for this environment.
BrokerConfig DefaultBrokerConfig(const ConfigEnvironment& env);

// Parses and validates broker.conf text. Warnings (duplicate keys, settings we keep but ignore,
// clamped values, RocketMQ behaviours we differ from) go to *warnings when it is not null.
// Errors: InvalidArgument listing every problem with its line (the first 50 errors, and
// the first 50 warnings, are listed; the rest are counted).
absl::StatusOr<BrokerConfig> ParseBrokerConfig(std::string_view text, const ConfigEnvironment& env,
                                               std::vector<ConfigWarning>* warnings = nullptr);

// ParseBrokerConfig over a file (at most kMaxPropertiesFileBytes); errors name the path.
absl::StatusOr<BrokerConfig> ReadBrokerConfigFile(const std::string& path,
                                                  const ConfigEnvironment& env,
                                                  std::vector<ConfigWarning>* warnings = nullptr);

// Every key of the configuration with its value, supported keys first (in a fixed order),
// then other_settings: what GET_BROKER_CONFIG reports. ParseBrokerConfig of
// SerializeProperties(...) of it yields the same BrokerConfig.
std::vector<Property> BrokerConfigToProperties(const BrokerConfig& config);

// The store settings of a validated config as libstore options: root_dir, file sizes, flush
// mode and intervals, index, delay levels, CRC check, retention, replica wait (SYNC_MASTER
// waits up to slaveTimeout), store_host = brokerIP1:listenPort. env stays nullptr (default).
libstore::StoreOptions ToStoreOptions(const BrokerConfig& config);

// The broker.conf of the local single-node setup the README runs: one ASYNC_MASTER on
// 127.0.0.1:10911 registering with the name server at 127.0.0.1:9876, store under
// /tmp/rocketstore-broker. Loads without errors or warnings.
std::string_view DefaultLocalBrokerConfigText();

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_BROKER_CONFIG_H_
