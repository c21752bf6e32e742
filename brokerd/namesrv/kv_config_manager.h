// KvConfigManager: the name server's namespace -> key -> value store (RocketMQ 4.9.7
// KVConfigManager), served by PUT_KV_CONFIG / GET_KV_CONFIG / DELETE_KV_CONFIG /
// GET_KVLIST_BY_NAMESPACE and read for orderTopicConf (namespace ORDER_TOPIC_CONFIG).
//
// File: kvConfigPath, in RocketMQ's format {"configTable":{"<namespace>":{"<key>":"<value>"}}}
// (compact, as KVConfigSerializeWrapper.toJson() writes it; keys sorted). Every change is written
// before it is acknowledged, durably: path.tmp written and fsynced, the previous file kept as
// path.bak (through its own temporary), path.tmp renamed over path, directory fsynced. A failed
// write leaves the table and the file as they were. Loading falls back to path.bak when path is
// unusable (the same rules as the broker's configfile::Load); a file that cannot be used at all
// is an error naming the file(s), never a silently empty table.
//
// Java quirks kept: deleting the last key of a namespace keeps the (now empty) namespace, so
// GET_KVLIST_BY_NAMESPACE then answers {"table":{}}; keys and namespaces may be empty strings.
// Ours: strings are stored as valid UTF-8 (invalid sequences become U+FFFD on PUT, as Java's
// header decoding does), and a PUT that would make the file larger than kMaxKvConfigFileBytes is
// refused.
//
// Thread-safety: every method may be called from any thread. Readers take one short mutex and
// never wait for file I/O; writers are serialized by a second mutex held across the file write.
#ifndef BROKERD_NAMESRV_KV_CONFIG_MANAGER_H_
#define BROKERD_NAMESRV_KV_CONFIG_MANAGER_H_

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace brokerd::namesrv {

// NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG: key = topic, value = "brokerName:queueNums;...".
inline constexpr std::string_view kNamespaceOrderTopicConfig = "ORDER_TOPIC_CONFIG";

// Largest KV config file loaded or written.
inline constexpr size_t kMaxKvConfigFileBytes = 64u << 20;

class KvConfigManager {
 public:
  using Table = std::map<std::string, std::map<std::string, std::string>>;

  // path: the kvConfigPath file (its directory is created on the first write).
  explicit KvConfigManager(std::string path);

  KvConfigManager(const KvConfigManager&) = delete;
  KvConfigManager& operator=(const KvConfigManager&) = delete;

  // Loads path (or path.bak, see above). OK with an empty table when neither file exists.
  // When path was unusable and path.bak was loaded instead, *note (if given) says so; otherwise
  // it is left empty. Errors: DataLoss (empty, not the expected JSON, too large) or Internal (a
  // read error), each naming the file(s) and what was wrong.
  absl::Status Load(std::string* note = nullptr);

  // putKVConfig: sets namespace/key to value and persists. On error nothing changed.
  absl::Status Put(std::string_view ns, std::string_view key, std::string_view value);
  // deleteKVConfig: removes namespace/key (an absent one is a no-op) and persists.
  absl::Status Delete(std::string_view ns, std::string_view key);
  // getKVConfig: the value, or nullopt.
  std::optional<std::string> Get(std::string_view ns, std::string_view key) const;
  // getKVListByNamespace: KVTable JSON {"table":{"k":"v",...}} (keys sorted), or nullopt when
  // the namespace does not exist.
  std::optional<std::string> ListJson(std::string_view ns) const;
  // The file's JSON for the current table.
  std::string ToJson() const;
  Table Snapshot() const;
  const std::string& path() const { return path_; }

 private:
  // Writes `table` to the file and, on success, makes it the current table. write_mu_ held.
  absl::Status CommitLocked(Table table);

  const std::string path_;
  std::mutex write_mu_;    // serializes Put / Delete / Load (held across file I/O)
  mutable std::mutex mu_;  // guards table_
  Table table_;
};

// Encodes a table in the file's format.
std::string EncodeKvConfigTable(const KvConfigManager::Table& table);
// Decodes the file's text into *table (untouched on error). Errors are DataLoss saying what was
// wrong, without the file name.
absl::Status DecodeKvConfigTable(std::string_view text, KvConfigManager::Table* table);

}  // namespace brokerd::namesrv

#endif  // BROKERD_NAMESRV_KV_CONFIG_MANAGER_H_
