// libFuzzer target: MessageStore::Open (recovery) over a store directory built from the input.
//
// The input is a RecoveryInput (recovery_input.h): flags (abort marker, checkpoint,
// ConsumeQueue image for TopicA-0, check_crc_on_recover, message_index_enable, two CommitLog
// files), an optional 24-byte checkpoint, an optional ConsumeQueue image, and the CommitLog
// bytes, zero-padded to 64 KiB files (commitlog_file_size = 65536, max_message_size 16384).
//
// Open must either fail with a Status that says something, or open. When it opens, every read
// path runs over what was recovered (GetMessages over every queue, store times, offset by
// time, key queries, ReadCommitLog over the whole log), a new message is put and must be
// readable, Close must succeed, and a second (clean) Open must open or fail with a Status.
//
// Stricter invariants hold when every queue was rebuilt by this Open from the CommitLog alone
// ("strict": no ConsumeQueue image in the input, and not an abnormal two-file recovery, which
// trusts the files before the checkpoint without scanning them, as RocketMQ does):
//  * every unit in [min, max) is blank or points at a record (read from the CommitLog files
//    after Close) with that physical offset and size, the queue's topic and queue id, and
//    QUEUEOFFSET equal to the unit's index, ending at or before the CommitLog end;
//  * what a clean Close wrote recovers to the same state: the second Open succeeds, with the same
//    CommitLog end and the same non-empty queues with the same max offsets;
//  * the new message is served by GetMessages at the queue offset Put returned and, with the
//    index enabled, found by QueryByKey.
//
// The store runs against an Env that aborts (reports a crash) when the store touches a path
// outside its root directory or when one run creates more than 2048 files or 64 MiB: a 64 KiB
// input must not be able to make recovery write arbitrary paths or fill the disk.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "commitlog/mapped_file.h"
#include "commitlog/record.h"
#include "consumequeue/consume_queue.h"
#include "fuzz_util.h"
#include "libstore/env.h"
#include "libstore/message_store.h"
#include "recovery_input.h"
#include "testing/test_util.h"
#include "util/coding.h"

namespace {

namespace li = libstore::internal;
using libstore::Env;
using libstore::File;
using libstore::MessageStore;

using libstore::fuzz::kFlagAbort;
using libstore::fuzz::kFlagCheckpoint;
using libstore::fuzz::kFlagCq;
using libstore::fuzz::kFlagIndex;
using libstore::fuzz::kFlagTwoFiles;
constexpr int64_t kLogFileSize = libstore::fuzz::kRecoveryLogFileSize;
constexpr int64_t kUnitsPerFile = libstore::fuzz::kRecoveryUnitsPerFile;
constexpr int64_t kCqFileSize = libstore::fuzz::kRecoveryCqFileSize;
constexpr int64_t kMaxCqFiles = libstore::fuzz::kRecoveryMaxCqFiles;
constexpr int64_t kMaxCreatedFiles = 2048;
constexpr int64_t kMaxBytes = int64_t{64} << 20;

class GuardedEnv;

// A File whose growth is charged to the GuardedEnv.
class GuardedFile final : public File {
 public:
  GuardedFile(GuardedEnv* env, std::unique_ptr<File> base, uint64_t size)
      : env_(env), base_(std::move(base)), high_water_(size) {}
  const std::string& path() const override { return base_->path(); }
  absl::StatusOr<uint64_t> Size() override { return base_->Size(); }
  absl::Status Truncate(uint64_t size) override {
    Grow(size);
    return base_->Truncate(size);
  }
  absl::Status Allocate(uint64_t offset, uint64_t len) override {
    Grow(offset + len);
    return base_->Allocate(offset, len);
  }
  absl::Status ZeroRange(uint64_t offset, uint64_t len) override {
    return base_->ZeroRange(offset, len);
  }
  absl::Status Read(uint64_t offset, size_t len, char* out) override {
    return base_->Read(offset, len, out);
  }
  absl::Status Write(uint64_t offset, std::string_view data) override {
    Grow(offset + data.size());
    return base_->Write(offset, data);
  }
  absl::Status Sync() override { return base_->Sync(); }
  absl::StatusOr<libstore::MappedRegion> Map(uint64_t size, bool writable) override {
    return base_->Map(size, writable);
  }
  absl::Status Prefault(const libstore::MappedRegion& region, uint64_t offset,
                        uint64_t len) override {
    return base_->Prefault(region, offset, len);
  }

 private:
  void Grow(uint64_t end);

  GuardedEnv* const env_;
  std::unique_ptr<File> base_;
  std::atomic<uint64_t> high_water_;
};

// Env::Default() confined to one directory tree, with a budget of files and bytes.
class GuardedEnv final : public Env {
 public:
  GuardedEnv(Env* base, const std::string& root)
      : base_(base), root_(std::filesystem::path(root).lexically_normal().string()) {}

  void Charge(uint64_t bytes) {
    const int64_t total =
        bytes_.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
    if (total > kMaxBytes) {
      FUZZ_FAIL(
          "resource amplification: the store grew its files by %lld bytes (cap %lld) "
          "for a small input",
          static_cast<long long>(total), static_cast<long long>(kMaxBytes));
    }
  }

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, bool create) override {
    Check(path, "opens");
    if (create && !base_->FileExists(path)) {
      const int64_t n = created_.fetch_add(1) + 1;
      if (n > kMaxCreatedFiles) {
        FUZZ_FAIL(
            "resource amplification: the store created %lld files (cap %lld) for a small "
            "input; latest %s",
            static_cast<long long>(n), static_cast<long long>(kMaxCreatedFiles), path.c_str());
      }
    }
    auto f = base_->OpenFile(path, create);
    if (!f.ok()) return f.status();
    auto size = (*f)->Size();
    return std::unique_ptr<File>(new GuardedFile(this, std::move(*f), size.ok() ? *size : 0));
  }
  absl::Status CreateDirs(const std::string& path) override {
    Check(path, "creates directory");
    return base_->CreateDirs(path);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    Check(path, "lists");
    return base_->ListDir(path);
  }
  bool FileExists(const std::string& path) override {
    Check(path, "checks");
    return base_->FileExists(path);
  }
  absl::Status DeleteFile(const std::string& path) override {
    Check(path, "deletes");
    return base_->DeleteFile(path);
  }
  absl::Status DeleteDir(const std::string& path) override {
    Check(path, "deletes directory");
    return base_->DeleteDir(path);
  }
  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    Check(from, "renames");
    Check(to, "renames to");
    return base_->RenameFile(from, to);
  }
  absl::Status SyncDir(const std::string& path) override {
    Check(path, "syncs directory");
    return base_->SyncDir(path);
  }
  absl::StatusOr<int64_t> FileModifiedMs(const std::string& path) override {
    Check(path, "stats");
    return base_->FileModifiedMs(path);
  }
  absl::StatusOr<std::unique_ptr<libstore::FileLock>> LockFile(const std::string& path) override {
    Check(path, "locks");
    return base_->LockFile(path);
  }
  absl::StatusOr<libstore::DiskSpace> GetDiskSpace(const std::string& path) override {
    return base_->GetDiskSpace(path);
  }
  int64_t NowMs() override { return base_->NowMs(); }
  int64_t MonotonicMicros() override { return base_->MonotonicMicros(); }

 private:
  // Every path the store touches must name something inside its root directory.
  void Check(const std::string& path, const char* op) const {
    if (path.find('\0') != std::string::npos) {
      FUZZ_FAIL(
          "the store %s a path with an embedded NUL byte: '%s' (the OS sees a different "
          "file)",
          op, path.c_str());
    }
    const std::string n = std::filesystem::path(path).lexically_normal().string();
    const bool inside =
        n == root_ || (n.size() > root_.size() && n.compare(0, root_.size(), root_) == 0 &&
                       n[root_.size()] == '/');
    if (!inside) {
      FUZZ_FAIL("the store %s '%s', outside its root directory %s", op, path.c_str(),
                root_.c_str());
    }
  }

  Env* const base_;
  const std::string root_;
  std::atomic<int64_t> created_{0};
  std::atomic<int64_t> bytes_{0};
};

void GuardedFile::Grow(uint64_t end) {
  uint64_t cur = high_water_.load();
  while (end > cur) {
    if (high_water_.compare_exchange_weak(cur, end)) {
      env_->Charge(end - cur);
      return;
    }
  }
}

libstore::GetRequest Req(const std::string& topic, int32_t qid, int64_t offset, int32_t max_count) {
  libstore::GetRequest r;
  r.topic = topic;
  r.queue_id = qid;
  r.offset = libstore::QueueOffset(offset);
  r.max_count = max_count;
  r.max_bytes = 1 << 20;
  return r;
}

struct QueueState {
  std::string topic;
  int32_t queue_id;
  int64_t min;
  int64_t max;
};

// Every read path over what was recovered. Returns the queues.
std::vector<QueueState> ExerciseReads(MessageStore* store, bool strict) {
  const libstore::StoreStats st = store->GetStats();
  const int64_t log_min = st.commitlog_min_offset.value();
  const int64_t log_max = st.commitlog_max_offset.value();
  FUZZ_CHECK(0 <= log_min && log_min <= log_max);
  FUZZ_CHECK(st.commitlog_flushed_offset.value() <= log_max);
  std::vector<QueueState> queues;
  for (const auto& [topic, qid] : store->ListQueues()) {
    QueueState q{topic, qid, store->GetMinOffset(topic, qid).value(),
                 store->GetMaxOffset(topic, qid).value()};
    FUZZ_CHECK(0 <= q.min && q.min <= q.max);
    queues.push_back(q);
    int64_t off = q.min;
    for (int calls = 0; off < q.max && calls < 20000; ++calls) {
      const libstore::GetResult r = store->GetMessages(Req(topic, qid, off, 32));
      const int64_t next = r.next_begin_offset.value();
      FUZZ_CHECK(next >= off && next <= q.max);
      FUZZ_CHECK(r.messages.size() <= 32);
      FUZZ_CHECK((r.status == libstore::GetStatus::kFound) == !r.messages.empty());
      int64_t last_qo = -1;
      for (const libstore::MessageRef& m : r.messages) {
        const libstore::StoredMessage& s = m.message;
        FUZZ_CHECK(m.file != nullptr);
        FUZZ_CHECK(s.record.size() == static_cast<size_t>(s.store_size));
        FUZZ_CHECK(s.physical_offset.value() >= log_min && s.physical_offset.value() < log_max);
        if (strict) {
          if (s.topic != topic || s.queue_id != qid) {
            FUZZ_FAIL("queue %s-%d served a record of %.*s-%d", topic.c_str(), qid,
                      static_cast<int>(s.topic.size()), s.topic.data(), s.queue_id);
          }
          FUZZ_CHECK(s.queue_offset.value() >= off && s.queue_offset.value() < next);
          FUZZ_CHECK(s.queue_offset.value() > last_qo);
          last_qo = s.queue_offset.value();
        }
      }
      off = std::max(next, off + 1);
    }
    if (q.max > q.min) {
      (void)store->GetStoreTime(topic, qid, libstore::QueueOffset(q.min));
      (void)store->GetStoreTime(topic, qid, libstore::QueueOffset(q.max - 1));
      (void)store->GetEarliestStoreTime(topic, qid);
      for (int64_t ts : {int64_t{0}, int64_t{1700000000000}, INT64_MAX}) {
        auto o = store->GetOffsetByTime(topic, qid, ts);
        FUZZ_CHECK(o.ok() && o->value() >= q.min && o->value() <= q.max);
      }
    }
  }
  (void)store->GetEarliestStoreTime();
  for (const char* key : {"key-1", "UNIQ-00000001", "k"}) {
    (void)store->QueryByKey("TopicA", key, 8, INT64_MIN, INT64_MAX);
  }
  // The whole CommitLog as a replica would read it.
  int64_t from = log_min;
  for (int calls = 0; from < log_max && calls < 10000; ++calls) {
    auto slice = store->ReadCommitLog(libstore::PhysicalOffset(from), 16384);
    if (!slice.ok()) {
      if (strict)
        FUZZ_FAIL("ReadCommitLog(%lld): %s", static_cast<long long>(from),
                  slice.status().ToString().c_str());
      break;
    }
    if (slice->bytes.empty()) {
      if (strict)
        FUZZ_FAIL("ReadCommitLog(%lld) is empty before the end %lld", static_cast<long long>(from),
                  static_cast<long long>(log_max));
      break;
    }
    from += static_cast<int64_t>(slice->bytes.size());
  }
  return queues;
}

// Strict: every unit of every queue names its record (read back from the closed store's files).
void VerifyUnitsOnDisk(Env* env, const std::string& root, const std::vector<QueueState>& queues,
                       int64_t log_end) {
  li::MappedFileQueue log(env, root + "/commitlog", kLogFileSize);
  absl::Status s = log.Load();
  if (!s.ok()) FUZZ_FAIL("CommitLog reload: %s", s.ToString().c_str());
  for (const QueueState& q : queues) {
    li::ConsumeQueue cq(env, root + "/consumequeue", q.topic, q.queue_id, kUnitsPerFile);
    s = cq.Load();
    if (s.ok()) s = cq.Recover();
    if (!s.ok())
      FUZZ_FAIL("queue %s-%d reload: %s", q.topic.c_str(), q.queue_id, s.ToString().c_str());
    if (cq.max_offset() != q.max || cq.min_offset() > q.min) {
      FUZZ_FAIL("queue %s-%d: [%lld, %lld) on disk after a clean close, [%lld, %lld) served",
                q.topic.c_str(), q.queue_id, static_cast<long long>(cq.min_offset()),
                static_cast<long long>(cq.max_offset()), static_cast<long long>(q.min),
                static_cast<long long>(q.max));
    }
    for (int64_t i = q.min; i < q.max; ++i) {
      li::CqUnit u;
      FUZZ_CHECK(cq.Read(i, &u));
      if (u.blank()) continue;
      if (u.physical_offset < 0 || u.size <= 0 || u.physical_offset > log_end - u.size) {
        FUZZ_FAIL("queue %s-%d unit %lld = (%lld, %d) is outside the CommitLog [0, %lld)",
                  q.topic.c_str(), q.queue_id, static_cast<long long>(i),
                  static_cast<long long>(u.physical_offset), u.size,
                  static_cast<long long>(log_end));
      }
      auto f = log.FindByOffset(u.physical_offset);
      FUZZ_CHECK(f != nullptr);
      const int64_t pos = u.physical_offset - f->from();
      auto rec = li::DecodeRecord(
          std::string_view(f->data() + pos, static_cast<size_t>(f->size() - pos)), false);
      if (!rec.ok() || rec->kind != li::DecodedRecord::Kind::kMessage) {
        FUZZ_FAIL("queue %s-%d unit %lld points at %lld, which is not a record: %s",
                  q.topic.c_str(), q.queue_id, static_cast<long long>(i),
                  static_cast<long long>(u.physical_offset),
                  rec.ok() ? "blank/end" : rec.status().ToString().c_str());
      }
      const libstore::StoredMessage& m = rec->message;
      if (m.physical_offset.value() != u.physical_offset || m.store_size != u.size ||
          m.topic != q.topic || m.queue_id != q.queue_id || m.queue_offset.value() != i) {
        FUZZ_FAIL(
            "queue %s-%d unit %lld = (%lld, %d) names a record (%lld, %d) of "
            "%.*s-%d at queue offset %lld",
            q.topic.c_str(), q.queue_id, static_cast<long long>(i),
            static_cast<long long>(u.physical_offset), u.size,
            static_cast<long long>(m.physical_offset.value()), m.store_size,
            static_cast<int>(m.topic.size()), m.topic.data(), m.queue_id,
            static_cast<long long>(m.queue_offset.value()));
      }
    }
  }
}

std::map<std::pair<std::string, int32_t>, int64_t> NonEmptyQueues(
    const std::vector<QueueState>& queues) {
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  for (const QueueState& q : queues) {
    if (q.max > 0) out[{q.topic, q.queue_id}] = q.max;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const libstore::fuzz::RecoveryInput input = libstore::fuzz::RecoveryInput::Parse(data, size);
  const uint8_t flags = input.flags;
  const bool two_files = (flags & kFlagTwoFiles) != 0;
  const bool abnormal = (flags & kFlagAbort) != 0;
  const bool strict = !(flags & kFlagCq) && !(abnormal && two_files);

  libstore::fuzz::ScratchDir dir;
  const std::string root = dir.path() + "/store";
  if (input.has_log) {
    libstore::fuzz::WriteFileImage(root + "/commitlog/" + li::OffsetFileName(0), input.file0,
                                   kLogFileSize);
  }
  if (two_files) {
    libstore::fuzz::WriteFileImage(root + "/commitlog/" + li::OffsetFileName(kLogFileSize),
                                   input.file1, kLogFileSize);
  }
  if (flags & kFlagCq) {
    const std::string_view cq_image = input.cq_image;
    const int64_t n = std::clamp<int64_t>(
        (static_cast<int64_t>(cq_image.size()) + kCqFileSize - 1) / kCqFileSize, 1, kMaxCqFiles);
    for (int64_t i = 0; i < n; ++i) {
      const std::string_view part =
          cq_image.substr(std::min<size_t>(cq_image.size(), i * kCqFileSize), kCqFileSize);
      libstore::fuzz::WriteFileImage(root + "/consumequeue/" + libstore::fuzz::kRecoveryCqTopic +
                                         "/0/" + li::OffsetFileName(i * kCqFileSize),
                                     part, kCqFileSize);
    }
  }
  if (flags & kFlagCheckpoint) {
    libstore::fuzz::WriteFileImage(root + "/checkpoint", input.checkpoint, 4096);
  }
  if (abnormal) libstore::fuzz::WriteFileImage(root + "/abort", "");

  GuardedEnv env(Env::Default(), root);
  const libstore::StoreOptions options = libstore::fuzz::RecoveryOptions(root, &env, flags);
  auto opened = MessageStore::Open(options);
  if (!opened.ok()) {
    if (opened.status().message().empty()) {
      FUZZ_FAIL("Open failed without saying why: %s", opened.status().ToString().c_str());
    }
    if (strict && !abnormal && !(flags & kFlagCheckpoint) && !input.has_log) {
      FUZZ_FAIL("Open of an empty directory failed: %s", opened.status().ToString().c_str());
    }
    return 0;
  }
  std::unique_ptr<MessageStore> store = std::move(*opened);
  absl::Status s = store->WaitForDispatch(10000);
  if (!s.ok()) FUZZ_FAIL("WaitForDispatch after Open: %s", s.ToString().c_str());
  const libstore::StoreStats st = store->GetStats();
  FUZZ_CHECK(st.dispatched_offset == st.commitlog_max_offset);
  ExerciseReads(store.get(), strict);

  // The recovered store takes new messages, which are served.
  const libstore::MessageToStore msg =
      libstore::testing::MakeMessage("TopicA", 0, "fuzz-put", "TagA", "fz-key", "UNIQ-FUZZ");
  auto put = store->Put(msg);
  if (!put.ok()) FUZZ_FAIL("Put after recovery: %s", put.status().ToString().c_str());
  s = store->WaitForDispatch(10000);
  if (!s.ok()) FUZZ_FAIL("WaitForDispatch after Put: %s", s.ToString().c_str());
  auto by_offset = store->GetMessageByOffset(put->wrote_offset);
  if (!by_offset.ok() || by_offset->message.body != "fuzz-put") {
    FUZZ_FAIL("the message just put at %lld is not readable: %s",
              static_cast<long long>(put->wrote_offset.value()),
              by_offset.status().ToString().c_str());
  }
  if (strict) {
    const libstore::GetResult r =
        store->GetMessages(Req("TopicA", 0, put->queue_offset.value(), 1));
    if (r.messages.size() != 1 || r.messages[0].message.physical_offset != put->wrote_offset) {
      FUZZ_FAIL("the message put at queue offset %lld is not served (%s, %zu messages)",
                static_cast<long long>(put->queue_offset.value()),
                libstore::GetStatusName(r.status), r.messages.size());
    }
    if (options.message_index_enable) {
      auto found = store->QueryByKey("TopicA", "fz-key", 64, INT64_MIN, INT64_MAX);
      FUZZ_CHECK(found.ok());
      bool hit = false;
      for (const auto& m : *found) hit |= m.message.physical_offset == put->wrote_offset;
      if (!hit) FUZZ_FAIL("the message just put is not found by its key");
    }
  }
  const std::vector<QueueState> queues = ExerciseReads(store.get(), strict);
  const int64_t log_end = store->GetStats().commitlog_max_offset.value();
  s = store->Close();
  if (!s.ok()) FUZZ_FAIL("Close: %s", s.ToString().c_str());
  store.reset();
  if (strict) VerifyUnitsOnDisk(&env, root, queues, log_end);

  // A clean close recovers to the same state.
  auto reopened = MessageStore::Open(options);
  if (!reopened.ok()) {
    if (strict) FUZZ_FAIL("reopen after a clean close: %s", reopened.status().ToString().c_str());
    FUZZ_CHECK(!reopened.status().message().empty());
    return 0;
  }
  store = std::move(*reopened);
  s = store->WaitForDispatch(10000);
  if (!s.ok()) FUZZ_FAIL("WaitForDispatch after reopen: %s", s.ToString().c_str());
  const std::vector<QueueState> queues2 = ExerciseReads(store.get(), strict);
  if (strict) {
    const int64_t log_end2 = store->GetStats().commitlog_max_offset.value();
    if (log_end2 != log_end) {
      FUZZ_FAIL("CommitLog ended at %lld before a clean close, at %lld after reopening",
                static_cast<long long>(log_end), static_cast<long long>(log_end2));
    }
    const auto before = NonEmptyQueues(queues);
    const auto after = NonEmptyQueues(queues2);
    for (const auto& [k, max] : before) {
      auto it = after.find(k);
      if (it == after.end() || it->second != max) {
        FUZZ_FAIL("queue %s-%d had %lld units before a clean close, %lld after reopening",
                  k.first.c_str(), k.second, static_cast<long long>(max),
                  static_cast<long long>(it == after.end() ? -1 : it->second));
      }
    }
    FUZZ_CHECK(before.size() == after.size());
  }
  s = store->Close();
  if (!s.ok()) FUZZ_FAIL("Close after reopen: %s", s.ToString().c_str());
  return 0;
}
