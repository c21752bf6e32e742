// RemotingCommand helpers: the ordered ext-field map, typed header-field getters, response and
// request construction, LanguageCode and serialize-type names.
// Thread-safety: see command.h (plain values; the tables here are constant).
#include "remoting/command.h"

#include <array>
#include <charconv>
#include <limits>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace brokerd::remoting {
namespace {

// LanguageCode enum of RocketMQ (the byte is the ordinal); 13 = NODE_JS is 5.x.
constexpr std::array<std::string_view, 14> kLanguageNames = {
    "JAVA",  "CPP",  "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
    "OTHER", "HTTP", "GO",     "PHP",    "OMS",    "RUST",   "NODE_JS"};

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status MissingField(std::string_view name) {
  return absl::InvalidArgumentError(absl::StrCat("missing header field '", AbslView(name), "'"));
}

// Java-like Integer/Long.parseLong: optional sign, decimal digits, no whitespace.
template <typename Int>
absl::StatusOr<Int> ParseDecimal(std::string_view name, std::string_view text) {
  const bool has_sign = !text.empty() && (text.front() == '+' || text.front() == '-');
  const std::string_view digits = text.substr(has_sign ? 1 : 0);
  bool well_formed = !digits.empty();
  for (char c : digits) well_formed = well_formed && c >= '0' && c <= '9';
  if (!well_formed) {
    return absl::InvalidArgumentError(absl::StrCat("header field '", AbslView(name), "' value \"",
                                                   AbslView(text), "\" is not a decimal integer"));
  }
  // from_chars takes a '-' but not a '+'.
  const std::string_view parsed = text.front() == '+' ? digits : text;
  Int value = 0;
  const std::from_chars_result r =
      std::from_chars(parsed.data(), parsed.data() + parsed.size(), value, 10);
  if (r.ec != std::errc() || r.ptr != parsed.data() + parsed.size()) {
    return absl::InvalidArgumentError(absl::StrCat("header field '", AbslView(name), "' value \"",
                                                   AbslView(text), "\" is out of range for int",
                                                   sizeof(Int) * 8));
  }
  return value;
}

absl::StatusOr<bool> ParseBool(std::string_view name, std::string_view text) {
  if (absl::EqualsIgnoreCase(AbslView(text), "true")) return true;
  if (absl::EqualsIgnoreCase(AbslView(text), "false")) return false;
  return absl::InvalidArgumentError(absl::StrCat("header field '", AbslView(name), "' value \"",
                                                 AbslView(text), "\" is not true/false"));
}

}  // namespace

std::string_view SerializeTypeName(SerializeType type) {
  return type == SerializeType::kRocketMq ? "ROCKETMQ" : "JSON";
}

std::optional<uint8_t> LanguageCodeFromName(std::string_view name) {
  for (size_t i = 0; i < kLanguageNames.size(); ++i) {
    if (kLanguageNames[i] == name) return static_cast<uint8_t>(i);
  }
  return std::nullopt;
}

std::optional<std::string_view> LanguageNameFromCode(uint8_t code) {
  if (code < kLanguageNames.size()) return kLanguageNames[code];
  return std::nullopt;
}

// ---- ExtFields ----

ExtFields::ExtFields(std::initializer_list<Entry> entries) {
  for (const Entry& e : entries) Set(e.first, e.second);
}

ptrdiff_t ExtFields::IndexOf(std::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(std::string(key));
    return it == index_.end() ? -1 : static_cast<ptrdiff_t>(it->second);
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first == key) return static_cast<ptrdiff_t>(i);
  }
  return -1;
}

void ExtFields::RebuildIndex() {
  index_.clear();
  if (entries_.size() <= kIndexThreshold) return;
  index_.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].first, i);
}

void ExtFields::Set(std::string key, std::string value) {
  const ptrdiff_t i = IndexOf(key);
  if (i >= 0) {
    entries_[static_cast<size_t>(i)].second = std::move(value);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  if (!index_.empty()) {
    index_.emplace(entries_.back().first, entries_.size() - 1);
  } else if (entries_.size() > kIndexThreshold) {
    RebuildIndex();
  }
}

const std::string* ExtFields::Find(std::string_view key) const {
  const ptrdiff_t i = IndexOf(key);
  return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].second;
}

bool ExtFields::Erase(std::string_view key) {
  const ptrdiff_t i = IndexOf(key);
  if (i < 0) return false;
  entries_.erase(entries_.begin() + i);
  RebuildIndex();
  return true;
}

void ExtFields::Clear() {
  entries_.clear();
  index_.clear();
}

// ---- RemotingCommand ----

absl::StatusOr<int32_t> RemotingCommand::GetInt32(std::string_view name) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return MissingField(name);
  return ParseDecimal<int32_t>(name, *v);
}

absl::StatusOr<int64_t> RemotingCommand::GetInt64(std::string_view name) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return MissingField(name);
  return ParseDecimal<int64_t>(name, *v);
}

absl::StatusOr<bool> RemotingCommand::GetBool(std::string_view name) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return MissingField(name);
  return ParseBool(name, *v);
}

absl::StatusOr<std::string> RemotingCommand::GetString(std::string_view name) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return MissingField(name);
  return *v;
}

absl::StatusOr<int32_t> RemotingCommand::GetInt32Or(std::string_view name, int32_t fallback) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return fallback;
  return ParseDecimal<int32_t>(name, *v);
}

absl::StatusOr<int64_t> RemotingCommand::GetInt64Or(std::string_view name, int64_t fallback) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return fallback;
  return ParseDecimal<int64_t>(name, *v);
}

absl::StatusOr<bool> RemotingCommand::GetBoolOr(std::string_view name, bool fallback) const {
  const std::string* v = FindExtField(name);
  if (v == nullptr) return fallback;
  return ParseBool(name, *v);
}

RemotingCommand MakeResponse(const RemotingCommand& request, int32_t code,
                             std::optional<std::string> remark) {
  RemotingCommand r;
  r.code = code;
  r.language = "JAVA";
  r.version = kServerVersion;
  r.opaque = request.opaque;
  r.flag = kFlagResponse;
  r.remark = std::move(remark);
  r.serialize_type = request.serialize_type;
  return r;
}

std::string DebugString(const RemotingCommand& cmd) {
  constexpr size_t kMaxShown = 200;
  auto shown = [](const std::string& s) {
    if (s.size() <= kMaxShown) return absl::CHexEscape(s);
    return absl::StrCat(absl::CHexEscape(absl::string_view(s.data(), kMaxShown)), "...(", s.size(),
                        " bytes)");
  };
  std::string out =
      absl::StrCat(DescribeCode(cmd.code, cmd.IsResponse()), " flag=", cmd.flag,
                   " opaque=", cmd.opaque, " lang=", shown(cmd.language), " ver=", cmd.version, " ",
                   AbslView(SerializeTypeName(cmd.serialize_type)));
  if (cmd.remark) absl::StrAppend(&out, " remark=\"", shown(*cmd.remark), "\"");
  absl::StrAppend(&out, " ext={");
  bool first = true;
  for (const auto& [k, v] : cmd.ext_fields) {
    absl::StrAppend(&out, first ? "" : ", ", shown(k), "=", shown(v));
    first = false;
  }
  absl::StrAppend(&out, "}", cmd.emit_empty_ext_fields ? "!" : "", " body=", cmd.body.size(), "B");
  return out;
}

RemotingCommand MakeRequest(int32_t code, int32_t opaque) {
  RemotingCommand r;
  r.code = code;
  r.language = "JAVA";
  r.version = kServerVersion;
  r.opaque = opaque;
  r.flag = 0;
  r.serialize_type = SerializeType::kJson;
  return r;
}

}  // namespace brokerd::remoting
