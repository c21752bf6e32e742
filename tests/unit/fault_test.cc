// MessageStore under injected faults: EIO on sync, ENOSPC on file creation, simulated power
// loss (unsynced data dropped), torn tails and CRC corruption found at recovery.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
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

// A put that the store acknowledged, and what it should read back as.
struct Acked {
  std::string topic;
  int32_t qid = 0;
  std::string body;
  std::string key;
  PutResult r;  // last: set after the put
};

// Every acknowledged put is readable by physical offset and id, and through its queue.
void ExpectAllPresent(MessageStore* store, const std::vector<Acked>& acked) {
  for (const Acked& a : acked) {
    auto m = store->GetMessageByOffset(a.r.wrote_offset);
    ASSERT_TRUE(m.ok()) << "acknowledged put at " << a.r.wrote_offset << " lost: " << m.status();
    EXPECT_EQ(m->message.body, a.body);
    EXPECT_EQ(m->message.topic, a.topic);
    EXPECT_EQ(m->message.queue_offset, a.r.queue_offset);
    auto by_id = store->GetMessageById(a.r.offset_msg_id());
    ASSERT_TRUE(by_id.ok()) << by_id.status();
    EXPECT_EQ(by_id->message.physical_offset, a.r.wrote_offset);
    GetRequest req;
    req.topic = a.topic;
    req.queue_id = a.qid;
    req.offset = a.r.queue_offset;
    req.max_count = 1;
    GetResult g = store->GetMessages(req);
    ASSERT_EQ(g.status, GetStatus::kFound)
        << a.topic << "-" << a.qid << "@" << a.r.queue_offset << ": " << GetStatusName(g.status);
    ASSERT_EQ(g.messages.size(), 1u);
    EXPECT_EQ(g.messages[0].message.physical_offset, a.r.wrote_offset);
    if (!a.key.empty()) {
      auto q = store->QueryByKey(a.topic, a.key, 4, 0, INT64_MAX);
      ASSERT_TRUE(q.ok()) << q.status();
      ASSERT_EQ(q->size(), 1u) << "key " << a.key;
      EXPECT_EQ((*q)[0].message.physical_offset, a.r.wrote_offset);
    }
  }
}

// Queue offsets dense from min to max in every queue, and every unit points at its record.
void ExpectQueuesConsistent(MessageStore* store, const std::string& root) {
  ASSERT_OK(store->WaitForDispatch(10000));
  int64_t units = 0;
  for (const auto& [topic, qid] : store->ListQueues()) {
    units += static_cast<int64_t>(storetest::DrainQueue(store, topic, qid).size());
  }
  EXPECT_EQ(storetest::CheckConsumeQueuesRaw(store, root), units);
}

TEST(FaultTest, SyncFailureFailsThePutAndMakesTheStoreReadOnly) {
  TempDir dir;
  FaultInjectionEnv env;
  StoreOptions o = SmallOptions(dir.path(), &env);
  o.flush_mode = FlushMode::kSync;
  std::vector<Acked> acked;
  {
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
    for (int i = 0; i < 10; ++i) {
      Acked a{"Eio", i % 2, Body(i, 500), "k" + std::to_string(i)};
      ASSERT_OK_AND_ASSIGN(a.r, store->Put(MakeMessage(a.topic, a.qid, a.body, "", a.key)));
      ASSERT_EQ(a.r.status, PutStatus::kOk);
      acked.push_back(a);
    }
    env.FailSyncsAfter(0);
    auto failed = store->Put(MakeMessage("Eio", 0, "not durable"));
    ASSERT_FALSE(failed.ok()) << "a put whose sync failed was acknowledged";
    EXPECT_NE(failed.status().code(), absl::StatusCode::kOk);

    StoreStats st = store->GetStats();
    EXPECT_FALSE(st.writable);
    EXPECT_FALSE(st.not_writable_reason.empty());
    EXPECT_EQ(store->Put(MakeMessage("Eio", 0, "x")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    std::vector<MessageToStore> batch = {MakeMessage("Eio", 1, "a"), MakeMessage("Eio", 1, "b")};
    EXPECT_EQ(store->PutBatch(batch).status().code(), absl::StatusCode::kFailedPrecondition);
    absl::Status async_status = absl::OkStatus();
    std::atomic<bool> called{false};
    store->PutAsync(MakeMessage("Eio", 0, "y"), [&](absl::StatusOr<PutResult> r) {
      async_status = r.status();
      called.store(true);
    });
    ASSERT_TRUE(called.load());
    EXPECT_EQ(async_status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(store->Flush().ok());
    // Healthy syncs do not make the store writable again.
    env.StopFailingSyncs();
    EXPECT_EQ(store->Put(MakeMessage("Eio", 0, "z")).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_FALSE(store->GetStats().writable);
    // Reads keep working.
    ASSERT_OK(store->WaitForDispatch(10000));
    ExpectAllPresent(store.get(), acked);
    (void)store->Close();
  }
  // Not a clean shutdown: the next open recovers.
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/abort"));
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_TRUE(store->GetStats().last_open_was_abnormal);
  EXPECT_TRUE(store->GetStats().writable);
  ExpectAllPresent(store.get(), acked);
  ExpectQueuesConsistent(store.get(), dir.path());
  ASSERT_OK(store->Put(MakeMessage("Eio", 0, "after reopen")));
}

TEST(FaultTest, SyncFailureUnderConcurrentPutsNeverAcknowledgesLostData) {
  TempDir dir;
  FaultInjectionEnv env;
  StoreOptions o = SmallOptions(dir.path(), &env);
  o.flush_mode = FlushMode::kSync;
  std::vector<Acked> acked;
  {
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
    std::mutex mu;
    std::atomic<int> errors_after_failure{0};
    std::atomic<int> bad_codes{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        // Each thread puts until it sees an error (bounded).
        for (int i = 0; i < 5000; ++i) {
          Acked a{"EioC", t % 3, Body(t * 10000 + i, 300 + static_cast<size_t>(i % 7) * 100), ""};
          auto r = store->Put(MakeMessage(a.topic, a.qid, a.body));
          if (!r.ok()) {
            const auto c = r.status().code();
            if (c != absl::StatusCode::kFailedPrecondition && c != absl::StatusCode::kDataLoss &&
                c != absl::StatusCode::kInternal) {
              bad_codes.fetch_add(1);
            }
            // Once failed, every later put fails too.
            for (int k = 0; k < 3; ++k) {
              if (store->Put(MakeMessage(a.topic, a.qid, "again")).ok()) {
                errors_after_failure.fetch_add(1);
              }
            }
            return;
          }
          if (r->status != PutStatus::kOk) continue;
          a.r = *r;
          std::lock_guard<std::mutex> l(mu);
          acked.push_back(a);
        }
      });
    }
    // Let some puts succeed, then make every sync fail.
    for (int i = 0; i < 2000 && store->GetStats().puts < 60; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    env.FailSyncsAfter(0);
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors_after_failure.load(), 0);
    EXPECT_EQ(bad_codes.load(), 0);
    EXPECT_FALSE(store->GetStats().writable);
    (void)store->Close();
  }
  ASSERT_GE(acked.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  ExpectAllPresent(store.get(), acked);
  ExpectQueuesConsistent(store.get(), dir.path());
}

TEST(FaultTest, NoSpaceForANewCommitLogFile) {
  TempDir dir;
  FaultInjectionEnv env;
  StoreOptions o = SmallOptions(dir.path(), &env);
  o.preallocate_next_file = false;  // the writer itself must create the next file
  std::vector<Acked> acked;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  // Fill the first file until a 3000-byte message no longer fits.
  for (int i = 0;; ++i) {
    const int64_t max = store->GetStats().commitlog_max_offset.value();
    if (kFileSize - max < 3400) break;
    Acked a{"Full", 0, Body(i, 3000), ""};
    ASSERT_OK_AND_ASSIGN(a.r, store->Put(MakeMessage(a.topic, a.qid, a.body)));
    acked.push_back(a);
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  const StoreStats before = store->GetStats();
  ASSERT_EQ(storetest::CommitLogFiles(dir.path()).size(), 1u);

  env.SetNoSpace(true);
  auto r = store->Put(MakeMessage("Full", 0, Body(999, 3000)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  std::vector<MessageToStore> batch = {MakeMessage("Full", 0, Body(1, 2000)),
                                       MakeMessage("Full", 0, Body(2, 2000))};
  EXPECT_EQ(store->PutBatch(batch).status().code(), absl::StatusCode::kResourceExhausted);
  // Nothing became visible.
  const StoreStats after = store->GetStats();
  EXPECT_EQ(after.commitlog_max_offset, before.commitlog_max_offset);
  EXPECT_EQ(store->GetMaxOffset("Full", 0).value(), static_cast<int64_t>(acked.size()));
  EXPECT_EQ(store->GetMessageByOffset(before.commitlog_max_offset).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(storetest::CommitLogFiles(dir.path()).size(), 1u);
  {
    const std::string bytes = storetest::ReadWholeFile(storetest::CommitLogPath(dir.path(), 0));
    const auto tail = bytes.substr(static_cast<size_t>(before.commitlog_max_offset.value()));
    EXPECT_EQ(tail.find_first_not_of('\0'), std::string::npos)
        << "bytes were written past the last acknowledged record";
  }
  // A small message still fits the current file and needs no new one.
  Acked small{"Full", 0, "small", ""};
  ASSERT_OK_AND_ASSIGN(small.r, store->Put(MakeMessage(small.topic, small.qid, small.body)));
  EXPECT_EQ(small.r.wrote_offset, before.commitlog_max_offset);
  acked.push_back(small);

  env.SetNoSpace(false);
  Acked next{"Full", 0, Body(1000, 3000), ""};
  ASSERT_OK_AND_ASSIGN(next.r, store->Put(MakeMessage(next.topic, next.qid, next.body)));
  EXPECT_EQ(next.r.wrote_offset.value(), kFileSize);
  EXPECT_EQ(next.r.queue_offset.value(), static_cast<int64_t>(acked.size()))
      << "the refused put must not consume a queue offset";
  acked.push_back(next);
  ASSERT_OK(store->WaitForDispatch(10000));
  ExpectAllPresent(store.get(), acked);
  ExpectQueuesConsistent(store.get(), dir.path());
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(SmallOptions(dir.path())));
  ExpectAllPresent(store.get(), acked);
  EXPECT_EQ(store->GetMaxOffset("Full", 0).value(), static_cast<int64_t>(acked.size()));
}

TEST(FaultTest, PowerLossKeepsEverySyncFlushAcknowledgedPut) {
  TempDir dir;
  std::vector<Acked> acked;
  {
    FaultInjectionEnv env;
    StoreOptions o = SmallOptions(dir.path(), &env);
    o.flush_mode = FlushMode::kSync;
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 60; ++i) {
          const int n = t * 1000 + i;
          Acked a{t == 2 ? "PowerB" : "PowerA", i % 3,
                  Body(n, 200 + static_cast<size_t>(n % 13) * 150), "pk" + std::to_string(n)};
          auto r = store->Put(MakeMessage(a.topic, a.qid, a.body, "", a.key));
          ASSERT_TRUE(r.ok()) << r.status();
          ASSERT_EQ(r->status, PutStatus::kOk);
          a.r = *r;
          std::lock_guard<std::mutex> l(mu);
          acked.push_back(a);
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_GE(store->GetStats().commitlog_max_offset.value(), 2 * kFileSize);
    env.Crash();
    // Writes after the power cut are never acknowledged.
    auto lost = store->Put(MakeMessage("PowerA", 0, "after the cut"));
    EXPECT_FALSE(lost.ok());
    store.reset();
    ASSERT_OK(env.DropUnsyncedData());
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/abort"));
  FaultInjectionEnv healthy;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path(), &healthy)));
  EXPECT_TRUE(store->GetStats().last_open_was_abnormal);
  EXPECT_FALSE(store->GetStats().recovery_note.empty());
  ASSERT_OK(store->WaitForDispatch(10000));
  ExpectAllPresent(store.get(), acked);
  ExpectQueuesConsistent(store.get(), dir.path());
  std::map<std::pair<std::string, int>, int64_t> counts;
  for (const Acked& a : acked) counts[{a.topic, a.qid}]++;
  for (const auto& [q, n] : counts) {
    EXPECT_EQ(store->GetMaxOffset(q.first, q.second).value(), n) << q.first << "-" << q.second;
  }
  // The store keeps working, and survives a second clean reopen.
  ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("PowerA", 0, "after recovery")));
  EXPECT_EQ(r.queue_offset.value(), (counts[{"PowerA", 0}]));
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_FALSE(store->GetStats().last_open_was_abnormal);
  ExpectAllPresent(store.get(), acked);
  ExpectQueuesConsistent(store.get(), dir.path());
}

TEST(FaultTest, PowerLossAfterExplicitFlushUnderAsyncFlush) {
  TempDir dir;
  std::vector<Acked> flushed;
  std::vector<Acked> later;
  {
    FaultInjectionEnv env;
    StoreOptions o = SmallOptions(dir.path(), &env);
    o.flush_mode = FlushMode::kAsync;
    o.flush_interval_ms = 60000;  // only the explicit Flush syncs
    o.flush_thorough_interval_ms = 600000;
    o.flush_least_pages = 1000;
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
    for (int i = 0; i < 150; ++i) {
      Acked a{"AsyncP", i % 2, Body(i, 1200), "ak" + std::to_string(i)};
      ASSERT_OK_AND_ASSIGN(a.r, store->Put(MakeMessage(a.topic, a.qid, a.body, "", a.key)));
      flushed.push_back(a);
    }
    ASSERT_OK(store->Flush());
    EXPECT_EQ(store->GetStats().commitlog_flushed_offset, store->GetStats().commitlog_max_offset);
    for (int i = 150; i < 200; ++i) {
      Acked a{"AsyncP", i % 2, Body(i, 1200), ""};
      ASSERT_OK_AND_ASSIGN(a.r, store->Put(MakeMessage(a.topic, a.qid, a.body)));
      later.push_back(a);
    }
    env.Crash();
    store.reset();
    ASSERT_OK(env.DropUnsyncedData());
  }
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_TRUE(store->GetStats().last_open_was_abnormal);
  ASSERT_OK(store->WaitForDispatch(10000));
  ExpectAllPresent(store.get(), flushed);
  ExpectQueuesConsistent(store.get(), dir.path());
  // What survived of the unflushed tail is a prefix: no holes.
  bool gone = false;
  for (const Acked& a : later) {
    auto m = store->GetMessageByOffset(a.r.wrote_offset);
    if (!m.ok()) {
      gone = true;
      continue;
    }
    EXPECT_FALSE(gone) << "a record after a lost one survived at " << a.r.wrote_offset;
    EXPECT_EQ(m->message.body, a.body);
  }
  // New puts work and continue the surviving queue offsets.
  const int64_t max0 = store->GetMaxOffset("AsyncP", 0).value();
  ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("AsyncP", 0, "new")));
  EXPECT_EQ(r.queue_offset.value(), max0);
  EXPECT_EQ(r.wrote_offset, store->GetStats().commitlog_max_offset - r.wrote_bytes);
}

// Writes messages, closes cleanly, and returns what was acknowledged.
std::vector<Acked> WriteAndClose(const std::string& root, int n, size_t body_len) {
  std::vector<Acked> acked;
  auto store = MessageStore::Open(SmallOptions(root));
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return acked;
  for (int i = 0; i < n; ++i) {
    Acked a{"Torn", i % 3, Body(i, body_len + static_cast<size_t>(i % 5) * 10),
            "tk" + std::to_string(i)};
    auto r = (*store)->Put(MakeMessage(a.topic, a.qid, a.body, "", a.key));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    a.r = *r;
    acked.push_back(a);
  }
  EXPECT_OK((*store)->Close());
  return acked;
}

// After recovery cut the CommitLog right before `acked[cut]`: everything before it is intact,
// nothing from it on is visible, queues agree, and new puts reuse the freed offsets.
void ExpectCutAt(const std::string& root, const std::vector<Acked>& acked, size_t cut) {
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(root)));
  const StoreStats st = store->GetStats();
  EXPECT_EQ(st.commitlog_max_offset, acked[cut].r.wrote_offset) << st.recovery_note;
  EXPECT_FALSE(st.recovery_note.empty());
  ASSERT_OK(store->WaitForDispatch(10000));
  std::vector<Acked> kept(acked.begin(), acked.begin() + static_cast<long>(cut));
  ExpectAllPresent(store.get(), kept);
  for (size_t i = cut; i < acked.size(); ++i) {
    EXPECT_EQ(store->GetMessageByOffset(acked[i].r.wrote_offset).status().code(),
              absl::StatusCode::kOutOfRange);
    auto q = store->QueryByKey("Torn", acked[i].key, 4, 0, INT64_MAX);
    ASSERT_OK(q);
    EXPECT_TRUE(q->empty()) << "index still finds cut message " << acked[i].key;
  }
  std::map<int, int64_t> counts;
  for (const Acked& a : kept) counts[a.qid]++;
  for (int q = 0; q < 3; ++q) {
    EXPECT_EQ(store->GetMaxOffset("Torn", q).value(), counts[q]) << "queue " << q;
  }
  ExpectQueuesConsistent(store.get(), root);
  // The freed queue offset and CommitLog position are reused.
  const int qid = acked[cut].qid;
  ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("Torn", qid, "replacement", "",
                                                           acked[cut].key + "-new")));
  EXPECT_EQ(r.wrote_offset, acked[cut].r.wrote_offset);
  EXPECT_EQ(r.queue_offset.value(), counts[qid]);
  EXPECT_EQ(r.queue_offset, acked[cut].r.queue_offset);
  ASSERT_OK(store->WaitForDispatch(10000));
  GetRequest req;
  req.topic = "Torn";
  req.queue_id = qid;
  req.offset = r.queue_offset;
  GetResult g = store->GetMessages(req);
  ASSERT_EQ(g.status, GetStatus::kFound);
  EXPECT_EQ(g.messages[0].message.body, "replacement");
  auto old_key = store->QueryByKey("Torn", acked[cut].key, 4, 0, INT64_MAX);
  ASSERT_OK(old_key);
  EXPECT_TRUE(old_key->empty());
  ASSERT_OK(store->Close());
  store.reset();
  // And a second, clean reopen sees the same.
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(SmallOptions(root)));
  ExpectAllPresent(store.get(), kept);
  ExpectQueuesConsistent(store.get(), root);
}

TEST(FaultTest, TornTailZeroedSecondHalfIsCut) {
  TempDir dir;
  std::vector<Acked> acked = WriteAndClose(dir.path(), 90, 1500);
  ASSERT_EQ(acked.size(), 90u);
  ASSERT_GE(acked.back().r.wrote_offset.value(), kFileSize);
  storetest::TouchFile(dir.path() + "/abort");  // as if the process had died
  const Acked& last = acked.back();
  const int64_t file_from = last.r.wrote_offset.value() / kFileSize * kFileSize;
  const int64_t pos = last.r.wrote_offset.value() - file_from;
  const int64_t half = last.r.wrote_bytes / 2;
  storetest::WriteAt(storetest::CommitLogPath(dir.path(), file_from), pos + half,
                     std::string(static_cast<size_t>(last.r.wrote_bytes - half), '\0'));
  ExpectCutAt(dir.path(), acked, acked.size() - 1);
}

TEST(FaultTest, TornTailGarbageIsCut) {
  TempDir dir;
  std::vector<Acked> acked = WriteAndClose(dir.path(), 90, 1500);
  ASSERT_EQ(acked.size(), 90u);
  storetest::TouchFile(dir.path() + "/abort");
  const Acked& last = acked.back();
  const int64_t file_from = last.r.wrote_offset.value() / kFileSize * kFileSize;
  const int64_t end = last.r.wrote_offset.value() - file_from + last.r.wrote_bytes;
  std::string garbage;
  for (int i = 0; i < 100; ++i) garbage.push_back(static_cast<char>(0xA5 ^ (i * 37)));
  storetest::WriteAt(storetest::CommitLogPath(dir.path(), file_from), end - 100, garbage);
  ExpectCutAt(dir.path(), acked, acked.size() - 1);
}

TEST(FaultTest, CrcCorruptionMidLastFileCutsThere) {
  TempDir dir;
  std::vector<Acked> acked = WriteAndClose(dir.path(), 110, 1500);
  ASSERT_EQ(acked.size(), 110u);
  // The records of the last file; corrupt one in its middle.
  const int64_t last_from = acked.back().r.wrote_offset.value() / kFileSize * kFileSize;
  std::vector<size_t> in_last;
  for (size_t i = 0; i < acked.size(); ++i) {
    if (acked[i].r.wrote_offset.value() >= last_from) in_last.push_back(i);
  }
  ASSERT_GE(in_last.size(), 6u);
  const size_t victim = in_last[in_last.size() / 2];
  // Flip one byte in the middle of the body (the body ends 3 + topic + properties before the
  // record end; the middle of the record is inside the body for these sizes).
  const int64_t at =
      acked[victim].r.wrote_offset.value() - last_from + acked[victim].r.wrote_bytes / 2;
  std::string bytes = storetest::ReadWholeFile(storetest::CommitLogPath(dir.path(), last_from));
  std::string flipped(1, static_cast<char>(bytes[static_cast<size_t>(at)] ^ 0x5A));
  storetest::WriteAt(storetest::CommitLogPath(dir.path(), last_from), at, flipped);
  ExpectCutAt(dir.path(), acked, victim);
}

TEST(FaultTest, CrcCorruptionAfterUncleanShutdownCutsThere) {
  TempDir dir;
  std::vector<Acked> acked = WriteAndClose(dir.path(), 110, 1500);
  ASSERT_EQ(acked.size(), 110u);
  storetest::TouchFile(dir.path() + "/abort");
  const int64_t last_from = acked.back().r.wrote_offset.value() / kFileSize * kFileSize;
  size_t victim = acked.size();
  for (size_t i = 0; i < acked.size(); ++i) {
    if (acked[i].r.wrote_offset.value() >= last_from) {
      victim = i + 2;
      break;
    }
  }
  ASSERT_LT(victim, acked.size());
  const int64_t at = acked[victim].r.wrote_offset.value() - last_from + 200;  // inside the body
  std::string bytes = storetest::ReadWholeFile(storetest::CommitLogPath(dir.path(), last_from));
  storetest::WriteAt(storetest::CommitLogPath(dir.path(), last_from), at,
                     std::string(1, static_cast<char>(bytes[static_cast<size_t>(at)] ^ 1)));
  ExpectCutAt(dir.path(), acked, victim);
}

// The preparer creates the next CommitLog file ahead of time; when the writer reaches the end
// of the current file before that file is published, it creates the same file itself. The
// preparer's late copy must then be dropped: if it were published as "the next file", Close
// would delete it, i.e. delete the live last file with every record in it.
TEST(FaultTest, PreallocationRacingTheWriterNeverLosesTheLiveFile) {
  TempDir dir;
  FaultInjectionEnv env;
  StoreOptions o = SmallOptions(dir.path(), &env);
  o.preallocate_next_file = true;
  const std::string second = storetest::CommitLogPath(dir.path(), kFileSize);
  std::atomic<int> opens{0};
  // Force the interleaving: the first creator of the second file (the preparer, at half the
  // first file) is held 300 ms, the second one (the writer, at the roll) 900 ms, so the
  // preparer finishes while the writer is still creating the file.
  env.SetOpenHook([&](const std::string& path, bool create) {
    if (path != second || !create) return;
    const int n = opens.fetch_add(1);
    if (n < 2) std::this_thread::sleep_for(std::chrono::milliseconds(n == 0 ? 300 : 900));
  });
  std::vector<Acked> acked;
  {
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
    int i = 0;
    auto put = [&] {
      Acked a{"Prep", i % 2, Body(i, 3000), "pp" + std::to_string(i)};
      auto r = store->Put(MakeMessage(a.topic, a.qid, a.body, "", a.key));
      ASSERT_TRUE(r.ok()) << r.status();
      a.r = *r;
      acked.push_back(a);
      ++i;
    };
    while (store->GetStats().commitlog_max_offset.value() < kFileSize / 2 + 100) put();
    for (int k = 0; k < 500 && opens.load() == 0; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(opens.load(), 1) << "the preparer did not start creating the next file";
    while (store->GetStats().commitlog_max_offset.value() < kFileSize + 5000) put();
    ASSERT_GE(acked.back().r.wrote_offset.value(), kFileSize);
    ASSERT_OK(store->Close());
  }
  env.SetOpenHook(nullptr);
  EXPECT_TRUE(std::filesystem::exists(second)) << "Close deleted the live last CommitLog file";
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path(), &env)));
  EXPECT_EQ(store->GetStats().commitlog_max_offset.value(),
            acked.back().r.wrote_offset.value() + acked.back().r.wrote_bytes);
  ExpectAllPresent(store.get(), acked);
  ExpectQueuesConsistent(store.get(), dir.path());
}

}  // namespace
}  // namespace libstore
