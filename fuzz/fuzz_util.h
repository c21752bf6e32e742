// Helpers shared by the libFuzzer targets in this directory: scratch directories for file
// images, a reader that splits a fuzz input into fields, and FUZZ_CHECK, which abort()s (so
// that libFuzzer and the corpus replay report the input) when a harness invariant is violated.
// Header-only so every target stays a single translation unit. Thread-safety: not shared
// across threads.
#ifndef LIBSTORE_FUZZ_FUZZ_UTIL_H_
#define LIBSTORE_FUZZ_FUZZ_UTIL_H_

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "testing/test_util.h"

namespace libstore::fuzz {

// The scratch directory of the input being run: removed on the way out of a crash too (abort()
// skips destructors), so that crashing inputs do not leave their files behind in /dev/shm.
inline std::string& ActiveScratchDir() {
  static std::string path;
  return path;
}
inline void RemoveActiveScratchDir() {
  std::string& p = ActiveScratchDir();
  if (!p.empty()) libstore::testing::RemoveTree(p);
  p.clear();
}

}  // namespace libstore::fuzz

// Part of the sanitizer runtimes (ASan/UBSan builds); null when none is linked.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace libstore::fuzz {

// Reports a violated invariant and aborts.
[[noreturn]] __attribute__((format(printf, 3, 4))) inline void FuzzFail(const char* file, int line,
                                                                        const char* fmt, ...) {
  RemoveActiveScratchDir();
  std::fprintf(stderr, "%s:%d: FUZZ INVARIANT VIOLATED: ", file, line);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  std::abort();
}

#define FUZZ_FAIL(...) ::libstore::fuzz::FuzzFail(__FILE__, __LINE__, __VA_ARGS__)
#define FUZZ_CHECK(cond)                 \
  do {                                   \
    if (!(cond)) FUZZ_FAIL("%s", #cond); \
  } while (0)

// Where scratch directories go: $TMPDIR if set, else /dev/shm (tmpfs: file images never touch
// the disk), else /tmp.
inline std::string ScratchRoot() {
  const char* t = std::getenv("TMPDIR");
  if (t != nullptr && *t != '\0') return t;
  struct stat st;
  if (::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return "/tmp";
}

// A fresh directory, removed with its contents on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = ScratchRoot() + "/libstore-fuzz.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) FUZZ_FAIL("mkdtemp(%s) failed", tmpl.c_str());
    path_ = tmpl;
    ActiveScratchDir() = path_;
    static const bool hooked = [] {
      if (__sanitizer_set_death_callback != nullptr) {
        __sanitizer_set_death_callback(&RemoveActiveScratchDir);
      }
      return true;
    }();
    (void)hooked;
  }
  ~ScratchDir() {
    libstore::testing::RemoveTree(path_);
    if (ActiveScratchDir() == path_) ActiveScratchDir().clear();
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `data` to `path` (creating parent directories). With size >= 0 the file is exactly
// `size` bytes: `data` is truncated or padded with zeros.
inline void WriteFileImage(const std::string& path, std::string_view data, int64_t size = -1) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) FUZZ_FAIL("cannot create %s", path.c_str());
  if (size >= 0 && data.size() > static_cast<size_t>(size)) data = data.substr(0, size);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (size >= 0 && static_cast<int64_t>(data.size()) < size) {
    const std::string zeros(static_cast<size_t>(size) - data.size(), '\0');
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  }
  out.close();
  if (!out) FUZZ_FAIL("cannot write %s", path.c_str());
}

// Reads a whole file ("" if it cannot be read).
inline std::string ReadWholeFile(const std::string& path) {
  return libstore::testing::ReadFileBytes(path);
}

// Consumes a fuzz input front to back. Reading past the end yields zeros / short views, so
// every input maps to some structure.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size) : in_(reinterpret_cast<const char*>(data), size) {}
  explicit InputReader(std::string_view in) : in_(in) {}

  uint8_t U8() {
    if (in_.empty()) return 0;
    const auto v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint16_t U16() {
    const uint16_t hi = U8();
    return static_cast<uint16_t>((hi << 8) | U8());
  }
  // Up to n bytes.
  std::string_view Take(size_t n) {
    n = std::min(n, in_.size());
    std::string_view v = in_.substr(0, n);
    in_.remove_prefix(n);
    return v;
  }
  std::string_view Rest() { return Take(in_.size()); }
  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace libstore::fuzz

#endif  // LIBSTORE_FUZZ_FUZZ_UTIL_H_
