// Unit tests of MappedFile and MappedFileQueue: creation, Load() rules (zero-length last file
// deleted; wrong size, gaps and misaligned names are DataLoss; foreign names ignored),
// FindByOffset, TruncateAfter and deletion.
#include "commitlog/mapped_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
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

constexpr int64_t kFileSize = 4096;

class MappedFileQueueTest : public ::testing::Test {
 protected:
  std::string qdir() const { return dir_.path() + "/commitlog"; }
  std::string PathFor(int64_t from) const { return qdir() + "/" + OffsetFileName(from); }
  std::unique_ptr<MappedFileQueue> NewQueue() {
    return std::make_unique<MappedFileQueue>(env_, qdir(), kFileSize);
  }
  // Creates files starting at 0, kFileSize, ... through a queue, each filled with its index.
  void CreateFiles(int n) {
    auto q = NewQueue();
    for (int i = 0; i < n; ++i) {
      ASSERT_OK_AND_ASSIGN(auto f, q->CreateFile(i * kFileSize));
      std::memset(f->data(), 'A' + i, static_cast<size_t>(kFileSize));
    }
  }
  void WriteRawFile(const std::string& path, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << std::string(size, 'z');
  }
  std::vector<std::string> ListDir() {
    auto names = env_->ListDir(qdir());
    std::vector<std::string> out = names.ok() ? *names : std::vector<std::string>{};
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<int64_t> Froms(const MappedFileQueue& q) {
    std::vector<int64_t> out;
    for (const auto& f : q.Files()) out.push_back(f->from());
    return out;
  }

  testing::TempDir dir_{"mapped_file_test"};
  Env* env_ = Env::Default();
};

TEST_F(MappedFileQueueTest, LoadOfMissingOrEmptyDirectory) {
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  EXPECT_TRUE(q->empty());
  EXPECT_EQ(q->Last(), nullptr);
  EXPECT_EQ(q->First(), nullptr);
  EXPECT_EQ(q->FindByOffset(0), nullptr);
  ASSERT_OK(env_->CreateDirs(qdir()));
  ASSERT_OK(q->Load());
  EXPECT_TRUE(q->empty());
}

TEST_F(MappedFileQueueTest, CreateFileSizesAndNamesFiles) {
  auto q = NewQueue();
  ASSERT_OK_AND_ASSIGN(auto f0, q->CreateFile(0));
  ASSERT_OK_AND_ASSIGN(auto f1, q->CreateFile(kFileSize));
  EXPECT_EQ(f0->from(), 0);
  EXPECT_EQ(f0->end(), kFileSize);
  EXPECT_EQ(f1->from(), kFileSize);
  EXPECT_EQ(f0->size(), kFileSize);
  EXPECT_EQ(f0->path(), PathFor(0));
  EXPECT_EQ(ListDir(), (std::vector<std::string>{"00000000000000000000", "00000000000000004096"}));
  ASSERT_OK_AND_ASSIGN(uint64_t size, (*env_->OpenFile(PathFor(kFileSize), false))->Size());
  EXPECT_EQ(size, static_cast<uint64_t>(kFileSize));
  EXPECT_EQ(q->First(), f0);
  EXPECT_EQ(q->Last(), f1);
}

TEST_F(MappedFileQueueTest, LoadMapsEveryFileWithFullPositions) {
  CreateFiles(3);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{0, kFileSize, 2 * kFileSize}));
  for (const auto& f : q->Files()) {
    EXPECT_EQ(f->wrote(), kFileSize);
    EXPECT_EQ(f->flushed(), kFileSize);
    EXPECT_TRUE(f->full());
  }
  // The bytes written through the first mapping are there.
  EXPECT_EQ(q->Files()[1]->data()[0], 'B');
  EXPECT_EQ(q->Files()[2]->data()[kFileSize - 1], 'C');
}

TEST_F(MappedFileQueueTest, LoadDeletesZeroLengthLastFile) {
  CreateFiles(2);
  WriteRawFile(PathFor(2 * kFileSize), 0);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{0, kFileSize}));
  EXPECT_FALSE(env_->FileExists(PathFor(2 * kFileSize)));
}

TEST_F(MappedFileQueueTest, LoadOfOnlyAZeroLengthFile) {
  ASSERT_OK(env_->CreateDirs(qdir()));
  WriteRawFile(PathFor(0), 0);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  EXPECT_TRUE(q->empty());
  EXPECT_FALSE(env_->FileExists(PathFor(0)));
}

TEST_F(MappedFileQueueTest, ZeroLengthFileThatIsNotLastIsDataLoss) {
  CreateFiles(1);
  WriteRawFile(PathFor(kFileSize), 0);
  ASSERT_OK(MappedFile::Create(env_, PathFor(2 * kFileSize), 2 * kFileSize, kFileSize).status());
  auto q = NewQueue();
  EXPECT_EQ(q->Load().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(env_->FileExists(PathFor(kFileSize)));  // left for the operator
}

TEST_F(MappedFileQueueTest, WrongSizedFileIsDataLoss) {
  CreateFiles(2);
  WriteRawFile(PathFor(2 * kFileSize), kFileSize - 1);
  auto q = NewQueue();
  EXPECT_EQ(q->Load().code(), absl::StatusCode::kDataLoss);
  WriteRawFile(PathFor(2 * kFileSize), kFileSize + 1);
  EXPECT_EQ(q->Load().code(), absl::StatusCode::kDataLoss);
  // A short file in the middle too.
  ASSERT_OK(env_->DeleteFile(PathFor(2 * kFileSize)));
  WriteRawFile(PathFor(0), 100);
  EXPECT_EQ(q->Load().code(), absl::StatusCode::kDataLoss);
}

TEST_F(MappedFileQueueTest, GapIsDataLoss) {
  CreateFiles(3);
  ASSERT_OK(env_->DeleteFile(PathFor(kFileSize)));
  auto q = NewQueue();
  EXPECT_EQ(q->Load().code(), absl::StatusCode::kDataLoss);
}

TEST_F(MappedFileQueueTest, MisalignedNameIsDataLoss) {
  CreateFiles(1);
  WriteRawFile(PathFor(kFileSize + 1), kFileSize);
  auto q = NewQueue();
  EXPECT_EQ(q->Load().code(), absl::StatusCode::kDataLoss);
}

TEST_F(MappedFileQueueTest, ForeignNamesAreIgnored) {
  CreateFiles(2);
  WriteRawFile(qdir() + "/notes.txt", 3);
  WriteRawFile(qdir() + "/0000000000000000000", 3);  // 19 digits
  WriteRawFile(qdir() + "/00000000000000000000.swp", 3);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{0, kFileSize}));
  EXPECT_TRUE(env_->FileExists(qdir() + "/notes.txt"));
}

TEST_F(MappedFileQueueTest, FirstFileAtNonZeroOffset) {
  auto q0 = NewQueue();
  ASSERT_OK(q0->CreateFile(5 * kFileSize).status());
  ASSERT_OK(q0->CreateFile(6 * kFileSize).status());
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{5 * kFileSize, 6 * kFileSize}));
}

TEST_F(MappedFileQueueTest, FindByOffset) {
  CreateFiles(4);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  ASSERT_OK(q->DeleteFirst());  // files now start at kFileSize
  EXPECT_EQ(q->FindByOffset(-1), nullptr);
  EXPECT_EQ(q->FindByOffset(0), nullptr);
  EXPECT_EQ(q->FindByOffset(kFileSize - 1), nullptr);
  ASSERT_NE(q->FindByOffset(kFileSize), nullptr);
  EXPECT_EQ(q->FindByOffset(kFileSize)->from(), kFileSize);
  EXPECT_EQ(q->FindByOffset(2 * kFileSize - 1)->from(), kFileSize);
  EXPECT_EQ(q->FindByOffset(2 * kFileSize)->from(), 2 * kFileSize);
  EXPECT_EQ(q->FindByOffset(3 * kFileSize + 17)->from(), 3 * kFileSize);
  EXPECT_EQ(q->FindByOffset(4 * kFileSize - 1)->from(), 3 * kFileSize);
  EXPECT_EQ(q->FindByOffset(4 * kFileSize), nullptr);
  EXPECT_EQ(q->FindByOffset(INT64_MAX / 2), nullptr);
  EXPECT_FALSE(env_->FileExists(PathFor(0)));
}

TEST_F(MappedFileQueueTest, TruncateAfterInsideAFile) {
  CreateFiles(4);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  const int64_t cut = kFileSize + 100;
  ASSERT_OK(q->TruncateAfter(cut));
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{0, kFileSize}));
  EXPECT_EQ(q->Files()[0]->wrote(), kFileSize);
  EXPECT_EQ(q->Files()[1]->wrote(), 100);
  EXPECT_LE(q->Files()[1]->flushed(), 100);
  EXPECT_FALSE(env_->FileExists(PathFor(2 * kFileSize)));
  EXPECT_FALSE(env_->FileExists(PathFor(3 * kFileSize)));
  EXPECT_TRUE(env_->FileExists(PathFor(kFileSize)));
  EXPECT_EQ(q->FindByOffset(2 * kFileSize), nullptr);
}

TEST_F(MappedFileQueueTest, TruncateAfterOnAFileBoundary) {
  CreateFiles(3);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  // As RocketMQ's truncateDirtyFiles: the file starting at the offset stays, empty.
  ASSERT_OK(q->TruncateAfter(kFileSize));
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{0, kFileSize}));
  EXPECT_EQ(q->Files()[0]->wrote(), kFileSize);
  EXPECT_EQ(q->Files()[1]->wrote(), 0);
  EXPECT_EQ(q->Files()[1]->flushed(), 0);
  EXPECT_FALSE(env_->FileExists(PathFor(2 * kFileSize)));
  // Truncating at or beyond the end changes nothing.
  ASSERT_OK(q->TruncateAfter(10 * kFileSize));
  EXPECT_EQ(Froms(*q), (std::vector<int64_t>{0, kFileSize}));
  EXPECT_EQ(q->Files()[1]->wrote(), 0);
}

TEST_F(MappedFileQueueTest, TruncateAfterToZeroKeepsTheFirstFileEmpty) {
  CreateFiles(2);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  ASSERT_OK(q->TruncateAfter(0));
  EXPECT_EQ(Froms(*q), std::vector<int64_t>{0});
  EXPECT_EQ(q->Files()[0]->wrote(), 0);
}

TEST_F(MappedFileQueueTest, DeletedFileStaysMappedForHolders) {
  CreateFiles(2);
  auto q = NewQueue();
  ASSERT_OK(q->Load());
  std::shared_ptr<MappedFile> held = q->First();
  ASSERT_OK(q->DeleteFirst());
  EXPECT_FALSE(env_->FileExists(PathFor(0)));
  EXPECT_EQ(held->data()[123], 'A');  // still mapped
  EXPECT_EQ(Froms(*q), std::vector<int64_t>{kFileSize});
  ASSERT_OK(q->DeleteAll());
  EXPECT_TRUE(q->empty());
  EXPECT_TRUE(ListDir().empty());
}

TEST_F(MappedFileQueueTest, OpenExistingChecksTheSize) {
  CreateFiles(1);
  EXPECT_EQ(MappedFile::OpenExisting(env_, PathFor(0), 0, kFileSize + 1).status().code(),
            absl::StatusCode::kDataLoss);
  ASSERT_OK_AND_ASSIGN(auto f, MappedFile::OpenExisting(env_, PathFor(0), 0, kFileSize));
  EXPECT_EQ(f->wrote(), kFileSize);
  EXPECT_EQ(f->data()[0], 'A');
}

TEST_F(MappedFileQueueTest, CreateReusesAndResizesAnExistingFile) {
  ASSERT_OK(env_->CreateDirs(qdir()));
  WriteRawFile(PathFor(0), 10);
  ASSERT_OK_AND_ASSIGN(auto f, MappedFile::Create(env_, PathFor(0), 0, kFileSize));
  EXPECT_EQ(f->size(), kFileSize);
  ASSERT_OK_AND_ASSIGN(uint64_t size, (*env_->OpenFile(PathFor(0), false))->Size());
  EXPECT_EQ(size, static_cast<uint64_t>(kFileSize));
  EXPECT_EQ(f->data()[kFileSize - 1], '\0');  // grown bytes read as zero
}

}  // namespace
}  // namespace libstore::internal
