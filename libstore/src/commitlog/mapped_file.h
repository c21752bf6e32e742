// A fixed-size file mapped MAP_SHARED, named by the global offset of its first byte, and the
// ordered list of such files that makes up a CommitLog or a ConsumeQueue.
//
// Thread-safety: a MappedFile has one writer (the thread that owns the append path); its write
// position is published with release semantics so readers on other threads see every byte below
// it. MappedFileQueue's list is guarded by a mutex; files are shared_ptrs, so a reader that holds
// one keeps the mapping alive even after retention unlinked the file.
#ifndef LIBSTORE_COMMITLOG_MAPPED_FILE_H_
#define LIBSTORE_COMMITLOG_MAPPED_FILE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libstore/env.h"
#include "libstore/message.h"

namespace libstore::internal {

class MappedFile final : public FileRef {
 public:
  // Creates (or reuses) the file at `path`, sizes and allocates it, and maps it.
  static absl::StatusOr<std::shared_ptr<MappedFile>> Create(Env* env, const std::string& path,
                                                            int64_t from_offset, int64_t size);
  // Maps an existing file whose length must be `size`; every position starts at `size`
  // (recovery sets the real ones).
  static absl::StatusOr<std::shared_ptr<MappedFile>> OpenExisting(Env* env, const std::string& path,
                                                                  int64_t from_offset,
                                                                  int64_t size);

  int64_t from() const { return from_; }
  int64_t size() const { return size_; }
  int64_t end() const { return from_ + size_; }
  char* data() const { return region_.data(); }
  const std::string& path() const { return file_->path(); }
  File* file() const { return file_.get(); }

  int64_t wrote() const { return wrote_.load(std::memory_order_acquire); }
  void set_wrote(int64_t pos) { wrote_.store(pos, std::memory_order_release); }
  int64_t flushed() const { return flushed_.load(std::memory_order_acquire); }
  void set_flushed(int64_t pos) { flushed_.store(pos, std::memory_order_release); }
  bool full() const { return wrote() >= size_; }

  // Pages below this file position were made writable ahead of need (preparer only).
  int64_t prefaulted() const { return prefaulted_.load(std::memory_order_relaxed); }
  absl::Status PrefaultUpTo(int64_t pos);

 private:
  MappedFile(std::unique_ptr<File> file, MappedRegion region, int64_t from, int64_t size)
      : file_(std::move(file)), region_(std::move(region)), from_(from), size_(size) {}

  std::unique_ptr<File> file_;
  MappedRegion region_;
  const int64_t from_;
  const int64_t size_;
  std::atomic<int64_t> wrote_{0};
  std::atomic<int64_t> flushed_{0};
  std::atomic<int64_t> prefaulted_{0};
};

// An ordered list of contiguous MappedFiles of one size in one directory.
class MappedFileQueue {
 public:
  MappedFileQueue(Env* env, std::string dir, int64_t file_size)
      : env_(env), dir_(std::move(dir)), file_size_(file_size) {}

  // Loads every file of the directory. A zero-length last file is deleted (RocketMQ does the
  // same: it was being created); any other length mismatch or a gap is DataLoss.
  absl::Status Load();

  int64_t file_size() const { return file_size_; }
  const std::string& dir() const { return dir_; }
  std::vector<std::shared_ptr<MappedFile>> Files() const;
  std::shared_ptr<MappedFile> Last() const;
  std::shared_ptr<MappedFile> First() const;
  // The file holding global offset `offset`, or nullptr.
  std::shared_ptr<MappedFile> FindByOffset(int64_t offset) const;
  bool empty() const;

  // Creates the file that starts at `from` (a multiple of the file size) and appends it.
  absl::StatusOr<std::shared_ptr<MappedFile>> CreateFile(int64_t from);
  // Appends a file created ahead of time (its from() must follow the last file).
  void Append(std::shared_ptr<MappedFile> f);
  // Sets the write position of the file holding `offset` to it and deletes later files.
  absl::Status TruncateAfter(int64_t offset);
  // Removes and deletes the first file. The mapping lives on while readers hold it.
  absl::Status DeleteFirst();
  // Removes and deletes every file.
  absl::Status DeleteAll();
  std::string PathFor(int64_t from) const;

 private:
  Env* const env_;
  const std::string dir_;
  const int64_t file_size_;
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<MappedFile>> files_;
};

}  // namespace libstore::internal

#endif  // LIBSTORE_COMMITLOG_MAPPED_FILE_H_
