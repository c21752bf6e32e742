// Tests of broker.conf loading (brokerd/config/broker_config.h): RocketMQ 4.9.7 defaults, the
// fixture broker's settings, unknown / unsupported keys, every validation error, clamping,
// round trips, the mapping onto libstore::StoreOptions and the embedded local config.
// Thread-safety: n/a (test code).
#include "config/broker_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "config/config_util.h"
#include "config/rocketmq_keys.h"
#include "libstore/options.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace brokerd::config {
namespace {

ConfigEnvironment TestEnv() {
  ConfigEnvironment env;
  env.hostname = "test-host";
  env.home_dir = "/home/tester";
  env.namesrv_addr = "";
  env.local_address = "10.1.2.3";
  env.cpu_count = 8;
  return env;
}

// The broker settings the store fixtures were written with (shared/fixtures/README.md §1).
constexpr char kFixtureBrokerConf[] = R"(brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerIP1=127.0.0.1
brokerIP2=127.0.0.1
listenPort=20911
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
deleteWhen=04
fileReservedTime=48
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
mappedFileSizeCommitLog=65536
mappedFileSizeConsumeQueue=6000
maxHashSlotNum=500
maxIndexNum=2000
messageIndexEnable=true
transactionCheckInterval=3000
transactionTimeOut=3000
)";

std::string Messages(const std::vector<ConfigWarning>& ws) {
  std::string out;
  for (const ConfigWarning& w : ws) out += w.ToString() + "\n";
  return out;
}

// Loads text that must fail, and returns the error message.
std::string ErrorOf(std::string_view text, const ConfigEnvironment& env = TestEnv()) {
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(text, env);
  EXPECT_FALSE(c.ok()) << "loaded: " << text;
  if (c.ok()) return "";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

#define EXPECT_CONTAINS(haystack, needle)                                                  \
  do {                                                                                     \
    const std::string h_ = (haystack);                                                     \
    EXPECT_NE(h_.find(needle), std::string::npos) << "'" << needle << "' not in:\n" << h_; \
  } while (0)

TEST(BrokerConfigTest, Defaults) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig("", TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(*c, DefaultBrokerConfig(TestEnv()));
  EXPECT_EQ(c->broker_cluster_name, "DefaultCluster");
  EXPECT_EQ(c->broker_name, "test-host");
  EXPECT_EQ(c->broker_id, 0);
  EXPECT_EQ(c->broker_role, BrokerRole::kAsyncMaster);
  EXPECT_EQ(c->flush_disk_type, FlushDiskType::kAsyncFlush);
  EXPECT_EQ(c->namesrv_addr, "");
  EXPECT_TRUE(c->namesrv_addrs.empty());
  EXPECT_EQ(c->broker_ip1, "10.1.2.3");
  EXPECT_EQ(c->broker_ip2, "10.1.2.3");
  EXPECT_EQ(c->listen_port, 10911);
  EXPECT_EQ(c->ha_listen_port, 10912);
  EXPECT_EQ(c->ha_master_address, "");
  EXPECT_EQ(c->store_path_root_dir, "/home/tester/store");
  EXPECT_EQ(c->store_path_commit_log, "/home/tester/store/commitlog");
  EXPECT_EQ(c->mapped_file_size_commit_log, 1073741824);
  EXPECT_EQ(c->mapped_file_size_consume_queue, 6000000);
  EXPECT_EQ(c->delete_when, "04");
  EXPECT_EQ(c->file_reserved_time_hours, 72);
  EXPECT_EQ(c->disk_max_used_space_ratio, 75);
  EXPECT_EQ(c->clean_resource_interval_ms, 10000);
  EXPECT_EQ(c->max_message_size, 4194304);
  EXPECT_EQ(c->flush_interval_commit_log_ms, 500);
  EXPECT_EQ(c->flush_commit_log_least_pages, 4);
  EXPECT_EQ(c->flush_commit_log_thorough_interval_ms, 10000);
  EXPECT_EQ(c->flush_interval_consume_queue_ms, 1000);
  EXPECT_EQ(c->sync_flush_timeout_ms, 5000);
  EXPECT_EQ(c->slave_timeout_ms, 3000);
  EXPECT_TRUE(c->message_index_enable);
  EXPECT_EQ(c->max_hash_slot_num, 5000000);
  EXPECT_EQ(c->max_index_num, 20000000);
  EXPECT_EQ(c->max_msgs_num_batch, 64);
  EXPECT_TRUE(c->check_crc_on_recover);
  EXPECT_EQ(c->message_delay_level, "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h");
  EXPECT_TRUE(c->auto_create_topic_enable);
  EXPECT_TRUE(c->auto_create_subscription_group);
  EXPECT_EQ(c->default_topic_queue_nums, 8);
  EXPECT_TRUE(c->long_polling_enable);
  EXPECT_EQ(c->short_polling_time_ms, 1000);
  EXPECT_FALSE(c->slave_read_enable);
  EXPECT_EQ(c->transaction_timeout_ms, 6000);
  EXPECT_EQ(c->transaction_check_max, 15);
  EXPECT_EQ(c->transaction_check_interval_ms, 60000);
  EXPECT_EQ(c->register_name_server_period_ms, 30000);
  EXPECT_EQ(c->send_message_thread_pool_nums, 4);  // min(8 cpus, 4)
  EXPECT_TRUE(c->broker_fast_failure_enable);
  EXPECT_EQ(c->wait_time_ms_in_send_queue, 200);
  EXPECT_EQ(c->max_frame_bytes, 16 * 1024 * 1024);
  EXPECT_EQ(c->max_connections, kDefaultMaxConnections);
  EXPECT_TRUE(c->other_settings.empty());
  // The only warning: no name server to register with.
  ASSERT_EQ(warnings.size(), 1u) << Messages(warnings);
  EXPECT_CONTAINS(warnings[0].message, "namesrvAddr is not set");
}

TEST(BrokerConfigTest, DefaultsFollowTheEnvironment) {
  ConfigEnvironment env = TestEnv();
  env.cpu_count = 2;
  env.namesrv_addr = "ns1:9876;ns2:9877";
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig("", env, &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(c->send_message_thread_pool_nums, 2);
  EXPECT_EQ(c->namesrv_addr, "ns1:9876;ns2:9877");
  EXPECT_EQ(c->namesrv_addrs, (std::vector<HostPort>{{"ns1", 9876}, {"ns2", 9877}}));
  EXPECT_TRUE(warnings.empty()) << Messages(warnings);

  env.namesrv_addr = "no-port";
  EXPECT_CONTAINS(ErrorOf("", env), "namesrvAddr (default: $NAMESRV_ADDR 'no-port')");
  // A namesrvAddr in the file wins over a bad environment value.
  EXPECT_OK(ParseBrokerConfig("namesrvAddr=127.0.0.1:9876", env));

  ConfigEnvironment bad_host = TestEnv();
  bad_host.hostname = "";
  EXPECT_CONTAINS(ErrorOf("", bad_host), "brokerName (default: the host name) is empty");
  EXPECT_OK(ParseBrokerConfig("brokerName=b", bad_host));
}

TEST(BrokerConfigTest, FromProcessIsUsable) {
  const ConfigEnvironment env = ConfigEnvironment::FromProcess();
  EXPECT_FALSE(env.hostname.empty());
  EXPECT_FALSE(env.home_dir.empty());
  EXPECT_TRUE(IsIpLiteral(env.local_address)) << env.local_address;
  EXPECT_GE(env.cpu_count, 1);
}

TEST(BrokerConfigTest, FixtureBrokerSettings) {
  ConfigEnvironment env = TestEnv();
  env.namesrv_addr = "127.0.0.1:29876";
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(kFixtureBrokerConf, env, &warnings);
  ASSERT_OK(c);
  EXPECT_TRUE(warnings.empty()) << Messages(warnings);
  EXPECT_EQ(c->broker_cluster_name, "DefaultCluster");
  EXPECT_EQ(c->broker_name, "broker-a");
  EXPECT_EQ(c->broker_id, 0);
  EXPECT_EQ(c->broker_ip1, "127.0.0.1");
  EXPECT_EQ(c->broker_ip2, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 20911);
  EXPECT_EQ(c->ha_listen_port, 20912);
  EXPECT_EQ(c->broker_role, BrokerRole::kAsyncMaster);
  EXPECT_EQ(c->flush_disk_type, FlushDiskType::kAsyncFlush);
  EXPECT_EQ(c->delete_when, "04");
  EXPECT_EQ(c->file_reserved_time_hours, 48);
  EXPECT_EQ(c->mapped_file_size_commit_log, 65536);
  EXPECT_EQ(c->mapped_file_size_consume_queue, 6000);
  EXPECT_EQ(c->max_hash_slot_num, 500);
  EXPECT_EQ(c->max_index_num, 2000);
  EXPECT_TRUE(c->message_index_enable);
  EXPECT_EQ(c->transaction_check_interval_ms, 3000);
  EXPECT_EQ(c->transaction_timeout_ms, 3000);
  // What the fixtures' README lists as unchanged 4.9.7 defaults.
  EXPECT_EQ(c->max_message_size, 4194304);
  EXPECT_TRUE(c->check_crc_on_recover);
  EXPECT_EQ(c->max_msgs_num_batch, 64);

  const libstore::StoreOptions o = ToStoreOptions(*c);
  EXPECT_EQ(o.root_dir, "/home/tester/store");
  EXPECT_EQ(o.commitlog_file_size, 65536);
  EXPECT_EQ(o.consume_queue_units_per_file, 300);
  EXPECT_EQ(o.index_hash_slots, 500);
  EXPECT_EQ(o.index_max_entries, 2000);
  EXPECT_EQ(o.file_reserved_hours, 48);
  EXPECT_EQ(o.delete_when, "04");
  EXPECT_EQ(o.flush_mode, libstore::FlushMode::kAsync);
  EXPECT_FALSE(o.wait_for_replica);
  // The store host of every fixture message.
  EXPECT_EQ(o.store_host, "127.0.0.1:20911");
}

TEST(BrokerConfigTest, ToStoreOptionsMapsEveryStoreKey) {
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(R"(
storePathRootDir=/data/rs
storePathCommitLog=/data/rs/commitlog/
mappedFileSizeCommitLog=8192
mappedFileSizeConsumeQueue=400
maxMessageSize=1000
flushDiskType=SYNC_FLUSH
brokerRole=SYNC_MASTER
flushIntervalCommitLog=11
flushCommitLogLeastPages=12
flushCommitLogThoroughInterval=13
syncFlushTimeout=14
flushIntervalConsumeQueue=15
slaveTimeout=16
messageIndexEnable=false
maxHashSlotNum=17
maxIndexNum=18
maxMsgsNumBatch=19
messageDelayLevel=1s 2m 3h 4d
checkCRCOnRecover=false
fileReservedTime=20
deleteWhen=01;13
diskMaxUsedSpaceRatio=88
cleanResourceInterval=21
brokerIP1=192.168.7.9
listenPort=30911
namesrvAddr=127.0.0.1:9876
)",
                                                     TestEnv());
  ASSERT_OK(c);
  const libstore::StoreOptions o = ToStoreOptions(*c);
  EXPECT_EQ(o.root_dir, "/data/rs");
  EXPECT_EQ(o.env, nullptr);
  EXPECT_EQ(o.commitlog_file_size, 8192);
  EXPECT_EQ(o.consume_queue_units_per_file, 20);
  EXPECT_EQ(o.max_message_size, 1000);
  EXPECT_EQ(o.flush_mode, libstore::FlushMode::kSync);
  EXPECT_EQ(o.flush_interval_ms, 11);
  EXPECT_EQ(o.flush_least_pages, 12);
  EXPECT_EQ(o.flush_thorough_interval_ms, 13);
  EXPECT_EQ(o.sync_flush_timeout_ms, 14);
  EXPECT_EQ(o.flush_consume_queue_interval_ms, 15);
  EXPECT_TRUE(o.wait_for_replica);
  EXPECT_EQ(o.replica_timeout_ms, 16);
  EXPECT_FALSE(o.message_index_enable);
  EXPECT_EQ(o.index_hash_slots, 17);
  EXPECT_EQ(o.index_max_entries, 18);
  EXPECT_EQ(o.max_query_results, 19);
  EXPECT_EQ(o.message_delay_level, "1s 2m 3h 4d");
  EXPECT_FALSE(o.check_crc_on_recover);
  EXPECT_EQ(o.file_reserved_hours, 20);
  EXPECT_EQ(o.delete_when, "01;13");
  EXPECT_EQ(o.disk_max_used_space_ratio, 88);
  EXPECT_EQ(o.clean_resource_interval_ms, 21);
  EXPECT_EQ(o.store_host, "192.168.7.9:30911");
}

TEST(BrokerConfigTest, ToStoreOptionsOfDefaultsMatchesLibstoreDefaults) {
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig("", TestEnv());
  ASSERT_OK(c);
  const libstore::StoreOptions o = ToStoreOptions(*c);
  const libstore::StoreOptions d;
  EXPECT_EQ(o.commitlog_file_size, d.commitlog_file_size);
  EXPECT_EQ(o.consume_queue_units_per_file, d.consume_queue_units_per_file);
  EXPECT_EQ(o.max_message_size, d.max_message_size);
  EXPECT_EQ(o.flush_mode, d.flush_mode);
  EXPECT_EQ(o.flush_interval_ms, d.flush_interval_ms);
  EXPECT_EQ(o.flush_least_pages, d.flush_least_pages);
  EXPECT_EQ(o.flush_thorough_interval_ms, d.flush_thorough_interval_ms);
  EXPECT_EQ(o.sync_flush_timeout_ms, d.sync_flush_timeout_ms);
  EXPECT_EQ(o.flush_consume_queue_interval_ms, d.flush_consume_queue_interval_ms);
  EXPECT_EQ(o.wait_for_replica, d.wait_for_replica);
  EXPECT_EQ(o.replica_timeout_ms, d.replica_timeout_ms);
  EXPECT_EQ(o.message_index_enable, d.message_index_enable);
  EXPECT_EQ(o.index_hash_slots, d.index_hash_slots);
  EXPECT_EQ(o.index_max_entries, d.index_max_entries);
  EXPECT_EQ(o.max_query_results, d.max_query_results);
  EXPECT_EQ(o.message_delay_level, d.message_delay_level);
  EXPECT_EQ(o.check_crc_on_recover, d.check_crc_on_recover);
  EXPECT_EQ(o.file_reserved_hours, d.file_reserved_hours);
  EXPECT_EQ(o.delete_when, d.delete_when);
  EXPECT_EQ(o.disk_max_used_space_ratio, d.disk_max_used_space_ratio);
  EXPECT_EQ(o.clean_resource_interval_ms, d.clean_resource_interval_ms);
  EXPECT_EQ(o.store_host, "10.1.2.3:10911");
}

TEST(BrokerConfigTest, Ipv6BrokerIpIsBracketedInStoreHost) {
  absl::StatusOr<BrokerConfig> c =
      ParseBrokerConfig("brokerIP1=::1\nbrokerIP2=[fe80::1]\n", TestEnv());
  ASSERT_OK(c);
  EXPECT_EQ(ToStoreOptions(*c).store_host, "[::1]:10911");
  EXPECT_EQ(c->broker_ip2, "[fe80::1]");
}

TEST(BrokerConfigTest, UnknownKeyIsAnErrorWithSuggestion) {
  std::string msg = ErrorOf("brokerName=b\nmapedFileSizeCommitLog=65536\n");
  EXPECT_CONTAINS(msg, "line 2: unknown key 'mapedFileSizeCommitLog'");
  EXPECT_CONTAINS(msg, "did you mean 'mappedFileSizeCommitLog'?");
  // Case matters to RocketMQ.
  EXPECT_CONTAINS(ErrorOf("brokerip1=127.0.0.1"), "did you mean 'brokerIP1'?");
  EXPECT_CONTAINS(ErrorOf("listenport=1"), "did you mean 'listenPort'?");
  // Suggestions come from the unsupported-but-known keys too.
  EXPECT_CONTAINS(ErrorOf("transientStorePoolEnabled=true"),
                  "did you mean 'transientStorePoolEnable'?");
  // Nothing close: no suggestion.
  msg = ErrorOf("completelyDifferent=1");
  EXPECT_CONTAINS(msg, "unknown key 'completelyDifferent'");
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(BrokerConfigTest, KnownButUnsupportedKeysAreKeptWithAWarning) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(
      "namesrvAddr=127.0.0.1:9876\ntransientStorePoolEnable=true\nrocketmqHome=/opt/rmq\n"
      "aclEnable=maybe\n",
      TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(c->other_settings, (std::vector<Setting>{{"transientStorePoolEnable", "true"},
                                                     {"rocketmqHome", "/opt/rmq"},
                                                     {"aclEnable", "maybe"}}));
  ASSERT_EQ(warnings.size(), 3u) << Messages(warnings);
  EXPECT_EQ(warnings[0].line, 2);
  EXPECT_CONTAINS(warnings[0].message, "'transientStorePoolEnable' is a RocketMQ setting");
  EXPECT_CONTAINS(warnings[1].message, "'rocketmqHome'");
  EXPECT_CONTAINS(warnings[2].message, "'maybe' is not a valid boolean");
}

TEST(BrokerConfigTest, KnownKeyTablesAreDisjointFromSupportedKeys) {
  std::vector<Property> supported = BrokerConfigToProperties(BrokerConfig{});
  std::set<std::string> names;
  for (const Property& p : supported) EXPECT_TRUE(names.insert(p.key).second) << p.key;
  std::set<std::string> unsupported;
  for (const KnownKey& k : BrokerUnsupportedKeys()) {
    EXPECT_EQ(names.count(k.name), 0u) << k.name;
    EXPECT_TRUE(unsupported.insert(k.name).second) << "duplicate " << k.name;
    EXPECT_NE(std::string_view("ilbds").find(k.type), std::string_view::npos) << k.name;
  }
}

// Each case: a broker.conf and what its error must mention.
struct BadCase {
  const char* text;
  std::vector<const char*> expect;
};

TEST(BrokerConfigTest, EveryValidationError) {
  const BadCase cases[] = {
      // Integers.
      {"listenPort=abc", {"line 1: listenPort: 'abc' is not an integer"}},
      {"listenPort=10911 ", {"listenPort: '10911 ' has whitespace around it", "Integer.parseInt"}},
      {"listenPort=70000", {"listenPort: 70000 is out of range [1, 65535]"}},
      {"listenPort=0", {"out of range [1, 65535]"}},
      {"listenPort=0x10", {"'0x10' is not an integer"}},
      {"listenPort=", {"'' is not an integer"}},
      {"mappedFileSizeCommitLog=99999999999", {"'99999999999' does not fit in a Java int"}},
      {"brokerId=-1", {"brokerId: -1 is out of range"}},
      {"transactionTimeOut=99999999999999999999", {"does not fit in a Java long"}},
      {"fileReservedTime=-5", {"fileReservedTime: -5 is out of range"}},
      {"defaultTopicQueueNums=0", {"defaultTopicQueueNums: 0 is out of range [1, 1024]"}},
      {"sendMessageThreadPoolNums=5000", {"out of range [1, 1024]"}},
      {"maxFrameBytes=100", {"maxFrameBytes: 100 is out of range"}},
      {"maxConnections=0", {"maxConnections: 0 is out of range"}},
      {"maxIndexNum=1", {"maxIndexNum: 1 is out of range"}},
      // Booleans.
      {"autoCreateTopicEnable=yes", {"autoCreateTopicEnable: 'yes' is not true or false"}},
      {"autoCreateTopicEnable=true ", {"has whitespace around it", "read it as false"}},
      // Enums.
      {"brokerRole=MASTER",
       {"brokerRole: 'MASTER' is not one of ASYNC_MASTER, SYNC_MASTER, SLAVE"}},
      {"brokerRole=slave\nbrokerId=1", {"case-sensitive: write SLAVE"}},
      {"flushDiskType=SYNC", {"flushDiskType: 'SYNC' is not one of ASYNC_FLUSH, SYNC_FLUSH"}},
      // Role and id.
      {"brokerRole=SLAVE", {"brokerRole SLAVE needs brokerId > 0 (brokerId is 0, the default)"}},
      {"brokerRole=SLAVE\nbrokerId=0", {"line 2: brokerRole SLAVE needs brokerId > 0"}},
      {"brokerId=1", {"line 1: brokerRole ASYNC_MASTER is a master and needs brokerId 0"}},
      {"brokerRole=SYNC_MASTER\nbrokerId=2", {"SYNC_MASTER is a master", "silently use 0"}},
      // Store sizes and layout.
      {"mappedFileSizeCommitLog=10000",
       {"mappedFileSizeCommitLog 10000 is not a multiple of 4096"}},
      {"mappedFileSizeCommitLog=1000", {"out of range [4096,"}},
      {"mappedFileSizeConsumeQueue=6001",
       {"mappedFileSizeConsumeQueue 6001 is not a multiple of 20", "silently use 6020"}},
      {"maxHashSlotNum=500000000\nmaxIndexNum=100000000", {"make an index file of", "line 2"}},
      {"maxMessageSize=16777216",
       {"maxMessageSize 16777216 (set on line 1) must be below maxFrameBytes"}},
      {"maxMessageSize=2000000\nmaxFrameBytes=1000000", {"line 2: maxMessageSize 2000000"}},
      {"storePathRootDir=/a\nstorePathCommitLog=/b/commitlog",
       {"line 2: storePathCommitLog '/b/commitlog' is not storePathRootDir/commitlog"}},
      {"storePathCommitLog=/x,/y", {"storePathCommitLog", "not supported"}},
      {"storePathRootDir=", {"storePathRootDir: '': is empty"}},
      {"storePathRootDir=/a\x01/b", {"contains control characters"}},
      // Strings with a syntax.
      {"namesrvAddr=localhost", {"namesrvAddr: 'localhost': 'localhost' has no ':port'"}},
      {"namesrvAddr=a:1;;b:2", {"empty address between ';'"}},
      {"namesrvAddr=a:0", {"does not end in a port 1..65535"}},
      {"namesrvAddr=a:98765", {"does not end in a port 1..65535"}},
      {"namesrvAddr=:9876", {"has no host"}},
      {"namesrvAddr=a:1; b:2", {"space or separator inside the host"}},
      {"haMasterAddress=10.0.0.1\nbrokerRole=SLAVE\nbrokerId=1", {"haMasterAddress", "no ':port'"}},
      {"brokerIP1=my-host", {"brokerIP1: 'my-host': is not an IPv4 or IPv6 address"}},
      {"brokerIP2=", {"brokerIP2: '': is empty"}},
      {"brokerIP1=[10.0.0.1]", {"is not an IPv4 or IPv6 address"}},
      {"brokerName=", {"brokerName: '': is empty"}},
      {"brokerClusterName=a\x7F", {"contains control characters"}},
      {"deleteWhen=25", {"deleteWhen: '25': hour 25 is out of range [0, 23]"}},
      {"deleteWhen=04;x", {"hour 'x' is not an integer"}},
      {"deleteWhen=;", {"has no hour"}},
      {"deleteWhen=01;;02", {"hour '' is not an integer"}},
      {"messageDelayLevel=1s  5s", {"level 2 is empty"}},
      {"messageDelayLevel=1s 5x", {"level 2 '5x' does not end in a unit"}},
      {"messageDelayLevel=s", {"level 1 's' is not a non-negative number"}},
      {"messageDelayLevel=-1s", {"is not a non-negative number"}},
      {"messageDelayLevel=9999999999999999d", {"is not a non-negative number"}},
      {"messageDelayLevel=", {"has no level"}},
      // Ports.
      {"listenPort=65535", {"listenPort 65535 leaves no port for HA"}},
      {"listenPort=20000\nhaListenPort=20000", {"line 2: haListenPort 20000 is also listenPort"}},
      // Unknown keys.
      {"mapedFileSizeCommitLog=65536", {"unknown key", "did you mean 'mappedFileSizeCommitLog'?"}},
  };
  for (const BadCase& bc : cases) {
    SCOPED_TRACE(bc.text);
    const std::string msg = ErrorOf(bc.text);
    for (const char* e : bc.expect) EXPECT_CONTAINS(msg, e);
  }
}

TEST(BrokerConfigTest, AllErrorsAreReportedTogether) {
  const std::string msg = ErrorOf("listenPort=x\nbrokerRole=BOSS\nflushDiskTyp=SYNC_FLUSH\n");
  EXPECT_CONTAINS(msg, "broker config: 3 errors:");
  EXPECT_CONTAINS(msg, "line 1: listenPort");
  EXPECT_CONTAINS(msg, "line 2: brokerRole");
  EXPECT_CONTAINS(msg, "line 3: unknown key 'flushDiskTyp'; did you mean 'flushDiskType'?");
}

TEST(BrokerConfigTest, ErrorsAndWarningsAreCapped) {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "unknownKeyNumber" + std::to_string(i) + "=1\n";
  for (int i = 0; i < 60; ++i) text += "serverWorkerThreads=" + std::to_string(i) + "\n";
  const std::string msg = ErrorOf(text);
  EXPECT_CONTAINS(msg, "broker config: 60 errors:");
  EXPECT_CONTAINS(msg, "line 50: unknown key 'unknownKeyNumber49'");
  EXPECT_EQ(msg.find("unknownKeyNumber50"), std::string::npos);
  EXPECT_CONTAINS(msg, "... and 10 more");

  // 59 duplicates, 1 kept-but-ignored key, no name server: 61 warnings.
  text.clear();
  for (int i = 0; i < 60; ++i) text += "serverWorkerThreads=" + std::to_string(i) + "\n";
  std::vector<ConfigWarning> warnings;
  ASSERT_OK(ParseBrokerConfig(text, TestEnv(), &warnings));
  ASSERT_EQ(warnings.size(), kMaxReportedDiagnostics + 1);
  EXPECT_EQ(warnings.back().ToString(), "... and 11 more warnings");
}

TEST(BrokerConfigTest, MalformedEscapeIsAnError) {
  const std::string msg = ErrorOf("brokerName=a\\u00ZZ");
  EXPECT_CONTAINS(msg, "broker config: line 1: malformed \\uXXXX escape");
}

TEST(BrokerConfigTest, ValidValuesInJavaSyntax) {
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(
      "listenPort=+20911\nbrokerId=007\nbrokerRole=SLAVE\nautoCreateTopicEnable=FALSE\n"
      "slaveReadEnable=True\nbrokerName =   spaced name  \nhaMasterAddress=10.0.0.1:10912\n"
      "namesrvAddr=ns:9876;\nmessageDelayLevel=0s 1d\ndeleteWhen=+4;23\n",
      TestEnv());
  ASSERT_OK(c);
  EXPECT_EQ(c->listen_port, 20911);
  EXPECT_EQ(c->broker_id, 7);
  EXPECT_EQ(c->broker_role, BrokerRole::kSlave);
  EXPECT_FALSE(c->auto_create_topic_enable);
  EXPECT_TRUE(c->slave_read_enable);
  EXPECT_EQ(c->broker_name, "spaced name");  // String settings are trimmed, as RocketMQ does
  EXPECT_EQ(c->ha_master_address, "10.0.0.1:10912");
  EXPECT_EQ(c->namesrv_addrs, (std::vector<HostPort>{{"ns", 9876}}));
  EXPECT_EQ(c->namesrv_addrs[0].ToString(), "ns:9876");
}

TEST(BrokerConfigTest, ClampedValuesWarn) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(
      "namesrvAddr=127.0.0.1:9876\ndiskMaxUsedSpaceRatio=99\nregisterNameServerPeriod=5000\n",
      TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(c->disk_max_used_space_ratio, 95);
  EXPECT_EQ(c->register_name_server_period_ms, 10000);
  ASSERT_EQ(warnings.size(), 2u) << Messages(warnings);
  EXPECT_EQ(warnings[0].ToString(),
            "line 2: diskMaxUsedSpaceRatio: 99 is outside [10, 95]; using 95 (RocketMQ clamps it "
            "the same way)");
  EXPECT_CONTAINS(warnings[1].ToString(), "line 3: registerNameServerPeriod: 5000 is outside");

  c = ParseBrokerConfig("diskMaxUsedSpaceRatio=1\nregisterNameServerPeriod=100000", TestEnv());
  ASSERT_OK(c);
  EXPECT_EQ(c->disk_max_used_space_ratio, 10);
  EXPECT_EQ(c->register_name_server_period_ms, 60000);
  EXPECT_CONTAINS(ErrorOf("diskMaxUsedSpaceRatio=lots"), "'lots' is not an integer");
}

TEST(BrokerConfigTest, HaListenPort) {
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig("listenPort=30911", TestEnv());
  ASSERT_OK(c);
  EXPECT_EQ(c->ha_listen_port, 30912);

  std::vector<ConfigWarning> warnings;
  c = ParseBrokerConfig("namesrvAddr=127.0.0.1:9876\nlistenPort=30911\nhaListenPort=40000",
                        TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(c->ha_listen_port, 40000);
  ASSERT_EQ(warnings.size(), 1u) << Messages(warnings);
  EXPECT_EQ(warnings[0].line, 3);
  EXPECT_CONTAINS(warnings[0].message, "RocketMQ 4.9.7 ignores haListenPort");
  // Setting it to listenPort + 1 is silent.
  warnings.clear();
  ASSERT_OK(ParseBrokerConfig("namesrvAddr=127.0.0.1:9876\nlistenPort=30911\nhaListenPort=30912",
                              TestEnv(), &warnings));
  EXPECT_TRUE(warnings.empty()) << Messages(warnings);
}

TEST(BrokerConfigTest, OtherWarnings) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c = ParseBrokerConfig(
      "namesrvAddr=\nbrokerName=a\nbrokerName=b\nstorePathRootDir=~/store\n"
      "haMasterAddress=10.0.0.1:10912\n",
      TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(c->broker_name, "b");
  EXPECT_EQ(c->store_path_root_dir, "~/store");
  EXPECT_EQ(c->store_path_commit_log, "~/store/commitlog");
  const std::string all = Messages(warnings);
  EXPECT_CONTAINS(all, "line 3: duplicate key 'brokerName' (also on line 2)");
  EXPECT_CONTAINS(all, "line 1: namesrvAddr is empty");
  EXPECT_CONTAINS(all, "line 4: storePathRootDir '~/store' starts with '~'");
  EXPECT_CONTAINS(all, "line 5: haMasterAddress is only used by a SLAVE");
}

TEST(BrokerConfigTest, PropertiesRoundTrip) {
  ConfigEnvironment env = TestEnv();
  env.namesrv_addr = "127.0.0.1:29876";
  for (const std::string& text :
       {std::string(), std::string(kFixtureBrokerConf),
        std::string(
            "brokerRole=SLAVE\nbrokerId=3\nhaListenPort=1234\nbrokerName=  x y \n"
            "dLegerPeers=n0-127.0.0.1:40911\nrocketmqHome= /opt \nnamesrvAddr=\n"
            "diskMaxUsedSpaceRatio=3\nstorePathRootDir=/s\nstorePathCommitLog=/s/commitlog/"),
        std::string(DefaultLocalBrokerConfigText())}) {
    SCOPED_TRACE(text);
    absl::StatusOr<BrokerConfig> a = ParseBrokerConfig(text, env);
    ASSERT_OK(a);
    const std::string written = SerializeProperties(BrokerConfigToProperties(*a));
    // With an environment that differs in everything, so that no default leaks in.
    ConfigEnvironment other;
    other.hostname = "other";
    other.home_dir = "/elsewhere";
    other.namesrv_addr = "9.9.9.9:1";
    other.local_address = "9.9.9.9";
    other.cpu_count = 1;
    absl::StatusOr<BrokerConfig> b = ParseBrokerConfig(written, other);
    ASSERT_TRUE(b.ok()) << b.status() << "\n" << written;
    EXPECT_EQ(*a, *b) << written;
  }
}

TEST(BrokerConfigTest, EmbeddedLocalConfigLoadsCleanly) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<BrokerConfig> c =
      ParseBrokerConfig(DefaultLocalBrokerConfigText(), TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_TRUE(warnings.empty()) << Messages(warnings);
  EXPECT_EQ(c->namesrv_addrs, (std::vector<HostPort>{{"127.0.0.1", 9876}}));
  EXPECT_EQ(c->listen_port, 10911);
  EXPECT_EQ(c->broker_role, BrokerRole::kAsyncMaster);
  EXPECT_EQ(c->broker_id, 0);
  EXPECT_EQ(c->store_path_root_dir, "/tmp/rocketstore-broker");
  const libstore::StoreOptions o = ToStoreOptions(*c);
  EXPECT_EQ(o.root_dir, "/tmp/rocketstore-broker");
  EXPECT_EQ(o.store_host, "127.0.0.1:10911");
}

TEST(BrokerConfigTest, ReadBrokerConfigFile) {
  libstore::testing::TempDir dir("config-test");
  const std::string path = dir.path() + "/broker.conf";
  {
    std::ofstream f(path, std::ios::binary);
    f << kFixtureBrokerConf;
  }
  absl::StatusOr<BrokerConfig> c = ReadBrokerConfigFile(path, TestEnv());
  ASSERT_OK(c);
  EXPECT_EQ(c->listen_port, 20911);
  {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f << "brokerid=1\n";
  }
  c = ReadBrokerConfigFile(path, TestEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_CONTAINS(
      std::string(c.status().message()),
      path + ": broker config: line 20: unknown key 'brokerid'; did you mean 'brokerId'?");
  c = ReadBrokerConfigFile(dir.path() + "/missing.conf", TestEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
}

TEST(BrokerConfigTest, EnumNames) {
  EXPECT_EQ(BrokerRoleName(BrokerRole::kAsyncMaster), "ASYNC_MASTER");
  EXPECT_EQ(BrokerRoleName(BrokerRole::kSyncMaster), "SYNC_MASTER");
  EXPECT_EQ(BrokerRoleName(BrokerRole::kSlave), "SLAVE");
  EXPECT_EQ(FlushDiskTypeName(FlushDiskType::kAsyncFlush), "ASYNC_FLUSH");
  EXPECT_EQ(FlushDiskTypeName(FlushDiskType::kSyncFlush), "SYNC_FLUSH");
}

TEST(ConfigUtilTest, SuggestKeyAndEditDistance) {
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("ABC", "abc"), 0u);
  const std::string_view names[] = {"listenPort", "brokerName", "brokerId"};
  EXPECT_EQ(SuggestKey("listenport", names), "listenPort");
  EXPECT_EQ(SuggestKey("brokerNam", names), "brokerName");
  EXPECT_EQ(SuggestKey("xyz", names), "");
  EXPECT_EQ(SuggestKey("", names), "");
}

}  // namespace
}  // namespace brokerd::config
