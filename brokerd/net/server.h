// Server: the remoting connection layer on io_uring. Listens on host:port, accepts connections,
// receives and decodes frames (remoting::DecodeFrame over a per-connection buffer) and hands each
// request to a handler; responses and server-initiated requests go out through Connection::Send,
// which may be called later and from any thread (responses are matched by opaque on the client
// side, so they may be sent in any order).
//
// One loop thread runs the ring (IORING_OP_ACCEPT / RECV / SEND, and IORING_OP_READ on an
// eventfd that wakes it for cross-thread sends and Stop()).
//
// Policies:
//  * A malformed frame (any DecodeFrame error) closes that connection only, with a logged reason.
//  * Output bound: when a connection's queued, unsent output would exceed
//    ServerOptions::max_output_bytes_per_connection, the connection is CLOSED (logged) and Send
//    returns ResourceExhausted. (A peer that does not read its responses cannot be helped by
//    SYSTEM_BUSY answers, which would also queue.)
//  * max_connections: an accepted connection beyond the limit is closed at once (logged).
//
// Thread-safety: Start/Wait are for the owning thread; Stop() and port() may be called from any
// thread (and Stop() is async-signal-unsafe: call it from a normal thread, e.g. after sigwait).
// The handlers run on the loop thread, one at a time; they must not block for long. Connection's
// Send/Close/id/peer are thread-safe and stay valid (as no-ops returning errors) after the
// connection closed or the server was destroyed, as long as a shared_ptr is held.
#ifndef BROKERD_NET_SERVER_H_
#define BROKERD_NET_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"

namespace brokerd::net {

struct ServerOptions {
  std::string host = "0.0.0.0";  // IPv4 literal to bind
  int port = 9876;               // 0 = ephemeral (see Server::port())
  // Open connections at most; extra accepted connections are closed at once.
  size_t max_connections = 4096;
  // Largest frame accepted / sent (length field included), as remoting::CodecLimits.
  size_t max_frame_bytes = remoting::kDefaultMaxFrameBytes;
  // Queued unsent output per connection; exceeding it closes the connection. Default 64 MiB.
  size_t max_output_bytes_per_connection = 64u << 20;
  // Size of each RECV buffer (one per connection).
  size_t recv_chunk_bytes = 64u << 10;
  // Submission queue entries of the ring.
  unsigned ring_entries = 256;
  // listen(2) backlog.
  int listen_backlog = 1024;
  // How long Stop() lets in-flight operations drain before tearing the ring down.
  int shutdown_drain_ms = 2000;
};

class Server;
struct WakeState;

// One accepted TCP connection.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }  // "ip:port"

  // Encodes cmd in its own serialize type and queues it. Errors: FailedPrecondition when the
  // connection is closed or the server stopped; ResourceExhausted when the output bound was hit
  // (the connection is then closed); encoding errors.
  absl::Status Send(const remoting::RemotingCommand& cmd);
  // Queues raw bytes (tests and proxies).
  absl::Status SendRaw(std::string bytes);
  // Asks the loop to close the connection (pending output is dropped).
  void Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  friend class Server;
  Connection(uint64_t id, int fd, std::string peer, std::shared_ptr<WakeState> wake,
             size_t max_output, size_t max_frame, size_t recv_chunk);

  const uint64_t id_;
  const int fd_;
  const std::string peer_;
  const std::shared_ptr<WakeState> wake_;
  const size_t max_output_;
  const size_t max_frame_;

  std::atomic<bool> closed_{false};
  std::mutex mu_;                         // guards pending_out_, close_requested_
  std::string pending_out_;               // queued by Send, not yet handed to the loop
  std::atomic<size_t> sending_bytes_{0};  // size of the SEND in flight (for the output bound)
  bool close_requested_ = false;

  // Loop-thread state.
  std::string in_;              // received, not yet decoded bytes
  std::vector<char> recv_buf_;  // RECV target
  std::string sending_;         // bytes of the SEND in flight
  size_t sent_ = 0;             // bytes of sending_ already written
  bool recv_in_flight_ = false;
  bool send_in_flight_ = false;
  bool closing_ = false;  // shutdown(2) done, waiting for in-flight ops to finish
};

class Server {
 public:
  using RequestHandler = std::function<void(Connection&, remoting::RemotingCommand)>;
  using CloseHandler = std::function<void(Connection&)>;
  using Logger = std::function<void(std::string_view)>;

  explicit Server(ServerOptions options);
  ~Server();  // Stop() + Wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Called for every decoded frame (requests and responses alike) on the loop thread.
  void set_request_handler(RequestHandler h) { handler_ = std::move(h); }
  // Called once per connection after it closed (loop thread).
  void set_close_handler(CloseHandler h) { close_handler_ = std::move(h); }
  // Log sink; default: one line to stderr.
  void set_logger(Logger l) { logger_ = std::move(l); }

  // Binds, listens and starts the loop thread. Errors from socket/bind/listen/io_uring setup.
  absl::Status Start();
  // The bound port (after Start), useful with port 0.
  int port() const { return bound_port_.load(); }
  // Requests shutdown; returns at once. Safe from any thread, idempotent.
  void Stop();
  // Joins the loop thread (after Stop, or after the loop failed).
  void Wait();
  bool running() const { return running_.load(); }
  size_t connection_count() const { return connection_count_.load(); }

 private:
  void Loop();
  void Log(std::string_view msg);

  ServerOptions options_;
  RequestHandler handler_;
  CloseHandler close_handler_;
  Logger logger_;
  std::shared_ptr<WakeState> wake_;
  int listen_fd_ = -1;
  std::atomic<int> bound_port_{0};
  std::atomic<bool> running_{false};
  std::atomic<size_t> connection_count_{0};
  std::thread thread_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace brokerd::net

#endif  // BROKERD_NET_SERVER_H_
