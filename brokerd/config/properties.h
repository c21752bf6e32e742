// Java properties files (java.util.Properties text format), as RocketMQ's broker.conf and
// namesrv properties are written: a parser faithful to Properties.load and a writer whose
// output Properties.load (and ParseProperties) reads back to the same pairs.
//
// What ParseProperties implements (the JDK 9+ LineReader / loadConvert; see properties.cc):
//  * natural lines end at "\n", "\r\n" or "\r"; leading ' ', '\t', '\f' of every natural line
//    are skipped; blank lines are skipped;
//  * a line whose first non-blank character is '#' or '!' is a comment (never continued);
//  * a line ending in an odd number of backslashes continues on the next line (the backslash
//    and the next line's leading whitespace are dropped);
//  * the key ends at the first unescaped '=', ':' or whitespace; whitespace around it, and one
//    '=' or ':' after whitespace, are skipped; the rest of the line, trailing whitespace
//    included, is the value;
//  * escapes: \t \n \r \f, \uXXXX (exactly four hex digits, else an error), and a backslash
//    before any other character yields that character;
//  * the last of duplicate keys wins (each duplicate is reported as a warning).
// Encoding: Java's load(InputStream) reads bytes as ISO-8859-1. We keep bytes >= 0x80 as they
// are instead (a UTF-8 file stays UTF-8; Java would see each byte as one Latin-1 character),
// and encode \uXXXX escapes as UTF-8, joining surrogate pairs. A lone surrogate becomes '?',
// which is what Java's String.getBytes(UTF_8) makes of it. For ASCII files (every real
// broker.conf) and for escapes the result is the same string Java has.
//
// Thread-safety: stateless functions; results are plain values.
#ifndef BROKERD_CONFIG_PROPERTIES_H_
#define BROKERD_CONFIG_PROPERTIES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace brokerd::config {

// Largest properties file ReadPropertiesFile reads (1 MiB; a broker.conf is a few KiB).
inline constexpr int64_t kMaxPropertiesFileBytes = 1 << 20;

// One key = value pair.
struct Property {
  std::string key;
  std::string value;
  // 1-based line where the pair's logical line starts (0: not from a file).
  int line = 0;

  bool operator==(const Property&) const = default;
};

// A diagnostic that does not stop loading (duplicate key, ignored setting, ...).
struct ConfigWarning {
  int line = 0;  // 0: not tied to one line
  std::string message;

  // "line 7: <message>", or just the message when line is 0.
  std::string ToString() const;
};

struct ParsedProperties {
  // One entry per distinct key, in the order keys first appear; value and line are those of
  // the key's last occurrence (Java's Properties keeps the last put).
  std::vector<Property> entries;
  // Duplicates and lone surrogates, in file order.
  std::vector<ConfigWarning> warnings;

  // The entry for `key`, or nullptr.
  const Property* Find(std::string_view key) const;
};

// Parses properties text. Fails (InvalidArgument, naming the line) only on a malformed
// \uXXXX escape, where Java's Properties.load throws IllegalArgumentException.
absl::StatusOr<ParsedProperties> ParseProperties(std::string_view text);

// Reads and parses a file of at most kMaxPropertiesFileBytes. Errors name the path.
absl::StatusOr<ParsedProperties> ReadPropertiesFile(const std::string& path);

// Escapes a key / value so that ParseProperties (and Java) reads it back unchanged, the way
// Properties.store escapes (spaces in keys, a leading space in values, \t \n \r \f, '\\',
// '=', ':', '#', '!', and other control bytes as \u00XX), except that bytes >= 0x80 are
// written as they are (see the encoding note above).
std::string EscapePropertyKey(std::string_view key);
std::string EscapePropertyValue(std::string_view value);

// "key=value\n" per entry, escaped as above.
std::string SerializeProperties(const std::vector<Property>& entries);

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_PROPERTIES_H_
