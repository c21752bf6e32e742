// The default Env: POSIX files, MAP_SHARED mappings, io_uring for syncs and fallocate.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "io/io_ring.h"
#include "libstore/env.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace libstore {

MappedRegion& MappedRegion::operator=(MappedRegion&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) munmap(data_, size_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

MappedRegion::~MappedRegion() {
  if (data_ != nullptr) munmap(data_, size_);
}

absl::Status Env::SyncFiles(std::span<File* const> files) {
  for (File* f : files) {
    absl::Status s = f->Sync();
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

absl::Status PosixError(const std::string& context, int err) {
  const std::string msg = absl::StrCat(context, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

internal::IoRing& ThreadRing() {
  thread_local internal::IoRing ring(64);
  return ring;
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { close(fd_); }
  int fd() const { return fd_; }
  const std::string& path() const override { return path_; }

  absl::StatusOr<uint64_t> Size() override {
    struct stat st;
    if (fstat(fd_, &st) != 0) return PosixError(path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }
  absl::Status Truncate(uint64_t size) override {
    if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return PosixError(path_, errno);
    return absl::OkStatus();
  }
  absl::Status Allocate(uint64_t offset, uint64_t len) override {
    absl::Status s = ThreadRing().Fallocate(fd_, 0, offset, len);
    if (!s.ok() && !absl::IsResourceExhausted(s)) {
      // Filesystems without fallocate: the file was sized by Truncate already; go on.
      return absl::OkStatus();
    }
    if (!s.ok()) return absl::ResourceExhaustedError(absl::StrCat(path_, ": ", s.message()));
    return s;
  }
  absl::Status ZeroRange(uint64_t offset, uint64_t len) override {
    if (len == 0) return absl::OkStatus();
    if (fallocate(fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                  static_cast<off_t>(len)) == 0) {
      return absl::OkStatus();
    }
    static const std::string kZeros(1 << 16, '\0');
    while (len > 0) {
      const size_t n = len < kZeros.size() ? len : kZeros.size();
      const ssize_t w = pwrite(fd_, kZeros.data(), n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      offset += static_cast<uint64_t>(w);
      len -= static_cast<uint64_t>(w);
    }
    return absl::OkStatus();
  }
  absl::Status Read(uint64_t offset, size_t len, char* out) override {
    while (len > 0) {
      const ssize_t r = pread(fd_, out, len, static_cast<off_t>(offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      if (r == 0) return absl::OutOfRangeError(absl::StrCat(path_, ": read past end"));
      out += r;
      len -= static_cast<size_t>(r);
      offset += static_cast<uint64_t>(r);
    }
    return absl::OkStatus();
  }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    while (!data.empty()) {
      const ssize_t w = pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(w));
      offset += static_cast<uint64_t>(w);
    }
    return absl::OkStatus();
  }
  absl::Status Sync() override {
    const int fds[1] = {fd_};
    absl::Status s = ThreadRing().DataSyncAll(fds);
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat(path_, ": ", s.message()));
    return s;
  }
  absl::StatusOr<MappedRegion> Map(uint64_t size, bool writable) override {
    const int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* p = mmap(nullptr, size, prot, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return PosixError(absl::StrCat(path_, ": mmap"), errno);
    return MappedRegion(static_cast<char*>(p), size);
  }
  absl::Status Prefault(const MappedRegion& region, uint64_t offset, uint64_t len) override {
    const uint64_t page = 4096;
    const uint64_t begin = offset & ~(page - 1);
    uint64_t end = offset + len;
    if (end > region.size()) end = region.size();
    if (begin >= end) return absl::OkStatus();
    if (madvise(region.data() + begin, end - begin, MADV_POPULATE_WRITE) != 0) {
      if (errno == EINVAL) {
        // Kernels before 5.14: touch one byte per page (reads then writes the same value).
        for (uint64_t p = begin; p < end; p += page) {
          volatile char* c = region.data() + p;
          *c = *c;
        }
        return absl::OkStatus();
      }
      return PosixError(absl::StrCat(path_, ": madvise(POPULATE_WRITE)"), errno);
    }
    return absl::OkStatus();
  }

 private:
  std::string path_;
  int fd_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override { close(fd_); }  // closing the descriptor releases the OFD lock

 private:
  int fd_;
};

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override {
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return PosixError(path, errno);
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }
  absl::Status SyncFiles(std::span<File* const> files) override {
    std::vector<int> fds;
    fds.reserve(files.size());
    for (File* f : files) {
      auto* pf = dynamic_cast<PosixFile*>(f);
      if (pf == nullptr) return Env::SyncFiles(files);
      fds.push_back(pf->fd());
    }
    return ThreadRing().DataSyncAll(fds);
  }
  absl::Status CreateDirs(const std::string& path) override {
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      cur = path.substr(0, pos);
      if (cur.empty()) continue;
      if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return PosixError(cur, errno);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return PosixError(path, errno);
    std::vector<std::string> out;
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
    return out;
  }
  bool FileExists(const std::string& path) override { return access(path.c_str(), F_OK) == 0; }
  absl::Status DeleteFile(const std::string& path) override {
    if (unlink(path.c_str()) != 0) return PosixError(path, errno);
    return absl::OkStatus();
  }
  absl::Status DeleteDir(const std::string& path) override {
    if (rmdir(path.c_str()) != 0) return PosixError(path, errno);
    return absl::OkStatus();
  }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (rename(from.c_str(), to.c_str()) != 0) return PosixError(from, errno);
    return absl::OkStatus();
  }
  absl::Status SyncDir(const std::string& path) override {
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    const int rc = fsync(fd);
    const int err = errno;
    close(fd);
    if (rc != 0) return PosixError(path, err);
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> FileModifiedMs(const std::string& path) override {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return PosixError(path, errno);
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(path, errno);
    // RocketMQ locks byte 0 with FileChannel.tryLock(0, 1, false), an fcntl record lock. An
    // open-file-description lock on the same byte conflicts with it (flock would not), and
    // unlike a classic fcntl lock it also conflicts with a second open in this process.
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
      const int err = errno;
      close(fd);
      if (err == EAGAIN || err == EACCES) {
        return absl::FailedPreconditionError(
            absl::StrCat(path, ": locked by another process (is a store already open here?)"));
      }
      return PosixError(path, err);
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0) {
      (void)!pwrite(fd, "lock", 4, 0);
    }
    return std::unique_ptr<FileLock>(new PosixLock(fd));
  }
  absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) override {
    struct statvfs st;
    if (statvfs(path.c_str(), &st) != 0) return PosixError(path, errno);
    DiskSpace d;
    d.total_bytes = static_cast<uint64_t>(st.f_blocks) * st.f_frsize;
    d.available_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    return d;
  }
  int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  int64_t MonotonicMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();
  return env;
}

}  // namespace libstore
