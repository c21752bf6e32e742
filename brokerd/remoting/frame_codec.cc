// Frame codec: length-prefixed framing around the header codecs (see frame_codec.h).
// Thread-safety: pure functions.
#include "remoting/frame_codec.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "remoting/header_codec.h"

namespace brokerd::remoting {
namespace {

uint32_t ReadU32(std::string_view b, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

}  // namespace

absl::StatusOr<DecodeResult> DecodeFrame(std::string_view buffer, const CodecLimits& limits) {
  if (buffer.size() < 4) return NeedMoreData{4 - buffer.size()};
  const int32_t length = static_cast<int32_t>(ReadU32(buffer, 0));
  if (length < kMinFrameLengthField) {
    return absl::InvalidArgumentError(absl::StrCat(
        "frame length field ", length, " is below the minimum of ", kMinFrameLengthField));
  }
  const size_t frame_bytes = static_cast<size_t>(length) + 4;
  if (frame_bytes > limits.max_frame_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "frame of ", frame_bytes, " bytes exceeds the maximum of ", limits.max_frame_bytes));
  }
  if (buffer.size() >= 8) {
    const uint32_t type_and_len = ReadU32(buffer, 4);
    const uint32_t type = type_and_len >> 24;
    const size_t header_length = type_and_len & 0xFFFFFF;
    if (type != static_cast<uint32_t>(SerializeType::kJson) &&
        type != static_cast<uint32_t>(SerializeType::kRocketMq)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown serialize type ", type, " (header word 0x",
                       absl::Hex(type_and_len, absl::kZeroPad8), ")"));
    }
    if (header_length > static_cast<size_t>(length) - 4) {
      return absl::InvalidArgumentError(absl::StrCat("header length ", header_length,
                                                     " exceeds the frame's ", length - 4,
                                                     " bytes after the header-length field"));
    }
    if (buffer.size() >= frame_bytes) {
      absl::StatusOr<RemotingCommand> cmd =
          DecodeHeader(static_cast<SerializeType>(type), buffer.substr(8, header_length));
      if (!cmd.ok()) return cmd.status();
      DecodedFrame frame;
      frame.command = *std::move(cmd);
      frame.command.body.assign(buffer.substr(8 + header_length, frame_bytes - 8 - header_length));
      frame.bytes_consumed = frame_bytes;
      frame.header_length = header_length;
      return frame;
    }
  }
  return NeedMoreData{frame_bytes - buffer.size()};
}

absl::StatusOr<std::string> EncodeFrame(const RemotingCommand& cmd, SerializeType type,
                                        const CodecLimits& limits) {
  absl::StatusOr<std::string> header = EncodeHeader(cmd, type);
  if (!header.ok()) return header.status();
  // header->size() <= kMaxHeaderBytes (checked by the header encoders).
  const size_t frame_bytes = 8 + header->size() + cmd.body.size();
  const size_t max_frame = std::min(limits.max_frame_bytes,
                                    static_cast<size_t>(std::numeric_limits<int32_t>::max()) + 4);
  if (frame_bytes > max_frame || cmd.body.size() > max_frame) {
    return absl::ResourceExhaustedError(
        absl::StrCat("frame of ", frame_bytes, " bytes exceeds the maximum of ", max_frame));
  }
  std::string out;
  out.reserve(frame_bytes);
  PutU32(&out, static_cast<uint32_t>(frame_bytes - 4));
  PutU32(&out, (static_cast<uint32_t>(type) << 24) | static_cast<uint32_t>(header->size()));
  out.append(*header);
  out.append(cmd.body);
  return out;
}

absl::StatusOr<std::string> EncodeFrame(const RemotingCommand& cmd) {
  return EncodeFrame(cmd, cmd.serialize_type);
}

}  // namespace brokerd::remoting
