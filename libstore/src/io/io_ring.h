// A small synchronous front end to io_uring for the store's background I/O: several data syncs
// (or fallocates) are submitted with one io_uring_enter and reaped together, which is what group
// commit needs. If the kernel refuses io_uring (disabled by sysctl or seccomp) the same calls fall
// back to plain syscalls, and Available() says so.
// Thread-safety: an IoRing is used by one thread at a time; PosixEnv keeps one per thread.
#ifndef LIBSTORE_IO_IO_RING_H_
#define LIBSTORE_IO_IO_RING_H_

#include <liburing.h>

#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace libstore::internal {

class IoRing {
 public:
  explicit IoRing(unsigned entries = 64);
  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  bool Available() const { return ok_; }
  // fdatasync of every fd; the first failure is returned (with the path unknown here).
  absl::Status DataSyncAll(std::span<const int> fds);
  absl::Status Fallocate(int fd, int mode, uint64_t offset, uint64_t len);

 private:
  io_uring ring_;
  bool ok_ = false;
};

}  // namespace libstore::internal

#endif  // LIBSTORE_IO_IO_RING_H_
