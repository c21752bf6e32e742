// Shared by the crash writer and the crash test: the store options both sides use and the
// deterministic message content, so the checker can verify a message from its id alone.
#ifndef TESTS_CRASH_CRASH_COMMON_H_
#define TESTS_CRASH_CRASH_COMMON_H_

#include <cstdint>
#include <string>

#include "libstore/message.h"
#include "libstore/options.h"

namespace crashtest {

inline libstore::StoreOptions Options(const std::string& dir) {
  libstore::StoreOptions o;
  o.root_dir = dir;
  o.commitlog_file_size = 256 << 10;  // small files: many rolls and blank records
  o.max_message_size = 64 << 10;
  o.consume_queue_units_per_file = 500;
  o.index_hash_slots = 512;
  o.index_max_entries = 2000;
  o.flush_mode = libstore::FlushMode::kSync;
  o.flush_consume_queue_interval_ms = 50;  // checkpoint often, so abnormal recovery varies
  o.clean_resource_interval_ms = 0;
  o.prefault_ahead_bytes = 64 << 10;
  return o;
}

inline constexpr int kQueues = 3;
inline constexpr const char* kTopics[] = {"CrashA", "CrashB"};

// Body of message (gen, thread, seq): deterministic, 1..3000 bytes.
inline std::string Body(uint32_t gen, uint32_t thread, uint32_t seq) {
  std::string head =
      "g" + std::to_string(gen) + "-t" + std::to_string(thread) + "-s" + std::to_string(seq) + ":";
  uint32_t x = gen * 2654435761u ^ thread * 40503u ^ seq * 2246822519u;
  x ^= x >> 13;
  const size_t len = 1 + x % 3000;
  std::string body = head;
  while (body.size() < len) body.push_back(static_cast<char>('a' + (body.size() * 7 + x) % 26));
  return body;
}

inline std::string Key(uint32_t gen, uint32_t thread, uint32_t seq) {
  return "k" + std::to_string(gen) + "-" + std::to_string(thread) + "-" + std::to_string(seq);
}

}  // namespace crashtest

#endif  // TESTS_CRASH_CRASH_COMMON_H_
