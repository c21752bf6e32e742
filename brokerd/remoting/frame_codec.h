// Frame codec of the remoting protocol (spec 1.2):
//   length(4, bytes after this field) | serializeType(1) headerLength(3) | header | body
// DecodeFrame is incremental: give it whatever bytes have arrived on a connection; it says how
// many more are needed, or returns one decoded command and how many bytes it used, or an error
// after which the connection should be closed (the Java server closes it too).
// Thread-safety: pure functions.
#ifndef BROKERD_REMOTING_FRAME_CODEC_H_
#define BROKERD_REMOTING_FRAME_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/statusor.h"
#include "remoting/command.h"

namespace brokerd::remoting {

// Java's default frameMaxLength (-Dcom.rocketmq.remoting.frameMaxLength).
inline constexpr size_t kDefaultMaxFrameBytes = 16 * 1024 * 1024;
// The smallest legal value of the length field: it always covers the header-length int.
inline constexpr int32_t kMinFrameLengthField = 4;

struct CodecLimits {
  // Largest whole frame, counting the 4-byte length field itself (as Java's
  // LengthFieldBasedFrameDecoder counts it), accepted by DecodeFrame and produced by EncodeFrame.
  // Checked as soon as the length field has arrived, before waiting for the rest.
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
};

// DecodeFrame found no complete frame yet. bytes_needed (> 0) more bytes are needed before
// calling again can make progress: the rest of the frame once its length field is known, else
// the rest of the length field.
struct NeedMoreData {
  size_t bytes_needed = 0;
};

// DecodeFrame decoded the frame at the start of the buffer.
struct DecodedFrame {
  RemotingCommand command;    // serialize_type = the frame's header type
  size_t bytes_consumed = 0;  // whole frame, length field included; drop these from the buffer
  size_t header_length = 0;   // header bytes (body bytes = command.body.size())
};

using DecodeResult = std::variant<NeedMoreData, DecodedFrame>;

// Decodes the first frame of buffer (later bytes are left alone: call again on the rest).
// Errors, all of which mean the stream cannot be resynchronized:
//  * InvalidArgument: length field below kMinFrameLengthField (incl. negative), serialize type
//    other than 0/1, header length larger than length - 4, a malformed header;
//  * ResourceExhausted: length + 4 > limits.max_frame_bytes.
// Validation happens as early as the bytes allow: the length once 4 bytes are there, the type
// and header length once 8 are; a proper prefix of a valid frame is always NeedMoreData.
absl::StatusOr<DecodeResult> DecodeFrame(std::string_view buffer,
                                         const CodecLimits& limits = CodecLimits());

// Encodes cmd as one frame with the given header type (answer a request in the type it came
// in: cpp and ali-ons cannot read anything but JSON). Errors: those of EncodeJsonHeader /
// EncodeRocketMqHeader, and ResourceExhausted when the frame exceeds limits.max_frame_bytes.
absl::StatusOr<std::string> EncodeFrame(const RemotingCommand& cmd, SerializeType type,
                                        const CodecLimits& limits = CodecLimits());
// Encodes cmd with its own serialize_type (MakeResponse copies the request's).
absl::StatusOr<std::string> EncodeFrame(const RemotingCommand& cmd);

}  // namespace brokerd::remoting

#endif  // BROKERD_REMOTING_FRAME_CODEC_H_
