// broker.conf loading and validation (see broker_config.h). The supported keys are listed once,
// in VisitBrokerKeys; the keys we recognise but ignore are in rocketmq_keys.cc.
// Thread-safety: stateless.
#include "config/broker_config.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "config/config_util.h"
#include "config/properties.h"
#include "config/rocketmq_keys.h"

namespace brokerd::config {

namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// fileReservedTime upper bound (ours): 100 years, in hours.
constexpr int32_t kMaxFileReservedHours = 24 * 365 * 100;
// IndexFile header bytes, hash slot bytes and entry bytes: RocketMQ sizes the file as an int.
constexpr int64_t kIndexHeaderBytes = 40;
constexpr int64_t kIndexSlotBytes = 4;
constexpr int64_t kIndexEntryBytes = 20;

constexpr EnumName<BrokerRole> kBrokerRoles[] = {
    {BrokerRole::kAsyncMaster, "ASYNC_MASTER"},
    {BrokerRole::kSyncMaster, "SYNC_MASTER"},
    {BrokerRole::kSlave, "SLAVE"},
};
constexpr EnumName<FlushDiskType> kFlushDiskTypes[] = {
    {FlushDiskType::kAsyncFlush, "ASYNC_FLUSH"},
    {FlushDiskType::kSyncFlush, "SYNC_FLUSH"},
};

bool HasControlBytes(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F;
  });
}

std::string CheckName(std::string_view v) {
  if (v.empty()) return "is empty";
  if (v.size() > kMaxNameBytes) return absl::StrCat("is longer than ", kMaxNameBytes, " bytes");
  if (HasControlBytes(v)) return "contains control characters";
  return "";
}

std::string CheckPath(std::string_view v) {
  if (v.empty()) return "is empty";
  if (HasControlBytes(v)) return "contains control characters";
  return "";
}

std::string CheckIp(std::string_view v) {
  if (v.empty()) return "is empty";
  if (!IsIpLiteral(v)) return "is not an IPv4 or IPv6 address";
  return "";
}

// RocketMQ splits on ';' and drops trailing empty items (String.split), then parses each as
// host:port (RemotingUtil.string2SocketAddress); a bad one stops BrokerStartup. An empty value
// means "no name server" here (RocketMQ 4.9.7 refuses it).
std::string ParseNamesrvList(std::string_view v, std::vector<HostPort>* out) {
  out->clear();
  size_t end = v.size();
  while (end > 0 && v[end - 1] == ';') --end;
  if (end == 0) return "";
  size_t pos = 0;
  while (pos <= end) {
    size_t semi = v.find(';', pos);
    if (semi == std::string_view::npos || semi > end) semi = end;
    const std::string_view item = v.substr(pos, semi - pos);
    if (item.empty()) return "has an empty address between ';'";
    HostPort hp;
    const std::string err = ParseHostPort(item, &hp);
    if (!err.empty()) {
      return absl::StrCat(err, " (write it as \"127.0.0.1:9876;192.168.0.1:9876\")");
    }
    out->push_back(std::move(hp));
    pos = semi + 1;
  }
  return "";
}

std::string CheckNamesrvAddr(std::string_view v) {
  std::vector<HostPort> ignored;
  return ParseNamesrvList(v, &ignored);
}

std::string CheckHaMasterAddress(std::string_view v) {
  if (v.empty()) return "";  // unset: a slave asks the name server
  HostPort hp;
  return ParseHostPort(v, &hp);
}

// UtilAll.isItTimeToDo: hours of the day separated by ';' (Integer.parseInt each).
std::string CheckDeleteWhen(std::string_view v) {
  size_t end = v.size();
  while (end > 0 && v[end - 1] == ';') --end;
  if (end == 0) return "has no hour (write e.g. 04 or 01;13)";
  size_t pos = 0;
  while (pos <= end) {
    size_t semi = v.find(';', pos);
    if (semi == std::string_view::npos || semi > end) semi = end;
    const std::string_view item = v.substr(pos, semi - pos);
    int64_t hour = 0;
    const std::string err = ParseIntValue(item, INT32_MIN, INT32_MAX, 0, 23, &hour);
    if (!err.empty()) {
      return absl::StrCat("hour ", err,
                          " (RocketMQ's cleaner would fail on it and never delete by time)");
    }
    pos = semi + 1;
  }
  return "";
}

// ScheduleMessageService.parseDelayLevel: split(" "), each "<long><unit>" with unit s, m, h or
// d; a bad level makes the broker fail to start.
std::string CheckDelayLevels(std::string_view v) {
  if (v.empty()) return "has no level";
  size_t pos = 0;
  int level = 1;
  while (pos <= v.size()) {
    size_t sp = v.find(' ', pos);
    if (sp == std::string_view::npos) sp = v.size();
    const std::string_view item = v.substr(pos, sp - pos);
    if (item.empty())
      return absl::StrCat("level ", level, " is empty (separate levels by one space)");
    int64_t unit_ms = 0;
    switch (item.back()) {
      case 's':
        unit_ms = 1000;
        break;
      case 'm':
        unit_ms = 60000;
        break;
      case 'h':
        unit_ms = 3600000;
        break;
      case 'd':
        unit_ms = 86400000;
        break;
      default:
        return absl::StrCat("level ", level, " '", Printable(item),
                            "' does not end in a unit s, m, h or d");
    }
    int64_t n = 0;
    const std::string err =
        ParseIntValue(item.substr(0, item.size() - 1), INT64_MIN, INT64_MAX, 0, INT64_MAX, &n);
    int64_t ms = 0;
    if (!err.empty() || __builtin_mul_overflow(n, unit_ms, &ms)) {
      return absl::StrCat("level ", level, " '", Printable(item),
                          "' is not a non-negative number and a unit");
    }
    pos = sp + 1;
    ++level;
  }
  return "";
}

// The keys this broker acts on, in the order BrokerConfigToProperties writes them.
template <typename C, typename V>
void VisitBrokerKeys(C& c, V& v) {
  v.String("brokerClusterName", &c.broker_cluster_name, CheckName);
  v.String("brokerName", &c.broker_name, CheckName);
  v.Int64("brokerId", &c.broker_id, 0, INT64_MAX);
  v.Enum("brokerRole", &c.broker_role, std::span<const EnumName<BrokerRole>>(kBrokerRoles));
  v.Enum("flushDiskType", &c.flush_disk_type,
         std::span<const EnumName<FlushDiskType>>(kFlushDiskTypes));
  v.String("namesrvAddr", &c.namesrv_addr, CheckNamesrvAddr);
  v.String("brokerIP1", &c.broker_ip1, CheckIp);
  v.String("brokerIP2", &c.broker_ip2, CheckIp);
  v.Int32("listenPort", &c.listen_port, 1, 65535);
  v.Int32("haListenPort", &c.ha_listen_port, 1, 65535);
  v.String("haMasterAddress", &c.ha_master_address, CheckHaMasterAddress);
  v.String("storePathRootDir", &c.store_path_root_dir, CheckPath);
  v.String("storePathCommitLog", &c.store_path_commit_log, CheckPath);
  v.Int32("mappedFileSizeCommitLog", &c.mapped_file_size_commit_log, kCommitLogFileSizeAlignment,
          INT32_MAX);
  v.Int32("mappedFileSizeConsumeQueue", &c.mapped_file_size_consume_queue, kConsumeQueueUnitBytes,
          INT32_MAX);
  v.String("deleteWhen", &c.delete_when, CheckDeleteWhen);
  v.Int32("fileReservedTime", &c.file_reserved_time_hours, 0, kMaxFileReservedHours);
  v.Int32Clamped("diskMaxUsedSpaceRatio", &c.disk_max_used_space_ratio, kMinDiskMaxUsedSpaceRatio,
                 kMaxDiskMaxUsedSpaceRatio);
  v.Int32("cleanResourceInterval", &c.clean_resource_interval_ms, 1, INT32_MAX);
  v.Int32("maxMessageSize", &c.max_message_size, 1, INT32_MAX);
  v.Int32("flushIntervalCommitLog", &c.flush_interval_commit_log_ms, 1, INT32_MAX);
  v.Int32("flushCommitLogLeastPages", &c.flush_commit_log_least_pages, 0, INT32_MAX);
  v.Int32("flushCommitLogThoroughInterval", &c.flush_commit_log_thorough_interval_ms, 0, INT32_MAX);
  v.Int32("flushIntervalConsumeQueue", &c.flush_interval_consume_queue_ms, 1, INT32_MAX);
  v.Int32("syncFlushTimeout", &c.sync_flush_timeout_ms, 1, INT32_MAX);
  v.Int32("slaveTimeout", &c.slave_timeout_ms, 1, INT32_MAX);
  v.Bool("messageIndexEnable", &c.message_index_enable);
  v.Int32("maxHashSlotNum", &c.max_hash_slot_num, 1, INT32_MAX);
  v.Int32("maxIndexNum", &c.max_index_num, 2, INT32_MAX);
  v.Int32("maxMsgsNumBatch", &c.max_msgs_num_batch, 1, INT32_MAX);
  v.Bool("checkCRCOnRecover", &c.check_crc_on_recover);
  v.String("messageDelayLevel", &c.message_delay_level, CheckDelayLevels);
  v.Bool("autoCreateTopicEnable", &c.auto_create_topic_enable);
  v.Bool("autoCreateSubscriptionGroup", &c.auto_create_subscription_group);
  v.Int32("defaultTopicQueueNums", &c.default_topic_queue_nums, 1, kMaxDefaultTopicQueueNums);
  v.Bool("longPollingEnable", &c.long_polling_enable);
  v.Int64("shortPollingTimeMills", &c.short_polling_time_ms, 1, INT32_MAX);
  v.Bool("slaveReadEnable", &c.slave_read_enable);
  v.Int64("transactionTimeOut", &c.transaction_timeout_ms, 0, INT64_MAX);
  v.Int32("transactionCheckMax", &c.transaction_check_max, 0, INT32_MAX);
  v.Int64("transactionCheckInterval", &c.transaction_check_interval_ms, 1, INT64_MAX);
  v.Int32Clamped("registerNameServerPeriod", &c.register_name_server_period_ms,
                 kMinRegisterNameServerPeriodMs, kMaxRegisterNameServerPeriodMs);
  v.Int32("sendMessageThreadPoolNums", &c.send_message_thread_pool_nums, 1, kMaxThreadPoolNums);
  v.Bool("brokerFastFailureEnable", &c.broker_fast_failure_enable);
  v.Int64("waitTimeMillsInSendQueue", &c.wait_time_ms_in_send_queue, 0, INT64_MAX);
  v.Int32("sendThreadPoolQueueCapacity", &c.send_thread_pool_queue_capacity, 1, INT32_MAX);
  v.Int32("maxTransferCountOnMessageInMemory", &c.max_transfer_count_on_message_in_memory, 1,
          kMaxTransferCount);
  v.Int32("maxTransferBytesOnMessageInMemory", &c.max_transfer_bytes_on_message_in_memory, 1,
          kMaxTransferBytes);
  v.Int32("maxFrameBytes", &c.max_frame_bytes, kMinMaxFrameBytes, kMaxMaxFrameBytes);
  v.Int64("rebalanceLockMaxLiveTime", &c.rebalance_lock_max_live_time_ms, 1, INT64_MAX);
  v.Int32("maxConnections", &c.max_connections, 1, kMaxMaxConnections);
}

struct BrokerKeys {
  template <typename C, typename V>
  void operator()(C& c, V& v) const {
    VisitBrokerKeys(c, v);
  }
};

// The line a key was set on, or 0 when it has its default.
int LineOf(const SetLines& set, const char* key) {
  auto it = set.find(key);
  return it == set.end() ? 0 : it->second;
}

// "(line 3)" or "(the default)" for messages about a value.
std::string Where(const SetLines& set, const char* key) {
  const int line = LineOf(set, key);
  return line > 0 ? absl::StrCat("set on line ", line) : "the default";
}

std::string NormalPath(const std::string& p) {
  std::string n = std::filesystem::path(p).lexically_normal().string();
  while (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

// Cross-key rules and derived values, after every key was applied.
void Finish(const SetLines& set, BrokerConfig* c, Diagnostics* d) {
  // Values that come from the environment when not set are checked here too.
  if (LineOf(set, "brokerName") == 0) {
    const std::string err = CheckName(c->broker_name);
    if (!err.empty()) d->Error(0, absl::StrCat("brokerName (default: the host name) ", err));
  }
  {
    const int line = LineOf(set, "namesrvAddr");
    const std::string err = ParseNamesrvList(c->namesrv_addr, &c->namesrv_addrs);
    if (!err.empty() && line == 0) {
      d->Error(0, absl::StrCat("namesrvAddr (default: $NAMESRV_ADDR '", Printable(c->namesrv_addr),
                               "') ", err));
    }
    if (c->namesrv_addrs.empty()) {
      d->Warn(line, line > 0 ? "namesrvAddr is empty: the broker registers with no name server "
                               "(RocketMQ 4.9.7 refuses an empty namesrvAddr)"
                             : "namesrvAddr is not set (nor $NAMESRV_ADDR): the broker "
                               "registers with no name server");
    }
  }

  // Ports: HA listens on listenPort + 1 unless haListenPort is set.
  const int ha_line = LineOf(set, "haListenPort");
  if (ha_line == 0) {
    if (c->listen_port >= 65535) {
      d->Error(LineOf(set, "listenPort"),
               absl::StrCat("listenPort ", c->listen_port,
                            " leaves no port for HA (listenPort + 1); set haListenPort"));
    } else {
      c->ha_listen_port = c->listen_port + 1;
    }
  } else if (c->ha_listen_port == c->listen_port) {
    d->Error(ha_line, absl::StrCat("haListenPort ", c->ha_listen_port, " is also listenPort"));
  } else if (c->ha_listen_port != c->listen_port + 1) {
    d->Warn(ha_line,
            absl::StrCat("haListenPort ", c->ha_listen_port,
                         " is used as set; note that RocketMQ "
                         "4.9.7 ignores haListenPort and always listens for HA on listenPort + 1 (",
                         c->listen_port + 1, "), so its slaves expect that port"));
  }

  // Paths: the CommitLog lives in <root>/commitlog (libstore's layout).
  const std::string default_commit_log = c->store_path_root_dir + "/commitlog";
  const int cl_line = LineOf(set, "storePathCommitLog");
  if (cl_line == 0) {
    c->store_path_commit_log = default_commit_log;
  } else if (NormalPath(c->store_path_commit_log) != NormalPath(default_commit_log)) {
    d->Error(cl_line,
             absl::StrCat("storePathCommitLog '", Printable(c->store_path_commit_log),
                          "' is not storePathRootDir/commitlog ('", Printable(default_commit_log),
                          "'): this store keeps the CommitLog there; a separate CommitLog "
                          "directory (or a 5.x comma list) is not supported"));
  }
  for (const char* key : {"storePathRootDir", "storePathCommitLog"}) {
    const std::string& p = std::string_view(key) == "storePathRootDir" ? c->store_path_root_dir
                                                                       : c->store_path_commit_log;
    const int line = LineOf(set, key);
    if (line > 0 && !p.empty() && p[0] == '~') {
      d->Warn(line, absl::StrCat(key, " '", Printable(p),
                                 "' starts with '~', which is not expanded (nor by RocketMQ): "
                                 "it names a directory '~' under the working directory"));
    }
  }

  // File sizes.
  if (c->mapped_file_size_commit_log % kCommitLogFileSizeAlignment != 0) {
    d->Error(LineOf(set, "mappedFileSizeCommitLog"),
             absl::StrCat("mappedFileSizeCommitLog ", c->mapped_file_size_commit_log,
                          " is not a multiple of ", kCommitLogFileSizeAlignment,
                          " (this store maps CommitLog files in whole pages)"));
  }
  if (c->mapped_file_size_consume_queue % kConsumeQueueUnitBytes != 0) {
    const int64_t rounded =
        (static_cast<int64_t>(c->mapped_file_size_consume_queue) + kConsumeQueueUnitBytes - 1) /
        kConsumeQueueUnitBytes * kConsumeQueueUnitBytes;
    d->Error(LineOf(set, "mappedFileSizeConsumeQueue"),
             absl::StrCat("mappedFileSizeConsumeQueue ", c->mapped_file_size_consume_queue,
                          " is not a multiple of ", kConsumeQueueUnitBytes,
                          " (one unit); RocketMQ would silently use ", rounded, ": write that"));
  }
  const int64_t index_bytes = kIndexHeaderBytes + kIndexSlotBytes * c->max_hash_slot_num +
                              kIndexEntryBytes * c->max_index_num;
  if (index_bytes > INT32_MAX) {
    const int line = std::max(LineOf(set, "maxHashSlotNum"), LineOf(set, "maxIndexNum"));
    d->Error(line,
             absl::StrCat("maxHashSlotNum ", c->max_hash_slot_num, " and maxIndexNum ",
                          c->max_index_num, " make an index file of ", index_bytes,
                          " bytes; the limit is ", INT32_MAX, " (RocketMQ's int size overflows)"));
  }
  if (c->max_message_size >= c->max_frame_bytes) {
    d->Error(std::max(LineOf(set, "maxMessageSize"), LineOf(set, "maxFrameBytes")),
             absl::StrCat("maxMessageSize ", c->max_message_size, " (",
                          Where(set, "maxMessageSize"), ") must be below maxFrameBytes ",
                          c->max_frame_bytes, " (", Where(set, "maxFrameBytes"),
                          "): a frame carries the message plus its headers"));
  }

  // Role and id: RocketMQ forces a master's id to 0 and stops a slave with id 0.
  const int role_line = LineOf(set, "brokerRole");
  const int id_line = LineOf(set, "brokerId");
  if (c->broker_role == BrokerRole::kSlave) {
    if (c->broker_id <= 0) {
      d->Error(std::max(role_line, id_line),
               absl::StrCat("brokerRole SLAVE needs brokerId > 0 (brokerId is ", c->broker_id, ", ",
                            Where(set, "brokerId"), ")"));
    }
  } else {
    if (c->broker_id != 0) {
      d->Error(std::max(role_line, id_line),
               absl::StrCat("brokerRole ", AV(BrokerRoleName(c->broker_role)),
                            " is a master and needs brokerId 0 (brokerId is ", c->broker_id, ", ",
                            Where(set, "brokerId"), "; RocketMQ would silently use 0)"));
    }
    const int ha_master_line = LineOf(set, "haMasterAddress");
    if (ha_master_line > 0 && !c->ha_master_address.empty()) {
      d->Warn(ha_master_line, "haMasterAddress is only used by a SLAVE; ignored on a master");
    }
  }
}

}  // namespace

std::string_view BrokerRoleName(BrokerRole role) {
  for (const auto& n : kBrokerRoles) {
    if (n.value == role) return n.name;
  }
  return "?";
}

std::string_view FlushDiskTypeName(FlushDiskType type) {
  for (const auto& n : kFlushDiskTypes) {
    if (n.value == type) return n.name;
  }
  return "?";
}

BrokerConfig DefaultBrokerConfig(const ConfigEnvironment& env) {
  BrokerConfig c;
  c.broker_name = env.hostname;
  c.namesrv_addr = env.namesrv_addr;
  std::vector<HostPort> addrs;
  if (ParseNamesrvList(c.namesrv_addr, &addrs).empty()) c.namesrv_addrs = std::move(addrs);
  c.broker_ip1 = env.local_address;
  c.broker_ip2 = env.local_address;
  c.store_path_root_dir = env.home_dir + "/store";
  c.store_path_commit_log = c.store_path_root_dir + "/commitlog";
  c.ha_listen_port = c.listen_port + 1;
  c.send_message_thread_pool_nums = std::clamp(env.cpu_count, 1, 4);
  return c;
}

absl::StatusOr<BrokerConfig> ParseBrokerConfig(std::string_view text, const ConfigEnvironment& env,
                                               std::vector<ConfigWarning>* warnings) {
  absl::StatusOr<ParsedProperties> props = ParseProperties(text);
  if (!props.ok()) return PrefixStatus(props.status(), "broker config");
  BrokerConfig c = DefaultBrokerConfig(env);
  Diagnostics diag;
  SetLines set;
  ApplyProperties(*props, &c, BrokerKeys(), BrokerUnsupportedKeys(), "broker", &diag, &set,
                  &c.other_settings);
  Finish(set, &c, &diag);
  if (warnings != nullptr) *warnings = diag.TakeWarnings();
  if (diag.has_errors()) return diag.ToStatus("broker config");
  return c;
}

absl::StatusOr<BrokerConfig> ReadBrokerConfigFile(const std::string& path,
                                                  const ConfigEnvironment& env,
                                                  std::vector<ConfigWarning>* warnings) {
  std::string text;
  absl::Status s = ReadSmallFile(path, kMaxPropertiesFileBytes, &text);
  if (!s.ok()) return s;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(text, env, warnings);
  if (!c.ok()) return PrefixStatus(c.status(), path);
  return c;
}

std::vector<Property> BrokerConfigToProperties(const BrokerConfig& config) {
  std::vector<Setting> settings;
  FormatVisitor fv(&settings);
  VisitBrokerKeys(config, fv);
  settings.insert(settings.end(), config.other_settings.begin(), config.other_settings.end());
  std::vector<Property> out;
  out.reserve(settings.size());
  for (Setting& s : settings) out.push_back(Property{std::move(s.key), std::move(s.value), 0});
  return out;
}

libstore::StoreOptions ToStoreOptions(const BrokerConfig& c) {
  libstore::StoreOptions o;
  o.root_dir = c.store_path_root_dir;
  o.commitlog_file_size = c.mapped_file_size_commit_log;
  o.consume_queue_units_per_file = c.mapped_file_size_consume_queue / kConsumeQueueUnitBytes;
  o.max_message_size = c.max_message_size;
  o.flush_mode = c.flush_disk_type == FlushDiskType::kSyncFlush ? libstore::FlushMode::kSync
                                                                : libstore::FlushMode::kAsync;
  o.flush_interval_ms = c.flush_interval_commit_log_ms;
  o.flush_least_pages = c.flush_commit_log_least_pages;
  o.flush_thorough_interval_ms = c.flush_commit_log_thorough_interval_ms;
  o.sync_flush_timeout_ms = c.sync_flush_timeout_ms;
  o.flush_consume_queue_interval_ms = c.flush_interval_consume_queue_ms;
  o.wait_for_replica = c.broker_role == BrokerRole::kSyncMaster;
  o.replica_timeout_ms = c.slave_timeout_ms;
  o.message_index_enable = c.message_index_enable;
  o.index_hash_slots = c.max_hash_slot_num;
  o.index_max_entries = c.max_index_num;
  o.max_query_results = c.max_msgs_num_batch;
  o.message_delay_level = c.message_delay_level;
  o.check_crc_on_recover = c.check_crc_on_recover;
  o.file_reserved_hours = c.file_reserved_time_hours;
  o.delete_when = c.delete_when;
  o.disk_max_used_space_ratio = c.disk_max_used_space_ratio;
  o.clean_resource_interval_ms = c.clean_resource_interval_ms;
  // An IPv6 brokerIP1 is bracketed so that the last ':' still splits off the port.
  const bool bare_v6 = c.broker_ip1.find(':') != std::string::npos && c.broker_ip1[0] != '[';
  o.store_host =
      absl::StrCat(bare_v6 ? "[" : "", c.broker_ip1, bare_v6 ? "]" : "", ":", c.listen_port);
  return o;
}

std::string_view DefaultLocalBrokerConfigText() {
  static constexpr char kText[] =
      R"(# rocketstore brokerd: a single-node local broker (RocketMQ broker.conf format).
# One master on 127.0.0.1:10911 (HA on 10912), registering with the name server at
# 127.0.0.1:9876, storing under /tmp/rocketstore-broker. Every other key has RocketMQ 4.9.7's
# default.
brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=127.0.0.1:9876
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
listenPort=10911
storePathRootDir=/tmp/rocketstore-broker
storePathCommitLog=/tmp/rocketstore-broker/commitlog
deleteWhen=04
fileReservedTime=48
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
)";
  return kText;
}

}  // namespace brokerd::config
