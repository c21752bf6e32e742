// Client: a small blocking remoting client over a plain TCP socket, for tests and tools.
// Connect, send commands or raw bytes, read frames with a deadline; Call() sends a request and
// returns the response with the same opaque (other frames that arrive meanwhile are dropped).
// Thread-safety: none; use one Client from one thread at a time.
#ifndef BROKERD_NET_CLIENT_H_
#define BROKERD_NET_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "remoting/command.h"

namespace brokerd::net {

class Client {
 public:
  Client() = default;
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects to host (IPv4 literal):port within timeout.
  absl::Status Connect(const std::string& host, int port, std::chrono::milliseconds timeout);
  void Close();
  bool connected() const { return fd_ >= 0; }

  // Writes all of bytes (blocking, bounded by timeout).
  absl::Status SendRaw(std::string_view bytes,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Encodes cmd in its serialize type and sends it.
  absl::Status Send(const remoting::RemotingCommand& cmd,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads the next frame. DeadlineExceeded on timeout; Unavailable when the peer closed.
  absl::StatusOr<remoting::RemotingCommand> Read(std::chrono::milliseconds timeout);
  // Sends request and waits for the response frame with its opaque.
  absl::StatusOr<remoting::RemotingCommand> Call(const remoting::RemotingCommand& request,
                                                 std::chrono::milliseconds timeout);
  // True when the peer has closed the connection (EOF seen within timeout).
  bool WaitForClose(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string in_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and released), for tests
// that start servers.
int FreeLoopbackPort();

}  // namespace brokerd::net

#endif  // BROKERD_NET_CLIENT_H_
