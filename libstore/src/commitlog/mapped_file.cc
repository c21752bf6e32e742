// MappedFile and MappedFileQueue; see mapped_file.h.
#include "commitlog/mapped_file.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "util/check.h"
#include "util/coding.h"

namespace libstore::internal {

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFile::Create(Env* env, const std::string& path,
                                                               int64_t from_offset, int64_t size) {
  RS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->OpenFile(path, /*create=*/true));
  RS_ASSIGN_OR_RETURN(uint64_t cur, file->Size());
  if (cur != static_cast<uint64_t>(size)) {
    RS_RETURN_IF_ERROR(file->Truncate(static_cast<uint64_t>(size)));
  }
  absl::Status s = file->Allocate(0, static_cast<uint64_t>(size));
  if (!s.ok()) {
    (void)env->DeleteFile(path);
    return s;
  }
  RS_ASSIGN_OR_RETURN(MappedRegion region, file->Map(static_cast<uint64_t>(size), true));
  return std::shared_ptr<MappedFile>(
      new MappedFile(std::move(file), std::move(region), from_offset, size));
}

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFile::OpenExisting(Env* env,
                                                                     const std::string& path,
                                                                     int64_t from_offset,
                                                                     int64_t size) {
  RS_ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->OpenFile(path, /*create=*/false));
  RS_ASSIGN_OR_RETURN(uint64_t cur, file->Size());
  if (cur != static_cast<uint64_t>(size)) {
    return absl::DataLossError(
        absl::StrCat(path, ": file is ", cur, " bytes, the configured file size is ", size));
  }
  RS_ASSIGN_OR_RETURN(MappedRegion region, file->Map(static_cast<uint64_t>(size), true));
  auto f = std::shared_ptr<MappedFile>(
      new MappedFile(std::move(file), std::move(region), from_offset, size));
  f->set_wrote(size);
  f->set_flushed(size);
  f->prefaulted_.store(size, std::memory_order_relaxed);
  return f;
}

absl::Status MappedFile::PrefaultUpTo(int64_t pos) {
  pos = std::min(pos, size_);
  const int64_t cur = prefaulted();
  if (pos <= cur) return absl::OkStatus();
  RS_RETURN_IF_ERROR(
      file_->Prefault(region_, static_cast<uint64_t>(cur), static_cast<uint64_t>(pos - cur)));
  prefaulted_.store(pos, std::memory_order_relaxed);
  return absl::OkStatus();
}

std::string MappedFileQueue::PathFor(int64_t from) const {
  return absl::StrCat(dir_, "/", OffsetFileName(from));
}

absl::Status MappedFileQueue::Load() {
  auto names = env_->ListDir(dir_);
  if (absl::IsNotFound(names.status())) return absl::OkStatus();
  if (!names.ok()) return names.status();
  std::vector<std::pair<int64_t, std::string>> found;
  for (const std::string& n : *names) {
    const int64_t off = ParseOffsetFileName(n);
    if (off < 0) continue;  // not ours (e.g. editor leftovers); left alone
    found.emplace_back(off, n);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::shared_ptr<MappedFile>> files;
  for (size_t i = 0; i < found.size(); ++i) {
    const std::string path = absl::StrCat(dir_, "/", found[i].second);
    if (found[i].first % file_size_ != 0) {
      return absl::DataLossError(
          absl::StrCat(path, ": name is not a multiple of the file size ", file_size_));
    }
    if (i + 1 == found.size()) {
      auto f = env_->OpenFile(path, false);
      if (f.ok()) {
        auto sz = (*f)->Size();
        if (sz.ok() && *sz == 0) {
          RS_RETURN_IF_ERROR(env_->DeleteFile(path));
          continue;
        }
      }
    }
    if (!files.empty() && files.back()->end() != found[i].first) {
      return absl::DataLossError(absl::StrCat(path, ": gap after ", files.back()->path()));
    }
    RS_ASSIGN_OR_RETURN(auto mf, MappedFile::OpenExisting(env_, path, found[i].first, file_size_));
    files.push_back(std::move(mf));
  }
  std::unique_lock l(mu_);
  files_ = std::move(files);
  return absl::OkStatus();
}

std::vector<std::shared_ptr<MappedFile>> MappedFileQueue::Files() const {
  std::unique_lock l(mu_);
  return files_;
}

std::shared_ptr<MappedFile> MappedFileQueue::Last() const {
  std::unique_lock l(mu_);
  return files_.empty() ? nullptr : files_.back();
}

std::shared_ptr<MappedFile> MappedFileQueue::First() const {
  std::unique_lock l(mu_);
  return files_.empty() ? nullptr : files_.front();
}

bool MappedFileQueue::empty() const {
  std::unique_lock l(mu_);
  return files_.empty();
}

std::shared_ptr<MappedFile> MappedFileQueue::FindByOffset(int64_t offset) const {
  std::unique_lock l(mu_);
  if (files_.empty() || offset < files_.front()->from()) return nullptr;
  const int64_t idx = (offset - files_.front()->from()) / file_size_;
  if (idx >= static_cast<int64_t>(files_.size())) return nullptr;
  const auto& f = files_[static_cast<size_t>(idx)];
  RS_CHECK_LE(f->from(), offset);
  return f;
}

absl::StatusOr<std::shared_ptr<MappedFile>> MappedFileQueue::CreateFile(int64_t from) {
  RS_CHECK_EQ(from % file_size_, 0);
  RS_RETURN_IF_ERROR(env_->CreateDirs(dir_));
  RS_ASSIGN_OR_RETURN(auto f, MappedFile::Create(env_, PathFor(from), from, file_size_));
  Append(f);
  return f;
}

void MappedFileQueue::Append(std::shared_ptr<MappedFile> f) {
  std::unique_lock l(mu_);
  if (!files_.empty()) RS_CHECK_EQ(files_.back()->end(), f->from());
  files_.push_back(std::move(f));
}

absl::Status MappedFileQueue::TruncateAfter(int64_t offset) {
  // As RocketMQ's truncateDirtyFiles: the file holding `offset` (or starting at it) keeps its
  // bytes below it; every file starting after it is deleted.
  std::vector<std::shared_ptr<MappedFile>> doomed;
  {
    std::unique_lock l(mu_);
    while (!files_.empty() && files_.back()->from() > offset) {
      doomed.push_back(files_.back());
      files_.pop_back();
    }
    for (auto& f : files_) {
      if (f->end() > offset) {
        f->set_wrote(offset - f->from());
        f->set_flushed(std::min(f->flushed(), offset - f->from()));
      }
    }
  }
  for (auto& f : doomed) RS_RETURN_IF_ERROR(env_->DeleteFile(f->path()));
  return absl::OkStatus();
}

absl::Status MappedFileQueue::DeleteFirst() {
  std::shared_ptr<MappedFile> f;
  {
    std::unique_lock l(mu_);
    if (files_.empty()) return absl::OkStatus();
    f = files_.front();
    files_.erase(files_.begin());
  }
  return env_->DeleteFile(f->path());
}

absl::Status MappedFileQueue::DeleteAll() {
  std::vector<std::shared_ptr<MappedFile>> doomed;
  {
    std::unique_lock l(mu_);
    doomed.swap(files_);
  }
  for (auto& f : doomed) RS_RETURN_IF_ERROR(env_->DeleteFile(f->path()));
  return absl::OkStatus();
}

}  // namespace libstore::internal
