// Tests of the broker's metadata managers without processes: TopicConfigManager and
// SubscriptionGroupManager (RocketMQ 4.9.7 topics.json / subscriptionGroup.json, read from the
// golden files a real broker wrote, round trips, the .bak fallback, validation, auto-creation)
// and QueueLockManager (lock rules on an injected clock, and the LOCK_BATCH_MQ / UNLOCK_BATCH_MQ
// bodies of captured Java frames).
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "broker/queue_lock_manager.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace brokerd::broker {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "managers_test.XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Path(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// <RS_SOURCE_DIR>/../shared/fixtures/<rel>, or "" when absent.
std::string Fixture(const std::string& rel) {
  const char* src = std::getenv("RS_SOURCE_DIR");
  if (src == nullptr) return "";
  std::string path = std::string(src) + "/../shared/fixtures/" + rel;
  return fs::exists(path) ? path : "";
}

#define REQUIRE_FIXTURE(var, rel)                                                           \
  const std::string var = Fixture(rel);                                                     \
  if (var.empty()) {                                                                        \
    GTEST_SKIP() << "fixture ../shared/fixtures/" << (rel) << " not found (RS_SOURCE_DIR="  \
                 << (std::getenv("RS_SOURCE_DIR") ? std::getenv("RS_SOURCE_DIR") : "unset") \
                 << ")";                                                                    \
  }

constexpr const char* kGoldenTopics = "store-4.9.7/clean/config/topics.json";
constexpr const char* kGoldenGroups = "store-4.9.7/clean/config/subscriptionGroup.json";

TopicConfig Topic(const std::string& name, int32_t queues, int32_t perm = kPermRead | kPermWrite) {
  TopicConfig c;
  c.name = name;
  c.read_queue_nums = queues;
  c.write_queue_nums = queues;
  c.perm = perm;
  return c;
}

// ---------------------------------------------------------------------------------------------
// TopicConfigManager

TEST(TopicConfigManagerTest, LoadsGoldenTopicsJson) {
  REQUIRE_FIXTURE(golden, kGoldenTopics);
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  WriteFile(path, ReadFile(golden));
  TopicConfigManager m(path);
  ASSERT_TRUE(m.Load().ok());
  EXPECT_EQ(m.data_version(), (DataVersion{12, 1795592243802}));
  std::map<std::string, TopicConfig> all = m.Snapshot();
  EXPECT_EQ(all.size(), 20u);

  std::optional<TopicConfig> tbw = m.Find("TBW102");
  ASSERT_TRUE(tbw.has_value());
  EXPECT_EQ(tbw->perm, 7);
  EXPECT_EQ(tbw->read_queue_nums, 8);
  EXPECT_EQ(tbw->write_queue_nums, 8);
  EXPECT_EQ(tbw->topic_filter_type, TopicFilterType::kSingleTag);
  EXPECT_FALSE(tbw->order);
  EXPECT_EQ(tbw->topic_sys_flag, 0);

  std::optional<TopicConfig> schedule = m.Find(kScheduleTopic);
  ASSERT_TRUE(schedule.has_value());
  EXPECT_EQ(schedule->read_queue_nums, kScheduleTopicQueueNums);
  EXPECT_EQ(schedule->write_queue_nums, 18);
  EXPECT_EQ(schedule->perm, 6);

  EXPECT_EQ(m.Find("BenchmarkTest")->write_queue_nums, 1024);
  EXPECT_EQ(m.Find("DefaultCluster")->perm, 7);
  EXPECT_EQ(m.Find("DefaultCluster")->read_queue_nums, 16);
  EXPECT_EQ(m.Find("FixOrdered")->read_queue_nums, 8);
  EXPECT_EQ(m.Find("%RETRY%FixOrderlyGroup")->write_queue_nums, 1);
  EXPECT_EQ(m.Find("broker-a")->perm, 7);
  EXPECT_FALSE(m.Find("NoSuchTopic").has_value());

  // Our text holds the same JSON value (we write topics in name order, Java in hash order).
  EXPECT_EQ(nlohmann::json::parse(m.ToJson()), nlohmann::json::parse(ReadFile(golden)));
}

TEST(TopicConfigManagerTest, WritesFastjsonPrettyFormatByteForByte) {
  for (const char* rel : {kGoldenTopics, kGoldenGroups}) {
    REQUIRE_FIXTURE(golden, rel);
    const std::string text = ReadFile(golden);
    // Same key order as the file, compact, then formatted our way: must give the file's bytes.
    std::string compact = nlohmann::ordered_json::parse(text).dump();
    EXPECT_EQ(configfile::Format(compact, JsonStyle::kPretty), text) << rel;
    EXPECT_EQ(configfile::Format(compact, JsonStyle::kCompact), compact);
  }
}

TEST(TopicConfigManagerTest, LoadsGoldenBackupWhenMainIsMissing) {
  REQUIRE_FIXTURE(golden, kGoldenTopics);
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  WriteFile(path + ".bak", ReadFile(golden + ".bak"));
  TopicConfigManager m(path);
  ASSERT_TRUE(m.Load().ok());
  EXPECT_EQ(m.data_version().counter, 11);
  EXPECT_FALSE(m.Find("%RETRY%FixPartialGroup").has_value());  // added after the .bak
  EXPECT_TRUE(m.Find("FixOrdered").has_value());
}

TEST(TopicConfigManagerTest, MissingFilesAreAnEmptyTable) {
  TempDir dir;
  TopicConfigManager m(dir.Path("config/topics.json"));
  ASSERT_TRUE(m.Load().ok());
  EXPECT_TRUE(m.Snapshot().empty());
  EXPECT_EQ(m.data_version().counter, 0);
}

TEST(TopicConfigManagerTest, PersistLoadRoundTripKeepsBackupOfPreviousFile) {
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  TopicConfigManager a(path);
  ASSERT_TRUE(a.CreateOrUpdate(Topic("T1", 4)).ok());
  EXPECT_FALSE(fs::exists(path + ".bak"));  // nothing to back up on the first write
  const std::string first = ReadFile(path);
  TopicConfig t2 = Topic("T2", 2, kPermRead);
  t2.order = true;
  t2.topic_sys_flag = 3;
  t2.topic_filter_type = TopicFilterType::kMultiTag;
  ASSERT_TRUE(a.CreateOrUpdate(t2).ok());
  EXPECT_EQ(ReadFile(path + ".bak"), first);
  EXPECT_EQ(ReadFile(path), a.ToJson());
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(a.data_version().counter, 2);

  TopicConfigManager b(path);
  ASSERT_TRUE(b.Load().ok());
  EXPECT_EQ(b.Snapshot(), a.Snapshot());
  EXPECT_EQ(b.data_version(), a.data_version());
  EXPECT_EQ(*b.Find("T2"), t2);
  EXPECT_EQ(b.ToJson(), a.ToJson());

  // Explicit Persist rewrites the same text.
  ASSERT_TRUE(b.Persist().ok());
  EXPECT_EQ(ReadFile(path), a.ToJson());
}

TEST(TopicConfigManagerTest, CompactJsonIsTheRegisterBodyWrapper) {
  TopicConfigManager m("");
  ASSERT_TRUE(m.CreateOrUpdate(Topic("T", 4)).ok());
  const std::string compact = m.ToJson(JsonStyle::kCompact);
  EXPECT_EQ(compact.find_first_of(" \t\n"), std::string::npos);
  const DataVersion v = m.data_version();
  EXPECT_EQ(compact,
            "{\"dataVersion\":{\"counter\":1,\"timestamp\":" + std::to_string(v.timestamp_ms) +
                "},\"topicConfigTable\":{\"T\":{\"order\":false,\"perm\":6,"
                "\"readQueueNums\":4,\"topicFilterType\":\"SINGLE_TAG\",\"topicName\":"
                "\"T\",\"topicSysFlag\":0,\"writeQueueNums\":4}}}");
}

TEST(TopicConfigManagerTest, CorruptMainFileFallsBackToBak) {
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  {
    TopicConfigManager a(path);
    ASSERT_TRUE(a.CreateOrUpdate(Topic("Old", 4)).ok());
    ASSERT_TRUE(a.CreateOrUpdate(Topic("New", 4)).ok());  // .bak holds {Old}
  }
  for (const std::string& bad :
       {std::string("{\"dataVersion\":{\"coun"), std::string(""), std::string("[1,2]"),
        std::string("{\"topicConfigTable\":{\"X\":{\"perm\":\"six\"}}}"),
        std::string("{\"topicConfigTable\":{\"X\":{\"topicFilterType\":\"ODD\"}}}"),
        std::string("{\"dataVersion\":{\"counter\":1}}")}) {
    WriteFile(path, bad);
    TopicConfigManager m(path);
    ASSERT_TRUE(m.Load().ok()) << bad;
    EXPECT_TRUE(m.Find("Old").has_value()) << bad;
    EXPECT_FALSE(m.Find("New").has_value()) << bad;
    EXPECT_EQ(m.data_version().counter, 1) << bad;
  }
}

TEST(TopicConfigManagerTest, CorruptFileWithoutUsableBackupIsAClearError) {
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  WriteFile(path, "{\"topicConfigTable\":{\"X\":{\"readQueueNums\":-3}}}");
  TopicConfigManager m(path);
  absl::Status s = m.Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("readQueueNums"));
  EXPECT_THAT(s.message(), HasSubstr("no backup"));

  WriteFile(path + ".bak", "not json");
  s = m.Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(path + ":"));
  EXPECT_THAT(s.message(), HasSubstr(path + ".bak: not valid JSON"));

  // A corrupt backup alone (main missing) is an error too, naming the backup.
  fs::remove(path);
  s = m.Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(path + ".bak"));
}

TEST(TopicConfigManagerTest, ValidatesNamesQueueCountsAndPerm) {
  TopicConfigManager m("");
  auto invalid = [&](const TopicConfig& c, const std::string& needle) {
    absl::Status s = m.CreateOrUpdate(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(s.message(), HasSubstr(needle)) << c.name;
  };
  invalid(Topic("", 4), "empty");
  invalid(Topic("a b", 4), "[%|a-zA-Z0-9_-]");
  invalid(Topic("a/b", 4), "\"a/b\"");
  invalid(Topic(std::string(128, 'x'), 4), "longer than 127");
  invalid(Topic("T", 0), "readQueueNums is 0, must be 1..1024");
  invalid(Topic("T", 1025), "1..1024");
  TopicConfig write_only = Topic("T", 4);
  write_only.write_queue_nums = -1;
  invalid(write_only, "writeQueueNums is -1");
  invalid(Topic("T", 4, 16), "perm 16");
  EXPECT_TRUE(m.Snapshot().empty());
  EXPECT_EQ(m.data_version().counter, 0);

  EXPECT_TRUE(m.CreateOrUpdate(Topic(std::string(127, 'x'), 1)).ok());
  EXPECT_TRUE(m.CreateOrUpdate(Topic("%RETRY%g|a_b-C9", 1024, kPermAll)).ok());
  EXPECT_TRUE(ValidateTopicName("ok").ok());
}

TEST(TopicConfigManagerTest, UnchangedUpdateDoesNotBumpVersion) {
  TopicConfigManager m("");
  ASSERT_TRUE(m.CreateOrUpdate(Topic("T", 4)).ok());
  ASSERT_TRUE(m.CreateOrUpdate(Topic("T", 4)).ok());
  EXPECT_EQ(m.data_version().counter, 1);
  ASSERT_TRUE(m.CreateOrUpdate(Topic("T", 8)).ok());
  EXPECT_EQ(m.data_version().counter, 2);
  EXPECT_EQ(m.Find("T")->read_queue_nums, 8);
}

TEST(TopicConfigManagerTest, DeleteRemovesAndPersists) {
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  TopicConfigManager m(path);
  ASSERT_TRUE(m.CreateOrUpdate(Topic("T", 4)).ok());
  EXPECT_EQ(m.Delete("Nope").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(m.Delete("T").ok());
  EXPECT_FALSE(m.Find("T").has_value());
  EXPECT_EQ(m.data_version().counter, 2);
  TopicConfigManager again(path);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_TRUE(again.Snapshot().empty());
  EXPECT_EQ(again.data_version().counter, 2);
}

TEST(TopicConfigManagerTest, CreateFromDefaultFollowsRocketMq) {
  TempDir dir;
  const std::string path = dir.Path("config/topics.json");
  TopicConfigManager m(path);
  TopicConfig tbw =
      Topic(std::string(kAutoCreateTopicKey), 8, kPermRead | kPermWrite | kPermInherit);
  tbw.topic_filter_type = TopicFilterType::kMultiTag;
  ASSERT_TRUE(m.CreateOrUpdate(tbw).ok());
  ASSERT_TRUE(m.CreateOrUpdate(Topic("NoInherit", 8)).ok());

  // min(client default, default's writeQueueNums); perm without INHERIT; filter type copied.
  absl::StatusOr<TopicConfig> a = m.CreateFromDefault("A", "TBW102", 4, 2);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->name, "A");
  EXPECT_EQ(a->read_queue_nums, 4);
  EXPECT_EQ(a->write_queue_nums, 4);
  EXPECT_EQ(a->perm, kPermRead | kPermWrite);
  EXPECT_EQ(a->topic_filter_type, TopicFilterType::kMultiTag);
  EXPECT_EQ(a->topic_sys_flag, 2);
  EXPECT_FALSE(a->order);
  absl::StatusOr<TopicConfig> b = m.CreateFromDefault("B", "TBW102", 16);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->write_queue_nums, 8);
  absl::StatusOr<TopicConfig> c = m.CreateFromDefault("C", "TBW102", 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->write_queue_nums, 1);  // clamped (Java would store 0 queues)
  const int64_t counter = m.data_version().counter;

  // An existing topic is returned as it is, whatever the default says, without a version bump.
  absl::StatusOr<TopicConfig> again = m.CreateFromDefault("A", "Missing", 99);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *a);
  EXPECT_EQ(m.data_version().counter, counter);

  absl::StatusOr<TopicConfig> missing = m.CreateFromDefault("D", "Missing", 4);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("\"Missing\" does not exist"));
  absl::StatusOr<TopicConfig> no_inherit = m.CreateFromDefault("D", "NoInherit", 4);
  EXPECT_EQ(no_inherit.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_inherit.status().message(), HasSubstr("without PERM_INHERIT"));
  EXPECT_EQ(m.CreateFromDefault("bad name", "TBW102", 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.data_version().counter, counter);

  // Durable on return.
  TopicConfigManager reloaded(path);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(*reloaded.Find("A"), *a);
  EXPECT_EQ(reloaded.Find("B")->write_queue_nums, 8);
}

TEST(TopicConfigManagerTest, EnsureSystemTopics) {
  TopicConfigManager m("");
  absl::StatusOr<TopicConfig> schedule =
      m.EnsureSystemTopic(kScheduleTopic, kScheduleTopicQueueNums);
  ASSERT_TRUE(schedule.ok());
  EXPECT_EQ(schedule->read_queue_nums, 18);
  EXPECT_EQ(schedule->write_queue_nums, 18);
  EXPECT_EQ(schedule->perm, kPermRead | kPermWrite);

  absl::StatusOr<TopicConfig> retry = m.EnsureRetryTopic("G", 1);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->name, "%RETRY%G");
  EXPECT_EQ(retry->write_queue_nums, 1);
  EXPECT_EQ(retry->perm, 6);
  absl::StatusOr<TopicConfig> dlq = m.EnsureDlqTopic("G");
  ASSERT_TRUE(dlq.ok());
  EXPECT_EQ(dlq->name, "%DLQ%G");
  EXPECT_EQ(dlq->read_queue_nums, kDlqQueueNumsPerGroup);
  EXPECT_EQ(dlq->perm, kPermRead | kPermWrite);  // 4.9.7: PERM_WRITE | PERM_READ
  EXPECT_EQ(m.data_version().counter, 3);

  // Existing topics are kept as they are.
  ASSERT_TRUE(m.CreateOrUpdate(Topic("%RETRY%H", 3, kPermRead)).ok());
  absl::StatusOr<TopicConfig> kept = m.EnsureRetryTopic("H", 1);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->write_queue_nums, 3);
  EXPECT_EQ(kept->perm, kPermRead);
  EXPECT_EQ(m.data_version().counter, 4);

  // A retry topic of a 255-character group is longer than a user topic may be, and allowed.
  EXPECT_TRUE(m.EnsureRetryTopic(std::string(255, 'g'), 1).ok());
  EXPECT_EQ(m.EnsureRetryTopic(std::string(256, 'g'), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(m.EnsureSystemTopic("S", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TopicConfigManagerTest, FailedWriteIsNotApplied) {
  TempDir dir;
  WriteFile(dir.Path("plain"), "x");  // a file where the config directory should be
  TopicConfigManager m(dir.Path("plain/config/topics.json"));
  absl::Status s = m.CreateOrUpdate(Topic("T", 4));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("plain"));
  EXPECT_FALSE(m.Find("T").has_value());
  EXPECT_EQ(m.data_version().counter, 0);
  EXPECT_FALSE(m.EnsureDlqTopic("G").ok());
  EXPECT_TRUE(m.Snapshot().empty());
}

TEST(TopicConfigManagerTest, InMemoryManagerHasNoFile) {
  TopicConfigManager m("");
  EXPECT_EQ(m.Load().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m.Persist().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(m.CreateOrUpdate(Topic("T", 1)).ok());
}

TEST(TopicConfigManagerTest, ConcurrentAutoCreationCreatesEachTopicOnce) {
  TempDir dir;
  TopicConfigManager m(dir.Path("config/topics.json"));
  ASSERT_TRUE(m.CreateOrUpdate(Topic("TBW102", 8, 7)).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        absl::StatusOr<TopicConfig> c = m.CreateFromDefault("T" + std::to_string(i), "TBW102", 4);
        if (!c.ok() || c->write_queue_nums != 4) ++failures;
        if (!m.Find("TBW102").has_value()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(m.Snapshot().size(), 11u);
  EXPECT_EQ(m.data_version().counter, 11);  // one bump per topic created
  TopicConfigManager reloaded(m.path());
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.Snapshot(), m.Snapshot());
}

// ---------------------------------------------------------------------------------------------
// SubscriptionGroupManager

TEST(SubscriptionGroupManagerTest, LoadsGoldenSubscriptionGroupJson) {
  REQUIRE_FIXTURE(golden, kGoldenGroups);
  TempDir dir;
  const std::string path = dir.Path("config/subscriptionGroup.json");
  WriteFile(path, ReadFile(golden));
  SubscriptionGroupManager m(path);
  ASSERT_TRUE(m.Load().ok());
  EXPECT_EQ(m.data_version(), (DataVersion{5, 1795592280265}));
  EXPECT_EQ(m.Snapshot().size(), 12u);
  std::optional<SubscriptionGroupConfig> g = m.Find("FixOrderlyGroup");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->group_name, "FixOrderlyGroup");
  EXPECT_EQ(g->broker_id, 0);
  EXPECT_TRUE(g->consume_broadcast_enable);
  EXPECT_TRUE(g->consume_enable);
  EXPECT_TRUE(g->consume_from_min_enable);
  EXPECT_TRUE(g->notify_consumer_ids_changed_enable);
  EXPECT_EQ(g->retry_max_times, 16);
  EXPECT_EQ(g->retry_queue_nums, 1);
  EXPECT_EQ(g->which_broker_when_consume_slowly, 1);
  EXPECT_EQ(*g, SubscriptionGroupConfig{.group_name = "FixOrderlyGroup"});  // Java's defaults
  for (std::string_view sys : kSystemConsumerGroups) {
    EXPECT_TRUE(m.Find(sys).has_value()) << sys;
  }
  EXPECT_EQ(nlohmann::json::parse(m.ToJson()), nlohmann::json::parse(ReadFile(golden)));

  // The golden .bak (one group fewer) as the fallback for a torn main file.
  WriteFile(path + ".bak", ReadFile(golden + ".bak"));
  WriteFile(path, "{\"dataVersion\":");
  ASSERT_TRUE(m.Load().ok());
  EXPECT_EQ(m.data_version().counter, 4);
  EXPECT_EQ(m.Snapshot().size(), 11u);
  EXPECT_FALSE(m.Find("FixDumpGroup").has_value());
}

TEST(SubscriptionGroupManagerTest, FindOrAutoCreateUsesDefaultsAndPersists) {
  TempDir dir;
  const std::string path = dir.Path("config/subscriptionGroup.json");
  SubscriptionGroupManager m(path);
  EXPECT_FALSE(m.Find("G").has_value());
  absl::StatusOr<SubscriptionGroupConfig> g = m.FindOrAutoCreate("G");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*g, SubscriptionGroupConfig{.group_name = "G"});
  EXPECT_EQ(g->retry_queue_nums, 1);
  EXPECT_EQ(g->retry_max_times, 16);
  EXPECT_EQ(m.data_version().counter, 1);
  ASSERT_TRUE(m.FindOrAutoCreate("G").ok());
  EXPECT_EQ(m.data_version().counter, 1);
  EXPECT_EQ(m.FindOrAutoCreate("bad group").status().code(), absl::StatusCode::kInvalidArgument);

  SubscriptionGroupManager reloaded(path);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(*reloaded.Find("G"), *g);
  EXPECT_EQ(ReadFile(path),
            "{\n\t\"dataVersion\":{\n\t\t\"counter\":1,\n\t\t\"timestamp\":" +
                std::to_string(m.data_version().timestamp_ms) +
                "\n\t},\n\t\"subscriptionGroupTable\":{\n\t\t\"G\":{\n\t\t\t\"brokerId\":0,\n"
                "\t\t\t\"consumeBroadcastEnable\":true,\n\t\t\t\"consumeEnable\":true,\n"
                "\t\t\t\"consumeFromMinEnable\":true,\n\t\t\t\"groupName\":\"G\",\n"
                "\t\t\t\"notifyConsumerIdsChangedEnable\":true,\n\t\t\t\"retryMaxTimes\":16,\n"
                "\t\t\t\"retryQueueNums\":1,\n\t\t\t\"whichBrokerWhenConsumeSlowly\":1\n\t\t}\n"
                "\t}\n}");
}

TEST(SubscriptionGroupManagerTest, CreateOrUpdateValidatesAndRoundTrips) {
  TempDir dir;
  const std::string path = dir.Path("config/subscriptionGroup.json");
  SubscriptionGroupManager m(path);
  auto invalid = [&](const SubscriptionGroupConfig& c, const std::string& needle) {
    absl::Status s = m.CreateOrUpdate(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << needle;
    EXPECT_THAT(s.message(), HasSubstr(needle));
  };
  invalid({.group_name = ""}, "empty");
  invalid({.group_name = "a:b"}, "\"a:b\"");
  invalid({.group_name = std::string(256, 'g')}, "longer than 255");
  invalid({.group_name = "G", .retry_queue_nums = -1}, "retryQueueNums is -1");
  invalid({.group_name = "G", .retry_queue_nums = 1025}, "0..1024");
  invalid({.group_name = "G", .retry_max_times = -1}, "retryMaxTimes is -1");
  invalid({.group_name = "G", .broker_id = -1}, "brokerId -1");
  EXPECT_TRUE(m.Snapshot().empty());

  SubscriptionGroupConfig c{.group_name = "G",
                            .consume_enable = false,
                            .consume_from_min_enable = false,
                            .consume_broadcast_enable = false,
                            .retry_queue_nums = 0,
                            .retry_max_times = 3,
                            .broker_id = 1,
                            .which_broker_when_consume_slowly = 2,
                            .notify_consumer_ids_changed_enable = false};
  ASSERT_TRUE(m.CreateOrUpdate(c).ok());
  ASSERT_TRUE(m.CreateOrUpdate(c).ok());  // unchanged: no bump
  EXPECT_EQ(m.data_version().counter, 1);
  ASSERT_TRUE(m.FindOrAutoCreate("H").ok());
  SubscriptionGroupManager reloaded(path);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(*reloaded.Find("G"), c);
  EXPECT_EQ(reloaded.Snapshot(), m.Snapshot());
  EXPECT_EQ(reloaded.data_version(), m.data_version());

  EXPECT_EQ(m.Delete("Nope").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(m.Delete("G").ok());
  EXPECT_FALSE(m.Find("G").has_value());
  EXPECT_EQ(m.data_version().counter, 3);
}

TEST(SubscriptionGroupManagerTest, EnsureSystemGroupsInOneWrite) {
  SubscriptionGroupManager m("");
  ASSERT_TRUE(m.CreateOrUpdate({.group_name = "TOOLS_CONSUMER", .retry_max_times = 1}).ok());
  ASSERT_TRUE(m.EnsureSystemGroups().ok());
  EXPECT_EQ(m.data_version().counter, 2);
  EXPECT_EQ(m.Snapshot().size(), kSystemConsumerGroups.size());
  EXPECT_EQ(m.Find("TOOLS_CONSUMER")->retry_max_times, 1);  // kept
  ASSERT_TRUE(m.EnsureSystemGroups().ok());
  EXPECT_EQ(m.data_version().counter, 2);
}

TEST(SubscriptionGroupManagerTest, NewerFieldsAreIgnoredBadTypesAreNot) {
  TempDir dir;
  const std::string path = dir.Path("config/subscriptionGroup.json");
  WriteFile(path,
            "{\"dataVersion\":{\"counter\":7,\"stateVersion\":0,\"timestamp\":1},"
            "\"forbiddenTable\":{},\"subscriptionGroupTable\":{\"G\":{\"attributes\":{},"
            "\"groupRetryPolicy\":{\"type\":\"CUSTOMIZED\"},\"groupName\":\"G\","
            "\"retryMaxTimes\":5}}}");
  SubscriptionGroupManager m(path);
  ASSERT_TRUE(m.Load().ok());
  EXPECT_EQ(m.data_version(), (DataVersion{7, 1}));
  EXPECT_EQ(m.Find("G")->retry_max_times, 5);
  EXPECT_EQ(m.Find("G")->retry_queue_nums, 1);

  WriteFile(path, "{\"subscriptionGroupTable\":{\"G\":{\"consumeEnable\":1}}}");
  absl::Status s = m.Load();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(),
              HasSubstr("subscriptionGroupTable[\"G\"].consumeEnable is 1, not a boolean"));
}

// ---------------------------------------------------------------------------------------------
// QueueLockManager

MessageQueue Mq(int32_t id, const std::string& topic = "T") { return {topic, "broker-a", id}; }

struct FakeClock {
  int64_t now = 1000;
  QueueLockManager::Clock fn() {
    return [this] { return now; };
  }
};

TEST(QueueLockManagerTest, ContentionBetweenTwoClients) {
  FakeClock clock;
  QueueLockManager m(60000, clock.fn());
  EXPECT_EQ(m.TryLockBatch("G", "c1", {Mq(0), Mq(1)}), (std::set<MessageQueue>{Mq(0), Mq(1)}));
  EXPECT_EQ(m.TryLockBatch("G", "c2", {Mq(1), Mq(2)}), (std::set<MessageQueue>{Mq(2)}));
  EXPECT_TRUE(m.IsLocked("G", Mq(1), "c1"));
  EXPECT_FALSE(m.IsLocked("G", Mq(1), "c2"));
  EXPECT_EQ(m.Holder("G", Mq(2)), "c2");
  EXPECT_FALSE(m.Holder("G", Mq(3)).has_value());
  // Another group is independent.
  EXPECT_EQ(m.TryLockBatch("H", "c2", {Mq(1)}), (std::set<MessageQueue>{Mq(1)}));
  // Same client again: granted (refresh).
  EXPECT_EQ(m.TryLockBatch("G", "c1", {Mq(0), Mq(1)}).size(), 2u);
  EXPECT_EQ(m.size(), 4u);
  EXPECT_TRUE(m.TryLockBatch("G", "c1", {}).empty());
}

TEST(QueueLockManagerTest, ExpiryRefreshAndTakeOver) {
  FakeClock clock;
  QueueLockManager m(60000, clock.fn());
  ASSERT_EQ(m.TryLockBatch("G", "c1", {Mq(0)}).size(), 1u);
  clock.now += 50000;
  ASSERT_EQ(m.TryLockBatch("G", "c1", {Mq(0)}).size(), 1u);  // refreshed at +50 s
  clock.now += 50000;                                        // +100 s: 50 s since refresh
  EXPECT_TRUE(m.TryLockBatch("G", "c2", {Mq(0)}).empty());
  clock.now += 10000;  // exactly 60 s since the refresh: not expired yet (strictly greater)
  EXPECT_TRUE(m.IsLocked("G", Mq(0), "c1"));
  EXPECT_TRUE(m.TryLockBatch("G", "c2", {Mq(0)}).empty());
  clock.now += 1;  // expired: taken over
  EXPECT_FALSE(m.IsLocked("G", Mq(0), "c1"));
  EXPECT_FALSE(m.Holder("G", Mq(0)).has_value());
  EXPECT_EQ(m.TryLockBatch("G", "c2", {Mq(0)}), (std::set<MessageQueue>{Mq(0)}));
  EXPECT_EQ(m.Holder("G", Mq(0)), "c2");
  EXPECT_TRUE(m.TryLockBatch("G", "c1", {Mq(0)}).empty());
  // IsLocked does not refresh: c2's lock still lapses 60 s after it was taken.
  clock.now += 30000;
  EXPECT_TRUE(m.IsLocked("G", Mq(0), "c2"));
  clock.now += 30001;
  EXPECT_FALSE(m.IsLocked("G", Mq(0), "c2"));
  // A client whose own lock lapsed gets it back.
  EXPECT_EQ(m.TryLockBatch("G", "c2", {Mq(0)}).size(), 1u);
}

TEST(QueueLockManagerTest, OnlyTheHolderUnlocks) {
  FakeClock clock;
  QueueLockManager m(60000, clock.fn());
  ASSERT_EQ(m.TryLockBatch("G", "c1", {Mq(0), Mq(1)}).size(), 2u);
  m.UnlockBatch("G", "c2", {Mq(0), Mq(1)});
  EXPECT_TRUE(m.IsLocked("G", Mq(0), "c1"));
  m.UnlockBatch("H", "c1", {Mq(0)});  // other group: nothing
  EXPECT_TRUE(m.IsLocked("G", Mq(0), "c1"));
  m.UnlockBatch("G", "c1", {Mq(0), Mq(7)});
  EXPECT_FALSE(m.Holder("G", Mq(0)).has_value());
  EXPECT_TRUE(m.IsLocked("G", Mq(1), "c1"));
  EXPECT_EQ(m.TryLockBatch("G", "c2", {Mq(0), Mq(1)}), (std::set<MessageQueue>{Mq(0)}));
  // An expired entry is still removed by its holder's unlock.
  clock.now += 60001;
  m.UnlockBatch("G", "c1", {Mq(1)});
  m.UnlockBatch("G", "c2", {Mq(0)});
  EXPECT_EQ(m.size(), 0u);
}

TEST(QueueLockManagerTest, BoundedTableDropsExpiredEntriesFirst) {
  FakeClock clock;
  QueueLockManager m(1000, clock.fn(), 2);
  EXPECT_EQ(m.TryLockBatch("G", "c1", {Mq(0), Mq(1), Mq(2)}).size(), 2u);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.TryLockBatch("G", "c1", {Mq(0), Mq(1)}).size(), 2u);  // refreshes still work
  EXPECT_TRUE(m.TryLockBatch("H", "c2", {Mq(0)}).empty());          // full
  clock.now += 1001;
  EXPECT_EQ(m.TryLockBatch("H", "c2", {Mq(0)}).size(), 1u);  // expired ones were dropped
  EXPECT_EQ(m.size(), 1u);
}

TEST(QueueLockManagerTest, ConcurrentClientsNeverShareAQueue) {
  FakeClock clock;  // frozen: no lock expires
  QueueLockManager m(60000, clock.fn());
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::set<MessageQueue> got = m.TryLockBatch("G", "c" + std::to_string(t), {Mq(i)});
        if (!got.empty()) ++winners;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(winners.load(), 50);
  EXPECT_EQ(m.size(), 50u);
}

// The body of each frame of a capture (one JSON object a line; "hex" is the whole frame).
struct CapturedFrame {
  int code = 0;
  int flag = 0;
  int opaque = 0;
  std::string body;
};

std::vector<CapturedFrame> ReadCapture(const std::string& path) {
  std::vector<CapturedFrame> frames;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    const std::string hex = j.value("hex", "");
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    if (bytes.size() < 8) continue;
    auto be32 = [&](size_t at) {
      return (uint32_t{static_cast<uint8_t>(bytes[at])} << 24) |
             (uint32_t{static_cast<uint8_t>(bytes[at + 1])} << 16) |
             (uint32_t{static_cast<uint8_t>(bytes[at + 2])} << 8) |
             uint32_t{static_cast<uint8_t>(bytes[at + 3])};
    };
    const size_t header_len = be32(4) & 0xFFFFFF;
    CapturedFrame f;
    f.code = j.value("code", -1);
    f.flag = j.value("flag", 0);
    f.opaque = j.value("opaque", 0);
    f.body = bytes.substr(std::min(bytes.size(), 8 + header_len));
    frames.push_back(std::move(f));
  }
  return frames;
}

TEST(QueueLockBodiesTest, DecodesCapturedJavaFrames) {
  REQUIRE_FIXTURE(capture, "wire/java-push-orderly.jsonl");
  std::vector<CapturedFrame> frames = ReadCapture(capture);
  std::map<int, std::set<MessageQueue>> requested;  // opaque -> mqSet of each LOCK_BATCH_MQ
  int locks = 0;
  int unlocks = 0;
  int answers = 0;
  FakeClock clock;
  QueueLockManager m(60000, clock.fn());
  for (const CapturedFrame& f : frames) {
    const bool response = (f.flag & 1) != 0;
    if (!response && (f.code == 41 || f.code == 42)) {
      absl::StatusOr<QueueLockRequest> r = DecodeQueueLockRequest(f.body);
      ASSERT_TRUE(r.ok()) << r.status() << " " << f.body;
      EXPECT_EQ(r->consumer_group, "WireOrderlyGroup");
      EXPECT_EQ(r->client_id, "192.0.2.2@wire");
      EXPECT_FALSE(r->only_this_broker);
      ASSERT_FALSE(r->mq_set.empty());
      for (const MessageQueue& mq : r->mq_set) {
        EXPECT_EQ(mq.broker_name, "broker-a");
        EXPECT_TRUE(mq.topic == "WireOrdered" || mq.topic == "%RETRY%WireOrderlyGroup");
      }
      // Our encoder writes the same bytes when the order agrees (single queues), and always
      // the same value.
      absl::StatusOr<QueueLockRequest> again = DecodeQueueLockRequest(EncodeQueueLockRequest(*r));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->mq_set, r->mq_set);
      if (r->mq_set.size() == 1) {
        EXPECT_EQ(EncodeQueueLockRequest(*r), f.body);
      }
      if (f.code == 41) {
        ++locks;
        requested[f.opaque] = r->mq_set;
        // What our broker would answer: everything (one client).
        EXPECT_EQ(m.TryLockBatch(r->consumer_group, r->client_id, r->mq_set), r->mq_set);
      } else {
        ++unlocks;
        m.UnlockBatch(r->consumer_group, r->client_id, r->mq_set);
      }
    } else if (response && requested.count(f.opaque) != 0) {
      absl::StatusOr<std::set<MessageQueue>> ok = DecodeLockBatchResponse(f.body);
      ASSERT_TRUE(ok.ok()) << ok.status() << " " << f.body;
      EXPECT_EQ(*ok, requested[f.opaque]);  // the Java broker granted everything
      if (ok->size() == 1) {
        EXPECT_EQ(EncodeLockBatchResponse(*ok), f.body);
      }
      ++answers;
      requested.erase(f.opaque);
    }
  }
  EXPECT_GE(locks, 9);
  EXPECT_GE(unlocks, 1);
  EXPECT_EQ(answers, locks);
  EXPECT_EQ(m.size(), 0u);  // the capture's unlock released every queue it locked
}

TEST(QueueLockBodiesTest, EncodesInJavaKeyOrder) {
  QueueLockRequest r{.consumer_group = "g", .client_id = "c", .mq_set = {{"t", "b", 0}}};
  EXPECT_EQ(EncodeQueueLockRequest(r),
            "{\"clientId\":\"c\",\"consumerGroup\":\"g\",\"mqSet\":[{\"brokerName\":\"b\","
            "\"queueId\":0,\"topic\":\"t\"}]}");
  r.only_this_broker = true;
  EXPECT_THAT(EncodeQueueLockRequest(r), HasSubstr("}],\"onlyThisBroker\":true}"));
  EXPECT_EQ(EncodeLockBatchResponse({}), "{\"lockOKMQSet\":[]}");
  EXPECT_EQ(EncodeLockBatchResponse({{"t", "b", 3}, {"t", "b", 1}}),
            "{\"lockOKMQSet\":[{\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"t\"},"
            "{\"brokerName\":\"b\",\"queueId\":3,\"topic\":\"t\"}]}");
}

TEST(QueueLockBodiesTest, RejectsMalformedBodies) {
  struct Case {
    std::string body;
    std::string needle;
  };
  const std::string ok_head = "{\"clientId\":\"c\",\"consumerGroup\":\"g\",";
  for (const Case& c : std::vector<Case>{
           {"", "not JSON"},
           {"{\"clientId\":", "not JSON"},
           {"[1]", "not an object"},
           {"{\"consumerGroup\":\"g\",\"mqSet\":[]}", "clientId is missing"},
           {"{\"clientId\":7,\"consumerGroup\":\"g\"}", "clientId is 7, not a string"},
           {"{\"clientId\":\"c\"}", "consumerGroup is missing"},
           {ok_head + "\"mqSet\":{}}", "mqSet is {}, not an array"},
           {ok_head + "\"mqSet\":[5]}", "mqSet[0] is 5, not an object"},
           {ok_head + "\"mqSet\":[{\"brokerName\":\"b\",\"topic\":\"t\"}]}",
            "mqSet[0] has no int32 \"queueId\""},
           {ok_head + "\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":\"1\",\"topic\":\"t\"}]}",
            "queueId"},
           {ok_head + "\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":2147483648,\"topic\":\"t\"}]}",
            "queueId"},
           {ok_head + "\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":1.5,\"topic\":\"t\"}]}",
            "queueId"},
           {ok_head + "\"mqSet\":[{\"queueId\":1,\"topic\":\"t\"}]}", "brokerName"},
           {ok_head + "\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":1,\"topic\":null}]}", "topic"},
           {ok_head + "\"onlyThisBroker\":\"yes\"}", "onlyThisBroker is \"yes\""},
       }) {
    absl::StatusOr<QueueLockRequest> r = DecodeQueueLockRequest(c.body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(r.status().message(), HasSubstr(c.needle)) << c.body;
  }
  // Missing / null mqSet = empty; duplicates collapse; unknown fields are ignored; negative ids
  // are the client's business.
  absl::StatusOr<QueueLockRequest> empty = DecodeQueueLockRequest(ok_head + "\"mqSet\":null}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->mq_set.empty());
  absl::StatusOr<QueueLockRequest> dup = DecodeQueueLockRequest(
      ok_head +
      "\"x\":1,\"mqSet\":[{\"brokerName\":\"b\",\"queueId\":-1,\"topic\":\"t\"},"
      "{\"brokerName\":\"b\",\"queueId\":-1,\"topic\":\"t\"}]}");
  ASSERT_TRUE(dup.ok()) << dup.status();
  EXPECT_EQ(dup->mq_set, (std::set<MessageQueue>{{"t", "b", -1}}));

  EXPECT_EQ(DecodeLockBatchResponse("{\"lockOKMQSet\":3}").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(DecodeLockBatchResponse("nope").status().message(),
              HasSubstr("LOCK_BATCH_MQ response body is not JSON"));
  ASSERT_TRUE(DecodeLockBatchResponse("{}").ok());
}

}  // namespace
}  // namespace brokerd::broker
