// MessageStoreImpl; see message_store_impl.h and docs/design.md.
#include "store/message_store_impl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "util/check.h"
#include "util/coding.h"

namespace libstore {

const char* PutStatusName(PutStatus s) {
  switch (s) {
    case PutStatus::kOk:
      return "PUT_OK";
    case PutStatus::kFlushDiskTimeout:
      return "FLUSH_DISK_TIMEOUT";
    case PutStatus::kFlushSlaveTimeout:
      return "FLUSH_SLAVE_TIMEOUT";
  }
  return "?";
}

const char* GetStatusName(GetStatus s) {
  switch (s) {
    case GetStatus::kFound:
      return "FOUND";
    case GetStatus::kNoMatchedMessage:
      return "NO_MATCHED_MESSAGE";
    case GetStatus::kMessageWasRemoving:
      return "MESSAGE_WAS_REMOVING";
    case GetStatus::kOffsetFoundNull:
      return "OFFSET_FOUND_NULL";
    case GetStatus::kOffsetOverflowBadly:
      return "OFFSET_OVERFLOW_BADLY";
    case GetStatus::kOffsetOverflowOne:
      return "OFFSET_OVERFLOW_ONE";
    case GetStatus::kOffsetTooSmall:
      return "OFFSET_TOO_SMALL";
    case GetStatus::kNoMatchedLogicQueue:
      return "NO_MATCHED_LOGIC_QUEUE";
    case GetStatus::kNoMessageInQueue:
      return "NO_MESSAGE_IN_QUEUE";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<MessageStore>> MessageStore::Open(const StoreOptions& options) {
  auto store = std::make_unique<internal::MessageStoreImpl>(options);
  RS_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<MessageStore>(std::move(store));
}

namespace internal {
namespace {

constexpr std::string_view kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
constexpr int64_t kPage = 4096;

void Log(const std::string& msg) { std::fprintf(stderr, "libstore: %s\n", msg.c_str()); }

int64_t TagsCode(const StoredMessage& m, const std::vector<int64_t>& delays) {
  if (m.topic == kScheduleTopic) {
    // Deliver time of a delayed message (RocketMQ computeDeliverTimestamp); without a usable
    // DELAY property RocketMQ keeps the tag hash.
    auto d = FindProperty(m.properties, property::kDelay);
    int level = 0;
    if (d && absl::SimpleAtoi(AV(*d), &level) && level > 0 && !delays.empty()) {
      level = std::min<int>(level, static_cast<int>(delays.size()));
      return JavaAdd(m.store_timestamp_ms, delays[static_cast<size_t>(level - 1)]);
    }
  }
  auto tags = FindProperty(m.properties, property::kTags);
  if (!tags || tags->empty()) return 0;
  return JavaStringHash(*tags);
}

bool KeysContain(std::string_view keys, std::string_view key) {
  for (absl::string_view k : absl::StrSplit(AV(keys), ' ')) {
    if (SV(k) == key) return true;
  }
  return false;
}

}  // namespace

std::vector<int64_t> ParseDelayLevels(std::string_view spec) {
  std::vector<int64_t> out;
  for (absl::string_view tok : absl::StrSplit(AV(spec), ' ', absl::SkipEmpty())) {
    if (tok.size() < 2) return {};
    const char unit = tok.back();
    int64_t n = 0;
    if (!absl::SimpleAtoi(tok.substr(0, tok.size() - 1), &n)) return {};
    int64_t mult = 0;
    switch (unit) {
      case 's':
        mult = 1000;
        break;
      case 'm':
        mult = 60000;
        break;
      case 'h':
        mult = 3600000;
        break;
      case 'd':
        mult = 86400000;
        break;
      default:
        return {};
    }
    int64_t ms = 0;
    if (__builtin_mul_overflow(n, mult, &ms)) return {};  // not representable: reject
    out.push_back(ms);
  }
  return out;
}

MessageStoreImpl::MessageStoreImpl(const StoreOptions& options)
    : options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      commitlog_dir_(options.root_dir + "/commitlog"),
      cq_dir_(options.root_dir + "/consumequeue"),
      index_dir_(options.root_dir + "/index"),
      abort_path_(options.root_dir + "/abort"),
      checkpoint_path_(options.root_dir + "/checkpoint"),
      commitlog_(env_, options.root_dir + "/commitlog", options.commitlog_file_size) {}

MessageStoreImpl::~MessageStoreImpl() {
  absl::Status s = Close();
  if (!s.ok()) Log(absl::StrCat("close: ", s.ToString()));
}

absl::Status MessageStoreImpl::Init() {
  const StoreOptions& o = options_;
  if (o.root_dir.empty()) return absl::InvalidArgumentError("root_dir is empty");
  if (o.commitlog_file_size < 4096 || o.commitlog_file_size % 4096 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("commitlog_file_size ", o.commitlog_file_size, " must be a multiple of 4096"));
  }
  // A max_message_size larger than a file is accepted, as RocketMQ does; a record that cannot
  // fit in one file is refused when it is put.
  if (o.max_message_size <= 0) {
    return absl::InvalidArgumentError("max_message_size must be positive");
  }
  if (o.consume_queue_units_per_file <= 0 || o.index_hash_slots <= 0 || o.index_max_entries <= 1) {
    return absl::InvalidArgumentError("queue/index sizes must be positive");
  }
  RS_ASSIGN_OR_RETURN(store_host_, HostAddress::Parse(o.store_host));
  delay_levels_ms_ = ParseDelayLevels(o.message_delay_level);
  if (delay_levels_ms_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("message_delay_level '", o.message_delay_level,
                                                   "' is not a list like '1s 5m 2h'"));
  }
  RS_RETURN_IF_ERROR(env_->CreateDirs(o.root_dir));
  RS_RETURN_IF_ERROR(env_->CreateDirs(commitlog_dir_));
  RS_RETURN_IF_ERROR(env_->CreateDirs(cq_dir_));
  RS_ASSIGN_OR_RETURN(lock_, env_->LockFile(o.root_dir + "/lock"));
  RS_ASSIGN_OR_RETURN(checkpoint_, Checkpoint::Open(env_, checkpoint_path_));
  if (o.message_index_enable) {
    index_ =
        std::make_unique<IndexService>(env_, index_dir_, o.index_hash_slots, o.index_max_entries);
  }
  RS_RETURN_IF_ERROR(Recover());
  // The abort marker says "not shut down cleanly" until Close removes it.
  {
    RS_ASSIGN_OR_RETURN(auto f, env_->OpenFile(abort_path_, true));
    RS_RETURN_IF_ERROR(f->Sync());
  }
  RS_RETURN_IF_ERROR(env_->SyncDir(o.root_dir));
  threads_.emplace_back([this] { FlusherLoop(); });
  threads_.emplace_back([this] { DispatcherLoop(); });
  threads_.emplace_back([this] { PreparerLoop(); });
  threads_.emplace_back([this] { HousekeepingLoop(); });
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Recovery

absl::Status MessageStoreImpl::LoadConsumeQueues() {
  auto topics = env_->ListDir(cq_dir_);
  if (absl::IsNotFound(topics.status())) return absl::OkStatus();
  if (!topics.ok()) return topics.status();
  std::unique_lock l(cq_mu_);
  for (const std::string& topic : *topics) {
    auto qids = env_->ListDir(cq_dir_ + "/" + topic);
    if (!qids.ok()) continue;  // a stray file, not a topic directory
    for (const std::string& q : *qids) {
      int32_t qid = 0;
      if (!absl::SimpleAtoi(q, &qid) || qid < 0) continue;
      auto cq = std::make_unique<ConsumeQueue>(env_, cq_dir_, topic, qid,
                                               options_.consume_queue_units_per_file);
      RS_RETURN_IF_ERROR(cq->Load());
      RS_RETURN_IF_ERROR(cq->Recover());
      cqs_[QueueKey{topic, qid}] = std::move(cq);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MessageStoreImpl::ScanValidEnd(size_t start_file, std::string* stop) {
  auto files = commitlog_.Files();
  RS_CHECK_LT(start_file, files.size());
  int64_t valid_end = files[start_file]->from();
  for (size_t i = start_file; i < files.size(); ++i) {
    const auto& f = files[i];
    int64_t pos = 0;
    bool next_file = false;
    while (pos < f->size()) {
      std::string_view avail(f->data() + pos, static_cast<size_t>(f->size() - pos));
      auto rec = DecodeRecord(avail, options_.check_crc_on_recover);
      if (!rec.ok()) {
        *stop = absl::StrCat("cut at ", f->from() + pos, ": ", rec.status().message());
        return valid_end;
      }
      if (rec->kind == DecodedRecord::Kind::kEnd) {
        *stop = absl::StrCat("clean end at ", f->from() + pos);
        return valid_end;
      }
      if (rec->kind == DecodedRecord::Kind::kBlank) {
        if (pos + rec->size != f->size()) {
          *stop = absl::StrCat("cut at ", f->from() + pos, ": blank record mid-file");
          return valid_end;
        }
        valid_end = f->end();
        next_file = true;
        break;
      }
      const StoredMessage& m = rec->message;
      if (m.physical_offset.value() != f->from() + pos || pos + rec->size + 8 > f->size()) {
        *stop = absl::StrCat("cut at ", f->from() + pos, ": record claims physical offset ",
                             m.physical_offset.value());
        return valid_end;
      }
      pos += rec->size;
      valid_end = f->from() + pos;
      last_store_ts_.store(m.store_timestamp_ms, std::memory_order_relaxed);
    }
    if (!next_file) {
      *stop = absl::StrCat("file ", f->path(), " is full without a blank record");
      return valid_end;
    }
  }
  *stop = "clean end at a file boundary";
  return valid_end;
}

absl::Status MessageStoreImpl::Recover() {
  last_open_abnormal_ = env_->FileExists(abort_path_);
  RS_RETURN_IF_ERROR(commitlog_.Load());
  RS_RETURN_IF_ERROR(LoadConsumeQueues());
  auto files = commitlog_.Files();
  int64_t valid_end = 0;
  int64_t scan_start = 0;
  if (files.empty()) {
    // No CommitLog at all: nothing can be referenced (RocketMQ destroys every queue).
    std::unique_lock l(cq_mu_);
    for (auto& [k, cq] : cqs_) RS_RETURN_IF_ERROR(cq->Destroy());
    cqs_.clear();
    dispatch_cqs_.clear();
    recovery_note_ = "empty store";
  } else {
    size_t start = files.size() >= 3 ? files.size() - 3 : 0;
    if (last_open_abnormal_) {
      // Walk back to the first file whose first record is older than what the checkpoint says
      // is safely in the queues and index.
      const CheckpointData cp = checkpoint_->data();
      const int64_t min_ts =
          options_.message_index_enable ? cp.MinTimestampIndex() : cp.MinTimestamp();
      start = 0;
      for (size_t i = files.size(); i-- > 0;) {
        auto rec = DecodeRecord(std::string_view(files[i]->data(), files[i]->size()), true);
        if (rec.ok() && rec->kind == DecodedRecord::Kind::kMessage &&
            rec->message.store_timestamp_ms != 0 && rec->message.store_timestamp_ms <= min_ts) {
          start = i;
          break;
        }
      }
    }
    scan_start = files[start]->from();
    std::string stop;
    RS_ASSIGN_OR_RETURN(valid_end, ScanValidEnd(start, &stop));
    recovery_note_ = stop;
    auto holder =
        commitlog_.FindByOffset(valid_end == files.back()->end() ? valid_end - 1 : valid_end);
    RS_RETURN_IF_ERROR(commitlog_.TruncateAfter(valid_end));
    // Zero whatever lies after the valid end in its file, so that no torn or stale bytes can
    // be mistaken for records by a later recovery.
    if (holder && valid_end < holder->end()) {
      const int64_t pos = valid_end - holder->from();
      bool dirty = false;
      const int64_t probe_end = std::min(holder->size(), pos + (int64_t{1} << 20));
      for (int64_t p = pos; p < probe_end && !dirty; ++p) dirty = holder->data()[p] != 0;
      if (dirty || last_open_abnormal_) {
        RS_RETURN_IF_ERROR(holder->file()->ZeroRange(static_cast<uint64_t>(pos),
                                                     static_cast<uint64_t>(holder->size() - pos)));
        RS_RETURN_IF_ERROR(holder->file()->Sync());
      }
    }
    if (last_open_abnormal_) {
      // What we read back may have been in the page cache only: make it durable before we
      // build on it.
      std::vector<File*> to_sync;
      for (const auto& f : commitlog_.Files()) {
        if (f->end() > scan_start) to_sync.push_back(f->file());
      }
      RS_RETURN_IF_ERROR(env_->SyncFiles(to_sync));
    }
  }
  max_offset_.store(valid_end);
  flushed_offset_.store(valid_end);
  // Queues: drop units pointing at or past the cut.
  int64_t dispatch_from = 0;
  {
    std::unique_lock l(cq_mu_);
    for (auto& [k, cq] : cqs_) {
      RS_RETURN_IF_ERROR(cq->TruncateDirty(valid_end));
      dispatch_from = std::max(dispatch_from, cq->max_physical_end());
    }
  }
  if (index_) {
    const int64_t drop_after = last_open_abnormal_ ? checkpoint_->data().index_msg_timestamp : -1;
    RS_ASSIGN_OR_RETURN(int64_t dropped_from, index_->Load(drop_after, valid_end));
    dispatch_from = std::min({dispatch_from, dropped_from, index_->IndexedEnd()});
  }
  if (last_open_abnormal_) dispatch_from = std::min(dispatch_from, scan_start);
  const int64_t min_offset = files.empty()        ? 0
                             : commitlog_.First() ? commitlog_.First()->from()
                                                  : 0;
  dispatch_from = std::clamp(dispatch_from, min_offset, valid_end);
  RS_RETURN_IF_ERROR(DispatchRange(dispatch_from, valid_end));
  {
    std::unique_lock l(cq_mu_);
    for (auto& [k, cq] : cqs_) {
      RS_ASSIGN_OR_RETURN(int n, cq->DeleteExpired(min_offset));
      (void)n;
    }
  }
  // Next queue offsets come from the queues, which now cover the whole CommitLog.
  {
    std::unique_lock pl(put_mu_);
    std::unique_lock l(cq_mu_);
    for (auto& [k, cq] : cqs_) queue_table_[k] = cq->max_offset();
    cur_file_ = commitlog_.Last();
  }
  {
    std::lock_guard<std::mutex> l(prep_mu_);
    prep_cur_ = commitlog_.Last();
  }
  if (last_open_abnormal_) {
    Log(absl::StrCat("recovered after an unclean shutdown: ", recovery_note_,
                     "; CommitLog ends at ", valid_end, ", redispatched from ", dispatch_from));
  }
  return absl::OkStatus();
}

absl::Status MessageStoreImpl::DispatchRange(int64_t from, int64_t to) {
  dispatched_offset_.store(from);
  int64_t pos = from;
  while (pos < to) {
    const int64_t next = DispatchSome(pos, to);
    if (next == pos) {
      return absl::DataLossError(absl::StrCat("cannot dispatch the record at ", pos));
    }
    pos = next;
  }
  dispatched_offset_.store(pos);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Write path

absl::Status MessageStoreImpl::WritableStatus() const {
  if (closed_.load(std::memory_order_acquire)) {
    return absl::FailedPreconditionError("store is closed");
  }
  if (sync_failed_.load(std::memory_order_acquire)) {
    std::unique_lock l(const_cast<std::mutex&>(health_mu_));
    return absl::FailedPreconditionError(
        absl::StrCat("store is read-only: ", not_writable_reason_));
  }
  if (disk_full_.load(std::memory_order_acquire)) {
    return absl::ResourceExhaustedError("disk full: puts are refused until retention frees space");
  }
  return absl::OkStatus();
}

void MessageStoreImpl::MarkNotWritable(const std::string& reason) {
  {
    std::unique_lock l(health_mu_);
    if (not_writable_reason_.empty()) not_writable_reason_ = reason;
  }
  sync_failed_.store(true, std::memory_order_release);
  Log("store is now read-only: " + reason);
}

absl::StatusOr<MappedFile*> MessageStoreImpl::FileForAppend(int64_t len) {
  MappedFile* f = cur_file_.get();
  if (f != nullptr && f->wrote() + len + kEndFileMinBlankLength <= f->size()) return f;
  const int64_t next_from = f == nullptr ? 0 : f->end();
  std::shared_ptr<MappedFile> next;
  {
    std::lock_guard<std::mutex> l(prep_mu_);
    if (next_file_ && next_file_->from() == next_from) next = std::move(next_file_);
    next_file_.reset();
    // The current file is done: a preallocation the preparer started for it must not be
    // published (it may be a second mapping of the very file this writer creates below).
    prep_cur_.reset();
  }
  if (!next) {
    RS_RETURN_IF_ERROR(env_->CreateDirs(commitlog_dir_));
    RS_ASSIGN_OR_RETURN(next, MappedFile::Create(env_, commitlog_.PathFor(next_from), next_from,
                                                 options_.commitlog_file_size));
  }
  next->set_wrote(0);
  next->set_flushed(0);
  if (f != nullptr && f->wrote() < f->size()) {
    // End the current file with the blank filler; it declares every remaining byte.
    const int64_t pos = f->wrote();
    RS_CHECK_GE(f->size() - pos, kEndFileMinBlankLength);
    EncodeBlank(f->data() + pos, static_cast<int32_t>(f->size() - pos));
    f->set_wrote(f->size());
  }
  commitlog_.Append(next);
  cur_file_ = next;
  {
    std::lock_guard<std::mutex> l(prep_mu_);
    prep_cur_ = next;
  }
  prep_cv_.notify_one();
  return next.get();
}

void MessageStoreImpl::PublishWrite(int64_t new_max) {
  RS_CHECK_GE(new_max, max_offset_.load(std::memory_order_relaxed));
  max_offset_.store(new_max, std::memory_order_seq_cst);
  if (dispatcher_idle_.load(std::memory_order_seq_cst) && dispatcher_idle_.exchange(false)) {
    std::lock_guard<std::mutex> l(dispatch_mu_);
    dispatch_cv_.notify_one();
  }
}

void MessageStoreImpl::FillMessageIds(PutResult* r, const std::vector<int64_t>& rec_offsets) const {
  r->msg_id_len_ = EncodeOffsetMsgId(store_host_, r->wrote_offset, r->msg_id_.data());
  if (rec_offsets.size() > 1) {
    r->batch_msg_ids_.assign(r->msg_id_.data(), r->msg_id_len_);
    for (size_t i = 1; i < rec_offsets.size(); ++i) {
      r->batch_msg_ids_.push_back(',');
      r->batch_msg_ids_ += EncodeOffsetMsgId(store_host_, r->wrote_offset + rec_offsets[i]);
    }
  }
}

absl::StatusOr<PutResult> MessageStoreImpl::Append(std::span<const MessageToStore> msgs,
                                                   PutCallback* async_done) {
  if (msgs.empty()) return absl::InvalidArgumentError("empty batch");
  RS_RETURN_IF_ERROR(WritableStatus());
  const MessageToStore& first = msgs.front();
  int64_t total = 0;
  for (const auto& m : msgs) {
    RS_RETURN_IF_ERROR(ValidateForStore(m, options_.max_message_size));
    if (m.topic != first.topic || m.queue_id != first.queue_id) {
      return absl::InvalidArgumentError("a batch must target one topic and queue");
    }
    if (msgs.size() > 1 && (m.sys_flag & sysflag::kTransactionMask) != 0) {
      return absl::InvalidArgumentError("transactional messages cannot be batched");
    }
    total += RecordLength(static_cast<int64_t>(m.body.size()), static_cast<int64_t>(m.topic.size()),
                          static_cast<int64_t>(m.properties.size()), m.born_host.is_v6(),
                          store_host_.is_v6());
  }
  if (total + kEndFileMinBlankLength > options_.commitlog_file_size) {
    return absl::InvalidArgumentError(absl::StrCat("a record of ", total,
                                                   " bytes cannot fit in a CommitLog file of ",
                                                   options_.commitlog_file_size, " bytes"));
  }
  if (msgs.size() > 1 && total > options_.max_message_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch of ", total, " bytes exceeds maxMessageSize ", options_.max_message_size));
  }
  // Encode outside the lock into a per-thread buffer (no allocation once warm).
  thread_local std::vector<char> buf;
  thread_local std::vector<int64_t> rec_offsets;
  if (buf.size() < static_cast<size_t>(total)) buf.resize(static_cast<size_t>(total));
  rec_offsets.clear();
  int64_t pos_in_buf = 0;
  for (const auto& m : msgs) {
    rec_offsets.push_back(pos_in_buf);
    pos_in_buf += EncodeRecord(m, store_host_, buf.data() + pos_in_buf);
  }
  RS_CHECK_EQ(pos_in_buf, total);
  const int32_t tx = first.sys_flag & sysflag::kTransactionMask;
  const bool counted = tx == sysflag::kTransactionNotType || tx == sysflag::kTransactionCommit;
  const bool need_flush = options_.flush_mode == FlushMode::kSync;
  const bool need_replica = options_.wait_for_replica;

  PutResult result;
  {
    std::unique_lock l(put_mu_);
    RS_RETURN_IF_ERROR(WritableStatus());
    RS_ASSIGN_OR_RETURN(MappedFile * f, FileForAppend(total));
    const int64_t ts = std::max(env_->NowMs(), last_store_ts_.load(std::memory_order_relaxed));
    const int64_t file_pos = f->wrote();
    const int64_t phys = f->from() + file_pos;
    int64_t* next_qo = nullptr;
    int64_t qo = 0;
    if (counted) {
      auto it = queue_table_.find(QueueKeyView{first.topic, first.queue_id});
      if (it == queue_table_.end()) {
        it = queue_table_.emplace(QueueKey{first.topic, first.queue_id}, 0).first;
      }
      next_qo = &it->second;
      qo = *next_qo;
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
      PatchRecord(buf.data() + rec_offsets[i], counted ? qo + static_cast<int64_t>(i) : 0,
                  phys + rec_offsets[i], ts);
    }
    std::memcpy(f->data() + file_pos, buf.data(), static_cast<size_t>(total));
    f->set_wrote(file_pos + total);
    if (next_qo != nullptr) *next_qo += static_cast<int64_t>(msgs.size());
    PublishWrite(phys + total);
    // After the offset, with release: a reader that loads this timestamp (acquire) and then
    // max_offset_ sees an offset that covers the record the timestamp belongs to.
    last_store_ts_.store(ts, std::memory_order_release);
    result.wrote_offset = PhysicalOffset(phys);
    result.wrote_bytes = total;
    result.queue_offset = QueueOffset(qo);
    result.message_count = static_cast<int32_t>(msgs.size());
    result.store_timestamp_ms = ts;
    if ((need_flush || need_replica) && async_done != nullptr) {
      // The waiter carries the complete result: the flusher may complete it as soon as it is
      // queued. Queued under the put lock so that waiters stay ordered by offset.
      FillMessageIds(&result, rec_offsets);
      std::lock_guard<std::mutex> wl(waiters_mu_);
      const int64_t now_us = env_->MonotonicMicros();
      waiters_.push_back(Waiter{phys + total,
                                now_us + int64_t{options_.sync_flush_timeout_ms} * 1000,
                                now_us + int64_t{options_.replica_timeout_ms} * 1000, need_flush,
                                need_replica, result, std::move(*async_done)});
      async_done = nullptr;
      flush_cv_.notify_one();
    }
  }
  puts_.fetch_add(static_cast<int64_t>(msgs.size()), std::memory_order_relaxed);
  put_bytes_.fetch_add(total, std::memory_order_relaxed);
  if (result.msg_id_len_ == 0) FillMessageIds(&result, rec_offsets);
  return result;
}

absl::StatusOr<PutResult> MessageStoreImpl::PutBatch(std::span<const MessageToStore> msgs) {
  const bool wait = options_.flush_mode == FlushMode::kSync || options_.wait_for_replica;
  if (!wait) return Append(msgs, nullptr);
  absl::Notification done;
  absl::StatusOr<PutResult> out;
  PutCallback cb = [&](absl::StatusOr<PutResult> r) {
    out = std::move(r);
    done.Notify();
  };
  auto r = Append(msgs, &cb);
  if (!r.ok()) return r.status();
  done.WaitForNotification();
  return out;
}

absl::StatusOr<PutResult> MessageStoreImpl::Put(const MessageToStore& msg) {
  return PutBatch(std::span<const MessageToStore>(&msg, 1));
}

void MessageStoreImpl::PutAsync(const MessageToStore& msg, PutCallback done) {
  PutBatchAsync(std::span<const MessageToStore>(&msg, 1), std::move(done));
}

void MessageStoreImpl::PutBatchAsync(std::span<const MessageToStore> msgs, PutCallback done) {
  const bool wait = options_.flush_mode == FlushMode::kSync || options_.wait_for_replica;
  PutCallback cb = std::move(done);
  auto r = Append(msgs, wait ? &cb : nullptr);
  if (!r.ok() || !wait) cb(std::move(r));
}

// ---------------------------------------------------------------------------------------------
// Flush and completion

absl::Status MessageStoreImpl::SyncCommitLogUpTo(int64_t target) {
  const int64_t flushed = flushed_offset_.load(std::memory_order_acquire);
  if (target <= flushed) return absl::OkStatus();
  std::vector<std::shared_ptr<MappedFile>> files;
  for (int64_t off = flushed; off < target;) {
    auto f = commitlog_.FindByOffset(off);
    if (!f) break;
    files.push_back(f);
    off = f->end();
  }
  std::vector<File*> raw;
  for (auto& f : files) raw.push_back(f->file());
  absl::Status s = env_->SyncFiles(raw);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  if (!s.ok()) return s;
  for (auto& f : files) f->set_flushed(std::min(f->size(), target - f->from()));
  int64_t cur = flushed_offset_.load(std::memory_order_relaxed);
  while (cur < target && !flushed_offset_.compare_exchange_weak(cur, target)) {
  }
  return absl::OkStatus();
}

void MessageStoreImpl::CompleteWaiters(bool expire_all) {
  std::vector<std::pair<PutCallback, absl::StatusOr<PutResult>>> ready;
  {
    std::lock_guard<std::mutex> l(waiters_mu_);
    const int64_t flushed = flushed_offset_.load(std::memory_order_acquire);
    const int64_t replica = replica_offset_.load(std::memory_order_acquire);
    const int64_t now = env_->MonotonicMicros();
    const bool failed = sync_failed_.load(std::memory_order_acquire);
    while (!waiters_.empty()) {
      Waiter& w = waiters_.front();
      const bool flush_ok = !w.need_flush || flushed >= w.end_offset;
      const bool replica_ok = !w.need_replica || replica >= w.end_offset;
      if (flush_ok && replica_ok) {
        ready.emplace_back(std::move(w.done), w.result);
      } else if (w.need_flush && !flush_ok && failed) {
        ready.emplace_back(std::move(w.done),
                           absl::DataLossError("the data sync covering this message failed; "
                                               "it is not durable and the store is read-only"));
      } else if (expire_all || ((flush_ok || now >= w.flush_deadline_us) &&
                                (replica_ok || now >= w.replica_deadline_us))) {
        PutResult r = w.result;
        r.status = !flush_ok ? PutStatus::kFlushDiskTimeout : PutStatus::kFlushSlaveTimeout;
        ready.emplace_back(std::move(w.done), r);
      } else {
        break;
      }
      waiters_.pop_front();
    }
  }
  for (auto& [cb, r] : ready) cb(std::move(r));
}

void MessageStoreImpl::FlusherLoop() {
  const bool sync_mode = options_.flush_mode == FlushMode::kSync;
  int64_t last_thorough_us = env_->MonotonicMicros();
  while (!stop_.load(std::memory_order_acquire)) {
    {
      std::unique_lock<std::mutex> l(waiters_mu_);
      if (sync_mode) {
        flush_cv_.wait_for(l, std::chrono::milliseconds(10), [this] {
          return stop_.load() || (!waiters_.empty() && waiters_.front().need_flush &&
                                  flushed_offset_.load() < max_offset_.load());
        });
      } else {
        flush_cv_.wait_for(l, std::chrono::milliseconds(options_.flush_interval_ms),
                           [this] { return stop_.load(); });
      }
    }
    if (stop_.load()) break;
    if (!sync_failed_.load()) {
      // Read the store time before the offset: it then belongs to a record at or below it.
      const int64_t ts = last_store_ts_.load(std::memory_order_acquire);
      const int64_t target = max_offset_.load(std::memory_order_acquire);
      const int64_t flushed = flushed_offset_.load(std::memory_order_acquire);
      bool do_flush = target > flushed;
      if (!sync_mode && do_flush) {
        const int64_t now = env_->MonotonicMicros();
        const bool thorough =
            now - last_thorough_us >= int64_t{options_.flush_thorough_interval_ms} * 1000;
        const bool enough = target / kPage - flushed / kPage >= options_.flush_least_pages;
        const bool rolled = commitlog_.FindByOffset(flushed) != commitlog_.FindByOffset(target);
        do_flush = thorough || enough || rolled || options_.flush_least_pages <= 0;
        if (thorough) last_thorough_us = now;
      }
      if (do_flush) {
        absl::Status s = SyncCommitLogUpTo(target);
        if (!s.ok()) {
          MarkNotWritable(absl::StrCat("CommitLog sync failed: ", s.ToString()));
        } else {
          flushed_store_ts_.store(ts, std::memory_order_release);
        }
      }
    }
    CompleteWaiters(false);  // takes waiters_mu_; an unlocked waiters_.empty() would race
  }
}

void MessageStoreImpl::SetReplicaConfirmedOffset(PhysicalOffset offset) {
  int64_t cur = replica_offset_.load();
  while (cur < offset.value() && !replica_offset_.compare_exchange_weak(cur, offset.value())) {
  }
  CompleteWaiters(false);
}

// ---------------------------------------------------------------------------------------------
// Preparer: the next CommitLog file exists and the pages ahead of the writer are writable
// before the writer needs them, so an append takes no page fault and no syscall.

void MessageStoreImpl::PreparerLoop() {
  const int64_t ahead = std::max<int64_t>(options_.prefault_ahead_bytes, 0);
  const int64_t chunk = 4 << 20;
  while (!stop_.load(std::memory_order_acquire)) {
    std::shared_ptr<MappedFile> cur;
    bool need_next = false;
    {
      std::unique_lock<std::mutex> l(prep_mu_);
      prep_cv_.wait_for(l, std::chrono::milliseconds(5));
      cur = prep_cur_;
      need_next = options_.preallocate_next_file && cur && !next_file_;
    }
    if (stop_.load()) break;
    if (ahead == 0) continue;
    if (cur) {
      // Keep [wrote, wrote + ahead) writable, a chunk at a time so the loop stays responsive.
      while (!stop_.load() && cur->prefaulted() < std::min(cur->size(), cur->wrote() + ahead)) {
        absl::Status s = cur->PrefaultUpTo(std::min(cur->prefaulted() + chunk, cur->size()));
        if (!s.ok()) {
          Log("prefault: " + s.ToString());
          break;
        }
      }
    }
    // Create the next file once the current one is half written.
    if (need_next && cur->wrote() * 2 >= cur->size()) {
      std::shared_ptr<MappedFile> created;
      {
        // Decide and create under the lock the writer takes to roll: a stale `cur` (the writer
        // rolled on and may be creating that file itself, or retention deleted it) must never
        // create or publish a file.
        std::lock_guard<std::mutex> l(prep_mu_);
        if (prep_cur_ != cur || next_file_) continue;
        auto next = MappedFile::Create(env_, commitlog_.PathFor(cur->end()), cur->end(),
                                       options_.commitlog_file_size);
        if (!next.ok()) {
          Log("preallocate: " + next.status().ToString());
          continue;
        }
        (*next)->set_wrote(0);
        (*next)->set_flushed(0);
        created = *next;
        next_file_ = created;
      }
      absl::Status s = created->PrefaultUpTo(std::min(ahead, created->size()));
      if (!s.ok()) Log("prefault: " + s.ToString());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch

ConsumeQueue* MessageStoreImpl::FindCq(std::string_view topic, int32_t queue_id) {
  std::shared_lock l(cq_mu_);
  auto it = cqs_.find(QueueKeyView{topic, queue_id});
  return it == cqs_.end() ? nullptr : it->second.get();
}

ConsumeQueue* MessageStoreImpl::FindOrCreateCq(std::string_view topic, int32_t queue_id) {
  // Dispatcher-local cache: queues are never removed while the store is open.
  auto cached = dispatch_cqs_.find(QueueKeyView{topic, queue_id});
  if (cached != dispatch_cqs_.end()) return cached->second;
  ConsumeQueue* cq = FindOrCreateCqShared(topic, queue_id);
  dispatch_cqs_.emplace(QueueKey{std::string(topic), queue_id}, cq);
  return cq;
}

ConsumeQueue* MessageStoreImpl::FindOrCreateCqShared(std::string_view topic, int32_t queue_id) {
  if (ConsumeQueue* cq = FindCq(topic, queue_id)) return cq;
  std::unique_lock l(cq_mu_);
  auto it = cqs_.find(QueueKeyView{topic, queue_id});
  if (it != cqs_.end()) return it->second.get();
  auto cq = std::make_unique<ConsumeQueue>(env_, cq_dir_, std::string(topic), queue_id,
                                           options_.consume_queue_units_per_file);
  ConsumeQueue* raw = cq.get();
  cqs_.emplace(QueueKey{std::string(topic), queue_id}, std::move(cq));
  return raw;
}

absl::Status MessageStoreImpl::DispatchRecord(const StoredMessage& m) {
  const int32_t tx = m.sys_flag & sysflag::kTransactionMask;
  if ((tx == sysflag::kTransactionNotType || tx == sysflag::kTransactionCommit) &&
      (!IsLegalTopic(m.topic) || m.queue_id < 0)) {
    // Only a corrupt record (these fields are not covered by the body CRC) gets here: the store
    // never writes one. Its topic must not become a directory name.
    Log(absl::StrCat("[BUG] the record at ", m.physical_offset.value(),
                     " has an illegal topic or queue id ", m.queue_id, "; not added to a queue"));
  } else if (tx == sysflag::kTransactionNotType || tx == sysflag::kTransactionCommit) {
    ConsumeQueue* cq = FindOrCreateCq(m.topic, m.queue_id);
    CqUnit u{m.physical_offset.value(), m.store_size, TagsCode(m, delay_levels_ms_)};
    RS_RETURN_IF_ERROR(cq->Put(m.queue_offset.value(), u));
  }
  if (index_ && tx != sysflag::kTransactionRollback) {
    const auto uniq = FindProperty(m.properties, property::kUniqKey);
    const auto keys = FindProperty(m.properties, property::kKeys);
    if (uniq || keys) {
      RS_RETURN_IF_ERROR(index_->BuildIndex(m.topic, uniq.value_or(""), keys.value_or(""),
                                            m.physical_offset.value(), m.store_size,
                                            m.store_timestamp_ms));
    }
  }
  dispatched_store_ts_.store(m.store_timestamp_ms, std::memory_order_relaxed);
  return absl::OkStatus();
}

int64_t MessageStoreImpl::DispatchSome(int64_t from, int64_t limit) {
  int64_t pos = from;
  while (pos < limit) {
    // The dispatcher keeps the file it is reading; the shared list is consulted once per file.
    if (!dispatch_file_ || pos < dispatch_file_->from() || pos >= dispatch_file_->end()) {
      dispatch_file_ = commitlog_.FindByOffset(pos);
    }
    MappedFile* f = dispatch_file_.get();
    if (f == nullptr) {
      // Below the minimum (retention): jump to the first file.
      auto first = commitlog_.First();
      if (first && pos < first->from()) {
        pos = first->from();
        continue;
      }
      break;
    }
    const int64_t file_pos = pos - f->from();
    const int64_t readable = std::min(f->wrote(), limit - f->from());
    if (file_pos >= readable) {
      if (f->wrote() >= f->size()) {
        pos = f->end();
        continue;
      }
      break;
    }
    auto rec = DecodeRecord(
        std::string_view(f->data() + file_pos, static_cast<size_t>(f->size() - file_pos)), false);
    if (!rec.ok() || rec->kind == DecodedRecord::Kind::kEnd) {
      Log(absl::StrCat("[BUG] dispatch cannot parse the record at ", pos, ": ",
                       rec.ok() ? "zero header" : rec.status().ToString()));
      break;
    }
    if (rec->kind == DecodedRecord::Kind::kBlank) {
      pos = f->end();
      continue;
    }
    absl::Status s = DispatchRecord(rec->message);
    if (!s.ok()) {
      Log(absl::StrCat("dispatch of the record at ", pos, " failed: ", s.ToString()));
      break;
    }
    pos += rec->size;
  }
  return pos;
}

void MessageStoreImpl::DispatcherLoop() {
  while (!stop_.load(std::memory_order_acquire)) {
    const int64_t limit = max_offset_.load(std::memory_order_acquire);
    const int64_t from = dispatched_offset_.load(std::memory_order_relaxed);
    if (from < limit) {
      const int64_t next = DispatchSome(from, limit);
      if (next != from) {
        dispatched_offset_.store(next, std::memory_order_release);
        std::lock_guard<std::mutex> l(dispatch_mu_);
        dispatch_done_cv_.notify_all();
        continue;
      }
      // Stuck on a record: retry later rather than spin.
    }
    std::unique_lock<std::mutex> l(dispatch_mu_);
    dispatcher_idle_.store(true, std::memory_order_seq_cst);
    if (max_offset_.load(std::memory_order_seq_cst) > dispatched_offset_.load() && from >= limit) {
      dispatcher_idle_.store(false);
      continue;
    }
    dispatch_cv_.wait_for(l, std::chrono::milliseconds(from < limit ? 100 : 10));
    dispatcher_idle_.store(false);
  }
}

absl::Status MessageStoreImpl::WaitForDispatch(int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> l(dispatch_mu_);
  while (dispatched_offset_.load() < max_offset_.load()) {
    if (dispatch_done_cv_.wait_until(l, deadline) == std::cv_status::timeout &&
        dispatched_offset_.load() < max_offset_.load()) {
      return absl::DeadlineExceededError(
          absl::StrCat("dispatch is ", max_offset_.load() - dispatched_offset_.load(),
                       " bytes behind after ", timeout_ms, " ms"));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Reads

absl::StatusOr<MessageRef> MessageStoreImpl::ReadRecordAt(int64_t offset, bool check_crc) {
  auto first = commitlog_.First();
  if (!first || offset < first->from()) {
    return absl::OutOfRangeError(absl::StrCat("offset ", offset, " is below the CommitLog minimum ",
                                              first ? first->from() : 0));
  }
  const int64_t max = max_offset_.load(std::memory_order_acquire);
  if (offset >= max) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is at or beyond the CommitLog end ", max));
  }
  auto f = commitlog_.FindByOffset(offset);
  if (!f) return absl::OutOfRangeError(absl::StrCat("no CommitLog file holds offset ", offset));
  const int64_t pos = offset - f->from();
  const int64_t readable = std::min(f->wrote(), max - f->from());
  auto rec = DecodeRecord(std::string_view(f->data() + pos, static_cast<size_t>(readable - pos)),
                          check_crc);
  if (!rec.ok()) return rec.status();
  if (rec->kind != DecodedRecord::Kind::kMessage) {
    return absl::NotFoundError(
        absl::StrCat("no message at offset ", offset, " (end-of-file filler)"));
  }
  if (rec->message.physical_offset.value() != offset) {
    return absl::DataLossError(absl::StrCat("record at ", offset, " claims offset ",
                                            rec->message.physical_offset.value()));
  }
  return MessageRef{f, std::move(rec->message)};
}

absl::StatusOr<MessageRef> MessageStoreImpl::GetMessageByOffset(PhysicalOffset offset) {
  return ReadRecordAt(offset.value(), false);
}

absl::StatusOr<MessageRef> MessageStoreImpl::GetMessageById(std::string_view id) {
  RS_ASSIGN_OR_RETURN(auto decoded, DecodeOffsetMsgId(id));
  return ReadRecordAt(decoded.second.value(), false);
}

GetResult MessageStoreImpl::GetMessages(const GetRequest& req) {
  GetResult r;
  ConsumeQueue* cq = FindCq(req.topic, req.queue_id);
  if (cq == nullptr) {
    r.status = GetStatus::kNoMatchedLogicQueue;
    return r;
  }
  const int64_t min = cq->min_offset();
  const int64_t max = cq->max_offset();
  const int64_t off = req.offset.value();
  r.min_offset = QueueOffset(min);
  r.max_offset = QueueOffset(max);
  if (max == 0) {
    r.status = GetStatus::kNoMessageInQueue;
    r.next_begin_offset = QueueOffset(0);
    return r;
  }
  if (off < min) {
    r.status = GetStatus::kOffsetTooSmall;
    r.next_begin_offset = QueueOffset(min);
    return r;
  }
  if (off == max) {
    r.status = GetStatus::kOffsetOverflowOne;
    r.next_begin_offset = QueueOffset(off);
    return r;
  }
  if (off > max) {
    // Corrected to the maximum, as RocketMQ 4.9.7 and 5.x do (older 4.x releases corrected to
    // the minimum when it was 0).
    r.status = GetStatus::kOffsetOverflowBadly;
    r.next_begin_offset = QueueOffset(max);
    return r;
  }
  bool all = req.tags.empty();
  std::vector<int32_t> codes;
  for (const auto& t : req.tags) {
    if (t == "*") all = true;
    codes.push_back(JavaStringHash(t));
  }
  const int64_t commit_min = commitlog_.First() ? commitlog_.First()->from() : 0;
  const int64_t max_scan = std::max<int64_t>(16000 / kCqUnitSize, req.max_count);
  r.status = GetStatus::kNoMatchedMessage;
  int64_t cur = off;
  bool removing = false;
  for (; cur < max && cur - off < max_scan; ++cur) {
    if (static_cast<int32_t>(r.messages.size()) >= req.max_count) break;
    CqUnit u;
    if (!cq->Read(cur, &u)) {
      if (r.messages.empty()) r.status = GetStatus::kOffsetFoundNull;
      break;
    }
    if (u.blank()) continue;
    if (u.physical_offset < commit_min) {
      removing = true;
      continue;
    }
    if (!all &&
        std::find(codes.begin(), codes.end(), static_cast<int32_t>(u.tags_code)) == codes.end()) {
      continue;
    }
    if (!r.messages.empty() && r.total_bytes + u.size > req.max_bytes) break;
    auto m = ReadRecordAt(u.physical_offset, false);
    if (!m.ok()) {
      if (absl::IsOutOfRange(m.status())) {
        removing = true;
        continue;
      }
      Log(absl::StrCat("queue ", req.topic, "-", req.queue_id, " unit ", cur, ": ",
                       m.status().ToString()));
      continue;
    }
    if (!all) {
      const auto tag = FindProperty(m->message.properties, property::kTags);
      if (!tag || std::find(req.tags.begin(), req.tags.end(), *tag) == req.tags.end()) continue;
    }
    r.total_bytes += m->message.store_size;
    r.messages.push_back(std::move(*m));
  }
  r.next_begin_offset = QueueOffset(cur);
  if (!r.messages.empty()) {
    r.status = GetStatus::kFound;
  } else if (removing) {
    r.status = GetStatus::kMessageWasRemoving;
  }
  return r;
}

absl::StatusOr<std::vector<MessageRef>> MessageStoreImpl::QueryByKey(std::string_view topic,
                                                                     std::string_view key,
                                                                     int32_t max_num,
                                                                     int64_t begin_ms,
                                                                     int64_t end_ms) {
  if (!index_) return absl::FailedPreconditionError("the message index is disabled");
  const size_t cap =
      static_cast<size_t>(std::clamp<int32_t>(max_num, 1, std::max(1, options_.max_query_results)));
  std::vector<int64_t> offsets = index_->Query(topic, key, cap, begin_ms, end_ms);
  // An index may hold one message twice (RocketMQ's own redispatch can do that): once is enough.
  std::sort(offsets.begin(), offsets.end());
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  std::vector<MessageRef> out;
  for (int64_t off : offsets) {
    auto m = ReadRecordAt(off, false);
    if (!m.ok()) continue;  // expired or cut: the index may outlive the data
    const StoredMessage& s = m->message;
    if (s.topic != topic) continue;
    const auto uniq = FindProperty(s.properties, property::kUniqKey);
    const auto keys = FindProperty(s.properties, property::kKeys);
    if ((uniq && *uniq == key) || (keys && KeysContain(*keys, key))) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const MessageRef& a, const MessageRef& b) {
    return a.message.physical_offset < b.message.physical_offset;
  });
  return out;
}

absl::StatusOr<int64_t> MessageStoreImpl::GetStoreTime(std::string_view topic, int32_t queue_id,
                                                       QueueOffset offset) {
  ConsumeQueue* cq = FindCq(topic, queue_id);
  if (cq == nullptr)
    return absl::NotFoundError(absl::StrCat("no queue ", AV(topic), "-", queue_id));
  CqUnit u;
  if (!cq->Read(offset.value(), &u) || u.blank()) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset.value(), " is not in queue ", AV(topic), "-", queue_id));
  }
  RS_ASSIGN_OR_RETURN(MessageRef m, ReadRecordAt(u.physical_offset, false));
  return m.message.store_timestamp_ms;
}

absl::StatusOr<QueueOffset> MessageStoreImpl::GetOffsetByTime(std::string_view topic,
                                                              int32_t queue_id, int64_t ts) {
  ConsumeQueue* cq = FindCq(topic, queue_id);
  if (cq == nullptr)
    return absl::NotFoundError(absl::StrCat("no queue ", AV(topic), "-", queue_id));
  int64_t lo = cq->min_offset(), hi = cq->max_offset();
  // Skip units whose records retention removed.
  const int64_t commit_min = commitlog_.First() ? commitlog_.First()->from() : 0;
  while (lo < hi) {
    CqUnit u;
    if (cq->Read(lo, &u) && !u.blank() && u.physical_offset >= commit_min) break;
    ++lo;
  }
  // First offset in [lo, hi) whose store time is >= ts.
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    auto t = GetStoreTime(topic, queue_id, QueueOffset(mid));
    if (!t.ok()) {
      lo = mid + 1;
      continue;
    }
    if (*t < ts) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return QueueOffset(lo);
}

QueueOffset MessageStoreImpl::GetMinOffset(std::string_view topic, int32_t queue_id) {
  ConsumeQueue* cq = FindCq(topic, queue_id);
  return QueueOffset(cq ? cq->min_offset() : 0);
}

QueueOffset MessageStoreImpl::GetMaxOffset(std::string_view topic, int32_t queue_id) {
  ConsumeQueue* cq = FindCq(topic, queue_id);
  return QueueOffset(cq ? cq->max_offset() : 0);
}

absl::StatusOr<int64_t> MessageStoreImpl::GetEarliestStoreTime() {
  auto first = commitlog_.First();
  if (!first || max_offset_.load() <= first->from()) {
    return absl::NotFoundError("the CommitLog is empty");
  }
  int64_t off = first->from();
  while (off < max_offset_.load()) {
    auto m = ReadRecordAt(off, false);
    if (m.ok()) return m->message.store_timestamp_ms;
    if (!absl::IsNotFound(m.status())) return m.status();
    off = (off / options_.commitlog_file_size + 1) * options_.commitlog_file_size;
  }
  return absl::NotFoundError("the CommitLog holds no message");
}

absl::StatusOr<int64_t> MessageStoreImpl::GetEarliestStoreTime(std::string_view topic,
                                                               int32_t queue_id) {
  return GetStoreTime(topic, queue_id, GetMinOffset(topic, queue_id));
}

std::vector<std::pair<std::string, int32_t>> MessageStoreImpl::ListQueues() {
  std::vector<std::pair<std::string, int32_t>> out;
  std::shared_lock l(cq_mu_);
  for (const auto& [k, cq] : cqs_) out.emplace_back(k.topic, k.queue_id);
  std::sort(out.begin(), out.end());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Replication primitives

absl::StatusOr<RawSlice> MessageStoreImpl::ReadCommitLog(PhysicalOffset from, int64_t max_bytes) {
  const int64_t max = max_offset_.load(std::memory_order_acquire);
  auto first = commitlog_.First();
  const int64_t min = first ? first->from() : 0;
  if (from.value() < min) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", from.value(), " is below the minimum ", min));
  }
  if (from.value() > max) {
    return absl::OutOfRangeError(absl::StrCat("offset ", from.value(), " is beyond the end ", max));
  }
  RawSlice out;
  out.offset = from;
  if (from.value() == max) return out;
  auto f = commitlog_.FindByOffset(from.value());
  if (!f) return absl::OutOfRangeError("no file holds that offset");
  const int64_t start = from.value() - f->from();
  const int64_t readable = std::min(f->wrote(), max - f->from());
  int64_t pos = start;
  while (pos < readable) {
    auto rec = DecodeRecord(std::string_view(f->data() + pos, static_cast<size_t>(f->size() - pos)),
                            false);
    if (!rec.ok()) return rec.status();
    if (rec->kind == DecodedRecord::Kind::kEnd) break;
    if (pos > start && pos - start + rec->size > max_bytes) break;
    pos += rec->size;
    if (rec->kind == DecodedRecord::Kind::kBlank) break;
  }
  out.file = f;
  out.bytes = std::string_view(f->data() + start, static_cast<size_t>(pos - start));
  return out;
}

absl::StatusOr<int64_t> MessageStoreImpl::AppendReplicated(PhysicalOffset at,
                                                           std::string_view bytes) {
  RS_RETURN_IF_ERROR(WritableStatus());
  std::unique_lock l(put_mu_);
  const int64_t max = max_offset_.load();
  if (at.value() != max) {
    return absl::FailedPreconditionError(
        absl::StrCat("replicated bytes start at ", at.value(), " but this store ends at ", max));
  }
  const int64_t fsize = options_.commitlog_file_size;
  // Validate every whole record first; nothing is written unless it is valid.
  struct Rec {
    int64_t off, len;
    bool blank;
    QueueKey key;
    int64_t next_qo;
    int64_t ts;
  };
  std::vector<Rec> recs;
  int64_t pos = 0;
  while (pos < static_cast<int64_t>(bytes.size())) {
    const int64_t phys = max + pos;
    const int64_t file_left = fsize - phys % fsize;
    std::string_view avail = bytes.substr(static_cast<size_t>(pos));
    if (avail.size() < 8) break;  // partial header: wait for more
    const int32_t total = GetBEI32(avail.data());
    if (total > 0 && static_cast<size_t>(total) > avail.size() &&
        GetBEI32(avail.data() + 4) != kMagicBlank) {
      if (total > file_left) {
        return absl::DataLossError(absl::StrCat("replicated record at ", phys, " declares ", total,
                                                " bytes, more than its file holds"));
      }
      break;  // partial record: wait for more
    }
    if (GetBEI32(avail.data() + 4) == kMagicBlank) {
      if (total != file_left) {
        return absl::DataLossError(absl::StrCat("replicated blank at ", phys, " declares ", total,
                                                " bytes, the file has ", file_left, " left"));
      }
      // The stream carries the filler up to the file end (RocketMQ's HA ships the file's bytes
      // as they are, and so does ReadCommitLog); wait until all of it has arrived.
      if (avail.size() < static_cast<size_t>(total)) break;
      recs.push_back(Rec{pos, total, true, {}, 0, 0});
      pos += total;
      continue;
    }
    auto rec = DecodeRecord(avail.substr(0, std::min<size_t>(avail.size(), file_left)), true);
    if (!rec.ok()) {
      return absl::DataLossError(
          absl::StrCat("replicated record at ", phys, ": ", rec.status().message()));
    }
    if (rec->kind != DecodedRecord::Kind::kMessage) {
      return absl::DataLossError(absl::StrCat("replicated bytes at ", phys, " are not a record"));
    }
    const StoredMessage& m = rec->message;
    if (m.physical_offset.value() != phys || rec->size + kEndFileMinBlankLength > file_left) {
      return absl::DataLossError(absl::StrCat("replicated record at ", phys, " claims offset ",
                                              m.physical_offset.value()));
    }
    if (!IsLegalTopic(m.topic) || m.queue_id < 0 || m.queue_offset.value() < 0 ||
        m.queue_offset.value() == INT64_MAX) {
      return absl::DataLossError(absl::StrCat("replicated record at ", phys,
                                              " has an illegal topic, queue id or queue offset"));
    }
    const int32_t tx = m.sys_flag & sysflag::kTransactionMask;
    const bool counted = tx == sysflag::kTransactionNotType || tx == sysflag::kTransactionCommit;
    recs.push_back(Rec{pos, rec->size, false, QueueKey{std::string(m.topic), m.queue_id},
                       counted ? m.queue_offset.value() + 1 : -1, m.store_timestamp_ms});
    pos += rec->size;
  }
  // Write.
  int64_t written = 0;
  for (const Rec& r : recs) {
    const int64_t phys = max + r.off;
    MappedFile* f = cur_file_.get();
    if (f == nullptr || phys >= f->end()) {
      const int64_t from = phys - phys % fsize;
      std::shared_ptr<MappedFile> next;
      {
        std::lock_guard<std::mutex> pl(prep_mu_);
        if (next_file_ && next_file_->from() == from) next = std::move(next_file_);
        next_file_.reset();
        prep_cur_.reset();  // as in FileForAppend
      }
      if (!next) {
        RS_ASSIGN_OR_RETURN(next, MappedFile::Create(env_, commitlog_.PathFor(from), from, fsize));
      }
      next->set_wrote(0);
      next->set_flushed(0);
      commitlog_.Append(next);
      cur_file_ = next;
      {
        std::lock_guard<std::mutex> pl(prep_mu_);
        prep_cur_ = next;
      }
      f = next.get();
    }
    const int64_t fpos = phys - f->from();
    RS_CHECK_EQ(fpos, f->wrote());
    if (r.blank) {
      RS_CHECK_EQ(fpos + r.len, f->size());
      EncodeBlank(f->data() + fpos, static_cast<int32_t>(r.len));  // the filler stays as is
    } else {
      std::memcpy(f->data() + fpos, bytes.data() + r.off, static_cast<size_t>(r.len));
    }
    f->set_wrote(fpos + r.len);
    if (!r.blank && r.next_qo >= 0) queue_table_[r.key] = r.next_qo;
    written = r.off + r.len;
    PublishWrite(max + written);
    if (!r.blank) last_store_ts_.store(r.ts, std::memory_order_release);
  }
  return written;
}

// ---------------------------------------------------------------------------------------------
// Flush, housekeeping, retention, stats, close

absl::Status MessageStoreImpl::FlushQueuesAndCheckpoint() {
  // Capture the timestamps before flushing so the checkpoint never runs ahead of durable data.
  const int64_t logics_ts = dispatched_store_ts_.load(std::memory_order_acquire);
  std::vector<ConsumeQueue*> cqs;
  {
    std::shared_lock l(cq_mu_);
    for (auto& [k, cq] : cqs_) cqs.push_back(cq.get());
  }
  for (ConsumeQueue* cq : cqs) RS_RETURN_IF_ERROR(cq->Flush());
  int64_t index_ts = 0;
  if (index_) {
    RS_ASSIGN_OR_RETURN(index_ts, index_->Flush());
  }
  std::lock_guard<std::mutex> l(checkpoint_mu_);
  CheckpointData& d = checkpoint_->mutable_data();
  const int64_t physic_ts = flushed_store_ts_.load(std::memory_order_acquire);
  if (physic_ts > 0) d.physic_msg_timestamp = physic_ts;
  if (logics_ts > 0) d.logics_msg_timestamp = logics_ts;
  if (index_ts > 0) d.index_msg_timestamp = index_ts;
  return checkpoint_->Flush();
}

absl::Status MessageStoreImpl::Flush() {
  if (sync_failed_.load()) return WritableStatus();
  const int64_t ts = last_store_ts_.load(std::memory_order_acquire);
  const int64_t target = max_offset_.load(std::memory_order_acquire);
  absl::Status s = SyncCommitLogUpTo(target);
  if (!s.ok()) {
    MarkNotWritable(absl::StrCat("CommitLog sync failed: ", s.ToString()));
    CompleteWaiters(false);
    return s;
  }
  flushed_store_ts_.store(ts, std::memory_order_release);
  CompleteWaiters(false);
  return FlushQueuesAndCheckpoint();
}

void MessageStoreImpl::HousekeepingLoop() {
  int64_t last_clean_us = env_->MonotonicMicros();
  while (!stop_.load()) {
    {
      std::unique_lock<std::mutex> l(housekeeping_mu_);
      housekeeping_cv_.wait_for(l,
                                std::chrono::milliseconds(options_.flush_consume_queue_interval_ms),
                                [this] { return stop_.load(); });
    }
    if (stop_.load()) break;
    absl::Status s = FlushQueuesAndCheckpoint();
    if (!s.ok()) Log("queue/index flush: " + s.ToString());
    const int64_t now = env_->MonotonicMicros();
    if (options_.clean_resource_interval_ms > 0 &&
        now - last_clean_us >= int64_t{options_.clean_resource_interval_ms} * 1000) {
      last_clean_us = now;
      auto r = RunRetention(false);
      if (!r.ok()) Log("retention: " + r.status().ToString());
    }
  }
}

absl::StatusOr<int> MessageStoreImpl::RunRetention(bool force) {
  std::lock_guard<std::mutex> rl(retention_mu_);
  const int64_t now = env_->NowMs();
  bool time_to_delete = force;
  {
    const time_t secs = static_cast<time_t>(now / 1000);
    struct tm tm;
    localtime_r(&secs, &tm);
    for (absl::string_view h : absl::StrSplit(options_.delete_when, ';', absl::SkipEmpty())) {
      int hour = -1;
      if (absl::SimpleAtoi(h, &hour) && hour == tm.tm_hour) time_to_delete = true;
    }
  }
  int usage_pct = 0;
  auto space = env_->GetDiskSpace(options_.root_dir);
  if (space.ok() && space->total_bytes > 0) {
    usage_pct = static_cast<int>(100 - space->available_bytes * 100 / space->total_bytes);
  }
  disk_full_.store(usage_pct >= options_.disk_full_ratio, std::memory_order_release);
  const bool space_pressure = usage_pct >= options_.disk_max_used_space_ratio;
  const bool clean_immediately = usage_pct >= 85;
  if (!time_to_delete && !space_pressure) return 0;
  const int64_t reserve_ms = int64_t{options_.file_reserved_hours} * 3600 * 1000;
  const int64_t dispatched = dispatched_offset_.load();
  const int64_t flushed = flushed_offset_.load();
  // Decide first: expired files from the oldest, stopping at the first that is not (no holes);
  // never the last file, never data not yet dispatched or flushed.
  auto files = commitlog_.Files();
  size_t doomed = 0;
  while (doomed + 1 < files.size()) {
    const auto& f = files[doomed];
    if (f->end() > dispatched || f->end() > flushed) break;
    RS_ASSIGN_OR_RETURN(int64_t mtime, env_->FileModifiedMs(f->path()));
    if (mtime + reserve_ms > now && !clean_immediately) break;
    ++doomed;
  }
  if (doomed == 0) return 0;
  // Then move the queues' and the index's minimums past those files, so that no reader is ever
  // handed a unit that points into a deleted file, and only then delete the files.
  const int64_t new_min = files[doomed]->from();
  int deleted = 0;
  std::vector<ConsumeQueue*> cqs;
  {
    std::shared_lock l(cq_mu_);
    for (auto& [k, cq] : cqs_) cqs.push_back(cq.get());
  }
  for (ConsumeQueue* cq : cqs) {
    RS_ASSIGN_OR_RETURN(int n, cq->DeleteExpired(new_min));
    deleted += n;
  }
  if (index_) {
    RS_ASSIGN_OR_RETURN(int n, index_->DeleteExpired(new_min));
    deleted += n;
  }
  for (size_t i = 0; i < doomed; ++i) {
    RS_CHECK_EQ(commitlog_.First()->from(), files[i]->from());
    RS_RETURN_IF_ERROR(commitlog_.DeleteFirst());
    ++deleted;
  }
  return deleted;
}

StoreStats MessageStoreImpl::GetStats() {
  StoreStats s;
  auto first = commitlog_.First();
  s.commitlog_min_offset = PhysicalOffset(first ? first->from() : 0);
  s.commitlog_max_offset = PhysicalOffset(max_offset_.load());
  s.commitlog_flushed_offset = PhysicalOffset(flushed_offset_.load());
  s.dispatched_offset = PhysicalOffset(dispatched_offset_.load());
  s.dispatch_behind_bytes = s.commitlog_max_offset - s.dispatched_offset;
  s.replica_confirmed_offset = PhysicalOffset(replica_offset_.load());
  const absl::Status w = WritableStatus();
  s.writable = w.ok();
  s.not_writable_reason = std::string(w.message());
  s.puts = puts_.load();
  s.put_bytes = put_bytes_.load();
  s.syncs = syncs_.load();
  s.recovery_note = recovery_note_;
  s.last_open_was_abnormal = last_open_abnormal_;
  return s;
}

absl::Status MessageStoreImpl::Close() {
  if (closed_.exchange(true)) return absl::OkStatus();
  if (threads_.empty()) {
    // Init did not finish: leave every file as it was found. The abort marker of an earlier
    // crash must survive a failed open, and checkpoint_ may not even exist yet.
    lock_.reset();
    return absl::OkStatus();
  }
  {
    // Wait for in-flight puts to leave the lock.
    std::unique_lock l(put_mu_);
  }
  // Let the dispatcher catch up before stopping it.
  absl::Status first_error;
  if (!threads_.empty()) {
    absl::Status d = WaitForDispatch(30000);
    if (!d.ok()) first_error = d;
  }
  stop_.store(true);
  flush_cv_.notify_all();
  prep_cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(dispatch_mu_);
    dispatch_cv_.notify_all();
  }
  housekeeping_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  bool clean = first_error.ok() && !sync_failed_.load();
  if (!sync_failed_.load()) {
    const int64_t ts = last_store_ts_.load();
    absl::Status s = SyncCommitLogUpTo(max_offset_.load());
    if (!s.ok()) {
      MarkNotWritable(absl::StrCat("CommitLog sync failed: ", s.ToString()));
      clean = false;
      if (first_error.ok()) first_error = s;
    } else {
      flushed_store_ts_.store(ts);
    }
  }
  CompleteWaiters(true);
  if (lock_) {
    absl::Status s = FlushQueuesAndCheckpoint();
    if (!s.ok()) {
      clean = false;
      if (first_error.ok()) first_error = s;
    }
  }
  {
    std::lock_guard<std::mutex> l(prep_mu_);
    if (next_file_) {
      // A file created ahead but never written: remove it so the next open sees no empty tail.
      (void)env_->DeleteFile(next_file_->path());
      next_file_.reset();
    }
  }
  if (clean && env_->FileExists(abort_path_)) {
    absl::Status s = env_->DeleteFile(abort_path_);
    if (s.ok()) s = env_->SyncDir(options_.root_dir);
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  lock_.reset();
  return first_error;
}

}  // namespace internal
}  // namespace libstore
