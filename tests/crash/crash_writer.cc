// The process the crash test kills: opens the store (recovering whatever the previous kill left),
// then several threads put messages under SYNC flush. After each put that returned OK, a line
// "gen thread seq topic queue queue_offset physical_offset" is appended to <dir>.acks with one
// write(2) (O_APPEND), so the acknowledgement log survives SIGKILL like the page cache does.
// Usage: crash_writer STORE_DIR ACK_FILE GENERATION THREADS
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "libstore/message_store.h"
#include "tests/crash/crash_common.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: crash_writer STORE_DIR ACK_FILE GENERATION THREADS\n");
    return 2;
  }
  const std::string dir = argv[1];
  const uint32_t gen = static_cast<uint32_t>(std::atoi(argv[3]));
  const int threads = std::atoi(argv[4]);
  const int ack_fd = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (ack_fd < 0) {
    std::perror("ack file");
    return 1;
  }
  auto store = libstore::MessageStore::Open(crashtest::Options(dir));
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::printf("opened\n");
  std::fflush(stdout);
  const auto host = *libstore::HostAddress::Parse("127.0.0.1:5555");
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (uint32_t seq = 0; !failed.load(); ++seq) {
        libstore::MessageToStore m;
        m.topic = crashtest::kTopics[(seq + t) % 2];
        m.queue_id = static_cast<int32_t>((seq * 7 + t) % crashtest::kQueues);
        m.body = crashtest::Body(gen, t, seq);
        m.born_host = host;
        m.born_timestamp_ms = seq;
        libstore::Properties p;
        p.Set("KEYS", crashtest::Key(gen, t, seq));
        p.Set("TAGS", seq % 2 ? "odd" : "even");
        m.properties = p.Encode();
        auto r = (*store)->Put(m);
        if (!r.ok()) {
          std::fprintf(stderr, "put: %s\n", r.status().ToString().c_str());
          failed = true;
          return;
        }
        if (r->status != libstore::PutStatus::kOk) continue;  // stored, durability unconfirmed
        char line[256];
        const int n = std::snprintf(line, sizeof(line), "%u %d %u %s %d %lld %lld\n", gen, t, seq,
                                    m.topic.c_str(), m.queue_id,
                                    static_cast<long long>(r->queue_offset.value()),
                                    static_cast<long long>(r->wrote_offset.value()));
        if (write(ack_fd, line, static_cast<size_t>(n)) != n) {
          failed = true;
          return;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return failed ? 1 : 0;
}
