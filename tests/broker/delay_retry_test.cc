// Delayed messages, consumer send-back, retry and dead-letter topics on a real brokerd: a
// message with a DELAY level waits in SCHEDULE_TOPIC_XXXX and reaches its topic once the
// level's delay has passed (also across a restart, with config/delayOffset.json kept);
// CONSUMER_SEND_MSG_BACK (36) moves a consumed record to %RETRY%<group> through the schedule
// topic and to %DLQ%<group> after maxReconsumeTimes; a send straight to a retry topic past the
// bound lands in the DLQ; a producer that floods the put queue gets SYSTEM_BUSY.
// Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "libstore/message.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)

// Level L waits L seconds (18 levels), so tests stay short and the order is visible.
constexpr char kLevels[] =
    "messageDelayLevel=1s 2s 1s 1s 5s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s\n";

RemotingCommand SendDelayed(const std::string& topic, const std::string& body, int level) {
  RemotingCommand cmd = SendV2(topic, 0, body, "dt");
  cmd.SetExtField("i",
                  "TAGS\x01"
                  "dt\x02"
                  "KEYS\x01k-" +
                      body +
                      "\x02"
                      "DELAY\x01" +
                      std::to_string(level) + "\x02WAIT\x01true\x02");
  return cmd;
}

RemotingCommand SendBack(int64_t offset, const std::string& group, int delay_level, int max_times) {
  RemotingCommand cmd = Request(36, {{"offset", std::to_string(offset)},
                                     {"group", group},
                                     {"delayLevel", std::to_string(delay_level)},
                                     {"originMsgId", "X"},
                                     {"originTopic", "T"},
                                     {"unitMode", "false"},
                                     {"maxReconsumeTimes", std::to_string(max_times)}});
  // maxReconsumeTimes counts from protocol V3_4_9 (121) on.
  cmd.version = 407;
  return cmd;
}

class DelayRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_.set_extra_config(kLevels);
    ASSERT_TRUE(broker_.Start()) << "brokerd did not start listening";
    ASSERT_TRUE(c_.Connect("127.0.0.1", broker_.port(), kIo).ok());
  }
  Brokerd broker_;
  Client c_;
};

TEST_F(DelayRetryTest, DelayedMessageWaitsInTheScheduleTopicForItsLevel) {
  auto sent = c_.Call(SendDelayed("DelayT", "late", 2), kIo);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->code, rc::kSuccess) << sent->remark.value_or("");
  // Not in its topic yet; parked in queue level-1 of the schedule topic with its real place.
  auto now = c_.Call(Pull("DelayT", 0, 0, "*", 4, 0), kIo);
  ASSERT_TRUE(now.ok());
  EXPECT_NE(now->code, rc::kSuccess);
  std::vector<Record> parked =
      PullUntil(c_, "SCHEDULE_TOPIC_XXXX", 1, 0, 1, std::chrono::milliseconds(5000));
  ASSERT_EQ(parked.size(), 1u);
  auto pp = Props(parked[0].properties);
  EXPECT_EQ(pp["REAL_TOPIC"], "DelayT");
  EXPECT_EQ(pp["REAL_QID"], "0");
  EXPECT_EQ(pp["DELAY"], "2");
  EXPECT_EQ(parked[0].body, "late");

  std::vector<Record> got = PullUntil(c_, "DelayT", 0, 0, 1, std::chrono::milliseconds(15000));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "late");
  EXPECT_EQ(got[0].topic, "DelayT");
  EXPECT_GE(got[0].store_timestamp_ms, parked[0].store_timestamp_ms + 2000);
  EXPECT_EQ(got[0].born_timestamp_ms, parked[0].born_timestamp_ms);
  auto gp = Props(got[0].properties);
  EXPECT_EQ(gp["TAGS"], "dt");
  EXPECT_EQ(gp["KEYS"], "k-late");
  // As the 4.9.7 broker does, the delivered record keeps the schedule properties.
  EXPECT_EQ(gp["REAL_TOPIC"], "DelayT");
  // Tag filtering works on the delivered record (its tag hash is the tag's, not a time).
  auto filtered = c_.Call(Pull("DelayT", 0, 0, "dt", 4, 0), kIo);
  ASSERT_TRUE(filtered.ok());
  EXPECT_EQ(filtered->code, rc::kSuccess);
  // Exactly one delivery.
  auto again = c_.Call(Pull("DelayT", 0, 1, "*", 4, 0), kIo);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->code, rc::kSuccess);
}

TEST_F(DelayRetryTest, LevelsDeliverInDueOrderAndSurviveARestart) {
  // Level 5 waits 5 s: stop the broker before it is due; it must still arrive after a restart.
  ASSERT_EQ(c_.Call(SendDelayed("DelayR", "slow", 5), kIo)->code, rc::kSuccess);
  ASSERT_EQ(c_.Call(SendDelayed("DelayR", "fast", 1), kIo)->code, rc::kSuccess);
  std::vector<Record> first = PullUntil(c_, "DelayR", 0, 0, 1, std::chrono::milliseconds(10000));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].body, "fast");
  c_.Close();
  ASSERT_EQ(broker_.Signal(SIGTERM), 0);
  // The clean stop persisted the schedule progress in RocketMQ's format.
  std::ifstream in(broker_.store() / "config" / "delayOffset.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"offsetTable\""), std::string::npos) << text;
  EXPECT_NE(text.find("1:1"), std::string::npos) << text;
  ASSERT_TRUE(broker_.Start());
  ASSERT_TRUE(c_.Connect("127.0.0.1", broker_.port(), kIo).ok());
  std::vector<Record> all = PullUntil(c_, "DelayR", 0, 0, 2, std::chrono::milliseconds(15000));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].body, "fast");
  EXPECT_EQ(all[1].body, "slow");
  // Nothing is delivered twice.
  std::this_thread::sleep_for(milliseconds(1500));
  auto more = c_.Call(Pull("DelayR", 0, 2, "*", 4, 0), kIo);
  ASSERT_TRUE(more.ok());
  EXPECT_NE(more->code, rc::kSuccess);
}

TEST_F(DelayRetryTest, SendBackGoesToRetryThenToTheDeadLetterQueue) {
  ASSERT_EQ(c_.Call(SendV2("BackT", 0, "payload", "tg"), kIo)->code, rc::kSuccess);
  std::vector<Record> orig = PullUntil(c_, "BackT", 0, 0, 1, std::chrono::milliseconds(5000));
  ASSERT_EQ(orig.size(), 1u);

  // delayLevel 0: the broker picks 3 + reconsumeTimes (level 3 = 1 s here).
  auto back = c_.Call(SendBack(orig[0].physical_offset, "grp", 0, 2), kIo);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->code, rc::kSuccess) << back->remark.value_or("");
  std::vector<Record> retry =
      PullUntil(c_, "%RETRY%grp", 0, 0, 1, std::chrono::milliseconds(10000));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].body, "payload");
  EXPECT_EQ(retry[0].reconsume_times, 1);
  EXPECT_EQ(retry[0].born_timestamp_ms, orig[0].born_timestamp_ms);
  auto rp = Props(retry[0].properties);
  EXPECT_EQ(rp["RETRY_TOPIC"], "BackT");
  EXPECT_EQ(rp["TAGS"], "tg");
  EXPECT_EQ(rp["WAIT"], "false");
  EXPECT_EQ(rp["DELAY"], "3");
  EXPECT_EQ(rp["ORIGIN_MESSAGE_ID"].size(), 32u);
  const std::string origin = rp["ORIGIN_MESSAGE_ID"];

  // Second failure: reconsumeTimes 1 < 2, so another retry.
  ASSERT_EQ(c_.Call(SendBack(retry[0].physical_offset, "grp", 0, 2), kIo)->code, rc::kSuccess);
  std::vector<Record> retry2 =
      PullUntil(c_, "%RETRY%grp", 0, 1, 1, std::chrono::milliseconds(10000));
  ASSERT_EQ(retry2.size(), 1u);
  EXPECT_EQ(retry2[0].reconsume_times, 2);
  EXPECT_EQ(Props(retry2[0].properties)["DELAY"], "4");
  EXPECT_EQ(Props(retry2[0].properties)["RETRY_TOPIC"], "BackT");
  EXPECT_EQ(Props(retry2[0].properties)["ORIGIN_MESSAGE_ID"], origin);

  // Third failure: reconsumeTimes 2 >= maxReconsumeTimes 2: dead letter, at once.
  ASSERT_EQ(c_.Call(SendBack(retry2[0].physical_offset, "grp", 0, 2), kIo)->code, rc::kSuccess);
  std::vector<Record> dlq = PullUntil(c_, "%DLQ%grp", 0, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].body, "payload");
  EXPECT_EQ(dlq[0].reconsume_times, 3);
  EXPECT_EQ(Props(dlq[0].properties).count("DELAY"), 0u);
  EXPECT_EQ(Props(dlq[0].properties)["RETRY_TOPIC"], "BackT");

  // delayLevel < 0 sends straight to the DLQ too.
  ASSERT_EQ(c_.Call(SendBack(orig[0].physical_offset, "grp", -1, 16), kIo)->code, rc::kSuccess);
  std::vector<Record> dlq2 = PullUntil(c_, "%DLQ%grp", 0, 1, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(dlq2.size(), 1u);
  EXPECT_EQ(dlq2[0].reconsume_times, 1);
}

TEST_F(DelayRetryTest, BadSendBacksGetErrors) {
  auto far = c_.Call(SendBack(1LL << 40, "grp", 0, 16), kIo);
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(far->code, rc::kSystemError);
  EXPECT_NE(far->remark.value_or("").find("look message by offset failed"), std::string::npos);
  auto no_group = c_.Call(Request(36, {{"offset", "0"}}), kIo);
  ASSERT_TRUE(no_group.ok());
  EXPECT_EQ(no_group->code, rc::kSystemError);
  auto bad_group = c_.Call(SendBack(0, "bad group!", 0, 16), kIo);
  ASSERT_TRUE(bad_group.ok());
  EXPECT_EQ(bad_group->code, rc::kSystemError);
}

TEST_F(DelayRetryTest, SendToARetryTopicPastTheBoundLandsInTheDlq) {
  RemotingCommand cmd = SendV2("%RETRY%g2", 0, "r", "t");
  cmd.SetExtField("j", "16");  // reconsumeTimes
  auto r = c_.Call(cmd, kIo);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  std::vector<Record> dlq = PullUntil(c_, "%DLQ%g2", 0, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].body, "r");
  // Below the bound it stays a retry message.
  cmd = SendV2("%RETRY%g2", 0, "s", "t");
  cmd.SetExtField("j", "3");
  ASSERT_EQ(c_.Call(cmd, kIo)->code, rc::kSuccess);
  std::vector<Record> retry = PullUntil(c_, "%RETRY%g2", 0, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].body, "s");
}

}  // namespace
