// KvConfigManager implementation (see kv_config_manager.h); files are written through
// config/durable_file.h.
// Thread-safety: see kv_config_manager.h.
#include "namesrv/kv_config_manager.h"

#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"
#include "config/durable_file.h"
#include "nlohmann/json.hpp"

namespace brokerd::namesrv {
namespace {

using Json = nlohmann::json;  // std::map objects: keys come out sorted

// Decodes one file into *table. OK = decoded; NotFound = no such file; otherwise why the file
// is unusable (the message names it).
absl::Status TryLoadFile(const std::string& file, KvConfigManager::Table* table) {
  absl::StatusOr<std::string> text = config::ReadFileLimited(file, kMaxKvConfigFileBytes);
  if (!text.ok()) return text.status();
  if (text->empty()) return absl::DataLossError(file + " is empty");
  absl::Status s = DecodeKvConfigTable(*text, table);
  if (s.ok()) return s;
  return absl::Status(s.code(), file + ": " + std::string(s.message()));
}

// s as valid UTF-8: invalid sequences become U+FFFD.
std::string ValidUtf8(std::string_view s) {
  const std::string quoted =
      Json(std::string(s)).dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
  return Json::parse(quoted).get<std::string>();
}

std::string Dump(const Json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace

std::string EncodeKvConfigTable(const KvConfigManager::Table& table) {
  Json config = Json::object();
  for (const auto& [ns, kv] : table) {
    Json entries = Json::object();
    for (const auto& [k, v] : kv) entries[k] = v;
    config[ns] = std::move(entries);
  }
  Json root = Json::object();
  root["configTable"] = std::move(config);
  return Dump(root);
}

absl::Status DecodeKvConfigTable(std::string_view text, KvConfigManager::Table* table) {
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::DataLossError("not valid JSON");
  if (!root.is_object()) return absl::DataLossError("not a JSON object");
  auto cit = root.find("configTable");
  if (cit == root.end()) return absl::DataLossError("no configTable");
  if (!cit->is_object()) return absl::DataLossError("configTable is not an object");
  KvConfigManager::Table out;
  for (auto ns = cit->begin(); ns != cit->end(); ++ns) {
    const std::string where = "configTable[" + Dump(Json(ns.key())) + "]";
    if (!ns->is_object()) return absl::DataLossError(where + " is not an object");
    auto& kv = out[ns.key()];
    for (auto e = ns->begin(); e != ns->end(); ++e) {
      if (!e->is_string()) {
        return absl::DataLossError(where + "[" + Dump(Json(e.key())) + "] is not a string");
      }
      kv[e.key()] = e->get<std::string>();
    }
  }
  *table = std::move(out);
  return absl::OkStatus();
}

KvConfigManager::KvConfigManager(std::string path) : path_(std::move(path)) {}

absl::Status KvConfigManager::Load(std::string* note) {
  if (note != nullptr) note->clear();
  std::lock_guard<std::mutex> write(write_mu_);
  Table table;
  const absl::Status main = TryLoadFile(path_, &table);
  absl::Status result = main;
  if (!main.ok()) {
    const std::string bak = path_ + ".bak";
    const absl::Status backup = TryLoadFile(bak, &table);
    const bool main_missing = absl::IsNotFound(main);
    const bool backup_missing = absl::IsNotFound(backup);
    if (backup.ok()) {
      if (!main_missing && note != nullptr) {
        *note = std::string(main.message()) + "; loaded " + bak + " instead";
      }
      result = absl::OkStatus();
    } else if (main_missing && backup_missing) {
      result = absl::OkStatus();  // first start: empty table
    } else if (main_missing) {
      result = absl::Status(backup.code(),
                            std::string(backup.message()) + " (and " + path_ + " does not exist)");
    } else if (backup_missing) {
      result = absl::Status(main.code(), std::string(main.message()) + " (and there is no backup " +
                                             bak + "; remove " + path_ +
                                             " to start with an empty KV config)");
    } else {
      result = absl::Status(main.code(),
                            std::string(main.message()) +
                                "; the backup is unusable too: " + std::string(backup.message()));
    }
  }
  if (!result.ok()) return result;
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
  return absl::OkStatus();
}

absl::Status KvConfigManager::CommitLocked(Table table) {
  const std::string text = EncodeKvConfigTable(table);
  if (text.size() > kMaxKvConfigFileBytes) {
    return absl::ResourceExhaustedError(
        "the KV config would grow to " + std::to_string(text.size()) +
        " bytes, more than the limit of " + std::to_string(kMaxKvConfigFileBytes));
  }
  if (absl::Status s = config::PersistDurably(path_, text, kMaxKvConfigFileBytes); !s.ok()) {
    return absl::Status(s.code(), "persist KV config: " + std::string(s.message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(table);
  return absl::OkStatus();
}

absl::Status KvConfigManager::Put(std::string_view ns, std::string_view key,
                                  std::string_view value) {
  std::lock_guard<std::mutex> write(write_mu_);
  Table table = Snapshot();
  table[ValidUtf8(ns)][ValidUtf8(key)] = ValidUtf8(value);
  return CommitLocked(std::move(table));
}

absl::Status KvConfigManager::Delete(std::string_view ns, std::string_view key) {
  std::lock_guard<std::mutex> write(write_mu_);
  Table table = Snapshot();
  auto it = table.find(ValidUtf8(ns));
  if (it == table.end() || it->second.erase(ValidUtf8(key)) == 0) return absl::OkStatus();
  return CommitLocked(std::move(table));  // an emptied namespace stays, as in Java
}

std::optional<std::string> KvConfigManager::Get(std::string_view ns, std::string_view key) const {
  const std::string n = ValidUtf8(ns);
  const std::string k = ValidUtf8(key);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = table_.find(n);
  if (it == table_.end()) return std::nullopt;
  auto kit = it->second.find(k);
  if (kit == it->second.end()) return std::nullopt;
  return kit->second;
}

std::optional<std::string> KvConfigManager::ListJson(std::string_view ns) const {
  const std::string n = ValidUtf8(ns);
  Json entries = Json::object();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = table_.find(n);
    if (it == table_.end()) return std::nullopt;
    for (const auto& [k, v] : it->second) entries[k] = v;
  }
  Json root = Json::object();
  root["table"] = std::move(entries);
  return Dump(root);
}

std::string KvConfigManager::ToJson() const { return EncodeKvConfigTable(Snapshot()); }

KvConfigManager::Table KvConfigManager::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_;
}

}  // namespace brokerd::namesrv
