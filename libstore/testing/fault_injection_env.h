// An Env for tests that wraps the default one and injects the faults a store must survive:
// EIO on sync, ENOSPC on file creation/allocation, and a simulated power loss that throws away
// every byte not covered by a completed sync (DropUnsyncedData). Only for small (test-sized)
// files: each sync snapshots the whole file as its "durable image".
// Thread-safety: all methods are thread-safe.
#ifndef LIBSTORE_TESTING_FAULT_INJECTION_ENV_H_
#define LIBSTORE_TESTING_FAULT_INJECTION_ENV_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "libstore/env.h"

namespace libstore::testing {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base = Env::Default()) : base_(base) {}

  // Every sync fails with EIO from now on (or, with n >= 0, after n more successful ones).
  void FailSyncsAfter(int n) { syncs_left_.store(n); }
  void StopFailingSyncs() { syncs_left_.store(-1); }
  // File creation and allocation fail with ENOSPC.
  void SetNoSpace(bool v) { no_space_.store(v); }
  // Simulated power cut: from now on syncs fail and writes, deletions and renames are dropped
  // (mapped writes still reach the page cache, DropUnsyncedData undoes them).
  void Crash() { crashed_.store(true); }
  // Rewrites every file this Env saw to its last synced image (zeros where never synced), and
  // clears the crash flag. Call after the store was closed or abandoned.
  absl::Status DropUnsyncedData();
  int64_t sync_count() const { return syncs_.load(); }
  // Called at the start of every OpenFile, on the opening thread (tests use it to stall one
  // thread at a chosen point and force an interleaving). Set before the store opens; nullptr
  // removes it.
  using OpenHook = std::function<void(const std::string& path, bool create)>;
  void SetOpenHook(OpenHook hook) {
    absl::MutexLock l(&mu_);
    open_hook_ = std::move(hook);
  }

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override;
  absl::Status SyncFiles(std::span<File* const> files) override { return Env::SyncFiles(files); }
  absl::Status CreateDirs(const std::string& path) override { return base_->CreateDirs(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status DeleteDir(const std::string& path) override { return base_->DeleteDir(path); }
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::StatusOr<int64_t> FileModifiedMs(const std::string& path) override {
    return base_->FileModifiedMs(path);
  }
  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) override;
  // Makes GetDiskSpace report `total_bytes` with `available_bytes` free (retention and
  // disk-full tests); ClearDiskSpace goes back to the real numbers.
  void SetDiskSpace(uint64_t total_bytes, uint64_t available_bytes);
  void ClearDiskSpace();
  int64_t NowMs() override { return base_->NowMs() + clock_skew_ms_.load(); }
  int64_t MonotonicMicros() override { return base_->MonotonicMicros(); }
  // Moves the wall clock (retention tests).
  void AdvanceClockMs(int64_t ms) { clock_skew_ms_.fetch_add(ms); }

  // Used by the wrapped files.
  absl::Status BeforeSync();
  void RecordDurable(const std::string& path, std::string image);
  bool no_space() const { return no_space_.load(); }
  bool crashed() const { return crashed_.load(); }

 private:
  Env* const base_;
  std::atomic<int> syncs_left_{-1};
  std::atomic<bool> no_space_{false};
  std::atomic<bool> crashed_{false};
  std::atomic<int64_t> syncs_{0};
  std::atomic<int64_t> clock_skew_ms_{0};
  absl::Mutex mu_;
  // Durable image per path; std::nullopt-like empty marker means "never synced".
  std::map<std::string, std::string> durable_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, bool> seen_ ABSL_GUARDED_BY(mu_);
  bool fake_space_ ABSL_GUARDED_BY(mu_) = false;
  OpenHook open_hook_ ABSL_GUARDED_BY(mu_);
  DiskSpace space_ ABSL_GUARDED_BY(mu_);
};

}  // namespace libstore::testing

#endif  // LIBSTORE_TESTING_FAULT_INJECTION_ENV_H_
