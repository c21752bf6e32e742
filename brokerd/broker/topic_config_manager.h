// TopicConfigManager: the broker's topic table (RocketMQ's TopicConfigManager), persisted as
// <storeRoot>/config/topics.json in RocketMQ 4.9.7's format:
//   {"dataVersion":{"counter":N,"timestamp":T},
//    "topicConfigTable":{"name":{"order":false,"perm":6,"readQueueNums":4,
//      "topicFilterType":"SINGLE_TAG","topicName":"name","topicSysFlag":0,"writeQueueNums":4},...}}
// written the way fastjson's PrettyFormat writes it (tab indents, no space after ':', no trailing
// newline), so a Java broker can read our file and we can read its file and its .bak.
//
// Durability: every change (CreateOrUpdate, Delete, CreateFromDefault, EnsureSystemTopic) is
// written to the file (temporary file + fsync + rename + directory fsync, previous file kept as
// "<path>.bak" as RocketMQ's MixAll.string2File does) BEFORE it becomes visible to Find/Snapshot
// and before the call returns. A change whose write fails is not applied and the error is
// returned, so a create-topic request may be acknowledged as soon as the call returns OK.
// A manager built with an empty path keeps everything in memory (nothing is written).
//
// Also here: the file conventions shared with SubscriptionGroupManager (namespace configfile):
// DataVersion, loading with the ".bak" fallback, persisting, fastjson formatting.
//
// Thread-safety: every method may be called from any thread. Readers (Find, Snapshot, ToJson,
// data_version) take one short internal mutex and never wait for file I/O; writers are serialized
// by a second mutex held across the file write.
#ifndef BROKERD_BROKER_TOPIC_CONFIG_MANAGER_H_
#define BROKERD_BROKER_TOPIC_CONFIG_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace brokerd::broker {

// Permission bits of a topic (RocketMQ's PermName).
inline constexpr int32_t kPermPriority = 8;
inline constexpr int32_t kPermRead = 4;
inline constexpr int32_t kPermWrite = 2;
inline constexpr int32_t kPermInherit = 1;
inline constexpr int32_t kPermAll = kPermPriority | kPermRead | kPermWrite | kPermInherit;

// Longest topic name accepted (RocketMQ's TopicValidator.TOPIC_MAX_LENGTH).
inline constexpr size_t kMaxTopicLength = 127;
// Longest name EnsureSystemTopic accepts: "%RETRY%" + a group name of up to 255 characters (the
// Java client's group limit; Java's broker does not check the length of these topics).
inline constexpr size_t kMaxSystemTopicLength = 7 + 255;
// Queue counts accepted by CreateOrUpdate / EnsureSystemTopic: 1..kMaxTopicQueueNums.
inline constexpr int32_t kMaxTopicQueueNums = 1024;

// The topic that carries auto-creation defaults (TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC).
inline constexpr std::string_view kAutoCreateTopicKey = "TBW102";
// Delayed messages wait here, one queue per delay level (TopicValidator.RMQ_SYS_SCHEDULE_TOPIC).
inline constexpr std::string_view kScheduleTopic = "SCHEDULE_TOPIC_XXXX";
inline constexpr int32_t kScheduleTopicQueueNums = 18;
// Per-group retry and dead-letter topics (MixAll.RETRY_GROUP_TOPIC_PREFIX /
// DLQ_GROUP_TOPIC_PREFIX). RocketMQ 4.9.7 creates both with perm READ|WRITE; the DLQ has
// DLQ_NUMS_PER_GROUP = 1 queue and the retry topic the group's retryQueueNums (1 by default).
inline constexpr std::string_view kRetryGroupTopicPrefix = "%RETRY%";
inline constexpr std::string_view kDlqGroupTopicPrefix = "%DLQ%";
inline constexpr int32_t kDlqQueueNumsPerGroup = 1;

std::string RetryTopic(std::string_view group);
std::string DlqTopic(std::string_view group);

// OK when `name` is 1..kMaxTopicLength characters of [%|a-zA-Z0-9_-]; InvalidArgument otherwise
// (the message names the topic and the rule).
absl::Status ValidateTopicName(std::string_view name);

enum class TopicFilterType { kSingleTag, kMultiTag };

// One topic (RocketMQ's TopicConfig). Defaults are Java's.
struct TopicConfig {
  std::string name;
  int32_t read_queue_nums = 16;
  int32_t write_queue_nums = 16;
  int32_t perm = kPermRead | kPermWrite;
  TopicFilterType topic_filter_type = TopicFilterType::kSingleTag;
  int32_t topic_sys_flag = 0;
  bool order = false;

  bool operator==(const TopicConfig&) const = default;
};

enum class JsonStyle {
  kPretty,   // the config file (fastjson PrettyFormat: tabs, newlines)
  kCompact,  // request bodies (e.g. REGISTER_BROKER's topicConfigSerializeWrapper)
};

// RocketMQ's DataVersion: bumped (counter + 1, timestamp = now) on every change.
struct DataVersion {
  int64_t counter = 0;
  int64_t timestamp_ms = 0;

  bool operator==(const DataVersion&) const = default;
};

namespace configfile {

// Largest config file Load accepts.
inline constexpr size_t kMaxConfigFileBytes = 64u << 20;

// Milliseconds since the Unix epoch (DataVersion timestamps, as Java's currentTimeMillis).
int64_t NowMs();
// {counter + 1, NowMs()}.
DataVersion Next(const DataVersion& v);

// RocketMQ ConfigManager.load(): calls decode(text of `path`); when `path` is missing, empty or
// does not decode, calls decode(text of `path`.bak) instead. `decode` must leave the caller's
// state untouched unless it returns OK. Returns:
//   OK (decode not called)  neither file exists: start with an empty table;
//   OK                      one of them decoded (a fallback from a present but unusable main
//                           file is reported on stderr);
//   DataLoss                a file is empty, not the expected JSON, or over kMaxConfigFileBytes;
//   Internal                a file could not be read (the errno text is in the message).
// Each message names the file(s) and what was wrong. Unlike Java, an unusable main file with no
// usable .bak is an error (the operator decides), not a silently empty table.
absl::Status Load(const std::string& path,
                  const std::function<absl::Status(std::string_view text)>& decode);

// The Load of a versioned table file (topics.json, subscriptionGroup.json): Load(path) with
// decode(text, &table, &version); then, under `mu`, *table becomes what was decoded (empty when
// neither file exists) and *version the decoded version (kept when none was decoded). The
// caller serializes writers; `mu` guards *table and *version and is not held across file I/O.
template <typename Table, typename Decode>
absl::Status LoadTable(const std::string& path, std::mutex& mu, Table* table, DataVersion* version,
                       Decode decode) {
  Table loaded;
  DataVersion loaded_version;
  bool decoded = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    loaded_version = *version;
  }
  absl::Status s = Load(path, [&](std::string_view text) {
    Table t;
    DataVersion v = loaded_version;
    absl::Status d = decode(text, &t, &v);
    if (!d.ok()) return d;
    loaded = std::move(t);
    loaded_version = v;
    decoded = true;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu);
  *table = std::move(loaded);
  if (decoded) *version = loaded_version;
  return absl::OkStatus();
}

// RocketMQ MixAll.string2File made durable: writes `text` to path.tmp and fsyncs it, copies the
// current `path` (when present) to path.bak the same way, renames path.tmp over `path` and fsyncs
// the directory (created when missing). On error `path` is left as it was.
absl::Status Persist(const std::string& path, std::string_view text);

// Re-formats compact JSON text as fastjson writes it in `style` (kCompact: unchanged).
// The input must be valid JSON (it is produced by our own encoders).
std::string Format(std::string_view compact_json, JsonStyle style);

// One record of a table ({"field":value,...}) for decoders. Each getter leaves *out unchanged
// when the field is absent (Java keeps the field's default) and returns DataLoss naming the
// record and field when the value has the wrong type or is out of [min, INT_MAX].
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  virtual absl::Status Int32(const char* key, int32_t min, int32_t* out) const = 0;
  virtual absl::Status Int64(const char* key, int64_t min, int64_t* out) const = 0;
  virtual absl::Status Bool(const char* key, bool* out) const = 0;
  virtual absl::Status String(const char* key, std::string* out) const = 0;
};

// Decodes {"dataVersion":{"counter":N,"timestamp":T},"<table_key>":{"<name>":{record},...}}:
// sets *version when dataVersion is present and calls record(name, reader) for every entry in
// file order. DataLoss when the text is not such JSON or `record` fails (its message is kept).
absl::Status DecodeTable(
    std::string_view text, std::string_view table_key, DataVersion* version,
    const std::function<absl::Status(const std::string& name, const RecordReader& r)>& record);

// Builds one compact record; call the setters in the order the fields are to appear (fastjson
// writes bean fields in alphabetical order).
class RecordWriter {
 public:
  RecordWriter& Bool(std::string_view key, bool value);
  RecordWriter& Int(std::string_view key, int64_t value);
  RecordWriter& String(std::string_view key, std::string_view value);
  // "{...}"; the writer is empty afterwards.
  std::string Finish();

 private:
  void Key(std::string_view key);
  std::string text_;
};

// {"dataVersion":{...},"<table_key>":{"<name>":<record>,...}} in `style`; rows are (name,
// RecordWriter::Finish() text) in the order to write them.
std::string EncodeTable(const DataVersion& version, std::string_view table_key,
                        const std::vector<std::pair<std::string, std::string>>& rows,
                        JsonStyle style);

// JSON string literal of s (quotes and escapes; invalid UTF-8 replaced by U+FFFD).
std::string Quote(std::string_view s);

}  // namespace configfile

class TopicConfigManager {
 public:
  // `path` is the topics.json file ("<storeRoot>/config/topics.json"); empty = in memory only.
  // The table starts empty with DataVersion {0, now}.
  explicit TopicConfigManager(std::string path);
  TopicConfigManager(const TopicConfigManager&) = delete;
  TopicConfigManager& operator=(const TopicConfigManager&) = delete;

  const std::string& path() const { return path_; }

  // Replaces the table and data version with the file's (configfile::Load: falls back to
  // path.bak). Missing file(s) = empty table, OK. Call it once at startup, before
  // EnsureSystemTopic: Java pre-fills system topics and lets the file override them; loading and
  // then ensuring gives the same table.
  absl::Status Load();
  // Writes the current table (changes are persisted by the mutators already; this is for
  // rewriting a file, e.g. after loading from .bak). FailedPrecondition when path() is empty.
  absl::Status Persist() const;

  std::optional<TopicConfig> Find(std::string_view name) const;
  // The whole table by name; `version` (optional) receives the data version of that same state.
  std::map<std::string, TopicConfig> Snapshot(DataVersion* version = nullptr) const;
  DataVersion data_version() const;
  // {"dataVersion":{...},"topicConfigTable":{...}}: the file text (kPretty) or the
  // topicConfigSerializeWrapper of REGISTER_BROKER's body (kCompact). Topics in name order.
  std::string ToJson(JsonStyle style = JsonStyle::kPretty) const;

  // Adds or replaces config.name (UPDATE_AND_CREATE_TOPIC). InvalidArgument (message says what)
  // unless the name passes ValidateTopicName, both queue counts are 1..kMaxTopicQueueNums and perm
  // has only PermName bits. Storing a config equal to the current one changes nothing.
  absl::Status CreateOrUpdate(const TopicConfig& config);
  // Removes the topic (DELETE_TOPIC_IN_BROKER). NotFound when absent.
  absl::Status Delete(std::string_view name);

  // RocketMQ createTopicInSendMessageMethod: the existing config of `topic`, or a new one copied
  // from `default_topic` (normally TBW102): queue nums = min(client_default_queue_nums, default's
  // writeQueueNums) (clamped to >= 1; Java would store 0), perm = default's perm without
  // PERM_INHERIT, filter type from the default, order false, topicSysFlag = topic_sys_flag.
  // NotFound when the default topic is missing or lacks PERM_INHERIT (answer TOPIC_NOT_EXIST),
  // InvalidArgument for a bad topic name, other codes when the file write failed.
  // Callers must not pass a default with PERM_INHERIT when autoCreateTopicEnable=false: Java then
  // treats TBW102 as perm READ|WRITE (see the integration notes).
  absl::StatusOr<TopicConfig> CreateFromDefault(std::string_view topic,
                                                std::string_view default_topic,
                                                int32_t client_default_queue_nums,
                                                int32_t topic_sys_flag = 0);
  // RocketMQ createTopicInSendMessageBackMethod: the existing config of `name`, else a new one
  // with read = write = queue_nums, `perm`, `topic_sys_flag`. Used for SCHEDULE_TOPIC_XXXX
  // (kScheduleTopicQueueNums, READ|WRITE), %RETRY%<group> (retryQueueNums, READ|WRITE) and
  // %DLQ%<group> (kDlqQueueNumsPerGroup, READ|WRITE). InvalidArgument as in CreateOrUpdate,
  // except that names may be up to kMaxSystemTopicLength characters.
  absl::StatusOr<TopicConfig> EnsureSystemTopic(std::string_view name, int32_t queue_nums,
                                                int32_t perm = kPermRead | kPermWrite,
                                                int32_t topic_sys_flag = 0);
  // The two per-group topics of RocketMQ 4.9.7's send-back path.
  absl::StatusOr<TopicConfig> EnsureRetryTopic(std::string_view group, int32_t retry_queue_nums);
  absl::StatusOr<TopicConfig> EnsureDlqTopic(std::string_view group);

 private:
  // Puts (value set) or erases `name`, bumps the version, persists, then publishes.
  // Requires write_mu_.
  absl::Status ApplyLocked(const std::string& name, const std::optional<TopicConfig>& value);

  const std::string path_;
  mutable std::mutex write_mu_;  // serializes mutators, Load and Persist (held across file I/O)
  mutable std::mutex mu_;        // guards table_ and version_ (never held across file I/O)
  std::map<std::string, TopicConfig, std::less<>> table_;
  DataVersion version_;
};

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_TOPIC_CONFIG_MANAGER_H_
