// libFuzzer target: the remoting header decoders (brokerd/remoting/header_codec.h) called
// directly. Input: one selector byte (bit 0: 0 = JSON header, 1 = ROCKETMQ binary header), then
// the header bytes.
//
// Invariants (abort() on violation):
//  * the decoder returns a command (serialize_type = the selected type, empty body) or an
//    InvalidArgument status with a message; never crashes, asserts or recurses without bound;
//  * a header inside a frame (DecodeFrame) decodes to the same command or fails the same way;
//  * same-type round trip: Encode(Decode(h)) decodes to an equal command (ext-field order
//    included) and re-encodes to the same bytes;
//  * other type: Encode in the other header type either fails with InvalidArgument (binary:
//    code/version beyond 16 bits, keys over 32767 bytes) or decodes to the same fields modulo
//    what that type cannot express.
// Thread-safety: single-threaded (libFuzzer / replay_main).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "remoting/command.h"
#include "remoting/frame_codec.h"
#include "remoting/header_codec.h"

namespace {

namespace rm = brokerd::remoting;

[[noreturn]] void Fail(const char* file, int line, const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: FUZZ INVARIANT VIOLATED: %s\n%s\n", file, line, what,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}
#define REMOTING_CHECK(cond, detail)                        \
  do {                                                      \
    if (!(cond)) Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

std::string U32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

rm::RemotingCommand Normalized(rm::RemotingCommand c, rm::SerializeType type) {
  c.serialize_type = type;
  c.emit_empty_ext_fields = false;
  if (type == rm::SerializeType::kRocketMq) {
    if (c.remark && c.remark->empty()) c.remark.reset();
    if (!rm::LanguageCodeFromName(c.language)) c.language = std::string(rm::kLanguageOtherName);
  }
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const rm::SerializeType type =
      (data[0] & 1) != 0 ? rm::SerializeType::kRocketMq : rm::SerializeType::kJson;
  const std::string_view header(reinterpret_cast<const char*>(data) + 1, size - 1);

  absl::StatusOr<rm::RemotingCommand> cmd = rm::DecodeHeader(type, header);

  // The same bytes as the header of a frame.
  if (header.size() <= rm::kMaxHeaderBytes) {
    const std::string frame =
        U32(static_cast<uint32_t>(4 + header.size())) +
        U32((static_cast<uint32_t>(type) << 24) | static_cast<uint32_t>(header.size())) +
        std::string(header);
    rm::CodecLimits limits;
    limits.max_frame_bytes = size_t{1} << 30;
    absl::StatusOr<rm::DecodeResult> r = rm::DecodeFrame(frame, limits);
    REMOTING_CHECK(r.ok() == cmd.ok(), cmd.ok() ? r.status().ToString() : cmd.status().ToString());
    if (r.ok()) {
      const auto* f = std::get_if<rm::DecodedFrame>(&*r);
      REMOTING_CHECK(f != nullptr && f->command == *cmd, "frame decode differs");
    } else {
      REMOTING_CHECK(r.status() == cmd.status(), r.status().ToString());
    }
  }

  if (!cmd.ok()) {
    REMOTING_CHECK(cmd.status().code() == absl::StatusCode::kInvalidArgument,
                   cmd.status().ToString());
    REMOTING_CHECK(!cmd.status().message().empty(), "error without a message");
    return 0;
  }
  REMOTING_CHECK(cmd->serialize_type == type, rm::DebugString(*cmd));
  REMOTING_CHECK(cmd->body.empty(), rm::DebugString(*cmd));
  if (type == rm::SerializeType::kRocketMq) {
    REMOTING_CHECK(!cmd->emit_empty_ext_fields, rm::DebugString(*cmd));
  }

  // Same-type round trip.
  absl::StatusOr<std::string> encoded = rm::EncodeHeader(*cmd, type);
  REMOTING_CHECK(encoded.ok(), encoded.status().ToString() + "\n" + rm::DebugString(*cmd));
  absl::StatusOr<rm::RemotingCommand> again = rm::DecodeHeader(type, *encoded);
  REMOTING_CHECK(again.ok(), again.status().ToString() + "\n" + rm::DebugString(*cmd));
  REMOTING_CHECK(*again == *cmd, rm::DebugString(*cmd) + "\n" + rm::DebugString(*again));
  absl::StatusOr<std::string> encoded2 = rm::EncodeHeader(*again, type);
  REMOTING_CHECK(encoded2.ok() && *encoded2 == *encoded, "re-encoding is not canonical");

  // The other type.
  const rm::SerializeType other =
      type == rm::SerializeType::kJson ? rm::SerializeType::kRocketMq : rm::SerializeType::kJson;
  absl::StatusOr<std::string> crossed = rm::EncodeHeader(*cmd, other);
  if (!crossed.ok()) {
    REMOTING_CHECK(other == rm::SerializeType::kRocketMq &&
                       crossed.status().code() == absl::StatusCode::kInvalidArgument,
                   crossed.status().ToString());
    return 0;
  }
  absl::StatusOr<rm::RemotingCommand> back = rm::DecodeHeader(other, *crossed);
  REMOTING_CHECK(back.ok(), back.status().ToString() + "\n" + rm::DebugString(*cmd));
  REMOTING_CHECK(Normalized(*back, other) == Normalized(*cmd, other),
                 rm::DebugString(*cmd) + "\n" + rm::DebugString(*back));
  return 0;
}
