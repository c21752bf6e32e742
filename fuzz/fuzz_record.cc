// libFuzzer target: the CommitLog record decoder on arbitrary bytes.
//
// The input is the readable tail of a CommitLog file starting at a record. DecodeRecord runs
// with and without the BODYCRC check. Invariants (abort() on violation):
//  * a CRC-checked decode that succeeds also succeeds unchecked, with identical fields;
//  * kEnd only for an all-zero short header or a zero size+magic; kBlank declares a size in
//    [8, bytes available];
//  * a decoded message lies inside the input (store_size bytes, every view inside `record`),
//    and decoding exactly its store_size bytes gives the same message (the decoder never
//    depends on bytes past the record);
//  * V1 records round-trip: EncodeRecord (+ PatchRecord) of a MessageToStore built from the
//    decoded fields reproduces the stored bytes exactly (BODYCRC included when it was checked);
//  * the properties parsers agree: FindProperty(k) == Properties::Decode().Get(k), and
//    Decode(Encode(Decode(x))) == Decode(x);
//  * offsetMsgId: a 32/56 character input that decodes re-encodes to the same (upper-case) hex.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "commitlog/record.h"
#include "fuzz_util.h"
#include "libstore/message.h"
#include "util/coding.h"
#include "util/hash.h"

namespace {

namespace li = libstore::internal;
using libstore::FindProperty;
using libstore::MessageToStore;
using libstore::Properties;
using libstore::StoredMessage;

bool Inside(std::string_view inner, std::string_view outer) {
  return inner.data() >= outer.data() && inner.data() + inner.size() <= outer.data() + outer.size();
}

bool SameFields(const StoredMessage& a, const StoredMessage& b) {
  return a.store_size == b.store_size && a.magic == b.magic && a.body_crc == b.body_crc &&
         a.queue_id == b.queue_id && a.flag == b.flag && a.queue_offset == b.queue_offset &&
         a.physical_offset == b.physical_offset && a.sys_flag == b.sys_flag &&
         a.born_timestamp_ms == b.born_timestamp_ms &&
         a.born_host.ip_bytes == b.born_host.ip_bytes && a.born_host.port == b.born_host.port &&
         a.store_timestamp_ms == b.store_timestamp_ms &&
         a.store_host.ip_bytes == b.store_host.ip_bytes && a.store_host.port == b.store_host.port &&
         a.reconsume_times == b.reconsume_times &&
         a.prepared_transaction_offset == b.prepared_transaction_offset && a.body == b.body &&
         a.topic == b.topic && a.properties == b.properties && a.record == b.record;
}

void CheckProperties(std::string_view encoded) {
  const Properties p = Properties::Decode(encoded);
  size_t n = 0;
  for (const auto& [k, v] : p.entries()) {
    if (++n > 64) break;  // keep the quadratic cross-check cheap
    const auto found = FindProperty(encoded, k);
    const auto got = p.Get(k);
    FUZZ_CHECK(found.has_value() && got.has_value());
    FUZZ_CHECK(*found == *got);
  }
  for (std::string_view key : {libstore::property::kKeys, libstore::property::kTags,
                               libstore::property::kUniqKey, libstore::property::kDelay}) {
    const auto found = FindProperty(encoded, key);
    const auto got = p.Get(key);
    FUZZ_CHECK(found.has_value() == got.has_value());
    if (found) FUZZ_CHECK(*found == *got);
  }
  const Properties again = Properties::Decode(p.Encode());
  FUZZ_CHECK(again.entries() == p.entries());
}

void CheckOffsetMsgId(std::string_view in) {
  auto d = libstore::DecodeOffsetMsgId(in);
  const bool all_hex = std::all_of(in.begin(), in.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (!d.ok()) {
    FUZZ_CHECK(!((in.size() == 32 || in.size() == 56) && all_hex));
    return;
  }
  FUZZ_CHECK(in.size() == 32 || in.size() == 56);
  std::string upper(in);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  FUZZ_CHECK(libstore::EncodeOffsetMsgId(d->first, d->second) == upper);
}

// Re-encodes a decoded V1 record and compares with the stored bytes.
void CheckRoundTrip(const StoredMessage& m, bool crc_checked) {
  MessageToStore msg;
  msg.topic = std::string(m.topic);
  msg.queue_id = m.queue_id;
  msg.flag = m.flag;
  msg.sys_flag = m.sys_flag;
  msg.body = std::string(m.body);
  msg.properties = std::string(m.properties);
  msg.born_timestamp_ms = m.born_timestamp_ms;
  msg.born_host = m.born_host;
  msg.reconsume_times = m.reconsume_times;
  msg.prepared_transaction_offset = m.prepared_transaction_offset;
  const int64_t len = li::RecordLength(
      static_cast<int64_t>(msg.body.size()), static_cast<int64_t>(msg.topic.size()),
      static_cast<int64_t>(msg.properties.size()), msg.born_host.is_v6(), m.store_host.is_v6());
  if (len != m.store_size) {
    FUZZ_FAIL("decoded V1 record of %d bytes, but its fields need %lld", m.store_size,
              static_cast<long long>(len));
  }
  std::string out(static_cast<size_t>(len), '\0');
  const int64_t wrote = li::EncodeRecord(msg, m.store_host, out.data());
  FUZZ_CHECK(wrote == len);
  li::PatchRecord(out.data(), m.queue_offset.value(), m.physical_offset.value(),
                  m.store_timestamp_ms);
  // Unchecked decodes keep whatever BODYCRC was stored; the encoder always computes it.
  if (!crc_checked) li::PutBE32(out.data() + 8, static_cast<uint32_t>(m.body_crc));
  if (out != m.record) {
    size_t i = 0;
    while (i < out.size() && out[i] == m.record[i]) ++i;
    FUZZ_FAIL(
        "V1 record does not round-trip through EncodeRecord: first difference at byte %zu "
        "of %zu",
        i, out.size());
  }
}

void CheckDecoded(std::string_view in, const li::DecodedRecord& r, bool crc) {
  switch (r.kind) {
    case li::DecodedRecord::Kind::kEnd:
      if (in.size() >= 8) {
        FUZZ_CHECK(li::GetBEI32(in.data()) == 0 && li::GetBEI32(in.data() + 4) == 0);
      } else {
        FUZZ_CHECK(std::all_of(in.begin(), in.end(), [](char c) { return c == 0; }));
      }
      return;
    case li::DecodedRecord::Kind::kBlank:
      FUZZ_CHECK(r.size >= 8 && static_cast<size_t>(r.size) <= in.size());
      FUZZ_CHECK(li::GetBEI32(in.data() + 4) == li::kMagicBlank);
      return;
    case li::DecodedRecord::Kind::kMessage:
      break;
  }
  const StoredMessage& m = r.message;
  FUZZ_CHECK(r.size == m.store_size && m.store_size > 0);
  FUZZ_CHECK(static_cast<size_t>(m.store_size) <= in.size());
  FUZZ_CHECK(m.record.data() == in.data() && m.record.size() == static_cast<size_t>(r.size));
  FUZZ_CHECK(Inside(m.body, m.record) && Inside(m.topic, m.record) &&
             Inside(m.properties, m.record));
  FUZZ_CHECK(m.magic == li::kMagicV1 || m.magic == li::kMagicV2);
  FUZZ_CHECK(m.born_host.ip_bytes.size() == 4 || m.born_host.ip_bytes.size() == 16);
  FUZZ_CHECK(m.store_host.ip_bytes.size() == 4 || m.store_host.ip_bytes.size() == 16);
  if (crc) FUZZ_CHECK(li::BodyCrc(m.body) == m.body_crc);
  // The decoder must not depend on anything after the record.
  auto exact = li::DecodeRecord(m.record, crc);
  FUZZ_CHECK(exact.ok() && exact->kind == li::DecodedRecord::Kind::kMessage);
  FUZZ_CHECK(SameFields(exact->message, m));
  if (m.magic == li::kMagicV1) CheckRoundTrip(m, crc);
  CheckProperties(m.properties);
  (void)libstore::JavaStringHash(m.topic);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto checked = li::DecodeRecord(in, /*check_crc=*/true);
  auto unchecked = li::DecodeRecord(in, /*check_crc=*/false);
  if (checked.ok()) {
    CheckDecoded(in, *checked, true);
    // Checking the CRC can only reject more.
    FUZZ_CHECK(unchecked.ok() && unchecked->kind == checked->kind &&
               unchecked->size == checked->size);
    if (checked->kind == li::DecodedRecord::Kind::kMessage) {
      FUZZ_CHECK(SameFields(unchecked->message, checked->message));
    }
  } else {
    FUZZ_CHECK(absl::IsDataLoss(checked.status()) && !checked.status().message().empty());
  }
  if (unchecked.ok()) {
    CheckDecoded(in, *unchecked, false);
  } else {
    FUZZ_CHECK(absl::IsDataLoss(unchecked.status()) && !unchecked.status().message().empty());
  }
  // The same bytes as other inputs of the record codec's neighbours.
  CheckProperties(in);
  CheckOffsetMsgId(in);
  FUZZ_CHECK(li::IndexKeyHash(in) >= 0);
  return 0;
}
