// Implementation of the small helpers in coding.h and hash.h and of JavaStringHash.
#include <libdeflate.h>

#include <climits>
#include <cstdio>

#include "libstore/message.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore {

int32_t JavaStringHash(std::string_view s) {
  // Java hashes UTF-16 code units; decode UTF-8 into code points, split supplementary ones
  // into surrogate pairs. Invalid bytes hash as U+FFFD, which is what Java's decoder yields.
  uint32_t h = 0;
  size_t i = 0;
  const size_t n = s.size();
  auto unit = [&h](uint32_t cu) { h = 31 * h + cu; };
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      unit(c);
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      unit(0xFFFD);
      ++i;
      continue;
    }
    if (i + len > n) {
      unit(0xFFFD);
      ++i;
      continue;
    }
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      unit(0xFFFD);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 + (cp >> 10));
      unit(0xDC00 + (cp & 0x3FF));
    } else {
      unit(cp);
    }
    i += len;
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
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace internal
}  // namespace libstore
