// Tests of the client examples (examples/ordered_orders.cc, concurrent_consumer.cc,
// batch_producer.cc): each binary runs as a subprocess against a real namesrvd and brokerd
// (registered with it, topics created on the first send), twice, as a user re-running it
// against a long-lived broker would; each run must exit 0 and print its summary line. Also
// --help, misuse (exit 2) and an unreachable name server (exit 1 with the status printed).
// Every run is killed after 60 s.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../broker/harness.h"
#include "../tools/tool_process.h"
#include "client/remoting_client.h"
#include "client/route.h"
#include "gtest/gtest.h"

namespace {

using brokerd_test::Brokerd;
using brokerd_test::Namesrvd;
using std::chrono::milliseconds;

using tool_test::Describe;
using tool_test::Result;

// Runs the binary at path with args and returns its exit code and output; kills it after 60 s.
Result RunExample(const char* path, const std::vector<std::string>& args) {
  return tool_test::RunTool(path, path, args);
}

// How many lines of text start with prefix and contain part.
int CountLines(const std::string& text, const std::string& prefix, const std::string& part) {
  int n = 0;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0 && line.find(part) != std::string::npos) ++n;
    at = end + 1;
  }
  return n;
}

// A namesrvd and a brokerd registered with it (autoCreateTopicEnable=true, the default).
class ExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(namesrv_.Start());
    namesrv_addr_ = "127.0.0.1:" + std::to_string(namesrv_.port());
    broker_.set_extra_config("namesrvAddr=" + namesrv_addr_ + "\n");
    ASSERT_TRUE(broker_.Start());
    // The examples' producers route a new topic through TBW102: wait until it is registered.
    rsclient::RemotingClient client;
    rsclient::NameServers namesrv(&client, {namesrv_addr_});
    bool registered = false;
    for (int i = 0; i < 200 && !registered; ++i) {
      registered = namesrv.FetchRoute("TBW102").ok();
      if (!registered) std::this_thread::sleep_for(milliseconds(100));
    }
    client.Shutdown();
    ASSERT_TRUE(registered) << "the broker did not register with the name server";
  }

  std::vector<std::string> Args(std::vector<std::string> extra) const {
    extra.insert(extra.begin(), {"--namesrv", namesrv_addr_, "--timeout-s", "40"});
    return extra;
  }

  Namesrvd namesrv_;
  Brokerd broker_;
  std::string namesrv_addr_;
};

TEST_F(ExamplesTest, OrderedOrdersCompleteInSequence) {
  Result r = RunExample(RS_EXAMPLE_ORDERED_PATH, Args({}));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("all 10 orders completed in sequence"), std::string::npos) << Describe(r);
  EXPECT_EQ(CountLines(r.out, "order ", ": create, pay, ship"), 10) << Describe(r);
  // Again, on the same topic and group: only the new run's orders count.
  r = RunExample(RS_EXAMPLE_ORDERED_PATH, Args({"--orders", "25"}));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("all 25 orders completed in sequence"), std::string::npos) << Describe(r);
  EXPECT_EQ(CountLines(r.out, "order ", ": create, pay, ship"), 25) << Describe(r);
}

TEST_F(ExamplesTest, ConcurrentConsumerReceivesEverything) {
  Result r = RunExample(RS_EXAMPLE_CONCURRENT_PATH, Args({}));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("sent 64 messages (32 sync, 32 async)"), std::string::npos) << Describe(r);
  EXPECT_NE(r.out.find("received all 64 messages on "), std::string::npos) << Describe(r);
  // At least: at-least-once delivery may print a message twice.
  EXPECT_GE(CountLines(r.out, "received key ", " mode async "), 32) << Describe(r);
  r = RunExample(RS_EXAMPLE_CONCURRENT_PATH, Args({"--messages", "9"}));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("received all 9 messages on "), std::string::npos) << Describe(r);
}

TEST_F(ExamplesTest, BatchProducerReadsEverythingBack) {
  Result r = RunExample(RS_EXAMPLE_BATCH_PATH, Args({}));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out, "batch of 32 -> queue ", ""), 8) << Describe(r);
  EXPECT_NE(r.out.find("read back all 256 messages"), std::string::npos) << Describe(r);
  // The second run reads the first run's messages too (from offset 0) and skips them.
  r = RunExample(RS_EXAMPLE_BATCH_PATH, Args({"--messages", "50", "--batch-size", "7"}));
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(CountLines(r.out, "batch of ", ""), 8) << Describe(r);
  EXPECT_NE(r.out.find("read back all 50 messages"), std::string::npos) << Describe(r);
}

TEST(ExamplesUsageTest, HelpMisuseAndUnreachableNameServer) {
  const int closed_port = brokerd::net::FreeLoopbackPort();  // nothing listens there
  for (const char* path :
       {RS_EXAMPLE_ORDERED_PATH, RS_EXAMPLE_CONCURRENT_PATH, RS_EXAMPLE_BATCH_PATH}) {
    Result r = RunExample(path, {"--help"});
    EXPECT_EQ(r.code, 0) << path << Describe(r);
    EXPECT_NE(r.out.find("--namesrv"), std::string::npos) << path << Describe(r);
    EXPECT_NE(r.out.find("--topic"), std::string::npos) << path << Describe(r);

    r = RunExample(path, {"--no-such-flag", "1"});
    EXPECT_EQ(r.code, 2) << path << Describe(r);
    EXPECT_NE(r.err.find("unknown option --no-such-flag"), std::string::npos) << path;
    r = RunExample(path, {"--topic"});
    EXPECT_EQ(r.code, 2) << path << Describe(r);
    EXPECT_NE(r.err.find("--topic needs a value"), std::string::npos) << path;

    r = RunExample(path, {"--namesrv", "127.0.0.1:" + std::to_string(closed_port)});
    EXPECT_EQ(r.code, 1) << path << Describe(r);
    EXPECT_NE(r.err.find("UNAVAILABLE"), std::string::npos) << path << Describe(r);
  }
}

}  // namespace
