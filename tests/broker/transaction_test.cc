// Transactional messages on a real brokerd: a half message is invisible in its topic until
// END_TRANSACTION (37) commits it (stored as 4.9.7 does: COMMIT sysFlag, the half record's
// properties, preparedTransactionOffset linking to the half record, then an op message);
// rollback stores only the op message; mismatching decisions are refused; an undecided half
// message is checked back with CHECK_TRANSACTION_STATE (39) on a producer connection of its
// group (PGROUP), the answer on the check's coordinates commits it, and after
// transactionCheckMax unanswered checks it goes to TRANS_CHECK_MAX_TIME_TOPIC.
// Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "libstore/message.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)

RemotingCommand SendHalf(const std::string& topic, int queue_id, const std::string& body,
                         const std::string& group = "TxGroup") {
  RemotingCommand cmd = SendV2(topic, queue_id, body, "TxTag");
  cmd.SetExtField("a", group);
  cmd.SetExtField("f", "4");  // TRANSACTION_PREPARED_TYPE, as the Java client sends it
  cmd.SetExtField("i", "KEYS\x01k-" + body + "\x02TRAN_MSG\x01true\x02UNIQ_KEY\x01U-" + body +
                           "\x02WAIT\x01true\x02PGROUP\x01" + group + "\x02TAGS\x01TxTag");
  return cmd;
}

// (tranStateTableOffset, commitLogOffset) of a half send's response.
std::pair<int64_t, int64_t> HalfCoordinates(const RemotingCommand& response) {
  const std::string id = *response.FindExtField("msgId");
  return {std::stoll(*response.FindExtField("queueOffset")),
          std::stoll(id.substr(id.size() - 16), nullptr, 16)};
}

RemotingCommand End(const std::string& group, int64_t table_offset, int64_t commit_log_offset,
                    int decision, bool oneway = false) {
  RemotingCommand cmd = Request(37, {{"producerGroup", group},
                                     {"tranStateTableOffset", std::to_string(table_offset)},
                                     {"commitLogOffset", std::to_string(commit_log_offset)},
                                     {"commitOrRollback", std::to_string(decision)},
                                     {"fromTransactionCheck", "false"}});
  if (oneway) cmd.flag |= brokerd::remoting::kFlagOneway;
  return cmd;
}

bool QueueIsEmpty(Client& c, const std::string& topic, int queue_id) {
  auto r = c.Call(Pull(topic, queue_id, 0, "*", 4, 0), kIo);
  return r.ok() && r->code != rc::kSuccess;
}

class TransactionTest : public ::testing::Test {
 protected:
  void StartBroker(const std::string& extra = "") {
    broker_.set_extra_config(extra);
    ASSERT_TRUE(broker_.Start()) << "brokerd did not start listening";
    ASSERT_TRUE(c_.Connect("127.0.0.1", broker_.port(), kIo).ok());
  }
  Brokerd broker_;
  Client c_;
};

TEST_F(TransactionTest, CommitDeliversAndRollbackDoesNot) {
  StartBroker();
  auto half = c_.Call(SendHalf("TxT", 1, "yes"), kIo);
  ASSERT_TRUE(half.ok());
  ASSERT_EQ(half->code, rc::kSuccess) << half->remark.value_or("");
  EXPECT_EQ(*half->FindExtField("queueId"), "1");
  auto [table, clog] = HalfCoordinates(*half);
  EXPECT_TRUE(QueueIsEmpty(c_, "TxT", 1));
  std::vector<Record> parked =
      PullUntil(c_, "RMQ_SYS_TRANS_HALF_TOPIC", 0, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].sys_flag & 0xC, 0);  // stored as a normal message in the half topic
  EXPECT_EQ(Props(parked[0].properties)["REAL_TOPIC"], "TxT");
  EXPECT_EQ(Props(parked[0].properties)["REAL_QID"], "1");
  EXPECT_EQ(parked[0].physical_offset, clog);

  auto end = c_.Call(End("TxGroup", table, clog, 8), kIo);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->code, rc::kSuccess) << end->remark.value_or("");
  std::vector<Record> got = PullUntil(c_, "TxT", 1, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "yes");
  EXPECT_EQ(got[0].sys_flag & 0xC, 8);
  auto p = Props(got[0].properties);
  EXPECT_EQ(p["TRAN_MSG"], "true");
  EXPECT_EQ(p["PGROUP"], "TxGroup");
  EXPECT_EQ(p["KEYS"], "k-yes");
  std::vector<Record> ops =
      PullUntil(c_, "RMQ_SYS_TRANS_OP_HALF_TOPIC", 0, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].body, std::to_string(table));
  EXPECT_EQ(Props(ops[0].properties)["TAGS"], "d");

  // Rollback (oneway, as clients send it): only an op message.
  auto half2 = c_.Call(SendHalf("TxT", 1, "no"), kIo);
  ASSERT_TRUE(half2.ok());
  ASSERT_EQ(half2->code, rc::kSuccess);
  auto [table2, clog2] = HalfCoordinates(*half2);
  ASSERT_TRUE(c_.Send(End("TxGroup", table2, clog2, 12, /*oneway=*/true)).ok());
  std::vector<Record> ops2 =
      PullUntil(c_, "RMQ_SYS_TRANS_OP_HALF_TOPIC", 0, 1, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(ops2.size(), 1u);
  EXPECT_EQ(ops2[0].body, std::to_string(table2));
  auto after = c_.Call(Pull("TxT", 1, 1, "*", 4, 0), kIo);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->code, rc::kSuccess);
}

TEST_F(TransactionTest, MismatchingDecisionsAreRefused) {
  StartBroker();
  auto half = c_.Call(SendHalf("TxM", 0, "m"), kIo);
  ASSERT_TRUE(half.ok());
  ASSERT_EQ(half->code, rc::kSuccess);
  auto [table, clog] = HalfCoordinates(*half);
  auto wrong_group = c_.Call(End("OtherGroup", table, clog, 8), kIo);
  ASSERT_TRUE(wrong_group.ok());
  EXPECT_EQ(wrong_group->code, rc::kSystemError);
  EXPECT_EQ(wrong_group->remark.value_or(""), "The producer group wrong");
  auto wrong_table = c_.Call(End("TxGroup", table + 5, clog, 8), kIo);
  ASSERT_TRUE(wrong_table.ok());
  EXPECT_EQ(wrong_table->code, rc::kSystemError);
  auto nowhere = c_.Call(End("TxGroup", table, 1LL << 40, 8), kIo);
  ASSERT_TRUE(nowhere.ok());
  EXPECT_EQ(nowhere->code, rc::kSystemError);
  auto bad_decision = c_.Call(End("TxGroup", table, clog, 5), kIo);
  ASSERT_TRUE(bad_decision.ok());
  EXPECT_EQ(bad_decision->code, rc::kSystemError);
  // A normal message cannot be "committed" into a second copy.
  auto normal = c_.Call(SendV2("TxM", 0, "plain", "t"), kIo);
  ASSERT_TRUE(normal.ok());
  const std::string id = *normal->FindExtField("msgId");
  auto not_half =
      c_.Call(End("TxGroup", 0, std::stoll(id.substr(id.size() - 16), nullptr, 16), 8), kIo);
  ASSERT_TRUE(not_half.ok());
  EXPECT_EQ(not_half->code, rc::kSystemError);
  std::vector<Record> only = PullUntil(c_, "TxM", 0, 0, 2, std::chrono::milliseconds(500));
  ASSERT_EQ(only.size(), 1u);
  EXPECT_EQ(only[0].body, "plain");
}

TEST_F(TransactionTest, UndecidedHalfMessagesAreCheckedBackThenSetAside) {
  StartBroker("transactionCheckInterval=200\ntransactionTimeOut=300\ntransactionCheckMax=2\n");
  // The producer's connection: a heartbeat names its group.
  Client producer;
  ASSERT_TRUE(producer.Connect("127.0.0.1", broker_.port(), kIo).ok());
  RemotingCommand hb = Request(34, {});
  hb.body = R"({"clientID":"127.0.0.1@tx","producerDataSet":[{"groupName":"TxGroup"}],)"
            R"("consumerDataSet":[]})";
  auto hb_r = producer.Call(hb, kIo);
  ASSERT_TRUE(hb_r.ok());
  ASSERT_EQ(hb_r->code, rc::kSuccess);

  auto half = producer.Call(SendHalf("TxC", 2, "check-me"), kIo);
  ASSERT_TRUE(half.ok());
  ASSERT_EQ(half->code, rc::kSuccess);
  ASSERT_TRUE(producer
                  .Send(End("TxGroup", HalfCoordinates(*half).first, HalfCoordinates(*half).second,
                            0, /*oneway=*/true))
                  .ok());  // UNKNOWN: leaves it to the check

  // The broker asks the producer (oneway CHECK_TRANSACTION_STATE) about a fresh copy.
  absl::StatusOr<RemotingCommand> check = absl::DeadlineExceededError("none");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    check = producer.Read(milliseconds(500));
    if (check.ok() && check->code == 39) break;
  }
  ASSERT_TRUE(check.ok()) << check.status();
  ASSERT_EQ(check->code, 39);
  EXPECT_TRUE(check->IsOneway());
  EXPECT_EQ(*check->FindExtField("msgId"), "U-check-me");
  EXPECT_EQ(*check->FindExtField("transactionId"), "U-check-me");
  const int64_t copy_table = std::stoll(*check->FindExtField("tranStateTableOffset"));
  const int64_t copy_clog = std::stoll(*check->FindExtField("commitLogOffset"));
  EXPECT_EQ(copy_table, 1);  // the copy follows the original in the half queue
  // The body is the copy's record under its real topic and queue.
  std::vector<Record> body = ParseRecords(check->body);
  ASSERT_EQ(body.size(), 1u);
  EXPECT_EQ(body[0].topic, "TxC");
  EXPECT_EQ(body[0].queue_id, 2);
  EXPECT_EQ(body[0].body, "check-me");
  EXPECT_EQ(body[0].physical_offset, copy_clog);
  EXPECT_EQ(Props(body[0].properties)["TRANSACTION_CHECK_TIMES"], "1");

  // The answer on the copy's coordinates commits the message, once.
  RemotingCommand answer = End("TxGroup", copy_table, copy_clog, 8, /*oneway=*/true);
  answer.SetExtField("fromTransactionCheck", "true");
  ASSERT_TRUE(producer.Send(answer).ok());
  std::vector<Record> got = PullUntil(c_, "TxC", 2, 0, 1, std::chrono::milliseconds(5000));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "check-me");

  // A second half message nobody answers: checked transactionCheckMax (2) times, then moved to
  // TRANS_CHECK_MAX_TIME_TOPIC and never delivered.
  auto lost = producer.Call(SendHalf("TxC", 2, "lost"), kIo);
  ASSERT_TRUE(lost.ok());
  ASSERT_EQ(lost->code, rc::kSuccess);
  std::vector<Record> aside =
      PullUntil(c_, "TRANS_CHECK_MAX_TIME_TOPIC", 0, 0, 1, std::chrono::milliseconds(15000));
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].body, "lost");
  EXPECT_EQ(Props(aside[0].properties)["TRANSACTION_CHECK_TIMES"], "2");
  auto more = c_.Call(Pull("TxC", 2, 1, "*", 4, 0), kIo);
  ASSERT_TRUE(more.ok());
  EXPECT_NE(more->code, rc::kSuccess);
}

TEST_F(TransactionTest, ReplaysJavaTransactionFrames) {
  // The captured producer's requests (../shared/fixtures/wire/java-transaction.jsonl): half
  // sends answered like the 4.9.7 broker (code, queueId, queueOffset in the half queue), the
  // commit delivers wtx-0, the rollback of wtx-1 delivers nothing.
  StartBroker();
  std::vector<CapturedFrame> frames = LoadCapture("java-transaction.jsonl");
  if (frames.empty()) GTEST_SKIP() << "../shared/fixtures/wire is absent";
  std::map<int32_t, RemotingCommand> answers;  // opaque -> captured broker answer
  for (const CapturedFrame& f : frames) {
    if (f.dir == "s2c" && f.peer == "broker") answers[f.cmd.opaque] = f.cmd;
  }
  int sends = 0;
  for (const CapturedFrame& f : frames) {
    if (f.dir != "c2s" || f.peer != "broker" || f.cmd.code != 310) continue;
    auto r = c_.Call(f.cmd, kIo);
    ASSERT_TRUE(r.ok());
    const RemotingCommand& want = answers.at(f.cmd.opaque);
    EXPECT_EQ(r->code, want.code);
    EXPECT_EQ(*r->FindExtField("queueId"), *want.FindExtField("queueId"));
    EXPECT_EQ(*r->FindExtField("queueOffset"), *want.FindExtField("queueOffset"));
    // The capture's decision for this message, on our coordinates.
    for (const CapturedFrame& e : frames) {
      if (e.dir != "c2s" || e.cmd.code != 37 || e.cmd.opaque <= f.cmd.opaque ||
          *e.cmd.FindExtField("tranStateTableOffset") != *want.FindExtField("queueOffset")) {
        continue;
      }
      RemotingCommand end = e.cmd;
      auto [table, clog] = HalfCoordinates(*r);
      end.SetExtField("commitLogOffset", std::to_string(clog));
      end.SetExtField("tranStateTableOffset", std::to_string(table));
      ASSERT_TRUE(c_.Send(end).ok());
      break;
    }
    ++sends;
  }
  EXPECT_EQ(sends, 3);
  // wtx-0 (committed, real queue 3) arrives; wtx-1 (rolled back, queue 0) never does.
  std::vector<Record> got = PullUntil(c_, "WireTx", 3, 0, 1, std::chrono::milliseconds(3000));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "tx 0");
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_TRUE(QueueIsEmpty(c_, "WireTx", 0));
}

}  // namespace
