// ConsumeQueue; see consume_queue.h.
#include "consumequeue/consume_queue.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/check.h"
#include "util/coding.h"

namespace libstore::internal {

void EncodeCqUnit(const CqUnit& u, char* out) {
  PutBE64(out, static_cast<uint64_t>(u.physical_offset));
  PutBE32(out + 8, static_cast<uint32_t>(u.size));
  PutBE64(out + 12, static_cast<uint64_t>(u.tags_code));
}

CqUnit DecodeCqUnit(const char* p) {
  CqUnit u;
  u.physical_offset = GetBEI64(p);
  u.size = GetBEI32(p + 8);
  u.tags_code = GetBEI64(p + 12);
  return u;
}

ConsumeQueue::ConsumeQueue(Env* env, const std::string& cq_root, std::string topic,
                           int32_t queue_id, int64_t units_per_file)
    : topic_(std::move(topic)),
      queue_id_(queue_id),
      units_per_file_(units_per_file),
      files_(env, absl::StrCat(cq_root, "/", topic_, "/", queue_id), units_per_file * kCqUnitSize) {
}

absl::Status ConsumeQueue::Load() { return files_.Load(); }

absl::Status ConsumeQueue::Recover() {
  tail_.reset();
  auto files = files_.Files();
  if (files.empty()) return absl::OkStatus();
  const int64_t fsize = files_.file_size();
  size_t idx = files.size() >= 3 ? files.size() - 3 : 0;
  int64_t end = files[idx]->from();
  int64_t phys_end = 0;
  for (; idx < files.size(); ++idx) {
    const auto& f = files[idx];
    int64_t pos = 0;
    for (; pos + kCqUnitSize <= fsize; pos += kCqUnitSize) {
      const CqUnit u = DecodeCqUnit(f->data() + pos);
      if (!u.valid()) break;
      if (!u.blank()) phys_end = u.physical_offset + u.size;
    }
    end = f->from() + pos;
    if (pos + kCqUnitSize <= fsize) break;  // stopped inside this file
  }
  RS_RETURN_IF_ERROR(files_.TruncateAfter(end));
  if (auto last = files_.Last()) {
    const int64_t pos = last->wrote();
    if (pos < last->size()) {
      // Stale units beyond the end must not come back after a later crash.
      std::memset(last->data() + pos, 0, static_cast<size_t>(last->size() - pos));
    }
  }
  max_offset_.store(end / kCqUnitSize, std::memory_order_release);
  max_phys_end_.store(phys_end, std::memory_order_release);
  // min offset: the first non-blank unit of the first file.
  auto first = files_.First();
  int64_t min = first ? first->from() / kCqUnitSize : 0;
  if (first) {
    for (int64_t pos = 0; pos + kCqUnitSize <= first->wrote(); pos += kCqUnitSize) {
      const CqUnit u = DecodeCqUnit(first->data() + pos);
      if (!u.blank()) break;
      min = (first->from() + pos) / kCqUnitSize + 1;
    }
  }
  min_offset_.store(std::min(min, end / kCqUnitSize), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status ConsumeQueue::TruncateDirty(int64_t commitlog_end) {
  tail_.reset();
  int64_t max = max_offset();
  int64_t new_max = max;
  int64_t phys_end = 0;
  while (new_max > min_offset()) {
    CqUnit u;
    if (!Read(new_max - 1, &u)) break;
    // Units in files before the ones Recover scanned were never validated: an invalid one is
    // as dirty as one past the end (and its end may not even be computable).
    if (!u.blank() && (!u.valid() || u.physical_offset + u.size > commitlog_end)) {
      --new_max;
      continue;
    }
    if (!u.blank()) phys_end = u.physical_offset + u.size;
    break;
  }
  if (new_max == max) return absl::OkStatus();
  const int64_t byte_end = new_max * kCqUnitSize;
  RS_RETURN_IF_ERROR(files_.TruncateAfter(byte_end));
  if (auto last = files_.Last()) {
    const int64_t pos = last->wrote();
    std::memset(last->data() + pos, 0, static_cast<size_t>(last->size() - pos));
    last->set_flushed(std::min(last->flushed(), pos));
  }
  max_offset_.store(new_max, std::memory_order_release);
  max_phys_end_.store(phys_end, std::memory_order_release);
  if (min_offset() > new_max) min_offset_.store(new_max, std::memory_order_release);
  return absl::OkStatus();
}

absl::StatusOr<int> ConsumeQueue::DeleteExpired(int64_t commitlog_min) {
  // Runs on the retention thread: tail_ belongs to the dispatcher and is left alone (the last
  // file is never deleted here).
  int deleted = 0;
  // Delete whole files whose last written unit points below the CommitLog minimum; never the
  // last file.
  for (;;) {
    auto files = files_.Files();
    if (files.size() < 2) break;
    const auto& f = files.front();
    const int64_t last_pos = f->size() - kCqUnitSize;
    const CqUnit u = DecodeCqUnit(f->data() + last_pos);
    if (u.valid() && !u.blank() && u.physical_offset + u.size > commitlog_min) break;
    RS_RETURN_IF_ERROR(files_.DeleteFirst());
    ++deleted;
  }
  // Correct the minimum: the first unit at or above the CommitLog minimum.
  int64_t min = std::max(min_offset(), files_.empty() ? 0 : files_.First()->from() / kCqUnitSize);
  const int64_t max = max_offset();
  while (min < max) {
    CqUnit u;
    if (!Read(min, &u)) break;
    if (!u.blank() && u.physical_offset >= commitlog_min) break;
    ++min;
  }
  min_offset_.store(min, std::memory_order_release);
  return deleted;
}

absl::Status ConsumeQueue::EnsureFileFor(int64_t byte_offset) {
  if (!tail_ || tail_ != files_.Last()) tail_ = files_.Last();
  if (tail_ && byte_offset < tail_->end()) return absl::OkStatus();
  const int64_t from = byte_offset - byte_offset % files_.file_size();
  RS_ASSIGN_OR_RETURN(auto f, files_.CreateFile(from));
  f->set_wrote(0);
  f->set_flushed(0);
  tail_ = f;
  return absl::OkStatus();
}

absl::Status ConsumeQueue::Put(int64_t queue_offset, const CqUnit& unit) {
  if (unit.physical_offset + unit.size <= max_physical_end()) return absl::OkStatus();
  int64_t cur = max_offset();
  if (queue_offset < cur) return absl::OkStatus();
  const bool new_queue = files_.empty();
  // QUEUEOFFSET is not covered by the body CRC. An offset whose byte position does not fit an
  // int64, or that jumps more than one file past a non-empty queue's end (the writer assigns
  // offsets densely; only a new queue's first file is padded), is corrupt: leave the unit out
  // rather than pad the queue with up to 2^63 blank units. The next record then finds a
  // one-unit gap, padded as usual.
  if (queue_offset > INT64_MAX / kCqUnitSize - units_per_file_ ||
      (!new_queue && queue_offset - cur > units_per_file_)) {
    std::fprintf(stderr,
                 "libstore: ConsumeQueue %s-%d: [BUG] the record at %lld claims queue offset "
                 "%lld but the queue ends at %lld; not added to the queue\n",
                 topic_.c_str(), queue_id_, static_cast<long long>(unit.physical_offset),
                 static_cast<long long>(queue_offset), static_cast<long long>(cur));
    return absl::OkStatus();
  }
  if (new_queue) {
    // A queue whose first unit is not 0 (a new replica, or after retention removed every file):
    // pad the first file with blank units, as RocketMQ does.
    const int64_t byte_off = queue_offset * kCqUnitSize;
    const int64_t from = byte_off - byte_off % files_.file_size();
    RS_RETURN_IF_ERROR(EnsureFileFor(from));
    cur = from / kCqUnitSize;
    max_offset_.store(cur, std::memory_order_release);
    min_offset_.store(queue_offset, std::memory_order_release);
  }
  if (queue_offset > cur && !new_queue) {
    std::fprintf(stderr,
                 "libstore: ConsumeQueue %s-%d: gap, expected offset %lld, got %lld; "
                 "padding with blank units\n",
                 topic_.c_str(), queue_id_, static_cast<long long>(cur),
                 static_cast<long long>(queue_offset));
  }
  const CqUnit blank{0, 0x7FFFFFFF, 0};
  while (cur <= queue_offset) {
    const int64_t byte_off = cur * kCqUnitSize;
    MappedFile* f = tail_.get();
    if (f == nullptr || byte_off >= f->end()) {
      RS_RETURN_IF_ERROR(EnsureFileFor(byte_off));
      f = tail_.get();
    }
    RS_CHECK_EQ(f->from() + f->wrote(), byte_off);
    if (f->wrote() + kCqUnitSize > f->prefaulted()) {
      // Make the next chunk writable in one call instead of one page fault per 204 units;
      // chunks (not whole files) keep memory proportional to what queues really hold.
      constexpr int64_t kPrefaultChunk = 256 << 10;
      absl::Status ps = f->PrefaultUpTo(f->wrote() + kPrefaultChunk);
      if (!ps.ok()) std::fprintf(stderr, "libstore: prefault: %s\n", ps.ToString().c_str());
    }
    EncodeCqUnit(cur == queue_offset ? unit : blank, f->data() + f->wrote());
    f->set_wrote(f->wrote() + kCqUnitSize);
    ++cur;
  }
  max_phys_end_.store(unit.physical_offset + unit.size, std::memory_order_release);
  max_offset_.store(cur, std::memory_order_release);
  return absl::OkStatus();
}

std::shared_ptr<MappedFile> ConsumeQueue::FileFor(int64_t queue_offset) const {
  return files_.FindByOffset(queue_offset * kCqUnitSize);
}

bool ConsumeQueue::Read(int64_t queue_offset, CqUnit* out) const {
  if (queue_offset < min_offset() || queue_offset >= max_offset()) return false;
  const int64_t byte_off = queue_offset * kCqUnitSize;
  auto f = files_.FindByOffset(byte_off);
  if (!f) return false;
  *out = DecodeCqUnit(f->data() + (byte_off - f->from()));
  return true;
}

absl::Status ConsumeQueue::Flush() {
  for (const auto& f : files_.Files()) {
    const int64_t w = f->wrote();
    if (f->flushed() >= w) continue;
    RS_RETURN_IF_ERROR(f->file()->Sync());
    f->set_flushed(w);
  }
  return absl::OkStatus();
}

absl::Status ConsumeQueue::Destroy() {
  tail_.reset();
  RS_RETURN_IF_ERROR(files_.DeleteAll());
  max_offset_.store(0);
  min_offset_.store(0);
  max_phys_end_.store(0);
  return absl::OkStatus();
}

}  // namespace libstore::internal
