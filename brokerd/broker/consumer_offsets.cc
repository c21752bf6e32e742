// ConsumerOffsetTable implementation (see consumer_offsets.h).
// Thread-safety: one mutex guards the table; file I/O happens on a snapshot.
#include "broker/consumer_offsets.h"

#include <cstdlib>

#include "broker/topic_config_manager.h"
#include "nlohmann/json.hpp"
#include "remoting/fastjson.h"

namespace brokerd::broker {

namespace {

std::string Key(std::string_view group, std::string_view topic) {
  std::string key(topic);
  key.push_back('@');
  key.append(group);
  return key;
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
  return root.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status ConsumerOffsetTable::Load(const std::string& path) {
  std::map<std::string, std::map<int32_t, int64_t>> table;
  absl::Status s = configfile::Load(path, [&](std::string_view text) -> absl::Status {
    absl::StatusOr<nlohmann::json> j = remoting::ParseFastjson(text, path);
    if (!j.ok()) return absl::DataLossError(j.status().message());
    std::map<std::string, std::map<int32_t, int64_t>> decoded;
    auto it = j->find("offsetTable");
    if (it != j->end()) {
      if (!it->is_object()) return absl::DataLossError(path + ": offsetTable is not an object");
      for (const auto& [key, queues] : it->items()) {
        if (!queues.is_object()) {
          return absl::DataLossError(path + ": offsets of " + key + " are not an object");
        }
        for (const auto& [qid, offset] : queues.items()) {
          char* end = nullptr;
          long q = std::strtol(qid.c_str(), &end, 10);
          if (qid.empty() || *end != '\0' || !offset.is_number_integer()) {
            return absl::DataLossError(path + ": bad entry " + key + "/" + qid);
          }
          decoded[key][static_cast<int32_t>(q)] = offset.get<int64_t>();
        }
      }
    }
    table = std::move(decoded);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
  return absl::OkStatus();
}

absl::Status ConsumerOffsetTable::Persist(const std::string& path) const {
  return configfile::Persist(path, ToJson());
}

}  // namespace brokerd::broker
