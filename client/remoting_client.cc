// RemotingClient implementation (see remoting_client.h).
// Thread-safety: mu_ guards the connection and pending tables; each Conn's out_mu guards its
// output buffers and the `writing` flag that makes one thread at a time write to the socket
// (Write sends outside the lock, combining other threads' frames); the input buffer is touched
// only by the I/O thread.
// Callbacks run without any lock held.
#include "client/remoting_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <utility>
#include <variant>
#include <vector>

#include "remoting/codes.h"
#include "remoting/frame_codec.h"

namespace rsclient {

namespace remoting = brokerd::remoting;

struct RemotingClient::Conn {
  // The descriptor is closed only here, once nobody uses the Conn, so its number cannot be
  // reused by a new connection while a thread still reads or writes through this one.
  ~Conn() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;
  std::string addr;
  std::mutex out_mu;
  std::string out;  // unsent bytes the I/O thread writes when the socket drains
  // A thread is in send() (Write); frames of other threads wait in `combined` and are sent by
  // it, in order, right after.
  bool writing = false;
  std::string combined;
  bool closed = false;
  std::string in;  // I/O thread only
};

namespace {

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(what + ": " + std::strerror(errno));
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& addr) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= addr.size()) {
    return absl::InvalidArgumentError("address '" + addr + "' is not ip:port");
  }
  int port = 0;
  for (char c : addr.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      return absl::InvalidArgumentError("address '" + addr + "' has a bad port");
    }
    port = port * 10 + (c - '0');
  }
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError("address '" + addr + "' has a bad port");
  }
  return std::make_pair(addr.substr(0, colon), port);
}

RemotingClient::RemotingClient(RemotingClientOptions options) : options_(options) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Loop(); });
}

RemotingClient::~RemotingClient() {
  Shutdown();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void RemotingClient::SetRequestHandler(RequestHandler handler) {
  std::lock_guard<std::mutex> lock(mu_);
  handler_ = std::move(handler);
}

void RemotingClient::Shutdown() {
  if (stopped_.exchange(true)) return;
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [addr, c] : conns_) conns.push_back(c);
  }
  for (auto& c : conns) Fail(c, absl::CancelledError("client shut down"));
}

absl::StatusOr<std::shared_ptr<RemotingClient::Conn>> RemotingClient::GetConn(
    const std::string& addr) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = conns_.find(addr);
    if (it != conns_.end()) return it->second;
  }
  std::lock_guard<std::mutex> connect_lock(connect_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = conns_.find(addr);
    if (it != conns_.end()) return it->second;
  }
  if (stopped_.load()) return absl::CancelledError("client shut down");
  absl::StatusOr<std::pair<std::string, int>> hp = SplitHostPort(addr);
  if (!hp.ok()) return hp.status();
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(hp->second));
  if (::inet_pton(AF_INET, hp->first.c_str(), &sa.sin_addr) != 1) {
    return absl::InvalidArgumentError("address '" + addr + "' is not an IPv4 literal");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 && errno != EINPROGRESS) {
    absl::Status s = Errno("connect to " + addr);
    ::close(fd);
    return s;
  }
  pollfd p{fd, POLLOUT, 0};
  int n = ::poll(&p, 1, static_cast<int>(options_.connect_timeout.count()));
  int err = 0;
  socklen_t len = sizeof(err);
  if (n <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    ::close(fd);
    if (n == 0) return absl::DeadlineExceededError("connect to " + addr + " timed out");
    return absl::UnavailableError("connect to " + addr + ": " +
                                  std::strerror(err != 0 ? err : errno));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  auto conn = std::make_shared<Conn>();
  conn->fd = fd;
  conn->addr = addr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns_[addr] = conn;
    by_fd_[fd] = conn;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  return conn;
}

absl::Status RemotingClient::Write(const std::shared_ptr<Conn>& conn, std::string bytes) {
  std::unique_lock<std::mutex> lock(conn->out_mu);
  if (conn->closed) return absl::UnavailableError("connection to " + conn->addr + " closed");
  if (conn->out.size() + conn->combined.size() + bytes.size() > options_.max_pending_output_bytes) {
    return absl::ResourceExhaustedError("more than " +
                                        std::to_string(options_.max_pending_output_bytes) +
                                        " bytes waiting to be sent to " + conn->addr);
  }
  if (!conn->out.empty()) {  // the socket is full: the I/O thread sends `out` when it drains
    conn->out.append(bytes);
    return absl::OkStatus();
  }
  if (conn->writing) {  // another thread is in send(): it sends these bytes after its own
    conn->combined.append(bytes);
    return absl::OkStatus();
  }
  // This thread writes, outside the lock, what it has and whatever other threads hand it
  // meanwhile: one send() for many frames under load instead of one each, and no thread waits
  // for the lock while another is in the kernel.
  conn->writing = true;
  std::string batch = std::move(bytes);
  while (true) {
    lock.unlock();
    size_t done = 0;
    int error = 0;
    while (done < batch.size()) {
      ssize_t n =
          ::send(conn->fd, batch.data() + done, batch.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      error = n < 0 ? errno : EPIPE;
      break;
    }
    lock.lock();
    if (error != 0) {
      // The caller fails the connection, and with it every request whose frame was combined.
      conn->writing = false;
      conn->combined.clear();
      errno = error;
      return Errno("send to " + conn->addr);
    }
    if (done < batch.size()) {  // socket full: the rest goes out from the I/O thread, in order
      conn->out.append(batch, done, std::string::npos);
      conn->out.append(conn->combined);
      conn->combined.clear();
      conn->writing = false;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
      ev.data.fd = conn->fd;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev);
      return absl::OkStatus();
    }
    if (conn->combined.empty() || conn->closed) {
      conn->writing = false;
      conn->combined.clear();
      return absl::OkStatus();
    }
    batch.clear();
    batch.swap(conn->combined);
  }
}

void RemotingClient::InvokeAsync(const std::string& addr, RemotingCommand request,
                                 std::chrono::milliseconds timeout, ResponseCallback done) {
  if (stopped_.load()) return done(absl::CancelledError("client shut down"));
  const int32_t opaque = next_opaque_.fetch_add(1);
  request.opaque = opaque;
  request.flag &= ~(remoting::kFlagResponse | remoting::kFlagOneway);
  request.serialize_type = options_.serialize_type;
  absl::StatusOr<std::string> frame = remoting::EncodeFrame(request);
  if (!frame.ok()) return done(frame.status());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // An open connection and the pending entry in one pass under mu_ (the common case); a first
  // request to addr connects outside it.
  std::shared_ptr<Conn> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = conns_.find(addr);
    if (it != conns_.end()) {
      conn = it->second;
      pending_[opaque] = {conn, Pending{std::move(done), deadline}};
    }
  }
  if (conn == nullptr) {
    absl::StatusOr<std::shared_ptr<Conn>> opened = GetConn(addr);
    if (!opened.ok()) return done(opened.status());
    conn = *opened;
    std::lock_guard<std::mutex> lock(mu_);
    pending_[opaque] = {conn, Pending{std::move(done), deadline}};
  }
  if (absl::Status s = Write(conn, std::move(*frame)); !s.ok()) {
    ResponseCallback cb;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_.find(opaque);
      if (it == pending_.end()) return;  // already failed by the I/O thread
      cb = std::move(it->second.second.done);
      pending_.erase(it);
    }
    if (!absl::IsResourceExhausted(s)) Fail(conn, s);
    cb(s);
  }
}

absl::StatusOr<RemotingCommand> RemotingClient::InvokeSync(const std::string& addr,
                                                           RemotingCommand request,
                                                           std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RemotingCommand>>>();
  std::future<absl::StatusOr<RemotingCommand>> future = promise->get_future();
  InvokeAsync(addr, std::move(request), timeout,
              [promise](absl::StatusOr<RemotingCommand> r) { promise->set_value(std::move(r)); });
  return future.get();
}

absl::Status RemotingClient::InvokeOneway(const std::string& addr, RemotingCommand request) {
  if (stopped_.load()) return absl::CancelledError("client shut down");
  absl::StatusOr<std::shared_ptr<Conn>> conn = GetConn(addr);
  if (!conn.ok()) return conn.status();
  request.opaque = next_opaque_.fetch_add(1);
  request.flag = (request.flag & ~remoting::kFlagResponse) | remoting::kFlagOneway;
  request.serialize_type = options_.serialize_type;
  absl::StatusOr<std::string> frame = remoting::EncodeFrame(request);
  if (!frame.ok()) return frame.status();
  absl::Status s = Write(*conn, std::move(*frame));
  if (!s.ok() && !absl::IsResourceExhausted(s)) Fail(*conn, s);
  return s;
}

void RemotingClient::CloseConnection(const std::string& addr) {
  std::shared_ptr<Conn> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = conns_.find(addr);
    if (it == conns_.end()) return;
    conn = it->second;
  }
  Fail(conn, absl::UnavailableError("connection to " + addr + " closed by the client"));
}

void RemotingClient::Fail(const std::shared_ptr<Conn>& conn, const absl::Status& why) {
  {
    std::lock_guard<std::mutex> lock(conn->out_mu);
    if (conn->closed) return;
    conn->closed = true;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
    ::shutdown(conn->fd, SHUT_RDWR);
  }
  std::vector<ResponseCallback> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = conns_.find(conn->addr);
    if (it != conns_.end() && it->second == conn) conns_.erase(it);
    auto f = by_fd_.find(conn->fd);
    if (f != by_fd_.end() && f->second == conn) by_fd_.erase(f);
    for (auto p = pending_.begin(); p != pending_.end();) {
      if (p->second.first == conn) {
        failed.push_back(std::move(p->second.second.done));
        pending_.erase(p++);
      } else {
        ++p;
      }
    }
  }
  for (ResponseCallback& cb : failed) cb(why);
}

void RemotingClient::OnWritable(const std::shared_ptr<Conn>& conn) {
  absl::Status error;
  {
    std::lock_guard<std::mutex> lock(conn->out_mu);
    if (conn->closed) return;
    while (!conn->out.empty()) {
      ssize_t n = ::send(conn->fd, conn->out.data(), conn->out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        conn->out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      error = Errno("send to " + conn->addr);
      break;
    }
    if (error.ok() && conn->out.empty()) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = conn->fd;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev);
    }
  }
  if (!error.ok()) Fail(conn, error);
}

void RemotingClient::OnReadable(const std::shared_ptr<Conn>& conn) {
  char buf[65536];
  bool eof = false;
  for (int round = 0; round < 64; ++round) {
    ssize_t n = ::recv(conn->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      conn->in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return Fail(conn, Errno("recv from " + conn->addr));
  }
  remoting::CodecLimits limits;
  limits.max_frame_bytes = options_.max_frame_bytes;
  size_t used = 0;
  while (used < conn->in.size()) {
    absl::StatusOr<remoting::DecodeResult> r =
        remoting::DecodeFrame(std::string_view(conn->in).substr(used), limits);
    if (!r.ok()) {
      return Fail(conn, absl::DataLossError("bad frame from " + conn->addr + ": " +
                                            std::string(r.status().message())));
    }
    if (std::holds_alternative<remoting::NeedMoreData>(*r)) break;
    remoting::DecodedFrame& f = std::get<remoting::DecodedFrame>(*r);
    used += f.bytes_consumed;
    RemotingCommand& cmd = f.command;
    if (cmd.IsResponse()) {
      ResponseCallback cb;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = pending_.find(cmd.opaque);
        if (it != pending_.end()) {
          cb = std::move(it->second.second.done);
          pending_.erase(it);
        }
      }
      if (cb) cb(std::move(cmd));  // a late answer (after its deadline) is dropped
      continue;
    }
    RequestHandler handler;
    {
      std::lock_guard<std::mutex> lock(mu_);
      handler = handler_;
    }
    std::optional<RemotingCommand> answer;
    if (handler) {
      answer = handler(conn->addr, cmd);
    } else if (!cmd.IsOneway()) {
      answer = remoting::MakeResponse(
          cmd, remoting::response_code::kRequestCodeNotSupported,
          "request code " + std::to_string(cmd.code) + " not supported by this client");
    }
    if (answer.has_value() && !cmd.IsOneway()) {
      answer->opaque = cmd.opaque;
      answer->flag |= remoting::kFlagResponse;
      if (absl::StatusOr<std::string> frame = remoting::EncodeFrame(*answer); frame.ok()) {
        (void)Write(conn, std::move(*frame));
      }
    }
  }
  conn->in.erase(0, used);
  if (eof) Fail(conn, absl::UnavailableError("connection closed by " + conn->addr));
}

void RemotingClient::ExpireDeadlines() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<ResponseCallback> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto p = pending_.begin(); p != pending_.end();) {
      if (p->second.second.deadline <= now) {
        expired.push_back(std::move(p->second.second.done));
        pending_.erase(p++);
      } else {
        ++p;
      }
    }
  }
  for (ResponseCallback& cb : expired) cb(absl::DeadlineExceededError("no answer in time"));
}

void RemotingClient::Loop() {
  epoll_event events[64];
  auto last_expiry = std::chrono::steady_clock::now();
  while (!stopped_.load()) {
    int n = ::epoll_wait(epoll_fd_, events, 64, 10);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_fd_) {
        uint64_t v = 0;
        (void)!::read(wake_fd_, &v, sizeof(v));
        continue;
      }
      std::shared_ptr<Conn> conn;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = by_fd_.find(events[i].data.fd);
        if (it != by_fd_.end()) conn = it->second;
      }
      if (conn == nullptr) continue;
      const uint32_t e = events[i].events;
      if (e & EPOLLOUT) OnWritable(conn);
      if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnReadable(conn);
    }
    if (std::chrono::steady_clock::now() - last_expiry > std::chrono::milliseconds(10)) {
      last_expiry = std::chrono::steady_clock::now();
      ExpireDeadlines();
    }
  }
}

}  // namespace rsclient
