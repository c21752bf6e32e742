// The one seam between the store and the operating system: files, mappings, syncs (driven by
// io_uring in the default Env), directory operations, locks and clocks. Tests wrap it to inject
// faults (torn tails, dropped unsynced data, EIO on sync, ENOSPC); see libstore/testing/.
// Thread-safety: Env methods may be called from any thread. A File may be used by several threads
// as long as Truncate/Allocate/ZeroRange are not concurrent with reads of the same bytes.
#ifndef LIBSTORE_ENV_H_
#define LIBSTORE_ENV_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace libstore {

// A shared memory mapping of a whole file. Unmapped on destruction.
class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(char* data, size_t size) : data_(data), size_(size) {}
  MappedRegion(MappedRegion&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  MappedRegion& operator=(MappedRegion&& o) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion();

  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

class File {
 public:
  virtual ~File() = default;
  virtual const std::string& path() const = 0;
  virtual absl::StatusOr<uint64_t> Size() = 0;
  // Sets the length; new bytes read as zero.
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Reserves disk blocks (fallocate) so later writes through a mapping cannot hit ENOSPC.
  virtual absl::Status Allocate(uint64_t offset, uint64_t len) = 0;
  // Makes [offset, offset+len) read as zero.
  virtual absl::Status ZeroRange(uint64_t offset, uint64_t len) = 0;
  virtual absl::Status Read(uint64_t offset, size_t len, char* out) = 0;
  virtual absl::Status Write(uint64_t offset, std::string_view data) = 0;
  // Durably writes data and the metadata needed to read it back (fdatasync).
  virtual absl::Status Sync() = 0;
  // Maps the first `size` bytes (the file must be at least that long).
  virtual absl::StatusOr<MappedRegion> Map(uint64_t size, bool writable) = 0;
  // Makes the mapped pages [offset, offset+len) writable ahead of need so that appends into
  // them take no page fault (MADV_POPULATE_WRITE). Best effort.
  virtual absl::Status Prefault(const MappedRegion& region, uint64_t offset, uint64_t len) = 0;
};

// Held while a store is open; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct DiskSpace {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide POSIX + io_uring Env. Never destroyed.
  static Env* Default();

  virtual absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) = 0;
  // Syncs several files with one io_uring submission; returns the first error.
  virtual absl::Status SyncFiles(std::span<File* const> files);
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory; NotFound if it does not exist.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  virtual absl::Status DeleteDir(const std::string& path) = 0;
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Makes a directory's entries (creations, deletions, renames) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Modification time of a file, ms since the epoch.
  virtual absl::StatusOr<int64_t> FileModifiedMs(const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  virtual absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) = 0;
  // Wall clock, ms since the epoch (store timestamps).
  virtual int64_t NowMs() = 0;
  // Monotonic clock for deadlines, in microseconds.
  virtual int64_t MonotonicMicros() = 0;
};

}  // namespace libstore

#endif  // LIBSTORE_ENV_H_
