// Unit tests of the IndexFile format (40-byte header, slot table, 20-byte chained entries) and of
// the IndexService: put/select, prevIndex chains, slot collisions, header arithmetic (index_count
// starts at 1), time windows, rolling to new files, Load() dropping files, corrupt headers and
// corrupt chains. Tiny slot and entry counts in a temporary directory.
#include "index/index_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "libstore/env.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore::internal {
namespace {

constexpr int64_t kT0 = 1700000000000;  // a store timestamp (ms)

std::string ReadFile(const std::string& path) { return testing::ReadFileBytes(path); }

void WriteAt(const std::string& path, int64_t offset, const std::string& bytes) {
  ASSERT_TRUE(testing::WriteFileAt(path, offset, bytes)) << path;
}

void WriteI32At(const std::string& path, int64_t pos, int32_t v) {
  std::string b(4, '\0');
  PutBE32(b.data(), static_cast<uint32_t>(v));
  WriteAt(path, pos, b);
}

void WriteI64At(const std::string& path, int64_t pos, int64_t v) {
  std::string b(8, '\0');
  PutBE64(b.data(), static_cast<uint64_t>(v));
  WriteAt(path, pos, b);
}

int64_t SlotPos(int32_t slot) { return kIndexHeaderSize + int64_t{slot} * kIndexSlotSize; }
int64_t EntryPos(int32_t slots, int32_t n) {
  return kIndexHeaderSize + int64_t{slots} * kIndexSlotSize + int64_t{n} * kIndexEntrySize;
}

std::vector<int64_t> Select(const IndexFile& f, const std::string& key, size_t max_num = 100,
                            int64_t begin = 0, int64_t end = INT64_MAX) {
  std::vector<int64_t> out;
  f.Select(key, max_num, begin, end, &out);
  return out;
}

class IndexFileTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/20240101000000000"; }
  std::unique_ptr<IndexFile> Create(int32_t slots, int32_t entries, int64_t begin_phy = 0,
                                    int64_t begin_ts = 0) {
    auto f = IndexFile::Create(env_, path(), slots, entries, begin_phy, begin_ts);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }
  std::unique_ptr<IndexFile> Open(int32_t slots, int32_t entries) {
    auto f = IndexFile::Open(env_, path(), slots, entries);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }

  testing::TempDir dir_{"index_test"};
  Env* env_ = Env::Default();
};

TEST_F(IndexFileTest, SizeAndFreshHeader) {
  EXPECT_EQ(IndexFile::FileSize(8, 16), 40 + 8 * 4 + 16 * 20);
  EXPECT_EQ(IndexFile::FileSize(5000000, 20000000), 420000040);
  auto f = Create(8, 16);
  ASSERT_NE(f, nullptr);
  const IndexHeader h = f->header();
  EXPECT_EQ(h.index_count, 1);
  EXPECT_EQ(h.hash_slot_count, 0);
  EXPECT_EQ(h.begin_phy_offset, 0);
  EXPECT_EQ(h.end_phy_offset, 0);
  EXPECT_EQ(h.begin_timestamp, 0);
  EXPECT_EQ(h.end_timestamp, 0);
  EXPECT_FALSE(f->full());
  f.reset();
  const std::string bytes = ReadFile(path());
  ASSERT_EQ(static_cast<int64_t>(bytes.size()), IndexFile::FileSize(8, 16));
  EXPECT_EQ(GetBEI32(bytes.data() + 36), 1);
  EXPECT_EQ(std::count(bytes.begin(), bytes.end(), '\0'), static_cast<long>(bytes.size()) - 1);
}

TEST_F(IndexFileTest, PutSelectAndHeaderArithmetic) {
  constexpr int32_t kSlots = 16;
  auto f = Create(kSlots, 32);
  ASSERT_NE(f, nullptr);
  const std::string k1 = "TopicA#k1";
  // A second key in another slot.
  std::string k2;
  for (int i = 2; k2.empty(); ++i) {
    const std::string k = "TopicA#k" + std::to_string(i);
    if (IndexKeyHash(k) % kSlots != IndexKeyHash(k1) % kSlots) k2 = k;
  }
  ASSERT_TRUE(f->Put(k1, 1000, kT0));
  IndexHeader h = f->header();
  EXPECT_EQ(h.index_count, 2);
  EXPECT_EQ(h.hash_slot_count, 1);
  EXPECT_EQ(h.begin_phy_offset, 1000);
  EXPECT_EQ(h.end_phy_offset, 1000);
  EXPECT_EQ(h.begin_timestamp, kT0);
  EXPECT_EQ(h.end_timestamp, kT0);

  ASSERT_TRUE(f->Put(k2, 2000, kT0 + 1000));
  ASSERT_TRUE(f->Put(k1, 3000, kT0 + 2000));
  h = f->header();
  EXPECT_EQ(h.index_count, 4);
  EXPECT_EQ(h.hash_slot_count, 2);  // the third put reused k1's slot
  EXPECT_EQ(h.begin_phy_offset, 1000);
  EXPECT_EQ(h.end_phy_offset, 3000);
  EXPECT_EQ(h.begin_timestamp, kT0);
  EXPECT_EQ(h.end_timestamp, kT0 + 2000);

  EXPECT_EQ(Select(*f, k1), (std::vector<int64_t>{3000, 1000}));
  EXPECT_EQ(Select(*f, k2), (std::vector<int64_t>{2000}));
  EXPECT_EQ(Select(*f, k1, 1), (std::vector<int64_t>{3000}));
  EXPECT_TRUE(Select(*f, "TopicA#absent").empty());

  // Raw layout: slot -> newest entry number; entry = hash, phy, timeDiff (s), prevIndex.
  f.reset();
  const std::string b = ReadFile(path());
  const int32_t s1 = IndexKeyHash(k1) % kSlots;
  const int32_t s2 = IndexKeyHash(k2) % kSlots;
  EXPECT_EQ(GetBEI32(b.data() + SlotPos(s1)), 3);
  EXPECT_EQ(GetBEI32(b.data() + SlotPos(s2)), 2);
  const char* e3 = b.data() + EntryPos(kSlots, 3);
  EXPECT_EQ(GetBEI32(e3), IndexKeyHash(k1));
  EXPECT_EQ(GetBEI64(e3 + 4), 3000);
  EXPECT_EQ(GetBEI32(e3 + 12), 2);
  EXPECT_EQ(GetBEI32(e3 + 16), 1);
  const char* e1 = b.data() + EntryPos(kSlots, 1);
  EXPECT_EQ(GetBEI64(e1 + 4), 1000);
  EXPECT_EQ(GetBEI32(e1 + 16), 0);
  EXPECT_EQ(GetBEI32(b.data() + EntryPos(kSlots, 2) + 16), 0);
  // Entry 0 is never used.
  EXPECT_EQ(std::string(b.data() + EntryPos(kSlots, 0), 20), std::string(20, '\0'));
  // The header reached the disk too.
  EXPECT_EQ(GetBEI32(b.data() + 32), 2);
  EXPECT_EQ(GetBEI32(b.data() + 36), 4);
  EXPECT_EQ(GetBEI64(b.data() + 16), 1000);
  EXPECT_EQ(GetBEI64(b.data() + 24), 3000);
}

TEST_F(IndexFileTest, SameSlotCollisionsChainThroughPrevIndex) {
  auto f = Create(/*slots=*/1, 16);
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->Put("T#a", 1, kT0));
  ASSERT_TRUE(f->Put("T#b", 2, kT0));
  ASSERT_TRUE(f->Put("T#a", 3, kT0));
  ASSERT_TRUE(f->Put("T#c", 4, kT0));
  EXPECT_EQ(f->header().hash_slot_count, 1);
  EXPECT_EQ(f->header().index_count, 5);
  EXPECT_EQ(Select(*f, "T#a"), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(Select(*f, "T#b"), (std::vector<int64_t>{2}));
  EXPECT_EQ(Select(*f, "T#c"), (std::vector<int64_t>{4}));
  f.reset();
  const std::string b = ReadFile(path());
  EXPECT_EQ(GetBEI32(b.data() + SlotPos(0)), 4);
  for (int32_t n = 1; n <= 4; ++n) {
    EXPECT_EQ(GetBEI32(b.data() + EntryPos(1, n) + 16), n - 1) << "entry " << n;
  }
}

TEST_F(IndexFileTest, FullHashCollisionsAreReturnedForTheClientToFilter) {
  // "Aa" and "BB" have the same Java hash, so "T#Aa" and "T#BB" do too.
  ASSERT_EQ(IndexKeyHash("T#Aa"), IndexKeyHash("T#BB"));
  auto f = Create(64, 16);
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->Put("T#Aa", 10, kT0));
  ASSERT_TRUE(f->Put("T#BB", 20, kT0));
  EXPECT_EQ(Select(*f, "T#Aa"), (std::vector<int64_t>{20, 10}));
  EXPECT_EQ(f->header().hash_slot_count, 1);
}

TEST_F(IndexFileTest, FullAfterMaxEntriesMinusOne) {
  auto f = Create(4, 4);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(f->Put("T#1", 1, kT0));
  EXPECT_TRUE(f->Put("T#2", 2, kT0));
  EXPECT_FALSE(f->full());
  EXPECT_TRUE(f->Put("T#3", 3, kT0));
  EXPECT_TRUE(f->full());
  EXPECT_FALSE(f->Put("T#4", 4, kT0));
  EXPECT_EQ(f->header().index_count, 4);
  EXPECT_EQ(f->header().end_phy_offset, 3);
  EXPECT_EQ(Select(*f, "T#3"), (std::vector<int64_t>{3}));
  EXPECT_TRUE(Select(*f, "T#4").empty());
}

TEST_F(IndexFileTest, TimeWindowFiltering) {
  auto f = Create(8, 16);
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->Put("T#k", 100, kT0));
  ASSERT_TRUE(f->Put("T#k", 200, kT0 + 5000));
  ASSERT_TRUE(f->Put("T#k", 300, kT0 + 10000));
  ASSERT_TRUE(f->Put("T#k", 400, kT0 + 12500));  // stored as 12 s: reads back as kT0 + 12000
  EXPECT_EQ(Select(*f, "T#k"), (std::vector<int64_t>{400, 300, 200, 100}));
  EXPECT_EQ(Select(*f, "T#k", 100, kT0 + 4000, kT0 + 6000), (std::vector<int64_t>{200}));
  EXPECT_EQ(Select(*f, "T#k", 100, 0, kT0 + 999), (std::vector<int64_t>{100}));
  EXPECT_EQ(Select(*f, "T#k", 100, kT0 + 5000, kT0 + 10000), (std::vector<int64_t>{300, 200}));
  EXPECT_TRUE(Select(*f, "T#k", 100, kT0 + 12001, INT64_MAX).empty());
  EXPECT_EQ(Select(*f, "T#k", 100, kT0 + 12000, kT0 + 12000), (std::vector<int64_t>{400}));
  EXPECT_TRUE(Select(*f, "T#k", 100, kT0 + 6000, kT0 + 9999).empty());
  // Raw time differences are whole seconds from the begin timestamp.
  f.reset();
  const std::string b = ReadFile(path());
  EXPECT_EQ(GetBEI32(b.data() + EntryPos(8, 1) + 12), 0);
  EXPECT_EQ(GetBEI32(b.data() + EntryPos(8, 2) + 12), 5);
  EXPECT_EQ(GetBEI32(b.data() + EntryPos(8, 4) + 12), 12);
}

TEST_F(IndexFileTest, StoreTimeBeforeBeginClampsToZero) {
  auto f = Create(8, 16);
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->Put("T#k", 100, kT0));
  ASSERT_TRUE(f->Put("T#k", 200, kT0 - 60000));  // clock stepped back
  f.reset();
  EXPECT_EQ(GetBEI32(ReadFile(path()).data() + EntryPos(8, 2) + 12), 0);
}

TEST_F(IndexFileTest, NewFileInheritsBeginFromThePreviousFile) {
  // As RocketMQ: a rolled file starts with the previous file's end offset and time; the first
  // entry's timeDiff is taken against that inherited time, then the begin values are replaced.
  auto f = Create(8, 16, /*begin_phy=*/5000, /*begin_ts=*/kT0);
  ASSERT_NE(f, nullptr);
  IndexHeader h = f->header();
  EXPECT_EQ(h.begin_phy_offset, 5000);
  EXPECT_EQ(h.end_phy_offset, 5000);
  EXPECT_EQ(h.begin_timestamp, kT0);
  EXPECT_EQ(h.end_timestamp, kT0);
  EXPECT_EQ(h.index_count, 1);
  ASSERT_TRUE(f->Put("T#k", 6000, kT0 + 7000));
  h = f->header();
  EXPECT_EQ(h.begin_phy_offset, 6000);
  EXPECT_EQ(h.begin_timestamp, kT0 + 7000);
  f.reset();
  EXPECT_EQ(GetBEI32(ReadFile(path()).data() + EntryPos(8, 1) + 12), 7);
}

TEST_F(IndexFileTest, OpenRoundTrip) {
  {
    auto f = Create(8, 16);
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->Put("T#k", 100, kT0));
    ASSERT_TRUE(f->Put("T#k", 200, kT0 + 1000));
    ASSERT_OK(f->Flush());
  }
  auto f = Open(8, 16);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->header().index_count, 3);
  EXPECT_EQ(Select(*f, "T#k"), (std::vector<int64_t>{200, 100}));
  ASSERT_TRUE(f->Put("T#k", 300, kT0 + 2000));
  EXPECT_EQ(Select(*f, "T#k"), (std::vector<int64_t>{300, 200, 100}));
}

TEST_F(IndexFileTest, CorruptHeaderIsDataLoss) {
  {
    auto f = Create(8, 16);
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->Put("T#k", 100, kT0));
    ASSERT_TRUE(f->Put("T#k", 200, kT0));
  }
  const std::string good = ReadFile(path());
  struct Patch {
    const char* what;
    int64_t pos;
    int32_t v;
  };
  const std::vector<Patch> patches = {
      {"index_count 0", 36, 0},           {"index_count -1", 36, -1},
      {"index_count > max", 36, 17},      {"index_count INT_MAX", 36, INT_MAX},
      {"hash_slot_count > slots", 32, 9}, {"hash_slot_count -1", 32, -1},
  };
  for (const Patch& p : patches) {
    WriteAt(path(), 0, good);
    WriteI32At(path(), p.pos, p.v);
    EXPECT_EQ(IndexFile::Open(env_, path(), 8, 16).status().code(), absl::StatusCode::kDataLoss)
        << p.what;
  }
  // end offset below begin offset
  WriteAt(path(), 0, good);
  WriteI64At(path(), 24, 99);
  EXPECT_EQ(IndexFile::Open(env_, path(), 8, 16).status().code(), absl::StatusCode::kDataLoss);
  // A file of the wrong size (or opened with other dimensions).
  WriteAt(path(), 0, good);
  EXPECT_EQ(IndexFile::Open(env_, path(), 8, 17).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(IndexFile::Open(env_, path(), 9, 16).status().code(), absl::StatusCode::kDataLoss);
  WriteAt(path(), static_cast<int64_t>(good.size()), "x");
  EXPECT_EQ(IndexFile::Open(env_, path(), 8, 16).status().code(), absl::StatusCode::kDataLoss);
}

class IndexChainCorruptionTest : public IndexFileTest {
 protected:
  static constexpr int32_t kSlots = 1;
  static constexpr int32_t kEntries = 16;
  void SetUp() override {
    auto f = Create(kSlots, kEntries);
    ASSERT_NE(f, nullptr);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(f->Put("T#a", 100 * i, kT0 + 1000 * i));
  }
  std::vector<int64_t> SelectAfterReopen(size_t max_num = 1000) {
    auto f = Open(kSlots, kEntries);
    if (f == nullptr) return {-1};
    return Select(*f, "T#a", max_num);
  }
  int64_t PrevPos(int32_t n) const { return EntryPos(kSlots, n) + 16; }
};

TEST_F(IndexChainCorruptionTest, IntactChain) {
  EXPECT_EQ(SelectAfterReopen(), (std::vector<int64_t>{500, 400, 300, 200, 100}));
}

TEST_F(IndexChainCorruptionTest, SelfLoopTerminates) {
  WriteI32At(path(), PrevPos(3), 3);
  EXPECT_EQ(SelectAfterReopen(), (std::vector<int64_t>{500, 400, 300}));
}

TEST_F(IndexChainCorruptionTest, OutOfRangePrevIndexTerminates) {
  WriteI32At(path(), PrevPos(4), 1000);
  EXPECT_EQ(SelectAfterReopen(), (std::vector<int64_t>{500, 400}));
  WriteI32At(path(), PrevPos(4), 6);  // == index_count: never written
  EXPECT_EQ(SelectAfterReopen(), (std::vector<int64_t>{500, 400}));
  WriteI32At(path(), PrevPos(4), -7);
  EXPECT_EQ(SelectAfterReopen(), (std::vector<int64_t>{500, 400}));
  WriteI32At(path(), PrevPos(4), INT32_MIN);
  EXPECT_EQ(SelectAfterReopen(), (std::vector<int64_t>{500, 400}));
}

TEST_F(IndexChainCorruptionTest, CycleIsBounded) {
  WriteI32At(path(), PrevPos(2), 4);  // 5 -> 4 -> 3 -> 2 -> 4 -> 3 -> 2 -> ...
  const std::vector<int64_t> got = SelectAfterReopen();
  EXPECT_LE(got.size(), static_cast<size_t>(kEntries));
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(std::vector<int64_t>(got.begin(), got.begin() + 4),
            (std::vector<int64_t>{500, 400, 300, 200}));
  for (int64_t v : got) EXPECT_TRUE(v >= 200 && v <= 500 && v % 100 == 0) << v;
}

TEST_F(IndexChainCorruptionTest, OutOfRangeSlotValue) {
  WriteI32At(path(), SlotPos(0), 99);
  EXPECT_TRUE(SelectAfterReopen().empty());
  WriteI32At(path(), SlotPos(0), -1);
  EXPECT_TRUE(SelectAfterReopen().empty());
  WriteI32At(path(), SlotPos(0), 6);  // == index_count
  EXPECT_TRUE(SelectAfterReopen().empty());
  // A put over a bad slot starts a new chain (prevIndex 0) and counts a new slot, as RocketMQ.
  WriteI32At(path(), SlotPos(0), 99);
  auto f = Open(kSlots, kEntries);
  ASSERT_NE(f, nullptr);
  const int32_t slots_before = f->header().hash_slot_count;
  ASSERT_TRUE(f->Put("T#a", 600, kT0 + 6000));
  EXPECT_EQ(f->header().hash_slot_count, slots_before + 1);
  EXPECT_EQ(Select(*f, "T#a"), (std::vector<int64_t>{600}));
}

TEST_F(IndexChainCorruptionTest, GarbageEntryTimeStopsTheWalk) {
  // A negative timeDiff reads as a time before any window start.
  WriteI32At(path(), EntryPos(kSlots, 4) + 12, -5);
  auto f = Open(kSlots, kEntries);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Select(*f, "T#a", 100, kT0, INT64_MAX), (std::vector<int64_t>{500}));
}

// ---------------------------------------------------------------------------------------------
// IndexService

class IndexServiceTest : public ::testing::Test {
 protected:
  std::string idir() const { return dir_.path() + "/index"; }
  std::unique_ptr<IndexService> NewService(int32_t slots = 4, int32_t entries = 4) {
    return std::make_unique<IndexService>(env_, idir(), slots, entries);
  }
  std::vector<std::string> IndexFiles() {
    auto names = env_->ListDir(idir());
    if (!names.ok()) return {};
    std::vector<std::string> out;
    for (const auto& n : *names) {
      if (n.size() == 17 &&
          std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        out.push_back(n);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Message i: offset 100*i, stored at kT0 + 1000*i, indexed under "K<i>" only. With the
  // default 4 entries per file (3 usable), files hold messages {0,1,2}, {3,4,5}, {6,7,8}.
  void BuildSingleKeyed(IndexService* s, int from, int to) {
    for (int i = from; i < to; ++i) {
      ASSERT_OK(s->BuildIndex("T", "K" + std::to_string(i), "", 100 * i, 100, kT0 + 1000 * i));
    }
  }

  testing::TempDir dir_{"index_svc_test"};
  Env* env_ = Env::Default();
};

TEST_F(IndexServiceTest, LoadOfMissingDirectory) {
  auto s = NewService();
  ASSERT_OK_AND_ASSIGN(int64_t dropped, s->Load(-1, INT64_MAX));
  EXPECT_EQ(dropped, INT64_MAX);
  EXPECT_EQ(s->IndexedEnd(), 0);
  EXPECT_TRUE(s->Query("T", "k", 10, 0, INT64_MAX).empty());
}

TEST_F(IndexServiceTest, BuildIndexAndQuery) {
  auto s = NewService(64, 64);
  ASSERT_OK(s->Load(-1, INT64_MAX).status());
  ASSERT_OK(s->BuildIndex("TopicA", "UNIQ1", "k1 k2", 0, 100, kT0));
  ASSERT_OK(s->BuildIndex("TopicA", "UNIQ2", "k2  k3 ", 100, 100, kT0 + 1000));
  ASSERT_OK(s->BuildIndex("TopicA", "", "k3", 200, 100, kT0 + 2000));
  EXPECT_EQ(s->Query("TopicA", "k2", 10, 0, INT64_MAX), (std::vector<int64_t>{100, 0}));
  EXPECT_EQ(s->Query("TopicA", "k3", 10, 0, INT64_MAX), (std::vector<int64_t>{200, 100}));
  EXPECT_EQ(s->Query("TopicA", "UNIQ1", 10, 0, INT64_MAX), (std::vector<int64_t>{0}));
  EXPECT_EQ(s->Query("TopicA", "k1", 10, 0, INT64_MAX), (std::vector<int64_t>{0}));
  EXPECT_TRUE(s->Query("TopicB", "k1", 10, 0, INT64_MAX).empty());
  EXPECT_TRUE(s->Query("TopicA", "", 10, 0, INT64_MAX).empty());
  EXPECT_EQ(s->Query("TopicA", "k2", 1, 0, INT64_MAX), (std::vector<int64_t>{100}));
  EXPECT_EQ(s->Query("TopicA", "k3", 10, kT0 + 1500, INT64_MAX), (std::vector<int64_t>{200}));
  EXPECT_EQ(s->IndexedEnd(), 200);
  ASSERT_EQ(IndexFiles().size(), 1u);
  // uniq, k1, k2 + uniq, k2, k3 + k3: 7 entries, index_count 8.
  ASSERT_OK_AND_ASSIGN(auto f, IndexFile::Open(env_, idir() + "/" + IndexFiles()[0], 64, 64));
  EXPECT_EQ(f->header().index_count, 8);
}

TEST_F(IndexServiceTest, RedispatchBelowTheIndexedEndIsSkipped) {
  auto s = NewService(64, 64);
  ASSERT_OK(s->Load(-1, INT64_MAX).status());
  ASSERT_OK(s->BuildIndex("T", "U1", "", 500, 10, kT0));
  ASSERT_OK(s->BuildIndex("T", "LATE", "", 400, 10, kT0));
  EXPECT_TRUE(s->Query("T", "LATE", 10, 0, INT64_MAX).empty());
  EXPECT_EQ(s->IndexedEnd(), 500);
}

TEST_F(IndexServiceTest, RollsToNewFilesWhenFull) {
  auto s = NewService(/*slots=*/4, /*entries=*/4);  // 3 entries per file
  ASSERT_OK(s->Load(-1, INT64_MAX).status());
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(s->BuildIndex("T", "U" + std::to_string(i), "common", 100 * i, 100, kT0 + 1000 * i));
  }
  // 20 entries, 3 per file.
  const std::vector<std::string> files = IndexFiles();
  ASSERT_EQ(files.size(), 7u);
  for (size_t i = 1; i < files.size(); ++i) EXPECT_LT(files[i - 1], files[i]);
  EXPECT_EQ(s->Query("T", "common", 100, 0, INT64_MAX),
            (std::vector<int64_t>{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}));
  EXPECT_EQ(s->Query("T", "common", 3, 0, INT64_MAX), (std::vector<int64_t>{900, 800, 700}));
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(s->Query("T", "U" + std::to_string(i), 10, 0, INT64_MAX),
              std::vector<int64_t>{100 * i})
        << i;
  }
  EXPECT_EQ(s->IndexedEnd(), 900);
  // Every full file has index_count == max entries; they chain by offset.
  int64_t prev_end = -1;
  for (size_t i = 0; i < files.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(auto f, IndexFile::Open(env_, idir() + "/" + files[i], 4, 4));
    const IndexHeader h = f->header();
    if (i + 1 < files.size()) {
      EXPECT_EQ(h.index_count, 4) << files[i];
    }
    EXPECT_GE(h.begin_phy_offset, prev_end);
    prev_end = h.end_phy_offset;
  }
}

TEST_F(IndexServiceTest, SurvivesReload) {
  {
    auto s = NewService();
    ASSERT_OK(s->Load(-1, INT64_MAX).status());
    BuildSingleKeyed(s.get(), 0, 9);
    ASSERT_OK(s->Flush().status());
  }
  auto s = NewService();
  ASSERT_OK_AND_ASSIGN(int64_t dropped, s->Load(-1, INT64_MAX));
  EXPECT_EQ(dropped, INT64_MAX);
  EXPECT_EQ(IndexFiles().size(), 3u);
  EXPECT_EQ(s->IndexedEnd(), 800);
  EXPECT_EQ(s->Query("T", "K4", 10, 0, INT64_MAX), (std::vector<int64_t>{400}));
  // Building continues in a new file whose name sorts after the loaded ones.
  BuildSingleKeyed(s.get(), 9, 10);
  EXPECT_EQ(IndexFiles().size(), 4u);
  EXPECT_EQ(s->Query("T", "K9", 10, 0, INT64_MAX), (std::vector<int64_t>{900}));
  EXPECT_EQ(s->Query("T", "K0", 10, 0, INT64_MAX), (std::vector<int64_t>{0}));
}

TEST_F(IndexServiceTest, LoadDropsFilesNewerThanTheCheckpoint) {
  {
    auto s = NewService();
    ASSERT_OK(s->Load(-1, INT64_MAX).status());
    BuildSingleKeyed(s.get(), 0, 9);
  }
  ASSERT_EQ(IndexFiles().size(), 3u);
  // Files end at kT0+2000, kT0+5000, kT0+8000: the last one is newer than the checkpoint.
  auto s = NewService();
  ASSERT_OK_AND_ASSIGN(int64_t dropped, s->Load(kT0 + 5000, INT64_MAX));
  EXPECT_EQ(dropped, 600);
  EXPECT_EQ(IndexFiles().size(), 2u);
  EXPECT_EQ(s->IndexedEnd(), 500);
  EXPECT_TRUE(s->Query("T", "K7", 10, 0, INT64_MAX).empty());
  EXPECT_EQ(s->Query("T", "K4", 10, 0, INT64_MAX), (std::vector<int64_t>{400}));
  // Rebuilding from the returned offset restores the dropped keys.
  BuildSingleKeyed(s.get(), 6, 9);
  EXPECT_EQ(s->Query("T", "K7", 10, 0, INT64_MAX), (std::vector<int64_t>{700}));

  // A checkpoint inside the first file drops every later file too.
  s = NewService();
  ASSERT_OK_AND_ASSIGN(dropped, s->Load(kT0 + 2500, INT64_MAX));
  EXPECT_EQ(dropped, 300);
  EXPECT_EQ(IndexFiles().size(), 1u);
  EXPECT_EQ(s->IndexedEnd(), 200);
}

TEST_F(IndexServiceTest, LoadDropsFilesBeyondTheCommitLogEnd) {
  {
    auto s = NewService();
    ASSERT_OK(s->Load(-1, INT64_MAX).status());
    BuildSingleKeyed(s.get(), 0, 9);
  }
  auto s = NewService();
  // The CommitLog was cut at 450: the second file indexes offset 500, the third 600..800.
  ASSERT_OK_AND_ASSIGN(int64_t dropped, s->Load(-1, 450));
  EXPECT_EQ(dropped, 300);
  EXPECT_EQ(IndexFiles().size(), 1u);
  EXPECT_EQ(s->IndexedEnd(), 200);
  EXPECT_TRUE(s->Query("T", "K3", 10, 0, INT64_MAX).empty());
  EXPECT_EQ(s->Query("T", "K2", 10, 0, INT64_MAX), (std::vector<int64_t>{200}));
}

TEST_F(IndexServiceTest, LoadDropsAFileWithACorruptHeaderAndEverythingAfter) {
  {
    auto s = NewService();
    ASSERT_OK(s->Load(-1, INT64_MAX).status());
    BuildSingleKeyed(s.get(), 0, 9);
  }
  std::vector<std::string> files = IndexFiles();
  ASSERT_EQ(files.size(), 3u);
  WriteI32At(idir() + "/" + files[1], 36, 0);  // index_count 0: impossible
  // A file that is not an index file is left alone.
  { std::ofstream(idir() + "/README") << "not an index file"; }
  auto s = NewService();
  ASSERT_OK_AND_ASSIGN(int64_t dropped, s->Load(-1, INT64_MAX));
  EXPECT_EQ(dropped, 0);  // rebuild from the start
  EXPECT_EQ(IndexFiles(), std::vector<std::string>{files[0]});
  EXPECT_TRUE(env_->FileExists(idir() + "/README"));
  EXPECT_EQ(s->Query("T", "K1", 10, 0, INT64_MAX), (std::vector<int64_t>{100}));
}

TEST_F(IndexServiceTest, DeleteExpiredKeepsTheLastFile) {
  auto s = NewService();
  ASSERT_OK(s->Load(-1, INT64_MAX).status());
  BuildSingleKeyed(s.get(), 0, 9);
  ASSERT_OK_AND_ASSIGN(int deleted, s->DeleteExpired(250));  // first file ends at 200
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(IndexFiles().size(), 2u);
  EXPECT_TRUE(s->Query("T", "K1", 10, 0, INT64_MAX).empty());
  EXPECT_EQ(s->Query("T", "K3", 10, 0, INT64_MAX), (std::vector<int64_t>{300}));
  ASSERT_OK_AND_ASSIGN(deleted, s->DeleteExpired(500));  // second ends at 500: not below
  EXPECT_EQ(deleted, 0);
  ASSERT_OK_AND_ASSIGN(deleted, s->DeleteExpired(INT64_MAX));
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(IndexFiles().size(), 1u);
  EXPECT_EQ(s->Query("T", "K8", 10, 0, INT64_MAX), (std::vector<int64_t>{800}));
}

// Flush returns RocketMQ's checkpoint indexMsgTimestamp: the end time of the newest *full* file.
TEST_F(IndexServiceTest, FlushReturnsTheEndTimestampOfTheNewestFullFile) {
  auto s = NewService();  // 4 entries per file: numbers 1..3 are used, so 3 keys fill a file
  ASSERT_OK(s->Load(-1, INT64_MAX).status());
  ASSERT_OK_AND_ASSIGN(int64_t ts, s->Flush());
  EXPECT_EQ(ts, 0);
  BuildSingleKeyed(s.get(), 0, 2);
  ASSERT_OK_AND_ASSIGN(ts, s->Flush());
  EXPECT_EQ(ts, 0);  // the only file is not full yet
  BuildSingleKeyed(s.get(), 2, 5);
  ASSERT_OK_AND_ASSIGN(ts, s->Flush());
  EXPECT_EQ(ts, kT0 + 2000);  // file 1 (keys 0..2) is full; file 2 holds keys 3..4
  BuildSingleKeyed(s.get(), 5, 6);
  ASSERT_OK_AND_ASSIGN(ts, s->Flush());
  EXPECT_EQ(ts, kT0 + 5000);  // file 2 (keys 3..5) is full now
}

}  // namespace
}  // namespace libstore::internal
