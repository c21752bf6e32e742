// MessageStore through its public API: puts, reads, filters, batches, file rolling,
// transactions, time and key queries, reopen, and sync flush.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
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
using storetest::kMaxMessageSize;
using storetest::SmallOptions;
using testing::FaultInjectionEnv;
using testing::MakeMessage;
using testing::TempDir;

GetRequest Req(const std::string& topic, int32_t qid, int64_t offset, int32_t max_count = 32) {
  GetRequest r;
  r.topic = topic;
  r.queue_id = qid;
  r.offset = QueueOffset(offset);
  r.max_count = max_count;
  return r;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

TEST(StoreTest, QueueOffsetsAreDensePerQueue) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  std::map<std::pair<std::string, int>, std::vector<std::string>> expected;
  const std::vector<std::pair<std::string, int>> queues = {
      {"TopicA", 0}, {"TopicA", 1}, {"TopicB", 0}, {"TopicA", 7}};
  for (int i = 0; i < 60; ++i) {
    const auto& q = queues[static_cast<size_t>(i * 7 % 11) % queues.size()];
    const std::string body = Body(i, 50 + static_cast<size_t>(i));
    ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage(q.first, q.second, body)));
    EXPECT_EQ(r.status, PutStatus::kOk);
    EXPECT_EQ(r.message_count, 1);
    auto& v = expected[q];
    EXPECT_EQ(r.queue_offset.value(), static_cast<int64_t>(v.size())) << q.first << q.second;
    v.push_back(body);
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  for (const auto& [q, bodies] : expected) {
    EXPECT_EQ(store->GetMinOffset(q.first, q.second).value(), 0);
    EXPECT_EQ(store->GetMaxOffset(q.first, q.second).value(), static_cast<int64_t>(bodies.size()));
    EXPECT_EQ(storetest::DrainQueue(store.get(), q.first, q.second), bodies);
  }
  const StoreStats st = store->GetStats();
  EXPECT_EQ(st.puts, 60);
  EXPECT_EQ(st.dispatched_offset, st.commitlog_max_offset);
  EXPECT_EQ(st.dispatch_behind_bytes, 0);
  EXPECT_EQ(st.commitlog_min_offset.value(), 0);
  EXPECT_EQ(st.put_bytes, st.commitlog_max_offset.value());
  EXPECT_TRUE(st.writable);
  EXPECT_TRUE(st.not_writable_reason.empty());
  // A queue id never written to has no queue.
  EXPECT_EQ(store->GetMaxOffset("TopicA", 3).value(), 0);
  EXPECT_EQ(store->GetMaxOffset("NoSuchTopic", 0).value(), 0);
}

TEST(StoreTest, GetMessagesStatuses) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  for (int i = 0; i < 5; ++i) ASSERT_OK(store->Put(MakeMessage("T", 2, Body(i, 100))));
  ASSERT_OK(store->Close());
  store.reset();
  // A queue directory with no unit in it: the queue exists but is empty. (With an empty
  // CommitLog recovery would destroy every queue, as RocketMQ does.)
  std::filesystem::create_directories(dir.path() + "/consumequeue/EmptyTopic/0");
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(SmallOptions(dir.path())));
  ASSERT_OK(store->WaitForDispatch(10000));

  GetResult r = store->GetMessages(Req("Missing", 0, 0));
  EXPECT_EQ(r.status, GetStatus::kNoMatchedLogicQueue);
  EXPECT_TRUE(r.messages.empty());
  r = store->GetMessages(Req("T", 3, 0));
  EXPECT_EQ(r.status, GetStatus::kNoMatchedLogicQueue);

  r = store->GetMessages(Req("EmptyTopic", 0, 0));
  EXPECT_EQ(r.status, GetStatus::kNoMessageInQueue) << GetStatusName(r.status);
  EXPECT_EQ(r.next_begin_offset.value(), 0);
  EXPECT_TRUE(r.messages.empty());

  r = store->GetMessages(Req("T", 2, 5));
  EXPECT_EQ(r.status, GetStatus::kOffsetOverflowOne);
  EXPECT_EQ(r.next_begin_offset.value(), 5);
  EXPECT_EQ(r.min_offset.value(), 0);
  EXPECT_EQ(r.max_offset.value(), 5);
  EXPECT_TRUE(r.messages.empty());

  r = store->GetMessages(Req("T", 2, 9));
  EXPECT_EQ(r.status, GetStatus::kOffsetOverflowBadly);
  EXPECT_TRUE(r.messages.empty());
  // Corrected to max (RocketMQ 4.9.7 / 5.x; ../shared/specs/rocketmq-store.md 3.3).
  EXPECT_EQ(r.next_begin_offset.value(), 5);

  r = store->GetMessages(Req("T", 2, 1));
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.next_begin_offset.value(), 5);
  for (size_t i = 0; i < r.messages.size(); ++i) {
    EXPECT_EQ(r.messages[i].message.queue_offset.value(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(r.messages[i].message.body, Body(static_cast<int>(i) + 1, 100));
    EXPECT_EQ(r.messages[i].message.queue_id, 2);
  }
  int64_t total = 0;
  for (const auto& m : r.messages) total += m.message.store_size;
  EXPECT_EQ(r.total_bytes, total);

  // One more put makes the old "overflow one" offset readable.
  ASSERT_OK(store->Put(MakeMessage("T", 2, "sixth")));
  ASSERT_OK(store->WaitForDispatch(10000));
  r = store->GetMessages(Req("T", 2, 5));
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].message.body, "sixth");
  EXPECT_EQ(r.next_begin_offset.value(), 6);
}

TEST(StoreTest, GetMessagesHonoursMaxCountAndMaxBytes) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  std::vector<PutResult> puts;
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("Lim", 0, Body(i, 300))));
    puts.push_back(r);
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  const int64_t rec = puts[0].wrote_bytes;  // every record has the same size
  for (const auto& p : puts) ASSERT_EQ(p.wrote_bytes, rec);

  GetResult r = store->GetMessages(Req("Lim", 0, 3, /*max_count=*/4));
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.next_begin_offset.value(), 7);
  EXPECT_EQ(r.messages.front().message.queue_offset.value(), 3);
  EXPECT_EQ(r.messages.back().message.queue_offset.value(), 6);

  GetRequest req = Req("Lim", 0, 2, 32);
  req.max_bytes = rec * 5 / 2;  // room for two records, not three
  r = store->GetMessages(req);
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.total_bytes, 2 * rec);
  EXPECT_EQ(r.next_begin_offset.value(), 4);

  // A first message larger than max_bytes is still returned (as RocketMQ).
  req.max_bytes = 10;
  r = store->GetMessages(req);
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.next_begin_offset.value(), 3);

  // max_count reaching past the end stops at the end.
  r = store->GetMessages(Req("Lim", 0, 15, 100));
  ASSERT_EQ(r.status, GetStatus::kFound);
  EXPECT_EQ(r.messages.size(), 5u);
  EXPECT_EQ(r.next_begin_offset.value(), 20);
}

TEST(StoreTest, TagFilter) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  const std::vector<std::string> tags = {"TagA", "TagB", "TagC", "", "TagA"};
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK(store->Put(
        MakeMessage("Tags", 0, "b" + std::to_string(i), tags[static_cast<size_t>(i) % 5])));
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  auto fetch = [&](std::vector<std::string> filter, int64_t from, int32_t max_count) {
    GetRequest req = Req("Tags", 0, from, max_count);
    req.tags = std::move(filter);
    return store->GetMessages(req);
  };
  auto tag_of = [](const MessageRef& m) {
    return std::string(FindProperty(m.message.properties, "TAGS").value_or(""));
  };

  GetResult r = fetch({"TagA"}, 0, 100);
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 12u);
  for (const auto& m : r.messages) {
    EXPECT_EQ(tag_of(m), "TagA");
    const int64_t qo = m.message.queue_offset.value();
    EXPECT_TRUE(qo % 5 == 0 || qo % 5 == 4) << qo;
  }
  EXPECT_EQ(r.next_begin_offset.value(), 30);

  // max_count counts matches; next_begin_offset is right after the last one taken.
  r = fetch({"TagA"}, 0, 3);
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].message.queue_offset.value(), 0);
  EXPECT_EQ(r.messages[1].message.queue_offset.value(), 4);
  EXPECT_EQ(r.messages[2].message.queue_offset.value(), 5);
  EXPECT_EQ(r.next_begin_offset.value(), 6);

  r = fetch({"TagB", "TagC"}, 0, 100);
  ASSERT_EQ(r.status, GetStatus::kFound);
  ASSERT_EQ(r.messages.size(), 12u);
  for (const auto& m : r.messages) {
    const std::string t = tag_of(m);
    EXPECT_TRUE(t == "TagB" || t == "TagC") << t;
  }

  r = fetch({"*"}, 0, 100);
  ASSERT_EQ(r.status, GetStatus::kFound);
  EXPECT_EQ(r.messages.size(), 30u);
  r = fetch({}, 0, 100);
  ASSERT_EQ(r.status, GetStatus::kFound);
  EXPECT_EQ(r.messages.size(), 30u);
  r = fetch({"TagB", "*"}, 0, 100);
  EXPECT_EQ(r.messages.size(), 30u);

  // A tag nobody uses: nothing matches in the scanned window.
  r = fetch({"TagZ"}, 0, 100);
  EXPECT_EQ(r.status, GetStatus::kNoMatchedMessage) << GetStatusName(r.status);
  EXPECT_TRUE(r.messages.empty());
  EXPECT_EQ(r.next_begin_offset.value(), 30);
  // Tag matching is exact: a prefix does not match.
  r = fetch({"Tag"}, 0, 100);
  EXPECT_TRUE(r.messages.empty());
}

TEST(StoreTest, PutBatchLandsInOneFileWithConsecutiveOffsets) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  ASSERT_OK(store->Put(MakeMessage("Batch", 1, "before")));
  std::vector<MessageToStore> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(MakeMessage("Batch", 1, Body(i, 900), "", "bk"));
  // Fill the first file until the batch no longer fits in it.
  int64_t batch_bytes = 0;
  {
    ASSERT_OK_AND_ASSIGN(PutResult probe, store->PutBatch(batch));
    EXPECT_EQ(probe.queue_offset.value(), 1);
    EXPECT_EQ(probe.message_count, 4);
    batch_bytes = probe.wrote_bytes;
  }
  int filler = 0;
  while (true) {
    const int64_t max = store->GetStats().commitlog_max_offset.value();
    const int64_t left = kFileSize - max % kFileSize;
    if (left < batch_bytes + 8) break;
    ASSERT_OK(store->Put(MakeMessage("Filler", 0, Body(filler++, 700))));
  }
  ASSERT_EQ(store->GetStats().commitlog_max_offset.value() / kFileSize, 0);
  ASSERT_OK_AND_ASSIGN(PutResult r, store->PutBatch(batch));
  EXPECT_EQ(r.status, PutStatus::kOk);
  EXPECT_EQ(r.message_count, 4);
  EXPECT_EQ(r.wrote_bytes, batch_bytes);
  EXPECT_EQ(r.queue_offset.value(), 5);
  EXPECT_EQ(r.wrote_offset.value(), kFileSize) << "the batch must start the next file";
  EXPECT_EQ((r.wrote_offset.value() + r.wrote_bytes - 1) / kFileSize, 1);

  const std::vector<std::string> ids = Split(r.offset_msg_ids(), ',');
  ASSERT_EQ(ids.size(), 4u);
  int64_t expect_phys = r.wrote_offset.value();
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i].size(), 32u);
    ASSERT_OK_AND_ASSIGN(MessageRef m, store->GetMessageById(ids[i]));
    EXPECT_EQ(m.message.physical_offset.value(), expect_phys);
    EXPECT_EQ(m.message.queue_offset.value(), 5 + static_cast<int64_t>(i));
    EXPECT_EQ(m.message.body, Body(static_cast<int>(i), 900));
    EXPECT_EQ(m.message.store_timestamp_ms, r.store_timestamp_ms);
    expect_phys += m.message.store_size;
  }
  EXPECT_EQ(expect_phys, r.wrote_offset.value() + r.wrote_bytes);
  EXPECT_EQ(r.offset_msg_id(), ids[0]);
  ASSERT_OK_AND_ASSIGN(MessageRef first, store->GetMessageById(r.offset_msg_id()));
  EXPECT_EQ(first.message.physical_offset, r.wrote_offset);

  ASSERT_OK(store->WaitForDispatch(10000));
  EXPECT_EQ(store->GetMaxOffset("Batch", 1).value(), 9);
  auto bodies = storetest::DrainQueue(store.get(), "Batch", 1);
  ASSERT_EQ(bodies.size(), 9u);
  EXPECT_EQ(bodies[0], "before");
  EXPECT_EQ(bodies[8], Body(3, 900));
  // The first file ends with a blank filler declaring its unused tail.
  storetest::RawFile f0 = storetest::WalkCommitLogFile(
      storetest::ReadWholeFile(storetest::CommitLogPath(dir.path(), 0)), 0);
  EXPECT_TRUE(f0.clean);
  EXPECT_TRUE(f0.ends_with_blank);
}

TEST(StoreTest, RecordsNeverSpanFiles) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  struct Put {
    PutResult r;
    std::string body;
    int qid;
  };
  std::vector<Put> puts;
  for (int i = 0; store->GetStats().commitlog_max_offset.value() < 5 * kFileSize + 1000; ++i) {
    const size_t len = 100 + static_cast<size_t>(i * 2654435761u % 9000);
    const int qid = i % 3;
    std::string body = Body(i, len);
    ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("Roll", qid, body, "", "")));
    puts.push_back({r, std::move(body), qid});
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  for (const Put& p : puts) {
    const int64_t from = p.r.wrote_offset.value();
    EXPECT_EQ(from / kFileSize, (from + p.r.wrote_bytes - 1) / kFileSize)
        << "record at " << from << " spans files";
    ASSERT_OK_AND_ASSIGN(MessageRef by_off, store->GetMessageByOffset(p.r.wrote_offset));
    EXPECT_EQ(by_off.message.body, p.body);
    EXPECT_EQ(by_off.message.store_size, p.r.wrote_bytes);
    ASSERT_OK_AND_ASSIGN(MessageRef by_id, store->GetMessageById(p.r.offset_msg_id()));
    EXPECT_EQ(by_id.message.physical_offset, p.r.wrote_offset);
    EXPECT_EQ(by_id.message.queue_offset, p.r.queue_offset);
  }

  const std::vector<int64_t> files = storetest::CommitLogFiles(dir.path());
  ASSERT_GE(files.size(), 6u);
  size_t next_put = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    ASSERT_EQ(files[i], static_cast<int64_t>(i) * kFileSize);
    const std::string bytes =
        storetest::ReadWholeFile(storetest::CommitLogPath(dir.path(), files[i]));
    ASSERT_EQ(static_cast<int64_t>(bytes.size()), kFileSize);
    storetest::RawFile f = storetest::WalkCommitLogFile(bytes, files[i]);
    EXPECT_TRUE(f.clean) << "file " << i;
    const bool is_last_written =
        store->GetStats().commitlog_max_offset.value() < files[i] + kFileSize;
    if (!is_last_written) {
      EXPECT_TRUE(f.ends_with_blank) << "file " << i << " does not end with a blank filler";
      ASSERT_FALSE(f.records.empty());
      EXPECT_TRUE(f.records.back().blank);
      EXPECT_EQ(f.records.back().offset + f.records.back().size, files[i] + kFileSize);
    }
    for (const auto& rec : f.records) {
      if (rec.blank) continue;
      ASSERT_LT(next_put, puts.size());
      EXPECT_EQ(rec.offset, puts[next_put].r.wrote_offset.value());
      EXPECT_EQ(rec.physical_offset, rec.offset);
      EXPECT_EQ(rec.body, puts[next_put].body);
      ++next_put;
    }
  }
  EXPECT_EQ(next_put, puts.size());
  EXPECT_EQ(storetest::CheckConsumeQueuesRaw(store.get(), dir.path()),
            static_cast<int64_t>(puts.size()));
}

TEST(StoreTest, TransactionalMessages) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  auto tx = [](const std::string& body, int32_t flag) {
    MessageToStore m = MakeMessage("Tx", 0, body);
    m.sys_flag = flag;
    return m;
  };
  ASSERT_OK_AND_ASSIGN(PutResult n0, store->Put(tx("normal0", sysflag::kTransactionNotType)));
  ASSERT_OK_AND_ASSIGN(PutResult p0, store->Put(tx("prepared0", sysflag::kTransactionPrepared)));
  ASSERT_OK_AND_ASSIGN(PutResult n1, store->Put(tx("normal1", sysflag::kTransactionNotType)));
  ASSERT_OK_AND_ASSIGN(PutResult c0, store->Put(tx("commit0", sysflag::kTransactionCommit)));
  ASSERT_OK_AND_ASSIGN(PutResult r0, store->Put(tx("rollback0", sysflag::kTransactionRollback)));
  ASSERT_OK_AND_ASSIGN(PutResult p1, store->Put(tx("prepared1", sysflag::kTransactionPrepared)));
  ASSERT_OK_AND_ASSIGN(PutResult c1, store->Put(tx("commit1", sysflag::kTransactionCommit)));
  EXPECT_EQ(n0.queue_offset.value(), 0);
  EXPECT_EQ(p0.queue_offset.value(), 0);
  EXPECT_EQ(n1.queue_offset.value(), 1);
  EXPECT_EQ(c0.queue_offset.value(), 2);
  EXPECT_EQ(r0.queue_offset.value(), 0);
  EXPECT_EQ(p1.queue_offset.value(), 0);
  EXPECT_EQ(c1.queue_offset.value(), 3);
  ASSERT_OK(store->WaitForDispatch(10000));
  EXPECT_EQ(store->GetMaxOffset("Tx", 0).value(), 4);
  EXPECT_EQ(storetest::DrainQueue(store.get(), "Tx", 0),
            (std::vector<std::string>{"normal0", "normal1", "commit0", "commit1"}));
  // Prepared and rolled-back records are in the CommitLog, with queue offset 0.
  ASSERT_OK_AND_ASSIGN(MessageRef pm, store->GetMessageByOffset(p1.wrote_offset));
  EXPECT_EQ(pm.message.body, "prepared1");
  EXPECT_EQ(pm.message.queue_offset.value(), 0);
  EXPECT_EQ(pm.message.sys_flag & sysflag::kTransactionMask, sysflag::kTransactionPrepared);
  ASSERT_OK_AND_ASSIGN(MessageRef rm, store->GetMessageById(r0.offset_msg_id()));
  EXPECT_EQ(rm.message.body, "rollback0");
  EXPECT_EQ(rm.message.queue_offset.value(), 0);

  // A topic that only ever got prepared messages has no queue at all.
  MessageToStore only_prepared = MakeMessage("TxOnly", 0, "p");
  only_prepared.sys_flag = sysflag::kTransactionPrepared;
  ASSERT_OK(store->Put(only_prepared));
  ASSERT_OK(store->WaitForDispatch(10000));
  EXPECT_EQ(store->GetMessages(Req("TxOnly", 0, 0)).status, GetStatus::kNoMatchedLogicQueue);
  EXPECT_EQ(store->GetMaxOffset("TxOnly", 0).value(), 0);

  // The queue offsets survive a reopen (rebuilt from the queues, not the prepared records).
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(SmallOptions(dir.path())));
  ASSERT_OK_AND_ASSIGN(PutResult n2, store->Put(tx("normal2", sysflag::kTransactionNotType)));
  EXPECT_EQ(n2.queue_offset.value(), 4);
}

TEST(StoreTest, TimeQueries) {
  TempDir dir;
  FaultInjectionEnv env;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path(), &env)));
  EXPECT_FALSE(store->GetEarliestStoreTime().ok());
  std::vector<int64_t> ts;
  for (int group = 0; group < 3; ++group) {
    for (int i = 0; i < 3; ++i) {
      ASSERT_OK_AND_ASSIGN(PutResult r,
                           store->Put(MakeMessage("Time", 0, Body(group * 3 + i, 64))));
      ts.push_back(r.store_timestamp_ms);
      if (group == 0 && i == 0) {
        ASSERT_OK(store->Put(MakeMessage("Other", 0, "o")));
      }
    }
    env.AdvanceClockMs(60000);
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  for (size_t i = 1; i < ts.size(); ++i) EXPECT_LE(ts[i - 1], ts[i]);
  EXPECT_GE(ts[3] - ts[2], 60000);
  EXPECT_GE(ts[6] - ts[5], 60000);

  for (int64_t q = 0; q < 9; ++q) {
    ASSERT_OK_AND_ASSIGN(int64_t t, store->GetStoreTime("Time", 0, QueueOffset(q)));
    EXPECT_EQ(t, ts[static_cast<size_t>(q)]);
  }
  EXPECT_FALSE(store->GetStoreTime("Time", 0, QueueOffset(9)).ok());
  EXPECT_FALSE(store->GetStoreTime("Nope", 0, QueueOffset(0)).ok());

  auto at = [&](int64_t t) -> int64_t {
    auto r = store->GetOffsetByTime("Time", 0, t);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->value() : -1;
  };
  EXPECT_EQ(at(0), 0);
  EXPECT_EQ(at(ts[0]), 0);
  EXPECT_EQ(at(ts[2] + 1), 3);
  EXPECT_EQ(at(ts[3]), 3);
  EXPECT_EQ(at(ts[3] - 30000), 3);
  EXPECT_EQ(at(ts[6] - 1), 6);
  EXPECT_EQ(at(ts[8] + 1), 9);  // later than everything: the max offset
  EXPECT_FALSE(store->GetOffsetByTime("Nope", 0, 0).ok());

  ASSERT_OK_AND_ASSIGN(int64_t earliest, store->GetEarliestStoreTime());
  EXPECT_EQ(earliest, ts[0]);
  ASSERT_OK_AND_ASSIGN(int64_t earliest_other, store->GetEarliestStoreTime("Other", 0));
  EXPECT_GE(earliest_other, ts[0]);
  EXPECT_LE(earliest_other, ts[1]);
  ASSERT_OK_AND_ASSIGN(int64_t earliest_q, store->GetEarliestStoreTime("Time", 0));
  EXPECT_EQ(earliest_q, ts[0]);
}

TEST(StoreTest, QueryByKey) {
  TempDir dir;
  FaultInjectionEnv env;
  StoreOptions o = SmallOptions(dir.path(), &env);
  o.max_query_results = 16;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  ASSERT_OK_AND_ASSIGN(PutResult a,
                       store->Put(MakeMessage("Keys", 0, "a", "", "alpha beta", "UNIQ-A")));
  ASSERT_OK_AND_ASSIGN(PutResult b, store->Put(MakeMessage("Keys", 1, "b", "", "beta", "UNIQ-B")));
  ASSERT_OK(store->Put(MakeMessage("OtherKeys", 0, "x", "", "alpha beta", "UNIQ-X")));
  ASSERT_OK(store->Put(MakeMessage("Keys", 0, "nokeys")));
  EXPECT_EQ(b.queue_offset.value(), 0);
  const int64_t t0 = a.store_timestamp_ms;
  env.AdvanceClockMs(100000);
  ASSERT_OK_AND_ASSIGN(PutResult late, store->Put(MakeMessage("Keys", 0, "late", "", "beta")));
  // Many messages under one key, spread over several index files.
  std::vector<PutResult> many;
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(PutResult r,
                         store->Put(MakeMessage("Keys", i % 4, "many" + std::to_string(i), "",
                                                "many k" + std::to_string(i))));
    many.push_back(r);
  }
  ASSERT_OK(store->WaitForDispatch(10000));
  const int64_t kAll = INT64_MAX;
  auto query = [&](const std::string& topic, const std::string& key, int32_t max_num, int64_t begin,
                   int64_t end) {
    auto r = store->QueryByKey(topic, key, max_num, begin, end);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> bodies;
    if (r.ok()) {
      for (const auto& m : *r) bodies.emplace_back(m.message.body);
    }
    return bodies;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(query("Keys", "alpha", 10, 0, kAll), V{"a"});
  EXPECT_EQ(query("Keys", "beta", 10, 0, kAll), (V{"a", "b", "late"}));
  EXPECT_EQ(query("Keys", "UNIQ-A", 10, 0, kAll), V{"a"});
  EXPECT_EQ(query("Keys", "UNIQ-B", 10, 0, kAll), V{"b"});
  EXPECT_EQ(query("OtherKeys", "alpha", 10, 0, kAll), V{"x"});
  EXPECT_TRUE(query("Keys", "UNIQ-X", 10, 0, kAll).empty());      // other topic
  EXPECT_TRUE(query("Keys", "alpha beta", 10, 0, kAll).empty());  // keys are tokens
  EXPECT_TRUE(query("Keys", "alp", 10, 0, kAll).empty());
  EXPECT_TRUE(query("Keys", "missing", 10, 0, kAll).empty());
  // Time window.
  EXPECT_EQ(query("Keys", "beta", 10, t0 + 50000, kAll), V{"late"});
  EXPECT_EQ(query("Keys", "beta", 10, 0, t0 + 50000), (V{"a", "b"}));
  EXPECT_TRUE(query("Keys", "beta", 10, t0 + 50000, t0 + 60000).empty());
  // max_num: the newest ones, in CommitLog order.
  EXPECT_EQ(query("Keys", "beta", 2, 0, kAll), (V{"b", "late"}));
  EXPECT_EQ(query("Keys", "beta", 1, 0, kAll), V{"late"});
  // Capped by max_query_results.
  V m = query("Keys", "many", 64, 0, kAll);
  ASSERT_EQ(m.size(), 16u);
  for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(m[i], "many" + std::to_string(84 + i));
  EXPECT_EQ(query("Keys", "k0", 5, 0, kAll), V{"many0"});
  EXPECT_EQ(query("Keys", "k99", 5, 0, kAll), V{"many99"});
  auto r = store->QueryByKey("Keys", "k57", 4, 0, kAll);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].message.physical_offset, many[57].wrote_offset);
  EXPECT_EQ((*r)[0].message.queue_id, 57 % 4);
  auto late_found = store->QueryByKey("Keys", "beta", 1, 0, kAll);
  ASSERT_OK(late_found);
  ASSERT_EQ(late_found->size(), 1u);
  EXPECT_EQ((*late_found)[0].message.physical_offset, late.wrote_offset);

  // With the index disabled, key queries are refused.
  ASSERT_OK(store->Close());
  store.reset();
  StoreOptions no_index = o;
  no_index.message_index_enable = false;
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(no_index));
  EXPECT_EQ(store->QueryByKey("Keys", "alpha", 10, 0, kAll).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StoreTest, ListQueues) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_TRUE(store->ListQueues().empty());
  ASSERT_OK(store->Put(MakeMessage("Zeta", 3, "z")));
  ASSERT_OK(store->Put(MakeMessage("Alpha", 1, "a")));
  ASSERT_OK(store->Put(MakeMessage("Alpha", 0, "a")));
  ASSERT_OK(store->Put(MakeMessage("Alpha", 1, "a")));
  ASSERT_OK(store->WaitForDispatch(10000));
  const std::vector<std::pair<std::string, int32_t>> want = {
      {"Alpha", 0}, {"Alpha", 1}, {"Zeta", 3}};
  EXPECT_EQ(store->ListQueues(), want);
  ASSERT_OK(store->Close());
  store.reset();
  ASSERT_OK_AND_ASSIGN(store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_EQ(store->ListQueues(), want);
}

TEST(StoreTest, InvalidInputIsRejected) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  ASSERT_OK(store->Put(MakeMessage("Valid", 0, "first")));
  const int64_t max_before = store->GetStats().commitlog_max_offset.value();

  EXPECT_EQ(store->Put(MakeMessage(std::string(128, 't'), 0, "x")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Put(MakeMessage("", 0, "x")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store->Put(MakeMessage("Valid", 0, std::string(kMaxMessageSize + 1, 'b'))).status().code(),
      absl::StatusCode::kInvalidArgument);
  std::vector<MessageToStore> mixed = {MakeMessage("Valid", 0, "a"), MakeMessage("Other", 0, "b")};
  EXPECT_EQ(store->PutBatch(mixed).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<MessageToStore> mixed_q = {MakeMessage("Valid", 0, "a"),
                                         MakeMessage("Valid", 1, "b")};
  EXPECT_EQ(store->PutBatch(mixed_q).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<MessageToStore> too_big;
  for (int i = 0; i < 3; ++i) too_big.push_back(MakeMessage("Valid", 0, std::string(7000, 'c')));
  EXPECT_EQ(store->PutBatch(too_big).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->PutBatch(std::span<const MessageToStore>()).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<MessageToStore> tx_batch = {MakeMessage("Valid", 0, "a"),
                                          MakeMessage("Valid", 0, "b")};
  for (auto& m : tx_batch) m.sys_flag = sysflag::kTransactionPrepared;
  EXPECT_EQ(store->PutBatch(tx_batch).status().code(), absl::StatusCode::kInvalidArgument);
  MessageToStore negative_q = MakeMessage("Valid", -1, "x");
  EXPECT_EQ(store->Put(negative_q).status().code(), absl::StatusCode::kInvalidArgument);
  absl::Status async_status;
  store->PutAsync(MakeMessage(std::string(200, 'x'), 0, "x"),
                  [&](absl::StatusOr<PutResult> r) { async_status = r.status(); });
  EXPECT_EQ(async_status.code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(store->GetStats().commitlog_max_offset.value(), max_before) << "nothing was written";
  // The limits themselves are accepted.
  ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage(std::string(127, 't'), 0, "x")));
  EXPECT_EQ(r.queue_offset.value(), 0);
  ASSERT_OK_AND_ASSIGN(r, store->Put(MakeMessage("Valid", 0, std::string(kMaxMessageSize, 'b'))));
  EXPECT_EQ(r.queue_offset.value(), 1);
  ASSERT_OK_AND_ASSIGN(MessageRef big, store->GetMessageByOffset(r.wrote_offset));
  EXPECT_EQ(big.message.body.size(), static_cast<size_t>(kMaxMessageSize));

  // Reads of offsets that hold no record.
  const int64_t end = store->GetStats().commitlog_max_offset.value();
  EXPECT_EQ(store->GetMessageByOffset(PhysicalOffset(end)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store->GetMessageByOffset(PhysicalOffset(-1)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(store->GetMessageById("not-an-id").ok());
  // A position inside a record is not a record.
  EXPECT_FALSE(store->GetMessageByOffset(PhysicalOffset(4)).ok());

  // Options that cannot work are refused at Open.
  TempDir dir2;
  StoreOptions bad = SmallOptions(dir2.path());
  bad.commitlog_file_size = 5000;
  EXPECT_EQ(MessageStore::Open(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.commitlog_file_size = 0;
  EXPECT_EQ(MessageStore::Open(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = SmallOptions(dir2.path());
  bad.max_message_size = 0;
  EXPECT_EQ(MessageStore::Open(bad).status().code(), absl::StatusCode::kInvalidArgument);
  // A maxMessageSize larger than a file is accepted (as RocketMQ); a record that cannot fit in
  // one file is refused when put, one that fits is stored.
  StoreOptions big_opts = SmallOptions(dir2.path());
  big_opts.max_message_size = 128 * 1024;
  ASSERT_OK_AND_ASSIGN(auto big_store, MessageStore::Open(big_opts));
  EXPECT_EQ(
      big_store->Put(MakeMessage("Big", 0, std::string(kFileSize - 100, 'x'))).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(big_store->GetStats().commitlog_max_offset.value(), 0);
  ASSERT_OK_AND_ASSIGN(PutResult big_r,
                       big_store->Put(MakeMessage("Big", 0, std::string(40000, 'y'))));
  ASSERT_OK_AND_ASSIGN(MessageRef big_m, big_store->GetMessageByOffset(big_r.wrote_offset));
  EXPECT_EQ(big_m.message.body.size(), 40000u);
}

TEST(StoreTest, ReopenAfterCleanClose) {
  TempDir dir;
  const std::string abort_path = dir.path() + "/abort";
  std::vector<PutResult> puts;
  {
    ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
    EXPECT_TRUE(std::filesystem::exists(abort_path)) << "abort marker missing while open";
    EXPECT_FALSE(store->GetStats().last_open_was_abnormal);
    for (int i = 0; i < 120; ++i) {
      ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("Re", i % 2, Body(i, 1000), "t",
                                                               "key" + std::to_string(i))));
      puts.push_back(r);
    }
    ASSERT_OK(store->Close());
    EXPECT_FALSE(std::filesystem::exists(abort_path)) << "abort marker left after Close";
    ASSERT_OK(store->Close());  // idempotent
    EXPECT_EQ(store->Put(MakeMessage("Re", 0, "after close")).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  ASSERT_GE(storetest::CommitLogFiles(dir.path()).size(), 2u);
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_TRUE(std::filesystem::exists(abort_path));
  StoreStats st = store->GetStats();
  EXPECT_FALSE(st.last_open_was_abnormal);
  EXPECT_EQ(st.commitlog_max_offset.value(),
            puts.back().wrote_offset.value() + puts.back().wrote_bytes);
  EXPECT_TRUE(st.writable);
  for (int q = 0; q < 2; ++q) {
    EXPECT_EQ(store->GetMaxOffset("Re", q).value(), 60);
    auto bodies = storetest::DrainQueue(store.get(), "Re", q);
    ASSERT_EQ(bodies.size(), 60u);
    for (int i = 0; i < 60; ++i) EXPECT_EQ(bodies[static_cast<size_t>(i)], Body(i * 2 + q, 1000));
  }
  for (size_t i = 0; i < puts.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(MessageRef m, store->GetMessageById(puts[i].offset_msg_id()));
    EXPECT_EQ(m.message.body, Body(static_cast<int>(i), 1000));
  }
  auto found = store->QueryByKey("Re", "key17", 4, 0, INT64_MAX);
  ASSERT_OK(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].message.physical_offset, puts[17].wrote_offset);
  // New puts continue both the queue offsets and the CommitLog.
  ASSERT_OK_AND_ASSIGN(PutResult r0, store->Put(MakeMessage("Re", 0, "new0")));
  ASSERT_OK_AND_ASSIGN(PutResult r1, store->Put(MakeMessage("Re", 1, "new1")));
  ASSERT_OK_AND_ASSIGN(PutResult r2, store->Put(MakeMessage("Fresh", 0, "fresh")));
  EXPECT_EQ(r0.queue_offset.value(), 60);
  EXPECT_EQ(r1.queue_offset.value(), 60);
  EXPECT_EQ(r2.queue_offset.value(), 0);
  EXPECT_EQ(r0.wrote_offset.value(), st.commitlog_max_offset.value());
  ASSERT_OK(store->WaitForDispatch(10000));
  EXPECT_EQ(storetest::CheckConsumeQueuesRaw(store.get(), dir.path()), 123);
  ASSERT_OK(store->Close());
  EXPECT_FALSE(std::filesystem::exists(abort_path));
}

TEST(StoreTest, OnlyOneStorePerDirectory) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(SmallOptions(dir.path())));
  EXPECT_FALSE(MessageStore::Open(SmallOptions(dir.path())).ok());
  ASSERT_OK(store->Close());
  ASSERT_OK_AND_ASSIGN(auto again, MessageStore::Open(SmallOptions(dir.path())));
}

TEST(StoreTest, SyncFlushPutReturnsOnlyWhenFlushed) {
  TempDir dir;
  FaultInjectionEnv env;
  StoreOptions o = SmallOptions(dir.path(), &env);
  o.flush_mode = FlushMode::kSync;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK_AND_ASSIGN(PutResult r, store->Put(MakeMessage("Sync", 0, Body(i, 3000))));
    EXPECT_EQ(r.status, PutStatus::kOk);
    const StoreStats st = store->GetStats();
    EXPECT_GE(st.commitlog_flushed_offset.value(), r.wrote_offset.value() + r.wrote_bytes);
    EXPECT_LE(st.commitlog_flushed_offset, st.commitlog_max_offset);
  }
  // A sync-flush batch too.
  std::vector<MessageToStore> batch = {MakeMessage("Sync", 1, "x"), MakeMessage("Sync", 1, "y")};
  ASSERT_OK_AND_ASSIGN(PutResult br, store->PutBatch(batch));
  EXPECT_GE(store->GetStats().commitlog_flushed_offset.value(),
            br.wrote_offset.value() + br.wrote_bytes);
  // PutAsync completes (on some thread) only once flushed.
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> done;  // (end offset, flushed at callback)
  std::atomic<int> callbacks{0};
  for (int i = 0; i < 20; ++i) {
    store->PutAsync(MakeMessage("Sync", 2, Body(i, 200)), [&](absl::StatusOr<PutResult> r) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->status, PutStatus::kOk);
      const int64_t flushed = store->GetStats().commitlog_flushed_offset.value();
      std::lock_guard<std::mutex> l(mu);
      done.emplace_back(r->wrote_offset.value() + r->wrote_bytes, flushed);
      callbacks.fetch_add(1);
    });
  }
  for (int i = 0; i < 3000 && callbacks.load() < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(callbacks.load(), 20);
  // PutBatchAsync too: one callback for the whole batch, after it is durable, with consecutive
  // queue offsets and one id per record.
  std::atomic<bool> batch_done{false};
  std::vector<MessageToStore> batch2 = {MakeMessage("Sync", 3, "a"), MakeMessage("Sync", 3, "b"),
                                        MakeMessage("Sync", 3, "c")};
  store->PutBatchAsync(batch2, [&](absl::StatusOr<PutResult> r) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, PutStatus::kOk);
    EXPECT_EQ(r->message_count, 3);
    EXPECT_EQ(r->queue_offset.value(), 0);
    EXPECT_GE(store->GetStats().commitlog_flushed_offset.value(),
              r->wrote_offset.value() + r->wrote_bytes);
    std::lock_guard<std::mutex> l(mu);
    done.emplace_back(r->wrote_offset.value() + r->wrote_bytes,
                      store->GetStats().commitlog_flushed_offset.value());
    batch_done.store(true);
  });
  for (int i = 0; i < 3000 && !batch_done.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(batch_done.load());
  EXPECT_EQ(store->GetMaxOffset("Sync", 3).value(), 3);
  std::lock_guard<std::mutex> l(mu);
  for (const auto& [end, flushed] : done) EXPECT_GE(flushed, end);
  EXPECT_GT(store->GetStats().syncs, 0);
  EXPECT_GT(env.sync_count(), 0);
}

TEST(StoreTest, SyncFlushConcurrentPuts) {
  TempDir dir;
  StoreOptions o = SmallOptions(dir.path());
  o.flush_mode = FlushMode::kSync;
  ASSERT_OK_AND_ASSIGN(auto store, MessageStore::Open(o));
  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::mutex mu;
  std::map<int, std::vector<int64_t>> offsets;  // queue -> queue offsets
  std::set<int64_t> phys;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int qid = (t + i) % 2;
        auto r = store->Put(
            MakeMessage("Conc", qid, Body(t * 1000 + i, 200 + static_cast<size_t>(i) * 10)));
        if (!r.ok() || r->status != PutStatus::kOk) {
          failures.fetch_add(1);
          continue;
        }
        const int64_t flushed = store->GetStats().commitlog_flushed_offset.value();
        if (flushed < r->wrote_offset.value() + r->wrote_bytes) failures.fetch_add(1);
        std::lock_guard<std::mutex> l(mu);
        offsets[qid].push_back(r->queue_offset.value());
        phys.insert(r->wrote_offset.value());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(phys.size(), static_cast<size_t>(kThreads * kPerThread));
  int64_t total = 0;
  for (auto& [qid, v] : offsets) {
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<int64_t>(i)) << qid;
    total += static_cast<int64_t>(v.size());
  }
  EXPECT_EQ(total, kThreads * kPerThread);
  const StoreStats st = store->GetStats();
  EXPECT_EQ(st.puts, kThreads * kPerThread);
  EXPECT_GT(st.syncs, 0);
  EXPECT_EQ(st.commitlog_flushed_offset, st.commitlog_max_offset);
  ASSERT_OK(store->WaitForDispatch(10000));
  EXPECT_EQ(storetest::CheckConsumeQueuesRaw(store.get(), dir.path()), kThreads * kPerThread);
}

}  // namespace
}  // namespace libstore
