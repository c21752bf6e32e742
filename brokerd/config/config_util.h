// Internal to brokerd/config: the machinery shared by the broker and name server loaders.
// Each configuration lists its keys once, in a VisitKeys(config, visitor) function; visitors
// apply a property to the matching field (with RocketMQ's value syntax and our range checks),
// write every field back out as properties, or list the key names. Also: value parsing with
// Java's rules, "did you mean" suggestions, error collection, small-file reading.
// Thread-safety: stateless functions; each visitor / Diagnostics is used by one thread.
#ifndef BROKERD_CONFIG_CONFIG_UTIL_H_
#define BROKERD_CONFIG_CONFIG_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "config/config_common.h"
#include "config/properties.h"

namespace brokerd::config {

// Values quoted in messages are cut to this many bytes (then "...").
inline constexpr size_t kMaxShownValueBytes = 80;

// s with control and non-ASCII bytes C-escaped, cut to kMaxShownValueBytes.
std::string Printable(std::string_view s);

// Reads a regular file of at most max_bytes into *out. Errors name the path.
absl::Status ReadSmallFile(const std::string& path, int64_t max_bytes, std::string* out);

// s with "<prefix>: " in front of its message (same code); OK stays OK.
absl::Status PrefixStatus(const absl::Status& s, std::string_view prefix);

// String.trim(): drops bytes <= ' ' at both ends (RocketMQ trims String settings only).
std::string_view JavaTrim(std::string_view s);

// Levenshtein distance between the ASCII-lowercased strings.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to key, if it is close enough to be a likely misspelling; else "".
std::string SuggestKey(std::string_view key, std::span<const std::string_view> candidates);

// A Java int/long setting's value (Integer.parseInt / Long.parseLong syntax: [+-]?[0-9]+,
// no whitespace) within [lo, hi]. Returns "" and sets *out, or an error message.
std::string ParseIntValue(std::string_view value, int64_t java_min, int64_t java_max, int64_t lo,
                          int64_t hi, int64_t* out);
// A boolean setting: "true" or "false", any case. Returns "" and sets *out, or an error.
std::string ParseBoolValue(std::string_view value, bool* out);

// "host:port" with a port in [1, 65535] (the last ':' splits, as RocketMQ's
// RemotingUtil.string2SocketAddress does). Returns "" and sets *out, or an error message.
std::string ParseHostPort(std::string_view text, HostPort* out);
// An IPv4 or IPv6 address literal (IPv6 optionally bracketed).
bool IsIpLiteral(std::string_view s);

// At most this many errors / warnings are kept and reported; the rest are only counted (a
// file of garbage should give a readable message, and stay cheap to reject).
inline constexpr size_t kMaxReportedDiagnostics = 50;

// Errors and warnings collected while loading one file.
class Diagnostics {
 public:
  void Error(int line, std::string message);
  void Warn(int line, std::string message);
  bool has_errors() const { return error_count_ > 0; }
  // True once kMaxReportedDiagnostics errors are kept: callers may skip costly messages.
  bool errors_full() const { return errors_.size() >= kMaxReportedDiagnostics; }
  // InvalidArgument listing the errors ("<what>: 2 errors:\n  line 3: ...").
  absl::Status ToStatus(std::string_view what) const;
  // The warnings kept, plus one saying how many more there were.
  std::vector<ConfigWarning> TakeWarnings();

 private:
  std::vector<ConfigWarning> errors_;
  std::vector<ConfigWarning> warnings_;
  size_t error_count_ = 0;
  size_t warning_count_ = 0;
};

// A String setting's check: "" if the (trimmed) value is acceptable, else why not.
using StringCheck = std::string (*)(std::string_view value);

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// Applies one property to the field its key names, if any.
class ApplyVisitor {
 public:
  ApplyVisitor(const Property& p, Diagnostics* diag) : p_(p), diag_(diag) {}
  bool matched() const { return matched_; }

  void Int32(const char* name, int32_t* f, int32_t lo, int32_t hi);
  void Int64(const char* name, int64_t* f, int64_t lo, int64_t hi);
  // RocketMQ clamps these into [lo, hi] where it uses them: so do we, with a warning.
  void Int32Clamped(const char* name, int32_t* f, int32_t lo, int32_t hi);
  void Bool(const char* name, bool* f);
  void String(const char* name, std::string* f, StringCheck check);
  template <typename E>
  void Enum(const char* name, E* f, std::span<const EnumName<E>> names) {
    if (!Match(name)) return;
    const std::string_view v = JavaTrim(p_.value);
    for (const EnumName<E>& n : names) {
      if (v == n.name) {
        *f = n.value;
        return;
      }
    }
    std::string expected;
    std::string case_hint;
    for (const EnumName<E>& n : names) {
      if (!expected.empty()) expected += ", ";
      expected += n.name;
      if (EditDistance(v, n.name) == 0) case_hint = n.name;
    }
    const std::string quoted = "'" + Printable(v) + "'";
    Bad(case_hint.empty() ? quoted + " is not one of " + expected
                          : quoted + " is not one of " + expected +
                                " (names are case-sensitive: write " + case_hint + ")");
  }

 private:
  bool Match(const char* name);
  void Bad(const std::string& why);

  const Property& p_;
  Diagnostics* diag_;
  bool matched_ = false;
};

// Appends every field as a Setting (key, value text as a properties file would hold it).
class FormatVisitor {
 public:
  explicit FormatVisitor(std::vector<Setting>* out) : out_(out) {}
  void Int32(const char* name, const int32_t* f, int32_t, int32_t);
  void Int64(const char* name, const int64_t* f, int64_t, int64_t);
  void Int32Clamped(const char* name, const int32_t* f, int32_t, int32_t);
  void Bool(const char* name, const bool* f);
  void String(const char* name, const std::string* f, StringCheck);
  template <typename E>
  void Enum(const char* name, const E* f, std::span<const EnumName<E>> names) {
    for (const EnumName<E>& n : names) {
      if (*f == n.value) out_->push_back(Setting{name, n.name});
    }
  }

 private:
  std::vector<Setting>* out_;
};

// Lists the key names.
class NameVisitor {
 public:
  explicit NameVisitor(std::vector<std::string_view>* out) : out_(out) {}
  template <typename T, typename... Rest>
  void Int32(const char* name, T*, Rest...) {
    out_->push_back(name);
  }
  template <typename T, typename... Rest>
  void Int64(const char* name, T*, Rest...) {
    out_->push_back(name);
  }
  template <typename T, typename... Rest>
  void Int32Clamped(const char* name, T*, Rest...) {
    out_->push_back(name);
  }
  template <typename T>
  void Bool(const char* name, T*) {
    out_->push_back(name);
  }
  template <typename T>
  void String(const char* name, T*, StringCheck) {
    out_->push_back(name);
  }
  template <typename T, typename N>
  void Enum(const char* name, T*, N) {
    out_->push_back(name);
  }

 private:
  std::vector<std::string_view>* out_;
};

// A RocketMQ key we know but do not act on, with its Java setter's type: 'i' int, 'l' long,
// 'b' boolean, 'd' double, 's' String (or an enum RocketMQ sets from a String).
struct KnownKey {
  const char* name;
  char type;
};

// Where a loaded setting came from: key -> line of every supported key the file set.
using SetLines = std::unordered_map<std::string, int>;

// Applies every property: supported keys through `visit` (a callable (Config&, Visitor&)
// that calls VisitKeys), known-unsupported keys into *kept with a warning, unknown keys as
// errors with a suggestion. `server` names the program in messages ("broker").
template <typename Config, typename Visit>
void ApplyProperties(const ParsedProperties& props, Config* config, Visit visit,
                     std::span<const KnownKey> unsupported, std::string_view server,
                     Diagnostics* diag, SetLines* set_lines, std::vector<Setting>* kept);

// Non-template part of ApplyProperties: one property that no supported key matched.
// `candidates` are all key names (supported and unsupported), for suggestions.
void ApplyUnsupported(const Property& p, std::span<const std::string_view> candidates,
                      std::span<const KnownKey> unsupported, std::string_view server,
                      Diagnostics* diag, std::vector<Setting>* kept);

template <typename Config, typename Visit>
void ApplyProperties(const ParsedProperties& props, Config* config, Visit visit,
                     std::span<const KnownKey> unsupported, std::string_view server,
                     Diagnostics* diag, SetLines* set_lines, std::vector<Setting>* kept) {
  std::vector<std::string_view> names;
  NameVisitor nv(&names);
  visit(*config, nv);
  for (const KnownKey& k : unsupported) names.push_back(k.name);
  for (const ConfigWarning& w : props.warnings) diag->Warn(w.line, w.message);
  for (const Property& p : props.entries) {
    ApplyVisitor av(p, diag);
    visit(*config, av);
    if (av.matched()) {
      (*set_lines)[p.key] = p.line;
      continue;
    }
    ApplyUnsupported(p, names, unsupported, server, diag, kept);
  }
}

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_CONFIG_UTIL_H_
