// Unit tests of the small helpers every format depends on: Java String.hashCode over UTF-16,
// the index key hash, the masked body CRC, big-endian coding, offset file names and the
// delay-level parser. Expected values are derived by hand from Java semantics, never from the
// implementation under test.
#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "libstore/message.h"
#include "store/message_store_impl.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore::internal {
namespace {

// Java's String.hashCode over explicit UTF-16 code units (h = 31*h + c, 32-bit wrap). A
// reference for the expected values below; the inputs are the code units Java would see.
int32_t HashUnits(std::initializer_list<uint32_t> units) {
  uint32_t h = 0;
  for (uint32_t u : units) h = 31 * h + u;
  return static_cast<int32_t>(h);
}

TEST(JavaStringHashTest, AsciiMatchesJava) {
  EXPECT_EQ(JavaStringHash(""), 0);
  EXPECT_EQ(JavaStringHash("a"), 97);
  // 'T'=84 'a'=97 'g'=103 'A'=65: ((84*31+97)*31+103)*31+65.
  EXPECT_EQ(JavaStringHash("TagA"), 2598919);
  EXPECT_EQ(JavaStringHash("TagA"), HashUnits({'T', 'a', 'g', 'A'}));
  // The classic Java collision pair.
  EXPECT_EQ(JavaStringHash("Aa"), 2112);
  EXPECT_EQ(JavaStringHash("BB"), 2112);
  // Overflowing, negative result: 32-bit signed wrap.
  EXPECT_EQ(JavaStringHash("TopicTest#key1"), -1655984460);
  EXPECT_EQ(JavaStringHash("polygenelubricants"), INT_MIN);
}

TEST(JavaStringHashTest, EmbeddedNulIsACodeUnit) {
  const std::string s("a\0b", 3);
  EXPECT_EQ(JavaStringHash(s), HashUnits({'a', 0, 'b'}));
  EXPECT_NE(JavaStringHash(s), JavaStringHash("ab"));
}

TEST(JavaStringHashTest, BmpCharactersHashAsOneUtf16Unit) {
  // U+00E9 (2 UTF-8 bytes) is one UTF-16 unit 0xE9.
  EXPECT_EQ(JavaStringHash("\xC3\xA9"), 233);
  // U+4E2D U+6587 (3 UTF-8 bytes each): 0x4E2D*31 + 0x6587.
  EXPECT_EQ(JavaStringHash("\xE4\xB8\xAD\xE6\x96\x87"), 646394);
  EXPECT_EQ(JavaStringHash("\xE4\xB8\xAD\xE6\x96\x87"), HashUnits({0x4E2D, 0x6587}));
  // "héllo wörld"
  EXPECT_EQ(JavaStringHash("h\xC3\xA9llo w\xC3\xB6rld"), 1628148953);
  // U+FFFF, the largest BMP code unit.
  EXPECT_EQ(JavaStringHash("\xEF\xBF\xBF"), 0xFFFF);
}

TEST(JavaStringHashTest, SupplementaryCharacterHashesAsSurrogatePair) {
  // U+1F600 is the UTF-16 pair D83D DE00: 0xD83D*31 + 0xDE00.
  EXPECT_EQ(JavaStringHash("\xF0\x9F\x98\x80"), 1772899);
  EXPECT_EQ(JavaStringHash("\xF0\x9F\x98\x80"), HashUnits({0xD83D, 0xDE00}));
  EXPECT_EQ(JavaStringHash("a\xF0\x9F\x98\x80"
                           "b"),
            57849694);
  // U+10000 (D800 DC00) and U+10FFFF (DBFF DFFF), the ends of the supplementary range.
  EXPECT_EQ(JavaStringHash("\xF0\x90\x80\x80"), HashUnits({0xD800, 0xDC00}));
  EXPECT_EQ(JavaStringHash("\xF4\x8F\xBF\xBF"), HashUnits({0xDBFF, 0xDFFF}));
}

TEST(JavaStringHashTest, InvalidSingleBytesHashAsReplacementCharacter) {
  // A byte that can never start a sequence, and a stray continuation byte: one U+FFFD each.
  EXPECT_EQ(JavaStringHash("\xFF"), 65533);
  EXPECT_EQ(JavaStringHash("a\x80"
                           "b"),
            2124838);
  EXPECT_EQ(JavaStringHash("a\x80"
                           "b"),
            HashUnits({'a', 0xFFFD, 'b'}));
  EXPECT_EQ(JavaStringHash("\xF8\x88\x80\x80\x80"),
            HashUnits({0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}));
}

// Malformed sequences as java.lang.String(byte[], UTF_8) decodes them (sun.nio.cs.UTF_8 and the
// JDK 9+ String fast path agree): a truncated sequence at the end of input is ONE U+FFFD; a
// 3-byte lead with a good second byte and a bad third consumes two bytes for one U+FFFD;
// overlong forms (C0/C1 leads, F0 8x) and out-of-range F4 9x leads are one U+FFFD per byte;
// an encoded surrogate (ED A0 80) is one U+FFFD for all three bytes.
TEST(JavaStringHashTest, MalformedSequencesMatchJavaDecoder) {
  struct Case {
    std::string utf8;
    std::vector<uint32_t> units;  // what Java's String holds after decoding
  };
  const std::vector<Case> cases = {
      {"\xE4\xB8", {0xFFFD}},  // truncated 3-byte at end
      {"\xE4\xB8"
       "A",
       {0xFFFD, 'A'}},                                         // truncated 3-byte, then ASCII
      {"\xF0\x9F\x98", {0xFFFD}},                              // truncated 4-byte at end
      {"\xC0\x80", {0xFFFD, 0xFFFD}},                          // overlong NUL
      {"\xC1\xBF", {0xFFFD, 0xFFFD}},                          // overlong U+007F
      {"\xE0\x80\x80", {0xFFFD, 0xFFFD, 0xFFFD}},              // overlong 3-byte
      {"\xED\xA0\x80", {0xFFFD}},                              // encoded surrogate U+D800
      {"\xF0\x80\x80\x80", {0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}},  // overlong 4-byte
      {"\xF4\x90\x80\x80", {0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD}},  // above U+10FFFF
  };
  for (const Case& c : cases) {
    uint32_t h = 0;
    for (uint32_t u : c.units) h = 31 * h + u;
    std::string hex;
    for (unsigned char b : c.utf8) {
      hex.push_back(' ');
      hex += std::to_string(b);
    }
    EXPECT_EQ(JavaStringHash(c.utf8), static_cast<int32_t>(h)) << "bytes:" << hex;
  }
}

TEST(IndexKeyHashTest, AbsoluteValueOfJavaHash) {
  EXPECT_EQ(IndexKeyHash("TagA"), 2598919);
  EXPECT_EQ(IndexKeyHash(""), 0);
  // Negative Java hash: the absolute value.
  EXPECT_EQ(JavaStringHash("TopicTest#key1"), -1655984460);
  EXPECT_EQ(IndexKeyHash("TopicTest#key1"), 1655984460);
  // Math.abs(Integer.MIN_VALUE) overflows; RocketMQ maps it to 0.
  EXPECT_EQ(IndexKeyHash("polygenelubricants"), 0);
}

TEST(BodyCrcTest, MaskedIeeeCrc32) {
  // The CRC-32 check value is 0xCBF43926; the top bit is masked off.
  EXPECT_EQ(BodyCrc("123456789"), 0x4BF43926);
  EXPECT_EQ(BodyCrc(""), 0);
  // crc32("a") = 0xE8B7BE43 -> 0x68B7BE43.
  EXPECT_EQ(BodyCrc("a"), 0x68B7BE43);
  const std::string with_nul("a\0b", 3);
  EXPECT_GE(BodyCrc(with_nul), 0);
  EXPECT_NE(BodyCrc(with_nul), BodyCrc("ab"));
}

TEST(CodingTest, BigEndianPutGet) {
  char b[8];
  PutBE16(b, 0x0102);
  EXPECT_EQ(std::string(b, 2), std::string("\x01\x02", 2));
  EXPECT_EQ(GetBE16(b), 0x0102);
  PutBE32(b, 0x01020304u);
  EXPECT_EQ(std::string(b, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(GetBE32(b), 0x01020304u);
  PutBE64(b, 0x0102030405060708ull);
  EXPECT_EQ(std::string(b, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(GetBE64(b), 0x0102030405060708ull);

  // Signed views: Java ints are two's complement.
  PutBE32(b, 0xFFFFFFFEu);
  EXPECT_EQ(GetBEI32(b), -2);
  PutBE64(b, 0x8000000000000000ull);
  EXPECT_EQ(GetBEI64(b), INT64_MIN);
  PutBE32(b, static_cast<uint32_t>(-626843481));  // MAGIC V1 as Java prints it
  EXPECT_EQ(std::string(b, 4), std::string("\xDA\xA3\x20\xA7", 4));
}

TEST(CodingTest, AppendBigEndian) {
  std::string s;
  AppendBE16(&s, 0xABCD);
  AppendBE32(&s, 0x11223344u);
  AppendBE64(&s, 0x5566778899AABBCCull);
  EXPECT_EQ(s, std::string("\xAB\xCD\x11\x22\x33\x44\x55\x66\x77\x88\x99\xAA\xBB\xCC", 14));
}

TEST(OffsetFileNameTest, TwentyDigitsZeroPadded) {
  EXPECT_EQ(OffsetFileName(0), "00000000000000000000");
  EXPECT_EQ(OffsetFileName(1073741824), "00000000001073741824");
  EXPECT_EQ(OffsetFileName(6000000), "00000000000006000000");
  EXPECT_EQ(OffsetFileName(INT64_MAX), "09223372036854775807");
}

TEST(OffsetFileNameTest, ParseValidNames) {
  EXPECT_EQ(ParseOffsetFileName("00000000000000000000"), 0);
  EXPECT_EQ(ParseOffsetFileName("00000000001073741824"), 1073741824);
  for (int64_t v :
       {int64_t{1}, int64_t{20}, int64_t{6000000}, int64_t{1} << 40, int64_t{999999999999999999}}) {
    EXPECT_EQ(ParseOffsetFileName(OffsetFileName(v)), v) << v;
  }
}

TEST(OffsetFileNameTest, ParseRejectsNonNames) {
  EXPECT_EQ(ParseOffsetFileName(""), -1);
  EXPECT_EQ(ParseOffsetFileName("0000000000000000000"), -1);    // 19 digits
  EXPECT_EQ(ParseOffsetFileName("000000000000000000000"), -1);  // 21 digits
  EXPECT_EQ(ParseOffsetFileName("0000000000000000000a"), -1);
  EXPECT_EQ(ParseOffsetFileName("+0000000000000000001"), -1);
  EXPECT_EQ(ParseOffsetFileName("-0000000000000000001"), -1);
  EXPECT_EQ(ParseOffsetFileName(" 0000000000000000001"), -1);
  EXPECT_EQ(ParseOffsetFileName("00000000000000000000.tmp"), -1);
  // Beyond INT64_MAX: not an offset.
  EXPECT_EQ(ParseOffsetFileName("09223372036854775808"), -1);
  EXPECT_EQ(ParseOffsetFileName("99999999999999999999"), -1);
}

TEST(OffsetFileNameTest, ParseAcceptsLargestOffsets) {
  // Every 20-digit name of a representable int64 is a valid name, up to INT64_MAX itself.
  EXPECT_EQ(ParseOffsetFileName("09223372036854775799"), 9223372036854775799);
  EXPECT_EQ(ParseOffsetFileName("09223372036854775800"), 9223372036854775800);
  EXPECT_EQ(ParseOffsetFileName(OffsetFileName(INT64_MAX)), INT64_MAX);
}

TEST(ParseDelayLevelsTest, DefaultLevels) {
  const std::vector<int64_t> want = {1000,   5000,   10000,   30000,   60000,   120000,
                                     180000, 240000, 300000,  360000,  420000,  480000,
                                     540000, 600000, 1200000, 1800000, 3600000, 7200000};
  EXPECT_EQ(ParseDelayLevels("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"), want);
}

TEST(ParseDelayLevelsTest, UnitsAndSpacing) {
  EXPECT_EQ(ParseDelayLevels("1d"), std::vector<int64_t>{86400000});
  EXPECT_EQ(ParseDelayLevels("0s 2h"), (std::vector<int64_t>{0, 7200000}));
  EXPECT_EQ(ParseDelayLevels("  1s   3m "), (std::vector<int64_t>{1000, 180000}));
}

TEST(ParseDelayLevelsTest, RejectsMalformedSpecs) {
  EXPECT_TRUE(ParseDelayLevels("").empty());
  EXPECT_TRUE(ParseDelayLevels("   ").empty());
  EXPECT_TRUE(ParseDelayLevels("s").empty());
  EXPECT_TRUE(ParseDelayLevels("1x").empty());
  EXPECT_TRUE(ParseDelayLevels("1S").empty());  // units are lower case, as in RocketMQ
  EXPECT_TRUE(ParseDelayLevels("1s 5").empty());
  EXPECT_TRUE(ParseDelayLevels("abcs").empty());
  EXPECT_TRUE(ParseDelayLevels("1.5s").empty());
  EXPECT_TRUE(ParseDelayLevels("99999999999999999999s").empty());  // not an int64
}

TEST(ParseDelayLevelsTest, RejectsLevelsOverflowingMilliseconds) {
  // 10^15 days in ms does not fit an int64: the level must be rejected, not wrapped (signed
  // overflow is undefined behaviour in C++).
  EXPECT_TRUE(ParseDelayLevels("1000000000000000d").empty());
  EXPECT_TRUE(ParseDelayLevels("1s 9223372036854775807s").empty());
}

}  // namespace
}  // namespace libstore::internal
