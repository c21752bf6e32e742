// Unit tests of the ConsumeQueue: the 20-byte unit, Put/Read, idempotent re-puts, gap and
// first-file blank padding, Recover() over torn or garbage tails, TruncateDirty and
// DeleteExpired. Small files (10 units) in a temporary directory.
#include "consumequeue/consume_queue.h"

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

namespace libstore::internal {
namespace {

constexpr int64_t kUnitsPerFile = 10;
constexpr int64_t kFileBytes = kUnitsPerFile * kCqUnitSize;

// Unit i points at [100*i + 1000, +50) with tag code i+7.
CqUnit UnitFor(int64_t i) { return CqUnit{1000 + 100 * i, 50, i + 7}; }

std::string ReadFile(const std::string& path) { return testing::ReadFileBytes(path); }

void WriteAt(const std::string& path, int64_t offset, const std::string& bytes) {
  ASSERT_TRUE(testing::WriteFileAt(path, offset, bytes)) << path;
}

bool AllZero(const std::string& s, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (s[i] != 0) return false;
  }
  return true;
}

class ConsumeQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConsumeQueue> NewQueue() {
    return std::make_unique<ConsumeQueue>(env_, root(), "TopicA", 2, kUnitsPerFile);
  }
  // A queue as a restarted store sees it: Load() + Recover().
  std::unique_ptr<ConsumeQueue> Reopen() {
    auto q = NewQueue();
    EXPECT_OK(q->Load());
    EXPECT_OK(q->Recover());
    return q;
  }
  std::string root() const { return dir_.path() + "/consumequeue"; }
  std::string qdir() const { return root() + "/TopicA/2"; }
  std::string FilePath(int64_t from) const { return qdir() + "/" + OffsetFileName(from); }
  std::vector<std::string> ListQueueDir() {
    auto names = env_->ListDir(qdir());
    EXPECT_TRUE(names.ok()) << names.status();
    std::vector<std::string> out = names.ok() ? *names : std::vector<std::string>{};
    std::sort(out.begin(), out.end());
    return out;
  }
  void PutRange(ConsumeQueue* q, int64_t from, int64_t to) {
    for (int64_t i = from; i < to; ++i) ASSERT_OK(q->Put(i, UnitFor(i)));
  }
  void ExpectUnit(const ConsumeQueue& q, int64_t i, const CqUnit& want) {
    CqUnit u;
    ASSERT_TRUE(q.Read(i, &u)) << "unit " << i;
    EXPECT_EQ(u.physical_offset, want.physical_offset) << "unit " << i;
    EXPECT_EQ(u.size, want.size) << "unit " << i;
    EXPECT_EQ(u.tags_code, want.tags_code) << "unit " << i;
  }

  testing::TempDir dir_{"cq_test"};
  Env* env_ = Env::Default();
};

TEST(CqUnitTest, EncodeDecodeBigEndian) {
  char b[20];
  EncodeCqUnit(CqUnit{0x0102030405060708, 0x11121314, -2}, b);
  EXPECT_EQ(std::string(b, 20), std::string("\x01\x02\x03\x04\x05\x06\x07\x08"
                                            "\x11\x12\x13\x14"
                                            "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFE",
                                            20));
  const CqUnit u = DecodeCqUnit(b);
  EXPECT_EQ(u.physical_offset, 0x0102030405060708);
  EXPECT_EQ(u.size, 0x11121314);
  EXPECT_EQ(u.tags_code, -2);
}

TEST(CqUnitTest, ValidityAndBlank) {
  EXPECT_TRUE((CqUnit{0, 1, 0}).valid());
  EXPECT_FALSE((CqUnit{0, 0, 0}).valid());
  EXPECT_FALSE((CqUnit{-1, 10, 0}).valid());
  EXPECT_FALSE((CqUnit{5, -1, 0}).valid());
  const CqUnit blank{0, INT_MAX, 0};
  EXPECT_TRUE(blank.valid());
  EXPECT_TRUE(blank.blank());
  EXPECT_FALSE((CqUnit{0, INT_MAX, 1}).blank());
  EXPECT_FALSE((CqUnit{1, INT_MAX, 0}).blank());
}

TEST_F(ConsumeQueueTest, EmptyQueue) {
  auto q = Reopen();
  EXPECT_EQ(q->min_offset(), 0);
  EXPECT_EQ(q->max_offset(), 0);
  CqUnit u;
  EXPECT_FALSE(q->Read(0, &u));
}

TEST_F(ConsumeQueueTest, PutAndRead) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 25);
  EXPECT_EQ(q->min_offset(), 0);
  EXPECT_EQ(q->max_offset(), 25);
  EXPECT_EQ(q->max_physical_end(), UnitFor(24).physical_offset + 50);
  for (int64_t i = 0; i < 25; ++i) ExpectUnit(*q, i, UnitFor(i));
  CqUnit u;
  EXPECT_FALSE(q->Read(25, &u));
  EXPECT_FALSE(q->Read(-1, &u));
  EXPECT_FALSE(q->Read(1000, &u));

  // Three files named by the byte offset of their first unit.
  EXPECT_EQ(ListQueueDir(), (std::vector<std::string>{OffsetFileName(0), OffsetFileName(200),
                                                      OffsetFileName(400)}));
  ASSERT_NE(q->FileFor(13), nullptr);
  EXPECT_EQ(q->FileFor(13)->from(), 200);
  // On disk: unit 13 at byte 60 of the second file, big-endian.
  const std::string f1 = ReadFile(FilePath(200));
  ASSERT_EQ(static_cast<int64_t>(f1.size()), kFileBytes);
  EXPECT_EQ(GetBEI64(f1.data() + 60), UnitFor(13).physical_offset);
  EXPECT_EQ(GetBEI32(f1.data() + 68), 50);
  EXPECT_EQ(GetBEI64(f1.data() + 72), UnitFor(13).tags_code);
}

TEST_F(ConsumeQueueTest, SurvivesReopen) {
  {
    auto q = NewQueue();
    ASSERT_OK(q->Load());
    PutRange(q.get(), 0, 17);
    ASSERT_OK(q->Flush());
  }
  auto q = Reopen();
  EXPECT_EQ(q->min_offset(), 0);
  EXPECT_EQ(q->max_offset(), 17);
  EXPECT_EQ(q->max_physical_end(), UnitFor(16).physical_offset + 50);
  for (int64_t i = 0; i < 17; ++i) ExpectUnit(*q, i, UnitFor(i));
  // And it keeps growing from there.
  PutRange(q.get(), 17, 21);
  EXPECT_EQ(q->max_offset(), 21);
  ExpectUnit(*q, 20, UnitFor(20));
}

TEST_F(ConsumeQueueTest, FullLastFileRecoversToItsEnd) {
  {
    auto q = NewQueue();
    ASSERT_OK(q->Load());
    PutRange(q.get(), 0, 20);  // exactly two full files
  }
  auto q = Reopen();
  EXPECT_EQ(q->max_offset(), 20);
  PutRange(q.get(), 20, 22);
  ExpectUnit(*q, 21, UnitFor(21));
  EXPECT_EQ(ListQueueDir().size(), 3u);
}

TEST_F(ConsumeQueueTest, IdempotentRePut) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 12);
  // Re-putting an existing offset (even with other content) changes nothing.
  ASSERT_OK(q->Put(3, CqUnit{999999, 1, 1}));
  ASSERT_OK(q->Put(11, UnitFor(11)));
  ExpectUnit(*q, 3, UnitFor(3));
  EXPECT_EQ(q->max_offset(), 12);
  // A unit whose record lies below what is already indexed is skipped, even at the next offset.
  ASSERT_OK(q->Put(12, UnitFor(5)));
  EXPECT_EQ(q->max_offset(), 12);
  // Replaying the whole range (a rebuild) is harmless.
  PutRange(q.get(), 0, 12);
  EXPECT_EQ(q->max_offset(), 12);
  for (int64_t i = 0; i < 12; ++i) ExpectUnit(*q, i, UnitFor(i));
}

TEST_F(ConsumeQueueTest, GapIsPaddedWithBlankUnits) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 2);
  ASSERT_OK(q->Put(11, UnitFor(11)));  // 2..10 missing, crossing into the second file
  EXPECT_EQ(q->max_offset(), 12);
  const CqUnit blank{0, INT_MAX, 0};
  for (int64_t i = 2; i < 11; ++i) ExpectUnit(*q, i, blank);
  ExpectUnit(*q, 11, UnitFor(11));
  ExpectUnit(*q, 1, UnitFor(1));
  EXPECT_EQ(ListQueueDir().size(), 2u);
  // Blank units are valid for recovery: everything survives a reopen.
  q.reset();
  q = Reopen();
  EXPECT_EQ(q->max_offset(), 12);
  EXPECT_EQ(q->min_offset(), 0);
  ExpectUnit(*q, 11, UnitFor(11));
  ExpectUnit(*q, 7, blank);
}

// A queue offset more than one file past the end can only come from a corrupt record (the
// field is not covered by the body CRC): it is left out instead of padding without bound.
TEST_F(ConsumeQueueTest, JumpBeyondOneFileIsRefused) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 2);
  ASSERT_OK(q->Put(13, UnitFor(13)));  // 11 past the end, the file holds 10
  EXPECT_EQ(q->max_offset(), 2);
  EXPECT_EQ(ListQueueDir().size(), 1u);
  ASSERT_OK(q->Put(2, UnitFor(2)));  // the queue goes on normally
  EXPECT_EQ(q->max_offset(), 3);
  ExpectUnit(*q, 2, UnitFor(2));
}

TEST_F(ConsumeQueueTest, FirstFileAtNonZeroOffsetIsPaddedWithBlanks) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  ASSERT_OK(q->Put(23, UnitFor(23)));
  EXPECT_EQ(q->min_offset(), 23);
  EXPECT_EQ(q->max_offset(), 24);
  CqUnit u;
  EXPECT_FALSE(q->Read(22, &u));  // below the minimum
  ExpectUnit(*q, 23, UnitFor(23));
  // The only file starts at unit 20 (byte 400); units 20..22 are (0, INT_MAX, 0) on disk.
  EXPECT_EQ(ListQueueDir(), std::vector<std::string>{OffsetFileName(400)});
  const std::string f = ReadFile(FilePath(400));
  ASSERT_EQ(static_cast<int64_t>(f.size()), kFileBytes);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(GetBEI64(f.data() + 20 * i), 0) << i;
    EXPECT_EQ(GetBEI32(f.data() + 20 * i + 8), INT_MAX) << i;
    EXPECT_EQ(GetBEI64(f.data() + 20 * i + 12), 0) << i;
  }
  EXPECT_EQ(GetBEI64(f.data() + 60), UnitFor(23).physical_offset);
  PutRange(q.get(), 24, 26);

  // Recovery finds the same minimum from the leading blanks.
  q.reset();
  q = Reopen();
  EXPECT_EQ(q->min_offset(), 23);
  EXPECT_EQ(q->max_offset(), 26);
  EXPECT_EQ(q->max_physical_end(), UnitFor(25).physical_offset + 50);
  EXPECT_FALSE(q->Read(20, &u));
  ExpectUnit(*q, 25, UnitFor(25));
}

TEST_F(ConsumeQueueTest, FirstUnitOnAFileBoundary) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  ASSERT_OK(q->Put(30, UnitFor(30)));
  EXPECT_EQ(q->min_offset(), 30);
  EXPECT_EQ(q->max_offset(), 31);
  EXPECT_EQ(ListQueueDir(), std::vector<std::string>{OffsetFileName(600)});
  q.reset();
  q = Reopen();
  EXPECT_EQ(q->min_offset(), 30);
  EXPECT_EQ(q->max_offset(), 31);
}

TEST_F(ConsumeQueueTest, RecoverStopsAtTornTailAndZeroesTheRest) {
  {
    auto q = NewQueue();
    ASSERT_OK(q->Load());
    PutRange(q.get(), 0, 17);
  }
  // Unit 14 was torn: its size never reached the disk. Units 15 and 16 after it are intact but
  // must not survive (recovery stops at the first invalid unit).
  std::string torn(20, '\0');
  PutBE64(torn.data(), static_cast<uint64_t>(UnitFor(14).physical_offset));
  WriteAt(FilePath(200), 4 * kCqUnitSize, torn);

  auto q = Reopen();
  EXPECT_EQ(q->max_offset(), 14);
  EXPECT_EQ(q->max_physical_end(), UnitFor(13).physical_offset + 50);
  CqUnit u;
  EXPECT_FALSE(q->Read(14, &u));
  ExpectUnit(*q, 13, UnitFor(13));
  const std::string f = ReadFile(FilePath(200));
  EXPECT_TRUE(AllZero(f, 4 * kCqUnitSize, f.size())) << "stale units must be zeroed";
  EXPECT_FALSE(AllZero(f, 3 * kCqUnitSize, 4 * kCqUnitSize));
  // The queue continues at the cut.
  PutRange(q.get(), 14, 16);
  ExpectUnit(*q, 15, UnitFor(15));
}

TEST_F(ConsumeQueueTest, RecoverStopsAtGarbageAndDeletesLaterFiles) {
  {
    auto q = NewQueue();
    ASSERT_OK(q->Load());
    PutRange(q.get(), 0, 28);
  }
  // 0xFF garbage over unit 12: a negative physical offset.
  WriteAt(FilePath(200), 2 * kCqUnitSize, std::string(20, '\xFF'));
  auto q = Reopen();
  EXPECT_EQ(q->max_offset(), 12);
  EXPECT_EQ(ListQueueDir(), (std::vector<std::string>{OffsetFileName(0), OffsetFileName(200)}));
  const std::string f = ReadFile(FilePath(200));
  EXPECT_TRUE(AllZero(f, 2 * kCqUnitSize, f.size()));
  for (int64_t i = 0; i < 12; ++i) ExpectUnit(*q, i, UnitFor(i));
}

TEST_F(ConsumeQueueTest, RecoverStopsAtNegativeSize) {
  {
    auto q = NewQueue();
    ASSERT_OK(q->Load());
    PutRange(q.get(), 0, 6);
  }
  std::string bad(20, '\0');
  EncodeCqUnit(CqUnit{UnitFor(3).physical_offset, -50, 1}, bad.data());
  WriteAt(FilePath(0), 3 * kCqUnitSize, bad);
  auto q = Reopen();
  EXPECT_EQ(q->max_offset(), 3);
  EXPECT_TRUE(AllZero(ReadFile(FilePath(0)), 3 * kCqUnitSize, kFileBytes));
}

TEST_F(ConsumeQueueTest, RecoverOfAllZeroLastFile) {
  {
    auto q = NewQueue();
    ASSERT_OK(q->Load());
    PutRange(q.get(), 0, 11);
  }
  // The second file's only unit is lost: the file is all zero.
  WriteAt(FilePath(200), 0, std::string(20, '\0'));
  auto q = Reopen();
  EXPECT_EQ(q->max_offset(), 10);
  EXPECT_EQ(q->max_physical_end(), UnitFor(9).physical_offset + 50);
  PutRange(q.get(), 10, 12);
  ExpectUnit(*q, 11, UnitFor(11));
  EXPECT_EQ(ListQueueDir().size(), 2u);
}

TEST_F(ConsumeQueueTest, TruncateDirtyDropsUnitsPastTheCommitLogEnd) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 25);
  // CommitLog ends at 2000: unit i ends at 1050 + 100*i, so units 0..9 stay.
  ASSERT_OK(q->TruncateDirty(2000));
  EXPECT_EQ(q->max_offset(), 10);
  EXPECT_EQ(q->max_physical_end(), UnitFor(9).physical_offset + 50);
  CqUnit u;
  EXPECT_FALSE(q->Read(10, &u));
  ExpectUnit(*q, 9, UnitFor(9));
  // Later files are gone; the file that starts at the cut is kept empty and zeroed.
  EXPECT_EQ(ListQueueDir(), (std::vector<std::string>{OffsetFileName(0), OffsetFileName(200)}));
  EXPECT_TRUE(AllZero(ReadFile(FilePath(200)), 0, kFileBytes));
  // Re-dispatch after the cut writes the same offsets again.
  PutRange(q.get(), 10, 12);
  ExpectUnit(*q, 11, UnitFor(11));
  // A reopen sees the truncated state.
  q.reset();
  q = Reopen();
  EXPECT_EQ(q->max_offset(), 12);
}

TEST_F(ConsumeQueueTest, TruncateDirtyInsideAFile) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 15);
  // Unit 9 ends at 1950 and unit 10 at 2050: a CommitLog end of 1951 keeps units 0..9.
  ASSERT_OK(q->TruncateDirty(1951));
  EXPECT_EQ(q->max_offset(), 10);
  ASSERT_OK(q->TruncateDirty(1949));  // unit 9 ends past 1949
  EXPECT_EQ(q->max_offset(), 9);
  EXPECT_TRUE(AllZero(ReadFile(FilePath(0)), 9 * kCqUnitSize, kFileBytes));
  q.reset();
  q = Reopen();
  EXPECT_EQ(q->max_offset(), 9);
}

TEST_F(ConsumeQueueTest, TruncateDirtyNoOpAndEverything) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 5);
  ASSERT_OK(q->TruncateDirty(1000000));
  EXPECT_EQ(q->max_offset(), 5);
  ASSERT_OK(q->TruncateDirty(0));
  EXPECT_EQ(q->max_offset(), 0);
  EXPECT_EQ(q->min_offset(), 0);
  CqUnit u;
  EXPECT_FALSE(q->Read(0, &u));
  PutRange(q.get(), 0, 3);
  ExpectUnit(*q, 2, UnitFor(2));
}

TEST_F(ConsumeQueueTest, DeleteExpired) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 30);
  // CommitLog now starts at 2000: file 0 (units ending <= 1950) goes, min moves to unit 10.
  ASSERT_OK_AND_ASSIGN(int deleted, q->DeleteExpired(2000));
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(q->min_offset(), 10);
  EXPECT_EQ(ListQueueDir(), (std::vector<std::string>{OffsetFileName(200), OffsetFileName(400)}));
  CqUnit u;
  EXPECT_FALSE(q->Read(9, &u));
  ExpectUnit(*q, 10, UnitFor(10));

  // Minimum inside a file: no file goes, the minimum moves to the first unit at/above it.
  ASSERT_OK_AND_ASSIGN(deleted, q->DeleteExpired(2500));
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(q->min_offset(), 15);
  EXPECT_FALSE(q->Read(14, &u));

  // Everything expired: the last file is never deleted.
  ASSERT_OK_AND_ASSIGN(deleted, q->DeleteExpired(INT64_MAX / 2));
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(ListQueueDir(), std::vector<std::string>{OffsetFileName(400)});
  EXPECT_EQ(q->min_offset(), 30);
  EXPECT_EQ(q->max_offset(), 30);
  EXPECT_FALSE(q->Read(29, &u));

  // After a reopen the minimum is the first file's first unit; writing continues.
  q.reset();
  q = Reopen();
  EXPECT_EQ(q->max_offset(), 30);
  EXPECT_EQ(q->min_offset(), 20);
  PutRange(q.get(), 30, 31);
  ExpectUnit(*q, 30, UnitFor(30));
}

TEST_F(ConsumeQueueTest, DestroyRemovesEverything) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  PutRange(q.get(), 0, 12);
  ASSERT_OK(q->Destroy());
  EXPECT_EQ(q->max_offset(), 0);
  EXPECT_TRUE(ListQueueDir().empty());
}

}  // namespace
}  // namespace libstore::internal
