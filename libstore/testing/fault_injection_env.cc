// FaultInjectionEnv; see fault_injection_env.h.
#include "testing/fault_injection_env.h"

#include "absl/strings/str_cat.h"
#include "util/check.h"

namespace libstore::testing {
namespace {

class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv* env, std::unique_ptr<File> base)
      : env_(env), base_(std::move(base)) {}
  const std::string& path() const override { return base_->path(); }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }
  absl::Status Truncate(uint64_t size) override {
    if (env_->crashed()) return absl::OkStatus();
    return base_->Truncate(size);
  }
  absl::Status Allocate(uint64_t offset, uint64_t len) override {
    if (env_->no_space()) {
      return absl::ResourceExhaustedError(absl::StrCat(path(), ": No space left on device"));
    }
    return base_->Allocate(offset, len);
  }
  absl::Status ZeroRange(uint64_t offset, uint64_t len) override {
    if (env_->crashed()) return absl::OkStatus();
    return base_->ZeroRange(offset, len);
  }
  absl::Status Read(uint64_t offset, size_t len, char* out) override {
    return base_->Read(offset, len, out);
  }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    if (env_->crashed()) return absl::OkStatus();
    return base_->Write(offset, data);
  }
  absl::Status Sync() override {
    RS_RETURN_IF_ERROR(env_->BeforeSync());
    RS_RETURN_IF_ERROR(base_->Sync());
    RS_ASSIGN_OR_RETURN(uint64_t size, base_->Size());
    std::string image(size, '\0');
    if (size > 0) RS_RETURN_IF_ERROR(base_->Read(0, size, image.data()));
    env_->RecordDurable(path(), std::move(image));
    return absl::OkStatus();
  }
  absl::StatusOr<MappedRegion> Map(uint64_t size, bool writable) override {
    return base_->Map(size, writable);
  }
  absl::Status Prefault(const MappedRegion& region, uint64_t offset, uint64_t len) override {
    return base_->Prefault(region, offset, len);
  }

 private:
  FaultInjectionEnv* env_;
  std::unique_ptr<File> base_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<File>> FaultInjectionEnv::OpenFile(const std::string& path,
                                                                  bool create) {
  OpenHook hook;
  {
    absl::MutexLock l(&mu_);
    hook = open_hook_;
  }
  if (hook) hook(path, create);
  if (create && no_space_.load() && !base_->FileExists(path)) {
    return absl::ResourceExhaustedError(absl::StrCat(path, ": No space left on device"));
  }
  RS_ASSIGN_OR_RETURN(auto f, base_->OpenFile(path, create));
  {
    absl::MutexLock l(&mu_);
    seen_[path] = true;
  }
  return std::unique_ptr<File>(new FaultFile(this, std::move(f)));
}

absl::Status FaultInjectionEnv::BeforeSync() {
  if (crashed_.load()) return absl::InternalError("sync after simulated power loss: EIO");
  int left = syncs_left_.load();
  while (left >= 0) {
    if (left == 0) return absl::InternalError("injected fault: fdatasync: Input/output error");
    if (syncs_left_.compare_exchange_weak(left, left - 1)) break;
  }
  syncs_.fetch_add(1);
  return absl::OkStatus();
}

void FaultInjectionEnv::RecordDurable(const std::string& path, std::string image) {
  absl::MutexLock l(&mu_);
  durable_[path] = std::move(image);
}

absl::Status FaultInjectionEnv::DeleteFile(const std::string& path) {
  if (crashed_.load()) return absl::OkStatus();
  {
    absl::MutexLock l(&mu_);
    durable_.erase(path);
    seen_.erase(path);
  }
  return base_->DeleteFile(path);
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  if (crashed_.load()) return absl::OkStatus();
  return base_->RenameFile(from, to);
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& path) {
  if (crashed_.load()) return absl::InternalError("sync after simulated power loss: EIO");
  return base_->SyncDir(path);
}

absl::StatusOr<DiskSpace> FaultInjectionEnv::GetDiskSpace(const std::string& path) {
  {
    absl::MutexLock l(&mu_);
    if (fake_space_) return space_;
  }
  return base_->GetDiskSpace(path);
}

void FaultInjectionEnv::SetDiskSpace(uint64_t total_bytes, uint64_t available_bytes) {
  absl::MutexLock l(&mu_);
  fake_space_ = true;
  space_.total_bytes = total_bytes;
  space_.available_bytes = available_bytes;
}

void FaultInjectionEnv::ClearDiskSpace() {
  absl::MutexLock l(&mu_);
  fake_space_ = false;
}

absl::Status FaultInjectionEnv::DropUnsyncedData() {
  absl::MutexLock l(&mu_);
  for (const auto& [path, unused] : seen_) {
    if (!base_->FileExists(path)) continue;
    RS_ASSIGN_OR_RETURN(auto f, base_->OpenFile(path, false));
    RS_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    auto it = durable_.find(path);
    std::string image = it == durable_.end() ? std::string() : it->second;
    // Whatever was never synced reads back as zeros (the blocks were allocated, the data lost).
    if (image.size() < size) image.resize(size, '\0');
    RS_RETURN_IF_ERROR(f->Write(0, image));
    RS_RETURN_IF_ERROR(f->Truncate(image.size()));
    RS_RETURN_IF_ERROR(f->Sync());
  }
  crashed_.store(false);
  return absl::OkStatus();
}

}  // namespace libstore::testing
