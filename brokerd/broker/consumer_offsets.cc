// ConsumerOffsetTable implementation (see consumer_offsets.h).
// Thread-safety: one mutex guards the table; file I/O happens on a snapshot.
#include "broker/consumer_offsets.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nlohmann/json.hpp"

namespace brokerd::broker {

namespace {

std::string Key(std::string_view group, std::string_view topic) {
  std::string key(topic);
  key.push_back('@');
  key.append(group);
  return key;
}

absl::Status Errno(const std::string& what) {
  return absl::InternalError(what + ": " + std::strerror(errno));
}

}  // namespace

void ConsumerOffsetTable::Commit(std::string_view group, std::string_view topic, int32_t queue_id,
                                 int64_t offset) {
  if (offset < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  table_[Key(group, topic)][queue_id] = offset;
}

std::optional<int64_t> ConsumerOffsetTable::Query(std::string_view group, std::string_view topic,
                                                  int32_t queue_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table_.find(Key(group, topic));
  if (it == table_.end()) return std::nullopt;
  auto q = it->second.find(queue_id);
  if (q == it->second.end()) return std::nullopt;
  return q->second;
}

std::string ConsumerOffsetTable::ToJson() const {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  nlohmann::ordered_json& table = root["offsetTable"] = nlohmann::ordered_json::object();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, queues] : table_) {
      nlohmann::ordered_json& q = table[key] = nlohmann::ordered_json::object();
      for (const auto& [queue_id, offset] : queues) q[std::to_string(queue_id)] = offset;
    }
  }
  return root.dump();
}

absl::Status ConsumerOffsetTable::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::OkStatus();
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return absl::InternalError("stat " + path + ": " + ec.message());
  if (size > kMaxConsumerOffsetFileBytes) {
    return absl::InvalidArgumentError(path + " is larger than " +
                                      std::to_string(kMaxConsumerOffsetFileBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InternalError("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(path + " is not a JSON object");
  }
  std::map<std::string, std::map<int32_t, int64_t>> table;
  auto it = j.find("offsetTable");
  if (it != j.end()) {
    if (!it->is_object())
      return absl::InvalidArgumentError(path + ": offsetTable is not an object");
    for (const auto& [key, queues] : it->items()) {
      if (!queues.is_object()) {
        return absl::InvalidArgumentError(path + ": offsets of " + key + " are not an object");
      }
      for (const auto& [qid, offset] : queues.items()) {
        char* end = nullptr;
        long q = std::strtol(qid.c_str(), &end, 10);
        if (qid.empty() || *end != '\0' || !offset.is_number_integer()) {
          return absl::InvalidArgumentError(path + ": bad entry " + key + "/" + qid);
        }
        table[key][static_cast<int32_t>(q)] = offset.get<int64_t>();
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
  return absl::OkStatus();
}

absl::Status ConsumerOffsetTable::Persist(const std::string& path) const {
  std::string text = ToJson();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return absl::InternalError("mkdir for " + path + ": " + ec.message());
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = Errno("write " + tmp);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno("fsync " + tmp);
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename " + tmp);
  return absl::OkStatus();
}

}  // namespace brokerd::broker
