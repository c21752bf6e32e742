// ROCKETMQ binary header codec (serialize type 1; RocketMQSerializable in Java), and the
// dispatch between the two header formats.
// Thread-safety: pure functions.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "remoting/header_codec.h"

namespace brokerd::remoting {
namespace {

// Fixed part: code(2) language(1) version(2) opaque(4) flag(4) remarkLen(4).
constexpr size_t kFixedBytes = 17;

// Big-endian reader over the header bytes; every read is bounds-checked by the caller through
// remaining().
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t remaining() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  uint8_t U8() { return static_cast<uint8_t>(data_[pos_++]); }
  uint16_t U16() {
    uint16_t v = static_cast<uint16_t>(U8()) << 8;
    return static_cast<uint16_t>(v | U8());
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | U8();
    return v;
  }
  std::string Bytes(size_t n) {
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU16(std::string* out, uint16_t v) {
  PutU8(out, static_cast<uint8_t>(v >> 8));
  PutU8(out, static_cast<uint8_t>(v));
}
void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) PutU8(out, static_cast<uint8_t>(v >> shift));
}

absl::Status Truncated(std::string_view what, size_t need, size_t at, size_t size) {
  return absl::InvalidArgumentError(
      absl::StrCat("truncated ROCKETMQ header: ", absl::string_view(what.data(), what.size()),
                   " needs ", need, " bytes at offset ", at, ", header is ", size, " bytes"));
}

bool FitsShort(int32_t v) {
  return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
}

}  // namespace

absl::StatusOr<RemotingCommand> DecodeRocketMqHeader(std::string_view header) {
  Reader r(header);
  if (r.remaining() < kFixedBytes) return Truncated("fixed part", kFixedBytes, 0, header.size());
  RemotingCommand cmd;
  cmd.serialize_type = SerializeType::kRocketMq;
  cmd.code = static_cast<int16_t>(r.U16());
  const uint8_t language = r.U8();
  cmd.language = std::string(LanguageNameFromCode(language).value_or(kLanguageOtherName));
  cmd.version = static_cast<int16_t>(r.U16());
  cmd.opaque = static_cast<int32_t>(r.U32());
  cmd.flag = static_cast<int32_t>(r.U32());

  const int32_t remark_len = static_cast<int32_t>(r.U32());
  if (remark_len < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ROCKETMQ header: negative remark length ", remark_len));
  }
  if (static_cast<size_t>(remark_len) > r.remaining()) {
    return Truncated("remark", remark_len, r.pos(), header.size());
  }
  if (remark_len > 0) cmd.remark = r.Bytes(static_cast<size_t>(remark_len));

  if (r.remaining() < 4) return Truncated("extFields length", 4, r.pos(), header.size());
  const int32_t ext_len = static_cast<int32_t>(r.U32());
  if (ext_len < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ROCKETMQ header: negative extFields length ", ext_len));
  }
  if (static_cast<size_t>(ext_len) > r.remaining()) {
    return Truncated("extFields", ext_len, r.pos(), header.size());
  }
  const size_t ext_end = r.pos() + static_cast<size_t>(ext_len);
  while (r.pos() < ext_end) {
    const size_t left = ext_end - r.pos();
    if (left < 2) return Truncated("extFields key length", 2, r.pos(), ext_end);
    const int16_t key_len = static_cast<int16_t>(r.U16());
    if (key_len < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ROCKETMQ header: negative extFields key length ", key_len, " at offset ", r.pos() - 2));
    }
    if (static_cast<size_t>(key_len) + 4 > ext_end - r.pos()) {
      return Truncated("extFields key and value length", static_cast<size_t>(key_len) + 4, r.pos(),
                       ext_end);
    }
    std::string key = r.Bytes(static_cast<size_t>(key_len));
    const int32_t val_len = static_cast<int32_t>(r.U32());
    if (val_len < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ROCKETMQ header: negative extFields value length ", val_len, " for key '", key, "'"));
    }
    if (static_cast<size_t>(val_len) > ext_end - r.pos()) {
      return Truncated("extFields value", val_len, r.pos(), ext_end);
    }
    cmd.ext_fields.Set(std::move(key), r.Bytes(static_cast<size_t>(val_len)));
  }
  if (r.remaining() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ROCKETMQ header: ", r.remaining(), " unexpected bytes after the extFields"));
  }
  return cmd;
}

absl::StatusOr<std::string> EncodeRocketMqHeader(const RemotingCommand& cmd) {
  if (!FitsShort(cmd.code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("code ", cmd.code, " does not fit the ROCKETMQ header's 16-bit field"));
  }
  if (!FitsShort(cmd.version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("version ", cmd.version, " does not fit the ROCKETMQ header's 16-bit field"));
  }
  const size_t remark_len = cmd.remark ? cmd.remark->size() : 0;
  size_t ext_len = 0;
  for (const auto& [k, v] : cmd.ext_fields) {
    if (k.size() > static_cast<size_t>(std::numeric_limits<int16_t>::max())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "extFields key of ", k.size(), " bytes does not fit the ROCKETMQ 16-bit key length"));
    }
    ext_len += 2 + k.size() + 4 + v.size();
    if (ext_len > kMaxHeaderBytes) break;  // reported below; avoids overflow on huge maps
  }
  const size_t total = kFixedBytes + remark_len + 4 + ext_len;
  if (remark_len > kMaxHeaderBytes || ext_len > kMaxHeaderBytes || total > kMaxHeaderBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "ROCKETMQ header would exceed the 24-bit header length (", kMaxHeaderBytes, " bytes)"));
  }

  std::string out;
  out.reserve(total);
  PutU16(&out, static_cast<uint16_t>(cmd.code));
  PutU8(&out, LanguageCodeFromName(cmd.language).value_or(kLanguageOther));
  PutU16(&out, static_cast<uint16_t>(cmd.version));
  PutU32(&out, static_cast<uint32_t>(cmd.opaque));
  PutU32(&out, static_cast<uint32_t>(cmd.flag));
  PutU32(&out, static_cast<uint32_t>(remark_len));
  if (remark_len > 0) out.append(*cmd.remark);
  PutU32(&out, static_cast<uint32_t>(ext_len));
  for (const auto& [k, v] : cmd.ext_fields) {
    PutU16(&out, static_cast<uint16_t>(k.size()));
    out.append(k);
    PutU32(&out, static_cast<uint32_t>(v.size()));
    out.append(v);
  }
  return out;
}

absl::StatusOr<RemotingCommand> DecodeHeader(SerializeType type, std::string_view header) {
  switch (type) {
    case SerializeType::kJson:
      return DecodeJsonHeader(header);
    case SerializeType::kRocketMq:
      return DecodeRocketMqHeader(header);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown serialize type ", static_cast<int>(type)));
}

absl::StatusOr<std::string> EncodeHeader(const RemotingCommand& cmd, SerializeType type) {
  switch (type) {
    case SerializeType::kJson:
      return EncodeJsonHeader(cmd);
    case SerializeType::kRocketMq:
      return EncodeRocketMqHeader(cmd);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown serialize type ", static_cast<int>(type)));
}

}  // namespace brokerd::remoting
