// Retention: expired CommitLog files are deleted oldest-first (never the last one), queues and
// the index follow, and reads below the new minimum report it.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "libstore/message_store.h"
#include "store_test_helpers.h"
#include "testing/fault_injection_env.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace libstore {
namespace {

using storetest::Body;
using storetest::kFileSize;
using storetest::SmallOptions;
using testing::FaultInjectionEnv;
using testing::MakeMessage;
using testing::TempDir;

constexpr int64_t kHourMs = 3600 * 1000;
constexpr uint64_t kGiB = uint64_t{1} << 30;

struct Written {
  int qid;
  std::string body;
  std::string key;
  PutResult r;  // last: set after the put
};

int LocalHour(int64_t ms) {
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  localtime_r(&secs, &tm);
  return tm.tm_hour;
}

// deleteWhen naming an hour far from now (so a scheduled pass never runs in the test).
std::string OtherHour(Env* env) { return std::to_string((LocalHour(env->NowMs()) + 12) % 24); }
// deleteWhen naming the current hour and the next three (the tests move the clock ahead by
// two hours, and may straddle an hour).
std::string ThisHour(Env* env) {
  const int h = LocalHour(env->NowMs());
  std::string out;
  for (int i = 0; i < 4; ++i) out += std::to_string((h + i) % 24) + ";";
  return out;
}

StoreOptions RetentionOptions(const std::string& root, FaultInjectionEnv* env) {
  StoreOptions o = SmallOptions(root, env);
  o.file_reserved_hours = 1;
  o.delete_when = OtherHour(env);
  o.disk_max_used_space_ratio = 75;
  o.disk_full_ratio = 90;
  return o;
}

std::vector<Written> Fill(MessageStore* store, int64_t until_offset, int first = 0) {
  std::vector<Written> out;
  for (int i = first; store->GetStats().commitlog_max_offset.value() < until_offset; ++i) {
    Written w{i % 2, Body(i, 800 + static_cast<size_t>(i % 9) * 100), "rk" + std::to_string(i)};
    auto r = store->Put(MakeMessage("Ret", w.qid, w.body, "", w.key + " common"));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    w.r = *r;
    out.push_back(w);
  }
  return out;
}

void SetFileAge(const std::string& path, std::chrono::hours age) {
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now() - age);
}

// Checks every read path against a CommitLog minimum of `min` (a file start).
void ExpectRetentionView(MessageStore* store, const std::vector<Written>& written, int64_t min) {
  EXPECT_EQ(store->GetStats().commitlog_min_offset.value(), min);
  std::map<int, int64_t> expected_min;  // queue -> first queue offset still readable
  std::map<int, int64_t> counts;
  for (const Written& w : written) {
    counts[w.qid]++;
    if (w.r.wrote_offset.value() >= min && !expected_min.count(w.qid)) {
      expected_min[w.qid] = w.r.queue_offset.value();
    }
  }
  for (int q = 0; q < 2; ++q) {
    ASSERT_TRUE(expected_min.count(q));
    const int64_t qmin = store->GetMinOffset("Ret", q).value();
    EXPECT_EQ(qmin, expected_min[q]) << "queue " << q;
    EXPECT_GT(qmin, 0);
    EXPECT_EQ(store->GetMaxOffset("Ret", q).value(), counts[q]);
    GetRequest req;
    req.topic = "Ret";
    req.queue_id = q;
    req.offset = QueueOffset(0);
    GetResult g = store->GetMessages(req);
    EXPECT_EQ(g.status, GetStatus::kOffsetTooSmall) << GetStatusName(g.status);
    EXPECT_EQ(g.next_begin_offset.value(), qmin);
    EXPECT_EQ(g.min_offset.value(), qmin);
    EXPECT_TRUE(g.messages.empty());
    req.offset = QueueOffset(qmin - 1);
    EXPECT_EQ(store->GetMessages(req).status, GetStatus::kOffsetTooSmall);
    req.offset = QueueOffset(qmin);
    g = store->GetMessages(req);
    ASSERT_EQ(g.status, GetStatus::kFound);
    EXPECT_EQ(g.messages[0].message.queue_offset.value(), qmin);
    EXPECT_GE(g.messages[0].message.physical_offset.value(), min);
    // Past the end with min > 0: RocketMQ corrects to the max offset.
    req.offset = QueueOffset(counts[q] + 10);
    g = store->GetMessages(req);
    EXPECT_EQ(g.status, GetStatus::kOffsetOverflowBadly);
    EXPECT_EQ(g.next_begin_offset.value(), counts[q]);
    // Time lookups start at the minimum.
    ASSERT_OK_AND_ASSIGN(QueueOffset by_time, store->GetOffsetByTime("Ret", q, 0));
    EXPECT_EQ(by_time.value(), qmin);
    EXPECT_EQ(storetest::DrainQueue(store, "Ret", q).size(), static_cast<size_t>(counts[q] - qmin));
  }
  for (const Written& w : written) {
    if (w.r.wrote_offset.value() < min) {
      EXPECT_EQ(store->GetMessageByOffset(w.r.wrote_offset).status().code(),
                absl::StatusCode::kOutOfRange)
          << w.r.wrote_offset;
      EXPECT_FALSE(store->GetMessageById(w.r.offset_msg_id()).ok());
      auto q = store->QueryByKey("Ret", w.key, 4, 0, INT64_MAX);
      ASSERT_OK(q);
      EXPECT_TRUE(q->empty()) << "index returned removed message " << w.key;
    } else {
      ASSERT_OK_AND_ASSIGN(MessageRef m, store->GetMessageByOffset(w.r.wrote_offset));
      EXPECT_EQ(m.message.body, w.body);
      auto q = store->QueryByKey("Ret", w.key, 4, 0, INT64_MAX);
      ASSERT_OK(q);
      ASSERT_EQ(q->size(), 1u) << w.key;
      EXPECT_EQ((*q)[0].message.physical_offset, w.r.wrote_offset);
    }
  }
  // A key shared by every message only finds survivors.
  auto common = store->QueryByKey("Ret", "common", 64, 0, INT64_MAX);
  ASSERT_OK(common);
  EXPECT_FALSE(common->empty());
  for (const MessageRef& m : *common) EXPECT_GE(m.message.physical_offset.value(), min);
  // Earliest store time is the first surviving record's.
  for (const Written& w : written) {
    if (w.r.wrote_offset.value() >= min) {
      ASSERT_OK_AND_ASSIGN(int64_t earliest, store->GetEarliestStoreTime());
      EXPECT_EQ(earliest, w.r.store_timestamp_ms);
      break;
    }
  }
  EXPECT_EQ(store->ReadCommitLog(PhysicalOffset(0), 100).status().code(),
            absl::StatusCode::kOutOfRange);
  ASSERT_OK_AND_ASSIGN(RawSlice s, store->ReadCommitLog(PhysicalOffset(min), 100));
  EXPECT_FALSE(s.bytes.empty());
}

int CountCqFiles(const std::string& root) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root + "/consumequeue")) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

int CountIndexFiles(const std::string& root) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(root + "/index", ec)) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

TEST(RetentionTest, ExpiredFilesAreDeletedButNeverTheLast) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);  // 10% used
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(RetentionOptions(dir.path(), &env)));
  std::vector<Written> written = Fill(store.get(), 4 * kFileSize + 10000);
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->WaitForDispatch(10000));
  const auto files = storetest::CommitLogFiles(dir.path());
  ASSERT_EQ(files.size(), 5u);
  const int cq_files_before = CountCqFiles(dir.path());
  const int index_files_before = CountIndexFiles(dir.path());
  ASSERT_GE(index_files_before, 2);

  // Nothing has expired yet.
  ASSERT_OK_AND_ASSIGN(int deleted, store->RunRetention(true));
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), files);

  env.AdvanceClockMs(2 * kHourMs);
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(true));
  EXPECT_GE(deleted, 4);  // four CommitLog files, plus queue and index files
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), std::vector<int64_t>{files.back()});
  EXPECT_LT(CountCqFiles(dir.path()), cq_files_before);
  EXPECT_LT(CountIndexFiles(dir.path()), index_files_before);
  EXPECT_GE(CountIndexFiles(dir.path()), 1);
  ExpectRetentionView(store.get(), written, files.back());

  // Only the last file is left, and it is never deleted.
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(true));
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), std::vector<int64_t>{files.back()});

  // Writes continue the queues; a reopen keeps the minimums.
  ASSERT_OK_AND_ASSIGN(PutResult r,
                       store->Put(MakeMessage("Ret", 0, "after retention", "", "rkafter")));
  ASSERT_OK(store->WaitForDispatch(10000));
  EXPECT_EQ(r.queue_offset, store->GetMaxOffset("Ret", 0) - 1);
  Written w{0, "after retention", "rkafter", r};
  written.push_back(w);
  const QueueOffset min0 = store->GetMinOffset("Ret", 0);
  const QueueOffset min1 = store->GetMinOffset("Ret", 1);
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(RetentionOptions(dir.path(), &env)));
  EXPECT_EQ(store->GetMinOffset("Ret", 0), min0);
  EXPECT_EQ(store->GetMinOffset("Ret", 1), min1);
  ASSERT_OK(store->WaitForDispatch(10000));
  ExpectRetentionView(store.get(), written, files.back());
  EXPECT_GT(storetest::CheckConsumeQueuesRaw(store.get(), dir.path()), 0);
}

TEST(RetentionTest, OldestFirstWithoutHoles) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(RetentionOptions(dir.path(), &env)));
  std::vector<Written> written = Fill(store.get(), 4 * kFileSize + 10000);
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->WaitForDispatch(10000));
  const auto files = storetest::CommitLogFiles(dir.path());
  ASSERT_EQ(files.size(), 5u);
  // Files 1 and 2 are old, but file 0 is not: nothing can go (no holes).
  SetFileAge(storetest::CommitLogPath(dir.path(), files[1]), std::chrono::hours(3));
  SetFileAge(storetest::CommitLogPath(dir.path(), files[2]), std::chrono::hours(3));
  ASSERT_OK_AND_ASSIGN(int deleted, store->RunRetention(true));
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), files);
  // Now file 0 is old too: 0, 1 and 2 go, 3 (fresh) stops the pass.
  SetFileAge(storetest::CommitLogPath(dir.path(), files[0]), std::chrono::hours(3));
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(true));
  EXPECT_GE(deleted, 3);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), (std::vector<int64_t>{files[3], files[4]}));
  ExpectRetentionView(store.get(), written, files[3]);
}

TEST(RetentionTest, UnforcedPassHonoursDeleteWhenAndDiskUsage) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);  // 10% used: no space pressure
  StoreOptions o = RetentionOptions(dir.path(), &env);
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  std::vector<Written> written = Fill(store.get(), 5 * kFileSize + 10000);
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->WaitForDispatch(10000));
  const auto files = storetest::CommitLogFiles(dir.path());
  ASSERT_EQ(files.size(), 6u);

  // Everything has expired, but it is not the deleteWhen hour and the disk is not full.
  env.AdvanceClockMs(2 * kHourMs);
  ASSERT_OK_AND_ASSIGN(int deleted, store->RunRetention(false));
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), files);
  for (int q = 0; q < 2; ++q) EXPECT_EQ(store->GetMinOffset("Ret", q).value(), 0);

  // Disk usage above diskMaxUsedSpaceRatio: expired files go even outside deleteWhen.
  // Make only the first file expired (undo the clock skew, age one file).
  env.AdvanceClockMs(-2 * kHourMs);
  SetFileAge(storetest::CommitLogPath(dir.path(), files[0]), std::chrono::hours(3));
  env.SetDiskSpace(100 * kGiB, 20 * kGiB);  // 80% used
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(false));
  EXPECT_GE(deleted, 1);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()).front(), files[1]);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()).size(), files.size() - 1);
  // Still 80%: the remaining files are not expired, nothing more goes.
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(false));
  EXPECT_EQ(deleted, 0);

  // Above 85%: files go even before they expire (never the last).
  env.SetDiskSpace(100 * kGiB, 12 * kGiB);  // 88% used
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(false));
  EXPECT_GE(deleted, 1);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), std::vector<int64_t>{files.back()});
  ExpectRetentionView(store.get(), written, files.back());
  ASSERT_OK(store->Put(MakeMessage("Ret", 0, "still writable at 88%")));

  // At the disk-full ratio puts are refused until space is freed.
  env.SetDiskSpace(100 * kGiB, 5 * kGiB);  // 95% used
  ASSERT_OK(store->RunRetention(false));
  EXPECT_EQ(store->Put(MakeMessage("Ret", 0, "refused")).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(store->GetStats().writable);
  env.SetDiskSpace(100 * kGiB, 50 * kGiB);
  ASSERT_OK(store->RunRetention(false));
  EXPECT_TRUE(store->GetStats().writable);
  ASSERT_OK(store->Put(MakeMessage("Ret", 0, "accepted again")));
}

TEST(RetentionTest, UnforcedPassRunsAtTheDeleteWhenHour) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);
  StoreOptions o = RetentionOptions(dir.path(), &env);
  o.delete_when = ThisHour(&env);
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  std::vector<Written> written = Fill(store.get(), 3 * kFileSize + 10000);
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->WaitForDispatch(10000));
  const auto files = storetest::CommitLogFiles(dir.path());
  ASSERT_EQ(files.size(), 4u);
  // The hour matches but nothing has expired.
  ASSERT_OK_AND_ASSIGN(int deleted, store->RunRetention(false));
  EXPECT_EQ(deleted, 0);
  SetFileAge(storetest::CommitLogPath(dir.path(), files[0]), std::chrono::hours(2));
  ASSERT_OK_AND_ASSIGN(deleted, store->RunRetention(false));
  EXPECT_GE(deleted, 1);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()).front(), files[1]);
  ExpectRetentionView(store.get(), written, files[1]);
}

TEST(RetentionTest, BackgroundCleanerDeletesExpiredFiles) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);
  StoreOptions o = RetentionOptions(dir.path(), &env);
  o.delete_when = ThisHour(&env);
  o.clean_resource_interval_ms = 20;
  o.flush_consume_queue_interval_ms = 10;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  std::vector<Written> written = Fill(store.get(), 3 * kFileSize + 10000);
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->WaitForDispatch(10000));
  const auto files = storetest::CommitLogFiles(dir.path());
  ASSERT_EQ(files.size(), 4u);
  env.AdvanceClockMs(2 * kHourMs);
  for (int i = 0; i < 1000 && storetest::CommitLogFiles(dir.path()).size() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()), std::vector<int64_t>{files.back()});
  ExpectRetentionView(store.get(), written, files.back());
}

// Retention running while a writer appends and a reader consumes: every message a reader gets
// is the right one (its bytes stay mapped even after its file is deleted), and the queues are
// consistent at the end.
TEST(RetentionTest, ConcurrentPutsReadsAndRetention) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);
  StoreOptions o = RetentionOptions(dir.path(), &env);
  o.flush_least_pages = 1;
  o.flush_interval_ms = 5;
  env.AdvanceClockMs(2 * kHourMs);  // every file is expired as soon as it is written
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  constexpr int kMessages = 1500;
  auto body_of = [](int i) { return Body(i, 600 + static_cast<size_t>(i % 11) * 80); };
  std::atomic<bool> writer_done{false};
  std::atomic<int> bad_reads{0}, good_reads{0}, deleted_total{0}, put_errors{0};
  std::thread writer([&] {
    for (int i = 0; i < kMessages; ++i) {
      auto r = store->Put(MakeMessage("Conc", i % 2, body_of(i), "", "ck" + std::to_string(i)));
      if (!r.ok() || r->queue_offset.value() != i / 2) put_errors.fetch_add(1);
    }
    writer_done.store(true);
  });
  std::thread cleaner([&] {
    while (!writer_done.load()) {
      auto n = store->RunRetention(true);
      if (n.ok()) deleted_total.fetch_add(*n);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  std::thread reader([&] {
    std::vector<MessageRef> kept;  // held across deletions
    int64_t next[2] = {0, 0};
    while (!writer_done.load()) {
      for (int q = 0; q < 2; ++q) {
        GetRequest req;
        req.topic = "Conc";
        req.queue_id = q;
        req.offset = QueueOffset(next[q]);
        req.max_count = 16;
        GetResult g = store->GetMessages(req);
        for (const MessageRef& m : g.messages) {
          const int64_t qo = m.message.queue_offset.value();
          const int i = static_cast<int>(qo * 2 + q);
          if (m.message.queue_id != q || m.message.body != body_of(i)) {
            bad_reads.fetch_add(1);
          } else {
            good_reads.fetch_add(1);
          }
        }
        if (g.status == GetStatus::kFound || g.status == GetStatus::kOffsetTooSmall ||
            g.status == GetStatus::kNoMatchedMessage ||
            g.status == GetStatus::kMessageWasRemoving) {
          next[q] = g.next_begin_offset.value();
        }
        if (!g.messages.empty() && kept.size() < 64) kept.push_back(g.messages.front());
      }
    }
    // Bytes of records whose files were deleted meanwhile are still readable.
    for (const MessageRef& m : kept) {
      const int i = static_cast<int>(m.message.queue_offset.value() * 2 + m.message.queue_id);
      if (m.message.body != body_of(i)) bad_reads.fetch_add(1);
    }
  });
  writer.join();
  cleaner.join();
  reader.join();
  EXPECT_EQ(put_errors.load(), 0);
  EXPECT_EQ(bad_reads.load(), 0);
  EXPECT_GT(good_reads.load(), 0);
  ASSERT_OK(store->Flush());
  ASSERT_OK(store->WaitForDispatch(10000));
  ASSERT_OK_AND_ASSIGN(int last_pass, store->RunRetention(true));
  EXPECT_GT(deleted_total.load() + last_pass, 0);
  // Only the file being written is left (a file preallocated after it may exist on disk).
  const StoreStats st = store->GetStats();
  EXPECT_EQ(st.commitlog_min_offset.value(),
            (st.commitlog_max_offset.value() - 1) / kFileSize * kFileSize);
  EXPECT_GT(st.commitlog_max_offset.value(), 10 * kFileSize);
  EXPECT_LE(storetest::CommitLogFiles(dir.path()).size(), 2u);
  for (int q = 0; q < 2; ++q) {
    EXPECT_EQ(store->GetMaxOffset("Conc", q).value(), kMessages / 2);
    const auto bodies = storetest::DrainQueue(store.get(), "Conc", q);
    const int64_t min = store->GetMinOffset("Conc", q).value();
    ASSERT_EQ(static_cast<int64_t>(bodies.size()), kMessages / 2 - min);
    for (size_t k = 0; k < bodies.size(); ++k) {
      EXPECT_EQ(bodies[k], body_of(static_cast<int>((min + static_cast<int64_t>(k)) * 2 + q)));
    }
  }
  EXPECT_GT(storetest::CheckConsumeQueuesRaw(store.get(), dir.path()), 0);
  const StoreStats before_close = store->GetStats();
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(o));
  EXPECT_EQ(store->GetStats().commitlog_max_offset, before_close.commitlog_max_offset)
      << "data lost across a clean close";
  EXPECT_EQ(store->GetStats().commitlog_min_offset, before_close.commitlog_min_offset);
  EXPECT_EQ(store->GetMaxOffset("Conc", 0).value(), kMessages / 2);
  EXPECT_GT(storetest::CheckConsumeQueuesRaw(store.get(), dir.path()), 0);
}

// The preparer starts creating the file after the current one, and stalls; meanwhile the
// writer rolls past that file and retention deletes it. When the preparer resumes it must not
// re-create the deleted file: an orphan file below the CommitLog minimum makes the next Open
// fail with a gap.
TEST(RetentionTest, StalledPreallocationDoesNotResurrectADeletedFile) {
  TempDir dir;
  FaultInjectionEnv env;
  env.SetDiskSpace(100 * kGiB, 90 * kGiB);
  StoreOptions o = RetentionOptions(dir.path(), &env);
  o.preallocate_next_file = true;
  const std::string second = storetest::CommitLogPath(dir.path(), kFileSize);
  std::atomic<int> opens{0};
  std::atomic<bool> stalled_open_done{false};
  env.SetOpenHook([&](const std::string& path, bool create) {
    if (path != second || !create) return;
    if (opens.fetch_add(1) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      stalled_open_done.store(true);
    }
  });
  std::vector<Written> written;
  {
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
    written = Fill(store.get(), kFileSize / 2 + 100);
    for (int k = 0; k < 500 && opens.load() == 0; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(opens.load(), 1) << "the preparer did not start creating the next file";
    auto more = Fill(store.get(), 3 * kFileSize + 10000, static_cast<int>(written.size()));
    written.insert(written.end(), more.begin(), more.end());
    ASSERT_OK(store->Flush());
    ASSERT_OK(store->WaitForDispatch(10000));
    env.AdvanceClockMs(2 * kHourMs);
    ASSERT_OK_AND_ASSIGN(int deleted, store->RunRetention(true));
    EXPECT_GE(deleted, 3);
    // Let the stalled preparer resume and finish what it was doing.
    for (int k = 0; k < 1000 && !stalled_open_done.load(); ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ASSERT_OK(store->Close());
  }
  env.SetOpenHook(nullptr);
  EXPECT_FALSE(std::filesystem::exists(second)) << "a deleted CommitLog file came back";
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  ASSERT_OK(store->WaitForDispatch(10000));
  ExpectRetentionView(store.get(), written, 3 * kFileSize);
}

}  // namespace
}  // namespace libstore
