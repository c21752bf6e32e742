// rs_load: the load tool of the C++ client, in the spirit of RocketMQ's benchmark Producer and
// Consumer. It talks to a running name server + broker through rsclient (the same code paths
// as an application) and reports a progress line every second and a summary (text, and JSON
// with --json).
//
//   rs_load produce  --namesrv 127.0.0.1:9876 --topic T --size 100 --threads 4 --inflight 64
//   rs_load produce  ... --batch 256                 (SEND_BATCH_MESSAGE, one batch per request)
//   rs_load consume  --namesrv ... --topic T --group G [--from first] [--count N]
//   rs_load e2e      --namesrv ... --topic T --rate 20000 --size 1024 --duration 10
//
// produce: --threads threads share --producers Producer instances (each one connection per
//   broker). A thread keeps --inflight requests outstanding: 1 -> sync Send (or SendBatch),
//   more -> SendAsync with a window of that many (batches are always sync, one per thread at
//   a time). --rate paces the whole run to that many messages per second. Latency: request
//   issued to answer (a batch counts once).
// consume: a clustering PushConsumer with a concurrent listener (--consume-threads, messages
//   per listener call --consume-batch). Every message whose body carries rs_load's stamp (the
//   8 bytes "RSLOAD01" then the CLOCK_MONOTONIC send time in ns, written by produce when
//   --size >= 16) adds its end-to-end latency; CLOCK_MONOTONIC is shared by the processes of
//   one host, so producer and consumer may be separate processes.
// e2e: consume and produce in one process: a fresh group subscribes from the last offset, then
//   the producer runs (usually with --rate, e.g. half the peak); reports send and end-to-end
//   latency.
//
// Stops after --duration seconds or --count messages (whichever comes first; consume also
// stops after --idle seconds without a message once it has received some). Exit code 0 when the
// run completed without errors, 1 when a send or consume failed (the first errors are printed),
// 2 for bad arguments.
// Thread-safety: a program; the statistics are atomics shared by worker, callback and reporter
// threads.
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/consumer_common.h"
#include "client/message.h"
#include "client/producer.h"
#include "client/pull_consumer.h"
#include "client/push_consumer.h"
#include "nlohmann/json.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage = R"(usage: rs_load MODE [options]

Modes:
  produce   send messages as fast as allowed (or at --rate), report send throughput/latency
  consume   receive messages with a push consumer, report throughput and end-to-end latency
  e2e       consume and produce in one process, report send and end-to-end latency

Common options:
  --namesrv ADDR       name server list "host:port;host:port" (default 127.0.0.1:9876)
  --topic NAME         topic (default BenchmarkTest)
  --duration S         stop after S seconds (default 10; 0 = until --count)
  --count N            stop after N messages (default 0 = until --duration)
  --json FILE          write the summary as JSON to FILE ("-" = stdout)
  --quiet              no per-second progress lines
  --help               this text

produce / e2e:
  --size BYTES         body size (default 128; >= 16 carries the end-to-end stamp)
  --threads N          sending threads (default 4)
  --producers N        Producer instances the threads share (default 1)
  --inflight N         requests outstanding per thread: 1 = sync, >1 = async window (default 1)
  --batch N            messages per request (SEND_BATCH_MESSAGE when > 1; default 1)
  --rate R             total messages per second (default 0 = unlimited)
  --tags TAG           tag of every message (default none)
  --keys               give every message a unique key (indexed by the broker)
  --group NAME         producer group (default benchmark_producer)
  --send-timeout-ms MS per-request timeout (default 3000)
  --warmup S           send for S seconds first without counting or timing (default 0; e2e 1,
                       so that connections, routes and the consumer's first pulls are set up)
  --serialize json|rocketmq  request header encoding (default json, as Java's default;
                       rocketmq = the binary header of -Drocketmq.serialize.type=ROCKETMQ)

consume / e2e:
  --group NAME         consumer group (consume default benchmark_consumer; e2e a fresh one)
  --from last|first|now  where a group without committed offsets starts: the queue's end
                       (a queue still starting at 0 is read from 0, as RocketMQ does), its
                       start, or messages stored from now on (default last; e2e always now)
  --expression EXPR    tag expression (default *)
  --consume-threads N  listener threads (default 8)
  --consume-batch N    messages per listener call (default 32)
  --pull-batch N       messages asked per pull, 1..1024 (default 32; the broker answers at most
                       its maxTransferCountOnMessageInMemory)
  --pull               consume: no push consumer; one thread per queue pulls with
                       PullConsumer::PullVisit (views, no copies) from --from, committing
                       nothing (the fastest read path)
  --idle S             consume: stop after S seconds without a message once some arrived
                       (default 5)

Output: one line per second, e.g.
  [  3s] send 251234 msg/s 24.1 MB/s | lat us p50 210 p99 1210 p999 3100 | err 0
and a summary at the end; --json adds every figure in machine-readable form.
)";

// ---- Latency histogram ------------------------------------------------------------------------

// Log-linear buckets over nanoseconds: 64 sub-buckets per power of two (~1.5 % resolution),
// lock-free recording.
class Histogram {
 public:
  static constexpr int kSub = 64;
  static constexpr int kPowers = 44;  // up to ~4.9 hours
  static constexpr int kBuckets = kSub * kPowers;

  void Record(int64_t ns) {
    if (ns < 0) ns = 0;
    counts_[Index(static_cast<uint64_t>(ns))].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    uint64_t prev = max_.load(std::memory_order_relaxed);
    while (
        static_cast<uint64_t>(ns) > prev &&
        !max_.compare_exchange_weak(prev, static_cast<uint64_t>(ns), std::memory_order_relaxed)) {
    }
  }
  // Moves every count into `into` (the interval histogram drained into a local copy).
  void DrainInto(Histogram& into) {
    for (int i = 0; i < kBuckets; ++i) {
      uint64_t c = counts_[i].exchange(0, std::memory_order_relaxed);
      if (c != 0) into.counts_[i].fetch_add(c, std::memory_order_relaxed);
    }
    into.total_.fetch_add(total_.exchange(0, std::memory_order_relaxed), std::memory_order_relaxed);
    uint64_t m = max_.exchange(0, std::memory_order_relaxed);
    if (m > into.max_.load(std::memory_order_relaxed))
      into.max_.store(m, std::memory_order_relaxed);
  }
  void AddFrom(const Histogram& other) {
    for (int i = 0; i < kBuckets; ++i) {
      uint64_t c = other.counts_[i].load(std::memory_order_relaxed);
      if (c != 0) counts_[i].fetch_add(c, std::memory_order_relaxed);
    }
    total_.fetch_add(other.total_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    uint64_t m = other.max_.load(std::memory_order_relaxed);
    if (m > max_.load(std::memory_order_relaxed)) max_.store(m, std::memory_order_relaxed);
  }
  uint64_t count() const { return total_.load(std::memory_order_relaxed); }
  // The value (ns, upper edge of its bucket) at quantile q in [0,1]; 0 when empty.
  double Quantile(double q) const {
    uint64_t total = count();
    if (total == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return std::min(static_cast<double>(UpperEdge(i)), MaxNs());
    }
    return MaxNs();
  }
  double MaxNs() const { return static_cast<double>(max_.load(std::memory_order_relaxed)); }

 private:
  static int Index(uint64_t ns) {
    if (ns < kSub) return static_cast<int>(ns);
    int power = 63 - __builtin_clzll(ns);  // >= 6
    int shift = power - 6;
    int sub = static_cast<int>((ns >> shift) & (kSub - 1));
    int idx = (shift + 1) * kSub + sub;
    return std::min(idx, kBuckets - 1);
  }
  static uint64_t UpperEdge(int idx) {
    if (idx < kSub) return static_cast<uint64_t>(idx);
    int shift = idx / kSub - 1;
    uint64_t sub = static_cast<uint64_t>(idx % kSub);
    return ((kSub + sub + 1) << shift) - 1;
  }

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> max_{0};
};

// ---- Options ----------------------------------------------------------------------------------

struct Options {
  std::string mode;
  std::string namesrv = "127.0.0.1:9876";
  std::string topic = "BenchmarkTest";
  double duration_s = 10;
  int64_t count = 0;
  std::string json_path;
  bool quiet = false;
  int64_t size = 128;
  int threads = 4;
  int producers = 1;
  int inflight = 1;
  int batch = 1;
  double rate = 0;
  std::string tags;
  bool keys = false;
  std::string group;
  int64_t send_timeout_ms = 3000;
  bool rocketmq_header = false;
  std::string from = "last";
  std::string expression = "*";
  int consume_threads = 8;
  int consume_batch = 32;
  int pull_batch = 32;
  bool pull = false;
  double idle_s = 5;
  double warmup_s = -1;  // -1: 1 s for e2e, 0 otherwise
};

[[noreturn]] void UsageError(const std::string& why) {
  std::fprintf(stderr, "rs_load: %s\n(rs_load --help for usage)\n", why.c_str());
  std::exit(2);
}

int64_t ParseInt(const std::string& flag, const std::string& v, int64_t lo, int64_t hi) {
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi) {
    UsageError(absl::StrCat(flag, " wants an integer in [", lo, ", ", hi, "], got \"", v, "\""));
  }
  return x;
}

double ParseDouble(const std::string& flag, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !(x >= lo && x <= hi)) {
    UsageError(absl::StrCat(flag, " wants a number in [", lo, ", ", hi, "], got \"", v, "\""));
  }
  return x;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      std::exit(0);
    }
  }
  if (args.empty()) UsageError("no mode given (produce, consume or e2e)");
  o.mode = args[0];
  if (o.mode != "produce" && o.mode != "consume" && o.mode != "e2e") {
    UsageError("unknown mode \"" + o.mode + "\" (produce, consume or e2e)");
  }
  for (size_t i = 1; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (size_t eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= args.size()) UsageError(flag + " needs a value");
      return args[++i];
    };
    if (flag == "--namesrv") {
      o.namesrv = next();
    } else if (flag == "--topic") {
      o.topic = next();
    } else if (flag == "--duration") {
      o.duration_s = ParseDouble(flag, next(), 0, 1e6);
    } else if (flag == "--count") {
      o.count = ParseInt(flag, next(), 0, int64_t{1} << 50);
    } else if (flag == "--json") {
      o.json_path = next();
    } else if (flag == "--quiet") {
      o.quiet = true;
    } else if (flag == "--size") {
      o.size = ParseInt(flag, next(), 1, 4 << 20);
    } else if (flag == "--threads") {
      o.threads = static_cast<int>(ParseInt(flag, next(), 1, 1024));
    } else if (flag == "--producers") {
      o.producers = static_cast<int>(ParseInt(flag, next(), 1, 64));
    } else if (flag == "--inflight") {
      o.inflight = static_cast<int>(ParseInt(flag, next(), 1, 65536));
    } else if (flag == "--batch") {
      o.batch = static_cast<int>(ParseInt(flag, next(), 1, 100000));
    } else if (flag == "--rate") {
      o.rate = ParseDouble(flag, next(), 0, 1e9);
    } else if (flag == "--tags") {
      o.tags = next();
    } else if (flag == "--keys") {
      o.keys = true;
    } else if (flag == "--group") {
      o.group = next();
    } else if (flag == "--serialize") {
      const std::string v = next();
      if (v != "json" && v != "rocketmq") UsageError("--serialize is json or rocketmq");
      o.rocketmq_header = v == "rocketmq";
    } else if (flag == "--send-timeout-ms") {
      o.send_timeout_ms = ParseInt(flag, next(), 1, 3600000);
    } else if (flag == "--from") {
      o.from = next();
      if (o.from != "last" && o.from != "first" && o.from != "now") {
        UsageError("--from is last, first or now");
      }
    } else if (flag == "--expression") {
      o.expression = next();
    } else if (flag == "--consume-threads") {
      o.consume_threads = static_cast<int>(ParseInt(flag, next(), 1, 1000));
    } else if (flag == "--consume-batch") {
      o.consume_batch = static_cast<int>(ParseInt(flag, next(), 1, 1024));
    } else if (flag == "--pull") {
      o.pull = true;
    } else if (flag == "--pull-batch") {
      o.pull_batch = static_cast<int>(ParseInt(flag, next(), 1, 1024));
    } else if (flag == "--warmup") {
      o.warmup_s = ParseDouble(flag, next(), 0, 3600);
    } else if (flag == "--idle") {
      o.idle_s = ParseDouble(flag, next(), 0.1, 1e6);
    } else {
      UsageError("unknown option \"" + args[i] + "\"");
    }
  }
  if (o.duration_s == 0 && o.count == 0) UsageError("--duration 0 needs --count");
  if (o.warmup_s < 0) o.warmup_s = o.mode == "e2e" ? 1 : 0;
  if (o.warmup_s > 0 && o.mode == "consume") UsageError("--warmup is for produce and e2e");
  if (o.mode == "e2e" && o.size < 16) UsageError("e2e needs --size >= 16 for the stamp");
  if (o.batch > 1 && o.inflight > 1) {
    UsageError("--batch > 1 sends sync batches: use --threads for concurrency, not --inflight");
  }
  if (o.producers > o.threads) o.producers = o.threads;
  if (o.pull && o.mode != "consume") UsageError("--pull is for the consume mode");
  if (o.group.empty()) {
    if (o.mode == "produce") o.group = "benchmark_producer";
    if (o.mode == "consume") o.group = "benchmark_consumer";
    if (o.mode == "e2e") o.group = absl::StrCat("benchmark_e2e_", getpid(), "_", time(nullptr));
  }
  return o;
}

// ---- Shared state -----------------------------------------------------------------------------

constexpr std::string_view kStampMagic = "RSLOAD01";
// Messages sent during the warm-up: received and ignored.
constexpr std::string_view kWarmupMagic = "RSLOADWU";
// MonotonicNs from which sends count (the end of the warm-up).
std::atomic<int64_t> g_measure_from_ns{0};

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

struct Stats {
  std::atomic<int64_t> sent{0};  // messages acknowledged
  std::atomic<int64_t> sent_bytes{0};
  std::atomic<int64_t> send_errors{0};
  std::atomic<int64_t> received{0};
  std::atomic<int64_t> received_bytes{0};
  std::atomic<int64_t> last_receive_ns{0};  // MonotonicNs of the latest listener call
  std::atomic<int64_t> consume_errors{0};
  Histogram send_lat;  // interval, drained every second into send_total
  Histogram send_total;
  Histogram e2e_lat;
  Histogram e2e_total;
  std::mutex err_mu;
  std::vector<std::string> error_samples;  // first few errors

  void Error(const absl::Status& s, bool consuming = false) {
    (consuming ? consume_errors : send_errors).fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(err_mu);
    if (error_samples.size() < 5) error_samples.push_back(s.ToString());
  }
};

std::string Us(double ns) { return absl::StrCat(static_cast<int64_t>(std::llround(ns / 1000))); }

// ---- Producing --------------------------------------------------------------------------------

// The async window of a sending thread: at most `size` sends outstanding. A full window resumes
// the thread only once a quarter of it has drained, so that a saturated run costs one wake-up
// per size/4 completions rather than one per completion.
class Window {
 public:
  explicit Window(int size) : size_(size), resume_at_(size - std::max(1, size / 4)) {}
  void Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    if (outstanding_ >= size_) {
      waiting_ = true;
      cv_.wait(lock, [&] { return outstanding_ <= resume_at_; });
      waiting_ = false;
    }
    ++outstanding_;
  }
  void Release() {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      --outstanding_;
      wake = waiting_ && (outstanding_ <= resume_at_);
    }
    if (wake) cv_.notify_one();
  }
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    waiting_ = true;
    resume_at_ = 0;
    cv_.wait(lock, [&] { return outstanding_ == 0; });
    waiting_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const int size_;
  int resume_at_;
  int outstanding_ = 0;
  bool waiting_ = false;
};

class Load {
 public:
  Load(const Options& o, Stats* stats) : o_(o), stats_(stats) {}

  absl::Status Start() {
    for (int p = 0; p < o_.producers; ++p) {
      rsclient::ProducerOptions po;
      po.group = o_.group;
      po.namesrv_addr = o_.namesrv;
      po.instance_name = absl::StrCat("rs_load_", getpid(), "_", p);
      po.send_timeout = std::chrono::milliseconds(o_.send_timeout_ms);
      po.compress_over_bytes = SIZE_MAX;  // measure the path, not zlib
      if (o_.rocketmq_header) {
        po.remoting.serialize_type = brokerd::remoting::SerializeType::kRocketMq;
      }
      auto producer = std::make_unique<rsclient::Producer>(po);
      if (absl::Status s = producer->Start(); !s.ok()) return s;
      producers_.push_back(std::move(producer));
    }
    // Resolve the route once (so the first second is not spent on it) and fail early.
    absl::StatusOr<std::vector<rsclient::MessageQueue>> queues =
        producers_[0]->FetchPublishQueues(o_.topic);
    if (!queues.ok()) return queues.status();
    return absl::OkStatus();
  }

  // Runs the sending threads until `deadline`, the count, or a stop signal.
  void Run(Clock::time_point deadline) {
    std::vector<std::thread> threads;
    for (int t = 0; t < o_.threads; ++t) {
      threads.emplace_back([this, t, deadline] { Worker(t, deadline); });
    }
    for (std::thread& th : threads) th.join();
  }

  void Shutdown() {
    for (auto& p : producers_) p->Shutdown();
  }

 private:
  // Claims up to n messages of the --count budget; returns how many may be sent.
  int64_t Claim(int64_t n) {
    if (o_.count == 0) return n;
    int64_t before = claimed_.fetch_add(n, std::memory_order_relaxed);
    if (before >= o_.count) return 0;
    return std::min(n, o_.count - before);
  }

  void Fill(rsclient::Message& m, int t, int64_t seq, bool warm) {
    if (m.body.size() >= 16) {
      std::memcpy(m.body.data(), (warm ? kWarmupMagic : kStampMagic).data(), 8);
      int64_t now = MonotonicNs();
      std::memcpy(m.body.data() + 8, &now, 8);
    }
    if (o_.keys) m.keys.assign(1, absl::StrCat("k", getpid(), "_", t, "_", seq));
  }

  void Worker(int t, Clock::time_point deadline) {
    rsclient::Producer& producer = *producers_[static_cast<size_t>(t % o_.producers)];
    rsclient::Message tmpl;
    tmpl.topic = o_.topic;
    tmpl.tags = o_.tags;
    tmpl.body.assign(static_cast<size_t>(o_.size), 'x');
    const int64_t per_request = o_.batch;
    // Pacing: this thread's share of --rate, in requests.
    const double interval_ns =
        o_.rate > 0 ? 1e9 * static_cast<double>(per_request) * o_.threads / o_.rate : 0;
    auto next_at = Clock::now();
    int64_t seq = 0;
    Window window(o_.inflight);
    while (!g_stop.load(std::memory_order_relaxed) && Clock::now() < deadline) {
      // Warm-up sends (before g_measure_from_ns) are neither counted nor timed.
      const bool warm = MonotonicNs() < g_measure_from_ns.load(std::memory_order_relaxed);
      int64_t n = warm ? per_request : Claim(per_request);
      if (n == 0) break;
      if (interval_ns > 0) {
        next_at += std::chrono::nanoseconds(static_cast<int64_t>(interval_ns));
        auto now = Clock::now();
        if (next_at > now) {
          std::this_thread::sleep_until(next_at);
        } else if (now - next_at > std::chrono::milliseconds(100)) {
          next_at = now;  // fell behind: do not burst to catch up
        }
      }
      if (per_request > 1) {
        std::vector<rsclient::Message> batch(static_cast<size_t>(n), tmpl);
        for (auto& m : batch) Fill(m, t, seq++, warm);
        int64_t t0 = MonotonicNs();
        absl::StatusOr<rsclient::SendResult> r = producer.SendBatch(batch);
        Done(r.status(), t0, n, warm);
      } else if (o_.inflight == 1) {
        Fill(tmpl, t, seq++, warm);
        int64_t t0 = MonotonicNs();
        absl::StatusOr<rsclient::SendResult> r = producer.Send(tmpl);
        Done(r.status(), t0, 1, warm);
      } else {
        window.Acquire();
        Fill(tmpl, t, seq++, warm);
        int64_t t0 = MonotonicNs();
        producer.SendAsync(tmpl, [this, t0, warm, &window](absl::StatusOr<rsclient::SendResult> r) {
          Done(r.status(), t0, 1, warm);
          window.Release();
        });
      }
    }
    // Wait for the async window to drain (every send completes within its send timeout).
    window.Drain();
  }

  void Done(const absl::Status& s, int64_t t0, int64_t n, bool warm) {
    int64_t lat = MonotonicNs() - t0;
    if (!s.ok()) {
      stats_->Error(s);
      return;
    }
    if (warm) return;
    stats_->send_lat.Record(lat);
    stats_->sent.fetch_add(n, std::memory_order_relaxed);
    stats_->sent_bytes.fetch_add(n * o_.size, std::memory_order_relaxed);
  }

  const Options& o_;
  Stats* stats_;
  std::vector<std::unique_ptr<rsclient::Producer>> producers_;
  std::atomic<int64_t> claimed_{0};
};

// ---- Consuming --------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<rsclient::PushConsumer>> StartConsumer(const Options& o,
                                                                      Stats* stats) {
  rsclient::PushConsumerOptions co;
  co.group = o.group;
  co.namesrv_addr = o.namesrv;
  co.instance_name = absl::StrCat("rs_load_c_", getpid());
  if (o.mode == "e2e" || o.from == "now") {
    // A fresh group on queues that still start at 0 would read them from the start with
    // LAST_OFFSET (push_consumer.h); the timestamp starts it at what is sent from now on.
    co.consume_from_where = rsclient::ConsumeFromWhere::kTimestamp;
    co.consume_timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  } else {
    co.consume_from_where = o.from == "first" ? rsclient::ConsumeFromWhere::kFirstOffset
                                              : rsclient::ConsumeFromWhere::kLastOffset;
  }
  co.consume_thread_min = o.consume_threads;
  co.consume_thread_max = o.consume_threads;
  co.consume_message_batch_max_size = o.consume_batch;
  co.pull_batch_size = o.pull_batch;
  co.pull_threshold_for_queue = std::max(4096, 4 * o.pull_batch);
  co.consume_concurrently_max_span = 100000;
  auto consumer = std::make_unique<rsclient::PushConsumer>(co);
  if (absl::Status s = consumer->Subscribe(o.topic, o.expression); !s.ok()) return s;
  consumer->RegisterMessageListener([stats](const std::vector<rsclient::ConsumedMessage>& msgs,
                                            rsclient::ConsumeConcurrentlyContext&) {
    int64_t now = MonotonicNs();
    int64_t bytes = 0, counted = 0;
    for (const rsclient::ConsumedMessage& m : msgs) {
      if (m.body.size() >= 16 && std::memcmp(m.body.data(), kWarmupMagic.data(), 8) == 0) {
        continue;  // sent during a warm-up
      }
      ++counted;
      bytes += static_cast<int64_t>(m.body.size());
      if (m.body.size() >= 16 && std::memcmp(m.body.data(), kStampMagic.data(), 8) == 0) {
        int64_t sent;
        std::memcpy(&sent, m.body.data() + 8, 8);
        stats->e2e_lat.Record(now - sent);
      }
    }
    stats->received.fetch_add(counted, std::memory_order_relaxed);
    stats->received_bytes.fetch_add(bytes, std::memory_order_relaxed);
    stats->last_receive_ns.store(now, std::memory_order_relaxed);
    return rsclient::ConsumeConcurrentlyStatus::kConsumeSuccess;
  });
  if (absl::Status s = consumer->Start(); !s.ok()) return s;
  return consumer;
}

// consume --pull: one thread per readable queue reads with PullVisit (message views, no copies)
// from the start offset --from names; nothing is committed.
class PullReader {
 public:
  PullReader(const Options& o, Stats* stats) : o_(o), stats_(stats) {}
  ~PullReader() { Shutdown(); }

  absl::Status Start() {
    rsclient::PullConsumerOptions po;
    po.group = o_.group;
    po.namesrv_addr = o_.namesrv;
    po.instance_name = absl::StrCat("rs_load_p_", getpid());
    consumer_ = std::make_unique<rsclient::PullConsumer>(po);
    if (absl::Status s = consumer_->Start(); !s.ok()) return s;
    absl::StatusOr<std::vector<rsclient::MessageQueue>> queues = consumer_->FetchQueues(o_.topic);
    if (!queues.ok()) return queues.status();
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    std::vector<int64_t> starts;
    for (const rsclient::MessageQueue& q : *queues) {
      absl::StatusOr<int64_t> at = o_.from == "first"  ? consumer_->MinOffset(q)
                                   : o_.from == "last" ? consumer_->MaxOffset(q)
                                                       : consumer_->SearchOffset(q, now_ms);
      if (!at.ok()) return at.status();
      starts.push_back(*at);
    }
    for (size_t i = 0; i < queues->size(); ++i) {
      threads_.emplace_back([this, q = (*queues)[i], at = starts[i]] { Read(q, at); });
    }
    return absl::OkStatus();
  }

  void Shutdown() {
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    if (consumer_) consumer_->Shutdown();
  }

 private:
  void Read(const rsclient::MessageQueue& q, int64_t offset) {
    while (!g_stop.load(std::memory_order_relaxed)) {
      int64_t n = 0, bytes = 0;
      absl::StatusOr<rsclient::PullResult> r = consumer_->PullVisit(
          q, o_.expression, offset, o_.pull_batch, [&](const rsclient::MessageView& m) {
            if (m.body.size() >= 16 && m.body.substr(0, 8) == kWarmupMagic) return;
            ++n;
            bytes += static_cast<int64_t>(m.body.size());
            if (m.body.size() >= 16 && m.body.substr(0, 8) == kStampMagic) {
              int64_t sent;
              std::memcpy(&sent, m.body.data() + 8, 8);
              stats_->e2e_lat.Record(MonotonicNs() - sent);
            }
          });
      if (!r.ok()) {
        stats_->Error(r.status(), /*consuming=*/true);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (n > 0) {
        int64_t total = stats_->received.fetch_add(n, std::memory_order_relaxed) + n;
        stats_->received_bytes.fetch_add(bytes, std::memory_order_relaxed);
        stats_->last_receive_ns.store(MonotonicNs(), std::memory_order_relaxed);
        if (o_.count > 0 && total >= o_.count) g_stop.store(true);
      }
      if (r->next_begin_offset == offset) {  // nothing new (yet)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      offset = r->next_begin_offset;
    }
  }

  const Options& o_;
  Stats* stats_;
  std::unique_ptr<rsclient::PullConsumer> consumer_;
  std::vector<std::thread> threads_;
};

// ---- Reporting --------------------------------------------------------------------------------

struct Summary {
  double seconds = 0;
  int64_t sent = 0, sent_bytes = 0, errors = 0, received = 0, received_bytes = 0;
};

nlohmann::json LatencyJson(const Histogram& h) {
  nlohmann::json j;
  j["count"] = h.count();
  j["p50"] = h.Quantile(0.50) / 1000;
  j["p99"] = h.Quantile(0.99) / 1000;
  j["p999"] = h.Quantile(0.999) / 1000;
  j["max"] = h.MaxNs() / 1000;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  Stats stats;
  const bool producing = o.mode != "consume";
  const bool consuming = o.mode != "produce";

  std::unique_ptr<rsclient::PushConsumer> consumer;
  std::unique_ptr<PullReader> reader;
  if (o.pull) {
    reader = std::make_unique<PullReader>(o, &stats);
    if (absl::Status s = reader->Start(); !s.ok()) {
      std::fprintf(stderr, "rs_load: pull consumer: %s\n", s.ToString().c_str());
      g_stop.store(true);
      return 1;
    }
  } else if (consuming) {
    absl::StatusOr<std::unique_ptr<rsclient::PushConsumer>> c = StartConsumer(o, &stats);
    if (!c.ok()) {
      std::fprintf(stderr, "rs_load: consumer: %s\n", c.status().ToString().c_str());
      return 1;
    }
    consumer = std::move(*c);
  }
  std::unique_ptr<Load> load;
  if (producing) {
    load = std::make_unique<Load>(o, &stats);
    if (absl::Status s = load->Start(); !s.ok()) {
      std::fprintf(stderr, "rs_load: producer: %s\n", s.ToString().c_str());
      if (consumer) consumer->Shutdown();
      return 1;
    }
  }
  if (o.mode == "e2e") {
    // Let the fresh group take its queues before the first message, so nothing is missed.
    auto until = Clock::now() + std::chrono::seconds(10);
    while (consumer->AssignedQueues().empty() && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  // The warm-up runs before `start`: its sends are not counted (see Load::Worker).
  const auto warmup =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup_s));
  g_measure_from_ns.store(MonotonicNs() + std::chrono::nanoseconds(warmup).count());
  const auto start = Clock::now() + warmup;
  const int64_t start_ns = g_measure_from_ns.load();
  const auto deadline = o.duration_s > 0 ? start + std::chrono::duration_cast<Clock::duration>(
                                                       std::chrono::duration<double>(o.duration_s))
                                         : Clock::time_point::max();
  std::atomic<bool> done{false};
  std::mutex mu;
  std::condition_variable cv;

  // Reporter: a line every second; for consume it also decides when to stop.
  std::thread reporter([&] {
    int64_t last_sent = 0, last_sent_bytes = 0, last_recv = 0, last_recv_bytes = 0;
    auto last = start;
    auto last_progress = start;
    int64_t tick = 0;
    std::unique_lock<std::mutex> lock(mu);
    while (!done.load()) {
      cv.wait_until(lock, start + std::chrono::seconds(++tick), [&] { return done.load(); });
      if (done.load()) break;
      auto now = Clock::now();
      double dt = std::chrono::duration<double>(now - last).count();
      last = now;
      Histogram send_iv, e2e_iv;
      stats.send_lat.DrainInto(send_iv);
      stats.e2e_lat.DrainInto(e2e_iv);
      stats.send_total.AddFrom(send_iv);
      stats.e2e_total.AddFrom(e2e_iv);
      int64_t sent = stats.sent.load(), sent_bytes = stats.sent_bytes.load();
      int64_t recv = stats.received.load(), recv_bytes = stats.received_bytes.load();
      std::string line = absl::StrCat("[", tick, "s]");
      if (producing) {
        absl::StrAppend(&line, " send ", static_cast<int64_t>((sent - last_sent) / dt), " msg/s ",
                        absl::StrFormat("%.1f", (sent_bytes - last_sent_bytes) / dt / 1e6),
                        " MB/s | lat us p50 ", Us(send_iv.Quantile(0.5)), " p99 ",
                        Us(send_iv.Quantile(0.99)), " p999 ", Us(send_iv.Quantile(0.999)),
                        " | err ", stats.send_errors.load());
      }
      if (consuming) {
        absl::StrAppend(
            &line, producing ? " ||" : "", " recv ", static_cast<int64_t>((recv - last_recv) / dt),
            " msg/s ", absl::StrFormat("%.1f", (recv_bytes - last_recv_bytes) / dt / 1e6), " MB/s");
        if (e2e_iv.count() > 0) {
          absl::StrAppend(&line, " | e2e us p50 ", Us(e2e_iv.Quantile(0.5)), " p99 ",
                          Us(e2e_iv.Quantile(0.99)), " p999 ", Us(e2e_iv.Quantile(0.999)));
        }
      }
      if (!o.quiet) std::fprintf(stderr, "%s\n", line.c_str());
      if (recv != last_recv) last_progress = now;
      last_sent = sent, last_sent_bytes = sent_bytes, last_recv = recv,
      last_recv_bytes = recv_bytes;
      if (o.mode == "consume") {
        bool stop = g_stop.load() || now >= deadline || (o.count > 0 && recv >= o.count) ||
                    (recv > 0 && now - last_progress >= std::chrono::duration<double>(o.idle_s));
        if (stop) g_stop.store(true);
      }
    }
  });

  if (producing) {
    load->Run(deadline);
  }
  if (o.mode == "consume") {
    while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto produce_end = Clock::now();
  if (o.mode == "e2e") {
    // Wait (bounded) for the consumer to see what was sent.
    auto until = Clock::now() + std::chrono::seconds(10);
    while (stats.received.load() < stats.sent.load() && Clock::now() < until && !g_stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  const auto end = o.mode == "produce" ? produce_end : Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu);
    done.store(true);
  }
  cv.notify_all();
  reporter.join();
  stats.send_lat.DrainInto(stats.send_total);
  stats.e2e_lat.DrainInto(stats.e2e_total);
  if (load) load->Shutdown();
  if (consumer) consumer->Shutdown();
  if (reader) reader->Shutdown();

  // produce and e2e: the sending time; consume: up to the last message received (not the idle
  // wait after it).
  double secs =
      std::chrono::duration<double>(o.mode == "consume" ? end - start : produce_end - start)
          .count();
  if (o.mode == "consume" && stats.received.load() > 0) {
    secs = static_cast<double>(stats.last_receive_ns.load() - start_ns) / 1e9;
  }
  if (secs <= 0) secs = 1e-9;
  int64_t sent = stats.sent.load(), errors = stats.send_errors.load();
  int64_t recv = stats.received.load();
  // The text summary goes to stdout, or to stderr when stdout carries the JSON (--json -).
  FILE* text = o.json_path == "-" ? stderr : stdout;
  std::fprintf(text, "rs_load %s: %.2f s", o.mode.c_str(), secs);
  if (producing) {
    std::fprintf(
        text,
        ", sent %" PRId64 " (%.0f msg/s, %.1f MB/s), errors %" PRId64
        ", send latency us p50 %s p99 %s p999 %s max %s",
        sent, sent / secs, stats.sent_bytes.load() / secs / 1e6, errors,
        Us(stats.send_total.Quantile(0.5)).c_str(), Us(stats.send_total.Quantile(0.99)).c_str(),
        Us(stats.send_total.Quantile(0.999)).c_str(), Us(stats.send_total.MaxNs()).c_str());
  }
  if (consuming) {
    std::fprintf(text, ", received %" PRId64 " (%.0f msg/s, %.1f MB/s)", recv, recv / secs,
                 stats.received_bytes.load() / secs / 1e6);
    if (stats.e2e_total.count() > 0) {
      std::fprintf(
          text, ", e2e latency us p50 %s p99 %s p999 %s max %s",
          Us(stats.e2e_total.Quantile(0.5)).c_str(), Us(stats.e2e_total.Quantile(0.99)).c_str(),
          Us(stats.e2e_total.Quantile(0.999)).c_str(), Us(stats.e2e_total.MaxNs()).c_str());
    }
  }
  std::fprintf(text, "\n");
  {
    std::lock_guard<std::mutex> lock(stats.err_mu);
    for (const std::string& e : stats.error_samples)
      std::fprintf(stderr, "rs_load: error: %s\n", e.c_str());
  }
  bool ok = errors == 0 && stats.consume_errors.load() == 0;
  if (o.mode == "e2e" && recv < sent) {
    std::fprintf(stderr,
                 "rs_load: e2e: %" PRId64 " of %" PRId64 " sent messages were not received\n",
                 sent - recv, sent);
    ok = false;
  }
  if (!o.json_path.empty()) {
    nlohmann::json j;
    j["tool"] = "rs_load";
    j["mode"] = o.mode;
    j["ok"] = ok;
    j["options"] = {{"namesrv", o.namesrv},
                    {"topic", o.topic},
                    {"size", o.size},
                    {"threads", o.threads},
                    {"producers", o.producers},
                    {"inflight", o.inflight},
                    {"batch", o.batch},
                    {"rate", o.rate},
                    {"tags", o.tags},
                    {"keys", o.keys},
                    {"group", o.group},
                    {"duration_s", o.duration_s},
                    {"count", o.count},
                    {"from", o.from},
                    {"consume_threads", o.consume_threads},
                    {"consume_batch", o.consume_batch},
                    {"pull_batch", o.pull_batch},
                    {"serialize", o.rocketmq_header ? "rocketmq" : "json"},
                    {"pull", o.pull},
                    {"warmup_s", o.warmup_s}};
    j["seconds"] = secs;
    if (producing) {
      j["sent"] = sent;
      j["send_errors"] = errors;
      j["send_msgs_per_s"] = sent / secs;
      j["send_MB_per_s"] = stats.sent_bytes.load() / secs / 1e6;
      j["send_latency_us"] = LatencyJson(stats.send_total);
    }
    if (consuming) {
      j["received"] = recv;
      j["consume_errors"] = stats.consume_errors.load();
      j["recv_msgs_per_s"] = recv / secs;
      j["recv_MB_per_s"] = stats.received_bytes.load() / secs / 1e6;
      j["e2e_latency_us"] = LatencyJson(stats.e2e_total);
    }
    {
      std::lock_guard<std::mutex> lock(stats.err_mu);
      j["error_samples"] = stats.error_samples;
    }
    std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (o.json_path == "-") {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
      std::ofstream out(o.json_path, std::ios::trunc);
      out << text;
      if (!out.flush()) {
        std::fprintf(stderr, "rs_load: cannot write %s\n", o.json_path.c_str());
        return 1;
      }
    }
  }
  return ok ? 0 : 1;
}
