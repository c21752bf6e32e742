// Tests of the Java properties parser and writer (brokerd/config/properties.h). Expected
// values are what java.util.Properties.load (JDK 9+) gives for the same text, worked out from
// its LineReader / loadConvert rules. Thread-safety: n/a (test code).
#include "config/properties.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"

namespace brokerd::config {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs PairsOf(const ParsedProperties& p) {
  Pairs out;
  for (const Property& e : p.entries) out.emplace_back(e.key, e.value);
  return out;
}

// Parses text that must be valid and returns its pairs.
Pairs Parse(std::string_view text) {
  absl::StatusOr<ParsedProperties> p = ParseProperties(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? PairsOf(*p) : Pairs{};
}

// The value of the only pair of text.
std::string ValueOf(std::string_view text) {
  Pairs p = Parse(text);
  EXPECT_EQ(p.size(), 1u) << text;
  return p.empty() ? "<none>" : p[0].second;
}

TEST(PropertiesTest, Separators) {
  EXPECT_EQ(Parse("a=b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a:b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a\tb"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a\fb"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a = b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a  :  b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("a     b"), (Pairs{{"a", "b"}}));
  // Only one separator is skipped; a second one belongs to the value.
  EXPECT_EQ(Parse("a==b"), (Pairs{{"a", "=b"}}));
  EXPECT_EQ(Parse("a:=b"), (Pairs{{"a", "=b"}}));
  EXPECT_EQ(Parse("a =:b"), (Pairs{{"a", ":b"}}));
  // Whitespace ends the key; a later '=' is part of the value when one was already taken...
  EXPECT_EQ(Parse("a b=c"), (Pairs{{"a", "b=c"}}));
  // ...but whitespace then '=' is one separator.
  EXPECT_EQ(Parse("a \t = \t b"), (Pairs{{"a", "b"}}));
  // No value at all.
  EXPECT_EQ(Parse("a"), (Pairs{{"a", ""}}));
  EXPECT_EQ(Parse("a="), (Pairs{{"a", ""}}));
  EXPECT_EQ(Parse("a   "), (Pairs{{"a", ""}}));
  // Empty keys.
  EXPECT_EQ(Parse("=v"), (Pairs{{"", "v"}}));
  EXPECT_EQ(Parse(":v"), (Pairs{{"", "v"}}));
}

TEST(PropertiesTest, WhitespaceAroundLinesAndValues) {
  EXPECT_EQ(Parse("   a=b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse(" \t\f a=b"), (Pairs{{"a", "b"}}));
  // Trailing whitespace is kept in values.
  EXPECT_EQ(ValueOf("a=b  "), "b  ");
  EXPECT_EQ(ValueOf("a=b\t"), "b\t");
  // \v is not whitespace to Properties.
  EXPECT_EQ(Parse("\va=b"), (Pairs{{"\va", "b"}}));
  // Blank and whitespace-only lines are skipped.
  EXPECT_EQ(Parse("\n\n  \t\n a=1\n\n"), (Pairs{{"a", "1"}}));
}

TEST(PropertiesTest, Comments) {
  EXPECT_EQ(Parse("# comment\n! also\n  # indented\n\t! too\na=b"), (Pairs{{"a", "b"}}));
  EXPECT_EQ(Parse("#a=b"), Pairs{});
  // '#' after the start of a line is content.
  EXPECT_EQ(ValueOf("a=b # not a comment"), "b # not a comment");
  EXPECT_EQ(Parse("a#b=c"), (Pairs{{"a#b", "c"}}));
  // A comment ending in a backslash does not continue.
  EXPECT_EQ(Parse("# comment \\\na=b"), (Pairs{{"a", "b"}}));
  // Comments end at \r too.
  EXPECT_EQ(Parse("# c\ra=b\r# d\r\nc=d"), (Pairs{{"a", "b"}, {"c", "d"}}));
  // A comment at the end without a newline.
  EXPECT_EQ(Parse("a=b\n# last"), (Pairs{{"a", "b"}}));
}

TEST(PropertiesTest, LineContinuation) {
  EXPECT_EQ(ValueOf("a=b\\\n   c"), "bc");
  EXPECT_EQ(ValueOf("a=b\\\r\n \t c"), "bc");
  EXPECT_EQ(ValueOf("a=b\\\r   c"), "bc");
  EXPECT_EQ(ValueOf("a=one, \\\n    two, \\\n    three"), "one, two, three");
  // An even number of backslashes is escaped backslashes, not a continuation.
  EXPECT_EQ(Parse("a=b\\\\\nc=d"), (Pairs{{"a", "b\\"}, {"c", "d"}}));
  // Odd: one escaped backslash plus a continuation.
  EXPECT_EQ(ValueOf("a=b\\\\\\\nc"), "b\\c");
  // A key can be continued too.
  EXPECT_EQ(Parse("ke\\\n  y=v"), (Pairs{{"key", "v"}}));
  // A continuation line starting with '#' is content, not a comment.
  EXPECT_EQ(ValueOf("a=b\\\n#c"), "b#c");
  // An empty continuation line ends the logical line.
  EXPECT_EQ(Parse("a=b\\\n\nc=d"), (Pairs{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(Parse("a=b\\\n   \nc=d"), (Pairs{{"a", "b"}, {"c", "d"}}));
  // A backslash at the very end is dropped.
  EXPECT_EQ(ValueOf("a=b\\"), "b");
  EXPECT_EQ(ValueOf("a=b\\\n"), "b");
  // The separator may sit on the continuation line.
  EXPECT_EQ(Parse("key\\\n  =value"), (Pairs{{"key", "value"}}));
  // A line that is only a backslash at the end of the file is an empty key with an empty
  // value (Java does this too); followed by a blank line it is nothing.
  EXPECT_EQ(Parse("\\"), (Pairs{{"", ""}}));
  EXPECT_EQ(Parse("\\\n"), (Pairs{{"", ""}}));
  EXPECT_EQ(Parse("\\\n\n"), Pairs{});
  // ... and a '#' right after it starts a comment (JDK 9+).
  EXPECT_EQ(Parse("\\\n#x=1\n"), Pairs{});
}

TEST(PropertiesTest, Escapes) {
  EXPECT_EQ(ValueOf("a=\\t\\n\\r\\f\\\\"), "\t\n\r\f\\");
  // A backslash before any other character yields that character.
  EXPECT_EQ(ValueOf("a=\\x\\=\\:\\ \\#\\!\\\"\\b"), "x=: #!\"b");
  // Escaped separators and spaces inside keys.
  EXPECT_EQ(Parse("a\\=b=c"), (Pairs{{"a=b", "c"}}));
  EXPECT_EQ(Parse("a\\:b:c"), (Pairs{{"a:b", "c"}}));
  EXPECT_EQ(Parse("a\\ b c"), (Pairs{{"a b", "c"}}));
  EXPECT_EQ(Parse("\\#a=b"), (Pairs{{"#a", "b"}}));
  // An escaped leading space keeps it in the value.
  EXPECT_EQ(ValueOf("a=\\  b"), "  b");
  // An escaped backslash before the separator does not escape it.
  EXPECT_EQ(Parse("a\\\\=b"), (Pairs{{"a\\", "b"}}));
}

TEST(PropertiesTest, UnicodeEscapes) {
  EXPECT_EQ(ValueOf("a=\\u0041\\u0062"), "Ab");
  EXPECT_EQ(ValueOf("a=\\u00e9"), "\xC3\xA9");            // é, lower-case hex
  EXPECT_EQ(ValueOf("a=\\u00E9"), "\xC3\xA9");            // upper-case hex
  EXPECT_EQ(ValueOf("a=\\u20AC"), "\xE2\x82\xAC");        // €
  EXPECT_EQ(ValueOf("a=\\u0000"), std::string(1, '\0'));  // NUL stays one byte
  EXPECT_EQ(Parse("\\u006Bey=v"), (Pairs{{"key", "v"}}));
  // A surrogate pair is one code point, four bytes of UTF-8.
  EXPECT_EQ(ValueOf("a=\\uD83D\\uDE00"), "\xF0\x9F\x98\x80");      // U+1F600
  EXPECT_EQ(ValueOf("a=x\\uD800\\uDC00y"), "x\xF0\x90\x80\x80y");  // U+10000
  // ... also across a continuation line.
  EXPECT_EQ(ValueOf("a=\\uD83D\\\n   \\uDE00"), "\xF0\x9F\x98\x80");
  // Escaped '\u' is not an escape.
  EXPECT_EQ(ValueOf("a=\\\\u0041"), "\\u0041");
}

TEST(PropertiesTest, LoneSurrogatesBecomeQuestionMarks) {
  absl::StatusOr<ParsedProperties> p = ParseProperties("x=1\na=\\uD83Dz\\uDE00\\uD800");
  ASSERT_OK(p);
  ASSERT_EQ(p->entries.size(), 2u);
  EXPECT_EQ(p->entries[1].value, "?z??");
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_EQ(p->warnings[0].line, 2);
  EXPECT_NE(p->warnings[0].message.find("3 lone UTF-16 surrogate"), std::string::npos)
      << p->warnings[0].message;
}

TEST(PropertiesTest, MalformedUnicodeEscapeIsAnErrorWithItsLine) {
  for (const char* text : {"a=1\nb=2\nc=\\u12G4", "a=1\nb=2\nc=\\u12", "a=1\nb=2\nc=x\\u",
                           "a=1\nb=2\n\\u00=v", "a=1\nb=2\nc=\\\n  \\uZZZZ"}) {
    absl::StatusOr<ParsedProperties> p = ParseProperties(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(p.status().message());
    EXPECT_NE(msg.find("malformed \\uXXXX"), std::string::npos) << msg;
  }
  // The line is the one of the escape, also on a continuation line.
  absl::StatusOr<ParsedProperties> p = ParseProperties("a=1\nb=2\nc=x\\\n  \\uZZZZ");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("line 4:"), std::string::npos) << p.status();
}

TEST(PropertiesTest, DuplicatesLastWinsWithWarning) {
  absl::StatusOr<ParsedProperties> p = ParseProperties("a=1\nb=2\na=3\n");
  ASSERT_OK(p);
  EXPECT_EQ(PairsOf(*p), (Pairs{{"a", "3"}, {"b", "2"}}));
  EXPECT_EQ(p->entries[0].line, 3);
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_EQ(p->warnings[0].line, 3);
  EXPECT_EQ(p->warnings[0].ToString(),
            "line 3: duplicate key 'a' (also on line 1); the last value wins");
  ASSERT_NE(p->Find("b"), nullptr);
  EXPECT_EQ(p->Find("b")->value, "2");
  EXPECT_EQ(p->Find("c"), nullptr);
}

TEST(PropertiesTest, LineNumbersCountEveryKindOfLineBreak) {
  absl::StatusOr<ParsedProperties> p = ParseProperties("a=1\r\nb=2\rc=3\n\n# x\nd=\\\n  4\ne=5");
  ASSERT_OK(p);
  ASSERT_EQ(p->entries.size(), 5u);
  EXPECT_EQ(p->entries[0].line, 1);
  EXPECT_EQ(p->entries[1].line, 2);
  EXPECT_EQ(p->entries[2].line, 3);
  EXPECT_EQ(p->entries[3].line, 6);  // a continued pair has the line it starts on
  EXPECT_EQ(p->entries[3].value, "4");
  EXPECT_EQ(p->entries[4].line, 8);
}

TEST(PropertiesTest, BytesAbove127PassThrough) {
  // UTF-8 stays UTF-8 (Java's load(InputStream) would see Latin-1 characters).
  EXPECT_EQ(Parse("n\xC3\xA4me=v\xC3\xA9"), (Pairs{{"n\xC3\xA4me", "v\xC3\xA9"}}));
  EXPECT_EQ(ValueOf("a=\\\xFF"), "\xFF");
}

TEST(PropertiesTest, RealBrokerConfShape) {
  absl::StatusOr<ParsedProperties> p = ParseProperties(
      "#  Licensed to the Apache Software Foundation (ASF)\n"
      "brokerClusterName = DefaultCluster\n"
      "brokerName = broker-a\n"
      "brokerId = 0\n"
      "deleteWhen = 04\n"
      "fileReservedTime = 48\n"
      "brokerRole = ASYNC_MASTER\n"
      "flushDiskType = ASYNC_FLUSH\n");
  ASSERT_OK(p);
  EXPECT_EQ(PairsOf(*p), (Pairs{{"brokerClusterName", "DefaultCluster"},
                                {"brokerName", "broker-a"},
                                {"brokerId", "0"},
                                {"deleteWhen", "04"},
                                {"fileReservedTime", "48"},
                                {"brokerRole", "ASYNC_MASTER"},
                                {"flushDiskType", "ASYNC_FLUSH"}}));
  EXPECT_TRUE(p->warnings.empty());
}

TEST(PropertiesTest, EscapeFunctions) {
  EXPECT_EQ(EscapePropertyKey("a b=c:d#e!f\\g"), "a\\ b\\=c\\:d\\#e\\!f\\\\g");
  EXPECT_EQ(EscapePropertyValue("  a b"), "\\  a b");
  EXPECT_EQ(EscapePropertyValue("\t\n\r\f"), "\\t\\n\\r\\f");
  EXPECT_EQ(EscapePropertyValue(std::string("\x01\x7F", 2)), "\\u0001\\u007F");
  EXPECT_EQ(EscapePropertyValue("\xC3\xA9"), "\xC3\xA9");
  EXPECT_EQ(SerializeProperties({{"k", "v", 0}, {"", "", 0}}), "k=v\n=\n");
}

TEST(PropertiesTest, SerializeThenParseRoundTrips) {
  const std::vector<Property> tricky = {
      {"plain", "value", 0},
      {" lead and trail ", "  lead and trail  ", 0},
      {"#hash", "!bang", 0},
      {"sep=:", "=:", 0},
      {"back\\slash", "ends with \\", 0},
      {"", "", 0},
      {"ctl", std::string("\x00\x01\t\n\r\f\x1F\x7F", 8), 0},
      {"utf8 \xC3\xA9", "\xF0\x9F\x98\x80 \xFF\xFE", 0},
      {"u", "\\u0041", 0},
  };
  const std::string text = SerializeProperties(tricky);
  absl::StatusOr<ParsedProperties> p = ParseProperties(text);
  ASSERT_OK(p);
  ASSERT_EQ(p->entries.size(), tricky.size()) << text;
  for (size_t i = 0; i < tricky.size(); ++i) {
    EXPECT_EQ(p->entries[i].key, tricky[i].key) << i;
    EXPECT_EQ(p->entries[i].value, tricky[i].value) << i;
    EXPECT_EQ(p->entries[i].line, static_cast<int>(i) + 1);
  }
  EXPECT_TRUE(p->warnings.empty());
}

TEST(PropertiesTest, ReadFile) {
  libstore::testing::TempDir dir("config-test");
  const std::string path = dir.path() + "/broker.conf";
  {
    std::ofstream f(path, std::ios::binary);
    f << "a=1\n# c\nb = two\n";
  }
  absl::StatusOr<ParsedProperties> p = ReadPropertiesFile(path);
  ASSERT_OK(p);
  EXPECT_EQ(PairsOf(*p), (Pairs{{"a", "1"}, {"b", "two"}}));

  absl::StatusOr<ParsedProperties> missing = ReadPropertiesFile(dir.path() + "/nope.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope.conf"), std::string::npos);

  EXPECT_FALSE(ReadPropertiesFile(dir.path()).ok());  // a directory

  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "a=\\uXYZW\n";
  }
  absl::StatusOr<ParsedProperties> bad = ReadPropertiesFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ": line 1: malformed"), std::string::npos)
      << bad.status();

  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << std::string(kMaxPropertiesFileBytes + 1, '#');
  }
  EXPECT_FALSE(ReadPropertiesFile(path).ok());
}

}  // namespace
}  // namespace brokerd::config
