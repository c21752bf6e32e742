// Explicit big-endian encoding helpers: every integer on disk is big-endian (Java ByteBuffer).
// No struct is ever memcpy'd to disk. Thread-safety: stateless.
#ifndef LIBSTORE_UTIL_CODING_H_
#define LIBSTORE_UTIL_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>

namespace libstore::internal {

inline void PutBE16(char* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void PutBE32(char* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void PutBE64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint16_t GetBE16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t GetBE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t GetBE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline int32_t GetBEI32(const char* p) { return static_cast<int32_t>(GetBE32(p)); }
// Java long arithmetic: wraps on overflow. For sums of values read from disk, where RocketMQ's
// result is defined (and C++'s would not be).
inline int64_t JavaAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
inline int64_t JavaSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
inline int64_t GetBEI64(const char* p) { return static_cast<int64_t>(GetBE64(p)); }

inline void AppendBE16(std::string* s, uint16_t v) {
  char b[2];
  PutBE16(b, v);
  s->append(b, 2);
}
inline void AppendBE32(std::string* s, uint32_t v) {
  char b[4];
  PutBE32(b, v);
  s->append(b, 4);
}
inline void AppendBE64(std::string* s, uint64_t v) {
  char b[8];
  PutBE64(b, v);
  s->append(b, 8);
}

// "%020d" of an offset: the name of CommitLog and ConsumeQueue files.
std::string OffsetFileName(int64_t offset);
// Parses a 20-digit file name; -1 if it is not one.
int64_t ParseOffsetFileName(const std::string& name);

}  // namespace libstore::internal

#endif  // LIBSTORE_UTIL_CODING_H_
