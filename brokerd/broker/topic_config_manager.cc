// TopicConfigManager and the shared config-file conventions (see topic_config_manager.h).
// Thread-safety: mu_ guards the table and version and is never held across file I/O; write_mu_
// serializes writers, which build the next table, persist it, and only then publish it.
#include "broker/topic_config_manager.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <utility>

#include "config/durable_file.h"
#include "nlohmann/json.hpp"

namespace brokerd::broker {

namespace {

using Json = nlohmann::ordered_json;
using Table = std::map<std::string, TopicConfig, std::less<>>;

// Decodes one file. OK = decoded; NotFound = the file does not exist; otherwise why it is
// unusable (the message starts with the file name).
absl::Status TryDecode(const std::string& file,
                       const std::function<absl::Status(std::string_view)>& decode) {
  absl::StatusOr<std::string> text = config::ReadFileLimited(file, configfile::kMaxConfigFileBytes);
  if (!text.ok()) return text.status();
  if (text->empty()) return absl::DataLossError(file + " is empty");
  absl::Status s = decode(*text);
  if (s.ok()) return s;
  return absl::Status(s.code(), file + ": " + std::string(s.message()));
}

void WritePretty(const Json& j, size_t depth, std::string* out) {
  const bool object = j.is_object();
  if (object || j.is_array()) {
    const char open = object ? '{' : '[';
    const char close = object ? '}' : ']';
    if (j.empty()) {
      out->push_back(open);
      out->push_back(close);
      return;
    }
    out->push_back(open);
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out->push_back(',');
      first = false;
      out->push_back('\n');
      out->append(depth + 1, '\t');
      if (object) {
        out->append(Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace));
        out->push_back(':');
      }
      WritePretty(*it, depth + 1, out);
    }
    out->push_back('\n');
    out->append(depth, '\t');
    out->push_back(close);
    return;
  }
  out->append(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

class JsonRecordReader final : public configfile::RecordReader {
 public:
  JsonRecordReader(const Json& record, std::string where)
      : record_(record), where_(std::move(where)) {}

  absl::Status Int32(const char* key, int32_t min, int32_t* out) const override {
    int64_t v = *out;
    absl::Status s = Int(key, min, std::numeric_limits<int32_t>::max(), &v);
    if (s.ok()) *out = static_cast<int32_t>(v);
    return s;
  }
  absl::Status Int64(const char* key, int64_t min, int64_t* out) const override {
    return Int(key, min, std::numeric_limits<int64_t>::max(), out);
  }
  absl::Status Bool(const char* key, bool* out) const override {
    auto it = record_.find(key);
    if (it == record_.end()) return absl::OkStatus();
    if (!it->is_boolean()) return Bad(key, *it, "a boolean");
    *out = it->get<bool>();
    return absl::OkStatus();
  }
  absl::Status String(const char* key, std::string* out) const override {
    auto it = record_.find(key);
    if (it == record_.end()) return absl::OkStatus();
    if (!it->is_string()) return Bad(key, *it, "a string");
    *out = it->get<std::string>();
    return absl::OkStatus();
  }

 private:
  absl::Status Int(const char* key, int64_t min, int64_t max, int64_t* out) const {
    auto it = record_.find(key);
    if (it == record_.end()) return absl::OkStatus();
    bool ok = false;
    int64_t v = 0;
    if (it->is_number_unsigned()) {
      uint64_t u = it->get<uint64_t>();
      ok = u <= static_cast<uint64_t>(max);
      v = static_cast<int64_t>(u);
    } else if (it->is_number_integer()) {
      v = it->get<int64_t>();
      ok = true;
    }
    if (!ok || v < min || v > max) {
      return Bad(key, *it,
                 "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    *out = v;
    return absl::OkStatus();
  }
  absl::Status Bad(const char* key, const Json& value, const std::string& want) const {
    return absl::DataLossError(where_ + "." + key + " is " +
                               value.dump(-1, ' ', false, Json::error_handler_t::replace) +
                               ", not " + want);
  }

  const Json& record_;
  const std::string where_;
};

std::string Encode(const Table& table, const DataVersion& version, JsonStyle style) {
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(table.size());
  configfile::RecordWriter w;
  for (const auto& [name, c] : table) {
    w.Bool("order", c.order)
        .Int("perm", c.perm)
        .Int("readQueueNums", c.read_queue_nums)
        .String("topicFilterType",
                c.topic_filter_type == TopicFilterType::kMultiTag ? "MULTI_TAG" : "SINGLE_TAG")
        .String("topicName", c.name)
        .Int("topicSysFlag", c.topic_sys_flag)
        .Int("writeQueueNums", c.write_queue_nums);
    rows.emplace_back(name, w.Finish());
  }
  return configfile::EncodeTable(version, "topicConfigTable", rows, style);
}

absl::Status Decode(std::string_view text, Table* table, DataVersion* version) {
  return configfile::DecodeTable(
      text, "topicConfigTable", version,
      [table](const std::string& name, const configfile::RecordReader& r) -> absl::Status {
        TopicConfig c;
        c.name = name;  // Java keys the table by the map key, as we do
        std::string filter = "SINGLE_TAG";
        for (absl::Status s :
             {r.Int32("readQueueNums", 0, &c.read_queue_nums),
              r.Int32("writeQueueNums", 0, &c.write_queue_nums), r.Int32("perm", 0, &c.perm),
              r.Int32("topicSysFlag", 0, &c.topic_sys_flag), r.Bool("order", &c.order),
              r.String("topicFilterType", &filter)}) {
          if (!s.ok()) return s;
        }
        if (filter == "SINGLE_TAG") {
          c.topic_filter_type = TopicFilterType::kSingleTag;
        } else if (filter == "MULTI_TAG") {
          c.topic_filter_type = TopicFilterType::kMultiTag;
        } else {
          return absl::DataLossError("topicConfigTable[" + configfile::Quote(name) +
                                     "].topicFilterType is " + configfile::Quote(filter) +
                                     ", not \"SINGLE_TAG\" or \"MULTI_TAG\"");
        }
        (*table)[name] = std::move(c);
        return absl::OkStatus();
      });
}

absl::Status ValidateName(std::string_view name, size_t max_length) {
  if (name.empty()) return absl::InvalidArgumentError("the topic name is empty");
  if (name.size() > max_length) {
    return absl::InvalidArgumentError("topic name " + std::string(name.substr(0, 32)) + "... is " +
                                      std::to_string(name.size()) + " characters, longer than " +
                                      std::to_string(max_length));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '%' || c == '|' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError("topic name " + configfile::Quote(name) +
                                        " has a character outside [%|a-zA-Z0-9_-]");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateConfig(const TopicConfig& c, size_t max_name_length = kMaxTopicLength) {
  if (absl::Status s = ValidateName(c.name, max_name_length); !s.ok()) return s;
  for (auto [what, n] : {std::pair<const char*, int32_t>{"readQueueNums", c.read_queue_nums},
                         std::pair<const char*, int32_t>{"writeQueueNums", c.write_queue_nums}}) {
    if (n < 1 || n > kMaxTopicQueueNums) {
      return absl::InvalidArgumentError("topic " + c.name + ": " + what + " is " +
                                        std::to_string(n) + ", must be 1.." +
                                        std::to_string(kMaxTopicQueueNums));
    }
  }
  if ((c.perm & ~kPermAll) != 0 || c.perm < 0) {
    return absl::InvalidArgumentError("topic " + c.name + ": perm " + std::to_string(c.perm) +
                                      " has bits other than PRIORITY(8)|READ(4)|WRITE(2)|"
                                      "INHERIT(1)");
  }
  return absl::OkStatus();
}

}  // namespace

std::string RetryTopic(std::string_view group) {
  return std::string(kRetryGroupTopicPrefix) + std::string(group);
}

std::string DlqTopic(std::string_view group) {
  return std::string(kDlqGroupTopicPrefix) + std::string(group);
}

absl::Status ValidateTopicName(std::string_view name) {
  return ValidateName(name, kMaxTopicLength);
}

namespace configfile {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DataVersion Next(const DataVersion& v) { return DataVersion{v.counter + 1, NowMs()}; }

absl::Status Load(const std::string& path,
                  const std::function<absl::Status(std::string_view text)>& decode) {
  absl::Status main = TryDecode(path, decode);
  if (main.ok()) return main;
  const std::string bak = path + ".bak";
  absl::Status backup = TryDecode(bak, decode);
  const bool main_missing = absl::IsNotFound(main);
  if (backup.ok()) {
    if (!main_missing) {
      std::fprintf(stderr, "brokerd: %s; loaded %s instead\n", std::string(main.message()).c_str(),
                   bak.c_str());
    }
    return backup;
  }
  const bool backup_missing = absl::IsNotFound(backup);
  if (main_missing && backup_missing) return absl::OkStatus();
  if (main_missing) {
    return absl::Status(backup.code(),
                        std::string(backup.message()) + " (and " + path + " does not exist)");
  }
  if (backup_missing) {
    return absl::Status(main.code(), std::string(main.message()) + " (and there is no backup " +
                                         bak + "; remove " + path +
                                         " to start with an empty table)");
  }
  return absl::Status(main.code(), std::string(main.message()) + "; the backup is unusable too: " +
                                       std::string(backup.message()));
}

std::string Quote(std::string_view s) {
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

void RecordWriter::Key(std::string_view key) {
  text_.push_back(text_.empty() ? '{' : ',');
  text_ += Quote(key);
  text_.push_back(':');
}

RecordWriter& RecordWriter::Bool(std::string_view key, bool value) {
  Key(key);
  text_ += value ? "true" : "false";
  return *this;
}

RecordWriter& RecordWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  text_ += std::to_string(value);
  return *this;
}

RecordWriter& RecordWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  text_ += Quote(value);
  return *this;
}

std::string RecordWriter::Finish() {
  std::string out = text_.empty() ? std::string("{") : std::move(text_);
  out.push_back('}');
  text_.clear();
  return out;
}

std::string EncodeTable(const DataVersion& version, std::string_view table_key,
                        const std::vector<std::pair<std::string, std::string>>& rows,
                        JsonStyle style) {
  std::string text = "{\"dataVersion\":{\"counter\":" + std::to_string(version.counter) +
                     ",\"timestamp\":" + std::to_string(version.timestamp_ms) + "},";
  text += Quote(table_key);
  text += ":{";
  bool first = true;
  for (const auto& [name, record] : rows) {
    if (!first) text.push_back(',');
    first = false;
    text += Quote(name);
    text.push_back(':');
    text += record;
  }
  text += "}}";
  return Format(text, style);
}

absl::Status DecodeTable(
    std::string_view text, std::string_view table_key, DataVersion* version,
    const std::function<absl::Status(const std::string& name, const RecordReader& r)>& record) {
  Json root = Json::parse(text, nullptr, false);
  if (root.is_discarded()) return absl::DataLossError("not valid JSON");
  if (!root.is_object()) return absl::DataLossError("not a JSON object");
  const std::string key(table_key);
  if (auto it = root.find("dataVersion"); it != root.end()) {
    if (!it->is_object()) return absl::DataLossError("dataVersion is not an object");
    JsonRecordReader r(*it, "dataVersion");
    DataVersion v = *version;
    if (absl::Status s = r.Int64("counter", 0, &v.counter); !s.ok()) return s;
    if (absl::Status s = r.Int64("timestamp", 0, &v.timestamp_ms); !s.ok()) return s;
    *version = v;
  }
  auto it = root.find(key);
  if (it == root.end()) return absl::DataLossError("no " + key);
  if (!it->is_object()) return absl::DataLossError(key + " is not an object");
  for (auto e = it->begin(); e != it->end(); ++e) {
    const std::string where = key + "[" + Quote(e.key()) + "]";
    if (e.key().empty()) return absl::DataLossError(key + " has an entry with an empty name");
    if (!e->is_object()) return absl::DataLossError(where + " is not an object");
    JsonRecordReader r(*e, where);
    if (absl::Status s = record(e.key(), r); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Persist(const std::string& path, std::string_view text) {
  return config::PersistDurably(path, text);
}

std::string Format(std::string_view compact_json, JsonStyle style) {
  if (style == JsonStyle::kCompact) return std::string(compact_json);
  Json j = Json::parse(compact_json, nullptr, false);
  if (j.is_discarded()) return std::string(compact_json);  // not ours; leave it as it is
  std::string out;
  out.reserve(compact_json.size() * 2);
  WritePretty(j, 0, &out);
  return out;
}

}  // namespace configfile

TopicConfigManager::TopicConfigManager(std::string path) : path_(std::move(path)) {
  version_.timestamp_ms = configfile::NowMs();
}

absl::Status TopicConfigManager::Load() {
  if (path_.empty()) return absl::FailedPreconditionError("TopicConfigManager has no file path");
  std::lock_guard<std::mutex> write(write_mu_);
  return configfile::LoadTable(
      path_, mu_, &table_, &version_,
      [](std::string_view text, Table* t, DataVersion* v) { return Decode(text, t, v); });
}

absl::Status TopicConfigManager::Persist() const {
  if (path_.empty()) {
    return absl::FailedPreconditionError("TopicConfigManager has no file path");
  }
  std::lock_guard<std::mutex> write(write_mu_);
  return configfile::Persist(path_, ToJson(JsonStyle::kPretty));
}

std::optional<TopicConfig> TopicConfigManager::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table_.find(name);
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, TopicConfig> TopicConfigManager::Snapshot(DataVersion* version) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (version != nullptr) *version = version_;
  return std::map<std::string, TopicConfig>(table_.begin(), table_.end());
}

DataVersion TopicConfigManager::data_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

std::string TopicConfigManager::ToJson(JsonStyle style) const {
  Table table;
  DataVersion version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    table = table_;
    version = version_;
  }
  return Encode(table, version, style);
}

absl::Status TopicConfigManager::ApplyLocked(const std::string& name,
                                             const std::optional<TopicConfig>& value) {
  Table next;
  DataVersion version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    next = table_;
    version = version_;
  }
  if (value.has_value()) {
    next[name] = *value;
  } else {
    next.erase(name);
  }
  version = configfile::Next(version);
  if (!path_.empty()) {
    if (absl::Status s = configfile::Persist(path_, Encode(next, version, JsonStyle::kPretty));
        !s.ok()) {
      return s;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  table_.swap(next);
  version_ = version;
  return absl::OkStatus();
}

absl::Status TopicConfigManager::CreateOrUpdate(const TopicConfig& config) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  std::lock_guard<std::mutex> write(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(config.name);
    if (it != table_.end() && it->second == config) return absl::OkStatus();
  }
  return ApplyLocked(config.name, config);
}

absl::Status TopicConfigManager::Delete(std::string_view name) {
  std::lock_guard<std::mutex> write(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (table_.find(name) == table_.end()) {
      return absl::NotFoundError("topic " + configfile::Quote(name) + " does not exist");
    }
  }
  return ApplyLocked(std::string(name), std::nullopt);
}

absl::StatusOr<TopicConfig> TopicConfigManager::CreateFromDefault(std::string_view topic,
                                                                  std::string_view default_topic,
                                                                  int32_t client_default_queue_nums,
                                                                  int32_t topic_sys_flag) {
  if (std::optional<TopicConfig> found = Find(topic)) return *found;  // no wait behind a write
  if (absl::Status s = ValidateTopicName(topic); !s.ok()) return s;
  std::lock_guard<std::mutex> write(write_mu_);
  TopicConfig def;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = table_.find(topic); it != table_.end()) return it->second;
    auto d = table_.find(default_topic);
    if (d == table_.end()) {
      return absl::NotFoundError("topic " + std::string(topic) +
                                 " does not exist and cannot be created: default topic " +
                                 configfile::Quote(default_topic) + " does not exist");
    }
    def = d->second;
  }
  if ((def.perm & kPermInherit) == 0) {
    return absl::NotFoundError("topic " + std::string(topic) +
                               " does not exist and cannot be created: default topic " + def.name +
                               " has perm " + std::to_string(def.perm) + " without PERM_INHERIT");
  }
  TopicConfig c;
  c.name = std::string(topic);
  const int32_t n =
      std::clamp(std::min(client_default_queue_nums, def.write_queue_nums), 1, kMaxTopicQueueNums);
  c.read_queue_nums = n;
  c.write_queue_nums = n;
  c.perm = def.perm & ~kPermInherit;
  c.topic_filter_type = def.topic_filter_type;
  c.topic_sys_flag = topic_sys_flag;
  c.order = false;
  if (absl::Status s = ApplyLocked(c.name, c); !s.ok()) return s;
  return c;
}

absl::StatusOr<TopicConfig> TopicConfigManager::EnsureSystemTopic(std::string_view name,
                                                                  int32_t queue_nums, int32_t perm,
                                                                  int32_t topic_sys_flag) {
  if (std::optional<TopicConfig> found = Find(name)) return *found;
  TopicConfig c;
  c.name = std::string(name);
  c.read_queue_nums = queue_nums;
  c.write_queue_nums = queue_nums;
  c.perm = perm;
  c.topic_sys_flag = topic_sys_flag;
  if (absl::Status s = ValidateConfig(c, kMaxSystemTopicLength); !s.ok()) return s;
  std::lock_guard<std::mutex> write(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = table_.find(name); it != table_.end()) return it->second;
  }
  if (absl::Status s = ApplyLocked(c.name, c); !s.ok()) return s;
  return c;
}

absl::StatusOr<TopicConfig> TopicConfigManager::EnsureRetryTopic(std::string_view group,
                                                                 int32_t retry_queue_nums) {
  return EnsureSystemTopic(RetryTopic(group), retry_queue_nums, kPermRead | kPermWrite);
}

absl::StatusOr<TopicConfig> TopicConfigManager::EnsureDlqTopic(std::string_view group) {
  return EnsureSystemTopic(DlqTopic(group), kDlqQueueNumsPerGroup, kPermRead | kPermWrite);
}

}  // namespace brokerd::broker
