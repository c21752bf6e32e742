// broker_bench: a small load client for brokerd. Starts a brokerd itself (a fresh store in a
// scratch directory, ASYNC_FLUSH or SYNC_FLUSH) or connects to a running one, opens N
// connections and sends SEND_MESSAGE_V2 requests pipelined: K in flight per connection,
// responses matched by opaque. Runs for a fixed count or duration after a warm-up and reports
// requests/s, MB/s of bodies, latency percentiles (send to response, as the client sees it), and
// the CPU time per request of the broker process and of this client.
//
//   broker_bench --flush=ASYNC_FLUSH --size=100  --connections=4 --inflight=64 --seconds=10
//   broker_bench --flush=SYNC_FLUSH  --size=1024 --connections=4 --inflight=64 --seconds=10
//   broker_bench --port=10911 ...      (a running broker instead of starting one)
//
// The client is one thread with epoll over non-blocking sockets: each request frame is copied
// from a per-connection template with the opaque patched in place (no encoding per request),
// every frame that fits the in-flight window is written with one send(), and responses are read
// in 256 KiB chunks and scanned for their code and opaque only.
// Thread-safety: single-threaded program.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "net/client.h"
#include "remoting/codes.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace rc = brokerd::remoting::response_code;

struct Flags {
  std::string brokerd = RS_BROKERD_DEFAULT_PATH;
  std::string host = "127.0.0.1";
  int port = 0;  // > 0: use a running broker at host:port
  std::string dir;
  std::string flush = "ASYNC_FLUSH";
  int connections = 4;
  int inflight = 64;
  int64_t size = 100;
  int64_t count = 0;  // measured requests (0: --seconds)
  double seconds = 10;
  double warmup_seconds = 1;
  int queues = 4;
  std::string topic = "BenchTopic";
  std::string header = "json";
  int64_t file_size = int64_t{1} << 30;
  bool keep = false;
  bool json = false;
};

int64_t ParseSize(const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  switch (*end) {
    case 'k':
    case 'K':
      d *= 1024;
      break;
    case 'm':
    case 'M':
      d *= 1024 * 1024;
      break;
    case 'g':
    case 'G':
      d *= 1024.0 * 1024 * 1024;
      break;
    default:
      break;
  }
  return static_cast<int64_t>(d);
}

void Usage(FILE* out) {
  std::fprintf(
      out,
      "broker_bench [--brokerd=PATH] [--dir=SCRATCH] [--flush=ASYNC_FLUSH|SYNC_FLUSH]\n"
      "             [--connections=N] [--inflight=K] [--size=BYTES] [--seconds=S | --count=N]\n"
      "             [--warmup-seconds=S] [--queues=N] [--topic=NAME] [--header=json|rocketmq]\n"
      "             [--file-size=N[kMG]] [--keep] [--json]\n"
      "             [--port=P [--host=IP]]   use a running broker instead of starting one\n"
      "Starts brokerd (default: %s) on a free 127.0.0.1 port with a fresh\n"
      "store under SCRATCH (default /var/tmp/broker_bench.<pid>; what the run created is removed\n"
      "unless --keep), sends SEND_MESSAGE_V2 with K requests in flight on each of N connections\n"
      "(connection i sends to queue i %% queues), and prints requests/s, body MB/s, latency\n"
      "p50/p99/p99.9/max and the CPU time per request of the broker and of this client.\n"
      "Defaults: 4 connections, 64 in flight, 100-byte bodies, 1 s warm-up, then 10 s measured.\n",
      RS_BROKERD_DEFAULT_PATH);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&](const char* name) -> const char* {
      const size_t n = std::strlen(name);
      if (a.compare(0, n, name) == 0 && a.size() > n && a[n] == '=') return argv[i] + n + 1;
      return nullptr;
    };
    if (a == "--help" || a == "-h") {
      Usage(stdout);
      std::exit(0);
    } else if (const char* v = val("--brokerd")) {
      f.brokerd = v;
    } else if (const char* v = val("--host")) {
      f.host = v;
    } else if (const char* v = val("--port")) {
      f.port = std::atoi(v);
    } else if (const char* v = val("--dir")) {
      f.dir = v;
    } else if (const char* v = val("--flush")) {
      f.flush = v;
    } else if (const char* v = val("--connections")) {
      f.connections = std::atoi(v);
    } else if (const char* v = val("--inflight")) {
      f.inflight = std::atoi(v);
    } else if (const char* v = val("--size")) {
      f.size = ParseSize(v);
    } else if (const char* v = val("--count")) {
      f.count = ParseSize(v);
    } else if (const char* v = val("--seconds")) {
      f.seconds = std::atof(v);
    } else if (const char* v = val("--warmup-seconds")) {
      f.warmup_seconds = std::atof(v);
    } else if (const char* v = val("--queues")) {
      f.queues = std::atoi(v);
    } else if (const char* v = val("--topic")) {
      f.topic = v;
    } else if (const char* v = val("--header")) {
      f.header = v;
    } else if (const char* v = val("--file-size")) {
      f.file_size = ParseSize(v);
    } else if (a == "--keep") {
      f.keep = true;
    } else if (a == "--json") {
      f.json = true;
    } else {
      std::fprintf(stderr, "unknown flag %s (see --help)\n", argv[i]);
      std::exit(2);
    }
  }
  if (f.connections < 1 || f.inflight < 1 || f.size < 0 || f.queues < 1 ||
      (f.header != "json" && f.header != "rocketmq") ||
      (f.flush != "ASYNC_FLUSH" && f.flush != "SYNC_FLUSH") || (f.count <= 0 && f.seconds <= 0)) {
    std::fprintf(stderr, "bad flags (see --help)\n");
    std::exit(2);
  }
  return f;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// The broker process (when we start it).

class BrokerProcess {
 public:
  ~BrokerProcess() { Stop(); }

  bool Start(const Flags& f, const std::string& dir, int* port) {
    dir_ = dir;
    *port = brokerd::net::FreeLoopbackPort();
    std::filesystem::create_directories(dir);
    const std::string conf = dir + "/broker.conf";
    std::ofstream(conf) << "brokerName=bench-broker\nbrokerIP1=127.0.0.1\nlistenPort=" << *port
                        << "\nstorePathRootDir=" << dir << "/store\nflushDiskType=" << f.flush
                        << "\nmappedFileSizeCommitLog=" << f.file_size << "\n";
    const std::string log = dir + "/brokerd.log";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl(f.brokerd.c_str(), "brokerd", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 600; ++i) {
      brokerd::net::Client c;
      if (c.Connect("127.0.0.1", *port, std::chrono::milliseconds(500)).ok()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        std::fprintf(stderr, "brokerd exited at start-up; see %s\n", log.c_str());
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::fprintf(stderr, "brokerd did not listen within 30 s; see %s\n", log.c_str());
    return false;
  }

  // utime + stime of the broker in seconds (0 when unknown).
  double CpuSeconds() const {
    if (pid_ <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    // Fields after the command: state(3) ... utime(14) stime(15).
    std::vector<std::string> fields;
    size_t pos = paren + 2;
    while (pos < stat.size() && fields.size() < 13) {
      size_t sp = stat.find(' ', pos);
      if (sp == std::string::npos) break;
      fields.push_back(stat.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (fields.size() < 13) return 0;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    return (std::strtod(fields[11].c_str(), nullptr) + std::strtod(fields[12].c_str(), nullptr)) /
           tick;
  }

  // SIGTERM; returns the seconds the clean shutdown took, or -1.
  double Stop() {
    if (pid_ <= 0) return -1;
    const auto t0 = Clock::now();
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1200; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
          std::fprintf(stderr,
                       "brokerd did not exit cleanly (wait status %d); see %s/brokerd.log\n",
                       status, dir_.c_str());
          return -1;
        }
        return std::chrono::duration<double>(Clock::now() - t0).count();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }

 private:
  pid_t pid_ = -1;
  std::string dir_;
};

// ---------------------------------------------------------------------------------------------
// Load.

// JSON opaques are written with exactly this many digits, so a template's opaque can be
// overwritten in place: 1000000000 + sequence number.
constexpr int32_t kOpaqueBase = 1000000000;
constexpr int kOpaqueDigits = 10;

struct Conn {
  int fd = -1;
  std::string frame;     // template request frame
  size_t opaque_at = 0;  // offset of the opaque inside frame
  std::string out;       // bytes to write
  size_t out_off = 0;    // bytes of out already written
  std::vector<char> in;  // received bytes [in_begin, in_end)
  size_t in_begin = 0;
  size_t in_end = 0;
  int inflight = 0;
  int32_t next_seq = 0;
  std::unordered_map<int32_t, int64_t> sent_ns;  // opaque -> send time
  bool want_out = false;                         // EPOLLOUT registered
};

// code and opaque of a JSON header (top-level keys only).
bool ScanJsonHeader(std::string_view h, int32_t* code, int32_t* opaque) {
  int depth = 0;
  bool got_code = false;
  bool got_opaque = false;
  for (size_t i = 0; i < h.size(); ++i) {
    const char c = h[i];
    if (c == '"') {
      int32_t* target = nullptr;
      size_t skip = 0;
      if (depth == 1 && h.compare(i, 7, "\"code\":") == 0) {
        target = code, skip = 7, got_code = true;
      } else if (depth == 1 && h.compare(i, 9, "\"opaque\":") == 0) {
        target = opaque, skip = 9, got_opaque = true;
      }
      if (target != nullptr) {
        size_t j = i + skip;
        bool neg = j < h.size() && h[j] == '-';
        if (neg) ++j;
        int64_t v = 0;
        while (j < h.size() && h[j] >= '0' && h[j] <= '9') v = v * 10 + (h[j++] - '0');
        *target = static_cast<int32_t>(neg ? -v : v);
        i = j - 1;
        continue;
      }
      // Skip the string.
      for (++i; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\') ++i;
      }
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
  }
  return got_code && got_opaque;
}

struct Stats {
  int64_t sent = 0;
  int64_t answered = 0;
  int64_t measured = 0;  // answered inside the measured window
  int64_t measured_bytes = 0;
  std::map<int32_t, int64_t> errors;  // code -> count
  std::string first_error;
  std::vector<int64_t> lat_ns;  // of the measured requests
  int64_t sends = 0, recvs = 0, waits = 0;
};

class Load {
 public:
  Load(const Flags& f, int port) : f_(f), port_(port) {}

  bool Connect() {
    for (int i = 0; i < f_.connections; ++i) {
      Conn c;
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      if (inet_pton(AF_INET, f_.host.c_str(), &addr.sin_addr) != 1 ||
          connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        std::fprintf(stderr, "connect %s:%d: %s\n", f_.host.c_str(), port_, strerror(errno));
        return false;
      }
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
      if (!BuildTemplate(i, &c)) return false;
      c.in.resize(256 * 1024);
      c.sent_ns.reserve(static_cast<size_t>(f_.inflight) * 2);
      conns_.push_back(std::move(c));
    }
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; i < conns_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, conns_[i].fd, &ev);
    }
    return true;
  }

  // Runs warm-up then the measured window, then drains. Returns false on I/O errors.
  bool Run(Stats* st, double* window_s) {
    st_ = st;
    const int64_t start = NowNs();
    warm_end_ns_ = start + static_cast<int64_t>(f_.warmup_seconds * 1e9);
    stop_ns_ = f_.count > 0 ? INT64_MAX : warm_end_ns_ + static_cast<int64_t>(f_.seconds * 1e9);
    for (size_t i = 0; i < conns_.size(); ++i) {
      if (!Fill(i)) return false;
    }
    std::vector<epoll_event> events(conns_.size());
    bool measuring = false;
    int64_t drain_deadline = INT64_MAX;
    while (true) {
      const int64_t now = NowNs();
      if (!measuring && now >= warm_end_ns_) {
        measuring = true;
        begin_ns_ = now;
        if (on_window_begin_) on_window_begin_();
      }
      if (!stopping_ && (now >= stop_ns_ || (f_.count > 0 && st_->measured >= f_.count))) {
        stopping_ = true;
        end_ns_ = now;
        if (on_window_end_) on_window_end_();
        drain_deadline = now + 30'000'000'000;
      }
      if (stopping_) {
        int64_t left = 0;
        for (const Conn& c : conns_) left += c.inflight;
        if (left == 0) break;
        if (now > drain_deadline) {
          std::fprintf(stderr, "%lld requests still unanswered 30 s after the end\n",
                       static_cast<long long>(left));
          return false;
        }
      }
      ++st_->waits;
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 100);
      if (n < 0 && errno != EINTR) {
        std::perror("epoll_wait");
        return false;
      }
      for (int k = 0; k < n; ++k) {
        const size_t i = events[static_cast<size_t>(k)].data.u64;
        if (events[static_cast<size_t>(k)].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
          if (!OnReadable(i)) return false;
        }
        if (events[static_cast<size_t>(k)].events & EPOLLOUT) {
          if (!Flush(i)) return false;
        }
      }
    }
    *window_s = static_cast<double>(end_ns_ - begin_ns_) / 1e9;
    return true;
  }

  void set_window_hooks(std::function<void()> begin, std::function<void()> end) {
    on_window_begin_ = std::move(begin);
    on_window_end_ = std::move(end);
  }

 private:
  bool BuildTemplate(int index, Conn* c) {
    brokerd::remoting::RemotingCommand cmd;
    cmd.code = brokerd::remoting::request_code::kSendMessageV2;
    cmd.opaque = kOpaqueBase;
    cmd.language = "CPP";
    cmd.version = brokerd::remoting::version::kV4_9_7;
    cmd.SetExtField("a", "bench_producer");
    cmd.SetExtField("b", f_.topic);
    cmd.SetExtField("c", "TBW102");
    cmd.SetExtField("d", std::to_string(f_.queues));
    cmd.SetExtField("e", std::to_string(index % f_.queues));
    cmd.SetExtField("f", "0");
    cmd.SetExtField("g", "1700000000000");
    cmd.SetExtField("h", "0");
    cmd.SetExtField("i", std::string("TAGS\x01TagA\x02WAIT\x01true"));
    cmd.SetExtField("j", "0");
    cmd.SetExtField("k", "false");
    cmd.SetExtField("m", "false");
    cmd.body.assign(static_cast<size_t>(f_.size), 'x');
    for (size_t k = 0; k < cmd.body.size(); k += 7) {
      cmd.body[k] = static_cast<char>('a' + (k + static_cast<size_t>(index)) % 26);
    }
    const bool json = f_.header == "json";
    brokerd::remoting::CodecLimits limits;
    limits.max_frame_bytes = size_t{1} << 31;
    absl::StatusOr<std::string> frame =
        brokerd::remoting::EncodeFrame(cmd,
                                       json ? brokerd::remoting::SerializeType::kJson
                                            : brokerd::remoting::SerializeType::kRocketMq,
                                       limits);
    if (!frame.ok()) {
      std::fprintf(stderr, "encode: %s\n", frame.status().ToString().c_str());
      return false;
    }
    c->frame = *frame;
    if (json) {
      const std::string key = "\"opaque\":" + std::to_string(kOpaqueBase);
      size_t at = c->frame.find(key);
      if (at == std::string::npos) return false;
      c->opaque_at = at + key.size() - kOpaqueDigits;
    } else {
      c->opaque_at = 8 + 5;  // code(2) language(1) version(2), then opaque(4)
    }
    return true;
  }

  void PatchOpaque(Conn& c, size_t frame_at, int32_t opaque) {
    char* p = c.out.data() + frame_at + c.opaque_at;
    if (f_.header == "json") {
      for (int d = kOpaqueDigits - 1; d >= 0; --d) {
        p[d] = static_cast<char>('0' + opaque % 10);
        opaque /= 10;
      }
    } else {
      const uint32_t u = static_cast<uint32_t>(opaque);
      for (int k = 0; k < 4; ++k) p[k] = static_cast<char>(u >> (24 - 8 * k));
    }
  }

  // Appends as many requests as the window allows and writes them.
  bool Fill(size_t i) {
    Conn& c = conns_[i];
    if (!stopping_ && c.inflight < f_.inflight) {
      if (c.out_off == c.out.size()) {
        c.out.clear();
        c.out_off = 0;
      }
      const int64_t now = NowNs();
      while (c.inflight < f_.inflight) {
        const int32_t opaque = kOpaqueBase + c.next_seq++;
        const size_t at = c.out.size();
        c.out.append(c.frame);
        PatchOpaque(c, at, opaque);
        c.sent_ns[opaque] = now;
        ++c.inflight;
        ++st_->sent;
      }
    }
    return Flush(i);
  }

  bool Flush(size_t i) {
    Conn& c = conns_[i];
    while (c.out_off < c.out.size()) {
      ++st_->sends;
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      std::fprintf(stderr, "send: %s\n", strerror(errno));
      return false;
    }
    const bool want = c.out_off < c.out.size();
    if (want != c.want_out) {
      epoll_event ev{};
      ev.events = want ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
      c.want_out = want;
    }
    return true;
  }

  bool OnReadable(size_t i) {
    Conn& c = conns_[i];
    if (c.in_begin > 0 && c.in_begin == c.in_end) c.in_begin = c.in_end = 0;
    if (c.in.size() - c.in_end < 64 * 1024) {  // compact, or grow for a large frame
      std::memmove(c.in.data(), c.in.data() + c.in_begin, c.in_end - c.in_begin);
      c.in_end -= c.in_begin;
      c.in_begin = 0;
      if (c.in.size() - c.in_end < 64 * 1024) c.in.resize(c.in.size() * 2);
    }
    ++st_->recvs;
    ssize_t n = recv(c.fd, c.in.data() + c.in_end, c.in.size() - c.in_end, 0);
    if (n == 0) {
      std::fprintf(stderr, "the broker closed connection %zu\n", i);
      return false;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      std::fprintf(stderr, "recv: %s\n", strerror(errno));
      return false;
    }
    c.in_end += static_cast<size_t>(n);
    const int64_t now = NowNs();
    const bool in_window = now >= warm_end_ns_ && !stopping_;
    while (c.in_end - c.in_begin >= 8) {
      const unsigned char* p = reinterpret_cast<unsigned char*>(c.in.data() + c.in_begin);
      const uint32_t len =
          (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
      if (c.in_end - c.in_begin < size_t{len} + 4) break;
      const uint32_t word =
          (uint32_t{p[4]} << 24) | (uint32_t{p[5]} << 16) | (uint32_t{p[6]} << 8) | uint32_t{p[7]};
      const size_t header_len = word & 0xFFFFFF;
      std::string_view header(c.in.data() + c.in_begin + 8, std::min<size_t>(header_len, len - 4));
      int32_t code = -1, opaque = -1;
      bool ok;
      if ((word >> 24) == 1) {
        ok = header.size() >= 17;
        if (ok) {
          const unsigned char* h = reinterpret_cast<const unsigned char*>(header.data());
          code = static_cast<int16_t>((h[0] << 8) | h[1]);
          opaque = static_cast<int32_t>((uint32_t{h[5]} << 24) | (uint32_t{h[6]} << 16) |
                                        (uint32_t{h[7]} << 8) | uint32_t{h[8]});
        }
      } else {
        ok = ScanJsonHeader(header, &code, &opaque);
      }
      if (!ok) {
        std::fprintf(stderr, "unreadable response header\n");
        return false;
      }
      auto it = c.sent_ns.find(opaque);
      if (it != c.sent_ns.end()) {
        if (in_window && it->second >= warm_end_ns_) {
          st_->lat_ns.push_back(now - it->second);
          ++st_->measured;
          st_->measured_bytes += f_.size;
        }
        c.sent_ns.erase(it);
        --c.inflight;
        ++st_->answered;
        if (code != rc::kSuccess) {
          ++st_->errors[code];
          if (st_->first_error.empty()) {
            auto frame = brokerd::remoting::DecodeFrame(
                std::string_view(c.in.data() + c.in_begin, size_t{len} + 4));
            st_->first_error = "code " + std::to_string(code);
            if (frame.ok()) {
              if (auto* d = std::get_if<brokerd::remoting::DecodedFrame>(&*frame)) {
                st_->first_error += " " + d->command.remark.value_or("");
              }
            }
          }
        }
      }
      c.in_begin += size_t{len} + 4;
    }
    return Fill(i);
  }

  const Flags& f_;
  int port_;
  int epfd_ = -1;
  std::vector<Conn> conns_;
  Stats* st_ = nullptr;
  bool stopping_ = false;
  int64_t warm_end_ns_ = 0;
  int64_t stop_ns_ = 0;
  int64_t begin_ns_ = 0;
  int64_t end_ns_ = 0;
  std::function<void()> on_window_begin_;
  std::function<void()> on_window_end_;
};

double ClientCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  BrokerProcess broker;
  int port = f.port;
  std::string dir = f.dir;
  const bool own = f.port <= 0;
  bool created_dir = false;
  if (own) {
    if (dir.empty()) dir = "/var/tmp/broker_bench." + std::to_string(getpid());
    created_dir = !std::filesystem::exists(dir);
    if (std::filesystem::exists(dir + "/store")) {
      std::fprintf(stderr, "%s/store exists: give an empty scratch directory\n", dir.c_str());
      return 2;
    }
    if (!broker.Start(f, dir, &port)) return 1;
  }
  Load load(f, port);
  if (!load.Connect()) return 1;
  Stats st;
  st.lat_ns.reserve(1 << 22);
  double broker_cpu0 = 0, broker_cpu1 = 0, client_cpu0 = 0, client_cpu1 = 0;
  int64_t sends0 = 0, recvs0 = 0, waits0 = 0, sends1 = 0, recvs1 = 0, waits1 = 0;
  load.set_window_hooks(
      [&] {
        broker_cpu0 = broker.CpuSeconds();
        client_cpu0 = ClientCpuSeconds();
        sends0 = st.sends, recvs0 = st.recvs, waits0 = st.waits;
      },
      [&] {
        broker_cpu1 = broker.CpuSeconds();
        client_cpu1 = ClientCpuSeconds();
        sends1 = st.sends, recvs1 = st.recvs, waits1 = st.waits;
      });
  double secs = 0;
  const bool ran = load.Run(&st, &secs);
  double shutdown_s = own ? broker.Stop() : 0;
  if (own && !f.keep) {  // only what this run created
    std::error_code ec;
    std::filesystem::remove_all(dir + "/store", ec);
    std::filesystem::remove(dir + "/broker.conf", ec);
    std::filesystem::remove(dir + "/brokerd.log", ec);
    if (created_dir) std::filesystem::remove(dir, ec);
  }
  if (!ran) return 1;

  std::sort(st.lat_ns.begin(), st.lat_ns.end());
  auto pct = [&](double p) {
    if (st.lat_ns.empty()) return 0.0;
    return static_cast<double>(st.lat_ns[std::min(st.lat_ns.size() - 1,
                                                  static_cast<size_t>(p * st.lat_ns.size()))]) /
           1e3;
  };
  const double n = static_cast<double>(st.measured);
  const double rps = n / secs;
  char name[128];
  std::snprintf(name, sizeof(name), "send-v2-%s-%lldB-%dconn-%dinflight-%s",
                f.flush == "SYNC_FLUSH" ? "sync" : "async", static_cast<long long>(f.size),
                f.connections, f.inflight, f.header.c_str());
  std::printf(
      "%-44s %10.0f req/s %8.1f MB/s  (%.0f req in %.2f s)  p50 %.0f us  p99 %.0f us  "
      "p99.9 %.0f us  max %.0f us\n",
      name, rps, static_cast<double>(st.measured_bytes) / secs / 1e6, n, secs, pct(0.5), pct(0.99),
      pct(0.999), st.lat_ns.empty() ? 0.0 : st.lat_ns.back() / 1e3);
  const double per_req = n > 0 ? 1e6 / n : 0;
  if (own) {
    std::printf("  broker CPU %.1f us/req (%.2f cores)", (broker_cpu1 - broker_cpu0) * per_req,
                (broker_cpu1 - broker_cpu0) / secs);
  } else {
    std::printf(" ");
  }
  std::printf(
      "  client CPU %.1f us/req (%.2f cores); client send() %.3f, recv() %.3f, epoll_wait %.3f "
      "per req\n",
      (client_cpu1 - client_cpu0) * per_req, (client_cpu1 - client_cpu0) / secs,
      static_cast<double>(sends1 - sends0) / n, static_cast<double>(recvs1 - recvs0) / n,
      static_cast<double>(waits1 - waits0) / n);
  int64_t errors = 0;
  for (const auto& [code, count] : st.errors) {
    std::printf("  %lld answers with code %d (%s)\n", static_cast<long long>(count), code,
                std::string(brokerd::remoting::ResponseCodeName(code)).c_str());
    errors += count;
  }
  if (!st.first_error.empty()) std::printf("  first error: %s\n", st.first_error.c_str());
  if (own) std::printf("  broker clean shutdown %.2f s\n", shutdown_s);
  if (f.json) {
    std::printf(
        "{\"bench\":\"%s\",\"req_per_s\":%.0f,\"mb_per_s\":%.1f,\"requests\":%.0f,\"seconds\":%.3f,"
        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"errors\":%lld}\n",
        name, rps, static_cast<double>(st.measured_bytes) / secs / 1e6, n, secs, pct(0.5),
        pct(0.99), pct(0.999), static_cast<long long>(errors));
  }
  return errors == 0 && (!own || shutdown_s >= 0) ? 0 : 1;
}
