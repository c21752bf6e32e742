// Test helpers; see test_util.h.
#include "testing/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace libstore::testing {

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
  char* p = mkdtemp(tmpl.data());
  path_ = p != nullptr ? std::string(p) : std::string();
}

TempDir::~TempDir() { RemoveTree(path_); }

void RemoveTree(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

bool CopyTree(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy(from, to, std::filesystem::copy_options::recursive, ec);
  if (ec) return false;
  for (auto& e : std::filesystem::recursive_directory_iterator(to, ec)) {
    std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
  }
  std::filesystem::permissions(to, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ec);
  return true;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool WriteFileAt(const std::string& path, int64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  if (!f.good()) return false;
  f.seekp(offset);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return f.good();
}

MessageToStore MakeMessage(const std::string& topic, int queue_id, const std::string& body,
                           const std::string& tags, const std::string& keys,
                           const std::string& uniq_key) {
  MessageToStore m;
  m.topic = topic;
  m.queue_id = queue_id;
  m.body = body;
  m.born_timestamp_ms = 1700000000000;
  m.born_host.ip_bytes = std::string("\x7f\x00\x00\x01", 4);
  m.born_host.port = 50000;
  Properties p;
  if (!tags.empty()) p.Set("TAGS", tags);
  if (!keys.empty()) p.Set("KEYS", keys);
  if (!uniq_key.empty()) p.Set("UNIQ_KEY", uniq_key);
  p.Set("WAIT", "true");
  m.properties = p.Encode();
  return m;
}

}  // namespace libstore::testing
