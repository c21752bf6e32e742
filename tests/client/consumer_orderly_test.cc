// Orderly consumption against real namesrvd and brokerd processes: many orders, each with
// create / pay / ship messages on the queue a selector picks (order id % queues), two orderly
// consumers; every order's steps arrive in sequence, no queue is ever consumed by two threads at
// once, also while one consumer shuts down and its queues (and broker locks) move to the other.
// Also when that consumer is a child process killed with SIGKILL (no commit, no unlock) and its
// queues move once the broker's locks lapse. And SUSPEND_CURRENT_QUEUE_A_MOMENT: the batch is
// retried locally after 1 s with reconsumeTimes + 1, and the messages behind it wait. Every wait
// is bounded.
#include <atomic>
#include <filesystem>
#include <map>
#include <set>

#include "consumer_harness.h"

namespace consumer_test {
namespace {

using rsclient::ConsumeFromWhere;
using rsclient::ConsumeOrderlyContext;
using rsclient::ConsumeOrderlyStatus;

const char* const kSteps[] = {"create", "pay", "ship"};

// Checks the sequence and the one-thread-per-queue rule as messages arrive.
class OrderChecker {
 public:
  void Begin(const MessageQueue& mq) {
    std::lock_guard<std::mutex> lock(mu_);
    if (++active_[mq] > 1) ++overlaps_;
  }
  void End(const MessageQueue& mq) {
    std::lock_guard<std::mutex> lock(mu_);
    --active_[mq];
  }
  // body "order-<id>-<step>": step k may only come once steps 0..k-1 have come.
  void See(const std::string& body) {
    const size_t a = body.find('-'), b = body.rfind('-');
    const int order = std::stoi(body.substr(a + 1, b - a - 1));
    const int step = std::stoi(body.substr(b + 1));
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = highest_.emplace(order, -1);
    if (step > it->second + 1) {
      ++violations_;
      if (first_violation_.empty()) first_violation_ = body;
    }
    it->second = std::max(it->second, step);
  }
  int overlaps() {
    std::lock_guard<std::mutex> lock(mu_);
    return overlaps_;
  }
  int violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return violations_;
  }
  std::string first_violation() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_violation_;
  }

 private:
  std::mutex mu_;
  std::map<MessageQueue, int> active_;
  std::map<int, int> highest_;
  int overlaps_ = 0;
  int violations_ = 0;
  std::string first_violation_;
};

std::unique_ptr<PushConsumer> StartOrderly(const Cluster& c, const std::string& group,
                                           const std::string& topic, Recorder* rec,
                                           OrderChecker* check, const std::string& name) {
  PushConsumerOptions o;
  o.group = group;
  o.namesrv_addr = c.namesrv();
  o.consume_from_where = ConsumeFromWhere::kFirstOffset;
  o.consume_thread_min = 4;
  o.consume_thread_max = 4;
  auto pc = std::make_unique<PushConsumer>(o);
  EXPECT_TRUE(pc->Subscribe(topic, "*").ok());
  pc->RegisterMessageListener(
      [rec, check, name](const std::vector<ConsumedMessage>& msgs, ConsumeOrderlyContext& ctx) {
        check->Begin(ctx.queue);
        for (const ConsumedMessage& m : msgs) {
          EXPECT_EQ(m.queue, ctx.queue);
          check->See(m.body);
        }
        std::this_thread::sleep_for(milliseconds(2));
        rec->Add(name, msgs);
        check->End(ctx.queue);
        return ConsumeOrderlyStatus::kSuccess;
      });
  absl::Status s = pc->Start();
  EXPECT_TRUE(s.ok()) << s;
  return pc;
}

TEST(OrderlyConsumer, PerOrderSequenceHoldsAcrossAHandover) {
  Cluster c;
  ASSERT_TRUE(c.Start());
  const std::string topic = "OrderTopic";
  constexpr int kQueues = 8;
  constexpr int kOrders = 80;
  ASSERT_TRUE(c.CreateTopic(topic, kQueues));
  const auto all = c.Queues(topic, kQueues);
  Recorder rec;
  OrderChecker check;
  auto c1 = StartOrderly(c, "OrderGroup", topic, &rec, &check, "c1");
  auto c2 = StartOrderly(c, "OrderGroup", topic, &rec, &check, "c2");
  ASSERT_TRUE(WaitBalanced({c1.get(), c2.get()}, all));

  std::vector<std::string> bodies;
  std::thread sender([&] {
    for (int step = 0; step < 3; ++step) {
      for (int order = 0; order < kOrders; ++order) {
        const std::string body = "order-" + std::to_string(order) + "-" + std::to_string(step);
        // The selector: same order id, same queue (SelectMessageQueueByHash on the id).
        c.Send({topic, order % kQueues, body, kSteps[step], "", 0});
        if (order % 20 == 19) std::this_thread::sleep_for(milliseconds(50));
      }
    }
  });
  for (int step = 0; step < 3; ++step) {
    for (int order = 0; order < kOrders; ++order) {
      bodies.push_back("order-" + std::to_string(order) + "-" + std::to_string(step));
    }
  }
  ASSERT_TRUE(rec.WaitCount(90, seconds(20)));
  c1->Shutdown();  // its queues (and locks) move to c2
  size_t c1_at_shutdown = 0;
  for (const auto& e : rec.Entries()) c1_at_shutdown += e.consumer == "c1";
  sender.join();
  ASSERT_TRUE(rec.WaitAll(bodies, seconds(25)));
  EXPECT_EQ(OfTopic(c2->AssignedQueues(), topic).size(), static_cast<size_t>(kQueues));

  size_t c1_after = 0;
  for (const auto& e : rec.Entries()) c1_after += e.consumer == "c1";
  EXPECT_EQ(c1_after, c1_at_shutdown);
  EXPECT_EQ(check.violations(), 0) << "first out of order: " << check.first_violation();
  EXPECT_EQ(check.overlaps(), 0) << "a queue was consumed by two threads at once";
  int duplicates = 0;
  for (const auto& [body, n] : rec.Counts()) duplicates += n - 1;
  std::printf("orderly handover: %zu deliveries of %zu messages (%zu by c1), %d duplicates\n",
              rec.size(), bodies.size(), c1_at_shutdown, duplicates);
  RecordProperty("duplicates", duplicates);
}

// The orderly member that PerOrderSequenceHoldsAcrossAKill SIGKILLs: this binary run again with
// RS_ORDERLY_CHILD="<namesrv>;<topic>;<group>;<instance>;<file>"; it appends "<body>" for each
// message it consumes to <file>, in consumption order, until it is killed.
// DISABLED_: not a test of its own; the parent runs it with --gtest_also_run_disabled_tests.
TEST(ChildProcess, DISABLED_OrderlyConsumeUntilKilled) {
  std::optional<ChildConsumer> child = ChildConsumerFromEnv("RS_ORDERLY_CHILD");
  if (!child) GTEST_SKIP() << "only run as the child of PerOrderSequenceHoldsAcrossAKill";
  child->options.lock_renew_interval = milliseconds(1000);  // the broker's locks lapse after 3 s
  PushConsumer pc(child->options);
  ASSERT_TRUE(pc.Subscribe(child->topic, "*").ok());
  pc.RegisterMessageListener(
      [&child](const std::vector<ConsumedMessage>& msgs, ConsumeOrderlyContext&) {
        for (const ConsumedMessage& m : msgs) child->Record(m.body);
        std::this_thread::sleep_for(milliseconds(5));
        return ConsumeOrderlyStatus::kSuccess;
      });
  ASSERT_TRUE(pc.Start().ok());
  std::this_thread::sleep_for(seconds(60));  // the parent kills us long before
}

// Two orderly consumers, one of them a child process killed with SIGKILL while orders flow: it
// neither commits nor unlocks, so its queues move to the survivor once the broker's locks lapse
// (rebalanceLockMaxLiveTime=3000 here; 60 s by default). Every order's steps, taken over both
// consumers in the order they consumed them, arrive as create, pay, ship (a step may come again
// after the move: at-least-once), and nothing is lost.
TEST(OrderlyConsumer, PerOrderSequenceHoldsAcrossAKill) {
  Cluster c;
  ASSERT_TRUE(c.Start("rebalanceLockMaxLiveTime=3000\n"));
  const std::string topic = "KillOrderTopic";
  const std::string group = "KillOrderGroup";
  constexpr int kQueues = 8;
  constexpr int kOrders = 80;
  ASSERT_TRUE(c.CreateTopic(topic, kQueues));
  const auto all = c.Queues(topic, kQueues);
  const auto file = std::filesystem::temp_directory_path() /
                    ("killed-orderly-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(file);

  Recorder rec;
  OrderChecker survivor_check;  // the one-thread-per-queue rule within the survivor
  PushConsumerOptions o;
  o.group = group;
  o.namesrv_addr = c.namesrv();
  o.consume_from_where = ConsumeFromWhere::kFirstOffset;
  o.consume_thread_min = o.consume_thread_max = 4;
  o.lock_renew_interval = milliseconds(1000);
  auto survivor = std::make_unique<PushConsumer>(o);
  ASSERT_TRUE(survivor->Subscribe(topic, "*").ok());
  survivor->RegisterMessageListener(
      [&rec, &survivor_check](const std::vector<ConsumedMessage>& msgs,
                              ConsumeOrderlyContext& ctx) {
        survivor_check.Begin(ctx.queue);
        std::this_thread::sleep_for(milliseconds(5));
        rec.Add("survivor", msgs);
        survivor_check.End(ctx.queue);
        return ConsumeOrderlyStatus::kSuccess;
      });
  ASSERT_TRUE(survivor->Start().ok());

  const std::string child_instance = "killed-orderly-" + std::to_string(::getpid());
  pid_t child = SpawnChildTest("ChildProcess.DISABLED_OrderlyConsumeUntilKilled",
                               "RS_ORDERLY_CHILD=" + c.namesrv() + ";" + topic + ";" + group + ";" +
                                   child_instance + ";" + file.string());
  ASSERT_GT(child, 0);
  // The child is a member once the survivor holds exactly its half of the queues.
  const std::string child_id = rsclient::ClientIpAddress() + "@" + child_instance;
  std::vector<std::string> ids = {survivor->client_id(), child_id};
  std::sort(ids.begin(), ids.end());
  const bool two = WaitFor(
      [&] {
        return OfTopic(survivor->AssignedQueues(), topic) ==
               rsclient::AllocateAveragely(all, ids, survivor->client_id());
      },
      seconds(20));
  if (!two) KillChild(child);
  ASSERT_TRUE(two);

  std::vector<std::string> bodies;
  for (int step = 0; step < 3; ++step) {
    for (int order = 0; order < kOrders; ++order) {
      bodies.push_back("order-" + std::to_string(order) + "-" + std::to_string(step));
    }
  }
  std::atomic<bool> sent_ok{true};
  std::thread sender([&] {
    for (size_t i = 0; i < bodies.size(); ++i) {
      const int order = static_cast<int>(i) % kOrders, step = static_cast<int>(i) / kOrders;
      // The selector: same order id, same queue (SelectMessageQueueByHash on the id).
      if (c.Send({topic, order % kQueues, bodies[i], kSteps[step], "", 0}) < 0) sent_ok = false;
      if (i % 20 == 19) std::this_thread::sleep_for(milliseconds(40));
    }
  });
  const bool child_consumed = WaitFor([&] { return FileLines(file).size() >= 30; }, seconds(20));
  KillChild(child);
  sender.join();
  ASSERT_TRUE(child_consumed);
  ASSERT_TRUE(sent_ok.load());

  // The survivor takes every queue once the dead member's locks lapse, and gets the rest.
  ASSERT_TRUE(
      WaitFor([&] { return OfTopic(survivor->AssignedQueues(), topic) == all; }, seconds(30)));
  const std::vector<std::string> by_child = FileLines(file);
  const std::set<std::string> child_set(by_child.begin(), by_child.end());
  std::vector<std::string> rest;
  for (const std::string& b : bodies) {
    if (!child_set.contains(b)) rest.push_back(b);
  }
  ASSERT_TRUE(rec.WaitAll(rest, seconds(30))) << "messages lost";
  std::this_thread::sleep_for(milliseconds(300));
  survivor->Shutdown();

  // Per order: the child's deliveries (all before the kill) then the survivor's.
  OrderChecker check;
  for (const std::string& b : by_child) check.See(b);
  int duplicates = 0;
  std::map<std::string, int> counts;
  for (const std::string& b : by_child) ++counts[b];
  for (const Recorder::Entry& e : rec.Entries()) {
    check.See(e.msg.body);
    ++counts[e.msg.body];
  }
  for (const auto& [body, n] : counts) duplicates += n - 1;
  EXPECT_EQ(counts.size(), bodies.size());
  EXPECT_EQ(check.violations(), 0) << "first out of order: " << check.first_violation();
  EXPECT_EQ(survivor_check.overlaps(), 0) << "a queue was consumed by two threads at once";
  std::printf("orderly kill -9: %zu messages, %zu consumed by the killed member, %d duplicates\n",
              bodies.size(), by_child.size(), duplicates);
  RecordProperty("duplicates", duplicates);
  std::filesystem::remove(file);
}

TEST(OrderlyConsumer, SuspendRetriesLocallyAfterASecond) {
  Cluster c;
  ASSERT_TRUE(c.Start());
  const std::string topic = "SuspendTopic";
  ASSERT_TRUE(c.CreateTopic(topic, 1));
  struct Try {
    std::string body;
    int reconsume_times;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mu;
  std::vector<Try> tries;
  PushConsumerOptions o;
  o.group = "SuspendGroup";
  o.namesrv_addr = c.namesrv();
  o.consume_from_where = ConsumeFromWhere::kFirstOffset;
  PushConsumer pc(o);
  ASSERT_TRUE(pc.Subscribe(topic, "*").ok());
  pc.RegisterMessageListener([&](const std::vector<ConsumedMessage>& msgs, ConsumeOrderlyContext&) {
    std::lock_guard<std::mutex> lock(mu);
    tries.push_back({msgs[0].body, msgs[0].reconsume_times, std::chrono::steady_clock::now()});
    return msgs[0].body == "s0" && msgs[0].reconsume_times < 2
               ? ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment
               : ConsumeOrderlyStatus::kSuccess;
  });
  ASSERT_TRUE(pc.Start().ok());
  for (const char* b : {"s0", "s1", "s2"}) ASSERT_GE(c.Send({topic, 0, b, "T", "", 0}), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return tries.size() >= 5;
      },
      seconds(20)));
  std::this_thread::sleep_for(milliseconds(200));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(tries.size(), 5u);
  const std::vector<std::pair<std::string, int>> want = {
      {"s0", 0}, {"s0", 1}, {"s0", 2}, {"s1", 0}, {"s2", 0}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(tries[i].body, want[i].first) << i;
    EXPECT_EQ(tries[i].reconsume_times, want[i].second) << i;
  }
  EXPECT_GE(tries[1].at - tries[0].at, milliseconds(900));
  EXPECT_GE(tries[2].at - tries[1].at, milliseconds(900));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto offsets = pc.CommittedOffsets();
        auto it = offsets.find(MessageQueue{topic, "broker-a", 0});
        return it != offsets.end() && it->second == 3;
      },
      seconds(5)));
}

}  // namespace
}  // namespace consumer_test
