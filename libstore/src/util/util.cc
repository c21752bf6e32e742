// Implementation of the small helpers in coding.h and hash.h and of JavaStringHash.
#include <libdeflate.h>

#include <climits>
#include <cstdio>

#include "libstore/message.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore {

int32_t JavaStringHash(std::string_view s) {
  // Java hashes the UTF-16 code units of new String(bytes, UTF_8). Decode exactly as that
  // constructor does (sun.nio.cs.UTF_8, malformed input replaced): every malformed subsequence
  // becomes ONE U+FFFD, and Java decides how many bytes it covers; supplementary code points
  // become surrogate pairs.
  constexpr uint32_t kRepl = 0xFFFD;
  uint32_t h = 0;
  auto unit = [&h](uint32_t cu) { h = 31 * h + cu; };
  auto at = [s](size_t k) -> uint32_t { return static_cast<unsigned char>(s[k]); };
  auto cont = [](uint32_t b) { return (b & 0xC0) == 0x80; };
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const uint32_t b1 = at(i);
    const size_t left = n - i;
    if (b1 < 0x80) {
      unit(b1);
      i += 1;
    } else if (b1 >= 0xC2 && b1 <= 0xDF) {  // 2 bytes
      if (left < 2) {
        unit(kRepl);  // truncated at the end: one U+FFFD for the rest
        break;
      }
      if (!cont(at(i + 1))) {
        unit(kRepl);
        i += 1;
        continue;
      }
      unit(((b1 & 0x1F) << 6) | (at(i + 1) & 0x3F));
      i += 2;
    } else if (b1 >= 0xE0 && b1 <= 0xEF) {  // 3 bytes
      auto bad2 = [&](uint32_t b2) { return (b1 == 0xE0 && (b2 & 0xE0) == 0x80) || !cont(b2); };
      if (left < 3) {
        unit(kRepl);
        if (left == 2 && bad2(at(i + 1))) {
          i += 1;
          continue;
        }
        break;  // truncated at the end
      }
      const uint32_t b2 = at(i + 1), b3 = at(i + 2);
      if (bad2(b2) || !cont(b3)) {
        unit(kRepl);
        i += bad2(b2) ? 1 : 2;
        continue;
      }
      const uint32_t c = ((b1 & 0x0F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F);
      unit(c >= 0xD800 && c <= 0xDFFF ? kRepl : c);  // an encoded surrogate: one U+FFFD
      i += 3;
    } else if (b1 >= 0xF0 && b1 <= 0xF7) {  // 4 bytes
      // Leads above F4, overlong F0 8x and out-of-range F4 9x..Bx cover only the lead byte.
      auto bad2 = [&](uint32_t b2) {
        return b1 > 0xF4 || (b1 == 0xF0 && (b2 < 0x90 || b2 > 0xBF)) ||
               (b1 == 0xF4 && (b2 & 0xF0) != 0x80) || !cont(b2);
      };
      if (left < 4) {
        unit(kRepl);
        if (b1 > 0xF4 || (left > 1 && bad2(at(i + 1)))) {
          i += 1;
          continue;
        }
        if (left > 2 && !cont(at(i + 2))) {
          i += 2;
          continue;
        }
        break;  // truncated at the end
      }
      const uint32_t b2 = at(i + 1), b3 = at(i + 2), b4 = at(i + 3);
      if (bad2(b2) || !cont(b3) || !cont(b4)) {
        unit(kRepl);
        i += bad2(b2) ? 1 : !cont(b3) ? 2 : 3;
        continue;
      }
      const uint32_t cp =
          (((b1 & 0x07) << 18) | ((b2 & 0x3F) << 12) | ((b3 & 0x3F) << 6) | (b4 & 0x3F)) - 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
      i += 4;
    } else {  // 80..BF, C0, C1, F8..FF
      unit(kRepl);
      i += 1;
    }
  }
  return static_cast<int32_t>(h);
}

namespace internal {

int32_t BodyCrc(std::string_view data) {
  return static_cast<int32_t>(libdeflate_crc32(0, data.data(), data.size()) & 0x7FFFFFFF);
}

int32_t IndexKeyHash(std::string_view utf8) {
  const int32_t h = JavaStringHash(utf8);
  if (h == INT_MIN) return 0;
  return h < 0 ? -h : h;
}

std::string OffsetFileName(int64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(offset));
  return buf;
}

int64_t ParseOffsetFileName(const std::string& name) {
  if (name.size() != 20) return -1;
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return -1;
    const int d = c - '0';
    if (v > (INT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace internal
}  // namespace libstore
