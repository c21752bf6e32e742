// Golden vectors: every worked example in docs/format/*.md is a hex block marked
// `<!-- golden:NAME -->`. This test extracts each block and checks that libstore's own encoders
// produce exactly those bytes for the documented example, and that its decoders read the
// documented fields back. A change to a format or to a page therefore fails here until both
// agree again.
//
// The docs are found through RS_SOURCE_DIR (set by CTest) or, when the binary is run by hand,
// the source directory compiled in as RS_GOLDEN_SOURCE_DIR.
//
// Thread-safety: n/a (single-threaded test).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "commitlog/record.h"
#include "consumequeue/consume_queue.h"
#include "index/index_file.h"
#include "libstore/env.h"
#include "libstore/message.h"
#include "recovery/checkpoint.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"
#include "util/coding.h"
#include "util/hash.h"

#ifndef RS_GOLDEN_SOURCE_DIR
#define RS_GOLDEN_SOURCE_DIR "."
#endif

namespace libstore::internal {
namespace {

using ::libstore::testing::TempDir;

// ---------------------------------------------------------------------------------------------
// Reading the golden blocks out of the pages.

std::string SourceDir() {
  const char* env = std::getenv("RS_SOURCE_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return RS_GOLDEN_SOURCE_DIR;
}

std::string ReadPage(const std::string& page) {
  const std::string path = SourceDir() + "/docs/format/" + page;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Every `<!-- golden:NAME -->` marker must be followed (after optional blank lines) by a fence
// opened with ```hex; the block's hex digits, whitespace ignored, are the bytes.
std::map<std::string, std::string> ExtractGolden(const std::string& page) {
  std::map<std::string, std::string> out;
  const std::string text = ReadPage(page);
  static constexpr std::string_view kMarker = "<!-- golden:";
  size_t pos = 0;
  while ((pos = text.find(kMarker, pos)) != std::string::npos) {
    const size_t name_begin = pos + kMarker.size();
    const size_t name_end = text.find(" -->", name_begin);
    if (name_end == std::string::npos) {
      ADD_FAILURE() << page << ": unterminated golden marker at byte " << pos;
      break;
    }
    const std::string name = text.substr(name_begin, name_end - name_begin);
    size_t p = name_end + 4;
    while (p < text.size() && (text[p] == '\n' || text[p] == '\r' || text[p] == ' ')) ++p;
    static constexpr std::string_view kOpen = "```hex\n";
    if (text.compare(p, kOpen.size(), kOpen) != 0) {
      ADD_FAILURE() << page << ": golden:" << name << " is not followed by a ```hex block";
      pos = name_end;
      continue;
    }
    const size_t body_begin = p + kOpen.size();
    const size_t body_end = text.find("```", body_begin);
    if (body_end == std::string::npos) {
      ADD_FAILURE() << page << ": golden:" << name << " has no closing fence";
      break;
    }
    std::string bytes;
    int hi = -1;
    for (size_t i = body_begin; i < body_end; ++i) {
      const char c = text[i];
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
      const int d = HexDigit(c);
      if (d < 0) {
        ADD_FAILURE() << page << ": golden:" << name << " has a non-hex character '" << c << "'";
        break;
      }
      if (hi < 0) {
        hi = d;
      } else {
        bytes.push_back(static_cast<char>(hi * 16 + d));
        hi = -1;
      }
    }
    if (hi >= 0) ADD_FAILURE() << page << ": golden:" << name << " has an odd number of digits";
    if (!out.emplace(name, bytes).second) {
      ADD_FAILURE() << page << ": golden:" << name << " appears twice";
    }
    pos = body_end;
  }
  return out;
}

std::string Hex(std::string_view b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i > 0 && i % 16 == 0) {
      out.push_back('\n');
    } else if (i > 0 && i % 4 == 0) {
      out.push_back(' ');
    }
    const auto c = static_cast<unsigned char>(b[i]);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// Compares bytes and prints both sides as the pages show them, so a mismatch can be fixed by
// reading the failure.
#define EXPECT_BYTES_EQ(golden, actual) \
  EXPECT_EQ(Hex(golden), Hex(actual)) << "(expected = the page's block, actual = libstore)"

// Looks up one block; the set of names per page is checked separately.
std::string Golden(const std::map<std::string, std::string>& blocks, const std::string& name) {
  auto it = blocks.find(name);
  if (it == blocks.end()) {
    ADD_FAILURE() << "no golden:" << name << " block";
    return "";
  }
  return it->second;
}

// Every page carries exactly the blocks this test knows how to check: a stale or misspelled
// block fails as much as a missing one.
TEST(GoldenPages, EachPageHasExactlyTheCheckedBlocks) {
  const std::map<std::string, std::set<std::string>> expected = {
      {"commitlog.md", {"commitlog-record", "commitlog-record-ipv6", "commitlog-blank"}},
      {"consumequeue.md", {"consumequeue-unit", "consumequeue-blank-unit"}},
      {"indexfile.md", {"indexfile-header", "indexfile-slot", "indexfile-entries"}},
      {"checkpoint.md", {"checkpoint", "lock-file"}},
  };
  for (const auto& [page, names] : expected) {
    std::set<std::string> found;
    for (const auto& [name, bytes] : ExtractGolden(page)) {
      found.insert(name);
      EXPECT_FALSE(bytes.empty()) << page << ": golden:" << name << " is empty";
    }
    EXPECT_EQ(found, names) << page;
  }
}

// ---------------------------------------------------------------------------------------------
// The documented examples (the values in the pages' "Worked example" sections).

constexpr int64_t kFileSize1G = 1073741824;
constexpr int64_t kRecordPhys = 1073742824;  // file 00000000001073741824, position 1000
constexpr int64_t kRecordQueueOffset = 42;
constexpr int64_t kRecordStoreTs = 1700000000123;
constexpr int32_t kRecordSize = 192;
constexpr int64_t kTagACode = 2598919;  // "TagA".hashCode()
constexpr char kUniq1[] = "C0A801141F904E2A6B3C47B760000001";
constexpr char kUniq2[] = "C0A801141F904E2A6B3C47B773880002";
// The second message of the index example: right behind the first, 5 s later.
constexpr int64_t kRecord2Phys = kRecordPhys + kRecordSize;
constexpr int64_t kRecord2StoreTs = kRecordStoreTs + 5000;

HostAddress Host(const std::string& text) {
  auto h = HostAddress::Parse(text);
  EXPECT_TRUE(h.ok()) << text;
  return h.ok() ? *h : HostAddress{};
}

std::string ExampleProperties(const char* uniq) {
  Properties p;
  p.Set("TAGS", "TagA");
  p.Set("KEYS", "order-1001");
  p.Set("UNIQ_KEY", uniq);
  p.Set("WAIT", "true");
  return p.Encode();
}

MessageToStore ExampleMessage() {
  MessageToStore m;
  m.topic = "TopicTest";
  m.queue_id = 3;
  m.flag = 0;
  m.sys_flag = 0;
  m.body = "Hello RocketMQ";
  m.properties = ExampleProperties(kUniq1);
  m.born_timestamp_ms = 1700000000000;
  m.born_host = Host("192.168.1.20:53412");
  m.reconsume_times = 0;
  m.prepared_transaction_offset = 0;
  return m;
}

MessageToStore ExampleMessageV6() {
  MessageToStore m;
  m.topic = "TopicV6";
  m.queue_id = 0;
  m.flag = 7;
  m.body = "v6";
  m.born_timestamp_ms = 1700000001000;
  m.born_host = Host("[2001:db8::20]:40001");
  return m;
}

std::string Encode(const MessageToStore& m, const HostAddress& store_host, int64_t queue_offset,
                   int64_t phys, int64_t store_ts) {
  const int64_t len = RecordLength(
      static_cast<int64_t>(m.body.size()), static_cast<int64_t>(m.topic.size()),
      static_cast<int64_t>(m.properties.size()), m.born_host.is_v6(), store_host.is_v6());
  std::string out(static_cast<size_t>(len), '\xEE');  // poison: every byte must be written
  EXPECT_EQ(EncodeRecord(m, store_host, out.data()), len);
  PatchRecord(out.data(), queue_offset, phys, store_ts);
  return out;
}

// ---------------------------------------------------------------------------------------------
// commitlog.md

class CommitLogGolden : public ::testing::Test {
 protected:
  std::map<std::string, std::string> blocks_ = ExtractGolden("commitlog.md");
};

TEST_F(CommitLogGolden, RecordEncodesToTheDocumentedBytes) {
  const std::string golden = Golden(blocks_, "commitlog-record");
  const std::string actual = Encode(ExampleMessage(), Host("192.168.1.10:10911"),
                                    kRecordQueueOffset, kRecordPhys, kRecordStoreTs);
  EXPECT_EQ(actual.size(), static_cast<size_t>(kRecordSize));
  EXPECT_BYTES_EQ(golden, actual);
  // The record sits in the second 1 GiB file, 1000 bytes in.
  EXPECT_EQ(OffsetFileName(kRecordPhys - kRecordPhys % kFileSize1G), "00000000001073741824");
  EXPECT_EQ(kRecordPhys % kFileSize1G, 1000);
}

TEST_F(CommitLogGolden, RecordDecodesToTheDocumentedFields) {
  const std::string golden = Golden(blocks_, "commitlog-record");
  auto rec = DecodeRecord(golden, /*check_crc=*/true);
  ASSERT_OK(rec);
  ASSERT_EQ(rec->kind, DecodedRecord::Kind::kMessage);
  EXPECT_EQ(rec->size, kRecordSize);
  const StoredMessage& m = rec->message;
  EXPECT_EQ(m.store_size, kRecordSize);
  EXPECT_EQ(m.magic, kMagicV1);
  EXPECT_EQ(m.body_crc, 1774740973);  // 0x69c865ed
  EXPECT_EQ(m.body_crc, BodyCrc("Hello RocketMQ"));
  EXPECT_EQ(m.queue_id, 3);
  EXPECT_EQ(m.flag, 0);
  EXPECT_EQ(m.queue_offset, QueueOffset(kRecordQueueOffset));
  EXPECT_EQ(m.physical_offset, PhysicalOffset(kRecordPhys));
  EXPECT_EQ(m.sys_flag, 0);
  EXPECT_EQ(m.born_timestamp_ms, 1700000000000);
  EXPECT_EQ(m.born_host.ToString(), "192.168.1.20:53412");
  EXPECT_EQ(m.store_timestamp_ms, kRecordStoreTs);
  EXPECT_EQ(m.store_host.ToString(), "192.168.1.10:10911");
  EXPECT_EQ(m.reconsume_times, 0);
  EXPECT_EQ(m.prepared_transaction_offset, 0);
  EXPECT_EQ(m.body, "Hello RocketMQ");
  EXPECT_EQ(m.topic, "TopicTest");
  EXPECT_EQ(m.properties, ExampleProperties(kUniq1));
  EXPECT_EQ(FindProperty(m.properties, "TAGS"), "TagA");
  EXPECT_EQ(FindProperty(m.properties, "KEYS"), "order-1001");
  EXPECT_EQ(FindProperty(m.properties, "UNIQ_KEY"), kUniq1);
  EXPECT_EQ(m.record, golden);
  // The broker-side message id of this record.
  EXPECT_EQ(EncodeOffsetMsgId(m.store_host, m.physical_offset), "C0A8010A00002A9F00000000400003E8");
}

TEST_F(CommitLogGolden, CorruptRecordsAreDataLoss) {
  const std::string golden = Golden(blocks_, "commitlog-record");
  ASSERT_EQ(golden.size(), static_cast<size_t>(kRecordSize));
  {  // one flipped body bit: found only with the CRC check
    std::string b = golden;
    b[88] ^= 0x01;
    EXPECT_OK(DecodeRecord(b, /*check_crc=*/false));
    EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(b, /*check_crc=*/true).status()));
  }
  {  // bad magic
    std::string b = golden;
    b[7] ^= 0x01;
    EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(b, false).status()));
  }
  {  // TOTALSIZE disagreeing with the field lengths
    std::string b = golden + std::string(8, '\0');
    PutBE32(b.data(), static_cast<uint32_t>(kRecordSize + 4));
    EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(b, false).status()));
  }
  {  // torn: the record runs past the readable end
    EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(golden.substr(0, 100), false).status()));
  }
  {  // an all-zero header is the end of the written data, not corruption
    auto end = DecodeRecord(std::string(64, '\0'), true);
    ASSERT_OK(end);
    EXPECT_EQ(end->kind, DecodedRecord::Kind::kEnd);
  }
}

TEST_F(CommitLogGolden, Ipv6RecordEncodesAndDecodes) {
  const std::string golden = Golden(blocks_, "commitlog-record-ipv6");
  const HostAddress store = Host("[2001:db8::10]:10911");
  const std::string actual = Encode(ExampleMessageV6(), store, 0, 0, 1700000001005);
  EXPECT_EQ(actual.size(), 124u);
  EXPECT_BYTES_EQ(golden, actual);

  auto rec = DecodeRecord(golden, true);
  ASSERT_OK(rec);
  ASSERT_EQ(rec->kind, DecodedRecord::Kind::kMessage);
  const StoredMessage& m = rec->message;
  EXPECT_EQ(m.store_size, 124);
  EXPECT_EQ(m.flag, 7);
  EXPECT_EQ(m.sys_flag, sysflag::kBornHostV6 | sysflag::kStoreHostV6);
  EXPECT_EQ(m.born_host.ToString(), "[2001:db8::20]:40001");
  EXPECT_EQ(m.store_host.ToString(), "[2001:db8::10]:10911");
  EXPECT_EQ(m.store_timestamp_ms, 1700000001005);
  EXPECT_EQ(StoreTimestampPos(true), 68);
  EXPECT_EQ(GetBEI64(golden.data() + 68), 1700000001005);
  EXPECT_EQ(m.queue_offset, QueueOffset(0));
  EXPECT_EQ(m.physical_offset, PhysicalOffset(0));
  EXPECT_EQ(m.body, "v6");
  EXPECT_EQ(m.topic, "TopicV6");
  EXPECT_EQ(m.properties, "");
}

TEST_F(CommitLogGolden, BlankEncodesAndDecodes) {
  const std::string golden = Golden(blocks_, "commitlog-blank");
  char actual[8];
  EncodeBlank(actual, 1234);
  EXPECT_BYTES_EQ(golden, std::string_view(actual, 8));

  // The blank is the last thing in its file: 1234 bytes remain from its position.
  std::string tail = golden + std::string(1234 - 8, '\0');
  auto rec = DecodeRecord(tail, true);
  ASSERT_OK(rec);
  EXPECT_EQ(rec->kind, DecodedRecord::Kind::kBlank);
  EXPECT_EQ(rec->size, 1234);
  // The same blank with fewer bytes left than it declares is corrupt.
  EXPECT_TRUE(absl::IsDataLoss(DecodeRecord(tail.substr(0, 1000), true).status()));
  // Its position: file 00000000000000000000 of 1 GiB, 1234 bytes before the end.
  EXPECT_EQ(kFileSize1G - 1234, 1073740590);
}

// ---------------------------------------------------------------------------------------------
// consumequeue.md

class ConsumeQueueGolden : public ::testing::Test {
 protected:
  std::map<std::string, std::string> blocks_ = ExtractGolden("consumequeue.md");
};

TEST_F(ConsumeQueueGolden, UnitEncodesAndDecodes) {
  const std::string golden = Golden(blocks_, "consumequeue-unit");
  EXPECT_EQ(JavaStringHash("TagA"), kTagACode);
  char actual[kCqUnitSize];
  EncodeCqUnit(CqUnit{kRecordPhys, kRecordSize, kTagACode}, actual);
  EXPECT_BYTES_EQ(golden, std::string_view(actual, kCqUnitSize));

  ASSERT_EQ(golden.size(), static_cast<size_t>(kCqUnitSize));
  const CqUnit u = DecodeCqUnit(golden.data());
  EXPECT_EQ(u.physical_offset, kRecordPhys);
  EXPECT_EQ(u.size, kRecordSize);
  EXPECT_EQ(u.tags_code, kTagACode);
  EXPECT_TRUE(u.valid());
  EXPECT_FALSE(u.blank());
}

TEST_F(ConsumeQueueGolden, BlankUnitEncodesAndDecodes) {
  const std::string golden = Golden(blocks_, "consumequeue-blank-unit");
  char actual[kCqUnitSize];
  EncodeCqUnit(CqUnit{0, 0x7FFFFFFF, 0}, actual);
  EXPECT_BYTES_EQ(golden, std::string_view(actual, kCqUnitSize));
  ASSERT_EQ(golden.size(), static_cast<size_t>(kCqUnitSize));
  const CqUnit u = DecodeCqUnit(golden.data());
  EXPECT_TRUE(u.valid());
  EXPECT_TRUE(u.blank());
  // An all-zero unit (never written) is not valid: recovery stops there.
  EXPECT_FALSE(DecodeCqUnit(std::string(kCqUnitSize, '\0').data()).valid());
}

// The documented file: queue TopicTest/3 whose first unit is the example's offset 42, in the
// fixture configuration of 300 units per file (6000-byte files). The queue is new, so units 0-41
// are blank padding.
TEST_F(ConsumeQueueGolden, QueueFileHoldsTheUnitAtOffsetTimesTwenty) {
  TempDir dir("golden-cq");
  Env* env = Env::Default();
  {
    ConsumeQueue cq(env, dir.path(), "TopicTest", 3, 300);
    ASSERT_OK(cq.Load());
    ASSERT_OK(cq.Recover());
    ASSERT_OK(cq.Put(kRecordQueueOffset, CqUnit{kRecordPhys, kRecordSize, kTagACode}));
    EXPECT_EQ(cq.min_offset(), kRecordQueueOffset);
    EXPECT_EQ(cq.max_offset(), kRecordQueueOffset + 1);
    ASSERT_OK(cq.Flush());
  }
  const std::string path = dir.path() + "/TopicTest/3/00000000000000000000";
  ASSERT_OK_AND_ASSIGN(auto f, env->OpenFile(path, false));
  ASSERT_OK_AND_ASSIGN(uint64_t size, f->Size());
  ASSERT_EQ(size, 6000u);
  std::string bytes(size, '\0');
  ASSERT_OK(f->Read(0, size, bytes.data()));
  const std::string blank = Golden(blocks_, "consumequeue-blank-unit");
  for (int i = 0; i < kRecordQueueOffset; ++i) {
    EXPECT_BYTES_EQ(blank, bytes.substr(static_cast<size_t>(i * kCqUnitSize), kCqUnitSize))
        << "unit " << i;
  }
  EXPECT_BYTES_EQ(Golden(blocks_, "consumequeue-unit"), bytes.substr(840, kCqUnitSize));
  EXPECT_EQ(bytes.find_first_not_of('\0', 860), std::string::npos);

  // Reopened, the queue recovers the same range and unit.
  ConsumeQueue cq(env, dir.path(), "TopicTest", 3, 300);
  ASSERT_OK(cq.Load());
  ASSERT_OK(cq.Recover());
  EXPECT_EQ(cq.min_offset(), kRecordQueueOffset);
  EXPECT_EQ(cq.max_offset(), kRecordQueueOffset + 1);
  EXPECT_EQ(cq.max_physical_end(), kRecordPhys + kRecordSize);
  CqUnit u;
  ASSERT_TRUE(cq.Read(kRecordQueueOffset, &u));
  EXPECT_EQ(u.physical_offset, kRecordPhys);
}

// ---------------------------------------------------------------------------------------------
// indexfile.md

// The documented small configuration (the fixtures' maxHashSlotNum / maxIndexNum).
constexpr int32_t kSlots = 500;
constexpr int32_t kMaxEntries = 2000;

struct SlotCase {
  std::string key;
  int32_t key_hash;
  int32_t slot;
  int32_t newest_entry;
};

// The pages' slot table: key, |hashCode|, slot = hash % 500, entry number the slot holds.
std::vector<SlotCase> DocumentedSlots() {
  return {
      {std::string("TopicTest#") + kUniq1, 80296741, 241, 1},
      {"TopicTest#order-1001", 1043804929, 429, 4},
      {std::string("TopicTest#") + kUniq2, 427072200, 200, 3},
  };
}

class IndexFileGolden : public ::testing::Test {
 protected:
  // Checks a whole index file image against the page: header, the three slots, the four
  // entries, and zeros everywhere else.
  void CheckImage(const std::string& bytes) {
    ASSERT_EQ(static_cast<int64_t>(bytes.size()), IndexFile::FileSize(kSlots, kMaxEntries));
    ASSERT_EQ(bytes.size(), 42040u);
    std::string expected(bytes.size(), '\0');
    const std::string header = Golden(blocks_, "indexfile-header");
    const std::string entries = Golden(blocks_, "indexfile-entries");
    ASSERT_EQ(header.size(), 40u);
    ASSERT_EQ(entries.size(), 80u);
    expected.replace(0, 40, header);
    for (const SlotCase& s : DocumentedSlots()) {
      PutBE32(expected.data() + kIndexHeaderSize + s.slot * kIndexSlotSize,
              static_cast<uint32_t>(s.newest_entry));
    }
    // Entry n lives at 40 + 500*4 + n*20; entries 1..4 are contiguous from 2060.
    expected.replace(2060, 80, entries);
    EXPECT_BYTES_EQ(header, bytes.substr(0, 40));
    EXPECT_BYTES_EQ(entries, bytes.substr(2060, 80));
    EXPECT_BYTES_EQ(Golden(blocks_, "indexfile-slot"), bytes.substr(40 + 429 * 4, 4));
    EXPECT_TRUE(bytes == expected) << "bytes outside the documented ones differ";
  }

  std::map<std::string, std::string> blocks_ = ExtractGolden("indexfile.md");
};

TEST_F(IndexFileGolden, KeyHashesAndSlotsAreJavas) {
  for (const SlotCase& s : DocumentedSlots()) {
    EXPECT_EQ(IndexKeyHash(s.key), s.key_hash) << s.key;
    EXPECT_EQ(IndexKeyHash(s.key) % kSlots, s.slot) << s.key;
  }
  EXPECT_EQ(JavaStringHash("TopicTest#order-1001"), 1043804929);
  // |Integer.MIN_VALUE| does not exist: such a key hashes to 0. "polygenelubricants" is the
  // classic Java string whose hashCode is Integer.MIN_VALUE.
  EXPECT_EQ(JavaStringHash("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(IndexKeyHash("polygenelubricants"), 0);
}

// Through the IndexService, as the dispatcher builds it: UNIQ_KEY first, then each KEYS token.
TEST_F(IndexFileGolden, IndexServiceWritesTheDocumentedFile) {
  TempDir dir("golden-index");
  Env* env = Env::Default();
  const std::string index_dir = dir.path() + "/index";
  {
    IndexService svc(env, index_dir, kSlots, kMaxEntries);
    ASSERT_OK(svc.Load(-1, INT64_MAX));
    ASSERT_OK(svc.BuildIndex("TopicTest", kUniq1, "order-1001", kRecordPhys, kRecordSize,
                             kRecordStoreTs));
    ASSERT_OK(svc.BuildIndex("TopicTest", kUniq2, "order-1001", kRecord2Phys, kRecordSize,
                             kRecord2StoreTs));
    const std::vector<int64_t> hits = svc.Query("TopicTest", "order-1001", 32, 0, INT64_MAX);
    EXPECT_EQ(hits, (std::vector<int64_t>{kRecord2Phys, kRecordPhys}));  // newest first
    ASSERT_OK(svc.Flush());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> names, env->ListDir(index_dir));
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0].size(), 17u);  // yyyyMMddHHmmssSSS
  ASSERT_OK_AND_ASSIGN(auto f, env->OpenFile(index_dir + "/" + names[0], false));
  std::string bytes(static_cast<size_t>(IndexFile::FileSize(kSlots, kMaxEntries)), '\0');
  ASSERT_OK(f->Read(0, bytes.size(), bytes.data()));
  CheckImage(bytes);
}

// Directly through IndexFile::Put, into a temporary file of the documented configuration.
TEST_F(IndexFileGolden, IndexFilePutWritesTheDocumentedFileAndReadsItBack) {
  TempDir dir("golden-index");
  Env* env = Env::Default();
  const std::string path = dir.path() + "/20231114221320123";
  {
    ASSERT_OK_AND_ASSIGN(auto idx, IndexFile::Create(env, path, kSlots, kMaxEntries,
                                                     /*begin_phy=*/kRecordPhys, /*begin_ts=*/0));
    EXPECT_TRUE(idx->Put(std::string("TopicTest#") + kUniq1, kRecordPhys, kRecordStoreTs));
    EXPECT_TRUE(idx->Put("TopicTest#order-1001", kRecordPhys, kRecordStoreTs));
    EXPECT_TRUE(idx->Put(std::string("TopicTest#") + kUniq2, kRecord2Phys, kRecord2StoreTs));
    EXPECT_TRUE(idx->Put("TopicTest#order-1001", kRecord2Phys, kRecord2StoreTs));
    ASSERT_OK(idx->Flush());
  }
  ASSERT_OK_AND_ASSIGN(auto f, env->OpenFile(path, false));
  std::string bytes(static_cast<size_t>(IndexFile::FileSize(kSlots, kMaxEntries)), '\0');
  ASSERT_OK(f->Read(0, bytes.size(), bytes.data()));
  CheckImage(bytes);

  // Decoding: header fields, and the chain of the key read back newest first.
  ASSERT_OK_AND_ASSIGN(auto idx, IndexFile::Open(env, path, kSlots, kMaxEntries));
  const IndexHeader h = idx->header();
  EXPECT_EQ(h.begin_timestamp, kRecordStoreTs);
  EXPECT_EQ(h.end_timestamp, kRecord2StoreTs);
  EXPECT_EQ(h.begin_phy_offset, kRecordPhys);
  EXPECT_EQ(h.end_phy_offset, kRecord2Phys);
  EXPECT_EQ(h.hash_slot_count, 3);
  EXPECT_EQ(h.index_count, 5);
  std::vector<int64_t> hits;
  idx->Select("TopicTest#order-1001", 32, 0, INT64_MAX, &hits);
  EXPECT_EQ(hits, (std::vector<int64_t>{kRecord2Phys, kRecordPhys}));
  // Time filter: entry times are begin_timestamp + timeDiff*1000.
  hits.clear();
  idx->Select("TopicTest#order-1001", 32, kRecordStoreTs + 1, INT64_MAX, &hits);
  EXPECT_EQ(hits, (std::vector<int64_t>{kRecord2Phys}));

  // The entries block decodes to the documented fields.
  const std::string entries = Golden(blocks_, "indexfile-entries");
  ASSERT_EQ(entries.size(), 80u);
  struct Entry {
    int32_t hash;
    int64_t phy;
    int32_t diff;
    int32_t prev;
  };
  const Entry want[4] = {{80296741, kRecordPhys, 0, 0},
                         {1043804929, kRecordPhys, 0, 0},
                         {427072200, kRecord2Phys, 5, 0},
                         {1043804929, kRecord2Phys, 5, 2}};
  for (int i = 0; i < 4; ++i) {
    const char* e = entries.data() + i * kIndexEntrySize;
    EXPECT_EQ(GetBEI32(e), want[i].hash) << "entry " << i + 1;
    EXPECT_EQ(GetBEI64(e + 4), want[i].phy) << "entry " << i + 1;
    EXPECT_EQ(GetBEI32(e + 12), want[i].diff) << "entry " << i + 1;
    EXPECT_EQ(GetBEI32(e + 16), want[i].prev) << "entry " << i + 1;
  }
}

TEST_F(IndexFileGolden, ImpossibleHeadersAreDataLoss) {
  TempDir dir("golden-index");
  Env* env = Env::Default();
  const std::string path = dir.path() + "/20231114221320123";
  std::string image(static_cast<size_t>(IndexFile::FileSize(kSlots, kMaxEntries)), '\0');
  image.replace(0, 40, Golden(blocks_, "indexfile-header"));
  PutBE32(image.data() + 36, static_cast<uint32_t>(kMaxEntries + 1));  // indexCount too large
  {
    ASSERT_OK_AND_ASSIGN(auto f, env->OpenFile(path, true));
    ASSERT_OK(f->Write(0, image));
  }
  EXPECT_TRUE(absl::IsDataLoss(IndexFile::Open(env, path, kSlots, kMaxEntries).status()));
}

// ---------------------------------------------------------------------------------------------
// checkpoint.md

class CheckpointGolden : public ::testing::Test {
 protected:
  std::map<std::string, std::string> blocks_ = ExtractGolden("checkpoint.md");
};

CheckpointData ExampleCheckpoint() {
  CheckpointData d;
  d.physic_msg_timestamp = kRecord2StoreTs;  // 1700000005123
  d.logics_msg_timestamp = kRecordStoreTs;   // 1700000000123
  d.index_msg_timestamp = 1699999990000;
  return d;
}

TEST_F(CheckpointGolden, EncodesAndDecodes) {
  const std::string golden = Golden(blocks_, "checkpoint");
  ASSERT_EQ(golden.size(), 24u);
  const std::string image = EncodeCheckpoint(ExampleCheckpoint());
  ASSERT_EQ(image.size(), 4096u);
  EXPECT_BYTES_EQ(golden, image.substr(0, 24));
  EXPECT_EQ(image.find_first_not_of('\0', 24), std::string::npos);

  const CheckpointData d = DecodeCheckpoint(golden.data());
  EXPECT_EQ(d.physic_msg_timestamp, 1700000005123);
  EXPECT_EQ(d.logics_msg_timestamp, 1700000000123);
  EXPECT_EQ(d.index_msg_timestamp, 1699999990000);
  EXPECT_EQ(d.MinTimestamp(), 1699999997123);
  EXPECT_EQ(d.MinTimestampIndex(), 1699999990000);
}

TEST_F(CheckpointGolden, FileRoundTrips) {
  TempDir dir("golden-cp");
  Env* env = Env::Default();
  const std::string path = dir.path() + "/checkpoint";
  {
    ASSERT_OK_AND_ASSIGN(auto cp, Checkpoint::Open(env, path));
    EXPECT_EQ(cp->data().physic_msg_timestamp, 0);  // a new file reads as all zero
    cp->mutable_data() = ExampleCheckpoint();
    ASSERT_OK(cp->Flush());
  }
  ASSERT_OK_AND_ASSIGN(auto f, env->OpenFile(path, false));
  ASSERT_OK_AND_ASSIGN(uint64_t size, f->Size());
  ASSERT_EQ(size, 4096u);
  std::string bytes(24, '\0');
  ASSERT_OK(f->Read(0, 24, bytes.data()));
  EXPECT_BYTES_EQ(Golden(blocks_, "checkpoint"), bytes);
  ASSERT_OK_AND_ASSIGN(auto cp, Checkpoint::Open(env, path));
  EXPECT_EQ(cp->data().index_msg_timestamp, 1699999990000);
}

TEST_F(CheckpointGolden, LockFileHoldsTheTextLock) {
  TempDir dir("golden-lock");
  Env* env = Env::Default();
  const std::string path = dir.path() + "/lock";
  {
    ASSERT_OK_AND_ASSIGN(auto lock, env->LockFile(path));
    // A second holder is refused while the first one lives.
    EXPECT_TRUE(absl::IsFailedPrecondition(env->LockFile(path).status()));
  }
  ASSERT_OK_AND_ASSIGN(auto f, env->OpenFile(path, false));
  ASSERT_OK_AND_ASSIGN(uint64_t size, f->Size());
  std::string bytes(size, '\0');
  ASSERT_OK(f->Read(0, size, bytes.data()));
  EXPECT_BYTES_EQ(Golden(blocks_, "lock-file"), bytes);
}

}  // namespace
}  // namespace libstore::internal
