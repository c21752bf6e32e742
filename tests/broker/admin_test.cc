// Admin and coordination requests on a real brokerd (and namesrvd), end to end:
// UPDATE_AND_CREATE_TOPIC (17) / GET_ALL_TOPIC_CONFIG (21) with config/topics.json across SIGTERM
// and SIGKILL restarts, rejected names, queue counts, permissions and system topics, and the
// route the name server then serves (GET_ROUTEINFO_BY_TOPIC, 105); GET_ALL_SUBSCRIPTIONGROUP_CONFIG
// (201) after a heartbeat auto-created a group (config/subscriptionGroup.json);
// GET_BROKER_RUNTIME_INFO (28); LOCK_BATCH_MQ (41) / UNLOCK_BATCH_MQ (42) between two clients;
// NOTIFY_CONSUMER_IDS_CHANGED (40) when a group's membership changes; SYSTEM_BUSY under a full
// put queue.
// Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "nlohmann/json.hpp"
#include "remoting/frame_codec.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

RemotingCommand CreateTopic(const std::string& topic, int read, int write, int perm = 6,
                            const std::string& filter = "SINGLE_TAG") {
  return Request(17, {{"topic", topic},
                      {"defaultTopic", "TBW102"},
                      {"readQueueNums", std::to_string(read)},
                      {"writeQueueNums", std::to_string(write)},
                      {"perm", std::to_string(perm)},
                      {"topicFilterType", filter},
                      {"topicSysFlag", "0"},
                      {"order", "false"}});
}

// A topic config as GET_ALL_TOPIC_CONFIG and topics.json list it (fastjson: sorted fields).
Json TopicJson(const std::string& topic, int read, int write, int perm) {
  return Json{{"order", false},         {"perm", perm},
              {"readQueueNums", read},  {"topicFilterType", "SINGLE_TAG"},
              {"topicName", topic},     {"topicSysFlag", 0},
              {"writeQueueNums", write}};
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Json ParseJson(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
  return j;
}

// A consumer's heartbeat (Java's HeartbeatData) for one group subscribed to topic.
RemotingCommand Heartbeat(const std::string& client_id, const std::string& group,
                          const std::string& topic) {
  RemotingCommand hb = Request(34, {});
  hb.body =
      R"({"clientID":")" + client_id + R"(","consumerDataSet":[{"groupName":")" + group +
      R"(","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING",)"
      R"("consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","unitMode":false,)"
      R"("subscriptionDataSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG",)"
      R"("subString":"*","subVersion":1,"tagsSet":[],"topic":")" +
      topic + R"("}]}],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}]})";
  return hb;
}

// Sends request and reads until its answer; frames that arrive before it are appended to
// *before (server-initiated requests, in arrival order).
std::optional<RemotingCommand> CallCollect(Client& c, const RemotingCommand& request,
                                           std::vector<RemotingCommand>* before) {
  if (!c.Send(request).ok()) return std::nullopt;
  const auto deadline = Clock::now() + kIo;
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto r = c.Read(left);
    if (!r.ok()) return std::nullopt;
    if (r->IsResponse() && r->opaque == request.opaque) return *r;
    before->push_back(*r);
  }
}

// A NOTIFY_CONSUMER_IDS_CHANGED as the 4.9.7 broker sends it (wire captures): oneway request,
// header consumerGroup only, no body, no remark.
void ExpectNotify(const RemotingCommand& r, const std::string& group) {
  EXPECT_EQ(r.code, 40);
  EXPECT_EQ(r.flag, brokerd::remoting::kFlagOneway);
  EXPECT_EQ(r.language, "JAVA");
  EXPECT_EQ(r.ext_fields, brokerd::remoting::ExtFields({{"consumerGroup", group}}));
  EXPECT_EQ(r.remark, std::nullopt);
  EXPECT_TRUE(r.body.empty());
}

// Reads the next frame from c (bounded) and expects a notification for group.
void ExpectNextIsNotify(Client& c, const std::string& group) {
  auto r = c.Read(kIo);
  ASSERT_TRUE(r.ok()) << "no NOTIFY_CONSUMER_IDS_CHANGED: " << r.status();
  ExpectNotify(*r, group);
}

std::string MqJson(const std::string& topic, int queue) {
  return R"({"brokerName":"broker-a","queueId":)" + std::to_string(queue) + R"(,"topic":")" +
         topic + R"("})";
}

// LOCK_BATCH_MQ / UNLOCK_BATCH_MQ body as the Java client writes it (fastjson, sorted fields).
RemotingCommand LockRequest(int32_t code, const std::string& client, const std::string& group,
                            const std::string& topic, const std::vector<int>& queues) {
  RemotingCommand r = Request(code, {});
  r.body = R"({"clientId":")" + client + R"(","consumerGroup":")" + group + R"(","mqSet":[)";
  for (size_t i = 0; i < queues.size(); ++i) {
    r.body += (i > 0 ? "," : "") + MqJson(topic, queues[i]);
  }
  r.body += "]}";
  return r;
}

// The queue ids of a LOCK_BATCH_MQ answer (all of topic).
std::set<int> Locked(const RemotingCommand& r, const std::string& topic) {
  std::set<int> out;
  Json j = ParseJson(r.body);
  EXPECT_TRUE(j.is_object() && j.size() == 1 && j["lockOKMQSet"].is_array()) << r.body;
  if (!j.is_object() || !j["lockOKMQSet"].is_array()) return out;
  for (const Json& mq : j["lockOKMQSet"]) {
    EXPECT_EQ(mq["topic"], topic);
    EXPECT_EQ(mq["brokerName"], "broker-a");
    out.insert(mq["queueId"].get<int>());
  }
  return out;
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.Start()) << "brokerd did not start listening";
    Connect(c_);
  }
  void Connect(Client& c) { ASSERT_TRUE(c.Connect("127.0.0.1", broker_.port(), kIo).ok()); }
  Json Table(int32_t code) {
    auto r = c_.Call(Request(code, {}), kIo);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return Json();
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    return ParseJson(r->body);
  }
  Json Topics() { return Table(21); }
  Json Groups() { return Table(201); }
  RemotingCommand Call(Client& c, const RemotingCommand& request) {
    auto r = c.Call(request, kIo);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : RemotingCommand{};
  }
  RemotingCommand Call(const RemotingCommand& request) { return Call(c_, request); }
  void Restart(int sig) {
    c_.Close();
    int status = broker_.Signal(sig);
    if (sig == SIGTERM) {
      ASSERT_TRUE(WIFEXITED(status)) << status;
      EXPECT_EQ(WEXITSTATUS(status), 0);
    }
    ASSERT_TRUE(broker_.Start()) << "brokerd did not restart";
    Connect(c_);
  }

  Brokerd broker_;
  Client c_;
};

TEST_F(AdminTest, CreatedTopicIsListedPersistedAndSurvivesRestarts) {
  Json before = Topics();
  ASSERT_TRUE(before["topicConfigTable"].is_object());
  EXPECT_FALSE(before["topicConfigTable"].contains("AdminTopic"));
  // The broker's own topics: TBW102 (defaultTopicQueueNums 8, PERM_INHERIT) and the schedule
  // topic (one queue per delay level).
  EXPECT_EQ(before["topicConfigTable"]["TBW102"], TopicJson("TBW102", 8, 8, 7));
  EXPECT_EQ(before["topicConfigTable"]["SCHEDULE_TOPIC_XXXX"]["readQueueNums"], 18);
  const int64_t counter = before["dataVersion"]["counter"].get<int64_t>();

  RemotingCommand created = Call(CreateTopic("AdminTopic", 3, 5));
  EXPECT_EQ(created.code, rc::kSuccess) << created.remark.value_or("");
  // As 4.9.7 answers it (wire capture ons-send-consume): the remark its answer was created
  // with, and no extFields.
  EXPECT_EQ(created.remark, std::optional<std::string>("not set any response code"));
  EXPECT_TRUE(created.ext_fields.empty());
  EXPECT_FALSE(created.emit_empty_ext_fields);
  EXPECT_TRUE(created.body.empty());
  Json after = Topics();
  // TopicConfigSerializeWrapper, as Java's GET_ALL_TOPIC_CONFIG answers.
  EXPECT_EQ(after.size(), 2u) << after.dump();
  EXPECT_TRUE(after["dataVersion"].is_object());
  EXPECT_EQ(after["topicConfigTable"]["AdminTopic"], TopicJson("AdminTopic", 3, 5, 6));
  EXPECT_GT(after["dataVersion"]["counter"].get<int64_t>(), counter);
  EXPECT_GT(after["dataVersion"]["timestamp"].get<int64_t>(), 1700000000000);

  // Sends use the created queues: queue 4 exists (5 write queues), queue 5 does not.
  RemotingCommand ok = Call(SendV2("AdminTopic", 4, "x", "t"));
  EXPECT_EQ(ok.code, rc::kSuccess) << ok.remark.value_or("");
  RemotingCommand beyond = Call(SendV2("AdminTopic", 5, "x", "t"));
  EXPECT_EQ(beyond.code, rc::kSystemError);

  // Updating replaces the config: read-only now, so sends are refused.
  RemotingCommand updated = Call(CreateTopic("AdminTopic", 4, 4, 4));
  EXPECT_EQ(updated.code, rc::kSuccess) << updated.remark.value_or("");
  EXPECT_EQ(Topics()["topicConfigTable"]["AdminTopic"], TopicJson("AdminTopic", 4, 4, 4));
  RemotingCommand refused = Call(SendV2("AdminTopic", 0, "x", "t"));
  EXPECT_EQ(refused.code, rc::kNoPermission);
  EXPECT_TRUE(refused.remark.has_value());

  // Persisted in RocketMQ's config/topics.json before the answer.
  Json file = ParseJson(ReadFile(broker_.store() / "config" / "topics.json"));
  EXPECT_EQ(file["topicConfigTable"]["AdminTopic"], TopicJson("AdminTopic", 4, 4, 4));

  Restart(SIGTERM);
  EXPECT_EQ(Topics()["topicConfigTable"]["AdminTopic"], TopicJson("AdminTopic", 4, 4, 4));
  // A topic created just before a SIGKILL survives it (written before it was acknowledged).
  RemotingCommand second = Call(CreateTopic("AdminTopic2", 2, 2));
  ASSERT_EQ(second.code, rc::kSuccess) << second.remark.value_or("");
  Restart(SIGKILL);
  Json table = Topics()["topicConfigTable"];
  EXPECT_EQ(table["AdminTopic"], TopicJson("AdminTopic", 4, 4, 4));
  EXPECT_EQ(table["AdminTopic2"], TopicJson("AdminTopic2", 2, 2, 6));
  EXPECT_EQ(table["TBW102"], TopicJson("TBW102", 8, 8, 7));
  RemotingCommand sent = Call(SendV2("AdminTopic2", 1, "after kill", "t"));
  EXPECT_EQ(sent.code, rc::kSuccess) << sent.remark.value_or("");
}

TEST_F(AdminTest, CreateTopicRejectsBadNamesQueueCountsAndSystemTopics) {
  const Json before = Topics();
  struct Case {
    std::string what;
    RemotingCommand request;
    std::string remark_has;  // what the remark must mention
  };
  std::vector<Case> cases = {
      {"characters outside [%|a-zA-Z0-9_-]", CreateTopic("bad topic!", 4, 4), "character"},
      {"slash", CreateTopic("a/b", 4, 4), "character"},
      {"empty name", CreateTopic("", 4, 4), "empty"},
      {"128 characters", CreateTopic(std::string(128, 'a'), 4, 4), "127"},
      {"readQueueNums 0", CreateTopic("ZeroRead", 0, 4), "readQueueNums"},
      {"writeQueueNums 0", CreateTopic("ZeroWrite", 4, 0), "writeQueueNums"},
      {"readQueueNums -1", CreateTopic("NegativeRead", -1, 4), "readQueueNums"},
      {"writeQueueNums 1025", CreateTopic("HugeWrite", 4, 1025), "writeQueueNums"},
      {"perm with unknown bits", CreateTopic("BadPerm", 4, 4, 16), "perm"},
      {"topicFilterType", CreateTopic("BadFilter", 4, 4, 6, "BOGUS"), "topicFilterType"},
      {"schedule topic", CreateTopic("SCHEDULE_TOPIC_XXXX", 4, 4), "conflict with system"},
      {"auto-create key topic", CreateTopic("TBW102", 4, 4), "conflict with system"},
      {"transaction half topic", CreateTopic("RMQ_SYS_TRANS_HALF_TOPIC", 4, 4),
       "conflict with system"},
      {"transaction op topic", CreateTopic("RMQ_SYS_TRANS_OP_HALF_TOPIC", 4, 4),
       "conflict with system"},
      {"the cluster name", CreateTopic("DefaultCluster", 4, 4), "conflict with system"},
  };
  RemotingCommand missing = CreateTopic("MissingRead", 4, 4);
  missing.ext_fields.Erase("readQueueNums");
  cases.push_back({"readQueueNums missing", missing, "readQueueNums"});
  RemotingCommand malformed = CreateTopic("MalformedWrite", 4, 4);
  malformed.SetExtField("writeQueueNums", "x");
  cases.push_back({"writeQueueNums not a number", malformed, "writeQueueNums"});
  for (const Case& c : cases) {
    RemotingCommand r = Call(c.request);
    EXPECT_EQ(r.code, rc::kSystemError) << c.what;
    ASSERT_TRUE(r.remark.has_value()) << c.what;
    EXPECT_NE(r.remark->find(c.remark_has), std::string::npos) << c.what << ": " << *r.remark;
  }
  // Nothing changed: same table, same data version, TBW102 untouched.
  EXPECT_EQ(Topics(), before);
  // Still serving.
  EXPECT_EQ(Call(CreateTopic("GoodTopic", 1, 1)).code, rc::kSuccess);
}

// Polls the name server's route of topic until pred(route) holds (bounded); returns the last
// route seen (null when none).
template <typename Pred>
Json WaitForRoute(int namesrv_port, const std::string& topic, Pred pred) {
  Json last;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    Client c;
    if (c.Connect("127.0.0.1", namesrv_port, kIo).ok()) {
      auto r = c.Call(Request(105, {{"topic", topic}}), kIo);
      if (r.ok() && r->code == rc::kSuccess) {
        last = Json::parse(r->body, nullptr, false);
        if (!last.is_discarded() && pred(last)) return last;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return last;
}

TEST(AdminRegistrationTest, CreatedTopicIsRoutedByTheNameServerWithinSeconds) {
  Namesrvd namesrv;
  ASSERT_TRUE(namesrv.Start()) << "namesrvd did not start";
  Brokerd broker;
  broker.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(namesrv.port()) + "\n");
  ASSERT_TRUE(broker.Start());
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", broker.port(), kIo).ok());
  auto created = c.Call(CreateTopic("RoutedTopic", 3, 5), kIo);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->code, rc::kSuccess) << created->remark.value_or("");
  auto has_queues = [](int read, int write, int perm) {
    return [=](const Json& route) {
      return route["queueDatas"].is_array() && route["queueDatas"].size() == 1 &&
             route["queueDatas"][0]["readQueueNums"] == read &&
             route["queueDatas"][0]["writeQueueNums"] == write &&
             route["queueDatas"][0]["perm"] == perm;
    };
  };
  Json route = WaitForRoute(namesrv.port(), "RoutedTopic", has_queues(3, 5, 6));
  ASSERT_TRUE(has_queues(3, 5, 6)(route)) << route.dump();
  EXPECT_EQ(route["queueDatas"][0]["brokerName"], "broker-a");
  ASSERT_EQ(route["brokerDatas"].size(), 1u);
  EXPECT_EQ(route["brokerDatas"][0]["brokerAddrs"]["0"],
            "127.0.0.1:" + std::to_string(broker.port()));
  // An update is re-registered too.
  created = c.Call(CreateTopic("RoutedTopic", 2, 2, 4), kIo);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->code, rc::kSuccess);
  route = WaitForRoute(namesrv.port(), "RoutedTopic", has_queues(2, 2, 4));
  EXPECT_TRUE(has_queues(2, 2, 4)(route)) << route.dump();
}

TEST_F(AdminTest, HeartbeatAutoCreatesTheSubscriptionGroup) {
  Json before = Groups();
  ASSERT_TRUE(before["subscriptionGroupTable"].is_object());
  EXPECT_FALSE(before["subscriptionGroupTable"].contains("AdminGroup"));
  // RocketMQ's built-in groups are there from the start.
  EXPECT_TRUE(before["subscriptionGroupTable"].contains("TOOLS_CONSUMER"));
  EXPECT_TRUE(before["dataVersion"].contains("counter"));

  RemotingCommand hb = Call(Heartbeat("10.0.0.1@admin", "AdminGroup", "AdminGroupTopic"));
  ASSERT_EQ(hb.code, rc::kSuccess) << hb.remark.value_or("");
  const Json want = {{"brokerId", 0},
                     {"consumeBroadcastEnable", true},
                     {"consumeEnable", true},
                     {"consumeFromMinEnable", true},
                     {"groupName", "AdminGroup"},
                     {"notifyConsumerIdsChangedEnable", true},
                     {"retryMaxTimes", 16},
                     {"retryQueueNums", 1},
                     {"whichBrokerWhenConsumeSlowly", 1}};
  Json after = Groups();
  // SubscriptionGroupWrapper, as Java's GET_ALL_SUBSCRIPTIONGROUP_CONFIG answers.
  EXPECT_EQ(after.size(), 2u) << after.dump();
  EXPECT_EQ(after["subscriptionGroupTable"]["AdminGroup"], want);
  EXPECT_GT(after["dataVersion"]["counter"].get<int64_t>(),
            before["dataVersion"]["counter"].get<int64_t>());
  // The group's retry topic came with it (1 queue, read + write).
  EXPECT_EQ(Topics()["topicConfigTable"]["%RETRY%AdminGroup"],
            TopicJson("%RETRY%AdminGroup", 1, 1, 6));
  // Persisted in config/subscriptionGroup.json, and kept across a SIGKILL.
  Json file = ParseJson(ReadFile(broker_.store() / "config" / "subscriptionGroup.json"));
  EXPECT_EQ(file["subscriptionGroupTable"]["AdminGroup"], want);
  Restart(SIGKILL);
  EXPECT_EQ(Groups()["subscriptionGroupTable"]["AdminGroup"], want);
}

TEST_F(AdminTest, RuntimeInfoTracksTheCommitLog) {
  auto info = [&]() {
    RemotingCommand r = Call(Request(28, {}));
    EXPECT_EQ(r.code, rc::kSuccess) << r.remark.value_or("");
    Json body = ParseJson(r.body);
    // {"table":{...}} with string values only (KVTable).
    EXPECT_EQ(body.size(), 1u) << r.body;
    EXPECT_TRUE(body["table"].is_object()) << r.body;
    for (const auto& [k, v] : body["table"].items()) EXPECT_TRUE(v.is_string()) << k;
    return body["table"];
  };
  Json before = info();
  EXPECT_EQ(before["brokerVersionDesc"], "V4_9_7");
  EXPECT_EQ(before["brokerVersion"], "407");
  ASSERT_TRUE(before["commitLogMaxOffset"].is_string());
  ASSERT_TRUE(before["msgPutTotalTodayNow"].is_string());
  const int64_t max0 = std::stoll(before["commitLogMaxOffset"].get<std::string>());
  const int64_t puts0 = std::stoll(before["msgPutTotalTodayNow"].get<std::string>());
  for (int i = 0; i < 5; ++i) {
    RemotingCommand r = Call(SendV2("RuntimeTopic", 0, "runtime " + std::to_string(i), "t"));
    ASSERT_EQ(r.code, rc::kSuccess) << r.remark.value_or("");
  }
  // The log grew by exactly the five stored records, which start where it ended.
  RemotingCommand p = Call(Pull("RuntimeTopic", 0, 0, "*", 4, 0));
  for (int i = 0; i < 100 && p.code != rc::kSuccess; ++i) {  // dispatch is asynchronous
    std::this_thread::sleep_for(milliseconds(20));
    p = Call(Pull("RuntimeTopic", 0, 0, "*", 4, 0));
  }
  ASSERT_EQ(p.code, rc::kSuccess);
  std::vector<Record> records = ParseRecords(p.body);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].physical_offset, max0);
  Json after = info();
  EXPECT_EQ(std::stoll(after["commitLogMaxOffset"].get<std::string>()),
            max0 + static_cast<int64_t>(p.body.size()));
  EXPECT_EQ(std::stoll(after["msgPutTotalTodayNow"].get<std::string>()), puts0 + 5);
}

TEST_F(AdminTest, QueueLocksGoToOneClientAtATime) {
  Client a;
  Client b;
  Connect(a);
  Connect(b);
  const std::string g = "LockGroup";
  const std::string t = "LockTopic";
  auto lock = [&](Client& c, const std::string& client, const std::vector<int>& queues,
                  const std::string& group) {
    RemotingCommand r = Call(c, LockRequest(41, client, group, t, queues));
    EXPECT_EQ(r.code, rc::kSuccess) << r.remark.value_or("");
    EXPECT_EQ(r.remark, std::nullopt);
    EXPECT_TRUE(r.ext_fields.empty());
    return r;
  };
  auto unlock = [&](Client& c, const std::string& client, const std::vector<int>& queues) {
    RemotingCommand r = Call(c, LockRequest(42, client, g, t, queues));
    EXPECT_EQ(r.code, rc::kSuccess) << r.remark.value_or("");
    EXPECT_EQ(r.remark, std::nullopt);
    EXPECT_TRUE(r.body.empty());  // UNLOCK_BATCH_MQ answers with no body
  };
  EXPECT_EQ(Locked(lock(a, "A@1", {0, 1}, g), t), (std::set<int>{0, 1}));
  // B gets only the free queue; the body is byte for byte what the Java broker writes.
  EXPECT_EQ(lock(b, "B@1", {1, 2}, g).body,
            R"({"lockOKMQSet":[{"brokerName":"broker-a","queueId":2,"topic":"LockTopic"}]})");
  // Only the holder unlocks: B's unlock of queue 1 changes nothing.
  unlock(b, "B@1", {1});
  EXPECT_EQ(lock(b, "B@1", {1}, g).body, R"({"lockOKMQSet":[]})");
  unlock(a, "A@1", {1});
  EXPECT_EQ(Locked(lock(b, "B@1", {1}, g), t), (std::set<int>{1}));
  // A renews what it still holds; B cannot take it; A cannot take B's.
  EXPECT_EQ(Locked(lock(a, "A@1", {0, 1, 2}, g), t), (std::set<int>{0}));
  EXPECT_EQ(Locked(lock(b, "B@1", {0, 1, 2}, g), t), (std::set<int>{1, 2}));
  // Locks are per consumer group.
  EXPECT_EQ(Locked(lock(b, "B@1", {0}, "OtherLockGroup"), t), (std::set<int>{0}));
  // A malformed body is an error, not a crash.
  RemotingCommand bad = Request(41, {});
  bad.body = "not json";
  RemotingCommand r = Call(a, bad);
  EXPECT_EQ(r.code, rc::kSystemError);
  EXPECT_TRUE(r.remark.has_value());
  bad.code = 42;
  bad.opaque = ++opaque_counter;
  r = Call(a, bad);
  EXPECT_EQ(r.code, rc::kSystemError);
  EXPECT_EQ(Locked(lock(a, "A@1", {0}, g), t), (std::set<int>{0}));
}

TEST_F(AdminTest, GroupChangesNotifyTheOtherConsumers) {
  const std::string g = "NotifyGroup";
  Client a;
  Connect(a);
  std::vector<RemotingCommand> early;
  // A joins: like the 4.9.7 broker (wire captures), the joining connection is told too, before
  // its heartbeat is answered.
  auto hb = CallCollect(a, Heartbeat("A@1", g, "NotifyTopic"), &early);
  ASSERT_TRUE(hb.has_value());
  ASSERT_EQ(hb->code, rc::kSuccess);
  ASSERT_EQ(early.size(), 1u);
  ExpectNotify(early[0], g);
  // A heartbeat that changes nothing notifies nobody (a notification would be queued before
  // the answer on the same connection).
  early.clear();
  hb = CallCollect(a, Heartbeat("A@1", g, "NotifyTopic"), &early);
  ASSERT_TRUE(hb.has_value());
  EXPECT_TRUE(early.empty()) << "notified although the group did not change";

  // B joins on another connection: A is told.
  {
    Client b;
    Connect(b);
    early.clear();
    auto hb_b = CallCollect(b, Heartbeat("B@1", g, "NotifyTopic"), &early);
    ASSERT_TRUE(hb_b.has_value());
    ASSERT_EQ(hb_b->code, rc::kSuccess);
    ASSERT_EQ(early.size(), 1u);
    ExpectNotify(early[0], g);
    ExpectNextIsNotify(a, g);
    EXPECT_EQ(Call(a, Request(38, {{"consumerGroup", g}})).body,
              R"({"consumerIdList":["A@1","B@1"]})");
  }  // B's connection closes: A is told again.
  ExpectNextIsNotify(a, g);
  EXPECT_EQ(Call(a, Request(38, {{"consumerGroup", g}})).body, R"({"consumerIdList":["A@1"]})");

  // C joins and unregisters (UNREGISTER_CLIENT): A is told both times.
  Client c;
  Connect(c);
  RemotingCommand joined = Call(c, Heartbeat("C@1", g, "NotifyTopic"));
  ASSERT_EQ(joined.code, rc::kSuccess);
  ExpectNextIsNotify(a, g);
  RemotingCommand left = Call(c, Request(35, {{"clientID", "C@1"}, {"consumerGroup", g}}));
  ASSERT_EQ(left.code, rc::kSuccess);
  ExpectNextIsNotify(a, g);

  // A member of another group joining is none of A's business: nothing arrives on A before the
  // answer to A's next request.
  Client d;
  Connect(d);
  ASSERT_EQ(Call(d, Heartbeat("D@1", "OtherNotifyGroup", "NotifyTopic")).code, rc::kSuccess);
  early.clear();
  auto list = CallCollect(a, Request(38, {{"consumerGroup", g}}), &early);
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->body, R"({"consumerIdList":["A@1"]})");
  EXPECT_TRUE(early.empty()) << "A was notified of another group's change";
}

TEST(AdminBusyTest, FullPutQueueAnswersSystemBusyAndStoresExactlyTheAcceptedSends) {
  // One put in flight at most; SYNC_FLUSH (harness) keeps each put in flight for an fsync,
  // while the net loop decodes the next pipelined frames within microseconds.
  Brokerd broker;
  broker.set_extra_config("sendThreadPoolQueueCapacity=1\n");
  ASSERT_TRUE(broker.Start());
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", broker.port(), kIo).ok());
  auto created = c.Call(CreateTopic("BusyTopic", 1, 1), kIo);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->code, rc::kSuccess);

  constexpr int kSends = 200;
  std::string burst;
  std::map<int32_t, int> index_of;  // opaque -> send index
  for (int i = 0; i < kSends; ++i) {
    RemotingCommand send = SendV2("BusyTopic", 0, "busy " + std::to_string(i), "t");
    index_of[send.opaque] = i;
    auto frame = brokerd::remoting::EncodeFrame(send);
    ASSERT_TRUE(frame.ok());
    burst += *frame;
  }
  ASSERT_TRUE(c.SendRaw(burst, kIo).ok());  // one write, no waiting for answers
  std::map<int, int32_t> code_of;           // send index -> answer code
  while (code_of.size() < static_cast<size_t>(kSends)) {
    auto r = c.Read(kIo);
    ASSERT_TRUE(r.ok()) << r.status() << " after " << code_of.size() << " answers";
    auto it = index_of.find(r->opaque);
    ASSERT_NE(it, index_of.end()) << "answer with an unknown opaque";
    ASSERT_TRUE(code_of.emplace(it->second, r->code).second) << "two answers to one send";
    if (r->code == rc::kSystemBusy) {
      EXPECT_TRUE(r->remark.has_value() && !r->remark->empty());
    } else {
      ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    }
  }
  std::vector<std::string> accepted;
  for (const auto& [i, code] : code_of) {
    if (code == rc::kSuccess) accepted.push_back("busy " + std::to_string(i));
  }
  EXPECT_GE(accepted.size(), 1u);
  EXPECT_LT(accepted.size(), static_cast<size_t>(kSends)) << "no SYSTEM_BUSY at all";
  // Exactly the accepted sends are stored, in send order.
  std::vector<std::string> stored;
  for (const Record& rec :
       PullUntil(c, "BusyTopic", 0, 0, accepted.size(), std::chrono::seconds(10))) {
    stored.push_back(rec.body);
  }
  EXPECT_EQ(stored, accepted);
  auto max = c.Call(Request(30, {{"topic", "BusyTopic"}, {"queueId", "0"}}), kIo);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max->FindExtField("offset"), std::to_string(accepted.size()));
  // The broker serves normally afterwards.
  auto after = c.Call(SendV2("BusyTopic", 0, "after", "t"), kIo);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->code, rc::kSuccess);
}

}  // namespace
