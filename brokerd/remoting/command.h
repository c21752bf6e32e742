// RemotingCommand: one decoded RocketMQ remoting frame (header fields + body), the ordered
// "extFields" map, serialize types and LanguageCode names <-> bytes (spec sections 1.3-1.5).
// Thread-safety: plain values; const methods may be called concurrently, mutation needs
// external synchronization.
#ifndef BROKERD_REMOTING_COMMAND_H_
#define BROKERD_REMOTING_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "remoting/codes.h"

namespace brokerd::remoting {

// The header encoding of a frame: the high byte of the frame's second int.
enum class SerializeType : uint8_t {
  kJson = 0,      // JSON text header (every client)
  kRocketMq = 1,  // ROCKETMQ binary header (Java with -Drocketmq.serialize.type=ROCKETMQ)
};
// "JSON" / "ROCKETMQ" (the values of the JSON header's serializeTypeCurrentRPC).
std::string_view SerializeTypeName(SerializeType type);

// LanguageCode byte of the ROCKETMQ binary header for a language name ("JAVA" -> 0 ...
// "NODE_JS" -> 13), or nullopt for a name the table does not know.
std::optional<uint8_t> LanguageCodeFromName(std::string_view name);
// The name for a LanguageCode byte, or nullopt for an unknown byte (Java decodes it as null).
std::optional<std::string_view> LanguageNameFromCode(uint8_t code);
// What the binary encoder writes for a name the table does not know, and the name the binary
// decoder gives an unknown byte: LanguageCode.OTHER.
inline constexpr uint8_t kLanguageOther = 7;
inline constexpr std::string_view kLanguageOtherName = "OTHER";

// The "custom header": string -> string, in insertion order. Re-encoding a decoded command writes
// the keys in the order they arrived (Java's HashMap order is not alphabetical, and a
// byte-identical re-encoding needs the original order). A key appears at most once: Set on an
// existing key replaces the value in place (so a duplicate key on the wire: the later value wins,
// at the first position, like Java's HashMap.put).
class ExtFields {
 public:
  using Entry = std::pair<std::string, std::string>;
  using const_iterator = std::vector<Entry>::const_iterator;

  ExtFields() = default;
  ExtFields(std::initializer_list<Entry> entries);

  // Sets key to value (replacing in place, or appending).
  void Set(std::string key, std::string value);
  // The value of key, or nullptr. The pointer is valid until the next mutation.
  const std::string* Find(std::string_view key) const;
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  // Removes key; returns whether it was present. Later entries keep their relative order.
  bool Erase(std::string_view key);
  void Clear();

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }
  const std::vector<Entry>& entries() const { return entries_; }

  // Equal when the same entries are in the same order.
  friend bool operator==(const ExtFields& a, const ExtFields& b) {
    return a.entries_ == b.entries_;
  }

 private:
  // Maps with more entries than this keep a hash index (decoding a hostile header with many
  // keys stays linear).
  static constexpr size_t kIndexThreshold = 16;
  // Position of key in entries_, or -1.
  ptrdiff_t IndexOf(std::string_view key) const;
  void RebuildIndex();

  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // empty while size() <= kIndexThreshold
};

// One remoting frame.
struct RemotingCommand {
  int32_t code = 0;                   // request code, or response code in responses
  std::string language = "JAVA";      // LanguageCode name of the sender
  int32_t version = 0;                // sender's MQVersion ordinal
  int32_t opaque = 0;                 // request id; echoed by the response
  int32_t flag = 0;                   // kFlagResponse | kFlagOneway
  std::optional<std::string> remark;  // nullopt = null / absent on the wire
  ExtFields ext_fields;               // the custom header
  // JSON only: write "extFields":{} when ext_fields is empty instead of omitting the key. Java
  // writes {} for commands that had a custom header class with no non-null field, and omits the
  // key otherwise. The JSON decoder sets this when the header had an extFields object (even
  // {}); the binary format cannot tell empty from absent, so its decoder leaves it false.
  bool emit_empty_ext_fields = false;
  std::string body;                                     // opaque payload (may be empty)
  SerializeType serialize_type = SerializeType::kJson;  // header encoding it arrived in

  bool IsResponse() const { return (flag & kFlagResponse) != 0; }
  bool IsOneway() const { return (flag & kFlagOneway) != 0; }
  void MarkResponse() { flag |= kFlagResponse; }
  void MarkOneway() { flag |= kFlagOneway; }

  // ext_fields.Find(name).
  const std::string* FindExtField(std::string_view name) const { return ext_fields.Find(name); }
  void SetExtField(std::string name, std::string value) {
    ext_fields.Set(std::move(name), std::move(value));
  }

  // Typed reads of a header field. Values arrive as JSON strings, numbers or booleans (cpp and
  // ali-ons send numbers/booleans, Java strings); the decoders keep each as its text, which these
  // parse. Errors are InvalidArgument naming the field: missing (Get*) or malformed.
  //  * integers: optional sign and decimal digits only, in range ("12", "-1", "+3"; not "1.0",
  //    "1e3", " 1", "0x1");
  //  * booleans: "true" / "false", case-insensitive (what Java's Boolean.parseBoolean accepts as
  //    true, plus an explicit false).
  absl::StatusOr<int32_t> GetInt32(std::string_view name) const;
  absl::StatusOr<int64_t> GetInt64(std::string_view name) const;
  absl::StatusOr<bool> GetBool(std::string_view name) const;
  absl::StatusOr<std::string> GetString(std::string_view name) const;
  // Like Get*, but an absent field gives `fallback` (a malformed one is still an error).
  absl::StatusOr<int32_t> GetInt32Or(std::string_view name, int32_t fallback) const;
  absl::StatusOr<int64_t> GetInt64Or(std::string_view name, int64_t fallback) const;
  absl::StatusOr<bool> GetBoolOr(std::string_view name, bool fallback) const;

  // Field-by-field equality (including the order of ext_fields).
  friend bool operator==(const RemotingCommand&, const RemotingCommand&) = default;
};

// A response to `request`: same opaque and serialize type, flag = kFlagResponse (oneway bit
// cleared, like Java's markResponseType on a fresh command), language "JAVA", version
// kServerVersion, the given code and remark (omit the remark on success).
RemotingCommand MakeResponse(const RemotingCommand& request, int32_t code,
                             std::optional<std::string> remark = std::nullopt);

// One line for logs: code (with its name), flag, opaque, language, version, serialize type,
// remark and ext fields (C-escaped, long values shortened) and the body size.
std::string DebugString(const RemotingCommand& cmd);

// A request this server sends (CHECK_TRANSACTION_STATE, NOTIFY_CONSUMER_IDS_CHANGED, ...):
// language "JAVA", version kServerVersion, flag 0 (call MarkOneway() for oneway), JSON.
RemotingCommand MakeRequest(int32_t code, int32_t opaque);

}  // namespace brokerd::remoting

#endif  // BROKERD_REMOTING_COMMAND_H_
