// Unit tests of the CommitLog record codec (RocketMQ 4.9.7 layout), the properties and
// offsetMsgId helpers, ValidateForStore, and the decoder-level corruption suite: every corrupt
// input must come back as kDataLoss, never as a crash or an out-of-bounds read. Decoded inputs are
// copied into exactly-sized heap buffers so that AddressSanitizer sees any read past the end.
#include "commitlog/record.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "libstore/message.h"
#include "testing/status_matchers.h"
#include "testing/test_util.h"
#include "util/coding.h"
#include "util/hash.h"

namespace libstore::internal {
namespace {

using Kind = DecodedRecord::Kind;

HostAddress V4(unsigned char a, unsigned char b, unsigned char c, unsigned char d, int port) {
  HostAddress h;
  const char bytes[4] = {static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                         static_cast<char>(d)};
  h.ip_bytes.assign(bytes, 4);
  h.port = port;
  return h;
}

HostAddress V6(const std::string& text) {
  auto h = HostAddress::Parse(text);
  EXPECT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->ip_bytes.size(), 16u);
  return *h;
}

MessageToStore SampleMessage(const std::string& body = "hello body",
                             const std::string& topic = "TopicA") {
  MessageToStore m = testing::MakeMessage(topic, 3, body, "TagA", "k1 k2", "UNIQ0001");
  m.flag = 0x11223344;
  m.sys_flag = sysflag::kMultiTags | sysflag::kTransactionCommit;
  m.born_timestamp_ms = 1700000000123;
  m.reconsume_times = 2;
  m.prepared_transaction_offset = 777;
  return m;
}

std::string Encode(const MessageToStore& m, const HostAddress& store_host) {
  const int64_t len = RecordLength(
      static_cast<int64_t>(m.body.size()), static_cast<int64_t>(m.topic.size()),
      static_cast<int64_t>(m.properties.size()), m.born_host.is_v6(), store_host.is_v6());
  std::string buf(static_cast<size_t>(len), '\x5A');  // no zero fill: every byte must be written
  EXPECT_EQ(EncodeRecord(m, store_host, buf.data()), len);
  return buf;
}

// An exactly-sized copy of some bytes, so reads past the end are heap overflows.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : data_(new char[bytes.empty() ? 1 : bytes.size()]), size_(bytes.size()) {
    if (!bytes.empty()) std::memcpy(data_.get(), bytes.data(), bytes.size());
  }
  std::string_view view() const { return std::string_view(data_.get(), size_); }
  bool Contains(std::string_view v) const {
    return v.empty() || (v.data() >= data_.get() && v.data() + v.size() <= data_.get() + size_);
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_;
};

// Decodes `bytes` from an exact buffer; for a message, checks that every view lies inside the
// input and reads each of them (so ASan would flag a bad view).
absl::StatusCode DecodeCode(std::string_view bytes, bool check_crc, Kind* kind = nullptr) {
  ExactBuffer buf(bytes);
  auto r = DecodeRecord(buf.view(), check_crc);
  if (!r.ok()) return r.status().code();
  if (kind != nullptr) *kind = r->kind;
  if (r->kind == Kind::kMessage) {
    const StoredMessage& m = r->message;
    EXPECT_TRUE(buf.Contains(m.record));
    EXPECT_TRUE(buf.Contains(m.body));
    EXPECT_TRUE(buf.Contains(m.topic));
    EXPECT_TRUE(buf.Contains(m.properties));
    EXPECT_EQ(m.record.size(), static_cast<size_t>(r->size));
    EXPECT_LE(static_cast<size_t>(r->size), bytes.size());
    const std::string touch = std::string(m.record) + std::string(m.body) + std::string(m.topic) +
                              std::string(m.properties);
    EXPECT_GE(touch.size(), m.record.size());
  } else if (r->kind == Kind::kBlank) {
    EXPECT_GE(r->size, 8);
    EXPECT_LE(static_cast<size_t>(r->size), bytes.size());
  }
  return absl::StatusCode::kOk;
}

// Field positions of a record with IPv4 born and store hosts.
constexpr size_t kBodyLenPos = 84;
constexpr size_t kBodyPos = 88;

// ---------------------------------------------------------------------------------------------
// Encode / decode

TEST(RecordTest, LengthArithmetic) {
  EXPECT_EQ(RecordLength(0, 0, 0, false, false), 91);
  EXPECT_EQ(RecordLength(10, 6, 20, false, false), 91 + 36);
  EXPECT_EQ(RecordLength(0, 0, 0, true, false), 103);
  EXPECT_EQ(RecordLength(0, 0, 0, false, true), 103);
  EXPECT_EQ(RecordLength(0, 0, 0, true, true), 115);
  EXPECT_EQ(StoreTimestampPos(false), 56);
  EXPECT_EQ(StoreTimestampPos(true), 68);
}

TEST(RecordTest, RoundTripIpv4) {
  const MessageToStore m = SampleMessage();
  const HostAddress store = V4(10, 0, 0, 7, 10911);
  std::string rec = Encode(m, store);
  ASSERT_EQ(rec.size(), 91 + m.body.size() + m.topic.size() + m.properties.size());
  PatchRecord(rec.data(), 42, 123456789, 1700000000999);

  // Raw layout (big-endian) of the fixed fields.
  EXPECT_EQ(GetBEI32(rec.data()), static_cast<int32_t>(rec.size()));
  EXPECT_EQ(GetBEI32(rec.data() + 4), kMagicV1);
  EXPECT_EQ(std::string(rec.data() + 4, 4), std::string("\xDA\xA3\x20\xA7", 4));
  EXPECT_EQ(GetBEI32(rec.data() + 8), BodyCrc(m.body));
  EXPECT_EQ(GetBEI32(rec.data() + 12), 3);
  EXPECT_EQ(GetBEI32(rec.data() + 16), 0x11223344);
  EXPECT_EQ(GetBEI64(rec.data() + 20), 42);
  EXPECT_EQ(GetBEI64(rec.data() + 28), 123456789);
  EXPECT_EQ(GetBEI32(rec.data() + 36), sysflag::kMultiTags | sysflag::kTransactionCommit);
  EXPECT_EQ(GetBEI64(rec.data() + 40), 1700000000123);
  EXPECT_EQ(std::string(rec.data() + 48, 4), std::string("\x7f\x00\x00\x01", 4));
  EXPECT_EQ(GetBEI32(rec.data() + 52), 50000);
  EXPECT_EQ(GetBEI64(rec.data() + 56), 1700000000999);
  EXPECT_EQ(std::string(rec.data() + 64, 4), std::string("\x0a\x00\x00\x07", 4));
  EXPECT_EQ(GetBEI32(rec.data() + 68), 10911);
  EXPECT_EQ(GetBEI32(rec.data() + 72), 2);
  EXPECT_EQ(GetBEI64(rec.data() + 76), 777);
  EXPECT_EQ(GetBEI32(rec.data() + kBodyLenPos), static_cast<int32_t>(m.body.size()));
  EXPECT_EQ(std::string(rec.data() + kBodyPos, m.body.size()), m.body);
  const size_t topic_len_pos = kBodyPos + m.body.size();
  EXPECT_EQ(static_cast<unsigned char>(rec[topic_len_pos]), m.topic.size());
  EXPECT_EQ(rec.substr(topic_len_pos + 1, m.topic.size()), m.topic);
  const size_t props_len_pos = topic_len_pos + 1 + m.topic.size();
  EXPECT_EQ(GetBE16(rec.data() + props_len_pos), m.properties.size());
  EXPECT_EQ(rec.substr(props_len_pos + 2), m.properties);

  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(rec, /*check_crc=*/true));
  ASSERT_EQ(d.kind, Kind::kMessage);
  EXPECT_EQ(d.size, static_cast<int32_t>(rec.size()));
  const StoredMessage& s = d.message;
  EXPECT_EQ(s.store_size, static_cast<int32_t>(rec.size()));
  EXPECT_EQ(s.magic, kMagicV1);
  EXPECT_EQ(s.body_crc, BodyCrc(m.body));
  EXPECT_EQ(s.queue_id, 3);
  EXPECT_EQ(s.flag, 0x11223344);
  EXPECT_EQ(s.queue_offset, QueueOffset(42));
  EXPECT_EQ(s.physical_offset, PhysicalOffset(123456789));
  EXPECT_EQ(s.sys_flag, sysflag::kMultiTags | sysflag::kTransactionCommit);
  EXPECT_EQ(s.born_timestamp_ms, 1700000000123);
  EXPECT_EQ(s.born_host.ip_bytes, m.born_host.ip_bytes);
  EXPECT_EQ(s.born_host.port, 50000);
  EXPECT_EQ(s.store_timestamp_ms, 1700000000999);
  EXPECT_EQ(s.store_host.ip_bytes, store.ip_bytes);
  EXPECT_EQ(s.store_host.port, 10911);
  EXPECT_EQ(s.reconsume_times, 2);
  EXPECT_EQ(s.prepared_transaction_offset, 777);
  EXPECT_EQ(s.body, m.body);
  EXPECT_EQ(s.topic, m.topic);
  EXPECT_EQ(s.properties, m.properties);
  EXPECT_EQ(s.record, rec);
}

TEST(RecordTest, HostV6BitsComeFromTheAddressesNotTheCaller) {
  MessageToStore m = SampleMessage();
  // The caller's V6 bits are ignored: both hosts here are IPv4.
  m.sys_flag |= sysflag::kBornHostV6 | sysflag::kStoreHostV6;
  const std::string rec = Encode(m, V4(1, 2, 3, 4, 5));
  EXPECT_EQ(GetBEI32(rec.data() + kSysFlagPos), sysflag::kMultiTags | sysflag::kTransactionCommit);
  EXPECT_EQ(rec.size(), 91 + m.body.size() + m.topic.size() + m.properties.size());
}

struct HostCase {
  bool born_v6;
  bool store_v6;
};

class RecordHostTest : public ::testing::TestWithParam<HostCase> {};

TEST_P(RecordHostTest, RoundTripShiftsFields) {
  const HostCase hc = GetParam();
  MessageToStore m = SampleMessage("body-bytes", "TopicV6");
  if (hc.born_v6) m.born_host = V6("[2001:db8::1]:40000");
  const HostAddress store = hc.store_v6 ? V6("[fe80::1234:5678]:10911") : V4(10, 1, 2, 3, 10911);
  std::string rec = Encode(m, store);
  const size_t extra = (hc.born_v6 ? 12 : 0) + (hc.store_v6 ? 12 : 0);
  ASSERT_EQ(rec.size(), 91 + extra + m.body.size() + m.topic.size() + m.properties.size());
  PatchRecord(rec.data(), 9, 8192, 1700000001000);

  const int32_t flags = GetBEI32(rec.data() + kSysFlagPos);
  EXPECT_EQ((flags & sysflag::kBornHostV6) != 0, hc.born_v6);
  EXPECT_EQ((flags & sysflag::kStoreHostV6) != 0, hc.store_v6);
  EXPECT_EQ(flags & 0xF, sysflag::kMultiTags | sysflag::kTransactionCommit);

  // STORETIMESTAMP follows the born host, STOREHOST follows it, then the shifted tail.
  const size_t ts_pos = 48 + (hc.born_v6 ? 20 : 8);
  EXPECT_EQ(static_cast<int>(ts_pos), StoreTimestampPos(hc.born_v6));
  EXPECT_EQ(GetBEI64(rec.data() + ts_pos), 1700000001000);
  EXPECT_EQ(std::string(rec.data() + ts_pos + 8, store.ip_bytes.size()), store.ip_bytes);
  const size_t body_len_pos = ts_pos + 8 + (hc.store_v6 ? 20 : 8) + 12;
  EXPECT_EQ(GetBEI32(rec.data() + body_len_pos), static_cast<int32_t>(m.body.size()));
  EXPECT_EQ(std::string(rec.data() + body_len_pos + 4, m.body.size()), m.body);

  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(rec, true));
  ASSERT_EQ(d.kind, Kind::kMessage);
  EXPECT_EQ(d.message.born_host.ip_bytes, m.born_host.ip_bytes);
  EXPECT_EQ(d.message.born_host.port, m.born_host.port);
  EXPECT_EQ(d.message.store_host.ip_bytes, store.ip_bytes);
  EXPECT_EQ(d.message.store_host.port, 10911);
  EXPECT_EQ(d.message.store_timestamp_ms, 1700000001000);
  EXPECT_EQ(d.message.queue_offset, QueueOffset(9));
  EXPECT_EQ(d.message.physical_offset, PhysicalOffset(8192));
  EXPECT_EQ(d.message.body, m.body);
  EXPECT_EQ(d.message.topic, m.topic);
  EXPECT_EQ(d.message.properties, m.properties);
  EXPECT_EQ(d.message.reconsume_times, 2);
  EXPECT_EQ(d.message.prepared_transaction_offset, 777);
}

INSTANTIATE_TEST_SUITE_P(AllHostFamilies, RecordHostTest,
                         ::testing::Values(HostCase{false, false}, HostCase{true, false},
                                           HostCase{false, true}, HostCase{true, true}),
                         [](const ::testing::TestParamInfo<HostCase>& i) {
                           return std::string(i.param.born_v6 ? "Born6" : "Born4") +
                                  (i.param.store_v6 ? "Store6" : "Store4");
                         });

TEST(RecordTest, PatchRecordRewritesOnlyItsFields) {
  const MessageToStore m = SampleMessage();
  std::string rec = Encode(m, V4(10, 0, 0, 1, 1));
  // Encoded with zero placeholders.
  EXPECT_EQ(GetBEI64(rec.data() + kQueueOffsetPos), 0);
  EXPECT_EQ(GetBEI64(rec.data() + kPhysicalOffsetPos), 0);
  EXPECT_EQ(GetBEI64(rec.data() + StoreTimestampPos(false)), 0);
  const std::string before = rec;
  PatchRecord(rec.data(), 0x0102030405060708, 0x1112131415161718, 0x2122232425262728);
  EXPECT_EQ(rec.substr(kQueueOffsetPos, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(rec.substr(kPhysicalOffsetPos, 8), std::string("\x11\x12\x13\x14\x15\x16\x17\x18", 8));
  EXPECT_EQ(rec.substr(56, 8), std::string("\x21\x22\x23\x24\x25\x26\x27\x28", 8));
  for (size_t i = 0; i < rec.size(); ++i) {
    const bool patched = (i >= 20 && i < 36) || (i >= 56 && i < 64);
    if (!patched) {
      EXPECT_EQ(rec[i], before[i]) << "byte " << i;
    }
  }
  // Patching again overwrites.
  PatchRecord(rec.data(), 5, 6, 7);
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(rec, true));
  EXPECT_EQ(d.message.queue_offset, QueueOffset(5));
  EXPECT_EQ(d.message.physical_offset, PhysicalOffset(6));
  EXPECT_EQ(d.message.store_timestamp_ms, 7);
}

TEST(RecordTest, PatchRecordUsesTheBornHostFamily) {
  MessageToStore m = SampleMessage();
  m.born_host = V6("[::1]:1");
  std::string rec = Encode(m, V4(10, 0, 0, 1, 1));
  PatchRecord(rec.data(), 1, 2, 0x0A0B0C0D0E0F1011);
  EXPECT_EQ(rec.substr(68, 8), std::string("\x0A\x0B\x0C\x0D\x0E\x0F\x10\x11", 8));
  // The born host bytes (48..68) are untouched.
  EXPECT_EQ(rec.substr(48, 16), m.born_host.ip_bytes);
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(rec, true));
  EXPECT_EQ(d.message.store_timestamp_ms, 0x0A0B0C0D0E0F1011);
}

TEST(RecordTest, EmptyBodyAndPropertiesRoundTrip) {
  MessageToStore m;
  m.topic = "T";
  m.born_host = V4(127, 0, 0, 1, 1);
  std::string rec = Encode(m, V4(127, 0, 0, 1, 2));
  EXPECT_EQ(rec.size(), 92u);
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(rec, true));
  EXPECT_EQ(d.message.body, "");
  EXPECT_EQ(d.message.topic, "T");
  EXPECT_EQ(d.message.properties, "");
  EXPECT_EQ(d.message.body_crc, 0);
}

TEST(RecordTest, MaxLengthTopicAndProperties) {
  MessageToStore m = SampleMessage("b", std::string(127, 't'));
  m.properties.assign(32767, 'p');
  std::string rec = Encode(m, V4(1, 1, 1, 1, 1));
  EXPECT_EQ(static_cast<unsigned char>(rec[kBodyPos + 1]), 127);
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(rec, true));
  EXPECT_EQ(d.message.topic.size(), 127u);
  EXPECT_EQ(d.message.properties.size(), 32767u);
}

// Rewrites a V1 record (IPv4 hosts) as V2: 2-byte topic length, magic 0xDAA320AB.
std::string ToV2(const std::string& v1, size_t body_len, size_t topic_len) {
  const size_t tl_pos = kBodyPos + body_len;
  std::string out = v1.substr(0, tl_pos);
  AppendBE16(&out, static_cast<uint16_t>(topic_len));
  out += v1.substr(tl_pos + 1);
  PutBE32(out.data(), static_cast<uint32_t>(out.size()));
  PutBE32(out.data() + 4, static_cast<uint32_t>(kMagicV2));
  return out;
}

TEST(RecordTest, DecodesV2MagicWithTwoByteTopicLength) {
  const MessageToStore m = SampleMessage();
  const std::string v1 = Encode(m, V4(10, 0, 0, 1, 10911));
  const std::string v2 = ToV2(v1, m.body.size(), m.topic.size());
  ASSERT_EQ(v2.size(), v1.size() + 1);
  EXPECT_EQ(std::string(v2.data() + 4, 4), std::string("\xDA\xA3\x20\xAB", 4));
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(v2, true));
  ASSERT_EQ(d.kind, Kind::kMessage);
  EXPECT_EQ(d.size, static_cast<int32_t>(v2.size()));
  EXPECT_EQ(d.message.magic, kMagicV2);
  EXPECT_EQ(d.message.topic, m.topic);
  EXPECT_EQ(d.message.body, m.body);
  EXPECT_EQ(d.message.properties, m.properties);
}

TEST(RecordTest, DecodesV2TopicLongerThan127) {
  // V2 exists for topics a signed byte cannot describe.
  const std::string topic(200, 'L');
  MessageToStore m = SampleMessage("x", topic);
  const std::string v1 = Encode(m, V4(10, 0, 0, 1, 1));  // the 1-byte length is replaced below
  const std::string v2 = ToV2(v1, 1, topic.size());
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(v2, true));
  EXPECT_EQ(d.message.topic, topic);
  EXPECT_EQ(d.message.properties, m.properties);
  // The same record read as V1 has a negative topic length.
  EXPECT_EQ(DecodeCode(v1, true), absl::StatusCode::kDataLoss);
}

TEST(RecordTest, BlankRecord) {
  std::string file(64, '\0');
  EncodeBlank(file.data(), 64);
  EXPECT_EQ(std::string(file.data(), 8), std::string("\x00\x00\x00\x40\xCB\xD4\x31\x94", 8));
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(file, true));
  EXPECT_EQ(d.kind, Kind::kBlank);
  EXPECT_EQ(d.size, 64);
  // The smallest blank: exactly its 8 bytes.
  EncodeBlank(file.data(), 8);
  Kind k = Kind::kMessage;
  EXPECT_EQ(DecodeCode(std::string_view(file.data(), 8), true, &k), absl::StatusCode::kOk);
  EXPECT_EQ(k, Kind::kBlank);
}

TEST(RecordTest, WalksConsecutiveRecordsToTheBlank) {
  // Two records then the end-of-file blank, as a CommitLog file holds them.
  std::string file;
  std::vector<std::string> bodies = {"first", "second body"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    std::string r = Encode(SampleMessage(bodies[i]), V4(10, 0, 0, 1, 1));
    PatchRecord(r.data(), static_cast<int64_t>(i), static_cast<int64_t>(file.size()), 1000 + i);
    file += r;
  }
  const size_t blank_at = file.size();
  file.resize(blank_at + 40, '\0');
  EncodeBlank(file.data() + blank_at, 40);
  size_t pos = 0;
  std::vector<std::string> got;
  while (pos < file.size()) {
    ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(std::string_view(file).substr(pos), true));
    if (d.kind != Kind::kMessage) {
      EXPECT_EQ(d.kind, Kind::kBlank);
      EXPECT_EQ(pos, blank_at);
      EXPECT_EQ(static_cast<size_t>(d.size), file.size() - pos);
      break;
    }
    EXPECT_EQ(d.message.physical_offset, PhysicalOffset(static_cast<int64_t>(pos)));
    got.emplace_back(d.message.body);
    pos += static_cast<size_t>(d.size);
  }
  EXPECT_EQ(got, bodies);
}

// ---------------------------------------------------------------------------------------------
// Properties

TEST(PropertiesTest, EncodeDecodeRoundTrip) {
  Properties p;
  p.Set("TAGS", "TagA");
  p.Set("KEYS", "k1 k2");
  p.Set("UNIQ_KEY", "ABC");
  p.Set("TAGS", "TagB");  // replaces, keeps position
  EXPECT_EQ(p.Encode(),
            "TAGS\x01TagB\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01"
            "ABC\x02");
  const Properties q = Properties::Decode(p.Encode());
  EXPECT_EQ(q.entries(), p.entries());
  EXPECT_EQ(q.Get("KEYS"), std::optional<std::string_view>("k1 k2"));
  EXPECT_EQ(q.Get("NOPE"), std::nullopt);
  EXPECT_EQ(Properties().Encode(), "");
  EXPECT_TRUE(Properties::Decode("").entries().empty());
}

TEST(PropertiesTest, FindProperty) {
  const std::string enc = "TAGS\x01TagA\x02KEYS\x01k1 k2\x02WAIT\x01true\x02";
  EXPECT_EQ(FindProperty(enc, "TAGS"), std::optional<std::string_view>("TagA"));
  EXPECT_EQ(FindProperty(enc, "KEYS"), std::optional<std::string_view>("k1 k2"));
  EXPECT_EQ(FindProperty(enc, "WAIT"), std::optional<std::string_view>("true"));
  EXPECT_EQ(FindProperty(enc, "TAG"), std::nullopt);
  EXPECT_EQ(FindProperty(enc, "AGS"), std::nullopt);
  EXPECT_EQ(FindProperty("", "TAGS"), std::nullopt);
  // The last pair need not be terminated.
  EXPECT_EQ(FindProperty("A\x01x\x02"
                         "B\x01yz",
                         "B"),
            std::optional<std::string_view>("yz"));
  // A value may contain the name/value separator after the first one.
  EXPECT_EQ(FindProperty("K\x01v\x01w\x02", "K"), std::optional<std::string_view>("v\x01w"));
}

TEST(PropertiesTest, SkipsShortSegmentsAndSegmentsWithoutSeparator) {
  // "ab" has no separator; "\x01\x02"-style and 2-byte segments are too short; then a good pair.
  const std::string enc =
      std::string("ab\x02") + "a\x01\x02" + "\x02" + "\x01z\x02" + "noseparator\x02" + "K\x01V\x02";
  const Properties p = Properties::Decode(enc);
  ASSERT_EQ(p.entries().size(), 1u);
  EXPECT_EQ(p.entries()[0].first, "K");
  EXPECT_EQ(p.entries()[0].second, "V");
  EXPECT_EQ(FindProperty(enc, "K"), std::optional<std::string_view>("V"));
  EXPECT_EQ(FindProperty(enc, "a"), std::nullopt);
  EXPECT_EQ(FindProperty(enc, "ab"), std::nullopt);
  EXPECT_EQ(FindProperty(enc, "noseparator"), std::nullopt);
}

TEST(PropertiesTest, SkipsSegmentsWithEmptyNameOrValue) {
  // RocketMQ 4.9.7 string2messageProperties keeps a segment only when
  // kvSepIndex > index && kvSepIndex < newIndex - 1: both the name and the value are non-empty,
  // even when the segment is 3 bytes or longer.
  const std::string enc = std::string("KEYS\x01\x02") + "\x01value\x02" + "OK\x01y\x02";
  const Properties p = Properties::Decode(enc);
  ASSERT_EQ(p.entries().size(), 1u);
  EXPECT_EQ(p.entries()[0].first, "OK");
  EXPECT_EQ(FindProperty(enc, "KEYS"), std::nullopt);
  EXPECT_EQ(FindProperty(enc, ""), std::nullopt);
  EXPECT_EQ(FindProperty(enc, "OK"), std::optional<std::string_view>("y"));
}

// ---------------------------------------------------------------------------------------------
// offsetMsgId

TEST(OffsetMsgIdTest, Ipv4EncodeDecode) {
  const HostAddress h = V4(127, 0, 0, 1, 10911);
  const std::string id = EncodeOffsetMsgId(h, PhysicalOffset(0x1234));
  EXPECT_EQ(id, "7F00000100002A9F0000000000001234");
  ASSERT_OK_AND_ASSIGN(auto dec, DecodeOffsetMsgId(id));
  EXPECT_EQ(dec.first.ip_bytes, h.ip_bytes);
  EXPECT_EQ(dec.first.port, 10911);
  EXPECT_EQ(dec.second, PhysicalOffset(0x1234));
  // Lower case is accepted.
  ASSERT_OK_AND_ASSIGN(auto lower, DecodeOffsetMsgId("7f00000100002a9f0000000000001234"));
  EXPECT_EQ(lower.second, PhysicalOffset(0x1234));
}

TEST(OffsetMsgIdTest, Ipv6EncodeDecodeAndLargeOffset) {
  const HostAddress h = V6("[2001:db8::ff]:10911");
  const int64_t off = (int64_t{1} << 40) + 0xABCDEF;
  const std::string id = EncodeOffsetMsgId(h, PhysicalOffset(off));
  ASSERT_EQ(id.size(), 56u);
  EXPECT_EQ(id.substr(0, 32), "20010DB80000000000000000000000FF");
  EXPECT_EQ(id.substr(32), "00002A9F0000010000ABCDEF");
  ASSERT_OK_AND_ASSIGN(auto dec, DecodeOffsetMsgId(id));
  EXPECT_TRUE(dec.first.is_v6());
  EXPECT_EQ(dec.first.ip_bytes, h.ip_bytes);
  EXPECT_EQ(dec.first.port, 10911);
  EXPECT_EQ(dec.second, PhysicalOffset(off));
}

TEST(OffsetMsgIdTest, RejectsBadInput) {
  EXPECT_EQ(DecodeOffsetMsgId("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeOffsetMsgId("7F00000100002A9F000000000000123").status().code(),
            absl::StatusCode::kInvalidArgument);  // 31
  EXPECT_EQ(DecodeOffsetMsgId("7F00000100002A9F00000000000012345").status().code(),
            absl::StatusCode::kInvalidArgument);  // 33
  EXPECT_EQ(DecodeOffsetMsgId("7G00000100002A9F0000000000001234").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeOffsetMsgId("7F00000100002A9F000000000000123 ").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeOffsetMsgId(std::string(56, 'Z')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// ValidateForStore

TEST(ValidateForStoreTest, AcceptsLimits) {
  MessageToStore m = SampleMessage(std::string(1024, 'b'), std::string(127, 't'));
  m.properties.assign(32767, 'p');
  EXPECT_OK(ValidateForStore(m, 1024));
  m.born_host = V6("[::1]:1");
  EXPECT_OK(ValidateForStore(m, 1024));
}

TEST(ValidateForStoreTest, RejectsOversizedFields) {
  const MessageToStore ok = SampleMessage();
  MessageToStore m = ok;
  m.topic.assign(128, 't');
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
  m = ok;
  m.properties.assign(32768, 'p');
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
  m = ok;
  m.body.assign(4097, 'b');
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
  m.body.assign(4096, 'b');
  EXPECT_OK(ValidateForStore(m, 4096));
}

TEST(ValidateForStoreTest, RejectsMissingOrBadFields) {
  const MessageToStore ok = SampleMessage();
  MessageToStore m = ok;
  m.topic.clear();
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
  m = ok;
  m.queue_id = -1;
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
  m = ok;
  m.born_host.ip_bytes = "12345";
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
  m.born_host.ip_bytes.clear();
  EXPECT_EQ(ValidateForStore(m, 4096).code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Corruption suite (decoder level)

class RecordCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    msg_ = SampleMessage("0123456789", "TopicA");
    rec_ = Encode(msg_, V4(10, 0, 0, 1, 10911));
    PatchRecord(rec_.data(), 1, 4096, 1700000000500);
    ASSERT_EQ(DecodeCode(rec_, true), absl::StatusCode::kOk);
    topic_len_pos_ = kBodyPos + msg_.body.size();
    props_len_pos_ = topic_len_pos_ + 1 + msg_.topic.size();
  }
  void ExpectDataLoss(const std::string& bytes, const std::string& what, bool crc = true) {
    EXPECT_EQ(DecodeCode(bytes, crc), absl::StatusCode::kDataLoss) << what;
  }
  std::string WithI32(size_t pos, int32_t v) const {
    std::string r = rec_;
    PutBE32(r.data() + pos, static_cast<uint32_t>(v));
    return r;
  }

  MessageToStore msg_;
  std::string rec_;
  size_t topic_len_pos_ = 0;
  size_t props_len_pos_ = 0;
};

TEST_F(RecordCorruptionTest, BadMagic) {
  ExpectDataLoss(WithI32(4, 0x12345678), "random magic");
  ExpectDataLoss(WithI32(4, kMagicV1 ^ 1), "one bit off V1");
  ExpectDataLoss(WithI32(4, 0), "zero magic, non-zero size");
  ExpectDataLoss(WithI32(4, -1), "all-ones magic");
}

TEST_F(RecordCorruptionTest, BadBodyCrc) {
  std::string r = rec_;
  r[kBodyPos + 3] ^= 0x01;  // one flipped body bit
  ExpectDataLoss(r, "flipped body byte, crc checked", true);
  EXPECT_EQ(DecodeCode(r, /*check_crc=*/false), absl::StatusCode::kOk);
  ASSERT_OK_AND_ASSIGN(DecodedRecord d, DecodeRecord(r, false));
  EXPECT_NE(BodyCrc(d.message.body), d.message.body_crc);

  const std::string bad_field = WithI32(8, BodyCrc(msg_.body) ^ 0x100);
  ExpectDataLoss(bad_field, "wrong stored crc", true);
  EXPECT_EQ(DecodeCode(bad_field, false), absl::StatusCode::kOk);
}

TEST_F(RecordCorruptionTest, TotalSizeTooSmall) {
  for (int32_t total : {0, 1, 8, 20, 90}) {
    ExpectDataLoss(WithI32(0, total), "total " + std::to_string(total));
  }
  // Just one byte short of the real length: the fields no longer add up.
  ExpectDataLoss(WithI32(0, static_cast<int32_t>(rec_.size()) - 1), "total - 1");
}

TEST_F(RecordCorruptionTest, NegativeTotalSize) {
  ExpectDataLoss(WithI32(0, -1), "total -1");
  ExpectDataLoss(WithI32(0, INT32_MIN), "total INT_MIN");
  ExpectDataLoss(WithI32(0, -static_cast<int32_t>(rec_.size())), "total -len");
}

TEST_F(RecordCorruptionTest, TotalSizePastTheAvailableBytes) {
  ExpectDataLoss(WithI32(0, static_cast<int32_t>(rec_.size()) + 1), "total + 1");
  ExpectDataLoss(WithI32(0, INT32_MAX), "total INT_MAX");
}

TEST_F(RecordCorruptionTest, TotalSizeTooLargeWithinTheAvailableBytes) {
  // Room follows the record, but the fields add up to less than TOTALSIZE.
  std::string r = WithI32(0, static_cast<int32_t>(rec_.size()) + 16);
  r.append(32, '\0');
  ExpectDataLoss(r, "total + 16 with trailing zeros");
}

TEST_F(RecordCorruptionTest, InconsistentBodyLength) {
  const int32_t b = static_cast<int32_t>(msg_.body.size());
  ExpectDataLoss(WithI32(kBodyLenPos, b + 1), "body + 1");
  ExpectDataLoss(WithI32(kBodyLenPos, b - 1), "body - 1");
  ExpectDataLoss(WithI32(kBodyLenPos, static_cast<int32_t>(rec_.size())), "body = total");
  ExpectDataLoss(WithI32(kBodyLenPos, INT32_MAX), "body INT_MAX");
}

TEST_F(RecordCorruptionTest, NegativeLengths) {
  ExpectDataLoss(WithI32(kBodyLenPos, -1), "body -1");
  ExpectDataLoss(WithI32(kBodyLenPos, INT32_MIN), "body INT_MIN");
  std::string r = rec_;
  r[topic_len_pos_] = static_cast<char>(0x80);
  ExpectDataLoss(r, "topic length -128");
  r[topic_len_pos_] = static_cast<char>(0xFF);
  ExpectDataLoss(r, "topic length -1");
  r = rec_;
  PutBE16(r.data() + props_len_pos_, 0x8000);
  ExpectDataLoss(r, "properties length -32768");
  PutBE16(r.data() + props_len_pos_, 0xFFFF);
  ExpectDataLoss(r, "properties length -1");
}

TEST_F(RecordCorruptionTest, InconsistentTopicLength) {
  std::string r = rec_;
  r[topic_len_pos_] = static_cast<char>(msg_.topic.size() + 1);
  ExpectDataLoss(r, "topic + 1");
  r[topic_len_pos_] = static_cast<char>(msg_.topic.size() - 1);
  ExpectDataLoss(r, "topic - 1");
  r[topic_len_pos_] = 127;
  ExpectDataLoss(r, "topic 127");
  r[topic_len_pos_] = 0;
  ExpectDataLoss(r, "topic 0");
}

TEST_F(RecordCorruptionTest, InconsistentPropertiesLength) {
  const uint16_t p = static_cast<uint16_t>(msg_.properties.size());
  for (uint16_t v : {static_cast<uint16_t>(p + 1), static_cast<uint16_t>(p - 1), uint16_t{0},
                     uint16_t{0x7FFF}}) {
    std::string r = rec_;
    PutBE16(r.data() + props_len_pos_, v);
    ExpectDataLoss(r, "properties length " + std::to_string(v));
  }
}

TEST_F(RecordCorruptionTest, HostV6FlagsOnAnIpv4Record) {
  // Setting the V6 bits moves every later field; the lengths can no longer be consistent.
  const int32_t flags = GetBEI32(rec_.data() + kSysFlagPos);
  ExpectDataLoss(WithI32(kSysFlagPos, flags | sysflag::kBornHostV6), "born V6 bit");
  ExpectDataLoss(WithI32(kSysFlagPos, flags | sysflag::kStoreHostV6), "store V6 bit");
  ExpectDataLoss(WithI32(kSysFlagPos, flags | sysflag::kBornHostV6 | sysflag::kStoreHostV6),
                 "both V6 bits");
}

TEST_F(RecordCorruptionTest, HostV6FlagsClearedOnAnIpv6Record) {
  MessageToStore m = msg_;
  m.born_host = V6("[2001:db8::1]:1");
  std::string r = Encode(m, V6("[2001:db8::2]:2"));
  ASSERT_EQ(DecodeCode(r, true), absl::StatusCode::kOk);
  PutBE32(r.data() + kSysFlagPos,
          static_cast<uint32_t>(GetBEI32(r.data() + kSysFlagPos) &
                                ~(sysflag::kBornHostV6 | sysflag::kStoreHostV6)));
  ExpectDataLoss(r, "V6 record read as V4");
}

TEST_F(RecordCorruptionTest, V2TopicLengthInconsistent) {
  const std::string v2 = ToV2(rec_, msg_.body.size(), msg_.topic.size());
  ASSERT_EQ(DecodeCode(v2, true), absl::StatusCode::kOk);
  for (uint16_t tl : {static_cast<uint16_t>(msg_.topic.size() + 1), uint16_t{0xFFFF},
                      uint16_t{0x8000}, uint16_t{0}}) {
    std::string r = v2;
    PutBE16(r.data() + topic_len_pos_, tl);
    ExpectDataLoss(r, "V2 topic length " + std::to_string(tl));
  }
  // A V1 record relabelled V2 (and vice versa) cannot parse.
  ExpectDataLoss(WithI32(4, kMagicV2), "V1 bytes with V2 magic");
  std::string v2_as_v1 = v2;
  PutBE32(v2_as_v1.data() + 4, static_cast<uint32_t>(kMagicV1));
  ExpectDataLoss(v2_as_v1, "V2 bytes with V1 magic");
}

TEST_F(RecordCorruptionTest, TruncatedHeader) {
  for (size_t n = 4; n < 8; ++n) {
    ExpectDataLoss(rec_.substr(0, n), "first " + std::to_string(n) + " bytes");
  }
  ExpectDataLoss(std::string("\x01\x02\x03", 3), "3 non-zero bytes");
  ExpectDataLoss(std::string("\0\0\0\0\0\0\x01", 7), "7 bytes, last non-zero");
  // A whole header's worth but not the fixed fields.
  ExpectDataLoss(rec_.substr(0, 40), "40 bytes");
  ExpectDataLoss(rec_.substr(0, 90), "90 bytes");
}

TEST_F(RecordCorruptionTest, TruncatedBody) {
  ExpectDataLoss(rec_.substr(0, kBodyPos + 5), "half the body");
  ExpectDataLoss(rec_.substr(0, kBodyPos), "no body");
  ExpectDataLoss(rec_.substr(0, rec_.size() - 1), "last property byte missing");
}

TEST_F(RecordCorruptionTest, EveryTruncationIsDataLoss) {
  for (size_t n = 4; n < rec_.size(); ++n) {
    ExpectDataLoss(rec_.substr(0, n), "prefix " + std::to_string(n));
  }
}

TEST_F(RecordCorruptionTest, ZeroFilledTailIsEnd) {
  for (size_t n : {0, 1, 7, 8, 91, 4096}) {
    Kind k = Kind::kMessage;
    EXPECT_EQ(DecodeCode(std::string(n, '\0'), true, &k), absl::StatusCode::kOk) << n;
    EXPECT_EQ(k, Kind::kEnd) << n;
  }
  // A zero header marks the never-written end whatever follows it.
  Kind k = Kind::kMessage;
  EXPECT_EQ(DecodeCode(std::string(8, '\0') + "garbage", true, &k), absl::StatusCode::kOk);
  EXPECT_EQ(k, Kind::kEnd);
}

TEST_F(RecordCorruptionTest, BlankDeclaringMoreThanRemains) {
  std::string tail(100, '\0');
  EncodeBlank(tail.data(), 101);
  ExpectDataLoss(tail, "blank 101 of 100");
  EncodeBlank(tail.data(), INT32_MAX);
  ExpectDataLoss(tail, "blank INT_MAX");
  EncodeBlank(tail.data(), 7);
  ExpectDataLoss(tail, "blank 7 (< its own 8 bytes)");
  EncodeBlank(tail.data(), 0);
  ExpectDataLoss(tail, "blank 0");
  EncodeBlank(tail.data(), -8);
  ExpectDataLoss(tail, "blank -8");
  EncodeBlank(tail.data(), 100);
  Kind k = Kind::kMessage;
  EXPECT_EQ(DecodeCode(tail, true, &k), absl::StatusCode::kOk);
  EXPECT_EQ(k, Kind::kBlank);
  // Truncated blank header.
  ExpectDataLoss(tail.substr(0, 6), "6 bytes of a blank");
}

TEST_F(RecordCorruptionTest, RandomDamageIsOkOrDataLoss) {
  // Deterministic pseudo-random damage: overwrite bytes, set length fields to random values and
  // truncate. Every outcome is OK or DataLoss, never another code or a crash.
  std::mt19937 rng(20240607);
  const size_t n = rec_.size();
  std::vector<size_t> length_fields = {0, kBodyLenPos, topic_len_pos_, props_len_pos_, kSysFlagPos};
  int data_loss = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string r = rec_;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      if (rng() % 2 == 0) {
        r[rng() % n] = static_cast<char>(rng());
      } else {
        const size_t pos = length_fields[rng() % length_fields.size()];
        const uint32_t v = rng();
        if (pos == topic_len_pos_) {
          r[pos] = static_cast<char>(v);
        } else if (pos == props_len_pos_) {
          PutBE16(r.data() + pos, static_cast<uint16_t>(v));
        } else {
          PutBE32(r.data() + pos, v);
        }
      }
    }
    if (rng() % 4 == 0) r.resize(rng() % n);
    const absl::StatusCode code = DecodeCode(r, rng() % 2 == 0);
    ASSERT_TRUE(code == absl::StatusCode::kOk || code == absl::StatusCode::kDataLoss)
        << "iteration " << iter << ": " << absl::StatusCodeToString(code);
    if (code == absl::StatusCode::kDataLoss) ++data_loss;
  }
  EXPECT_GT(data_loss, 1000);  // the damage is real, not mostly ignored
}

}  // namespace
}  // namespace libstore::internal
