// rs_admin's option parsing, tables and text forms (see admin_cli.h).
// Thread-safety: stateless.
#include "tools/admin_cli.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace rsadmin {

const std::vector<OptionSpec>& CommonOptions() {
  static const std::vector<OptionSpec> kCommon = {
      {'n', "namesrvAddr", true, false,
       "name server addresses, \"ip:port;ip:port\" (default: $NAMESRV_ADDR)"},
      {'\0', "json", false, false, "print JSON instead of tables"},
      {'\0', "timeout", true, false, "milliseconds to wait for each answer (default 5000)"},
      {'h', "help", false, false, "show this help"},
  };
  return kCommon;
}

std::string ParsedArgs::Get(std::string_view long_name, std::string fallback) const {
  auto it = values_.find(std::string(long_name));
  return it == values_.end() ? fallback : it->second;
}

namespace {

const OptionSpec* FindLong(const VerbSpec& verb, std::string_view name) {
  for (const OptionSpec& o : verb.options) {
    if (o.long_name == name) return &o;
  }
  for (const OptionSpec& o : CommonOptions()) {
    if (o.long_name == name) return &o;
  }
  return nullptr;
}

const OptionSpec* FindLetter(const VerbSpec& verb, char letter) {
  for (const OptionSpec& o : verb.options) {
    if (o.letter == letter) return &o;
  }
  for (const OptionSpec& o : CommonOptions()) {
    if (o.letter == letter) return &o;
  }
  return nullptr;
}

std::string OptionName(const OptionSpec& o) {
  return o.letter != '\0' ? absl::StrCat("-", std::string(1, o.letter), "/--", o.long_name)
                          : absl::StrCat("--", o.long_name);
}

std::string Usage(const VerbSpec& verb, const std::string& what) {
  return absl::StrCat(verb.name, ": ", what, " (see rs_admin ", verb.name, " --help)");
}

}  // namespace

absl::StatusOr<ParsedArgs> ParseArgs(const VerbSpec& verb, const std::vector<std::string>& args) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const OptionSpec* spec = nullptr;
    std::optional<std::string> inline_value;
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      spec = FindLong(verb, name);
      if (spec == nullptr) return absl::InvalidArgumentError(Usage(verb, "unknown option " + a));
    } else if (a.size() >= 2 && a[0] == '-' && a[1] != '-') {
      spec = FindLetter(verb, a[1]);
      if (spec == nullptr) {
        return absl::InvalidArgumentError(Usage(verb, "unknown option -" + std::string(1, a[1])));
      }
      if (a.size() > 2) {
        if (!spec->takes_value) {
          return absl::InvalidArgumentError(Usage(verb, OptionName(*spec) + " takes no value"));
        }
        inline_value = a.substr(2);
      }
    } else {
      return absl::InvalidArgumentError(Usage(verb, "unexpected argument '" + a + "'"));
    }
    if (!spec->takes_value) {
      if (inline_value.has_value()) {
        return absl::InvalidArgumentError(Usage(verb, OptionName(*spec) + " takes no value"));
      }
      out.Set(spec->long_name, "true");
      continue;
    }
    if (!inline_value.has_value()) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(Usage(verb, OptionName(*spec) + " needs a value"));
      }
      inline_value = args[++i];
    }
    out.Set(spec->long_name, *inline_value);
  }
  if (out.Has("help")) return out;
  for (const OptionSpec& o : verb.options) {
    if (o.required && !out.Has(o.long_name)) {
      return absl::InvalidArgumentError(
          Usage(verb, "missing required option " + OptionName(o) + " (" + o.help + ")"));
    }
  }
  return out;
}

std::string VerbHelp(const VerbSpec& verb) {
  auto line = [](const OptionSpec& o) {
    std::string left = o.letter != '\0' ? absl::StrCat("  -", std::string(1, o.letter), ", --")
                                        : std::string("      --");
    absl::StrAppend(&left, o.long_name, o.takes_value ? " <value>" : "");
    if (left.size() < 32) left.resize(32, ' ');
    return absl::StrCat(left, " ", o.required ? "(required) " : "", o.help, "\n");
  };
  std::string out = absl::StrCat("rs_admin ", verb.name, ": ", verb.summary, "\n\nusage: rs_admin ",
                                 verb.name, " [options]\n\noptions:\n");
  for (const OptionSpec& o : verb.options) out += line(o);
  out += "\ncommon options:\n";
  for (const OptionSpec& o : CommonOptions()) out += line(o);
  if (!verb.example.empty()) absl::StrAppend(&out, "\nexample:\n  ", verb.example, "\n");
  if (!verb.notes.empty()) absl::StrAppend(&out, "\nnotes:\n", verb.notes);
  return out;
}

absl::StatusOr<int64_t> ParseInt(const std::string& option, const std::string& text, int64_t min,
                                 int64_t max) {
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v) || v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("option ", option, ": '", text, "' is not an integer in ", min, "..", max));
  }
  return v;
}

absl::StatusOr<bool> ParseBool(const std::string& option, const std::string& text) {
  if (text == "true" || text == "TRUE" || text == "True") return true;
  if (text == "false" || text == "FALSE" || text == "False") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("option ", option, ": '", text, "' is not true or false"));
}

absl::StatusOr<std::optional<int64_t>> ParseTimestamp(const std::string& option,
                                                      const std::string& text) {
  if (text == "now") return std::optional<int64_t>();
  int64_t ms = 0;
  if (absl::SimpleAtoi(text, &ms)) {
    if (ms < 0) {
      return absl::InvalidArgumentError(absl::StrCat("option ", option, ": negative timestamp"));
    }
    return std::optional<int64_t>(ms);
  }
  // yyyy-MM-dd#HH:mm:ss:SSS
  const std::string& s = text;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, milli = 0, used = 0;
  char sep1 = 0, sep2 = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%c%3d%n", &y, &mo, &d, &sep1, &h, &mi, &sec,
                  &sep2, &milli, &used) == 9 &&
      static_cast<size_t>(used) == s.size() && (sep1 == '#' || sep1 == ' ' || sep1 == 'T') &&
      (sep2 == ':' || sep2 == '.') && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 &&
      h <= 23 && mi >= 0 && mi <= 59 && sec >= 0 && sec <= 60 && milli >= 0) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    if (t != static_cast<std::time_t>(-1)) {
      return std::optional<int64_t>(static_cast<int64_t>(t) * 1000 + milli);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("option ", option, ": '", text,
                   "' is not a timestamp (milliseconds, now, or yyyy-MM-dd#HH:mm:ss:SSS)"));
}

std::string FormatTimeMs(int64_t ms) {
  if (ms <= 0) return "";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (localtime_r(&t, &tm) == nullptr) return std::to_string(ms);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return absl::StrCat(std::string(buf, n), ".",
                      absl::StrFormat("%03d", static_cast<int>(ms % 1000)));
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint64_t BigEndian(std::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

}  // namespace

std::string HostToString(std::string_view host) {
  if (host.size() == 8) {
    return absl::StrCat(static_cast<uint8_t>(host[0]), ".", static_cast<uint8_t>(host[1]), ".",
                        static_cast<uint8_t>(host[2]), ".", static_cast<uint8_t>(host[3]), ":",
                        BigEndian(host.substr(4, 4)));
  }
  if (host.size() == 20) {
    std::string out = "[";
    for (int i = 0; i < 16; i += 2) {
      if (i > 0) out += ":";
      absl::StrAppend(&out, absl::Hex(BigEndian(host.substr(i, 2))));
    }
    return absl::StrCat(out, "]:", BigEndian(host.substr(16, 4)));
  }
  return "?";
}

absl::StatusOr<OffsetMsgId> DecodeOffsetMsgId(const std::string& id) {
  if (id.size() != 32 && id.size() != 56) {
    return absl::InvalidArgumentError(absl::StrCat(
        "message id '", id,
        "' is not an offsetMsgId (32 hex digits for an IPv4 store host, 56 for IPv6)"));
  }
  std::string bytes;
  for (size_t i = 0; i < id.size(); i += 2) {
    const int hi = HexValue(id[i]), lo = HexValue(id[i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat("message id '", id, "' is not hexadecimal"));
    }
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  const size_t host_len = bytes.size() - 8;
  if (BigEndian(std::string_view(bytes).substr(host_len - 4, 4)) > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("message id '", id, "' is not an offsetMsgId (its port part is not a port)"));
  }
  OffsetMsgId out;
  out.broker_addr = HostToString(std::string_view(bytes).substr(0, host_len));
  out.commit_log_offset = static_cast<int64_t>(BigEndian(std::string_view(bytes).substr(host_len)));
  return out;
}

std::string EncodeOffsetMsgId(std::string_view host, int64_t commit_log_offset) {
  std::string out;
  for (char c : host) absl::StrAppend(&out, absl::Hex(static_cast<uint8_t>(c), absl::kZeroPad2));
  absl::StrAppend(&out, absl::Hex(static_cast<uint64_t>(commit_log_offset), absl::kZeroPad16));
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void Table::AddRow(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string Table::ToString() const {
  std::vector<size_t> width(headers_.size(), 0);
  for (size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size() + 1;
  for (const auto& r : rows_) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      std::string cell = header ? "#" + cells[c] : cells[c];
      if (c + 1 < cells.size()) {
        cell.resize(width[c], ' ');
        cell += "  ";
      }
      out += cell;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers_, true);
  for (const auto& r : rows_) out += line(r, false);
  return out;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8SequenceAt(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  size_t n = 0;
  uint32_t min = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = b0 & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceAt(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceAt(s, i);
    const auto b = static_cast<uint8_t>(s[i]);
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (b == '\n') {
      out += "\\n";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b == '\\') {
      out += "\\\\";
    } else if (n == 0 || b < 0x20 || b == 0x7F) {
      absl::StrAppend(&out, "\\x", absl::Hex(b, absl::kZeroPad2));
    } else {
      out.push_back(static_cast<char>(b));
    }
    ++i;
  }
  return out;
}

}  // namespace rsadmin
