// RemotingClient: the client side of RocketMQ's remoting protocol for the C++ client library.
// One connection per "ip:port", opened on first use and kept; requests are written from the
// caller's thread (pipelined: many in flight per connection) and answers are matched by opaque
// on one I/O thread (epoll). Requests the server initiates (NOTIFY_CONSUMER_IDS_CHANGED,
// CHECK_TRANSACTION_STATE, ...) go to the request handler; a non-oneway one is answered with what
// the handler returns.
//
// Callbacks (InvokeAsync's and the request handler) run on the I/O thread: they must not block
// (hand work to a pool). A callback runs exactly once: with the response, or with an error when
// the deadline passes (DeadlineExceeded), the connection fails or closes (Unavailable), or the
// client is shut down (Cancelled).
//
// Thread-safety: every method may be called from any thread except the blocking InvokeSync and
// Shutdown, which must not be called from a callback.
#ifndef CLIENT_REMOTING_CLIENT_H_
#define CLIENT_REMOTING_CLIENT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "remoting/command.h"

namespace rsclient {

using brokerd::remoting::RemotingCommand;

struct RemotingClientOptions {
  std::chrono::milliseconds connect_timeout{3000};
  // Largest frame accepted from a server.
  size_t max_frame_bytes = 16u << 20;
  // Unsent bytes queued per connection at most; beyond, a request fails with
  // ResourceExhausted instead of queueing without bound.
  size_t max_pending_output_bytes = 64u << 20;
  // Header encoding of the requests (Java's -Drocketmq.serialize.type): JSON (the default) or
  // ROCKETMQ, the binary header every 4.9.7 broker and name server accepts and answers in kind;
  // it is cheaper to encode and decode on both sides.
  brokerd::remoting::SerializeType serialize_type = brokerd::remoting::SerializeType::kJson;
};

class RemotingClient {
 public:
  using ResponseCallback = std::function<void(absl::StatusOr<RemotingCommand>)>;
  // Gets a request the server sent over the connection to `addr`; returns the answer for a
  // non-oneway request (nullopt: no answer).
  using RequestHandler =
      std::function<std::optional<RemotingCommand>(const std::string& addr, RemotingCommand&)>;

  explicit RemotingClient(RemotingClientOptions options = RemotingClientOptions());
  ~RemotingClient();  // Shutdown()
  RemotingClient(const RemotingClient&) = delete;
  RemotingClient& operator=(const RemotingClient&) = delete;

  // Set before the first request.
  void SetRequestHandler(RequestHandler handler);

  // Sends request to addr ("ip:port") and calls done with the answer (see above). The opaque is
  // assigned here.
  void InvokeAsync(const std::string& addr, RemotingCommand request,
                   std::chrono::milliseconds timeout, ResponseCallback done);
  // InvokeAsync and wait.
  absl::StatusOr<RemotingCommand> InvokeSync(const std::string& addr, RemotingCommand request,
                                             std::chrono::milliseconds timeout);
  // Sends with the oneway flag; OK once queued for sending.
  absl::Status InvokeOneway(const std::string& addr, RemotingCommand request);

  // Closes the connection to addr (pending requests fail with Unavailable).
  void CloseConnection(const std::string& addr);
  // Fails everything pending and stops the I/O thread. Idempotent.
  void Shutdown();

 private:
  struct Conn;
  struct Pending {
    ResponseCallback done;
    std::chrono::steady_clock::time_point deadline;
  };

  absl::StatusOr<std::shared_ptr<Conn>> GetConn(const std::string& addr);
  absl::Status Write(const std::shared_ptr<Conn>& conn, std::string bytes);
  void Loop();
  void OnReadable(const std::shared_ptr<Conn>& conn);
  void OnWritable(const std::shared_ptr<Conn>& conn);
  void Fail(const std::shared_ptr<Conn>& conn, const absl::Status& why);
  void ExpireDeadlines();

  const RemotingClientOptions options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<int32_t> next_opaque_{1};
  std::atomic<bool> stopped_{false};
  RequestHandler handler_;

  std::mutex mu_;  // guards conns_, by_fd_ and pending_
  std::map<std::string, std::shared_ptr<Conn>> conns_;
  std::map<int, std::shared_ptr<Conn>> by_fd_;
  absl::flat_hash_map<int32_t, std::pair<std::shared_ptr<Conn>, Pending>> pending_;
  std::mutex connect_mu_;  // serializes connection set-up
  std::thread thread_;
};

// "ip:port" -> (ip, port); InvalidArgument otherwise.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& addr);

}  // namespace rsclient

#endif  // CLIENT_REMOTING_CLIENT_H_
