// Client implementation: blocking socket I/O with poll(2) deadlines.
// Thread-safety: none (see client.h).
#include "net/client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <variant>

#include "absl/strings/str_cat.h"
#include "remoting/frame_codec.h"

namespace brokerd::net {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

Client::~Client() { Close(); }

void Client::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  in_.clear();
}

absl::Status Client::Connect(const std::string& host, int port, std::chrono::milliseconds timeout) {
  Close();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", host));
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(err)));
  }
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
      close(fd);
      return absl::DeadlineExceededError("connect timed out");
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      close(fd);
      return absl::UnavailableError(absl::StrCat("connect: ", strerror(err)));
    }
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_ = fd;
  return absl::OkStatus();
}

absl::Status Client::SendRaw(std::string_view bytes, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  auto deadline = Clock::now() + timeout;
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    }
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, RemainingMs(deadline)) != 1) return absl::DeadlineExceededError("send");
  }
  return absl::OkStatus();
}

absl::Status Client::Send(const remoting::RemotingCommand& cmd, std::chrono::milliseconds timeout) {
  absl::StatusOr<std::string> frame = remoting::EncodeFrame(cmd);
  if (!frame.ok()) return frame.status();
  return SendRaw(*frame, timeout);
}

absl::StatusOr<remoting::RemotingCommand> Client::Read(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return absl::FailedPreconditionError("not connected");
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (!in_.empty()) {
      absl::StatusOr<remoting::DecodeResult> r = remoting::DecodeFrame(in_);
      if (!r.ok()) return r.status();
      if (auto* f = std::get_if<remoting::DecodedFrame>(&*r)) {
        remoting::RemotingCommand cmd = std::move(f->command);
        in_.erase(0, f->bytes_consumed);
        return cmd;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, RemainingMs(deadline));
    if (pr == 0) return absl::DeadlineExceededError("no frame before the deadline");
    if (pr < 0 && errno != EINTR) return absl::InternalError(strerror(errno));
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n == 0) return absl::UnavailableError("connection closed by peer");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    in_.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<remoting::RemotingCommand> Client::Call(const remoting::RemotingCommand& request,
                                                       std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  if (absl::Status s = Send(request, timeout); !s.ok()) return s;
  while (true) {
    absl::StatusOr<remoting::RemotingCommand> r =
        Read(std::chrono::milliseconds(RemainingMs(deadline)));
    if (!r.ok()) return r.status();
    if (r->IsResponse() && r->opaque == request.opaque) return r;
  }
}

bool Client::WaitForClose(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return true;
  auto deadline = Clock::now() + timeout;
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, RemainingMs(deadline));
    if (pr == 0) return false;
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;  // reset counts as closed
  }
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace brokerd::net
