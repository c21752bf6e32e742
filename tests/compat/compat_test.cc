// Compatibility with Apache RocketMQ 4.9.7's store: libstore opens copies of stores written by a
// real 4.9.7 broker (shared/fixtures/store-4.9.7, described in shared/fixtures/README.md) and
// must serve exactly what the broker served, rebuild byte-identical ConsumeQueues and index
// files, recover the crashed store as the broker did, and keep the layout when it appends.
//
// The fixtures are located at $RS_SOURCE_DIR/../shared/fixtures (CTest sets RS_SOURCE_DIR; the
// compile-time source dir is the fallback). Every test skips when they are absent. Fixture data
// is only ever copied into temporary directories, never into the repository.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "compat_support.h"
#include "libstore/message_store.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace compat {
namespace {

using libstore::GetRequest;
using libstore::GetStatus;
using libstore::MessageRef;
using libstore::MessageStore;
using libstore::MessageToStore;
using libstore::PhysicalOffset;
using libstore::PutResult;
using libstore::QueueOffset;

constexpr int64_t kCleanMessages = 2680;
constexpr int64_t kCrashedMessages = 3124;
constexpr int64_t kCrashedAcked = 444;
const std::string kLoopback("\x7f\x00\x00\x01", 4);
constexpr int32_t kStorePort = 20911;

bool KeysContain(std::string_view keys, std::string_view key) {
  size_t start = 0;
  while (start <= keys.size()) {
    size_t end = keys.find(' ', start);
    if (end == std::string_view::npos) end = keys.size();
    if (keys.substr(start, end - start) == key) return true;
    start = end + 1;
  }
  return false;
}

std::string FirstDifference(const std::string& actual, const std::string& expected) {
  if (actual.size() != expected.size()) {
    return "size " + std::to_string(actual.size()) + ", expected " +
           std::to_string(expected.size());
  }
  size_t i = 0;
  while (i < actual.size() && actual[i] == expected[i]) ++i;
  return i == actual.size() ? "identical" : "first difference at byte " + std::to_string(i);
}

// A ConsumeQueue unit as text, for failure messages.
std::string UnitString(const std::string& file, size_t unit) {
  const char* p = file.data() + unit * kCqUnitSize;
  return "(" + std::to_string(ReadBE64(p)) + ", " + std::to_string(ReadBE32(p + 8)) + ", " +
         std::to_string(ReadBE64(p + 12)) + ")";
}

std::string DescribeCqDifference(const std::string& actual, const std::string& expected) {
  if (actual.size() != expected.size()) return FirstDifference(actual, expected);
  std::string out;
  int listed = 0;
  size_t differing = 0;
  for (size_t u = 0; u * kCqUnitSize < actual.size(); ++u) {
    const size_t at = u * kCqUnitSize;
    if (actual.compare(at, kCqUnitSize, expected, at, kCqUnitSize) == 0) continue;
    ++differing;
    if (listed++ < 5) {
      out += " unit " + std::to_string(u) + " is " + UnitString(actual, u) + ", expected " +
             UnitString(expected, u) + ";";
    }
  }
  return std::to_string(differing) + " unit(s) differ:" + out;
}

std::string DescribeIndexDifference(const std::string& actual, const std::string& expected) {
  if (actual.size() != expected.size()) return FirstDifference(actual, expected);
  static const char* kHeader[] = {"beginTimestamp", "endTimestamp", "beginPhyOffset",
                                  "endPhyOffset"};
  std::string out;
  for (int i = 0; i < 4; ++i) {
    const int64_t a = ReadBE64(actual.data() + 8 * i);
    const int64_t e = ReadBE64(expected.data() + 8 * i);
    if (a != e) {
      out += std::string(" ") + kHeader[i] + " " + std::to_string(a) + " vs " + std::to_string(e);
    }
  }
  for (int i = 0; i < 2; ++i) {
    const int32_t a = ReadBE32(actual.data() + 32 + 4 * i);
    const int32_t e = ReadBE32(expected.data() + 32 + 4 * i);
    if (a != e) {
      out += std::string(" ") + (i == 0 ? "hashSlotCount " : "indexCount ") + std::to_string(a) +
             " vs " + std::to_string(e);
    }
  }
  size_t slots = 0;
  for (int s = 0; s < kIndexSlots; ++s) {
    if (actual.compare(40 + 4 * s, 4, expected, 40 + 4 * s, 4) != 0) ++slots;
  }
  size_t entries = 0;
  int64_t first_entry = -1;
  const size_t base = 40 + 4 * kIndexSlots;
  for (int n = 0; n < kIndexMaxEntries; ++n) {
    if (actual.compare(base + 20 * n, 20, expected, base + 20 * n, 20) != 0) {
      if (first_entry < 0) first_entry = n;
      ++entries;
    }
  }
  out += "; " + std::to_string(slots) + " slot(s) and " + std::to_string(entries) +
         " entr(y/ies) differ";
  if (first_entry >= 0) out += ", the first is entry " + std::to_string(first_entry);
  return out;
}

// The regular files below `dir` must be exactly `want` (relative path -> bytes).
// Differences are described per 20-byte unit for ConsumeQueue files, by first byte otherwise.
void ExpectFilesEqual(const std::map<std::string, std::string>& want, const std::string& dir,
                      const std::string& what) {
  const bool cq = what.find("ConsumeQueue") != std::string::npos ||
                  what.find("consumequeue") != std::string::npos;
  std::vector<std::string> want_names;
  for (const auto& [rel, data] : want) want_names.push_back(rel);
  EXPECT_EQ(ListFilesRecursive(dir), want_names) << what << ": file set";
  for (const auto& [rel, data] : want) {
    std::string got;
    if (!ReadWholeFile(dir + "/" + rel, &got)) {
      ADD_FAILURE() << what << " " << rel << " is missing";
      continue;
    }
    EXPECT_TRUE(got == data) << what << " " << rel << ": "
                             << (cq ? DescribeCqDifference(got, data) : FirstDifference(got, data));
  }
}

// The index files of `dir`, in name (= creation) order, must hold exactly `want`.
void ExpectIndexFilesEqual(const std::vector<std::string>& want, const std::string& dir) {
  const std::vector<std::string> names = ListDirSorted(dir);
  ASSERT_EQ(names.size(), want.size()) << "index files in " << dir;
  for (size_t i = 0; i < want.size(); ++i) {
    std::string got;
    ASSERT_TRUE(ReadWholeFile(dir + "/" + names[i], &got));
    EXPECT_TRUE(got == want[i]) << "index file #" << i << " (" << names[i]
                                << "):" << DescribeIndexDifference(got, want[i]);
  }
}

std::map<std::string, std::string> ReadTree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const std::string& rel : ListFilesRecursive(dir)) {
    if (!ReadWholeFile(dir + "/" + rel, &out[rel])) out[rel] = "<unreadable>";
  }
  return out;
}

class CompatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string fixtures = FixturesDir();
    if (fixtures.empty()) {
      GTEST_SKIP() << "golden fixtures not found: $RS_SOURCE_DIR/../shared/fixtures does not "
                      "exist (this checkout has no shared/ directory)";
    }
    store_fixtures_ = fixtures + "/store-4.9.7";
    std::error_code ec;
    if (!std::filesystem::is_directory(store_fixtures_ + "/clean", ec)) {
      GTEST_SKIP() << "golden store fixtures not found in " << store_fixtures_;
    }
    ASSERT_FALSE(tmp_.path().empty());
  }

  std::string Fixture(const std::string& rel) const { return store_fixtures_ + "/" + rel; }

  // Copies the fixture store `name` (clean / crashed) into the temporary directory.
  std::string CopyStore(const std::string& name) {
    const std::string to = tmp_.path() + "/" + name;
    EXPECT_TRUE(libstore::testing::CopyTree(Fixture(name), to)) << "copy " << name;
    return to;
  }

  static absl::StatusOr<std::unique_ptr<MessageStore>> Open(const std::string& root) {
    return MessageStore::Open(FixtureOptions(root));
  }

  const std::vector<json>& CleanExpected() { return LoadJsonl(Fixture("expected.jsonl")); }
  const json& CleanOffsets() { return LoadJson(Fixture("expected-offsets.json")); }
  const std::vector<json>& CleanCommitLog() {
    return LoadJsonl(Fixture("expected-commitlog.jsonl"));
  }
  const json& CleanKeys() { return LoadJson(Fixture("expected-keys.json")); }
  const std::vector<json>& CrashedExpected() {
    return LoadJsonl(Fixture("crashed-recovered/expected.jsonl"));
  }
  const json& CrashedOffsets() {
    return LoadJson(Fixture("crashed-recovered/expected-offsets.json"));
  }
  const std::vector<json>& CrashedCommitLog() {
    return LoadJsonl(Fixture("crashed-recovered/expected-commitlog.jsonl"));
  }
  static int64_t CommitLogMax(const json& offsets) {
    return offsets.at("commitLog").at("commitLogMaxOffset").get<int64_t>();
  }

  std::string store_fixtures_;
  libstore::testing::TempDir tmp_{"rs-compat"};
};

// ---------------------------------------------------------------------------------------------
// clean/: the store after a normal broker shutdown.

// Check 2: per-queue min/max offsets, the queue set, CommitLog min/max, nothing left to dispatch.
TEST_F(CompatTest, CleanOffsetsMatchBroker) {
  const std::string root = CopyStore("clean");
  ASSERT_FALSE(std::filesystem::exists(root + "/abort"));
  ASSERT_OK_AND_ASSIGN(auto store, Open(root));
  EXPECT_TRUE(std::filesystem::exists(root + "/abort")) << "a running store has the abort file";
  const libstore::StoreStats st = store->GetStats();
  EXPECT_FALSE(st.last_open_was_abnormal) << st.recovery_note;
  ASSERT_EQ(CommitLogMax(CleanOffsets()), 1127228);
  ASSERT_EQ(CleanOffsets().at("queues").size(), 33u);
  Mismatches mm;
  CheckOffsets(store.get(), CleanOffsets(), {}, CommitLogMax(CleanOffsets()), &mm);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  // A queue the broker never created (FixDelay/2: all its messages are still delayed).
  EXPECT_EQ(store->GetMaxOffset("FixDelay", 2).value(), 0);
  EXPECT_EQ(store->GetMinOffset("FixDelay", 2).value(), 0);
  // Earliest store times: the first record of the CommitLog and of each queue.
  std::map<std::pair<std::string, int32_t>, int64_t> first_ts;
  int64_t commitlog_first_ts = -1;
  for (const json& e : CleanExpected()) {
    const int64_t ts = e.at("storeTimestamp").get<int64_t>();
    if (e.at("commitLogOffset") == 0) commitlog_first_ts = ts;
    first_ts.emplace(
        std::make_pair(e.at("topic").get<std::string>(), e.at("queueId").get<int32_t>()),
        ts);  // lines are in queue order: the first one per queue wins
  }
  ASSERT_OK_AND_ASSIGN(int64_t earliest, store->GetEarliestStoreTime());
  EXPECT_EQ(earliest, commitlog_first_ts);
  ASSERT_EQ(first_ts.size(), 33u);
  for (const auto& [q, ts] : first_ts) {
    ASSERT_OK_AND_ASSIGN(int64_t got, store->GetEarliestStoreTime(q.first, q.second));
    EXPECT_EQ(got, ts) << q.first << "/" << q.second;
  }
  ASSERT_OK(store->Close());
}

// Check 1: every message of every queue, pulled from min to max, equals what the broker served.
TEST_F(CompatTest, CleanPullMatchesBroker) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("clean")));
  ASSERT_EQ(static_cast<int64_t>(CleanExpected().size()), kCleanMessages);
  Mismatches mm;
  const int64_t compared = PullAndCompare(store.get(), CleanExpected(), &mm);
  EXPECT_EQ(compared, kCleanMessages);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

// Check 1 (tag filter): a subscription "TagA || TagC" sees exactly the messages with those tags.
TEST_F(CompatTest, CleanTagFilterMatchesBroker) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("clean")));
  int64_t total = 0;
  for (int32_t qid = 0; qid < 4; ++qid) {
    std::vector<int64_t> want;
    for (const json& e : CleanExpected()) {
      if (e.at("topic") != "FixTagged" || e.at("queueId") != qid || e.at("tags").is_null()) {
        continue;
      }
      const std::string tag = e.at("tags").get<std::string>();
      if (tag == "TagA" || tag == "TagC") want.push_back(e.at("queueOffset").get<int64_t>());
    }
    std::vector<int64_t> got;
    const int64_t max = store->GetMaxOffset("FixTagged", qid).value();
    int64_t cur = 0;
    while (cur < max) {
      GetRequest req;
      req.topic = "FixTagged";
      req.queue_id = qid;
      req.offset = QueueOffset(cur);
      req.max_count = 16;
      req.tags = {"TagA", "TagC"};
      const auto r = store->GetMessages(req);
      for (const MessageRef& m : r.messages) {
        got.push_back(m.message.queue_offset.value());
        const auto tag = libstore::FindProperty(m.message.properties, "TAGS");
        EXPECT_TRUE(tag && (*tag == "TagA" || *tag == "TagC"));
      }
      ASSERT_GT(r.next_begin_offset.value(), cur) << libstore::GetStatusName(r.status);
      cur = r.next_begin_offset.value();
    }
    EXPECT_EQ(got, want) << "FixTagged/" << qid;
    total += static_cast<int64_t>(want.size());
  }
  EXPECT_EQ(total, 700);  // tags cycle TagA, TagB, TagC, none over 1400 messages
  ASSERT_OK(store->Close());
}

// Check 3: the CommitLog in physical order, through GetMessageByOffset and raw reads.
TEST_F(CompatTest, CleanCommitLogWalkMatchesBroker) {
  const std::string root = CopyStore("clean");
  ASSERT_OK_AND_ASSIGN(auto store, Open(root));
  ASSERT_EQ(CleanCommitLog().size(), 2680u + 17u);
  Mismatches mm;
  WalkCommitLog(store.get(), CleanCommitLog(), Fixture("clean/commitlog"), &mm);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

// Check 4: key and unique-key lookups through the index.
TEST_F(CompatTest, CleanKeyQueriesMatchBroker) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("clean")));
  ASSERT_EQ(CleanKeys().size(), 22u);
  Mismatches mm;
  CheckKeyQueries(store.get(), CleanKeys(), CleanExpected(), &mm);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

// Check 5: with consumequeue/ and index/ deleted, opening rebuilds both from the CommitLog.
// ConsumeQueue files must be byte-identical to the broker's (same names, same bytes, no extra
// files). Index files are named by their creation time, so names cannot match; they are paired
// in name (= creation) order and their whole content is compared: the header (begin/end store
// timestamps and physical offsets, hashSlotCount, indexCount), the 500 hash slots and the 2000
// entries (key hash, physical offset, timeDiff, prevIndex). All of it is derived only from the
// CommitLog records (their offsets, store timestamps, topics, keys and UNIQ_KEYs, in CommitLog
// order), so a rebuild must reproduce it byte for byte.
TEST_F(CompatTest, RebuildQueuesAndIndexFromCommitLog) {
  const std::string root = CopyStore("clean");
  std::filesystem::remove_all(root + "/consumequeue");
  std::filesystem::remove_all(root + "/index");
  ASSERT_FALSE(std::filesystem::exists(root + "/consumequeue/FixTagged"));
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open(root));
    const libstore::StoreStats st = store->GetStats();
    EXPECT_FALSE(st.last_open_was_abnormal);
    Mismatches offsets;
    CheckOffsets(store.get(), CleanOffsets(), {}, CommitLogMax(CleanOffsets()), &offsets);
    EXPECT_EQ(offsets.count(), 0u) << offsets.Summary();
    Mismatches pulled;
    EXPECT_EQ(PullAndCompare(store.get(), CleanExpected(), &pulled), kCleanMessages);
    EXPECT_EQ(pulled.count(), 0u) << pulled.Summary();
    Mismatches keys;
    CheckKeyQueries(store.get(), CleanKeys(), CleanExpected(), &keys);
    EXPECT_EQ(keys.count(), 0u) << keys.Summary();
    ASSERT_OK(store->Close());
  }
  // ConsumeQueues.
  const std::vector<std::string> want_cq = ListFilesRecursive(Fixture("clean/consumequeue"));
  const std::vector<std::string> got_cq = ListFilesRecursive(root + "/consumequeue");
  ASSERT_EQ(want_cq.size(), 39u);  // 33 queues; FixTagged/0..3 use 2 files, FixSmall/0 3
  EXPECT_EQ(got_cq, want_cq);
  for (const std::string& rel : want_cq) {
    std::string want, got;
    ASSERT_TRUE(ReadWholeFile(Fixture("clean/consumequeue/" + rel), &want));
    if (!ReadWholeFile(root + "/consumequeue/" + rel, &got)) {
      ADD_FAILURE() << "rebuilt ConsumeQueue file missing: " << rel;
      continue;
    }
    EXPECT_TRUE(got == want) << "ConsumeQueue " << rel << ": " << DescribeCqDifference(got, want);
  }
  // Index files.
  const std::vector<std::string> want_idx = ListDirSorted(Fixture("clean/index"));
  const std::vector<std::string> got_idx = ListDirSorted(root + "/index");
  ASSERT_EQ(want_idx.size(), 3u);
  ASSERT_EQ(got_idx.size(), want_idx.size());
  for (size_t i = 0; i < want_idx.size(); ++i) {
    std::string want, got;
    ASSERT_TRUE(ReadWholeFile(Fixture("clean/index/" + want_idx[i]), &want));
    ASSERT_TRUE(ReadWholeFile(root + "/index/" + got_idx[i], &got));
    EXPECT_EQ(got_idx[i].size(), 17u) << "index file names are yyyyMMddHHmmssSSS";
    EXPECT_TRUE(got == want) << "index file #" << i << " (" << got_idx[i] << " vs fixture "
                             << want_idx[i] << "):" << DescribeIndexDifference(got, want);
  }
}

// Opening and closing the broker's store without writing leaves every store file as the broker
// left it: CommitLog, ConsumeQueues, index files and the checkpoint (whose three timestamps
// only move when data is flushed: the physical and logical ones are the last record's store
// time, the index one the end time of the last *full* index file).
TEST_F(CompatTest, CleanOpenCloseLeavesFilesUnchanged) {
  const std::string root = CopyStore("clean");
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open(root));
    ASSERT_OK(store->Close());
  }
  for (const char* dir : {"commitlog", "consumequeue", "index"}) {
    const auto want = ReadTree(Fixture(std::string("clean/") + dir));
    ASSERT_FALSE(want.empty()) << dir;
    ExpectFilesEqual(want, root + "/" + dir, dir);
  }
  std::string want_cp, got_cp;
  ASSERT_TRUE(ReadWholeFile(Fixture("clean/checkpoint"), &want_cp));
  ASSERT_TRUE(ReadWholeFile(root + "/checkpoint", &got_cp));
  ASSERT_EQ(got_cp.size(), 4096u);
  static const char* kFields[] = {"physicMsgTimestamp", "logicsMsgTimestamp", "indexMsgTimestamp"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ReadBE64(got_cp.data() + 8 * i), ReadBE64(want_cp.data() + 8 * i)) << kFields[i];
  }
  EXPECT_TRUE(got_cp == want_cp) << "checkpoint: " << FirstDifference(got_cp, want_cp);
  EXPECT_FALSE(std::filesystem::exists(root + "/abort"));
}

// ---------------------------------------------------------------------------------------------
// crashed/: the broker was killed mid-burst; the abort file is present, so opening recovers
// abnormally. The reference is what a restarted 4.9.7 broker served (crashed-recovered/).

TEST_F(CompatTest, CrashedRecoveryOffsetsMatchBroker) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("crashed")));
  const libstore::StoreStats st = store->GetStats();
  EXPECT_TRUE(st.last_open_was_abnormal);
  ASSERT_EQ(CommitLogMax(CrashedOffsets()), 1455589);
  Mismatches mm;
  CheckOffsets(store.get(), CrashedOffsets(), {}, CommitLogMax(CrashedOffsets()), &mm);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

TEST_F(CompatTest, CrashedRecoveryPullMatchesBroker) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("crashed")));
  ASSERT_EQ(static_cast<int64_t>(CrashedExpected().size()), kCrashedMessages);
  Mismatches mm;
  EXPECT_EQ(PullAndCompare(store.get(), CrashedExpected(), &mm), kCrashedMessages);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

TEST_F(CompatTest, CrashedRecoveryCommitLogMatchesBroker) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("crashed")));
  ASSERT_EQ(CrashedCommitLog().size(), 3124u + 22u);
  Mismatches mm;
  WalkCommitLog(store.get(), CrashedCommitLog(), Fixture("crashed/commitlog"), &mm);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

// Every send the broker acknowledged before the kill is there after recovery: in its queue at
// its offset, by offsetMsgId, by key and by unique key.
TEST_F(CompatTest, CrashedAckedSendsSurviveRecovery) {
  ASSERT_OK_AND_ASSIGN(auto store, Open(CopyStore("crashed")));
  std::string text;
  ASSERT_TRUE(ReadWholeFile(Fixture("crashed-acked.txt"), &text));
  std::map<std::pair<std::string, std::string>, int64_t> key_count;  // (topic, key) -> messages
  for (const json& e : CrashedExpected()) {
    if (e.at("keys").is_null()) continue;
    const std::string keys = e.at("keys").get<std::string>();
    size_t start = 0;
    while (start <= keys.size()) {
      size_t end = keys.find(' ', start);
      if (end == std::string::npos) end = keys.size();
      if (end > start)
        ++key_count[{e.at("topic").get<std::string>(), keys.substr(start, end - start)}];
      start = end + 1;
    }
  }
  Mismatches mm;
  int64_t lines = 0;
  std::istringstream in(text);
  std::string topic, offset_msg_id, uniq, key;
  int32_t qid = 0;
  int64_t qo = 0;
  while (in >> topic >> qid >> qo >> offset_msg_id >> uniq >> key) {
    ++lines;
    const std::string ctx = topic + "/" + std::to_string(qid) + "@" + std::to_string(qo);
    GetRequest req;
    req.topic = topic;
    req.queue_id = qid;
    req.offset = QueueOffset(qo);
    req.max_count = 1;
    const auto r = store->GetMessages(req);
    if (r.status != GetStatus::kFound || r.messages.size() != 1) {
      mm.Add(ctx + ": GetMessages returned " + libstore::GetStatusName(r.status));
      continue;
    }
    const libstore::StoredMessage& m = r.messages[0].message;
    mm.Eq(ctx, "queueOffset", m.queue_offset.value(), qo);
    mm.Eq(ctx, "offsetMsgId", libstore::EncodeOffsetMsgId(m.store_host, m.physical_offset),
          offset_msg_id);
    const auto u = libstore::FindProperty(m.properties, "UNIQ_KEY");
    mm.Eq(ctx, "UNIQ_KEY", std::string(u.value_or("<absent>")), uniq);
    const auto k = libstore::FindProperty(m.properties, "KEYS");
    if (!k || !KeysContain(*k, key)) mm.Add(ctx + ": KEYS does not contain " + key);
    const auto byid = store->GetMessageById(offset_msg_id);
    if (!byid.ok()) {
      mm.Add(ctx + ": GetMessageById: " + byid.status().ToString());
    } else {
      mm.Eq(ctx, "GetMessageById offset", byid->message.physical_offset.value(),
            m.physical_offset.value());
    }
    for (const std::string& lookup : {key, uniq}) {
      const auto q = store->QueryByKey(topic, lookup, 32, 0, INT64_MAX);
      if (!q.ok()) {
        mm.Add(ctx + ": QueryByKey(" + lookup + "): " + q.status().ToString());
        continue;
      }
      const int64_t want = lookup == key ? key_count[{topic, key}] : 1;
      mm.Eq(ctx + " QueryByKey(" + lookup + ")", "result count", static_cast<int64_t>(q->size()),
            want);
      bool found = false;
      for (const MessageRef& ref : *q) found |= ref.message.physical_offset == m.physical_offset;
      if (!found) mm.Add(ctx + ": QueryByKey(" + lookup + ") misses the message");
    }
  }
  EXPECT_EQ(lines, kCrashedAcked);
  EXPECT_EQ(mm.count(), 0u) << mm.Summary();
  ASSERT_OK(store->Close());
}

// After the abnormal recovery and a clean close, a normal reopen sees the same store.
TEST_F(CompatTest, CrashedRecoveryIsStableAcrossReopen) {
  const std::string root = CopyStore("crashed");
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open(root));
    EXPECT_TRUE(store->GetStats().last_open_was_abnormal);
    ASSERT_OK(store->Close());
  }
  EXPECT_FALSE(std::filesystem::exists(root + "/abort")) << "a clean close removes abort";
  // The CommitLog ends where the broker's recovery put it: the valid files keep the broker's
  // bytes (the rest of the last one was zero already), the pre-allocated empty file after the
  // end is removed (MappedFileQueue.truncateDirtyFiles destroys files beyond the end).
  {
    std::map<std::string, std::string> want = ReadTree(Fixture("crashed/commitlog"));
    ASSERT_EQ(want.size(), 24u);
    ASSERT_EQ(want.rbegin()->first, "00000000000001507328");
    ASSERT_EQ(want.rbegin()->second, std::string(kCommitLogFileSize, '\0'));
    want.erase(std::prev(want.end()));
    ExpectFilesEqual(want, root + "/commitlog", "recovered CommitLog");
  }
  ASSERT_OK_AND_ASSIGN(auto store, Open(root));
  EXPECT_FALSE(store->GetStats().last_open_was_abnormal);
  Mismatches offsets;
  CheckOffsets(store.get(), CrashedOffsets(), {}, CommitLogMax(CrashedOffsets()), &offsets);
  EXPECT_EQ(offsets.count(), 0u) << offsets.Summary();
  Mismatches pulled;
  EXPECT_EQ(PullAndCompare(store.get(), CrashedExpected(), &pulled), kCrashedMessages);
  EXPECT_EQ(pulled.count(), 0u) << pulled.Summary();
  ASSERT_OK(store->Close());
}

// After the abnormal recovery the ConsumeQueues and the index cover the whole CommitLog, with
// the bytes a broker writes. No broker-written reference exists for the recovered files, so they
// are compared with the test's models (ModelConsumeQueues / ModelIndexFiles), which must first
// reproduce the clean fixture's files byte for byte. The crashed store's first two index files
// (full, and older than the checkpoint's index time) are kept as the broker left them; its last
// one is newer than the checkpoint, so it is rebuilt from the CommitLog. (A 4.9.7 broker would
// additionally re-index, at the start of the rebuilt file, the record at the previous file's
// endPhyOffset, because IndexService.buildIndex only skips offsets strictly below it; libstore
// skips that already indexed record, so the model is the from-scratch build.)
TEST_F(CompatTest, CrashedRecoveryRebuildsQueuesAndIndex) {
  {
    const auto model_cq = ModelConsumeQueues(CleanExpected());
    const auto model_idx = ModelIndexFiles(CleanExpected());
    ASSERT_EQ(model_cq.size(), 39u);
    ASSERT_EQ(model_idx.size(), 3u);
    ExpectFilesEqual(model_cq, Fixture("clean/consumequeue"), "model of clean/consumequeue");
    ExpectIndexFilesEqual(model_idx, Fixture("clean/index"));
    ASSERT_FALSE(HasFailure()) << "the test's models do not reproduce the broker's files";
  }
  const std::string root = CopyStore("crashed");
  {
    ASSERT_OK_AND_ASSIGN(auto store, Open(root));
    EXPECT_TRUE(store->GetStats().last_open_was_abnormal);
    ASSERT_OK(store->Close());
  }
  ExpectFilesEqual(ModelConsumeQueues(CrashedExpected()), root + "/consumequeue",
                   "recovered ConsumeQueue");
  const std::vector<std::string> fixture_names = ListDirSorted(Fixture("crashed/index"));
  const std::vector<std::string> names = ListDirSorted(root + "/index");
  ASSERT_EQ(fixture_names.size(), 3u);
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[0], fixture_names[0]);
  EXPECT_EQ(names[1], fixture_names[1]);
  ExpectIndexFilesEqual(ModelIndexFiles(CrashedExpected()), root + "/index");
}

// ---------------------------------------------------------------------------------------------
// Check 7: libstore appends to the broker's store with the broker's layout, and a reopen reads
// the old and the new messages.

struct NewMessage {
  MessageToStore msg;
  int64_t queue_offset = 0;
  int64_t phys = 0;
  int64_t size = 0;
  int64_t tags_code = 0;
  std::string bytes;  // expected record, known once the store time is
};

std::string EncodeProps(const std::string& tags, const std::string& keys, const std::string& uniq) {
  std::string p;
  if (!keys.empty()) p += "KEYS\x01" + keys + "\x02";
  if (!uniq.empty()) p += "UNIQ_KEY\x01" + uniq + "\x02";
  p += "WAIT\x01true\x02";
  if (!tags.empty()) p += "TAGS\x01" + tags + "\x02";
  return p;
}

std::string PseudoRandom(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1103515245u + 12345u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

std::string Deflate(const std::string& in) {
  uLongf len = compressBound(static_cast<uLong>(in.size()));
  std::string out(len, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &len, reinterpret_cast<const Bytef*>(in.data()),
            static_cast<uLong>(in.size()), 5);
  out.resize(len);
  return out;
}

void PutUnit(std::string* file, size_t unit, int64_t phys, int64_t size, int64_t tags_code) {
  std::string u;
  AppendBE64(&u, static_cast<uint64_t>(phys));
  AppendBE32(&u, static_cast<uint32_t>(size));
  AppendBE64(&u, static_cast<uint64_t>(tags_code));
  file->replace(unit * kCqUnitSize, kCqUnitSize, u);
}

TEST_F(CompatTest, AppendAfterFixtureKeepsLayout) {
  const std::string root = CopyStore("clean");
  const int64_t fixture_max = CommitLogMax(CleanOffsets());
  int64_t fixture_last_store_ts = 0;
  for (const json& e : CleanExpected()) {
    fixture_last_store_ts = std::max(fixture_last_store_ts, e.at("storeTimestamp").get<int64_t>());
  }
  const std::string compressed_plain(6000, 'z');

  // The workload: it fills the current CommitLog file (13116 bytes used) and rolls once.
  std::vector<NewMessage> news;
  auto add = [&](const std::string& topic, int32_t qid, std::string body, const std::string& tags,
                 const std::string& keys, int32_t flag, int32_t sys_flag) {
    NewMessage n;
    n.msg.topic = topic;
    n.msg.queue_id = qid;
    n.msg.body = std::move(body);
    n.msg.flag = flag;
    n.msg.sys_flag = sys_flag;
    char uniq[64];
    std::snprintf(uniq, sizeof(uniq), "C0FFEE0000000000000000000000%04zu", news.size());
    n.msg.properties = EncodeProps(tags, keys, uniq);
    n.msg.born_timestamp_ms = 1795600000000 + static_cast<int64_t>(news.size());
    n.msg.born_host.ip_bytes = kLoopback;
    n.msg.born_host.port = 40404;
    n.tags_code = tags.empty() ? 0 : JavaHashAscii(tags);
    news.push_back(std::move(n));
  };
  add("FixTagged", 0, "compat body 0", "TagA", "compat-key-0 compat-alt", 0, 0);
  add("CompatNew", 2, Deflate(compressed_plain), "", "compat-key-1", 7, 0x301);
  news.back().msg.reconsume_times = 2;
  for (int i = 0; i < 6; ++i) {
    add("FixSmall", 0, PseudoRandom(10000, static_cast<uint32_t>(i)), "",
        "compat-big-" + std::to_string(i), 0, 0);
  }
  add("FixTagged", 0, "after the roll", "TagB", "compat-key-8", 0,
      libstore::sysflag::kTransactionCommit);
  news.back().msg.prepared_transaction_offset = 1112872;

  // Where RocketMQ would put them: back to back, a record never spans files, and a record that
  // does not fit with 8 spare bytes leaves an end-of-file blank.
  std::map<std::pair<std::string, int32_t>, int64_t> next_qo = {{{"FixTagged", 0}, 350},
                                                                {{"FixSmall", 0}, 700}};
  std::vector<std::pair<int64_t, int64_t>> blanks;  // (offset, bytes to the file end)
  int64_t end = fixture_max;
  for (NewMessage& n : news) {
    n.size =
        91 + static_cast<int64_t>(n.msg.body.size() + n.msg.topic.size() + n.msg.properties.size());
    if (end % kCommitLogFileSize + n.size + 8 > kCommitLogFileSize) {
      const int64_t left = kCommitLogFileSize - end % kCommitLogFileSize;
      blanks.emplace_back(end, left);
      end += left;
    }
    n.phys = end;
    end += n.size;
    n.queue_offset = next_qo[{n.msg.topic, n.msg.queue_id}]++;
  }
  ASSERT_EQ(blanks.size(), 1u) << "the workload must roll the CommitLog exactly once";
  ASSERT_EQ(blanks[0].first / kCommitLogFileSize, 17);

  {
    ASSERT_OK_AND_ASSIGN(auto store, Open(root));
    int64_t last_ts = fixture_last_store_ts;
    for (NewMessage& n : news) {
      const std::string ctx = n.msg.topic + "/" + std::to_string(n.msg.queue_id);
      ASSERT_OK_AND_ASSIGN(PutResult res, store->Put(n.msg));
      EXPECT_EQ(res.status, libstore::PutStatus::kOk) << ctx;
      EXPECT_EQ(res.wrote_offset.value(), n.phys) << ctx;
      EXPECT_EQ(res.wrote_bytes, n.size) << ctx;
      EXPECT_EQ(res.queue_offset.value(), n.queue_offset) << ctx;
      EXPECT_EQ(res.message_count, 1) << ctx;
      EXPECT_EQ(std::string(res.offset_msg_id()), OffsetMsgIdV4(kLoopback, kStorePort, n.phys))
          << ctx;
      EXPECT_GE(res.store_timestamp_ms, last_ts) << ctx << ": store time went backwards";
      last_ts = res.store_timestamp_ms;
      n.bytes = EncodeExpectedRecord(n.msg, n.queue_offset, n.phys, res.store_timestamp_ms,
                                     kLoopback, kStorePort);
      ASSERT_OK_AND_ASSIGN(MessageRef got, store->GetMessageByOffset(PhysicalOffset(n.phys)));
      EXPECT_TRUE(got.message.record == n.bytes)
          << ctx << ": stored record " << FirstDifference(std::string(got.message.record), n.bytes);
    }
    EXPECT_EQ(store->GetStats().commitlog_max_offset.value(), end);
    ASSERT_OK(store->WaitForDispatch(10000));
    ASSERT_OK(store->Close());
  }
  const int64_t last_store_ts = ReadBE64(news.back().bytes.data() + 56);

  // The files on disk: the broker's bytes untouched, the new records and the blank where
  // RocketMQ puts them, zeros elsewhere.
  {
    std::vector<std::string> want_names = ListDirSorted(Fixture("clean/commitlog"));
    ASSERT_EQ(want_names.size(), 18u);
    std::map<std::string, std::string> want_files;
    for (const auto& n : want_names) {
      ASSERT_TRUE(ReadWholeFile(Fixture("clean/commitlog/" + n), &want_files[n]));
    }
    want_files["00000000000001179648"] = std::string(kCommitLogFileSize, '\0');
    auto file_of = [](int64_t off) {
      char name[32];
      std::snprintf(name, sizeof(name), "%020lld",
                    static_cast<long long>(off - off % kCommitLogFileSize));
      return std::string(name);
    };
    for (const NewMessage& n : news) {
      want_files[file_of(n.phys)].replace(static_cast<size_t>(n.phys % kCommitLogFileSize),
                                          n.bytes.size(), n.bytes);
    }
    for (const auto& [off, left] : blanks) {
      std::string blank;
      AppendBE32(&blank, static_cast<uint32_t>(left));
      AppendBE32(&blank, static_cast<uint32_t>(kMagicBlank));
      want_files[file_of(off)].replace(static_cast<size_t>(off % kCommitLogFileSize), 8, blank);
    }
    std::vector<std::string> names;
    for (const auto& [n, d] : want_files) names.push_back(n);
    EXPECT_EQ(ListDirSorted(root + "/commitlog"), names);
    for (const auto& [n, want] : want_files) {
      std::string got;
      if (!ReadWholeFile(root + "/commitlog/" + n, &got)) {
        ADD_FAILURE() << "CommitLog file " << n << " is missing";
        continue;
      }
      EXPECT_TRUE(got == want) << "CommitLog file " << n << ": " << FirstDifference(got, want);
    }
  }
  // ConsumeQueues: the broker's units untouched, the new units appended.
  {
    std::map<std::string, std::string> want_files;
    for (const auto& rel : ListFilesRecursive(Fixture("clean/consumequeue"))) {
      ASSERT_TRUE(ReadWholeFile(Fixture("clean/consumequeue/" + rel), &want_files[rel]));
    }
    for (const NewMessage& n : news) {
      const int64_t byte_off = n.queue_offset * kCqUnitSize;
      const int64_t file_bytes = kCqUnitsPerFile * kCqUnitSize;
      char name[32];
      std::snprintf(name, sizeof(name), "%020lld",
                    static_cast<long long>(byte_off - byte_off % file_bytes));
      const std::string rel = n.msg.topic + "/" + std::to_string(n.msg.queue_id) + "/" + name;
      auto it = want_files.find(rel);
      if (it == want_files.end()) {
        it = want_files.emplace(rel, std::string(static_cast<size_t>(file_bytes), '\0')).first;
      }
      PutUnit(&it->second, static_cast<size_t>((byte_off % file_bytes) / kCqUnitSize), n.phys,
              n.size, n.tags_code);
    }
    std::vector<std::string> names;
    for (const auto& [n, d] : want_files) names.push_back(n);
    EXPECT_EQ(ListFilesRecursive(root + "/consumequeue"), names);
    for (const auto& [rel, want] : want_files) {
      std::string got;
      if (!ReadWholeFile(root + "/consumequeue/" + rel, &got)) {
        ADD_FAILURE() << "ConsumeQueue file " << rel << " is missing";
        continue;
      }
      EXPECT_TRUE(got == want) << "ConsumeQueue " << rel << ": " << DescribeCqDifference(got, want);
    }
  }
  // Index: the broker's three files keep their names; their content is what a broker builds
  // for the old and the new messages.
  {
    std::vector<json> all = CleanExpected();
    for (const NewMessage& n : news) {
      json j;
      j["topic"] = n.msg.topic;
      j["queueId"] = n.msg.queue_id;
      j["queueOffset"] = n.queue_offset;
      j["commitLogOffset"] = n.phys;
      j["storeSize"] = n.size;
      j["sysFlag"] = n.msg.sys_flag;
      j["storeTimestamp"] = ReadBE64(n.bytes.data() + 56);
      j["properties"] = json::object();
      const libstore::Properties props = libstore::Properties::Decode(n.msg.properties);
      for (const auto& [k, v] : props.entries()) {
        j["properties"][k] = v;
      }
      all.push_back(std::move(j));
    }
    EXPECT_EQ(ListDirSorted(root + "/index"), ListDirSorted(Fixture("clean/index")));
    ExpectIndexFilesEqual(ModelIndexFiles(all), root + "/index");
  }
  // Checkpoint: 4096 bytes, three timestamps, zeros after them; the CommitLog and the queues
  // are flushed up to the last record.
  {
    std::string cp;
    ASSERT_TRUE(ReadWholeFile(root + "/checkpoint", &cp));
    ASSERT_EQ(cp.size(), 4096u);
    EXPECT_EQ(cp.substr(24), std::string(4096 - 24, '\0'));
    EXPECT_EQ(ReadBE64(cp.data()), last_store_ts) << "physicMsgTimestamp";
    EXPECT_EQ(ReadBE64(cp.data() + 8), last_store_ts) << "logicsMsgTimestamp";
    // No index file filled up, so the end time of the last full one is still the fixture's.
    EXPECT_EQ(ReadBE64(cp.data() + 16), 1795592240181) << "indexMsgTimestamp";
    EXPECT_FALSE(std::filesystem::exists(root + "/abort"));
  }
  // Reopen: old and new messages, queue offsets, keys.
  ASSERT_OK_AND_ASSIGN(auto store, Open(root));
  const libstore::StoreStats st = store->GetStats();
  EXPECT_FALSE(st.last_open_was_abnormal) << st.recovery_note;
  Mismatches offsets;
  CheckOffsets(store.get(), CleanOffsets(),
               {{{"FixTagged", 0}, 352}, {{"FixSmall", 0}, 706}, {{"CompatNew", 2}, 1}}, end,
               &offsets);
  EXPECT_EQ(offsets.count(), 0u) << offsets.Summary();
  Mismatches old;
  EXPECT_EQ(PullAndCompare(store.get(), CleanExpected(), &old), kCleanMessages);
  EXPECT_EQ(old.count(), 0u) << old.Summary();
  Mismatches keys;
  CheckKeyQueries(store.get(), CleanKeys(), CleanExpected(), &keys);
  EXPECT_EQ(keys.count(), 0u) << keys.Summary();
  for (const NewMessage& n : news) {
    const std::string ctx =
        n.msg.topic + "/" + std::to_string(n.msg.queue_id) + "@" + std::to_string(n.queue_offset);
    GetRequest req;
    req.topic = n.msg.topic;
    req.queue_id = n.msg.queue_id;
    req.offset = QueueOffset(n.queue_offset);
    req.max_count = 1;
    const auto r = store->GetMessages(req);
    ASSERT_EQ(r.status, GetStatus::kFound) << ctx << ": " << libstore::GetStatusName(r.status);
    ASSERT_EQ(r.messages.size(), 1u) << ctx;
    EXPECT_TRUE(r.messages[0].message.record == n.bytes) << ctx;
    const auto uniq = libstore::FindProperty(n.msg.properties, "UNIQ_KEY");
    ASSERT_TRUE(uniq.has_value());
    const auto keys_prop = libstore::FindProperty(n.msg.properties, "KEYS");
    ASSERT_TRUE(keys_prop.has_value());
    std::vector<std::string> lookups = {std::string(*uniq)};
    size_t start = 0;
    while (start <= keys_prop->size()) {
      size_t stop = keys_prop->find(' ', start);
      if (stop == std::string_view::npos) stop = keys_prop->size();
      lookups.emplace_back(keys_prop->substr(start, stop - start));
      start = stop + 1;
    }
    for (const std::string& k : lookups) {
      ASSERT_OK_AND_ASSIGN(auto found, store->QueryByKey(n.msg.topic, k, 32, 0, INT64_MAX));
      ASSERT_EQ(found.size(), 1u) << ctx << " key " << k;
      EXPECT_EQ(found[0].message.physical_offset.value(), n.phys) << ctx << " key " << k;
    }
  }
  {
    // The compressed message reads back as the client wrote it.
    const auto got = store->GetMessageByOffset(PhysicalOffset(news[1].phys));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->message.sys_flag, 0x301);
    const auto plain = Inflate(got->message.body);
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(*plain, compressed_plain);
  }
  {
    // The blank filler is not a message, and reads raw as the broker writes it.
    const auto [off, left] = blanks[0];
    EXPECT_FALSE(store->GetMessageByOffset(PhysicalOffset(off)).ok());
    ASSERT_OK_AND_ASSIGN(libstore::RawSlice raw,
                         store->ReadCommitLog(PhysicalOffset(off), 1 << 20));
    ASSERT_EQ(static_cast<int64_t>(raw.bytes.size()), left);
    EXPECT_EQ(ReadBE32(raw.bytes.data()), left);
    EXPECT_EQ(ReadBE32(raw.bytes.data() + 4), kMagicBlank);
  }
  ASSERT_OK(store->Close());
}

}  // namespace
}  // namespace compat
