// Unit tests of net::Server in-process: request/response by opaque, late answers from another
// thread, malformed frames closing only their connection, max_connections, output bound, Stop().
// Thread-safety: tests drive the server from the test thread; handlers run on its loop thread.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/client.h"
#include "net/server.h"
#include "remoting/frame_codec.h"

namespace brokerd::net {
namespace {

using remoting::RemotingCommand;
using std::chrono::milliseconds;

ServerOptions LocalOptions() {
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  return o;
}

TEST(NetServerTest, EchoesAndAnswersLaterFromAnotherThread) {
  Server server(LocalOptions());
  std::mutex mu;
  std::vector<std::thread> workers;
  server.set_request_handler([&](Connection& c, RemotingCommand req) {
    if (req.code == 2) {  // answer later, from another thread
      std::lock_guard<std::mutex> lock(mu);
      workers.emplace_back([conn = c.shared_from_this(), req] {
        std::this_thread::sleep_for(milliseconds(50));
        EXPECT_TRUE(conn->Send(remoting::MakeResponse(req, 0, "late")).ok());
      });
      return;
    }
    EXPECT_TRUE(c.Send(remoting::MakeResponse(req, 0, "now")).ok());
  });
  ASSERT_TRUE(server.Start().ok());
  Client client;
  ASSERT_TRUE(client.Connect("127.0.0.1", server.port(), milliseconds(2000)).ok());
  ASSERT_TRUE(client.Send(remoting::MakeRequest(2, 10)).ok());
  ASSERT_TRUE(client.Send(remoting::MakeRequest(1, 11)).ok());
  auto first = client.Read(milliseconds(5000));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->opaque, 11);
  EXPECT_EQ(first->remark, "now");
  auto second = client.Read(milliseconds(5000));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->opaque, 10);
  EXPECT_EQ(second->remark, "late");
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& t : workers) t.join();
  }
  server.Stop();
  server.Wait();
  EXPECT_FALSE(server.running());
}

TEST(NetServerTest, MalformedFrameClosesOnlyThatConnection) {
  Server server(LocalOptions());
  server.set_request_handler(
      [](Connection& c, RemotingCommand req) { (void)c.Send(remoting::MakeResponse(req, 0)); });
  ASSERT_TRUE(server.Start().ok());
  Client good, bad;
  ASSERT_TRUE(good.Connect("127.0.0.1", server.port(), milliseconds(2000)).ok());
  ASSERT_TRUE(bad.Connect("127.0.0.1", server.port(), milliseconds(2000)).ok());
  ASSERT_TRUE(bad.SendRaw(std::string("\x00\x00\x00\x08\x05\x00\x00\x00garbage!", 16)).ok());
  EXPECT_TRUE(bad.WaitForClose(milliseconds(5000)));
  auto r = good.Call(remoting::MakeRequest(1, 1), milliseconds(5000));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->opaque, 1);
}

TEST(NetServerTest, MaxConnectionsRejectsExtraConnections) {
  ServerOptions o = LocalOptions();
  o.max_connections = 1;
  Server server(o);
  server.set_request_handler(
      [](Connection& c, RemotingCommand req) { (void)c.Send(remoting::MakeResponse(req, 0)); });
  ASSERT_TRUE(server.Start().ok());
  Client a, b;
  ASSERT_TRUE(a.Connect("127.0.0.1", server.port(), milliseconds(2000)).ok());
  ASSERT_TRUE(a.Call(remoting::MakeRequest(1, 1), milliseconds(5000)).ok());
  ASSERT_TRUE(b.Connect("127.0.0.1", server.port(), milliseconds(2000)).ok());
  EXPECT_TRUE(b.WaitForClose(milliseconds(5000)));
  EXPECT_TRUE(a.Call(remoting::MakeRequest(1, 2), milliseconds(5000)).ok());
}

TEST(NetServerTest, OutputBoundClosesTheConnection) {
  ServerOptions o = LocalOptions();
  o.max_output_bytes_per_connection = 1024;
  Server server(o);
  std::atomic<bool> exhausted{false};
  server.set_request_handler([&](Connection& c, RemotingCommand req) {
    RemotingCommand big = remoting::MakeResponse(req, 0);
    big.body.assign(4096, 'x');
    absl::Status s = c.Send(big);
    if (absl::IsResourceExhausted(s)) exhausted = true;
  });
  ASSERT_TRUE(server.Start().ok());
  Client a;
  ASSERT_TRUE(a.Connect("127.0.0.1", server.port(), milliseconds(2000)).ok());
  ASSERT_TRUE(a.Send(remoting::MakeRequest(1, 1)).ok());
  EXPECT_TRUE(a.WaitForClose(milliseconds(5000)));
  EXPECT_TRUE(exhausted.load());
}

}  // namespace
}  // namespace brokerd::net
