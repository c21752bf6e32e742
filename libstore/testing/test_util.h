// Helpers shared by tests, fuzz targets and benchmarks: temporary directories and message
// builders. No GoogleTest dependency here. Thread-safety: TempDir is not shared across threads.
#ifndef LIBSTORE_TESTING_TEST_UTIL_H_
#define LIBSTORE_TESTING_TEST_UTIL_H_

#include <cstdint>
#include <string>

#include "libstore/message.h"

namespace libstore::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "libstore");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Removes a directory tree (best effort).
void RemoveTree(const std::string& path);
// Copies a directory tree (regular files and directories), making the copies writable.
bool CopyTree(const std::string& from, const std::string& to);

// The whole content of a file ("" if it cannot be read).
std::string ReadFileBytes(const std::string& path);
// Overwrites bytes of an existing file at `offset`; false on any error.
bool WriteFileAt(const std::string& path, int64_t offset, const std::string& bytes);

// A message with the given topic/queue/body and optional tags and keys.
MessageToStore MakeMessage(const std::string& topic, int queue_id, const std::string& body,
                           const std::string& tags = "", const std::string& keys = "",
                           const std::string& uniq_key = "");

}  // namespace libstore::testing

#endif  // LIBSTORE_TESTING_TEST_UTIL_H_
