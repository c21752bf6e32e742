// db_bench-style driver for libstore. Each mode prints one result line; `--json` adds a JSON
// object per result. Reference figures (memcpy bandwidth, sequential write + fdatasync) are taken
// by the `raw` mode so ratios come from the same run.
//
//   store_bench --mode=async  --size=100  --bytes=8G  --threads=1   (sustained async puts)
//   store_bench --mode=sync   --size=1024 --seconds=10 --threads=4  (group commit)
//   store_bench --mode=sync   --size=1024 --seconds=10 --threads=1  (one in flight: latency)
//   store_bench --mode=recover --bytes=2G                            (abnormal-recovery scan rate)
//   store_bench --mode=lookup --count=200000                         (key lookup latency)
//   store_bench --mode=raw    --bytes=2G                             (memcpy, write+fdatasync)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "libstore/message_store.h"
#include "testing/test_util.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string mode = "async";
  int64_t size = 100;
  int64_t bytes = int64_t{1} << 30;
  int64_t count = 0;
  double seconds = 0;
  int threads = 1;
  int inflight = 0;  // >0: PutAsync with this many puts outstanding per thread
  int64_t file_size = int64_t{1} << 30;
  std::string dir;
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
      std::printf(
          "store_bench --mode=async|sync|recover|lookup|raw [--size=BYTES] [--bytes=N[kMG]]\n"
          "            [--count=N] [--seconds=S] [--threads=N] [--file-size=N[kMG]] [--dir=PATH]\n"
          "            [--inflight=N] [--json]\n");
      std::exit(0);
    } else if (const char* v = val("--mode")) {
      f.mode = v;
    } else if (const char* v = val("--size")) {
      f.size = ParseSize(v);
    } else if (const char* v = val("--bytes")) {
      f.bytes = ParseSize(v);
    } else if (const char* v = val("--count")) {
      f.count = ParseSize(v);
    } else if (const char* v = val("--seconds")) {
      f.seconds = std::atof(v);
    } else if (const char* v = val("--threads")) {
      f.threads = std::atoi(v);
    } else if (const char* v = val("--inflight")) {
      f.inflight = std::atoi(v);
    } else if (const char* v = val("--file-size")) {
      f.file_size = ParseSize(v);
    } else if (const char* v = val("--dir")) {
      f.dir = v;
    } else if (a == "--json") {
      f.json = true;
    } else {
      std::fprintf(stderr, "unknown flag %s (see --help)\n", argv[i]);
      std::exit(2);
    }
  }
  return f;
}

double Secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Report(const Flags& f, const std::string& name, double msgs, double bytes, double secs,
            std::vector<int64_t>* lat_ns) {
  std::string lat;
  double p50 = 0, p99 = 0, p999 = 0;
  if (lat_ns != nullptr && !lat_ns->empty()) {
    std::sort(lat_ns->begin(), lat_ns->end());
    auto pct = [&](double p) {
      return (*lat_ns)[std::min(lat_ns->size() - 1, static_cast<size_t>(p * lat_ns->size()))] / 1e3;
    };
    p50 = pct(0.5), p99 = pct(0.99), p999 = pct(0.999);
    char buf[128];
    std::snprintf(buf, sizeof(buf), "  p50 %.1f us  p99 %.1f us  p99.9 %.1f us", p50, p99, p999);
    lat = buf;
  }
  std::printf("%-28s %12.0f msg/s %10.1f MB/s  (%.0f msgs, %.2f GB, %.2f s)%s\n", name.c_str(),
              msgs / secs, bytes / secs / 1e6, msgs, bytes / 1e9, secs, lat.c_str());
  if (f.json) {
    std::printf(
        "{\"bench\":\"%s\",\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,\"msgs\":%.0f,"
        "\"seconds\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}\n",
        name.c_str(), msgs / secs, bytes / secs / 1e6, msgs, secs, p50, p99, p999);
  }
  std::fflush(stdout);
}

libstore::MessageToStore Msg(int64_t size, int i, int queues) {
  libstore::MessageToStore m;
  m.topic = "BenchTopic";
  m.queue_id = i % queues;
  m.body.assign(static_cast<size_t>(size), 'x');
  for (size_t k = 0; k < m.body.size(); k += 7) m.body[k] = static_cast<char>('a' + (k + i) % 26);
  m.born_host = *libstore::HostAddress::Parse("127.0.0.1:40000");
  m.born_timestamp_ms = 1700000000000;
  libstore::Properties p;
  p.Set("TAGS", "TagA");
  p.Set("WAIT", "true");
  m.properties = p.Encode();
  return m;
}

libstore::StoreOptions Options(const Flags& f, const std::string& dir, libstore::FlushMode mode) {
  libstore::StoreOptions o;
  o.root_dir = dir;
  o.flush_mode = mode;
  o.commitlog_file_size = f.file_size;
  o.clean_resource_interval_ms = 0;
  o.message_index_enable = true;
  return o;
}

int RunPuts(const Flags& f, const std::string& dir, libstore::FlushMode mode) {
  auto store = libstore::MessageStore::Open(Options(f, dir, mode));
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const int64_t per_thread_bytes = f.bytes / f.threads;
  std::atomic<int64_t> msgs{0}, bytes{0};
  std::atomic<bool> stop{false}, failed{false};
  std::vector<std::vector<int64_t>> lats(static_cast<size_t>(f.threads));
  const bool want_lat = mode == libstore::FlushMode::kSync;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < f.threads; ++t) {
    pool.emplace_back([&, t] {
      // Queues 0..3 spread over threads; 8 prebuilt messages rotate to avoid build cost.
      std::vector<libstore::MessageToStore> ms;
      for (int k = 0; k < 8; ++k) ms.push_back(Msg(f.size, t * 8 + k, 4));
      int64_t my_bytes = 0, my_msgs = 0;
      auto& lat = lats[static_cast<size_t>(t)];
      if (f.inflight > 0) {
        // Keep `inflight` puts outstanding; completions arrive on the store's flusher thread.
        std::mutex mu;
        std::condition_variable cv;
        int outstanding = 0;
        for (int64_t i = 0;; ++i) {
          {
            std::unique_lock<std::mutex> l(mu);
            cv.wait(l, [&] { return outstanding < f.inflight; });
            ++outstanding;
          }
          const auto t0 = Clock::now();
          (*store)->PutAsync(ms[static_cast<size_t>(i & 7)],
                             [&, t0](absl::StatusOr<libstore::PutResult> r) {
                               std::lock_guard<std::mutex> l(mu);
                               if (!r.ok() || r->status != libstore::PutStatus::kOk) {
                                 failed = true;
                               } else {
                                 my_bytes += r->wrote_bytes;
                                 ++my_msgs;
                                 lat.push_back((Clock::now() - t0).count());
                               }
                               --outstanding;
                               cv.notify_one();
                             });
          if ((i & 1023) == 0 &&
              (failed.load() || (f.seconds > 0 ? Secs(Clock::now() - start) >= f.seconds
                                               : my_bytes >= per_thread_bytes))) {
            break;
          }
        }
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return outstanding == 0; });
        msgs += my_msgs;
        bytes += my_bytes;
        return;
      }
      for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const auto t0 = want_lat ? Clock::now() : Clock::time_point();
        auto r = (*store)->Put(ms[static_cast<size_t>(i & 7)]);
        if (!r.ok()) {
          std::fprintf(stderr, "put: %s\n", r.status().ToString().c_str());
          failed = true;
          break;
        }
        if (want_lat) lat.push_back((Clock::now() - t0).count());
        my_bytes += r->wrote_bytes;
        ++my_msgs;
        if ((my_msgs & 1023) == 0) {
          if (f.seconds > 0 ? Secs(Clock::now() - start) >= f.seconds
                            : my_bytes >= per_thread_bytes)
            break;
          if (f.count > 0 && my_msgs * f.threads >= f.count) break;
        }
      }
      msgs += my_msgs;
      bytes += my_bytes;
    });
  }
  for (auto& th : pool) th.join();
  const double secs = Secs(Clock::now() - start);
  std::vector<int64_t> all;
  for (auto& l : lats) all.insert(all.end(), l.begin(), l.end());
  const auto stats = (*store)->GetStats();
  char name[96];
  std::snprintf(name, sizeof(name), "%s-%lldB-%dthr-%dinflight", f.mode.c_str(),
                static_cast<long long>(f.size), f.threads, f.inflight > 0 ? f.inflight : 1);
  Report(f, name, static_cast<double>(msgs.load()), static_cast<double>(bytes.load()), secs,
         want_lat || f.inflight > 0 ? &all : nullptr);
  std::printf("  syncs %lld, dispatch behind %lld bytes at the end\n",
              static_cast<long long>(stats.syncs),
              static_cast<long long>(stats.dispatch_behind_bytes));
  const auto c0 = Clock::now();
  auto s = (*store)->Close();
  std::printf("  close (flush + dispatch drain) %.2f s\n", Secs(Clock::now() - c0));
  return failed || !s.ok() ? 1 : 0;
}

int RunRecover(const Flags& f, const std::string& dir) {
  {
    Flags w = f;
    w.mode = "fill";
    w.seconds = 0;
    if (RunPuts(w, dir, libstore::FlushMode::kAsync) != 0) return 1;
  }
  // Make the next open an abnormal one that verifies everything: abort marker present and a
  // zeroed checkpoint (so recovery starts at the first file).
  {
    int fd = open((dir + "/abort").c_str(), O_CREAT | O_WRONLY, 0644);
    close(fd);
  }
  {
    int fd = open((dir + "/checkpoint").c_str(), O_WRONLY);
    char z[24] = {0};
    (void)!pwrite(fd, z, 24, 0);
    close(fd);
  }
  // Drop the page cache? Not possible without root privileges in general; figures are for a warm
  // cache, which is the process-crash case.
  const auto t0 = Clock::now();
  auto store = libstore::MessageStore::Open(Options(f, dir, libstore::FlushMode::kAsync));
  const double secs = Secs(Clock::now() - t0);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const auto st = (*store)->GetStats();
  const double bytes = static_cast<double>(st.commitlog_max_offset.value());
  std::printf("%-28s %10.2f GB/s  (%.2f GB verified with CRC and redispatched in %.2f s)\n",
              "recover-abnormal", bytes / secs / 1e9, bytes / 1e9, secs);
  if (f.json) std::printf("{\"bench\":\"recover\",\"gb_per_s\":%.3f}\n", bytes / secs / 1e9);
  return (*store)->Close().ok() ? 0 : 1;
}

int RunLookup(const Flags& f, const std::string& dir) {
  libstore::StoreOptions o = Options(f, dir, libstore::FlushMode::kAsync);
  auto store = libstore::MessageStore::Open(o);
  if (!store.ok()) return 1;
  const int64_t n = f.count > 0 ? f.count : 200000;
  auto m = Msg(f.size, 0, 4);
  for (int64_t i = 0; i < n; ++i) {
    libstore::Properties p;
    p.Set("TAGS", "TagA");
    p.Set("KEYS", "order-" + std::to_string(i));
    m.properties = p.Encode();
    m.queue_id = static_cast<int32_t>(i % 4);
    if (!(*store)->Put(m).ok()) return 1;
  }
  if (!(*store)->WaitForDispatch(120000).ok()) return 1;
  std::vector<int64_t> lat;
  const int lookups = 100000;
  uint64_t x = 88172645463325252ull;
  const auto t0 = Clock::now();
  for (int i = 0; i < lookups; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    const std::string key = "order-" + std::to_string(x % static_cast<uint64_t>(n));
    const auto a = Clock::now();
    auto r = (*store)->QueryByKey("BenchTopic", key, 32, 0, INT64_MAX);
    lat.push_back((Clock::now() - a).count());
    if (!r.ok() || r->size() != 1) {
      std::fprintf(stderr, "lookup of %s failed\n", key.c_str());
      return 1;
    }
  }
  Report(f, "lookup-by-key", lookups, 0, Secs(Clock::now() - t0), &lat);
  return (*store)->Close().ok() ? 0 : 1;
}

int RunRaw(const Flags& f, const std::string& dir) {
  // memcpy bandwidth on a buffer larger than the caches.
  {
    const size_t n = 256 << 20;
    std::vector<char> a(n, 1), b(n, 2);
    std::memcpy(b.data(), a.data(), n);
    const auto t0 = Clock::now();
    for (int i = 0; i < 8; ++i) std::memcpy((i & 1 ? a : b).data(), (i & 1 ? b : a).data(), n);
    const double secs = Secs(Clock::now() - t0);
    std::printf("%-28s %10.2f GB/s\n", "raw-memcpy", 8.0 * n / secs / 1e9);
  }
  // Sequential 1 MiB writes with one fdatasync at the end, then with fdatasync every 64 MiB.
  {
    const std::string path = dir + "/rawfile";
    const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    std::vector<char> buf(1 << 20, 'r');
    const int64_t total = f.bytes;
    const auto t0 = Clock::now();
    for (int64_t w = 0; w < total; w += static_cast<int64_t>(buf.size())) {
      if (write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size())) return 1;
      if ((w >> 20) % 64 == 63) fdatasync(fd);
    }
    fdatasync(fd);
    const double secs = Secs(Clock::now() - t0);
    std::printf("%-28s %10.2f GB/s  (%.2f GB, fdatasync every 64 MiB and at the end)\n",
                "raw-write+fdatasync", total / secs / 1e9, total / 1e9);
    close(fd);
    unlink(path.c_str());
  }
  // 1 KiB write + fdatasync, one at a time (the floor for one-in-flight sync puts).
  {
    const std::string path = dir + "/rawsync";
    const int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    std::vector<char> buf(1024, 's');
    std::vector<int64_t> lat;
    const auto t0 = Clock::now();
    while (Secs(Clock::now() - t0) < 3) {
      const auto a = Clock::now();
      if (write(fd, buf.data(), buf.size()) != 1024) return 1;
      fdatasync(fd);
      lat.push_back((Clock::now() - a).count());
    }
    Report(f, "raw-1KiB-write+fdatasync", static_cast<double>(lat.size()),
           static_cast<double>(lat.size()) * 1024, Secs(Clock::now() - t0), &lat);
    close(fd);
    unlink(path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = ParseFlags(argc, argv);
  libstore::testing::TempDir tmp("store_bench");
  const std::string dir = f.dir.empty() ? tmp.path() : f.dir;
  if (f.mode == "async") return RunPuts(f, dir + "/store", libstore::FlushMode::kAsync);
  if (f.mode == "sync") return RunPuts(f, dir + "/store", libstore::FlushMode::kSync);
  if (f.mode == "recover") return RunRecover(f, dir + "/store");
  if (f.mode == "lookup") return RunLookup(f, dir + "/store");
  if (f.mode == "raw") return RunRaw(f, dir);
  std::fprintf(stderr, "unknown mode %s\n", f.mode.c_str());
  return 2;
}
