// Tests of rsclient::Producer against real namesrvd + brokerd processes on 127.0.0.1: sync,
// async and oneway sends land with their tags, keys and properties (pulled back and compared);
// topics are auto-created through TBW102's route; batches; delay levels arrive later; selector
// sends keep one key on one queue in order; bodies over the threshold are stored compressed;
// a killed broker is failed over, and with none left the send fails clearly within its timeout;
// invalid messages and broker refusals give clear errors; transactional sends commit, roll back
// and are checked back (which needs the producer's heartbeat).
// Every wait is bounded.
// Thread-safety: single-threaded tests (callbacks hand results over under a mutex).
#include "client/producer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../broker/harness.h"
#include "absl/strings/str_split.h"
#include "client/message_codec.h"
#include "gtest/gtest.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)
using rsclient::Message;
using rsclient::MessageQueue;
using rsclient::Producer;
using rsclient::ProducerOptions;
using rsclient::ReceivedMessage;
using rsclient::SendResult;
using std::chrono::seconds;

std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }

// Delay levels of 1 s (level 18 too) and quick transaction checks.
constexpr const char* kBrokerExtra =
    "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s\n"
    "transactionCheckInterval=300\ntransactionTimeOut=500\n";

// Waits (20 s at most) until the name server has a route for topic.
bool WaitRoute(int namesrv_port, const std::string& topic, size_t brokers = 1) {
  rsclient::RemotingClient client;
  rsclient::NameServers ns(&client, {Addr(namesrv_port)}, std::chrono::milliseconds(2000));
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<rsclient::TopicRoute> r = ns.FetchRoute(topic);
    if (r.ok() && r->broker_datas.size() >= brokers) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Pulls from one queue starting at offset (one pull, no suspension).
std::vector<ReceivedMessage> PullOnce(rsclient::RemotingClient& client, const std::string& addr,
                                      const std::string& topic, int queue_id, int64_t offset) {
  absl::StatusOr<RemotingCommand> r =
      client.InvokeSync(addr, Pull(topic, queue_id, offset, "*", 4, 0), seconds(10));
  if (!r.ok() || r->code != rc::kSuccess) return {};
  absl::StatusOr<std::vector<ReceivedMessage>> msgs = rsclient::DecodeMessages(r->body);
  EXPECT_TRUE(msgs.ok()) << msgs.status();
  return msgs.ok() ? *msgs : std::vector<ReceivedMessage>{};
}

// Pulls queues 0..queues-1 of topic until `want` messages arrived or `timeout` passed.
std::vector<ReceivedMessage> PullTopic(const std::string& addr, const std::string& topic,
                                       int queues, size_t want,
                                       std::chrono::milliseconds timeout = seconds(15)) {
  rsclient::RemotingClient client;
  std::vector<ReceivedMessage> got;
  std::vector<int64_t> next(static_cast<size_t>(queues), 0);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    bool any = false;
    for (int q = 0; q < queues; ++q) {
      for (ReceivedMessage& m : PullOnce(client, addr, topic, q, next[static_cast<size_t>(q)])) {
        next[static_cast<size_t>(q)] = m.queue_offset + 1;
        got.push_back(std::move(m));
        any = true;
      }
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return got;
}

const ReceivedMessage* FindByBody(const std::vector<ReceivedMessage>& msgs,
                                  const std::string& body) {
  for (const ReceivedMessage& m : msgs) {
    if (m.body == body) return &m;
  }
  return nullptr;
}

bool IsUpperHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(namesrv_.Start());
    broker_.set_extra_config("namesrvAddr=" + Addr(namesrv_.port()) + "\n" + kBrokerExtra);
    ASSERT_TRUE(broker_.Start());
    ASSERT_TRUE(WaitRoute(namesrv_.port(), "TBW102"));
  }

  ProducerOptions Options(const std::string& group = "ProducerTestGroup") const {
    ProducerOptions o;
    o.group = group;
    o.namesrv_addr = Addr(namesrv_.port());
    return o;
  }
  std::string BrokerAddr() const { return Addr(broker_.port()); }

  Namesrvd namesrv_;
  Brokerd broker_;
};

TEST_F(ProducerTest, SyncAsyncAndOnewaySendsLandWithTheirProperties) {
  Producer producer(Options());
  ASSERT_TRUE(producer.Start().ok());

  Message m;
  m.topic = "PtSendTopic";  // unknown: created through TBW102's route
  m.tags = "TagA";
  m.keys = {"order-1", "user-7"};
  m.body = "sync-body";
  m.properties = {{"color", "blue"}, {"note", "two words"}};
  m.flag = 42;
  absl::StatusOr<SendResult> sync = producer.Send(m);
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_EQ(sync->status, rsclient::SendStatus::kSendOk);
  EXPECT_EQ(sync->msg_id.size(), 32u);
  EXPECT_TRUE(IsUpperHex(sync->msg_id)) << sync->msg_id;
  EXPECT_EQ(sync->offset_msg_id.size(), 32u);
  EXPECT_EQ(sync->queue.topic, "PtSendTopic");
  EXPECT_EQ(sync->queue.broker_name, "broker-a");

  constexpr int kAsync = 40;
  std::mutex mu;
  std::condition_variable cv;
  int async_done = 0;
  std::vector<std::string> async_errors;
  std::set<std::string> msg_ids = {sync->msg_id};
  for (int i = 0; i < kAsync; ++i) {
    Message a = m;
    a.tags = "TagB";
    a.keys = {"async-" + std::to_string(i)};
    a.body = "async-" + std::to_string(i);
    a.properties = {{"i", std::to_string(i)}};
    producer.SendAsync(a, [&](absl::StatusOr<SendResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      ++async_done;
      if (r.ok()) {
        msg_ids.insert(r->msg_id);
      } else {
        async_errors.push_back(r.status().ToString());
      }
      cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(30), [&] { return async_done == kAsync; }));
  }
  EXPECT_TRUE(async_errors.empty()) << async_errors.front();
  EXPECT_EQ(msg_ids.size(), static_cast<size_t>(kAsync + 1)) << "UNIQ_KEYs are unique";

  constexpr int kOneway = 5;
  for (int i = 0; i < kOneway; ++i) {
    Message o = m;
    o.tags = "TagC";
    o.keys.clear();
    o.properties.clear();
    o.body = "oneway-" + std::to_string(i);
    ASSERT_TRUE(producer.SendOneway(o).ok());
  }

  std::vector<ReceivedMessage> got =
      PullTopic(BrokerAddr(), "PtSendTopic", 4, 1 + kAsync + kOneway);
  ASSERT_EQ(got.size(), static_cast<size_t>(1 + kAsync + kOneway));
  std::set<int32_t> queues_used;
  for (const ReceivedMessage& r : got) queues_used.insert(r.queue_id);
  EXPECT_EQ(queues_used.size(), 4u) << "round-robin over the 4 queues";

  const ReceivedMessage* s = FindByBody(got, "sync-body");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->queue_id, sync->queue.queue_id);
  EXPECT_EQ(s->queue_offset, sync->queue_offset);
  EXPECT_EQ(s->flag, 42);
  EXPECT_EQ(s->sys_flag & rsclient::kSysFlagCompressed, 0);
  Message back = rsclient::MessageFromStored(s->topic, s->body, s->flag, s->properties);
  EXPECT_EQ(back.tags, "TagA");
  EXPECT_EQ(back.keys, (std::vector<std::string>{"order-1", "user-7"}));
  EXPECT_EQ(back.properties, m.properties);
  EXPECT_EQ(rsclient::GetProperty(s->properties, "KEYS"), "order-1 user-7");
  EXPECT_EQ(rsclient::GetProperty(s->properties, "UNIQ_KEY"), sync->msg_id);

  for (int i = 0; i < kAsync; ++i) {
    const ReceivedMessage* r = FindByBody(got, "async-" + std::to_string(i));
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(rsclient::GetProperty(r->properties, "TAGS"), "TagB");
    EXPECT_EQ(rsclient::GetProperty(r->properties, "KEYS"), "async-" + std::to_string(i));
    EXPECT_EQ(rsclient::GetProperty(r->properties, "i"), std::to_string(i));
    EXPECT_EQ(msg_ids.count(rsclient::GetProperty(r->properties, "UNIQ_KEY")), 1u);
  }
  for (int i = 0; i < kOneway; ++i) {
    const ReceivedMessage* r = FindByBody(got, "oneway-" + std::to_string(i));
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(rsclient::GetProperty(r->properties, "TAGS"), "TagC");
  }

  // The publish queues came from TBW102 (clamped to 4) and stay 4 with the real route.
  absl::StatusOr<std::vector<MessageQueue>> queues = producer.FetchPublishQueues("PtSendTopic");
  ASSERT_TRUE(queues.ok()) << queues.status();
  EXPECT_EQ(queues->size(), 4u);
  producer.Shutdown();
  EXPECT_FALSE(producer.Send(m).ok()) << "sends after Shutdown fail";
}

TEST_F(ProducerTest, BatchIsStoredWithConsecutiveOffsets) {
  Producer producer(Options());
  ASSERT_TRUE(producer.Start().ok());
  std::vector<Message> batch;
  for (int i = 0; i < 10; ++i) {
    Message m;
    m.topic = "PtBatchTopic";
    m.tags = "Batch";
    m.keys = {"bk-" + std::to_string(i)};
    m.body = "batch-" + std::to_string(i);
    m.properties = {{"seq", std::to_string(i)}};
    m.flag = i;
    batch.push_back(m);
  }
  absl::StatusOr<SendResult> r = producer.SendBatch(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> ids = absl::StrSplit(r->msg_id, ',');
  ASSERT_EQ(ids.size(), 10u);
  std::vector<std::string> offset_ids = absl::StrSplit(r->offset_msg_id, ',');
  EXPECT_EQ(offset_ids.size(), 10u);

  rsclient::RemotingClient client;
  std::vector<ReceivedMessage> got;
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (got.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    for (ReceivedMessage& m : PullOnce(client, BrokerAddr(), "PtBatchTopic", r->queue.queue_id,
                                       r->queue_offset + static_cast<int64_t>(got.size()))) {
      got.push_back(std::move(m));
    }
  }
  ASSERT_EQ(got.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(got[i].queue_offset, r->queue_offset + static_cast<int64_t>(i));
    EXPECT_EQ(got[i].body, "batch-" + std::to_string(i));
    EXPECT_EQ(got[i].flag, static_cast<int32_t>(i));
    EXPECT_EQ(rsclient::GetProperty(got[i].properties, "UNIQ_KEY"), ids[i]);
    EXPECT_EQ(rsclient::GetProperty(got[i].properties, "KEYS"), "bk-" + std::to_string(i));
    EXPECT_EQ(rsclient::GetProperty(got[i].properties, "TAGS"), "Batch");
    EXPECT_EQ(rsclient::GetProperty(got[i].properties, "seq"), std::to_string(i));
  }

  // Batches refuse delay levels, mixed topics and emptiness before anything is sent.
  std::vector<Message> delayed = batch;
  delayed[3].delay_level = 2;
  absl::StatusOr<SendResult> bad = producer.SendBatch(delayed);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();
  EXPECT_NE(bad.status().message().find("delay"), std::string::npos) << bad.status();
  std::vector<Message> mixed = batch;
  mixed[1].topic = "OtherTopic";
  EXPECT_TRUE(absl::IsInvalidArgument(producer.SendBatch(mixed).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(producer.SendBatch({}).status()));
}

TEST_F(ProducerTest, DelayLevelArrivesLater) {
  Producer producer(Options());
  ASSERT_TRUE(producer.Start().ok());
  // Create the topic first so the delayed copy has somewhere to go at once.
  Message first;
  first.topic = "PtDelayTopic";
  first.body = "now";
  absl::StatusOr<SendResult> now =
      producer.Send(first, rsclient::MessageQueue{"PtDelayTopic", "broker-a", 0});
  ASSERT_TRUE(now.ok()) << now.status();

  Message m;
  m.topic = "PtDelayTopic";
  m.body = "later";
  m.tags = "Delayed";
  m.delay_level = 3;  // 1 s with this broker's messageDelayLevel
  const auto sent_at = std::chrono::steady_clock::now();
  absl::StatusOr<SendResult> r =
      producer.Send(m, rsclient::MessageQueue{"PtDelayTopic", "broker-a", 0});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->queue.topic, "") << r->queue.ToString();

  // Not in the topic right away.
  rsclient::RemotingClient client;
  std::vector<ReceivedMessage> early = PullOnce(client, BrokerAddr(), "PtDelayTopic", 0, 1);
  EXPECT_TRUE(early.empty()) << "a delayed message is visible at once";

  std::vector<ReceivedMessage> got;
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    got = PullOnce(client, BrokerAddr(), "PtDelayTopic", 0, 1);
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(got.size(), 1u);
  const auto waited = std::chrono::steady_clock::now() - sent_at;
  EXPECT_GE(waited, std::chrono::milliseconds(800));
  EXPECT_EQ(got[0].body, "later");
  EXPECT_EQ(rsclient::GetProperty(got[0].properties, "TAGS"), "Delayed");
  EXPECT_EQ(rsclient::GetProperty(got[0].properties, "UNIQ_KEY"), r->msg_id);
  EXPECT_GE(got[0].store_timestamp_ms - got[0].born_timestamp_ms, 800);
}

TEST_F(ProducerTest, SelectorKeepsEachKeyOnOneQueueInOrder) {
  Producer producer(Options());
  ASSERT_TRUE(producer.Start().ok());
  const std::vector<std::string> orders = {"order-1001", "order-1002", "order-1003", "order-1004",
                                           "order-1005"};
  const std::vector<std::string> steps = {"create", "pay", "ship"};
  std::map<std::string, std::set<int32_t>> queue_of;
  size_t total = 0;
  for (const std::string& step : steps) {
    for (const std::string& order : orders) {
      Message m;
      m.topic = "PtOrderTopic";
      m.keys = {order};
      m.body = order + ":" + step;
      absl::StatusOr<SendResult> r = producer.Send(m, rsclient::SelectByHash, order);
      ASSERT_TRUE(r.ok()) << r.status();
      queue_of[order].insert(r->queue.queue_id);
      absl::StatusOr<std::vector<MessageQueue>> queues =
          producer.FetchPublishQueues("PtOrderTopic");
      ASSERT_TRUE(queues.ok());
      EXPECT_EQ(r->queue, rsclient::SelectByHash(*queues, m, order));
      ++total;
    }
  }
  for (const auto& [order, qs] : queue_of) EXPECT_EQ(qs.size(), 1u) << order;

  // Per queue, each order's steps come in the order they were sent.
  std::vector<ReceivedMessage> got = PullTopic(BrokerAddr(), "PtOrderTopic", 4, total);
  ASSERT_EQ(got.size(), total);
  std::map<std::string, std::vector<std::string>> seen;
  for (const ReceivedMessage& m : got) {  // PullTopic keeps each queue's order
    const size_t colon = m.body.find(':');
    const std::string order = m.body.substr(0, colon);
    EXPECT_EQ(m.queue_id, *queue_of[order].begin());
    seen[order].push_back(m.body.substr(colon + 1));
  }
  for (const std::string& order : orders) EXPECT_EQ(seen[order], steps) << order;

  // Java's String.hashCode, including non-ASCII text.
  EXPECT_EQ(rsclient::JavaStringHashCode("hello"), 99162322);
  EXPECT_EQ(rsclient::JavaStringHashCode(""), 0);
  EXPECT_EQ(rsclient::JavaStringHashCode("\xC3\xA9"), 233);              // "é"
  EXPECT_EQ(rsclient::JavaStringHashCode("\xF0\x9F\x98\x80"), 1772899);  // U+1F600, a pair
  // A negative hash is folded with abs: "polygenelubricants" hashes to INT_MIN in Java.
  EXPECT_EQ(rsclient::JavaStringHashCode("polygenelubricants"), INT32_MIN);
  std::vector<MessageQueue> three = {{"t", "b", 0}, {"t", "b", 1}, {"t", "b", 2}};
  EXPECT_EQ(rsclient::SelectByHash(three, Message{}, "polygenelubricants").queue_id, 2);
}

TEST_F(ProducerTest, BodiesOverTheThresholdAreStoredCompressed) {
  Producer producer(Options());
  ASSERT_TRUE(producer.Start().ok());
  std::string big;
  for (int i = 0; big.size() < 20000; ++i) big += "line " + std::to_string(i) + " of a body\n";
  Message m;
  m.topic = "PtZipTopic";
  m.body = big;
  absl::StatusOr<SendResult> r = producer.Send(m, MessageQueue{"PtZipTopic", "broker-a", 0});
  ASSERT_TRUE(r.ok()) << r.status();
  Message small = m;
  small.body = std::string(4095, 'x');  // just under compress_over_bytes
  ASSERT_TRUE(producer.Send(small, MessageQueue{"PtZipTopic", "broker-a", 0}).ok());

  std::vector<ReceivedMessage> got = PullTopic(BrokerAddr(), "PtZipTopic", 1, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].sys_flag & rsclient::kSysFlagCompressed, 0);
  EXPECT_LT(got[0].body.size(), big.size() / 4);
  absl::StatusOr<std::string> plain = rsclient::UncompressBody(got[0].body);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, big);
  EXPECT_EQ(got[1].sys_flag & rsclient::kSysFlagCompressed, 0);
  EXPECT_EQ(got[1].body, small.body);
  // The zlib stream header of level 5 (0x78 0x5E), as Java's Deflater(5) writes it.
  ASSERT_GE(got[0].body.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(got[0].body[0]), 0x78);
  EXPECT_EQ(static_cast<uint8_t>(got[0].body[1]), 0x5E);
}

TEST_F(ProducerTest, InvalidMessagesAndBrokerRefusalsGiveClearErrors) {
  ProducerOptions o = Options();
  o.max_message_size = 1024;
  Producer producer(o);
  Message ok;
  ok.topic = "PtBadTopic";
  ok.body = "b";
  absl::StatusOr<SendResult> early = producer.Send(ok);
  EXPECT_TRUE(absl::IsFailedPrecondition(early.status())) << early.status();
  ASSERT_TRUE(producer.Start().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(producer.Start())) << "started twice";

  auto expect_invalid = [&](Message m, const std::string& words) {
    absl::StatusOr<SendResult> r = producer.Send(m);
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
    EXPECT_NE(r.status().message().find(words), std::string::npos)
        << r.status() << " should mention '" << words << "'";
    EXPECT_TRUE(absl::IsInvalidArgument(producer.SendOneway(m)));
  };
  Message m = ok;
  m.topic = "";
  expect_invalid(m, "topic is empty");
  m.topic = "bad topic!";
  expect_invalid(m, "illegal characters");
  m.topic = std::string(128, 't');
  expect_invalid(m, "longer than 127");
  m = ok;
  m.body.clear();
  expect_invalid(m, "body is empty");
  m.body = std::string(1025, 'x');
  expect_invalid(m, "more than the maximum of 1024");
  m = ok;
  m.properties = {{"UNIQ_KEY", "mine"}};
  expect_invalid(m, "used by the system");
  m.properties = {{"KEYS", "k"}};
  expect_invalid(m, "used by the system");
  m.properties = {{"x",
                   "a\x01"
                   "b"}};
  expect_invalid(m, "separator");
  m.properties = {{"x", ""}};
  expect_invalid(m, "is empty");
  m = ok;
  m.keys = {"two words"};
  expect_invalid(m, "contains a space");
  m = ok;
  m.delay_level = 19;
  expect_invalid(m, "delay level 19");

  // Async: the callback gets the error.
  std::mutex mu;
  std::condition_variable cv;
  std::optional<absl::Status> async_status;
  Message empty = ok;
  empty.body.clear();
  producer.SendAsync(empty, [&](absl::StatusOr<SendResult> r) {
    std::lock_guard<std::mutex> lock(mu);
    async_status = r.status();
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(5), [&] { return async_status.has_value(); }));
  }
  EXPECT_TRUE(absl::IsInvalidArgument(*async_status)) << *async_status;

  // A broker refusal carries the code and the remark; 16 is retried, then reported.
  Message forbidden = ok;
  forbidden.topic = "SCHEDULE_TOPIC_XXXX";
  absl::StatusOr<SendResult> refused = producer.Send(forbidden);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(rsclient::BrokerErrorCode(refused.status()), std::optional<int32_t>(16))
      << refused.status();
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("code 16 NO_PERMISSION: "), std::string::npos)
      << refused.status();
  EXPECT_NE(refused.status().message().find("forbidden"), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("send failed after 3 attempts"), std::string::npos)
      << refused.status();
  // A transport error is not a broker error.
  EXPECT_EQ(rsclient::BrokerErrorCode(absl::UnavailableError("x")), std::nullopt);

  // Bad options are refused at Start.
  ProducerOptions no_ns = Options();
  no_ns.namesrv_addr = "";
  Producer p2(no_ns);
  EXPECT_TRUE(absl::IsInvalidArgument(p2.Start()));
  Producer p3(Options("bad group"));
  EXPECT_TRUE(absl::IsInvalidArgument(p3.Start()));
}

// With no broker registered there is no route for the topic nor for TBW102.
TEST(ProducerNoRouteTest, UnknownTopicWithoutBrokersIsNotFound) {
  Namesrvd namesrv;
  ASSERT_TRUE(namesrv.Start());
  ProducerOptions o;
  o.group = "PtNoRouteGroup";
  o.namesrv_addr = Addr(namesrv.port());
  Producer producer(o);
  ASSERT_TRUE(producer.Start().ok());
  Message m;
  m.topic = "PtNowhere";
  m.body = "x";
  absl::StatusOr<SendResult> r = producer.Send(m);
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("no route info of topic PtNowhere"), std::string::npos)
      << r.status();
  // A name server that is not there: Unavailable, within the timeout.
  ProducerOptions gone = o;
  gone.namesrv_addr = Addr(brokerd::net::FreeLoopbackPort());
  Producer p2(gone);
  ASSERT_TRUE(p2.Start().ok());
  absl::StatusOr<SendResult> r2 = p2.Send(m);
  EXPECT_TRUE(absl::IsUnavailable(r2.status())) << r2.status();
}

TEST_F(ProducerTest, MessageHelpers) {
  // Property encoding as Java's messageProperties2String, and back.
  Message m;
  m.topic = "T";
  m.tags = "TagA";
  m.keys = {"k1", "k2"};
  m.delay_level = 3;
  m.body = "x";
  m.properties = {{"a", "1"}};
  EXPECT_EQ(rsclient::EncodeMessageProperties(m, "ID"),
            std::string("TAGS\x01TagA\x02KEYS\x01k1 k2\x02"
                        "DELAY\x01"
                        "3\x02WAIT\x01true\x02"
                        "UNIQ_KEY\x01ID\x02"
                        "a\x01"
                        "1\x02"));
  Message back =
      rsclient::MessageFromStored("T", "x", 0, rsclient::EncodeMessageProperties(m, "ID"));
  EXPECT_EQ(back.tags, m.tags);
  EXPECT_EQ(back.keys, m.keys);
  EXPECT_EQ(back.delay_level, 3);
  EXPECT_EQ(back.properties, m.properties);
  EXPECT_EQ(rsclient::DecodeProperties("a\x01"
                                       "1\x02"
                                       "b\x01"
                                       "2"),
            (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}));
  // UNIQ_KEYs: 32 upper-case hex chars, unique.
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    std::string id = rsclient::NewUniqKey();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_TRUE(IsUpperHex(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 10000u);
  // Compression round trip and a corrupt stream.
  absl::StatusOr<std::string> z = rsclient::CompressBody(std::string(10000, 'a'));
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(*rsclient::UncompressBody(*z), std::string(10000, 'a'));
  EXPECT_TRUE(absl::IsDataLoss(rsclient::UncompressBody("not zlib").status()));
  EXPECT_TRUE(absl::IsDataLoss(rsclient::UncompressBody(z->substr(0, z->size() / 2)).status()));
  EXPECT_TRUE(absl::IsResourceExhausted(rsclient::UncompressBody(*z, 100).status()));
}

TEST_F(ProducerTest, TransactionsCommitRollBackAndAreCheckedBack) {
  std::atomic<int> checks{0};
  rsclient::TransactionListener listener;
  listener.execute = [](const Message& msg, const std::string& msg_id, const std::string& arg) {
    EXPECT_EQ(msg_id.size(), 32u);
    EXPECT_EQ(arg, "arg-" + msg.body);
    if (msg.body.rfind("commit", 0) == 0) return rsclient::LocalTransactionState::kCommit;
    if (msg.body.rfind("rollback", 0) == 0) return rsclient::LocalTransactionState::kRollback;
    return rsclient::LocalTransactionState::kUnknown;
  };
  listener.check = [&checks](const Message& msg, const std::string& msg_id) {
    ++checks;
    EXPECT_EQ(msg.body, "unknown");
    EXPECT_EQ(msg.tags, "Tx");
    EXPECT_EQ(msg_id.size(), 32u);
    return rsclient::LocalTransactionState::kCommit;
  };
  rsclient::TransactionProducer producer(Options("PtTxGroup"), listener);
  ASSERT_TRUE(producer.Start().ok());
  std::map<std::string, std::string> ids;
  for (const std::string body : {"commit", "rollback", "unknown"}) {
    Message m;
    m.topic = "PtTxTopic";
    m.tags = "Tx";
    m.body = body;
    absl::StatusOr<rsclient::TransactionSendResult> r =
        producer.SendMessageInTransaction(m, "arg-" + body);
    ASSERT_TRUE(r.ok()) << r.status();
    ids[body] = r->send.msg_id;
  }
  // The committed one, then the checked-back one, appear; the rolled-back one never does.
  std::vector<ReceivedMessage> got = PullTopic(BrokerAddr(), "PtTxTopic", 4, 2, seconds(30));
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> bodies;
  for (const ReceivedMessage& r : got) {
    bodies.insert(r.body);
    EXPECT_EQ(rsclient::GetProperty(r.properties, "UNIQ_KEY"), ids[r.body]);
  }
  EXPECT_EQ(bodies, (std::set<std::string>{"commit", "unknown"}));
  EXPECT_GE(checks.load(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // room for a late rollback leak
  EXPECT_EQ(PullTopic(BrokerAddr(), "PtTxTopic", 4, 3, std::chrono::milliseconds(500)).size(), 2u);
}

// Two brokers; the first is killed: sends fail over to the second, each within the timeout.
// With both gone a send fails with a clear error, also within the timeout.
TEST(ProducerFailoverTest, KilledBrokerIsFailedOverThenReported) {
  Namesrvd namesrv;
  ASSERT_TRUE(namesrv.Start());
  const std::string extra = "namesrvAddr=" + Addr(namesrv.port()) + "\n";
  Brokerd a("broker-a");
  Brokerd b("broker-b");
  a.set_extra_config(extra);
  b.set_extra_config(extra);
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  ASSERT_TRUE(WaitRoute(namesrv.port(), "TBW102", 2));

  ProducerOptions o;
  o.group = "PtFailoverGroup";
  o.namesrv_addr = Addr(namesrv.port());
  o.send_timeout = std::chrono::milliseconds(3000);
  o.route_refresh_interval = std::chrono::milliseconds(300);
  Producer producer(o);
  ASSERT_TRUE(producer.Start().ok());
  std::set<std::string> brokers;
  for (int i = 0; i < 16; ++i) {
    Message m;
    m.topic = "PtFailoverTopic";
    m.body = "before-" + std::to_string(i);
    absl::StatusOr<SendResult> r = producer.Send(m);
    ASSERT_TRUE(r.ok()) << r.status();
    brokers.insert(r->queue.broker_name);
  }
  EXPECT_EQ(brokers, (std::set<std::string>{"broker-a", "broker-b"}));
  ASSERT_TRUE(WaitRoute(namesrv.port(), "PtFailoverTopic", 2));
  // The producer's refreshed route (not only the name server's) must know both brokers.
  auto known_brokers = [&producer] {
    std::set<std::string> names;
    absl::StatusOr<std::vector<MessageQueue>> qs = producer.FetchPublishQueues("PtFailoverTopic");
    if (qs.ok()) {
      for (const MessageQueue& q : *qs) names.insert(q.broker_name);
    }
    return names;
  };
  const auto route_deadline = std::chrono::steady_clock::now() + seconds(10);
  while (known_brokers().size() < 2 && std::chrono::steady_clock::now() < route_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Two more refreshes, so that no refresh started before the name server knew both is pending.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_EQ(known_brokers(), (std::set<std::string>{"broker-a", "broker-b"}));

  a.Signal(SIGKILL);
  for (int i = 0; i < 20; ++i) {
    Message m;
    m.topic = "PtFailoverTopic";
    m.body = "after-" + std::to_string(i);
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<SendResult> r = producer.Send(m);
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_EQ(r->queue.broker_name, "broker-b");
    EXPECT_LT(took, o.send_timeout);
  }
  // Async sends fail over too.
  std::mutex mu;
  std::condition_variable cv;
  std::optional<absl::StatusOr<SendResult>> async_result;
  Message am;
  am.topic = "PtFailoverTopic";
  am.body = "async-after";
  producer.SendAsync(am, [&](absl::StatusOr<SendResult> r) {
    std::lock_guard<std::mutex> lock(mu);
    async_result = std::move(r);
    cv.notify_all();
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, seconds(10), [&] { return async_result.has_value(); }));
  }
  ASSERT_TRUE(async_result->ok()) << async_result->status();
  EXPECT_EQ((*async_result)->queue.broker_name, "broker-b");

  b.Signal(SIGKILL);
  Message m;
  m.topic = "PtFailoverTopic";
  m.body = "nobody";
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<SendResult> r = producer.Send(m);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status()) || absl::IsDeadlineExceeded(r.status()))
      << r.status();
  EXPECT_NE(r.status().message().find("broker-"), std::string::npos) << r.status();
  EXPECT_LT(took, o.send_timeout + std::chrono::milliseconds(500)) << r.status();
  const auto stop_start = std::chrono::steady_clock::now();
  producer.Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, seconds(5));
}

}  // namespace
