// Server / Connection implementation: one io_uring loop thread (see server.h for the policies).
// Thread-safety: as documented in server.h. Loop-thread-only state lives in Server::Impl and in
// the "Loop-thread state" members of Connection.
#include "net/server.h"

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"

namespace brokerd::net {

// Shared between the server and every connection (connections may outlive the server).
struct WakeState {
  std::mutex mu;
  bool alive = true;            // false once the loop has exited
  std::vector<uint64_t> dirty;  // connections with new output or a close request
  std::atomic<bool> stop{false};
  int efd = -1;
  std::atomic<std::thread::id> loop_thread{};  // the thread running Server::Loop

  ~WakeState() {
    if (efd >= 0) close(efd);
  }
  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(efd, &one, sizeof(one));
    (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
  }
  // Returns false when the loop is gone.
  bool MarkDirty(uint64_t id) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!alive) return false;
      // Only the first entry needs a wake-up: the loop takes the whole list when it runs, so a
      // non-empty list already has a write to the eventfd on its way (one syscall per batch of
      // responses instead of one per response). The loop itself (a handler answering at once)
      // needs none: it drains the list until empty before it waits again.
      wake = dirty.empty() && std::this_thread::get_id() != loop_thread.load();
      dirty.push_back(id);
    }
    if (wake) Wake();
    return true;
  }
};

namespace {

enum Op : uint64_t { kAccept = 1, kEventFd = 2, kRecv = 3, kSend = 4, kCancel = 5 };
constexpr int kOpBits = 3;
uint64_t UserData(uint64_t id, Op op) { return (id << kOpBits) | op; }

}  // namespace

Connection::Connection(uint64_t id, int fd, std::string peer, std::shared_ptr<WakeState> wake,
                       size_t max_output, size_t max_frame, size_t recv_chunk)
    : id_(id),
      fd_(fd),
      peer_(std::move(peer)),
      wake_(std::move(wake)),
      max_output_(max_output),
      max_frame_(max_frame),
      recv_buf_(recv_chunk) {}

Connection::~Connection() = default;

absl::Status Connection::Send(const remoting::RemotingCommand& cmd) {
  if (closed()) return absl::FailedPreconditionError("connection closed");
  remoting::CodecLimits limits;
  limits.max_frame_bytes = max_frame_;
  absl::StatusOr<std::string> frame = remoting::EncodeFrame(cmd, cmd.serialize_type, limits);
  if (!frame.ok()) return frame.status();
  return SendRaw(*std::move(frame));
}

absl::Status Connection::SendRaw(std::string bytes) {
  bool exceeded = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed() || close_requested_) return absl::FailedPreconditionError("connection closed");
    if (pending_out_.size() + sending_bytes_.load() + bytes.size() > max_output_) {
      close_requested_ = true;
      exceeded = true;
    } else {
      pending_out_.append(bytes);
    }
  }
  if (!wake_->MarkDirty(id_)) return absl::FailedPreconditionError("server stopped");
  if (exceeded) {
    return absl::ResourceExhaustedError(absl::StrCat("output of connection ", peer_,
                                                     " exceeds max_output_bytes_per_connection (",
                                                     max_output_, "); closing it"));
  }
  return absl::OkStatus();
}

void Connection::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_requested_ = true;
  }
  wake_->MarkDirty(id_);
}

struct Server::Impl {
  io_uring ring{};
  bool ring_ok = false;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> conns;
  uint64_t next_id = 1;
  sockaddr_in accept_addr{};
  socklen_t accept_len = sizeof(sockaddr_in);
  uint64_t efd_value = 0;
  size_t inflight = 0;
  bool stopping = false;

  io_uring_sqe* Sqe() {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    while (sqe == nullptr) {
      io_uring_submit(&ring);
      sqe = io_uring_get_sqe(&ring);
    }
    ++inflight;
    return sqe;
  }
};

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      wake_(std::make_shared<WakeState>()),
      impl_(std::make_unique<Impl>()) {}

Server::~Server() {
  Stop();
  Wait();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void Server::Log(std::string_view msg) {
  if (logger_) {
    logger_(msg);
  } else {
    std::fprintf(stderr, "[net] %.*s\n", static_cast<int>(msg.size()), msg.data());
  }
}

absl::Status Server::Start() {
  if (thread_.joinable()) return absl::FailedPreconditionError("server already started");
  wake_->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_->efd < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", options_.host));
  }
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("bind ", options_.host, ":", options_.port, ": ", strerror(errno)));
  }
  if (listen(listen_fd_, options_.listen_backlog) != 0) {
    return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
  }
  socklen_t len = sizeof(addr);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  bound_port_.store(ntohs(addr.sin_port));
  int rc = io_uring_queue_init(options_.ring_entries, &impl_->ring, 0);
  if (rc < 0) return absl::InternalError(absl::StrCat("io_uring_queue_init: ", strerror(-rc)));
  impl_->ring_ok = true;
  running_.store(true);
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Server::Stop() {
  wake_->stop.store(true);
  if (wake_->efd >= 0) wake_->Wake();
}

void Server::Wait() {
  if (thread_.joinable()) thread_.join();
}

void Server::Loop() {
  Impl& im = *impl_;
  wake_->loop_thread.store(std::this_thread::get_id());
  auto arm_accept = [&] {
    im.accept_len = sizeof(im.accept_addr);
    io_uring_sqe* sqe = im.Sqe();
    io_uring_prep_accept(sqe, listen_fd_, reinterpret_cast<sockaddr*>(&im.accept_addr),
                         &im.accept_len, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UserData(0, kAccept));
  };
  auto arm_efd = [&] {
    io_uring_sqe* sqe = im.Sqe();
    io_uring_prep_read(sqe, wake_->efd, &im.efd_value, sizeof(im.efd_value), 0);
    io_uring_sqe_set_data64(sqe, UserData(0, kEventFd));
  };
  auto arm_recv = [&](Connection& c) {
    c.recv_in_flight_ = true;
    io_uring_sqe* sqe = im.Sqe();
    io_uring_prep_recv(sqe, c.fd_, c.recv_buf_.data(), c.recv_buf_.size(), 0);
    io_uring_sqe_set_data64(sqe, UserData(c.id_, kRecv));
  };
  auto arm_send = [&](Connection& c) {
    c.send_in_flight_ = true;
    io_uring_sqe* sqe = im.Sqe();
    io_uring_prep_send(sqe, c.fd_, c.sending_.data() + c.sent_, c.sending_.size() - c.sent_,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, UserData(c.id_, kSend));
  };
  auto maybe_finalize = [&](const std::shared_ptr<Connection>& c) {
    if (!c->closing_ || c->recv_in_flight_ || c->send_in_flight_) return;
    close(c->fd_);
    im.conns.erase(c->id_);
    connection_count_.store(im.conns.size());
    if (close_handler_) close_handler_(*c);
  };
  auto close_conn = [&](const std::shared_ptr<Connection>& c, std::string_view reason) {
    if (c->closing_) return;
    c->closing_ = true;
    c->closed_.store(true, std::memory_order_release);
    Log(absl::StrCat("closing connection ", c->peer_, " (id ", c->id_, "): ", std::string(reason)));
    shutdown(c->fd_, SHUT_RDWR);
    maybe_finalize(c);
  };
  auto flush = [&](const std::shared_ptr<Connection>& c) {
    if (c->closing_ || c->send_in_flight_) return;
    bool close_it = false;
    {
      std::lock_guard<std::mutex> lock(c->mu_);
      if (c->close_requested_) {
        close_it = true;
      } else if (!c->pending_out_.empty()) {
        c->sending_.clear();
        c->sending_.swap(c->pending_out_);
        c->sending_bytes_.store(c->sending_.size());
        c->sent_ = 0;
      }
    }
    if (close_it) {
      close_conn(c, "close requested (Close() or output bound exceeded)");
      return;
    }
    if (c->sent_ < c->sending_.size()) arm_send(*c);
  };
  auto on_recv = [&](const std::shared_ptr<Connection>& c, int res) {
    c->recv_in_flight_ = false;
    if (c->closing_) return maybe_finalize(c);
    if (res <= 0) {
      return close_conn(c, res == 0 ? "peer closed" : absl::StrCat("recv: ", strerror(-res)));
    }
    c->in_.append(c->recv_buf_.data(), static_cast<size_t>(res));
    remoting::CodecLimits limits;
    limits.max_frame_bytes = options_.max_frame_bytes;
    size_t pos = 0;
    while (!c->closing_ && pos < c->in_.size()) {
      absl::StatusOr<remoting::DecodeResult> r =
          remoting::DecodeFrame(std::string_view(c->in_).substr(pos), limits);
      if (!r.ok()) {
        close_conn(c, absl::StrCat("malformed frame: ", r.status().ToString()));
        return;
      }
      if (std::holds_alternative<remoting::NeedMoreData>(*r)) break;
      auto& frame = std::get<remoting::DecodedFrame>(*r);
      pos += frame.bytes_consumed;
      if (handler_) handler_(*c, std::move(frame.command));
    }
    c->in_.erase(0, pos);
    if (!c->closing_) arm_recv(*c);
  };
  auto on_send = [&](const std::shared_ptr<Connection>& c, int res) {
    c->send_in_flight_ = false;
    if (c->closing_) return maybe_finalize(c);
    if (res < 0) return close_conn(c, absl::StrCat("send: ", strerror(-res)));
    c->sent_ += static_cast<size_t>(res);
    if (c->sent_ < c->sending_.size()) return arm_send(*c);
    c->sending_.clear();
    c->sent_ = 0;
    c->sending_bytes_.store(0);
    flush(c);
  };
  auto on_accept = [&](int res) {
    if (res >= 0) {
      char ip[INET_ADDRSTRLEN] = "?";
      inet_ntop(AF_INET, &im.accept_addr.sin_addr, ip, sizeof(ip));
      std::string peer = absl::StrCat(ip, ":", ntohs(im.accept_addr.sin_port));
      if (im.stopping || im.conns.size() >= options_.max_connections) {
        Log(absl::StrCat("rejecting connection from ", peer, ": max_connections (",
                         options_.max_connections, ") reached or stopping"));
        close(res);
      } else {
        int one = 1;
        setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        uint64_t id = im.next_id++;
        auto c = std::shared_ptr<Connection>(new Connection(
            id, res, std::move(peer), wake_, options_.max_output_bytes_per_connection,
            options_.max_frame_bytes, options_.recv_chunk_bytes));
        im.conns.emplace(id, c);
        connection_count_.store(im.conns.size());
        arm_recv(*c);
      }
    } else if (res != -ECANCELED && !im.stopping) {
      Log(absl::StrCat("accept: ", strerror(-res)));
    }
    if (!im.stopping) arm_accept();
  };
  auto begin_stop = [&] {
    im.stopping = true;
    io_uring_sqe* sqe = im.Sqe();
    io_uring_prep_cancel64(sqe, UserData(0, kAccept), 0);
    io_uring_sqe_set_data64(sqe, UserData(0, kCancel));
    sqe = im.Sqe();
    io_uring_prep_cancel64(sqe, UserData(0, kEventFd), 0);
    io_uring_sqe_set_data64(sqe, UserData(0, kCancel));
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [id, c] : im.conns) all.push_back(c);
    for (auto& c : all) close_conn(c, "server stopping");
  };

  arm_accept();
  arm_efd();
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (true) {
    if (wake_->stop.load() && !im.stopping) {
      begin_stop();
      deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.shutdown_drain_ms);
    }
    if (im.stopping && im.inflight == 0) break;
    if (im.stopping && std::chrono::steady_clock::now() > deadline) {
      Log("shutdown: in-flight operations did not drain in time");
      break;
    }
    io_uring_submit(&im.ring);
    io_uring_cqe* cqe = nullptr;
    int rc;
    if (im.stopping) {
      __kernel_timespec ts{0, 100 * 1000 * 1000};
      rc = io_uring_wait_cqe_timeout(&im.ring, &cqe, &ts);
    } else {
      rc = io_uring_wait_cqe(&im.ring, &cqe);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR) {
      Log(absl::StrCat("io_uring_wait_cqe: ", strerror(-rc)));
      break;
    }
    unsigned head;
    unsigned count = 0;
    io_uring_for_each_cqe(&im.ring, head, cqe) {
      ++count;
      --im.inflight;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      int res = cqe->res;
      Op op = static_cast<Op>(data & ((1u << kOpBits) - 1));
      uint64_t id = data >> kOpBits;
      switch (op) {
        case kAccept:
          on_accept(res);
          break;
        case kEventFd:
          if (!im.stopping) arm_efd();
          break;
        case kRecv:
        case kSend: {
          auto it = im.conns.find(id);
          if (it == im.conns.end()) break;
          std::shared_ptr<Connection> c = it->second;
          if (op == kRecv) {
            on_recv(c, res);
          } else {
            on_send(c, res);
          }
          break;
        }
        case kCancel:
          break;
      }
    }
    io_uring_cq_advance(&im.ring, count);
    // Until empty: flushing may run handlers (a close) that mark connections dirty from this
    // thread, which does not wake the loop (WakeState::MarkDirty).
    while (true) {
      std::vector<uint64_t> dirty;
      {
        std::lock_guard<std::mutex> lock(wake_->mu);
        dirty.swap(wake_->dirty);
      }
      if (dirty.empty()) break;
      for (uint64_t id : dirty) {
        auto it = im.conns.find(id);
        if (it != im.conns.end()) {
          std::shared_ptr<Connection> c = it->second;
          flush(c);
        }
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(wake_->mu);
    wake_->alive = false;
  }
  for (auto& [id, c] : im.conns) c->closed_.store(true);
  if (im.inflight == 0) {
    for (auto& [id, c] : im.conns) close(c->fd_);
    im.conns.clear();
    io_uring_queue_exit(&im.ring);
  } else {
    // The kernel may still write into connection buffers: leak them rather than free them.
    for (auto& [id, c] : im.conns) close(c->fd_);
    (void)new auto(std::move(im.conns));  // NOLINT: intentional leak
    io_uring_queue_exit(&im.ring);
  }
  im.ring_ok = false;
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
  connection_count_.store(0);
  running_.store(false);
}

}  // namespace brokerd::net
