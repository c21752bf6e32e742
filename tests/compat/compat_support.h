// Helpers of the RocketMQ 4.9.7 fixture compatibility suite (compat_test.cc): locating the golden
// fixtures, loading the expected JSON, hashing, inflating, an independent (test-side) decoder and
// encoder of CommitLog records, and the checks shared by several tests.
//
// Everything here is written from the format description in shared/fixtures/README.md, not from
// libstore's own codec, so that a codec bug in libstore cannot hide itself.
// Thread-safety: test code, single-threaded.
#ifndef TESTS_COMPAT_COMPAT_SUPPORT_H_
#define TESTS_COMPAT_COMPAT_SUPPORT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libstore/message.h"
#include "libstore/message_store.h"
#include "libstore/options.h"

namespace compat {

using json = nlohmann::json;

// Settings of the broker that wrote the fixtures (README section 1).
inline constexpr int64_t kCommitLogFileSize = 65536;
inline constexpr int64_t kCqUnitsPerFile = 300;
inline constexpr int64_t kCqUnitSize = 20;
inline constexpr int32_t kIndexSlots = 500;
inline constexpr int32_t kIndexMaxEntries = 2000;
inline constexpr char kStoreHost[] = "127.0.0.1:20911";
inline constexpr int32_t kMagicMessage = static_cast<int32_t>(0xDAA320A7);
inline constexpr int32_t kMagicBlank = static_cast<int32_t>(0xCBD43194);

// <RS_SOURCE_DIR or the compile-time source dir>/../shared/fixtures, or "" when it does not exist.
std::string FixturesDir();

// Store options matching the fixture broker, rooted at `root`.
libstore::StoreOptions FixtureOptions(const std::string& root);

// File helpers (abort the test program on I/O errors is not wanted: they return "" / false).
bool ReadWholeFile(const std::string& path, std::string* out);
std::vector<std::string> ListDirSorted(const std::string& dir);
// Paths of the regular files below `root`, relative to it, sorted.
std::vector<std::string> ListFilesRecursive(const std::string& root);

// Lazily loaded, cached JSON fixtures (keyed by absolute path).
const std::vector<json>& LoadJsonl(const std::string& path);
const json& LoadJson(const std::string& path);

std::string Sha256Hex(std::string_view data);
// zlib inflate (the Java client's Deflater output); nullopt when the data is not valid zlib.
std::optional<std::string> Inflate(std::string_view data);
// java.util.zip.CRC32 & 0x7fffffff.
int32_t MaskedCrc32(std::string_view data);
// Java String.hashCode() of an ASCII string (all tags used by the tests are ASCII).
int32_t JavaHashAscii(std::string_view s);

// Java String.hashCode() over the UTF-16 code units of a UTF-8 string.
int32_t JavaHash(std::string_view utf8);

// Models of what a 4.9.7 broker writes for a set of messages (lines shaped like expected.jsonl:
// topic, queueId, queueOffset, commitLogOffset, storeSize, sysFlag, storeTimestamp, tags,
// properties), written from README section 4 and the spec. The tests first check that the models
// reproduce the clean fixture's files byte for byte, then use them where no broker-written file
// exists (recovered crashed store, appended store).
// ConsumeQueue files, "topic/queueId/<20-digit name>" -> bytes.
std::map<std::string, std::string> ModelConsumeQueues(const std::vector<json>& messages);
// Index files in creation order, built by dispatching the messages in CommitLog order.
std::vector<std::string> ModelIndexFiles(const std::vector<json>& messages);

int32_t ReadBE32(const char* p);
int64_t ReadBE64(const char* p);
void AppendBE16(std::string* out, uint16_t v);
void AppendBE32(std::string* out, uint32_t v);
void AppendBE64(std::string* out, uint64_t v);

// "a.b.c.d:port" for 4 address bytes, "[hex]:port" otherwise.
std::string HostString(std::string_view ip_bytes, int32_t port);
std::string HostString(const libstore::HostAddress& h);
// 32 upper-case hex chars: IPv4 + port + offset (README section 3), computed independently.
std::string OffsetMsgIdV4(std::string_view ip4, int32_t port, int64_t offset);

// A CommitLog record decoded by the test, straight from the README's layout table.
struct RawRecord {
  bool blank = false;
  int32_t total_size = 0;
  int32_t magic = 0;
  int32_t body_crc = 0;
  int32_t queue_id = 0;
  int32_t flag = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  int32_t sys_flag = 0;
  int64_t born_timestamp = 0;
  std::string born_host;
  int64_t store_timestamp = 0;
  std::string store_host;
  int32_t reconsume_times = 0;
  int64_t prepared_transaction_offset = 0;
  std::string_view body;
  std::string_view topic;
  std::string_view properties;
  std::string_view bytes;  // the whole record (for a blank: its 8-byte header)
};
// Decodes the record at the start of `avail`; false (with *error) when it is not a valid record.
bool ParseRawRecord(std::string_view avail, RawRecord* out, std::string* error);

// The exact bytes RocketMQ 4.9.7 would store for `msg` (IPv4 born host) at `physical_offset`.
std::string EncodeExpectedRecord(const libstore::MessageToStore& msg, int64_t queue_offset,
                                 int64_t physical_offset, int64_t store_timestamp,
                                 std::string_view store_ip4, int32_t store_port);

// Collects mismatches of one check; the test asserts count() == 0 and prints Summary(), which
// lists the first few so that one systematic bug does not flood the output.
class Mismatches {
 public:
  explicit Mismatches(size_t max_listed = 25) : max_listed_(max_listed) {}
  void Add(std::string what);
  template <typename A, typename B>
  void Eq(const std::string& ctx, const char* field, const A& actual, const B& expected) {
    if (!(actual == expected)) Add(Describe(ctx, field, actual, expected));
  }
  size_t count() const { return count_; }
  std::string Summary() const;

 private:
  template <typename A, typename B>
  static std::string Describe(const std::string& ctx, const char* field, const A& a, const B& b);
  size_t max_listed_;
  size_t count_ = 0;
  std::vector<std::string> listed_;
};

std::string ToDebugString(int64_t v);
std::string ToDebugString(const std::string& v);
std::string ToDebugString(std::string_view v);
std::string ToDebugString(const char* v);

template <typename A, typename B>
std::string Mismatches::Describe(const std::string& ctx, const char* field, const A& a,
                                 const B& b) {
  return ctx + ": " + field + " is " + ToDebugString(a) + ", expected " + ToDebugString(b);
}

// Compares a stored record with one line of expected.jsonl (every field of the line).
void CompareWithExpected(const libstore::StoredMessage& m, const json& e, const std::string& ctx,
                         Mismatches* mm);

// Check 1: pulls every (topic, queueId) of `expected` (expected.jsonl lines, grouped per queue
// in queue order) over the range the lines cover and compares every message. Returns the number
// of messages compared.
int64_t PullAndCompare(libstore::MessageStore* store, const std::vector<json>& expected,
                       Mismatches* mm);

// Check 2: min/max offsets of every queue of expected-offsets.json, the set of queues, broker
// offsets of the consumer-offset table, the CommitLog min/max and dispatch lag. `extra_max`
// overrides expected max offsets (queues that grew after the fixture was taken).
void CheckOffsets(libstore::MessageStore* store, const json& offsets,
                  const std::map<std::pair<std::string, int32_t>, int64_t>& extra_max,
                  int64_t expected_commitlog_max, Mismatches* mm);

// Check 3: every line of expected-commitlog.jsonl through GetMessageByOffset, and a raw walk of
// the whole CommitLog through ReadCommitLog decoded by ParseRawRecord. When `fixture_commitlog`
// is not empty the raw bytes must also equal the fixture's files byte for byte.
void WalkCommitLog(libstore::MessageStore* store, const std::vector<json>& lines,
                   const std::string& fixture_commitlog, Mismatches* mm);

// Check 4: every lookup of expected-keys.json; `expected` (expected.jsonl) gives the number of
// messages a unique-key lookup may return.
void CheckKeyQueries(libstore::MessageStore* store, const json& keys,
                     const std::vector<json>& expected, Mismatches* mm);

}  // namespace compat

#endif  // TESTS_COMPAT_COMPAT_SUPPORT_H_
