// Tests of rs_load, the client load tool: the binary runs as a subprocess against a real
// namesrvd and brokerd. Each mode (sync, async and batch produce; consume; end-to-end) runs a
// small bounded load and its --json summary is checked against what the broker holds or what
// the consumer received; usage errors exit 2 and an unreachable name server exits 1. Figures of
// speed are not asserted (benchmarks measure them). Every wait is bounded.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../broker/harness.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tool_process.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)
using Json = nlohmann::json;
using tool_test::Describe;
using tool_test::Result;

Result Load(const std::vector<std::string>& args) {
  return tool_test::RunTool(RS_LOAD_PATH, "rs_load", args, std::chrono::seconds(90));
}
Result Admin(const std::vector<std::string>& args) {
  return tool_test::RunTool(RS_ADMIN_PATH, "rs_admin", args);
}

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Json ParseJson(const Result& r) {
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << Describe(r);
  return j.is_discarded() ? Json::object() : j;
}

TEST(LoadCli, HelpAndUsageErrors) {
  Result help = Load({"--help"});
  EXPECT_EQ(help.code, 0) << Describe(help);
  EXPECT_NE(help.out.find("usage: rs_load MODE"), std::string::npos) << Describe(help);
  for (const char* flag : {"--threads", "--inflight", "--batch", "--rate", "--json", "--keys"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
  Result none = Load({});
  EXPECT_EQ(none.code, 2) << Describe(none);
  EXPECT_NE(none.err.find("no mode given"), std::string::npos) << Describe(none);
  Result mode = Load({"fly"});
  EXPECT_EQ(mode.code, 2) << Describe(mode);
  EXPECT_NE(mode.err.find("unknown mode \"fly\""), std::string::npos) << Describe(mode);
  Result flag = Load({"produce", "--speed", "9"});
  EXPECT_EQ(flag.code, 2) << Describe(flag);
  EXPECT_NE(flag.err.find("unknown option \"--speed\""), std::string::npos) << Describe(flag);
  Result size = Load({"produce", "--size", "abc"});
  EXPECT_EQ(size.code, 2) << Describe(size);
  EXPECT_NE(size.err.find("--size wants an integer"), std::string::npos) << Describe(size);
  Result e2e = Load({"e2e", "--size", "8"});
  EXPECT_EQ(e2e.code, 2) << Describe(e2e);
  Result batch = Load({"produce", "--batch", "4", "--inflight", "8"});
  EXPECT_EQ(batch.code, 2) << Describe(batch);
}

TEST(LoadCli, UnreachableNameServerFails) {
  const std::string port = std::to_string(brokerd::net::FreeLoopbackPort());
  Result r = Load({"produce", "--namesrv", "127.0.0.1:" + port, "--count", "1", "--quiet",
                   "--send-timeout-ms", "1000"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_NE(r.err.find("rs_load: producer:"), std::string::npos) << Describe(r);
}

class LoadCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(namesrv_.Start());
    broker_.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(namesrv_.port()) + "\n");
    ASSERT_TRUE(broker_.Start());
    ns_ = "127.0.0.1:" + std::to_string(namesrv_.port());
    const std::string broker_addr = "127.0.0.1:" + std::to_string(broker_.port());
    bool registered = false;
    for (int i = 0; i < 200 && !registered; ++i) {
      Result r = Admin({"clusterList", "-n", ns_, "--json"});
      registered = r.code == 0 && r.out.find(broker_addr) != std::string::npos;
      if (!registered) std::this_thread::sleep_for(milliseconds(100));
    }
    ASSERT_TRUE(registered) << "the broker did not register";
  }

  void CreateTopic(const std::string& topic) {
    Result r = Admin(
        {"updateTopic", "-n", ns_, "-c", "DefaultCluster", "-t", topic, "-r", "4", "-w", "4"});
    ASSERT_EQ(r.code, 0) << Describe(r);
    for (int i = 0; i < 200; ++i) {
      if (Admin({"topicRoute", "-n", ns_, "-t", topic}).code == 0) return;
      std::this_thread::sleep_for(milliseconds(100));
    }
    FAIL() << "no route for " << topic;
  }

  // The sum of the max offsets of topic's queues (what the broker stored).
  int64_t Stored(const std::string& topic) {
    Result r = Admin({"topicStatus", "-n", ns_, "-t", topic, "--json"});
    EXPECT_EQ(r.code, 0) << Describe(r);
    Json j = ParseJson(r);
    int64_t sum = 0;
    const Json& queues = j.contains("queues") ? j["queues"] : j;
    for (const Json& q : queues) {
      if (q.is_object() && q.contains("maxOffset")) sum += q["maxOffset"].get<int64_t>();
    }
    return sum;
  }

  // Runs rs_load with the summary as JSON on stdout; expects exit 0 and ok.
  Json Run(const std::vector<std::string>& args) {
    Result r = Load(Cat(args, {"--namesrv", ns_, "--json", "-", "--quiet"}));
    EXPECT_EQ(r.code, 0) << Describe(r);
    Json j = ParseJson(r);
    EXPECT_EQ(j.value("ok", false), true) << Describe(r);
    EXPECT_EQ(j.value("tool", ""), "rs_load");
    return j;
  }

  Namesrvd namesrv_;
  Brokerd broker_;
  std::string ns_;
};

TEST_F(LoadCliTest, ProduceModesThenConsumeEverything) {
  CreateTopic("LoadT");
  // Sync, one in flight per thread, with keys and a tag.
  Json sync = Run({"produce", "--topic", "LoadT", "--count", "300", "--duration", "0", "--threads",
                   "2", "--size", "64", "--keys", "--tags", "TagL"});
  EXPECT_EQ(sync["sent"], 300);
  EXPECT_EQ(sync["send_errors"], 0);
  EXPECT_EQ(sync["send_latency_us"]["count"], 300);
  EXPECT_GT(sync["send_latency_us"]["p50"].get<double>(), 0);
  EXPECT_LE(sync["send_latency_us"]["p50"].get<double>(),
            sync["send_latency_us"]["p999"].get<double>());
  EXPECT_GT(sync["send_msgs_per_s"].get<double>(), 0);
  // Async with a window.
  Json async = Run({"produce", "--topic", "LoadT", "--count", "500", "--duration", "0", "--threads",
                    "2", "--inflight", "16", "--size", "200"});
  EXPECT_EQ(async["sent"], 500);
  EXPECT_EQ(async["options"]["inflight"], 16);
  // Batches of 32: latency counts requests, not messages.
  Json batch = Run({"produce", "--topic", "LoadT", "--count", "640", "--duration", "0", "--threads",
                    "2", "--batch", "32", "--size", "100"});
  EXPECT_EQ(batch["sent"], 640);
  EXPECT_EQ(batch["send_latency_us"]["count"], 20);
  // The binary ROCKETMQ request header (-Drocketmq.serialize.type=ROCKETMQ in Java).
  Json binary = Run({"produce", "--topic", "LoadT", "--count", "160", "--duration", "0",
                     "--threads", "2", "--inflight", "8", "--serialize", "rocketmq"});
  EXPECT_EQ(binary["sent"], 160);
  EXPECT_EQ(binary["options"]["serialize"], "rocketmq");
  EXPECT_EQ(Stored("LoadT"), 1600);

  // A fresh group from the first offset receives all of them.
  Json consume = Run({"consume", "--topic", "LoadT", "--group", "load_cg", "--from", "first",
                      "--count", "1600", "--duration", "60", "--idle", "5"});
  EXPECT_EQ(consume["received"], 1600);
  EXPECT_GT(consume["recv_msgs_per_s"].get<double>(), 0);
  // Bodies of >= 16 bytes carry the send stamp, so each message has an end-to-end latency.
  EXPECT_EQ(consume["e2e_latency_us"]["count"], 1600);
  EXPECT_EQ(consume["consume_errors"], 0);
  // The pull path (views, one thread per queue) reads the same messages.
  Json pull = Run({"consume", "--topic", "LoadT", "--group", "load_pull", "--from", "first",
                   "--pull", "--pull-batch", "1024", "--count", "1600", "--duration", "60"});
  EXPECT_EQ(pull["received"], 1600);
  EXPECT_EQ(pull["e2e_latency_us"]["count"], 1600);
  EXPECT_EQ(pull["options"]["pull"], true);
}

TEST_F(LoadCliTest, EndToEndAtAFixedRate) {
  CreateTopic("LoadE");
  Json j = Run({"e2e", "--topic", "LoadE", "--rate", "400", "--duration", "2", "--threads", "2",
                "--size", "256"});
  const int64_t sent = j["sent"].get<int64_t>();
  // 400 msg/s for 2 s, paced: not more than the rate allows (+1 request per thread), and
  // clearly more than nothing.
  EXPECT_GE(sent, 200);
  EXPECT_LE(sent, 802);
  EXPECT_EQ(j["received"], sent);
  EXPECT_EQ(j["e2e_latency_us"]["count"], sent);
  EXPECT_GT(j["e2e_latency_us"]["p50"].get<double>(), 0);
  EXPECT_LE(j["e2e_latency_us"]["p50"].get<double>(), j["e2e_latency_us"]["max"].get<double>());
  // The default 1 s warm-up sent (and stored) more, which is neither counted nor timed.
  EXPECT_EQ(j["options"]["warmup_s"], 1.0);
  const int64_t stored = Stored("LoadE");
  EXPECT_GE(stored, sent + 200);
  EXPECT_LE(stored, sent + 402);

  // Without a warm-up, what was sent is exactly what the broker stored.
  CreateTopic("LoadE0");
  Json k = Run({"e2e", "--topic", "LoadE0", "--rate", "400", "--duration", "1", "--warmup", "0",
                "--inflight", "4", "--size", "64"});
  EXPECT_EQ(k["received"], k["sent"]);
  EXPECT_EQ(Stored("LoadE0"), k["sent"].get<int64_t>());
}

}  // namespace
