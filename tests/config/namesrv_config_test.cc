// Tests of the name server configuration (brokerd/config/namesrv_config.h).
// Thread-safety: n/a (test code).
#include "config/namesrv_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "config/config_util.h"
#include "config/rocketmq_keys.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace brokerd::config {
namespace {

ConfigEnvironment TestEnv() {
  ConfigEnvironment env;
  env.hostname = "test-host";
  env.home_dir = "/home/tester";
  env.local_address = "10.1.2.3";
  return env;
}

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<NamesrvConfig> c = ParseNamesrvConfig(text, TestEnv());
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

TEST(NamesrvConfigTest, Defaults) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<NamesrvConfig> c = ParseNamesrvConfig("", TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(*c, DefaultNamesrvConfig(TestEnv()));
  EXPECT_EQ(c->listen_port, 9876);
  EXPECT_EQ(c->scan_not_active_broker_interval_ms, 10000);
  EXPECT_EQ(c->broker_channel_expired_time_ms, 120000);
  EXPECT_FALSE(c->order_message_enable);
  EXPECT_EQ(c->kv_config_path, "/home/tester/namesrv/kvConfig.json");
  EXPECT_EQ(c->max_frame_bytes, 16 * 1024 * 1024);
  EXPECT_EQ(c->max_connections, kDefaultMaxConnections);
  EXPECT_TRUE(c->other_settings.empty());
}

TEST(NamesrvConfigTest, Settings) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<NamesrvConfig> c = ParseNamesrvConfig(
      "listenPort=19876\nscanNotActiveBrokerInterval=5000\nbrokerChannelExpiredTime=30000\n"
      "orderMessageEnable=true\nkvConfigPath=/var/ns/kv.json\nmaxConnections=10\n"
      "productEnvName=center\nserverWorkerThreads=16\n",
      TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_EQ(c->listen_port, 19876);
  EXPECT_EQ(c->scan_not_active_broker_interval_ms, 5000);
  EXPECT_EQ(c->broker_channel_expired_time_ms, 30000);
  EXPECT_TRUE(c->order_message_enable);
  EXPECT_EQ(c->kv_config_path, "/var/ns/kv.json");
  EXPECT_EQ(c->max_connections, 10);
  EXPECT_EQ(c->other_settings,
            (std::vector<Setting>{{"productEnvName", "center"}, {"serverWorkerThreads", "16"}}));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].line, 7);
  EXPECT_CONTAINS(warnings[0].message, "'productEnvName' is a RocketMQ setting this name server");
}

TEST(NamesrvConfigTest, Errors) {
  EXPECT_CONTAINS(ErrorOf("listenport=9876"),
                  "line 1: unknown key 'listenport'; did you mean 'listenPort'?");
  EXPECT_CONTAINS(ErrorOf("listenPort=98765"), "listenPort: 98765 is out of range [1, 65535]");
  EXPECT_CONTAINS(ErrorOf("orderMessageEnable=1"), "'1' is not true or false");
  EXPECT_CONTAINS(ErrorOf("scanNotActiveBrokerInterval=10"), "10 is out of range [100,");
  EXPECT_CONTAINS(ErrorOf("brokerChannelExpiredTime=5000\nscanNotActiveBrokerInterval=6000"),
                  "line 2: brokerChannelExpiredTime 5000 must be longer than "
                  "scanNotActiveBrokerInterval 6000");
  EXPECT_CONTAINS(ErrorOf("kvConfigPath="), "kvConfigPath: '': is empty");
  // A broker key is not a name server key.
  EXPECT_CONTAINS(ErrorOf("brokerName=a"), "unknown key 'brokerName'");
}

TEST(NamesrvConfigTest, KnownKeyTablesAreDisjointFromSupportedKeys) {
  std::set<std::string> names;
  for (const Property& p : NamesrvConfigToProperties(NamesrvConfig{})) names.insert(p.key);
  std::set<std::string> seen;
  for (const KnownKey& k : NamesrvUnsupportedKeys()) {
    EXPECT_EQ(names.count(k.name), 0u) << k.name;
    EXPECT_TRUE(seen.insert(k.name).second) << "duplicate " << k.name;
  }
}

TEST(NamesrvConfigTest, RoundTrip) {
  absl::StatusOr<NamesrvConfig> a =
      ParseNamesrvConfig("listenPort=1\nclusterTest=true\n", TestEnv());
  ASSERT_OK(a);
  ConfigEnvironment other = TestEnv();
  other.home_dir = "/other";
  absl::StatusOr<NamesrvConfig> b =
      ParseNamesrvConfig(SerializeProperties(NamesrvConfigToProperties(*a)), other);
  ASSERT_OK(b);
  EXPECT_EQ(*a, *b);
}

TEST(NamesrvConfigTest, EmbeddedLocalConfigLoadsCleanly) {
  std::vector<ConfigWarning> warnings;
  absl::StatusOr<NamesrvConfig> c =
      ParseNamesrvConfig(DefaultLocalNamesrvConfigText(), TestEnv(), &warnings);
  ASSERT_OK(c);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(c->listen_port, 9876);
  EXPECT_EQ(c->kv_config_path, "/tmp/rocketstore-namesrv/kvConfig.json");
}

TEST(NamesrvConfigTest, ReadFile) {
  libstore::testing::TempDir dir("config-test");
  const std::string path = dir.path() + "/namesrv.properties";
  {
    std::ofstream f(path, std::ios::binary);
    f << "listenPort=29876\n";
  }
  absl::StatusOr<NamesrvConfig> c = ReadNamesrvConfigFile(path, TestEnv());
  ASSERT_OK(c);
  EXPECT_EQ(c->listen_port, 29876);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "listenPort=x\n";
  }
  c = ReadNamesrvConfigFile(path, TestEnv());
  ASSERT_FALSE(c.ok());
  EXPECT_CONTAINS(std::string(c.status().message()),
                  path + ": name server config: line 1: listenPort: 'x' is not an integer");
  EXPECT_EQ(ReadNamesrvConfigFile(dir.path() + "/none", TestEnv()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace brokerd::config
