// libFuzzer target: the remoting frame decoder (brokerd/remoting) on arbitrary bytes, read as a
// connection's byte stream (up to 64 frames back to back).
//
// Invariants (abort() on violation):
//  * DecodeFrame returns NeedMoreData (bytes_needed > 0), a frame, or an InvalidArgument /
//    ResourceExhausted status with a message; never crashes or reads past the buffer;
//  * a decoded frame: 8 + header_length + body == bytes_consumed <= the bytes given, and every
//    proper prefix of it is NeedMoreData asking for exactly the missing bytes;
//  * round trip: EncodeFrame(command, its serialize type) succeeds, decodes to an equal command
//    (ext-field order included), and re-encoding that gives the same bytes (canonical output);
//  * the other header type: when the command can be encoded in it, it decodes back to the same
//    fields, modulo what that type cannot express (binary: no empty remark, 16-bit code and
//    version, unknown languages become OTHER; JSON: nothing).
// Thread-safety: single-threaded (libFuzzer / replay_main).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
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

// Large enough that re-encoding a decoded frame never hits the limit (JSON output may be longer
// than the input: numbers become strings, serializeTypeCurrentRPC is added).
rm::CodecLimits RoundTripLimits() {
  rm::CodecLimits l;
  l.max_frame_bytes = size_t{1} << 30;
  return l;
}

// The fields a header of `type` can carry, as the decoder of that type would give them back.
rm::RemotingCommand Normalized(rm::RemotingCommand c, rm::SerializeType type) {
  c.serialize_type = type;
  c.emit_empty_ext_fields = false;
  c.body.clear();
  if (type == rm::SerializeType::kRocketMq) {
    if (c.remark && c.remark->empty()) c.remark.reset();
    if (!rm::LanguageCodeFromName(c.language)) c.language = std::string(rm::kLanguageOtherName);
  }
  return c;
}

void CheckOtherType(const rm::RemotingCommand& cmd) {
  const rm::SerializeType other = cmd.serialize_type == rm::SerializeType::kJson
                                      ? rm::SerializeType::kRocketMq
                                      : rm::SerializeType::kJson;
  absl::StatusOr<std::string> frame = rm::EncodeFrame(cmd, other, RoundTripLimits());
  if (!frame.ok()) {
    // Only the binary header has representational limits.
    REMOTING_CHECK(other == rm::SerializeType::kRocketMq &&
                       frame.status().code() == absl::StatusCode::kInvalidArgument,
                   frame.status().ToString() + "\n" + rm::DebugString(cmd));
    return;
  }
  absl::StatusOr<rm::DecodeResult> r = rm::DecodeFrame(*frame, RoundTripLimits());
  REMOTING_CHECK(r.ok(), r.status().ToString());
  const auto* f = std::get_if<rm::DecodedFrame>(&*r);
  REMOTING_CHECK(f != nullptr, "NeedMoreData on a whole encoded frame");
  REMOTING_CHECK(f->command.body == cmd.body, rm::DebugString(cmd));
  REMOTING_CHECK(Normalized(f->command, other) == Normalized(cmd, other),
                 rm::DebugString(cmd) + "\n" + rm::DebugString(f->command));
}

void CheckFrame(std::string_view input, const rm::DecodedFrame& f) {
  REMOTING_CHECK(f.bytes_consumed >= 8 && f.bytes_consumed <= input.size(), "bytes_consumed");
  REMOTING_CHECK(8 + f.header_length + f.command.body.size() == f.bytes_consumed,
                 "header + body != frame");

  // Proper prefixes wait for exactly the missing bytes.
  const size_t n = f.bytes_consumed;
  for (size_t len :
       {size_t{0}, size_t{1}, size_t{3}, size_t{4}, size_t{7}, size_t{8}, n / 2, n - 1}) {
    if (len >= n) continue;
    absl::StatusOr<rm::DecodeResult> r = rm::DecodeFrame(input.substr(0, len));
    REMOTING_CHECK(r.ok(), "prefix of a valid frame: " + r.status().ToString());
    const auto* need = std::get_if<rm::NeedMoreData>(&*r);
    REMOTING_CHECK(need != nullptr, "prefix of a valid frame decoded");
    REMOTING_CHECK(need->bytes_needed == (len < 4 ? 4 - len : n - len),
                   "bytes_needed " + std::to_string(need->bytes_needed) + " for prefix " +
                       std::to_string(len) + " of " + std::to_string(n));
  }

  // Same-type round trip.
  const rm::RemotingCommand& cmd = f.command;
  absl::StatusOr<std::string> encoded = rm::EncodeFrame(cmd, cmd.serialize_type, RoundTripLimits());
  REMOTING_CHECK(encoded.ok(), encoded.status().ToString() + "\n" + rm::DebugString(cmd));
  absl::StatusOr<rm::DecodeResult> r = rm::DecodeFrame(*encoded, RoundTripLimits());
  REMOTING_CHECK(r.ok(), r.status().ToString() + "\n" + rm::DebugString(cmd));
  const auto* again = std::get_if<rm::DecodedFrame>(&*r);
  REMOTING_CHECK(again != nullptr, "NeedMoreData on a whole encoded frame");
  REMOTING_CHECK(again->bytes_consumed == encoded->size(), "re-encoded frame size");
  REMOTING_CHECK(again->command == cmd,
                 rm::DebugString(cmd) + "\n" + rm::DebugString(again->command));
  absl::StatusOr<std::string> encoded2 =
      rm::EncodeFrame(again->command, again->command.serialize_type, RoundTripLimits());
  REMOTING_CHECK(encoded2.ok() && *encoded2 == *encoded, "re-encoding is not canonical");

  CheckOtherType(cmd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const rm::CodecLimits limits;  // the default 16 MiB
  for (int frames = 0; frames < 64 && !input.empty(); ++frames) {
    absl::StatusOr<rm::DecodeResult> r = rm::DecodeFrame(input, limits);
    if (!r.ok()) {
      REMOTING_CHECK(!r.status().message().empty(), "error without a message");
      REMOTING_CHECK(r.status().code() == absl::StatusCode::kInvalidArgument ||
                         r.status().code() == absl::StatusCode::kResourceExhausted,
                     r.status().ToString());
      break;
    }
    if (const auto* need = std::get_if<rm::NeedMoreData>(&*r)) {
      REMOTING_CHECK(need->bytes_needed > 0, "NeedMoreData(0)");
      REMOTING_CHECK(
          input.size() < 4 || input.size() + need->bytes_needed <= limits.max_frame_bytes,
          "asks for more than the frame limit");
      break;
    }
    const auto& f = std::get<rm::DecodedFrame>(*r);
    CheckFrame(input, f);
    input.remove_prefix(f.bytes_consumed);
  }
  return 0;
}
