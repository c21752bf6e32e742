// Tests of the brokerd program: starts the real binary on 127.0.0.1 with a temporary store and a
// free port, sends SEND_MESSAGE_V2 requests (built with the codec, and the recorded frames of
// java-send-sync.jsonl when ../shared is present), pulls them back and decodes the stored records
// (layout parsed here), round-trips consumer offsets and restarts with SIGTERM and SIGKILL; sends
// batches (built, and the recorded frames of java-send-batch.jsonl) and looks messages up by
// offset, key and time.
// Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "net/client.h"
#include "nlohmann/json.hpp"
#include "remoting/codes.h"
#include "remoting/frame_codec.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)

class BrokerdTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(broker_.Start()) << "brokerd did not start listening"; }
  void Connect(Client& c) { ASSERT_TRUE(c.Connect("127.0.0.1", broker_.port(), kIo).ok()); }
  Brokerd broker_;
};

TEST_F(BrokerdTest, SendThenPullRoundTrip) {
  Client c;
  Connect(c);
  for (int i = 0; i < 5; ++i) {
    auto r = c.Call(SendV2("TopicA", 1, "hello " + std::to_string(i), i % 2 ? "odd" : "even"), kIo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    EXPECT_TRUE(r->IsResponse());
    ASSERT_NE(r->FindExtField("msgId"), nullptr);
    EXPECT_EQ(r->FindExtField("msgId")->size(), 32u);
    // offsetMsgId = store IP (4 bytes) + store port (4 bytes) + physical offset (8 bytes).
    EXPECT_EQ(
        r->FindExtField("msgId")->substr(0, 16), "7F000001" + [&] {
          char hex[16];
          std::snprintf(hex, sizeof(hex), "%08X", broker_.port());
          return std::string(hex);
        }());
    EXPECT_EQ(*r->FindExtField("queueId"), "1");
    EXPECT_EQ(*r->FindExtField("queueOffset"), std::to_string(i));
    EXPECT_EQ(*r->FindExtField("MSG_REGION"), "DefaultRegion");
    EXPECT_EQ(*r->FindExtField("TRACE_ON"), "true");
  }
  auto p = c.Call(Pull("TopicA", 1, 0), kIo);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->code, rc::kSuccess);
  EXPECT_EQ(*p->FindExtField("nextBeginOffset"), "5");
  EXPECT_EQ(*p->FindExtField("maxOffset"), "5");
  EXPECT_EQ(*p->FindExtField("minOffset"), "0");
  EXPECT_EQ(*p->FindExtField("suggestWhichBrokerId"), "0");
  std::vector<Record> records = ParseRecords(p->body);
  ASSERT_EQ(records.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(records[i].body, "hello " + std::to_string(i));
    EXPECT_EQ(records[i].topic, "TopicA");
    EXPECT_EQ(records[i].queue_id, 1);
    EXPECT_EQ(records[i].queue_offset, i);
    EXPECT_EQ(records[i].properties.find("WAIT"), std::string::npos);
    EXPECT_NE(records[i].properties.find("CLUSTER\x01"), std::string::npos);
  }
  // Tag filter.
  auto odd = c.Call(Pull("TopicA", 1, 0, "odd"), kIo);
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->code, rc::kSuccess);
  EXPECT_EQ(ParseRecords(odd->body).size(), 2u);
  // Caught up, beyond, empty queue.
  auto none = c.Call(Pull("TopicA", 1, 5), kIo);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->code, rc::kPullNotFound);
  EXPECT_EQ(*none->FindExtField("nextBeginOffset"), "5");
  auto moved = c.Call(Pull("TopicA", 1, 9), kIo);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->code, rc::kPullOffsetMoved);
  EXPECT_EQ(*moved->FindExtField("nextBeginOffset"), "5");
  auto empty = c.Call(Pull("TopicA", 2, 0), kIo);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->code, rc::kPullNotFound);
  // Max / min offsets.
  auto max = c.Call(Request(30, {{"topic", "TopicA"}, {"queueId", "1"}}), kIo);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max->FindExtField("offset"), "5");
  auto min = c.Call(Request(31, {{"topic", "TopicA"}, {"queueId", "1"}}), kIo);
  ASSERT_TRUE(min.ok());
  EXPECT_EQ(*min->FindExtField("offset"), "0");
}

TEST_F(BrokerdTest, LongPollingAnswersOnArrivalOrTimeout) {
  Client consumer;
  Connect(consumer);
  Client producer;
  Connect(producer);
  // Nothing arrives: held for about suspendTimeoutMillis, then PULL_NOT_FOUND.
  auto start = std::chrono::steady_clock::now();
  auto idle = consumer.Call(Pull("TopicL", 0, 0, "*", 0x4 | 0x2, 600), kIo);
  ASSERT_TRUE(idle.ok()) << idle.status();
  EXPECT_EQ(idle->code, rc::kPullNotFound);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(500));
  EXPECT_EQ(*idle->FindExtField("nextBeginOffset"), "0");
  // A message arrives while the pull is held: answered with it, long before the timeout.
  RemotingCommand held = Pull("TopicL", 0, 0, "*", 0x4 | 0x2, 20000);
  ASSERT_TRUE(consumer.Send(held).ok());
  std::this_thread::sleep_for(milliseconds(200));
  start = std::chrono::steady_clock::now();
  auto sent = producer.Call(SendV2("TopicL", 0, "wake", "t"), kIo);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->code, rc::kSuccess);
  auto got = consumer.Read(kIo);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->opaque, held.opaque);
  EXPECT_EQ(got->code, rc::kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
  std::vector<Record> records = ParseRecords(got->body);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].body, "wake");
}

TEST_F(BrokerdTest, BadSendsAndUnknownCodes) {
  Client c;
  Connect(c);
  auto bad_topic = c.Call(SendV2("bad topic!", 0, "x", "t"), kIo);
  ASSERT_TRUE(bad_topic.ok());
  EXPECT_EQ(bad_topic->code, rc::kSystemError);
  EXPECT_TRUE(bad_topic->remark.has_value());
  auto bad_queue = c.Call(SendV2("TopicB", 99, "x", "t"), kIo);
  ASSERT_TRUE(bad_queue.ok());
  EXPECT_EQ(bad_queue->code, rc::kSystemError);
  RemotingCommand missing = SendV2("TopicB", 0, "x", "t");
  missing.ext_fields.Erase("g");
  auto m = c.Call(missing, kIo);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->code, rc::kSystemError);
  RemotingCommand big = SendV2("TopicB", 0, std::string(4194305, 'x'), "t");
  auto b = c.Call(big, kIo);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->code, rc::kMessageIllegal);
  auto forbidden = c.Call(SendV2("SCHEDULE_TOPIC_XXXX", 0, "x", "t"), kIo);
  ASSERT_TRUE(forbidden.ok());
  EXPECT_EQ(forbidden->code, rc::kNoPermission);
  RemotingCommand no_default = SendV2("TopicC", 0, "x", "t");
  no_default.SetExtField("c", "NoSuchDefault");
  auto nd = c.Call(no_default, kIo);
  ASSERT_TRUE(nd.ok());
  EXPECT_EQ(nd->code, rc::kTopicNotExist);
  auto unknown = c.Call(Request(12345, {}), kIo);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->code, rc::kRequestCodeNotSupported);
  // Still serving after all of that.
  auto ok = c.Call(SendV2("TopicB", 0, "x", "t"), kIo);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, rc::kSuccess);
}

TEST_F(BrokerdTest, HeartbeatConsumerListAndOffsets) {
  Client c;
  Connect(c);
  RemotingCommand hb = Request(34, {});
  hb.body =
      R"({"clientID":"10.0.0.1@x","consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY",)"
      R"("messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":)"
      R"([{"topic":"TopicA","subString":"*"}]}],"producerDataSet":[]})";
  auto h = c.Call(hb, kIo);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->code, rc::kSuccess);
  auto list = c.Call(Request(38, {{"consumerGroup", "cg"}}), kIo);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->code, rc::kSuccess);
  EXPECT_EQ(list->body, R"({"consumerIdList":["10.0.0.1@x"]})");
  auto none = c.Call(Request(38, {{"consumerGroup", "other"}}), kIo);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->code, rc::kSystemError);
  // Offsets: a young empty queue answers 0; commit then query.
  auto q0 =
      c.Call(Request(14, {{"consumerGroup", "cg"}, {"topic", "TopicA"}, {"queueId", "3"}}), kIo);
  ASSERT_TRUE(q0.ok());
  EXPECT_EQ(q0->code, rc::kSuccess);
  EXPECT_EQ(*q0->FindExtField("offset"), "0");
  auto u = c.Call(
      Request(
          15,
          {{"consumerGroup", "cg"}, {"topic", "TopicA"}, {"queueId", "3"}, {"commitOffset", "42"}}),
      kIo);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->code, rc::kSuccess);
  auto q1 =
      c.Call(Request(14, {{"consumerGroup", "cg"}, {"topic", "TopicA"}, {"queueId", "3"}}), kIo);
  ASSERT_TRUE(q1.ok());
  EXPECT_EQ(*q1->FindExtField("offset"), "42");
  auto un = c.Call(Request(35, {{"clientID", "10.0.0.1@x"}, {"consumerGroup", "cg"}}), kIo);
  ASSERT_TRUE(un.ok());
  EXPECT_EQ(un->code, rc::kSuccess);
  auto gone = c.Call(Request(38, {{"consumerGroup", "cg"}}), kIo);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->code, rc::kSystemError);
}

TEST_F(BrokerdTest, SigtermRestartKeepsMessagesAndOffsets) {
  {
    Client c;
    Connect(c);
    for (int i = 0; i < 3; ++i) {
      auto r = c.Call(SendV2("TopicR", 0, "m" + std::to_string(i), "t"), kIo);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->code, rc::kSuccess);
    }
    auto u = c.Call(Request(15, {{"consumerGroup", "cg"},
                                 {"topic", "TopicR"},
                                 {"queueId", "0"},
                                 {"commitOffset", "2"}}),
                    kIo);
    ASSERT_TRUE(u.ok());
  }
  int status = broker_.Signal(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::exists(broker_.store() / "abort"));
  EXPECT_TRUE(std::filesystem::exists(broker_.store() / "config" / "consumerOffset.json"));
  ASSERT_TRUE(broker_.Start());
  Client c;
  Connect(c);
  auto q =
      c.Call(Request(14, {{"consumerGroup", "cg"}, {"topic", "TopicR"}, {"queueId", "0"}}), kIo);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->FindExtField("offset"), "2");
  auto p = c.Call(Pull("TopicR", 0, 0), kIo);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->code, rc::kSuccess);
  EXPECT_EQ(ParseRecords(p->body).size(), 3u);
  auto r = c.Call(SendV2("TopicR", 0, "after", "t"), kIo);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->FindExtField("queueOffset"), "3");
}

TEST_F(BrokerdTest, SigkillKeepsSyncFlushedMessagesAndPersistedOffsets) {
  {
    Client c;
    Connect(c);
    for (int i = 0; i < 3; ++i) {
      auto r = c.Call(SendV2("TopicK", 0, "k" + std::to_string(i), "t"), kIo);
      ASSERT_TRUE(r.ok());
      ASSERT_EQ(r->code, rc::kSuccess);
    }
    auto u = c.Call(Request(15, {{"consumerGroup", "cg"},
                                 {"topic", "TopicK"},
                                 {"queueId", "0"},
                                 {"commitOffset", "1"}}),
                    kIo);
    ASSERT_TRUE(u.ok());
  }
  // Offsets are persisted every 5 s: wait for one pass (bounded) before the kill.
  auto path = broker_.store() / "config" / "consumerOffset.json";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  bool persisted = false;
  while (!persisted && std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    persisted = text.find("TopicK@cg") != std::string::npos;
    if (!persisted) std::this_thread::sleep_for(milliseconds(200));
  }
  ASSERT_TRUE(persisted);
  broker_.Signal(SIGKILL);
  ASSERT_TRUE(broker_.Start());
  Client c;
  Connect(c);
  auto q =
      c.Call(Request(14, {{"consumerGroup", "cg"}, {"topic", "TopicK"}, {"queueId", "0"}}), kIo);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->FindExtField("offset"), "1");
  auto p = c.Call(Pull("TopicK", 0, 0), kIo);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->code, rc::kSuccess);
  std::vector<Record> records = ParseRecords(p->body);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].body, "k2");
}

// Polls the name server's route of topic until its code is `want` (bounded); returns the last
// response.
RemotingCommand WaitForRoute(int namesrv_port, const std::string& topic, int32_t want) {
  RemotingCommand last;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    Client c;
    if (c.Connect("127.0.0.1", namesrv_port, kIo).ok()) {
      RemotingCommand q;
      q.code = 105;
      q.opaque = 1;
      q.SetExtField("topic", topic);
      auto r = c.Call(q, kIo);
      if (r.ok()) {
        last = *r;
        if (r->code == want) return last;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return last;
}

TEST(BrokerdRegistrationTest, RegistersTopicsWithNameServer) {
  Namesrvd namesrv;
  ASSERT_TRUE(namesrv.Start()) << "namesrvd did not start";
  Brokerd broker;
  broker.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(namesrv.port()) + "\n");
  ASSERT_TRUE(broker.Start());
  std::string addr = "127.0.0.1:" + std::to_string(broker.port());
  RemotingCommand tbw = WaitForRoute(namesrv.port(), "TBW102", rc::kSuccess);
  ASSERT_EQ(tbw.code, rc::kSuccess);
  EXPECT_NE(tbw.body.find(addr), std::string::npos) << tbw.body;
  EXPECT_NE(tbw.body.find("\"perm\":7"), std::string::npos) << tbw.body;
  // A topic created by a send is registered at once (not only at the next 30 s period).
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", broker.port(), kIo).ok());
  auto sent = c.Call(SendV2("TopicReg", 0, "x", "t"), kIo);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->code, rc::kSuccess);
  RemotingCommand route = WaitForRoute(namesrv.port(), "TopicReg", rc::kSuccess);
  ASSERT_EQ(route.code, rc::kSuccess);
  EXPECT_NE(route.body.find("\"writeQueueNums\":4"), std::string::npos) << route.body;
  EXPECT_NE(route.body.find("\"perm\":6"), std::string::npos) << route.body;
  // SIGTERM unregisters.
  c.Close();
  int status = broker.Signal(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(WaitForRoute(namesrv.port(), "TopicReg", rc::kTopicNotExist).code, rc::kTopicNotExist);
}

TEST(BrokerdRegistrationTest, RetriesSoonWhenTheNameServerStartsLater) {
  // The broker starts first; its first registration fails. The name server, started a second
  // later, must get the registration within a few seconds, not a 30 s period later.
  const int namesrv_port = brokerd::net::FreeLoopbackPort();
  Brokerd broker;
  broker.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(namesrv_port) + "\n");
  ASSERT_TRUE(broker.Start());
  std::this_thread::sleep_for(milliseconds(1000));
  Namesrvd namesrv;
  ASSERT_TRUE(namesrv.Start(namesrv_port)) << "namesrvd did not start";
  auto started = std::chrono::steady_clock::now();
  RemotingCommand tbw = WaitForRoute(namesrv.port(), "TBW102", rc::kSuccess);
  ASSERT_EQ(tbw.code, rc::kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
}

TEST_F(BrokerdTest, ReplaysJavaSendSyncFrames) {
  std::string path = WireDir() + "/java-send-sync.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "wire capture not found: " << path;
  std::ifstream in(path);
  std::string line;
  Client c;
  Connect(c);
  int sent = 0;
  int oneway = 0;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j["dir"] != "c2s" || j["peer"] != "broker" || j["code"] != 310)
      continue;
    std::string hex = j["hex"].get<std::string>();
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    auto decoded = brokerd::remoting::DecodeFrame(bytes);
    ASSERT_TRUE(decoded.ok());
    const RemotingCommand& req = std::get<brokerd::remoting::DecodedFrame>(*decoded).command;
    ASSERT_TRUE(c.SendRaw(bytes).ok());
    if (req.IsOneway()) {  // stored, not answered
      ++oneway;
      continue;
    }
    auto r = c.Read(kIo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->opaque, req.opaque);
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    std::vector<std::string> keys;
    for (const auto& [k, v] : r->ext_fields) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"queueId", "TRACE_ON", "MSG_REGION", "msgId",
                                              "queueOffset"}));
    EXPECT_EQ(*r->FindExtField("queueId"), *req.FindExtField("e"));
    ++sent;
  }
  ASSERT_GT(sent, 0);
  // Every replayed message (oneway ones included) is stored: sum the queues' max offsets (the
  // oneway put and the dispatch to the ConsumeQueues complete asynchronously: retry, bounded).
  int64_t stored = 0;
  for (int i = 0; i < 200 && stored != sent + oneway; ++i) {
    if (i > 0) std::this_thread::sleep_for(milliseconds(20));
    stored = 0;
    for (int q = 0; q < 4; ++q) {
      auto max = c.Call(Request(30, {{"topic", "WireTopic"}, {"queueId", std::to_string(q)}}), kIo);
      ASSERT_TRUE(max.ok());
      stored += std::stoll(*max->FindExtField("offset"));
    }
  }
  EXPECT_EQ(stored, sent + oneway);
  // The replayed messages come back with their bodies.
  auto p = c.Call(Pull("WireTopic", 2, 0), kIo);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->code, rc::kSuccess);
  std::vector<Record> records = ParseRecords(p->body);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].topic, "WireTopic");
  EXPECT_EQ(records[0].body.rfind("hello ", 0), 0u);
}

// A batch body (remoting spec 5.6): TOTALSIZE MAGIC BODYCRC FLAG BODYLEN BODY PROPLEN PROPS.
std::string BatchBody(const std::vector<std::pair<std::string, std::string>>& msgs) {
  auto be = [](std::string& out, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  std::string out;
  for (const auto& [body, props] : msgs) {
    be(out, static_cast<uint32_t>(22 + body.size() + props.size()), 4);
    be(out, 0, 4);
    be(out, 0, 4);
    be(out, 7, 4);  // flag
    be(out, static_cast<uint32_t>(body.size()), 4);
    out += body;
    be(out, static_cast<uint32_t>(props.size()), 2);
    out += props;
  }
  return out;
}

RemotingCommand SendBatch(int32_t code, const std::string& topic, int queue_id,
                          const std::string& body, int sys_flag = 0) {
  RemotingCommand cmd = SendV2(topic, queue_id, "", "unused");
  cmd.code = code;
  cmd.SetExtField("f", std::to_string(sys_flag));
  cmd.SetExtField("i", std::string("WAIT\x01true"));
  cmd.SetExtField("m", "true");
  cmd.body = body;
  return cmd;
}

std::vector<std::string> SplitIds(const std::string& ids) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t comma = ids.find(',', pos);
    out.push_back(ids.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// The physical offset inside a 32-character offsetMsgId.
int64_t IdOffset(const std::string& id) {
  return static_cast<int64_t>(std::stoull(id.substr(id.size() - 16), nullptr, 16));
}

// Pulls (topic, queue) from offset 0 until `want` records came back (dispatch to the
// ConsumeQueue is asynchronous); bounded.
std::vector<Record> PullAll(Client& c, const std::string& topic, int queue_id, size_t want) {
  std::vector<Record> records;
  for (int i = 0; i < 200; ++i) {
    auto p = c.Call(Pull(topic, queue_id, 0, "*", 4, 0), kIo);
    EXPECT_TRUE(p.ok());
    if (!p.ok()) break;
    if (p->code == rc::kSuccess) records = ParseRecords(p->body);
    if (records.size() >= want) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return records;
}

TEST_F(BrokerdTest, SendBatchBuiltAndRejected) {
  Client c;
  Connect(c);
  std::vector<std::pair<std::string, std::string>> msgs;
  for (int i = 0; i < 3; ++i) {
    msgs.push_back(
        {"b" + std::to_string(i), std::string("KEYS\x01k") + std::to_string(i) + "\x02TAGS\x01T"});
  }
  auto r = c.Call(SendBatch(320, "BatchTopic", 1, BatchBody(msgs)), kIo);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  EXPECT_EQ(*r->FindExtField("queueId"), "1");
  EXPECT_EQ(*r->FindExtField("queueOffset"), "0");
  std::vector<std::string> ids = SplitIds(*r->FindExtField("msgId"));
  ASSERT_EQ(ids.size(), 3u);
  // SEND_MESSAGE_V2 with m=true is a batch too.
  auto r2 = c.Call(SendBatch(310, "BatchTopic", 1, BatchBody({{"b3", ""}})), kIo);
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_EQ(r2->code, rc::kSuccess) << r2->remark.value_or("");
  EXPECT_EQ(*r2->FindExtField("queueOffset"), "3");
  ids.push_back(*r2->FindExtField("msgId"));

  std::vector<Record> records = PullAll(c, "BatchTopic", 1, 4);
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(records[i].body, "b" + std::to_string(i));
    EXPECT_EQ(records[i].queue_offset, i);
    EXPECT_EQ(records[i].physical_offset, IdOffset(ids[i]));
    EXPECT_NE(records[i].properties.find(std::string("CLUSTER\x01")), std::string::npos);
  }
  // The header's properties follow each message's own, as the 4.9.7 broker stores them.
  EXPECT_EQ(records[0].properties, std::string("KEYS\x01k0\x02TAGS\x01T\x02"
                                               "CLUSTER\x01"
                                               "DefaultCluster\x02WAIT\x01true"));
  EXPECT_EQ(records[3].properties, std::string("CLUSTER\x01"
                                               "DefaultCluster\x02WAIT\x01true"));

  // Delayed, transactional and malformed batches are refused; nothing more is stored.
  auto delayed = c.Call(SendBatch(320, "BatchTopic", 1,
                                  BatchBody({{"x", std::string("DELAY\x01"
                                                               "3")}})),
                        kIo);
  ASSERT_TRUE(delayed.ok());
  EXPECT_EQ(delayed->code, rc::kMessageIllegal);
  auto prepared = c.Call(SendBatch(320, "BatchTopic", 1, BatchBody({{"x", ""}}), 4), kIo);
  ASSERT_TRUE(prepared.ok());
  EXPECT_EQ(prepared->code, rc::kMessageIllegal);
  auto tran = c.Call(
      SendBatch(320, "BatchTopic", 1, BatchBody({{"x", std::string("TRAN_MSG\x01true")}})), kIo);
  ASSERT_TRUE(tran.ok());
  EXPECT_EQ(tran->code, rc::kMessageIllegal);
  std::string truncated = BatchBody({{"xyz", ""}});
  truncated.pop_back();
  auto bad = c.Call(SendBatch(320, "BatchTopic", 1, truncated), kIo);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->code, rc::kMessageIllegal);
  auto max = c.Call(Request(30, {{"topic", "BatchTopic"}, {"queueId", "1"}}), kIo);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(*max->FindExtField("offset"), "4");
}

TEST_F(BrokerdTest, ReplaysJavaSendBatchFrames) {
  std::string path = WireDir() + "/java-send-batch.jsonl";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "wire capture not found: " << path;
  std::ifstream in(path);
  std::string line;
  Client c;
  Connect(c);
  int sent = 0;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || j["dir"] != "c2s" || j["peer"] != "broker" || j["code"] != 320)
      continue;
    std::string hex = j["hex"].get<std::string>();
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    auto decoded = brokerd::remoting::DecodeFrame(bytes);
    ASSERT_TRUE(decoded.ok());
    const RemotingCommand& req = std::get<brokerd::remoting::DecodedFrame>(*decoded).command;
    ASSERT_TRUE(c.SendRaw(bytes).ok());
    auto r = c.Read(kIo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->opaque, req.opaque);
    ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    std::vector<std::string> keys;
    for (const auto& [k, v] : r->ext_fields) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{"queueId", "TRACE_ON", "MSG_REGION", "msgId",
                                              "queueOffset"}));
    const std::string qid = *req.FindExtField("e");
    EXPECT_EQ(*r->FindExtField("queueId"), qid);
    EXPECT_EQ(*r->FindExtField("queueOffset"), "0");
    std::vector<std::string> ids = SplitIds(*r->FindExtField("msgId"));
    ASSERT_EQ(ids.size(), 5u);
    std::vector<Record> records = PullAll(c, "WireBatch", std::stoi(qid), 5);
    ASSERT_EQ(records.size(), 5u);
    for (size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(records[i].topic, "WireBatch");
      EXPECT_EQ(records[i].body.rfind("batch ", 0), 0u);
      EXPECT_EQ(records[i].queue_offset, static_cast<int64_t>(i));
      EXPECT_EQ(records[i].physical_offset, IdOffset(ids[i]));
      EXPECT_NE(records[i].properties.find("UNIQ_KEY"), std::string::npos);
      const std::string& props = records[i].properties;
      const std::string tail(
          "\x02TAGS\x01"
          "BatchTag\x02"
          "CLUSTER\x01"
          "DefaultCluster\x02WAIT\x01true");
      EXPECT_TRUE(props.size() > tail.size() &&
                  props.compare(props.size() - tail.size(), tail.size(), tail) == 0)
          << props;
    }
    ++sent;
  }
  EXPECT_EQ(sent, 2);
}

TEST_F(BrokerdTest, LookupsByOffsetKeyAndTime) {
  Client c;
  Connect(c);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    RemotingCommand send = SendV2("LookTopic", 0, "look " + std::to_string(i), "t");
    send.SetExtField("i", std::string("KEYS\x01") + (i < 2 ? "shared" : "other") + "\x02TAGS\x01t");
    auto r = c.Call(send, kIo);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->code, rc::kSuccess);
    ids.push_back(*r->FindExtField("msgId"));
  }
  // VIEW_MESSAGE_BY_ID: the record at the offset inside the id.
  auto v = c.Call(Request(33, {{"offset", std::to_string(IdOffset(ids[1]))}}), kIo);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->code, rc::kSuccess) << v->remark.value_or("");
  std::vector<Record> one = ParseRecords(v->body);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].body, "look 1");
  auto missing = c.Call(Request(33, {{"offset", "99999999"}}), kIo);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->code, rc::kSystemError);

  // QUERY_MESSAGE by key (the index is built asynchronously: retry, bounded).
  auto query = [&](const std::string& key) {
    return c.Call(Request(12, {{"topic", "LookTopic"},
                               {"key", key},
                               {"maxNum", "32"},
                               {"beginTimestamp", "0"},
                               {"endTimestamp", "9223372036854775807"}}),
                  kIo);
  };
  std::vector<Record> found;
  for (int i = 0; i < 100 && found.size() < 2; ++i) {
    auto q = query("shared");
    ASSERT_TRUE(q.ok());
    if (q->code == rc::kSuccess) {
      found = ParseRecords(q->body);
      EXPECT_NE(q->FindExtField("indexLastUpdateTimestamp"), nullptr);
      EXPECT_NE(q->FindExtField("indexLastUpdatePhyoffset"), nullptr);
    }
    if (found.size() < 2) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].body, "look 0");
  EXPECT_EQ(found[1].body, "look 1");
  auto none = query("nosuchkey");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->code, rc::kQueryNotFound);

  // GET_EARLIEST_MSG_STORETIME and SEARCH_OFFSET_BY_TIMESTAMP (once all three are dispatched).
  ASSERT_EQ(PullAll(c, "LookTopic", 0, 3).size(), 3u);
  auto earliest = c.Call(Request(32, {{"topic", "LookTopic"}, {"queueId", "0"}}), kIo);
  ASSERT_TRUE(earliest.ok());
  ASSERT_EQ(earliest->code, rc::kSuccess);
  int64_t ts = std::stoll(*earliest->FindExtField("timestamp"));
  EXPECT_GT(ts, 1700000000000);
  auto search = [&](int64_t t) {
    auto s = c.Call(
        Request(29, {{"topic", "LookTopic"}, {"queueId", "0"}, {"timestamp", std::to_string(t)}}),
        kIo);
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s->code, rc::kSuccess);
    return std::stoll(*s->FindExtField("offset"));
  };
  EXPECT_EQ(search(0), 0);
  EXPECT_EQ(search(ts), 0);
  EXPECT_EQ(search(ts + 3600 * 1000), 3);
  auto bad = c.Call(Request(29, {{"topic", "LookTopic"}}), kIo);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->code, rc::kSystemError);
}

}  // namespace

namespace {

TEST_F(BrokerdTest, DeleteTopicDropsItsConfigButNotSystemTopics) {
  Client c;
  Connect(c);
  auto create = c.Call(
      Request(17,
              {{"topic", "DelT"}, {"readQueueNums", "2"}, {"writeQueueNums", "2"}, {"perm", "6"}}),
      kIo);
  ASSERT_TRUE(create.ok());
  ASSERT_EQ(create->code, rc::kSuccess);
  ASSERT_EQ(c.Call(SendV2("DelT", 0, "kept until retention", "t"), kIo)->code, rc::kSuccess);
  auto all = c.Call(Request(21, {}), kIo);
  ASSERT_TRUE(all.ok());
  EXPECT_NE(all->body.find("\"DelT\""), std::string::npos);
  auto del = c.Call(Request(215, {{"topic", "DelT"}}), kIo);
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->code, rc::kSuccess);
  all = c.Call(Request(21, {}), kIo);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->body.find("\"DelT\""), std::string::npos) << all->body;
  // Deleting again is not an error; system topics are refused.
  EXPECT_EQ(c.Call(Request(215, {{"topic", "DelT"}}), kIo)->code, rc::kSuccess);
  for (const char* sys : {"TBW102", "SCHEDULE_TOPIC_XXXX"}) {
    auto r = c.Call(Request(215, {{"topic", sys}}), kIo);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, rc::kSystemError) << sys;
  }
  // The deletion is durable: gone after a restart too.
  c.Close();
  ASSERT_EQ(broker_.Signal(SIGTERM), 0);
  ASSERT_TRUE(broker_.Start());
  Connect(c);
  all = c.Call(Request(21, {}), kIo);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->body.find("\"DelT\""), std::string::npos);
  EXPECT_NE(all->body.find("\"TBW102\""), std::string::npos);
}

TEST_F(BrokerdTest, TraceTopicTakesSendsButNotConfiguration) {
  // Clients with message tracing send their trace batches to RMQ_SYS_TRACE_TOPIC.
  Client c;
  Connect(c);
  auto sent = c.Call(SendV2("RMQ_SYS_TRACE_TOPIC", 0, "trace", "t"), kIo);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->code, rc::kSuccess) << sent->remark.value_or("");
  auto create = c.Call(Request(17, {{"topic", "RMQ_SYS_TRACE_TOPIC"},
                                    {"readQueueNums", "1"},
                                    {"writeQueueNums", "1"},
                                    {"perm", "6"}}),
                       kIo);
  ASSERT_TRUE(create.ok());
  EXPECT_EQ(create->code, rc::kSystemError);
  auto schedule = c.Call(SendV2("SCHEDULE_TOPIC_XXXX", 0, "x", "t"), kIo);
  ASSERT_TRUE(schedule.ok());
  EXPECT_EQ(schedule->code, rc::kNoPermission);
}

}  // namespace
