// Header codecs of the remoting protocol: the JSON header (serialize type 0, spec 1.3) and the
// ROCKETMQ binary header (serialize type 1, spec 1.4). The frame codec (frame_codec.h) uses
// these; they are public for the fuzz targets and for tests.
// Thread-safety: pure functions.
#ifndef BROKERD_REMOTING_HEADER_CODEC_H_
#define BROKERD_REMOTING_HEADER_CODEC_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "remoting/command.h"

namespace brokerd::remoting {

// The header length is the low 24 bits of the frame's second int.
inline constexpr size_t kMaxHeaderBytes = 0xFFFFFF;
// Containers nested deeper than this in a JSON header (under unknown keys) are rejected, so a
// hostile header cannot make the parser use memory out of proportion.
inline constexpr int kMaxJsonHeaderDepth = 32;

// Decodes a JSON header into the header fields of a command (body empty, serialize_type kJson).
// Accepts what Java (fastjson), rocketmq-client-cpp (jsoncpp, trailing newline) and ali-ons send:
//  * keys in any order; unknown keys ignored (any value); a repeated key: the last one wins;
//  * code/flag/opaque/version: JSON integers (or strings holding one) in int32 range; null or
//    absent = 0;
//  * language: string (null/absent = "JAVA"); remark: string (null/absent = nullopt);
//  * extFields: object or null; values may be strings, numbers (kept as their exact JSON text,
//    e.g. 0, -1, 1795592538492), booleans ("true"/"false") or null (= absent); an object or an
//    array as a value is an error;
//  * trailing whitespace after the object.
// Errors (InvalidArgument): not exactly one JSON object, syntax errors (with the byte offset),
// wrong types, out-of-range integers, nesting deeper than kMaxJsonHeaderDepth.
absl::StatusOr<RemotingCommand> DecodeJsonHeader(std::string_view header);

// Encodes the header fields of cmd the way a Java 4.9.7 broker/namesrv (fastjson) does:
//   {"code":N,"extFields":{...},"flag":N,"language":"..","opaque":N,"remark":"..",
//    "serializeTypeCurrentRPC":"JSON","version":N}
// top-level keys in that (alphabetical) order, no whitespace, "extFields" omitted when empty
// (unless cmd.emit_empty_ext_fields), ext values always JSON strings in ext_fields order,
// "remark" omitted when nullopt. Strings are written as raw UTF-8; '"', '\\' and control
// characters are escaped (\b \t \n \f \r, others as \u00XX with upper-case hex).
// Errors: ResourceExhausted when the header would exceed kMaxHeaderBytes.
absl::StatusOr<std::string> EncodeJsonHeader(const RemotingCommand& cmd);

// Decodes a ROCKETMQ binary header (big-endian):
//   code(2) language(1) version(2) opaque(4) flag(4) remarkLen(4) remark extLen(4)
//   (keyLen(2) key valLen(4) value)*
// code and version are sign-extended shorts; an unknown language byte decodes as "OTHER";
// remarkLen 0 = no remark; extLen 0 = no ext fields; the entries must fill extLen exactly, and
// nothing may follow them. Zero-length keys and values decode as "" (4.9.x Java makes them null).
// Errors (InvalidArgument): truncation, negative lengths, lengths past the end, trailing bytes.
absl::StatusOr<RemotingCommand> DecodeRocketMqHeader(std::string_view header);

// Encodes the header fields of cmd as a ROCKETMQ binary header, entries in ext_fields order.
// A language the LanguageCode table does not know is written as OTHER (7); an empty remark is
// written as length 0 (= null, as Java does). Errors: InvalidArgument when code or version do
// not fit a signed short or a key is longer than 32767 bytes; ResourceExhausted when the header
// would exceed kMaxHeaderBytes.
absl::StatusOr<std::string> EncodeRocketMqHeader(const RemotingCommand& cmd);

// Dispatch on the serialize type.
absl::StatusOr<RemotingCommand> DecodeHeader(SerializeType type, std::string_view header);
absl::StatusOr<std::string> EncodeHeader(const RemotingCommand& cmd, SerializeType type);

}  // namespace brokerd::remoting

#endif  // BROKERD_REMOTING_HEADER_CODEC_H_
