// Offset stores (see offset_store.h).
// Thread-safety: mu_ guards table_; LocalFileOffsetStore's file_mu_ guards stored_ and the file
// and is always taken before mu_.
#include "client/offset_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace rsclient {

namespace {

absl::Status ErrnoError(const std::string& what) {
  return absl::InternalError(what + ": " + std::strerror(errno));
}

absl::Status WriteAndSync(const std::filesystem::path& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("open " + path.string());
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = ErrnoError("write " + path.string());
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = ErrnoError("fsync " + path.string());
    ::close(fd);
    return s;
  }
  ::close(fd);
  return absl::OkStatus();
}

void SyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

// Parses our offsets file; InvalidArgument when it is not one.
absl::StatusOr<std::map<MessageQueue, int64_t>> ParseOffsetsFile(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  std::map<MessageQueue, int64_t> out;
  auto table = j.find("offsetTable");
  if (table == j.end()) return out;
  if (!table->is_array()) return absl::InvalidArgumentError("offsetTable is not an array");
  for (const auto& e : *table) {
    if (!e.is_object() || !e.contains("topic") || !e["topic"].is_string() ||
        !e.contains("brokerName") || !e["brokerName"].is_string() || !e.contains("queueId") ||
        !e["queueId"].is_number_integer() || !e.contains("offset") ||
        !e["offset"].is_number_integer()) {
      return absl::InvalidArgumentError("an offsetTable entry is malformed");
    }
    out[MessageQueue{e["topic"].get<std::string>(), e["brokerName"].get<std::string>(),
                     e["queueId"].get<int32_t>()}] = e["offset"].get<int64_t>();
  }
  return out;
}

}  // namespace

void OffsetStore::Update(const MessageQueue& mq, int64_t offset, bool increase_only) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = table_.try_emplace(mq, offset);
  if (!inserted && (!increase_only || offset > it->second)) it->second = offset;
}

std::optional<int64_t> OffsetStore::ReadFromMemory(const MessageQueue& mq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table_.find(mq);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

void OffsetStore::Remove(const MessageQueue& mq) {
  std::lock_guard<std::mutex> lock(mu_);
  table_.erase(mq);
}

std::map<MessageQueue, int64_t> OffsetStore::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return table_;
}

absl::StatusOr<std::optional<int64_t>> RemoteBrokerOffsetStore::ReadFromStore(
    const MessageQueue& mq) {
  return api_->QueryConsumerOffset(group_, mq, zero_if_not_found_);
}

absl::Status RemoteBrokerOffsetStore::Persist(const MessageQueue& mq) {
  std::optional<int64_t> offset = ReadFromMemory(mq);
  if (!offset.has_value()) return absl::OkStatus();
  return api_->UpdateConsumerOffset(group_, mq, *offset, /*oneway=*/false);
}

absl::Status RemoteBrokerOffsetStore::PersistAll(const std::vector<MessageQueue>& mqs) {
  absl::Status first;
  for (const MessageQueue& mq : mqs) {
    std::optional<int64_t> offset = ReadFromMemory(mq);
    if (!offset.has_value()) continue;
    absl::Status s = api_->UpdateConsumerOffset(group_, mq, *offset, /*oneway=*/true);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

LocalFileOffsetStore::LocalFileOffsetStore(std::filesystem::path dir, const std::string& client_key,
                                           const std::string& group)
    : path_(dir / client_key / group / "offsets.json") {}

std::filesystem::path LocalFileOffsetStore::DefaultDir() {
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home != nullptr && *home != '\0' ? home : "/tmp") /
         ".rocketmq_offsets";
}

absl::Status LocalFileOffsetStore::Load() {
  std::lock_guard<std::mutex> file_lock(file_mu_);
  absl::Status last;
  for (const std::filesystem::path& p : {path_, std::filesystem::path(path_.string() + ".bak")}) {
    std::ifstream in(p, std::ios::binary);
    if (!in) continue;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<std::map<MessageQueue, int64_t>> parsed = ParseOffsetsFile(text);
    if (!parsed.ok()) {
      last = absl::DataLossError(absl::StrCat(p.string(), ": ", parsed.status().message()));
      continue;
    }
    stored_ = *parsed;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [mq, off] : stored_) table_[mq] = off;
    return absl::OkStatus();
  }
  return last;  // OK when neither file exists
}

absl::StatusOr<std::optional<int64_t>> LocalFileOffsetStore::ReadFromStore(const MessageQueue& mq) {
  std::lock_guard<std::mutex> file_lock(file_mu_);
  auto it = stored_.find(mq);
  if (it == stored_.end()) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second);
}

absl::Status LocalFileOffsetStore::Persist(const MessageQueue& mq) {
  return PersistAll(std::vector<MessageQueue>{mq});
}

absl::Status LocalFileOffsetStore::PersistAll(const std::vector<MessageQueue>& mqs) {
  std::lock_guard<std::mutex> file_lock(file_mu_);
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const MessageQueue& mq : mqs) {
      auto it = table_.find(mq);
      if (it == table_.end()) continue;
      auto [s, inserted] = stored_.try_emplace(mq, it->second);
      if (inserted || s->second != it->second) {
        s->second = it->second;
        changed = true;
      }
    }
  }
  return changed ? WriteFile() : absl::OkStatus();
}

absl::Status LocalFileOffsetStore::WriteFile() {
  nlohmann::json table = nlohmann::json::array();
  for (const auto& [mq, off] : stored_) {
    table.push_back({{"brokerName", mq.broker_name},
                     {"offset", off},
                     {"queueId", mq.queue_id},
                     {"topic", mq.topic}});
  }
  const std::string text = nlohmann::json{{"offsetTable", table}}.dump(
                               -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                           "\n";
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  if (ec)
    return absl::InternalError("create " + path_.parent_path().string() + ": " + ec.message());
  const std::filesystem::path tmp = path_.string() + ".tmp";
  const std::filesystem::path bak = path_.string() + ".bak";
  if (absl::Status s = WriteAndSync(tmp, text); !s.ok()) return s;
  if (std::filesystem::exists(path_, ec)) {
    std::filesystem::copy_file(path_, bak, std::filesystem::copy_options::overwrite_existing, ec);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return ErrnoError("rename to " + path_.string());
  SyncDir(path_.parent_path());
  return absl::OkStatus();
}

}  // namespace rsclient
