// Replication primitives: ReadCommitLog on a master, AppendReplicated on a replica, and puts
// waiting for SetReplicaConfirmedOffset (wait_for_replica).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "libstore/message_store.h"
#include "store_test_helpers.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace libstore {
namespace {

using storetest::Body;
using storetest::kFileSize;
using storetest::SmallOptions;
using testing::MakeMessage;
using testing::TempDir;

// Every CommitLog byte from `from` to the end, through ReadCommitLog in chunks.
std::string ReadAll(MessageStore* store, int64_t from, int64_t chunk) {
  std::string out;
  PhysicalOffset pos(from);
  for (;;) {
    auto s = store->ReadCommitLog(pos, chunk);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok() || s->bytes.empty()) break;
    EXPECT_EQ(s->offset, pos);
    out.append(s->bytes);
    pos += static_cast<int64_t>(s->bytes.size());
  }
  return out;
}

// Ships everything of `master` from `from` into `replica`; returns false on any error.
bool Replicate(MessageStore* master, MessageStore* replica, int64_t chunk) {
  for (;;) {
    const PhysicalOffset at = replica->GetStats().commitlog_max_offset;
    auto s = master->ReadCommitLog(at, chunk);
    if (!s.ok()) {
      ADD_FAILURE() << s.status();
      return false;
    }
    if (s->bytes.empty()) return true;
    // Never across a file end.
    EXPECT_EQ(at.value() / kFileSize,
              (at.value() + static_cast<int64_t>(s->bytes.size()) - 1) / kFileSize);
    auto n = replica->AppendReplicated(at, s->bytes);
    if (!n.ok()) {
      ADD_FAILURE() << "AppendReplicated at " << at << ": " << n.status();
      return false;
    }
    if (*n != static_cast<int64_t>(s->bytes.size())) {
      ADD_FAILURE() << "AppendReplicated at " << at << " took " << *n << " of " << s->bytes.size()
                    << " bytes";
      return false;
    }
  }
}

struct Written {
  int qid;
  std::string body;
  std::string key;
  PutResult r;  // last: set after the put
};

std::vector<Written> WriteMaster(MessageStore* master, int n) {
  std::vector<Written> out;
  for (int i = 0; i < n; ++i) {
    Written w{i % 3, Body(i, 300 + static_cast<size_t>(i * 7919 % 4000)), "rk" + std::to_string(i)};
    MessageToStore m = MakeMessage("Repl", w.qid, w.body, i % 2 ? "odd" : "even", w.key);
    if (i % 17 == 5) m.sys_flag = sysflag::kTransactionPrepared;  // no queue unit
    auto r = master->Put(m);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    w.r = *r;
    out.push_back(w);
  }
  return out;
}

TEST(ReplicationTest, ReplicaBecomesByteIdentical) {
  TempDir da, db;
  ASSERT_OK_AND_ASSIGN(auto master, MessageStore::Open(SmallOptions(da.path())));
  ASSERT_OK_AND_ASSIGN(auto replica, MessageStore::Open(SmallOptions(db.path())));
  std::vector<Written> written = WriteMaster(master.get(), 160);
  ASSERT_GE(master->GetStats().commitlog_max_offset.value(), 3 * kFileSize);

  ASSERT_TRUE(Replicate(master.get(), replica.get(), 7000));
  const int64_t end = master->GetStats().commitlog_max_offset.value();
  EXPECT_EQ(replica->GetStats().commitlog_max_offset.value(), end);
  EXPECT_EQ(ReadAll(replica.get(), 0, 1 << 20), ReadAll(master.get(), 0, 1 << 20));
  EXPECT_EQ(ReadAll(replica.get(), 0, 1 << 20).size(), static_cast<size_t>(end));

  // Queues and index are built on the replica.
  ASSERT_OK(master->WaitForDispatch(10000));
  ASSERT_OK(replica->WaitForDispatch(10000));
  EXPECT_EQ(replica->ListQueues(), master->ListQueues());
  for (int q = 0; q < 3; ++q) {
    EXPECT_EQ(replica->GetMaxOffset("Repl", q), master->GetMaxOffset("Repl", q));
    EXPECT_EQ(storetest::DrainQueue(replica.get(), "Repl", q),
              storetest::DrainQueue(master.get(), "Repl", q));
  }
  EXPECT_EQ(storetest::CheckConsumeQueuesRaw(replica.get(), db.path()),
            storetest::CheckConsumeQueuesRaw(master.get(), da.path()));
  for (const Written& w : written) {
    auto q = replica->QueryByKey("Repl", w.key, 4, 0, INT64_MAX);
    ASSERT_OK(q);
    ASSERT_EQ(q->size(), 1u) << w.key;
    EXPECT_EQ((*q)[0].message.physical_offset, w.r.wrote_offset);
    ASSERT_OK_AND_ASSIGN(MessageRef m, replica->GetMessageById(w.r.offset_msg_id()));
    EXPECT_EQ(m.message.body, w.body);
  }
  GetRequest req;
  req.topic = "Repl";
  req.queue_id = 1;
  req.offset = QueueOffset(0);
  req.tags = {"odd"};
  req.max_count = 1000;
  GetResult rg = replica->GetMessages(req);
  GetResult mg = master->GetMessages(req);
  ASSERT_EQ(rg.status, GetStatus::kFound);
  ASSERT_EQ(rg.messages.size(), mg.messages.size());
  EXPECT_EQ(rg.next_begin_offset, mg.next_begin_offset);

  // Incremental: more writes on the master, shipped in small chunks.
  std::vector<Written> more = WriteMaster(master.get(), 40);
  ASSERT_TRUE(Replicate(master.get(), replica.get(), 1));  // one record at a time
  EXPECT_EQ(ReadAll(replica.get(), 0, 1 << 20), ReadAll(master.get(), 0, 1 << 20));

  // Both close cleanly; their CommitLog files are identical on disk; the replica reopens.
  ASSERT_OK(master->Close());
  ASSERT_OK(replica->Close());
  const auto files = storetest::CommitLogFiles(da.path());
  ASSERT_EQ(storetest::CommitLogFiles(db.path()), files);
  for (int64_t f : files) {
    EXPECT_EQ(storetest::ReadWholeFile(storetest::CommitLogPath(db.path(), f)),
              storetest::ReadWholeFile(storetest::CommitLogPath(da.path(), f)))
        << "file " << f;
  }
  replica.reset();
  ASSERT_OK_AND_ASSIGN(replica, MessageStore::Open(SmallOptions(db.path())));
  EXPECT_FALSE(replica->GetStats().last_open_was_abnormal);
  ASSERT_OK_AND_ASSIGN(master, MessageStore::Open(SmallOptions(da.path())));
  EXPECT_EQ(replica->GetStats().commitlog_max_offset, master->GetStats().commitlog_max_offset);
  for (int q = 0; q < 3; ++q) {
    EXPECT_EQ(replica->GetMaxOffset("Repl", q), master->GetMaxOffset("Repl", q));
  }
  // After promotion the replica's own puts continue the queue offsets.
  ASSERT_OK_AND_ASSIGN(PutResult pr, replica->Put(MakeMessage("Repl", 2, "promoted")));
  EXPECT_EQ(pr.queue_offset, master->GetMaxOffset("Repl", 2));
  EXPECT_EQ(pr.wrote_offset, master->GetStats().commitlog_max_offset);
}

TEST(ReplicationTest, AppendReplicatedRejectsBadInput) {
  TempDir da, db;
  ASSERT_OK_AND_ASSIGN(auto master, MessageStore::Open(SmallOptions(da.path())));
  ASSERT_OK_AND_ASSIGN(auto replica, MessageStore::Open(SmallOptions(db.path())));
  std::vector<Written> written = WriteMaster(master.get(), 10);
  ASSERT_OK_AND_ASSIGN(RawSlice all, master->ReadCommitLog(PhysicalOffset(0), 1 << 20));
  ASSERT_EQ(static_cast<int64_t>(all.bytes.size()),
            master->GetStats().commitlog_max_offset.value());
  const std::string bytes(all.bytes);

  // Wrong start offset.
  EXPECT_EQ(replica->AppendReplicated(PhysicalOffset(100), bytes).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A flipped body byte in the third record: DataLoss and nothing written, not even the two
  // valid records before it.
  std::string corrupt = bytes;
  const int64_t third = written[2].r.wrote_offset.value();
  corrupt[static_cast<size_t>(third + written[2].r.wrote_bytes / 2)] ^= 0x40;
  EXPECT_EQ(replica->AppendReplicated(PhysicalOffset(0), corrupt).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(replica->GetStats().commitlog_max_offset.value(), 0);
  EXPECT_FALSE(replica->GetMessageByOffset(PhysicalOffset(0)).ok());
  // A record claiming another physical offset (shipped to the wrong place) is refused too.
  const std::string second_only =
      bytes.substr(static_cast<size_t>(written[1].r.wrote_offset.value()),
                   static_cast<size_t>(written[1].r.wrote_bytes));
  EXPECT_EQ(replica->AppendReplicated(PhysicalOffset(0), second_only).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(replica->GetStats().commitlog_max_offset.value(), 0);

  // A partial header is not consumed.
  ASSERT_OK_AND_ASSIGN(int64_t n, replica->AppendReplicated(PhysicalOffset(0), bytes.substr(0, 5)));
  EXPECT_EQ(n, 0);
  // A trailing partial record is left for later.
  const int64_t two = written[2].r.wrote_offset.value();
  ASSERT_OK_AND_ASSIGN(n, replica->AppendReplicated(
                              PhysicalOffset(0), bytes.substr(0, static_cast<size_t>(two + 30))));
  EXPECT_EQ(n, two);
  EXPECT_EQ(replica->GetStats().commitlog_max_offset.value(), two);
  // Resending from the new end completes it.
  ASSERT_OK_AND_ASSIGN(
      n, replica->AppendReplicated(PhysicalOffset(two), bytes.substr(static_cast<size_t>(two))));
  EXPECT_EQ(n, static_cast<int64_t>(bytes.size()) - two);
  EXPECT_EQ(ReadAll(replica.get(), 0, 1 << 20), bytes);
  // Resending what it already has is a wrong start offset.
  EXPECT_EQ(replica->AppendReplicated(PhysicalOffset(0), bytes).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(replica->WaitForDispatch(10000));
  ASSERT_OK(master->WaitForDispatch(10000));
  for (int q = 0; q < 3; ++q) {
    EXPECT_GT(master->GetMaxOffset("Repl", q).value(), 0);
    EXPECT_EQ(replica->GetMaxOffset("Repl", q), master->GetMaxOffset("Repl", q));
  }
  // Reading the master beyond its end is out of range; at the end it is empty.
  const PhysicalOffset end = master->GetStats().commitlog_max_offset;
  ASSERT_OK_AND_ASSIGN(RawSlice at_end, master->ReadCommitLog(end, 100));
  EXPECT_TRUE(at_end.bytes.empty());
  EXPECT_EQ(master->ReadCommitLog(end + 1, 100).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ReplicationTest, PutWaitsForReplicaConfirmation) {
  TempDir dir;
  StoreOptions o = SmallOptions(dir.path());
  o.wait_for_replica = true;
  o.replica_timeout_ms = 60000;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  std::atomic<bool> done{false};
  absl::StatusOr<PutResult> result;
  std::thread producer([&] {
    result = store->Put(MakeMessage("Wait", 0, "needs a replica"));
    done.store(true);
  });
  // Wait (bounded) until the record is in the CommitLog.
  for (int i = 0; i < 2000 && store->GetStats().commitlog_max_offset.value() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t end = store->GetStats().commitlog_max_offset.value();
  ASSERT_GT(end, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load()) << "the put returned before any replica confirmed it";
  store->SetReplicaConfirmedOffset(PhysicalOffset(end - 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load()) << "a confirmation short of the record released the put";
  store->SetReplicaConfirmedOffset(PhysicalOffset(end));
  producer.join();
  ASSERT_OK(result);
  EXPECT_EQ(result->status, PutStatus::kOk);
  EXPECT_EQ(result->wrote_offset.value() + result->wrote_bytes, end);
  EXPECT_EQ(store->GetStats().replica_confirmed_offset.value(), end);
  // Already confirmed offsets do not go backwards.
  store->SetReplicaConfirmedOffset(PhysicalOffset(1));
  EXPECT_EQ(store->GetStats().replica_confirmed_offset.value(), end);
}

TEST(ReplicationTest, PutTimesOutWithoutReplica) {
  TempDir dir;
  StoreOptions o = SmallOptions(dir.path());
  o.wait_for_replica = true;
  o.replica_timeout_ms = 100;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("Slow", 0, "nobody confirms")));
  EXPECT_EQ(r.status, PutStatus::kFlushSlaveTimeout);
  // The message is stored all the same.
  ASSERT_OK_AND_ASSIGN(MessageRef m, store->GetMessageByOffset(r.wrote_offset));
  EXPECT_EQ(m.message.body, "nobody confirms");
}

// Under SYNC flush the replica wait is bounded by replica_timeout_ms on its own (RocketMQ starts
// the flush and replica requests together, each with its own timeout); a long
// sync_flush_timeout_ms must not stretch it once the sync is done.
TEST(ReplicationTest, ReplicaTimeoutUnderSyncFlush) {
  TempDir dir;
  StoreOptions o = SmallOptions(dir.path());
  o.wait_for_replica = true;
  o.replica_timeout_ms = 100;
  o.flush_mode = FlushMode::kSync;
  o.sync_flush_timeout_ms = 60000;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  std::atomic<bool> done{false};
  absl::StatusOr<PutResult> result;
  std::thread producer([&] {
    result = store->Put(MakeMessage("Slow", 0, "sync"));
    done.store(true);
  });
  // Generous bound: 100x the replica timeout.
  for (int i = 0; i < 1000 && !done.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const bool completed_in_time = done.load();
  if (!completed_in_time) {
    // Release the put so the thread can be joined.
    store->SetReplicaConfirmedOffset(store->GetStats().commitlog_max_offset);
  }
  producer.join();
  EXPECT_TRUE(completed_in_time)
      << "no replica confirmed within replica_timeout_ms = 100, yet the put was still waiting "
         "after 10 s";
  ASSERT_OK(result);
  if (completed_in_time) {
    EXPECT_EQ(result->status, PutStatus::kFlushSlaveTimeout) << PutStatusName(result->status);
  }
  EXPECT_GE(store->GetStats().commitlog_flushed_offset.value(),
            result->wrote_offset.value() + result->wrote_bytes);
}

TEST(ReplicationTest, MasterWithLiveReplica) {
  TempDir da, db;
  StoreOptions mo = SmallOptions(da.path());
  mo.wait_for_replica = true;
  mo.replica_timeout_ms = 5000;  // generous for a live shipper; bounds the test if it breaks
  ASSERT_OK_AND_ASSIGN(auto master, MessageStore::Open(mo));
  ASSERT_OK_AND_ASSIGN(auto replica, MessageStore::Open(SmallOptions(db.path())));
  std::atomic<bool> stop{false};
  std::atomic<int> ship_errors{0};
  std::thread shipper([&] {
    while (!stop.load()) {
      const PhysicalOffset at = replica->GetStats().commitlog_max_offset;
      auto s = master->ReadCommitLog(at, 16 * 1024);
      if (!s.ok()) {
        ship_errors.fetch_add(1);
        return;
      }
      if (s->bytes.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      auto n = replica->AppendReplicated(at, s->bytes);
      if (!n.ok() || *n != static_cast<int64_t>(s->bytes.size())) {
        ship_errors.fetch_add(1);
        return;
      }
      if (!replica->Flush().ok()) {
        ship_errors.fetch_add(1);
        return;
      }
      master->SetReplicaConfirmedOffset(replica->GetStats().commitlog_flushed_offset);
    }
  });
  std::vector<PutResult> results;
  for (int i = 0; i < 80 && ship_errors.load() == 0; ++i) {
    auto r = master->Put(MakeMessage("Live", i % 2, Body(i, 2000), "", "lk" + std::to_string(i)));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    EXPECT_EQ(r->status, PutStatus::kOk) << PutStatusName(r->status);
    if (r->status != PutStatus::kOk) break;
    EXPECT_GE(replica->GetStats().commitlog_flushed_offset.value(),
              r->wrote_offset.value() + r->wrote_bytes);
    results.push_back(*r);
  }
  stop.store(true);
  shipper.join();
  EXPECT_EQ(results.size(), 80u);
  EXPECT_EQ(ship_errors.load(), 0);
  EXPECT_EQ(ReadAll(replica.get(), 0, 1 << 20), ReadAll(master.get(), 0, 1 << 20));
  ASSERT_OK(replica->WaitForDispatch(10000));
  for (int q = 0; q < 2; ++q) EXPECT_EQ(replica->GetMaxOffset("Live", q).value(), 40);
}

}  // namespace
}  // namespace libstore
