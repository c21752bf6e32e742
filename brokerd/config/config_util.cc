// Shared loader machinery of brokerd/config (see config_util.h). Thread-safety: stateless
// functions; visitors and Diagnostics are single-threaded.
#include "config/config_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace brokerd::config {

namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

enum class IntSyntax { kOk, kBadSyntax, kOverflow };

// Long.parseLong's syntax ([+-]?[0-9]+), into int64.
IntSyntax ParseDecimal(std::string_view s, int64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    negative = s[i] == '-';
    ++i;
  }
  if (i == s.size()) return IntSyntax::kBadSyntax;
  // Accumulate negatively so that INT64_MIN parses.
  int64_t v = 0;
  bool overflow = false;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return IntSyntax::kBadSyntax;
    const int d = s[i] - '0';
    if (overflow || __builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, d, &v)) {
      overflow = true;
    }
  }
  if (overflow) return IntSyntax::kOverflow;
  if (!negative) {
    if (v == INT64_MIN) return IntSyntax::kOverflow;
    v = -v;
  }
  *out = v;
  return IntSyntax::kOk;
}

std::string Quoted(std::string_view v) { return absl::StrCat("'", Printable(v), "'"); }

// Explains a value that would be fine without its surrounding whitespace.
std::string WhitespaceHint(std::string_view value, const char* java_parser) {
  return absl::StrCat(Quoted(value), " has whitespace around it: RocketMQ (", java_parser,
                      ", which does not trim) would ignore this setting and keep the default; "
                      "remove the whitespace");
}

}  // namespace

std::string Printable(std::string_view s) {
  const bool cut = s.size() > kMaxShownValueBytes;
  std::string out = absl::CHexEscape(AV(cut ? s.substr(0, kMaxShownValueBytes) : s));
  if (cut) out += "...";
  return out;
}

absl::Status ReadSmallFile(const std::string& path, int64_t max_bytes, std::string* out) {
  out->clear();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return absl::ErrnoToStatus(e, absl::StrCat("cannot stat ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  // Read up to one byte past the limit, so that a file that grew after fstat is caught too.
  char buf[8192];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      close(fd);
      return absl::ErrnoToStatus(e, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out->size()) > max_bytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes; not a config file?"));
    }
  }
  close(fd);
  return absl::OkStatus();
}

absl::Status PrefixStatus(const absl::Status& s, std::string_view prefix) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(AV(prefix), ": ", s.message()));
}

std::string_view JavaTrim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
  return s.substr(b, e - b);
}

namespace {

// Levenshtein distance of the ASCII-lowercased strings, or any value > bound once it is sure
// to exceed bound (every entry of a row does).
size_t BoundedEditDistance(std::string_view a, std::string_view b, size_t bound) {
  // Two rows of the Wagner-Fischer table; on the stack for key-sized strings.
  constexpr size_t kStackRow = 64;
  size_t stack_rows[2][kStackRow + 1];
  std::vector<size_t> heap_rows;
  size_t* prev = stack_rows[0];
  size_t* cur = stack_rows[1];
  if (b.size() > kStackRow) {
    heap_rows.resize(2 * (b.size() + 1));
    prev = heap_rows.data();
    cur = prev + b.size() + 1;
  }
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    const char ai = Lower(a[i - 1]);
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t v = prev[j - 1] + (ai == Lower(b[j - 1]) ? 0 : 1);
      if (prev[j] + 1 < v) v = prev[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      cur[j] = v;
      if (v < row_min) row_min = v;
    }
    if (row_min > bound) return row_min;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  return BoundedEditDistance(a, b, SIZE_MAX);
}

std::string SuggestKey(std::string_view key, std::span<const std::string_view> candidates) {
  // Close enough: a third of the key's length, at least 1 and at most 3 edits.
  const size_t limit = std::clamp<size_t>(key.size() / 3, 1, 3);
  size_t best = limit + 1;
  std::string_view best_name;
  int key_counts[256] = {0};
  for (char c : key) ++key_counts[static_cast<unsigned char>(Lower(c))];
  for (std::string_view c : candidates) {
    // Cheap filters first. The distance is at least the length difference, and at least the
    // "bag distance": the larger of the number of bytes of key missing from c and vice versa.
    const size_t diff = c.size() > key.size() ? c.size() - key.size() : key.size() - c.size();
    if (diff >= best) continue;
    int counts[256];
    std::copy(std::begin(key_counts), std::end(key_counts), std::begin(counts));
    size_t extra_in_c = 0;
    for (char ch : c) {
      if (--counts[static_cast<unsigned char>(Lower(ch))] < 0) ++extra_in_c;
    }
    // Bytes of key not matched by c: key.size() - (c.size() - extra_in_c).
    const size_t missing_from_c = key.size() + extra_in_c - c.size();
    if (std::max(extra_in_c, missing_from_c) >= best) continue;
    const size_t d = BoundedEditDistance(key, c, best - 1);
    if (d < best) {
      best = d;
      best_name = c;
    }
  }
  return best <= limit ? std::string(best_name) : std::string();
}

std::string ParseIntValue(std::string_view value, int64_t java_min, int64_t java_max, int64_t lo,
                          int64_t hi, int64_t* out) {
  const char* java_parser = java_max == INT32_MAX ? "Integer.parseInt" : "Long.parseLong";
  const char* java_type = java_max == INT32_MAX ? "int" : "long";
  int64_t v = 0;
  IntSyntax syntax = ParseDecimal(value, &v);
  if (syntax == IntSyntax::kBadSyntax) {
    const std::string_view trimmed = JavaTrim(value);
    int64_t ignored = 0;
    if (trimmed.size() != value.size() &&
        ParseDecimal(trimmed, &ignored) != IntSyntax::kBadSyntax) {
      return WhitespaceHint(value, java_parser);
    }
    return absl::StrCat(Quoted(value), " is not an integer");
  }
  if (syntax == IntSyntax::kOverflow || v < java_min || v > java_max) {
    return absl::StrCat(Quoted(value), " does not fit in a Java ", java_type);
  }
  if (v < lo || v > hi) {
    return absl::StrCat(v, " is out of range [", lo, ", ", hi, "]");
  }
  *out = v;
  return "";
}

std::string ParseBoolValue(std::string_view value, bool* out) {
  if (EditDistance(value, "true") == 0 && value.size() == 4) {
    *out = true;
    return "";
  }
  if (EditDistance(value, "false") == 0 && value.size() == 5) {
    *out = false;
    return "";
  }
  const std::string_view trimmed = JavaTrim(value);
  if (trimmed.size() != value.size() &&
      ((trimmed.size() == 4 && EditDistance(trimmed, "true") == 0) ||
       (trimmed.size() == 5 && EditDistance(trimmed, "false") == 0))) {
    return absl::StrCat(Quoted(value),
                        " has whitespace around it: RocketMQ (Boolean.parseBoolean, which does "
                        "not trim) would read it as false; remove the whitespace");
  }
  return absl::StrCat(Quoted(value),
                      " is not true or false (RocketMQ would silently read it as false)");
}

bool IsIpLiteral(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    s = s.substr(1, s.size() - 2);
    if (s.find(':') == std::string_view::npos) return false;  // brackets only for IPv6
  }
  if (s.empty() || s.size() > 64) return false;
  const std::string str(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, str.c_str(), buf) == 1 || inet_pton(AF_INET6, str.c_str(), buf) == 1;
}

std::string ParseHostPort(std::string_view text, HostPort* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::StrCat(Quoted(text), " has no ':port'");
  }
  const std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.empty()) return absl::StrCat(Quoted(text), " has no host");
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == ';' || c == ',') {
      return absl::StrCat(Quoted(text), " has a space or separator inside the host");
    }
  }
  int64_t port = 0;
  if (ParseDecimal(port_text, &port) != IntSyntax::kOk || port < 1 || port > 65535) {
    return absl::StrCat(Quoted(text), " does not end in a port 1..65535");
  }
  out->host = std::string(host);
  out->port = static_cast<int>(port);
  return "";
}

void Diagnostics::Error(int line, std::string message) {
  ++error_count_;
  if (errors_.size() < kMaxReportedDiagnostics) {
    errors_.push_back(ConfigWarning{line, std::move(message)});
  }
}

void Diagnostics::Warn(int line, std::string message) {
  ++warning_count_;
  if (warnings_.size() < kMaxReportedDiagnostics) {
    warnings_.push_back(ConfigWarning{line, std::move(message)});
  }
}

absl::Status Diagnostics::ToStatus(std::string_view what) const {
  if (error_count_ == 0) return absl::OkStatus();
  std::string msg = error_count_ == 1 ? absl::StrCat(AV(what), ": ")
                                      : absl::StrCat(AV(what), ": ", error_count_, " errors:\n  ");
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (i > 0) msg += "\n  ";
    msg += errors_[i].ToString();
  }
  if (error_count_ > errors_.size()) {
    absl::StrAppend(&msg, "\n  ... and ", error_count_ - errors_.size(), " more");
  }
  return absl::InvalidArgumentError(msg);
}

std::vector<ConfigWarning> Diagnostics::TakeWarnings() {
  std::vector<ConfigWarning> out = std::move(warnings_);
  if (warning_count_ > out.size()) {
    out.push_back(
        ConfigWarning{0, absl::StrCat("... and ", warning_count_ - out.size(), " more warnings")});
  }
  warnings_.clear();
  warning_count_ = 0;
  return out;
}

bool ApplyVisitor::Match(const char* name) {
  if (matched_ || p_.key != name) return false;
  matched_ = true;
  return true;
}

void ApplyVisitor::Bad(const std::string& why) {
  diag_->Error(p_.line, absl::StrCat(p_.key, ": ", why));
}

void ApplyVisitor::Int32(const char* name, int32_t* f, int32_t lo, int32_t hi) {
  if (!Match(name)) return;
  int64_t v = 0;
  const std::string err = ParseIntValue(p_.value, INT32_MIN, INT32_MAX, lo, hi, &v);
  if (!err.empty()) return Bad(err);
  *f = static_cast<int32_t>(v);
}

void ApplyVisitor::Int64(const char* name, int64_t* f, int64_t lo, int64_t hi) {
  if (!Match(name)) return;
  int64_t v = 0;
  const std::string err = ParseIntValue(p_.value, INT64_MIN, INT64_MAX, lo, hi, &v);
  if (!err.empty()) return Bad(err);
  *f = v;
}

void ApplyVisitor::Int32Clamped(const char* name, int32_t* f, int32_t lo, int32_t hi) {
  if (!Match(name)) return;
  int64_t v = 0;
  const std::string err = ParseIntValue(p_.value, INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX, &v);
  if (!err.empty()) return Bad(err);
  if (v < lo || v > hi) {
    const int64_t clamped = std::clamp<int64_t>(v, lo, hi);
    diag_->Warn(p_.line, absl::StrCat(p_.key, ": ", v, " is outside [", lo, ", ", hi, "]; using ",
                                      clamped, " (RocketMQ clamps it the same way)"));
    v = clamped;
  }
  *f = static_cast<int32_t>(v);
}

void ApplyVisitor::Bool(const char* name, bool* f) {
  if (!Match(name)) return;
  const std::string err = ParseBoolValue(p_.value, f);
  if (!err.empty()) Bad(err);
}

void ApplyVisitor::String(const char* name, std::string* f, StringCheck check) {
  if (!Match(name)) return;
  const std::string_view v = JavaTrim(p_.value);
  if (check != nullptr) {
    const std::string err = check(v);
    if (!err.empty()) return Bad(absl::StrCat(Quoted(v), ": ", err));
  }
  *f = std::string(v);
}

void FormatVisitor::Int32(const char* name, const int32_t* f, int32_t, int32_t) {
  out_->push_back(Setting{name, absl::StrCat(*f)});
}

void FormatVisitor::Int64(const char* name, const int64_t* f, int64_t, int64_t) {
  out_->push_back(Setting{name, absl::StrCat(*f)});
}

void FormatVisitor::Int32Clamped(const char* name, const int32_t* f, int32_t, int32_t) {
  out_->push_back(Setting{name, absl::StrCat(*f)});
}

void FormatVisitor::Bool(const char* name, const bool* f) {
  out_->push_back(Setting{name, *f ? "true" : "false"});
}

void FormatVisitor::String(const char* name, const std::string* f, StringCheck) {
  out_->push_back(Setting{name, *f});
}

void ApplyUnsupported(const Property& p, std::span<const std::string_view> candidates,
                      std::span<const KnownKey> unsupported, std::string_view server,
                      Diagnostics* diag, std::vector<Setting>* kept) {
  for (const KnownKey& k : unsupported) {
    if (p.key != k.name) continue;
    std::string type_note;
    int64_t i = 0;
    bool b = false;
    if ((k.type == 'i' &&
         !ParseIntValue(p.value, INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX, &i).empty()) ||
        (k.type == 'l' &&
         !ParseIntValue(p.value, INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, &i).empty()) ||
        (k.type == 'b' && !ParseBoolValue(p.value, &b).empty())) {
      type_note =
          k.type == 'b'
              ? absl::StrCat(" (and ", Quoted(p.value),
                             " is not a valid boolean: RocketMQ would read it as false)")
              : absl::StrCat(" (and ", Quoted(p.value), " is not a valid ",
                             k.type == 'i' ? "int" : "long", ": RocketMQ would ignore it too)");
    }
    diag->Warn(p.line, absl::StrCat("'", k.name, "' is a RocketMQ setting this ", AV(server),
                                    " does not act on yet: kept, but ignored", type_note));
    kept->push_back(Setting{p.key, p.value});
    return;
  }
  // Past the reported errors the message is only counted: skip the search.
  const std::string suggestion = diag->errors_full() ? "" : SuggestKey(p.key, candidates);
  diag->Error(
      p.line,
      absl::StrCat("unknown key '", Printable(p.key), "'",
                   suggestion.empty() ? "" : absl::StrCat("; did you mean '", suggestion, "'?"),
                   " (RocketMQ silently ignores unknown keys; we refuse them so that a "
                   "misspelt setting is not lost)"));
}

}  // namespace brokerd::config
