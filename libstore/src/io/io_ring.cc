// io_uring submission of syncs and fallocates; see io_ring.h.
#include "io/io_ring.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace libstore::internal {

IoRing::IoRing(unsigned entries) { ok_ = io_uring_queue_init(entries, &ring_, 0) == 0; }

IoRing::~IoRing() {
  if (ok_) io_uring_queue_exit(&ring_);
}

static absl::Status ErrnoStatus(int err, const char* what) {
  const std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

absl::Status IoRing::DataSyncAll(std::span<const int> fds) {
  if (!ok_) {
    for (int fd : fds) {
      if (fdatasync(fd) != 0) return ErrnoStatus(errno, "fdatasync");
    }
    return absl::OkStatus();
  }
  absl::Status first;
  size_t i = 0;
  while (i < fds.size()) {
    unsigned queued = 0;
    while (i < fds.size()) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      io_uring_prep_fsync(sqe, fds[i], IORING_FSYNC_DATASYNC);
      ++queued;
      ++i;
    }
    int rc = io_uring_submit_and_wait(&ring_, queued);
    if (rc < 0) return ErrnoStatus(-rc, "io_uring_submit");
    for (unsigned k = 0; k < queued; ++k) {
      io_uring_cqe* cqe = nullptr;
      rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc < 0) return ErrnoStatus(-rc, "io_uring_wait_cqe");
      if (cqe->res < 0 && first.ok()) first = ErrnoStatus(-cqe->res, "fdatasync");
      io_uring_cqe_seen(&ring_, cqe);
    }
  }
  return first;
}

absl::Status IoRing::Fallocate(int fd, int mode, uint64_t offset, uint64_t len) {
  if (!ok_) {
    if (fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(len)) != 0) {
      return ErrnoStatus(errno, "fallocate");
    }
    return absl::OkStatus();
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  io_uring_prep_fallocate(sqe, fd, mode, offset, len);
  int rc = io_uring_submit_and_wait(&ring_, 1);
  if (rc < 0) return ErrnoStatus(-rc, "io_uring_submit");
  io_uring_cqe* cqe = nullptr;
  rc = io_uring_wait_cqe(&ring_, &cqe);
  if (rc < 0) return ErrnoStatus(-rc, "io_uring_wait_cqe");
  const int res = cqe->res;
  io_uring_cqe_seen(&ring_, cqe);
  if (res < 0) return ErrnoStatus(-res, "fallocate");
  return absl::OkStatus();
}

}  // namespace libstore::internal
