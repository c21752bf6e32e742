// Shared by the store-level unit tests (store_test, fault_test, replication_test,
// retention_test): test-sized options, raw CommitLog / ConsumeQueue walkers that read the files
// independently of the store's read path, and a queue consistency check.
// Thread-safety: test code, single-threaded helpers.
#ifndef TESTS_UNIT_STORE_TEST_HELPERS_H_
#define TESTS_UNIT_STORE_TEST_HELPERS_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "commitlog/record.h"
#include "libstore/env.h"
#include "libstore/message_store.h"
#include "libstore/options.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"
#include "util/coding.h"

namespace libstore::storetest {

inline constexpr int64_t kFileSize = 64 * 1024;
inline constexpr int32_t kMaxMessageSize = 16 * 1024;
inline constexpr int64_t kCqUnitsPerFile = 64;

// Small files everywhere; background cleaner off; generous sync timeout (no timing asserts).
inline StoreOptions SmallOptions(const std::string& root, Env* env = nullptr) {
  StoreOptions o;
  o.root_dir = root;
  o.env = env;
  o.commitlog_file_size = kFileSize;
  o.max_message_size = kMaxMessageSize;
  o.consume_queue_units_per_file = kCqUnitsPerFile;
  o.index_hash_slots = 64;
  o.index_max_entries = 128;
  o.clean_resource_interval_ms = 0;
  o.flush_interval_ms = 20;
  o.flush_consume_queue_interval_ms = 50;
  o.sync_flush_timeout_ms = 30000;
  o.prefault_ahead_bytes = 16 * 1024;
  return o;
}

inline std::string ReadWholeFile(const std::string& path) { return testing::ReadFileBytes(path); }

inline void WriteAt(const std::string& path, int64_t offset, const std::string& bytes) {
  ASSERT_TRUE(testing::WriteFileAt(path, offset, bytes)) << path;
}

inline void TouchFile(const std::string& path) { std::ofstream(path, std::ios::app).flush(); }

inline std::string CommitLogPath(const std::string& root, int64_t from) {
  return root + "/commitlog/" + internal::OffsetFileName(from);
}

// Start offsets of the CommitLog files on disk, ascending.
inline std::vector<int64_t> CommitLogFiles(const std::string& root) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root + "/commitlog", ec)) {
    const int64_t off = internal::ParseOffsetFileName(e.path().filename().string());
    if (off >= 0) out.push_back(off);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One record found by walking a CommitLog file from its start.
struct RawRecord {
  int64_t offset = 0;  // global
  int32_t size = 0;
  bool blank = false;
  std::string topic;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  std::string body;
};

struct RawFile {
  std::vector<RawRecord> records;
  bool ends_with_blank = false;  // the last record is a blank declaring the rest of the file
  bool clean = true;             // no undecodable bytes before the end / zero tail
};

// Walks a CommitLog file's bytes (as on disk) record by record.
inline RawFile WalkCommitLogFile(const std::string& bytes, int64_t from) {
  RawFile out;
  int64_t pos = 0;
  const auto size = static_cast<int64_t>(bytes.size());
  while (pos < size) {
    auto rec = internal::DecodeRecord(std::string_view(bytes).substr(static_cast<size_t>(pos)),
                                      /*check_crc=*/true);
    if (!rec.ok()) {
      out.clean = false;
      break;
    }
    if (rec->kind == internal::DecodedRecord::Kind::kEnd) break;
    RawRecord r;
    r.offset = from + pos;
    r.size = rec->size;
    if (rec->kind == internal::DecodedRecord::Kind::kBlank) {
      r.blank = true;
      out.records.push_back(r);
      out.ends_with_blank = pos + rec->size == size;
      break;
    }
    r.topic = std::string(rec->message.topic);
    r.queue_id = rec->message.queue_id;
    r.queue_offset = rec->message.queue_offset.value();
    r.physical_offset = rec->message.physical_offset.value();
    r.body = std::string(rec->message.body);
    out.records.push_back(std::move(r));
    pos += rec->size;
  }
  return out;
}

// Every message record of the CommitLog on disk, in order.
inline std::vector<RawRecord> AllRawMessages(const std::string& root) {
  std::vector<RawRecord> out;
  for (int64_t from : CommitLogFiles(root)) {
    RawFile f = WalkCommitLogFile(ReadWholeFile(CommitLogPath(root, from)), from);
    for (auto& r : f.records) {
      if (!r.blank) out.push_back(std::move(r));
    }
  }
  return out;
}

// Fetches every message of a queue from its min offset through GetMessages (following
// next_begin_offset), checking the queue offsets are dense and each record belongs to the
// queue. Returns the bodies in queue order.
inline std::vector<std::string> DrainQueue(MessageStore* store, const std::string& topic,
                                           int32_t queue_id) {
  std::vector<std::string> bodies;
  const int64_t min = store->GetMinOffset(topic, queue_id).value();
  const int64_t max = store->GetMaxOffset(topic, queue_id).value();
  int64_t next = min;
  while (next < max) {
    GetRequest req;
    req.topic = topic;
    req.queue_id = queue_id;
    req.offset = QueueOffset(next);
    req.max_count = 32;
    req.max_bytes = 1 << 30;
    GetResult r = store->GetMessages(req);
    EXPECT_EQ(r.status, GetStatus::kFound)
        << topic << "-" << queue_id << " @" << next << ": " << GetStatusName(r.status);
    if (r.status != GetStatus::kFound) break;
    for (const MessageRef& m : r.messages) {
      EXPECT_EQ(m.message.topic, topic);
      EXPECT_EQ(m.message.queue_id, queue_id);
      EXPECT_EQ(m.message.queue_offset.value(), next) << topic << "-" << queue_id;
      bodies.emplace_back(m.message.body);
      ++next;
    }
    EXPECT_EQ(r.next_begin_offset.value(), next);
    if (r.next_begin_offset.value() != next) break;
  }
  EXPECT_EQ(next, max) << topic << "-" << queue_id;
  return bodies;
}

// Reads the ConsumeQueue files of every queue directly and checks that each unit in
// [min, max) points at a record (read back through GetMessageByOffset) with the same size,
// topic, queue id and queue offset. Returns the number of units checked.
inline int64_t CheckConsumeQueuesRaw(MessageStore* store, const std::string& root,
                                     int64_t units_per_file = kCqUnitsPerFile) {
  int64_t checked = 0;
  for (const auto& [topic, qid] : store->ListQueues()) {
    const int64_t min = store->GetMinOffset(topic, qid).value();
    const int64_t max = store->GetMaxOffset(topic, qid).value();
    const std::string dir = root + "/consumequeue/" + topic + "/" + std::to_string(qid) + "/";
    std::string cur_name;
    std::string cur_bytes;
    for (int64_t i = min; i < max; ++i) {
      const int64_t byte = i * 20;
      const int64_t file_from = byte / (units_per_file * 20) * (units_per_file * 20);
      const std::string name = internal::OffsetFileName(file_from);
      if (name != cur_name) {
        cur_name = name;
        cur_bytes = ReadWholeFile(dir + name);
      }
      const int64_t pos = byte - file_from;
      if (pos + 20 > static_cast<int64_t>(cur_bytes.size())) {
        ADD_FAILURE() << "unit " << i << " of " << topic << "-" << qid << " is missing";
        break;
      }
      const int64_t phys = internal::GetBEI64(cur_bytes.data() + pos);
      const int32_t size = internal::GetBEI32(cur_bytes.data() + pos + 8);
      auto m = store->GetMessageByOffset(PhysicalOffset(phys));
      if (!m.ok()) {
        ADD_FAILURE() << "unit " << i << " of " << topic << "-" << qid << " -> " << phys << ": "
                      << m.status();
        continue;
      }
      EXPECT_EQ(m->message.store_size, size) << topic << "-" << qid << " unit " << i;
      EXPECT_EQ(m->message.topic, topic) << "unit " << i;
      EXPECT_EQ(m->message.queue_id, qid) << "unit " << i;
      EXPECT_EQ(m->message.queue_offset.value(), i) << topic << "-" << qid;
      ++checked;
    }
  }
  return checked;
}

// A deterministic body of `len` bytes tagged with `seed`.
inline std::string Body(int seed, size_t len) {
  std::string b = "m" + std::to_string(seed) + ":";
  while (b.size() < len) b.push_back(static_cast<char>('a' + (b.size() * 31 + seed) % 26));
  b.resize(std::max(len, b.size()));
  return b;
}

}  // namespace libstore::storetest

#endif  // TESTS_UNIT_STORE_TEST_HELPERS_H_
