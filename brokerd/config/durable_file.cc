// Durable whole-file reads and writes; see durable_file.h.
#include "config/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

namespace brokerd::config {
namespace {

absl::Status ErrnoStatus(const std::string& what, int err) {
  return absl::InternalError(what + ": " + std::strerror(err));
}

// Closes fd on every path out of a scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Closes now; returns ::close's result.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory " + dir, errno);
  FdCloser closer(fd);
  if (::fsync(fd) != 0) return ErrnoStatus("fsync directory " + dir, errno);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(path + " does not exist");
    return ErrnoStatus("open " + path, err);
  }
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus("stat " + path, errno);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::DataLossError(path + " is " + std::to_string(st.st_size) +
                               " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + path, errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      return absl::DataLossError(path + " grew past the limit of " + std::to_string(max_bytes) +
                                 " bytes while being read");
    }
  }
  return text;
}

absl::Status WriteFileSynced(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  FdCloser closer(fd);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("write " + path, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoStatus("fsync " + path, errno);
  if (closer.Close() != 0) return ErrnoStatus("close " + path, errno);
  return absl::OkStatus();
}

absl::Status PersistDurably(const std::string& path, std::string_view text,
                            size_t max_backup_bytes) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return absl::InternalError("mkdir " + parent.string() + ": " + ec.message());
  const std::string tmp = path + ".tmp";
  if (absl::Status s = WriteFileSynced(tmp, text); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Keep the previous file as .bak (its own temporary + rename, so .bak is never torn).
  absl::StatusOr<std::string> previous = ReadFileLimited(path, max_backup_bytes);
  if (previous.ok()) {
    const std::string bak = path + ".bak";
    const std::string bak_tmp = bak + ".tmp";
    absl::Status s = WriteFileSynced(bak_tmp, *previous);
    if (s.ok() && ::rename(bak_tmp.c_str(), bak.c_str()) != 0) {
      s = ErrnoStatus("rename " + bak_tmp + " to " + bak, errno);
    }
    if (!s.ok()) {
      ::unlink(bak_tmp.c_str());
      ::unlink(tmp.c_str());
      return s;
    }
  } else if (!absl::IsNotFound(previous.status()) && !absl::IsDataLoss(previous.status())) {
    // An unreadable current file: do not replace what we could not back up.
    ::unlink(tmp.c_str());
    return previous.status();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoStatus("rename " + tmp + " to " + path, errno);
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(parent.string());
}

}  // namespace brokerd::config
