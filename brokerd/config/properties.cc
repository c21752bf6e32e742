// Java properties parser and writer (see properties.h for the rules). The structure follows
// the JDK's Properties.LineReader.readLine (logical lines) and Properties.load0 / loadConvert
// (key/value split, escapes) closely, so that edge cases behave the same. Where JDK 8 and
// JDK 9+ differ we follow JDK 9+: JDK 8 also treats a '#' right after a continued empty line
// as content, and reads past the end of the line for a short \u escape or after a comment
// ending in a backslash; those are JDK 8 bugs, not behaviour a config file relies on.
// Thread-safety: stateless.
#include "config/properties.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "config/config_util.h"

namespace brokerd::config {

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\f'; }
bool IsEol(char c) { return c == '\n' || c == '\r'; }

// One logical line: its bytes (continuations joined) and the physical line of each byte.
struct LogicalLine {
  std::string chars;
  std::vector<int> lines;
  int start_line = 0;
};

// Splits text into logical lines the way Properties.LineReader.readLine does.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  // The next logical line (comments and blank lines skipped); false at the end of the text.
  bool Next(LogicalLine* out) {
    out->chars.clear();
    out->lines.clear();
    out->start_line = 0;
    bool skip_white_space = true;      // skipping leading whitespace of a natural line
    bool appended_line_begin = false;  // ... of a continuation line (an EOL there ends it)
    bool preceding_backslash = false;  // an odd run of backslashes ends the bytes so far
    while (true) {
      if (AtEnd()) {
        if (out->chars.empty()) return false;
        if (preceding_backslash) Pop(out);
        return true;
      }
      int line = 0;
      const char c = Take(&line);
      if (skip_white_space) {
        if (IsBlank(c)) continue;
        if (!appended_line_begin && IsEol(c)) continue;
        skip_white_space = false;
        appended_line_begin = false;
      }
      if (out->chars.empty() && (c == '#' || c == '!')) {
        // A comment: skip to the end of the natural line (a trailing backslash does not
        // continue it).
        while (!AtEnd()) {
          if (IsEol(Take(&line))) break;
        }
        skip_white_space = true;
        continue;
      }
      if (!IsEol(c)) {
        if (out->start_line == 0) out->start_line = line;
        out->chars.push_back(c);
        out->lines.push_back(line);
        preceding_backslash = c == '\\' ? !preceding_backslash : false;
        continue;
      }
      // End of a natural line.
      if (out->chars.empty()) {
        skip_white_space = true;
        continue;
      }
      if (AtEnd()) {
        if (preceding_backslash) Pop(out);
        return true;
      }
      if (!preceding_backslash) return true;
      // Continuation: drop the backslash, skip the next line's leading whitespace, and take
      // "\r\n" as one line break.
      Pop(out);
      skip_white_space = true;
      appended_line_begin = true;
      preceding_backslash = false;
      if (c == '\r') {
        if (AtEnd()) return true;
        if (text_[pos_] == '\n') Take(&line);
      }
    }
  }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }

  // Consumes one byte; *line is its 1-based physical line. "\r\n", "\r" and "\n" each end a
  // line.
  char Take(int* line) {
    const char c = text_[pos_++];
    *line = line_;
    if (c == '\r' || (c == '\n' && !(pos_ >= 2 && text_[pos_ - 2] == '\r'))) ++line_;
    return c;
  }

  static void Pop(LogicalLine* l) {
    l->chars.pop_back();
    l->lines.pop_back();
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

// Builds the UTF-8 string of a key or value: raw input bytes as they are, UTF-16 code units
// from \u escapes encoded as UTF-8 with surrogate pairs joined and lone surrogates as '?'.
class Utf8Builder {
 public:
  void Raw(char c) {
    FlushPending();
    out_.push_back(c);
  }

  void Unit(uint32_t u) {
    if (u >= 0xD800 && u <= 0xDBFF) {  // high surrogate: wait for its pair
      FlushPending();
      pending_high_ = u;
      return;
    }
    if (u >= 0xDC00 && u <= 0xDFFF) {
      if (pending_high_ != 0) {
        const uint32_t cp = 0x10000 + ((pending_high_ - 0xD800) << 10) + (u - 0xDC00);
        pending_high_ = 0;
        AppendUtf8(cp);
      } else {
        out_.push_back('?');
        ++lone_surrogates_;
      }
      return;
    }
    FlushPending();
    AppendUtf8(u);
  }

  std::string Finish() {
    FlushPending();
    return std::move(out_);
  }
  int lone_surrogates() const { return lone_surrogates_; }

 private:
  void FlushPending() {
    if (pending_high_ == 0) return;
    pending_high_ = 0;
    out_.push_back('?');
    ++lone_surrogates_;
  }

  void AppendUtf8(uint32_t cp) {
    if (cp < 0x80) {
      out_.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out_.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out_.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out_.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string out_;
  uint32_t pending_high_ = 0;
  int lone_surrogates_ = 0;
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Properties.loadConvert over line.chars[begin, end): resolves escapes.
absl::Status Convert(const LogicalLine& line, size_t begin, size_t end, const char* what,
                     std::string* out, std::vector<ConfigWarning>* warnings) {
  Utf8Builder b;
  size_t i = begin;
  while (i < end) {
    const char c = line.chars[i++];
    if (c != '\\') {
      b.Raw(c);
      continue;
    }
    // readLine drops an unpaired trailing backslash, so one is always followed by a byte;
    // stay safe anyway.
    if (i >= end) break;
    const char e = line.chars[i++];
    switch (e) {
      case 't':
        b.Raw('\t');
        break;
      case 'r':
        b.Raw('\r');
        break;
      case 'n':
        b.Raw('\n');
        break;
      case 'f':
        b.Raw('\f');
        break;
      case 'u': {
        const int esc_line = line.lines[i - 2];
        uint32_t unit = 0;
        bool ok = end - i >= 4;
        for (int k = 0; ok && k < 4; ++k) {
          const int d = HexDigit(line.chars[i + k]);
          if (d < 0) {
            ok = false;
          } else {
            unit = (unit << 4) | static_cast<uint32_t>(d);
          }
        }
        if (!ok) {
          const size_t shown = std::min<size_t>(end - i, 4);
          return absl::InvalidArgumentError(
              absl::StrCat("line ", esc_line, ": malformed \\uXXXX escape in ", what, ": '\\u",
                           Printable(std::string_view(line.chars).substr(i, shown)),
                           "' (four hex digits are required)"));
        }
        i += 4;
        b.Unit(unit);
        break;
      }
      default:
        b.Raw(e);
        break;
    }
  }
  *out = b.Finish();
  const int lone = b.lone_surrogates();
  if (lone > 0) {
    warnings->push_back(ConfigWarning{
        line.start_line, absl::StrCat(what, " '", Printable(*out), "': ", lone,
                                      " lone UTF-16 surrogate(s) from \\u escapes replaced by "
                                      "'?' (Java's UTF-8 encoder does the same)")});
  }
  return absl::OkStatus();
}

void AppendEscaped(std::string_view s, bool is_key, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto uc = static_cast<unsigned char>(c);
    switch (c) {
      case ' ':
        if (is_key || i == 0) out->push_back('\\');
        out->push_back(' ');
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\\':
      case '=':
      case ':':
      case '#':
      case '!':
        out->push_back('\\');
        out->push_back(c);
        break;
      default:
        if (uc < 0x20 || uc == 0x7F) {
          out->append("\\u00");
          out->push_back(kHex[uc >> 4]);
          out->push_back(kHex[uc & 0xF]);
        } else {
          out->push_back(c);
        }
        break;
    }
  }
}

}  // namespace

std::string ConfigWarning::ToString() const {
  if (line <= 0) return message;
  return absl::StrCat("line ", line, ": ", message);
}

const Property* ParsedProperties::Find(std::string_view key) const {
  for (const Property& p : entries) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

absl::StatusOr<ParsedProperties> ParseProperties(std::string_view text) {
  ParsedProperties result;
  std::unordered_map<std::string, size_t> index;  // key -> position in result.entries
  LineReader reader(text);
  LogicalLine line;
  while (reader.Next(&line)) {
    const size_t limit = line.chars.size();
    // Properties.load0: the key ends at the first unescaped '=', ':' or whitespace.
    size_t key_len = 0;
    size_t value_start = limit;
    bool has_sep = false;
    bool preceding_backslash = false;
    while (key_len < limit) {
      const char c = line.chars[key_len];
      if ((c == '=' || c == ':') && !preceding_backslash) {
        value_start = key_len + 1;
        has_sep = true;
        break;
      }
      if (IsBlank(c) && !preceding_backslash) {
        value_start = key_len + 1;
        break;
      }
      preceding_backslash = c == '\\' ? !preceding_backslash : false;
      ++key_len;
    }
    // Skip whitespace and at most one separator after whitespace.
    while (value_start < limit) {
      const char c = line.chars[value_start];
      if (!IsBlank(c)) {
        if (!has_sep && (c == '=' || c == ':')) {
          has_sep = true;
        } else {
          break;
        }
      }
      ++value_start;
    }
    Property p;
    p.line = line.start_line;
    absl::Status s = Convert(line, 0, key_len, "key", &p.key, &result.warnings);
    if (!s.ok()) return s;
    s = Convert(line, value_start, limit, "value", &p.value, &result.warnings);
    if (!s.ok()) return s;
    auto [it, inserted] = index.emplace(p.key, result.entries.size());
    if (inserted) {
      result.entries.push_back(std::move(p));
    } else {
      Property& prev = result.entries[it->second];
      result.warnings.push_back(ConfigWarning{
          p.line, absl::StrCat("duplicate key '", Printable(p.key), "' (also on line ", prev.line,
                               "); the last value wins")});
      prev.value = std::move(p.value);
      prev.line = p.line;
    }
  }
  return result;
}

absl::StatusOr<ParsedProperties> ReadPropertiesFile(const std::string& path) {
  std::string text;
  absl::Status s = ReadSmallFile(path, kMaxPropertiesFileBytes, &text);
  if (!s.ok()) return s;
  absl::StatusOr<ParsedProperties> parsed = ParseProperties(text);
  if (!parsed.ok()) return PrefixStatus(parsed.status(), path);
  return parsed;
}

std::string EscapePropertyKey(std::string_view key) {
  std::string out;
  AppendEscaped(key, /*is_key=*/true, &out);
  return out;
}

std::string EscapePropertyValue(std::string_view value) {
  std::string out;
  AppendEscaped(value, /*is_key=*/false, &out);
  return out;
}

std::string SerializeProperties(const std::vector<Property>& entries) {
  std::string out;
  for (const Property& p : entries) {
    AppendEscaped(p.key, /*is_key=*/true, &out);
    out.push_back('=');
    AppendEscaped(p.value, /*is_key=*/false, &out);
    out.push_back('\n');
  }
  return out;
}

}  // namespace brokerd::config
