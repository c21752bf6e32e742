// Tests of rsclient::RemotingClient against a real brokerd on 127.0.0.1: pipelined
// asynchronous requests matched by opaque, sync and oneway calls, deadlines against a server
// that never answers, refused connections, a broker that goes away (pending requests fail,
// the next request reconnects), and requests the broker initiates
// (NOTIFY_CONSUMER_IDS_CHANGED) reaching the request handler.
// Every wait is bounded.
#include "client/remoting_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../broker/harness.h"
#include "gtest/gtest.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)
using rsclient::RemotingClient;

std::string Addr(int port) { return "127.0.0.1:" + std::to_string(port); }

TEST(RemotingClientTest, PipelinedAsyncSyncAndOnewayRequests) {
  Brokerd broker;
  ASSERT_TRUE(broker.Start());
  RemotingClient client;
  constexpr int kN = 500;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  int ok = 0;
  std::vector<int32_t> queue_offsets;
  for (int i = 0; i < kN; ++i) {
    client.InvokeAsync(Addr(broker.port()), SendV2("RcT", 0, "m" + std::to_string(i), "t"),
                       std::chrono::seconds(10), [&](absl::StatusOr<RemotingCommand> r) {
                         std::lock_guard<std::mutex> lock(mu);
                         ++done;
                         if (r.ok() && r->code == rc::kSuccess) {
                           ++ok;
                           queue_offsets.push_back(std::stoi(*r->FindExtField("queueOffset")));
                         }
                         cv.notify_all();
                       });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == kN; }));
  }
  EXPECT_EQ(ok, kN);
  std::sort(queue_offsets.begin(), queue_offsets.end());
  for (int i = 0; i < kN; ++i) ASSERT_EQ(queue_offsets[static_cast<size_t>(i)], i);

  auto sync =
      client.InvokeSync(Addr(broker.port()), Request(30, {{"topic", "RcT"}, {"queueId", "0"}}),
                        std::chrono::seconds(5));
  ASSERT_TRUE(sync.ok()) << sync.status();
  EXPECT_EQ(*sync->FindExtField("offset"), std::to_string(kN));

  ASSERT_TRUE(client.InvokeOneway(Addr(broker.port()), SendV2("RcT", 0, "oneway", "t")).ok());
  bool stored = false;
  for (int i = 0; i < 100 && !stored; ++i) {
    auto max =
        client.InvokeSync(Addr(broker.port()), Request(30, {{"topic", "RcT"}, {"queueId", "0"}}),
                          std::chrono::seconds(5));
    stored = max.ok() && *max->FindExtField("offset") == std::to_string(kN + 1);
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(stored);
}

TEST(RemotingClientTest, DeadlinesRefusalsAndBrokerLoss) {
  // A listener that accepts and never answers.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(lfd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(::listen(lfd, 8), 0);
  socklen_t len = sizeof(sa);
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int silent_port = ntohs(sa.sin_port);

  RemotingClient client;
  auto start = std::chrono::steady_clock::now();
  auto silent = client.InvokeSync(Addr(silent_port), Request(30, {{"topic", "x"}}),
                                  std::chrono::milliseconds(300));
  EXPECT_TRUE(absl::IsDeadlineExceeded(silent.status())) << silent.status();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  ::close(lfd);

  const int free_port = brokerd::net::FreeLoopbackPort();
  auto refused = client.InvokeSync(Addr(free_port), Request(30, {}), std::chrono::seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  auto bad = client.InvokeSync("not-an-address", Request(30, {}), std::chrono::seconds(2));
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();

  // A held pull is pending when the broker is killed: it fails with Unavailable, and a later
  // request to the restarted broker reconnects.
  Brokerd broker;
  ASSERT_TRUE(broker.Start());
  std::atomic<bool> failed{false};
  std::atomic<bool> called{false};
  client.InvokeAsync(Addr(broker.port()), Pull("Gone", 0, 0, "*", 6, 20000),
                     std::chrono::seconds(30), [&](absl::StatusOr<RemotingCommand> r) {
                       failed = absl::IsUnavailable(r.status());
                       called = true;
                     });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  broker.Signal(SIGKILL);
  for (int i = 0; i < 200 && !called; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_TRUE(called.load());
  EXPECT_TRUE(failed.load());
}

TEST(RemotingClientTest, BrokerInitiatedRequestsReachTheHandler) {
  Brokerd broker;
  ASSERT_TRUE(broker.Start());
  // Declared before the client: the handler may run until the client is destroyed.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> notified;
  RemotingClient a;
  a.SetRequestHandler(
      [&](const std::string&, RemotingCommand& req) -> std::optional<RemotingCommand> {
        std::lock_guard<std::mutex> lock(mu);
        if (req.code == 40) notified.push_back(*req.FindExtField("consumerGroup"));
        cv.notify_all();
        return std::nullopt;
      });
  auto heartbeat = [](const std::string& client_id) {
    RemotingCommand hb = Request(34, {});
    hb.body = R"({"clientID":")" + client_id +
              R"(","consumerDataSet":[{"groupName":"RcGroup","consumeType":"CONSUME_PASSIVELY",)"
              R"("messageModel":"CLUSTERING","subscriptionDataSet":[]}],"producerDataSet":[]})";
    return hb;
  };
  auto r = a.InvokeSync(Addr(broker.port()), heartbeat("A"), std::chrono::seconds(5));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess);
  RemotingClient b;
  auto r2 = b.InvokeSync(Addr(broker.port()), heartbeat("B"), std::chrono::seconds(5));
  ASSERT_TRUE(r2.ok());
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !notified.empty(); }));
  EXPECT_EQ(notified.front(), "RcGroup");
}

}  // namespace
