// Unit tests of the remoting frame codec and the JSON / ROCKETMQ header codecs: the spec's
// example frames byte for byte, partial frames, several frames per buffer, bad lengths and
// serialize types, truncated and malformed headers, JSON leniency (what cpp and ali-ons send)
// and strictness, escaping, unicode, and the encoders' limits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "remoting/codes.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"
#include "remoting/header_codec.h"

namespace brokerd::remoting {
namespace {

using ::testing::HasSubstr;

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (hex[i] == ' ') {
      --i;
      continue;
    }
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

std::string U32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

// A frame around raw header bytes (no validation), for feeding bad headers to DecodeFrame.
std::string RawFrame(uint8_t type, std::string_view header, std::string_view body = {}) {
  return U32(static_cast<uint32_t>(4 + header.size() + body.size())) +
         U32((uint32_t{type} << 24) | static_cast<uint32_t>(header.size())) + std::string(header) +
         std::string(body);
}

RemotingCommand RouteLookup() {
  RemotingCommand cmd;
  cmd.code = request_code::kGetRouteinfoByTopic;
  cmd.language = "JAVA";
  cmd.version = 407;
  cmd.opaque = 1;
  cmd.SetExtField("topic", "TopicTest");
  return cmd;
}

// The decoded frame of a DecodeFrame result (a copy: callers pass temporaries), or an empty
// frame after reporting a failure.
DecodedFrame Frame(const absl::StatusOr<DecodeResult>& r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.status();
    return DecodedFrame();
  }
  const DecodedFrame* f = std::get_if<DecodedFrame>(&*r);
  if (f == nullptr) {
    ADD_FAILURE() << "NeedMoreData(" << std::get<NeedMoreData>(*r).bytes_needed << ")";
    return DecodedFrame();
  }
  return *f;
}

// bytes_needed of a NeedMoreData result, or -1.
int64_t Needed(const absl::StatusOr<DecodeResult>& r) {
  if (!r.ok()) return -1;
  const NeedMoreData* n = std::get_if<NeedMoreData>(&*r);
  return n == nullptr ? -1 : static_cast<int64_t>(n->bytes_needed);
}

// ---- The spec's examples (sections 1.3 and 1.4) ----

TEST(FrameCodecTest, SpecJsonRouteLookupExample) {
  absl::StatusOr<std::string> frame = EncodeFrame(RouteLookup(), SerializeType::kJson);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(Hex(frame->substr(0, 8)), "0000008700000083");
  EXPECT_EQ(frame->substr(8),
            R"({"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA",)"
            R"("opaque":1,"serializeTypeCurrentRPC":"JSON","version":407})");
  const DecodedFrame f = Frame(DecodeFrame(*frame));
  EXPECT_EQ(f.bytes_consumed, frame->size());
  EXPECT_EQ(f.header_length, 131u);
  EXPECT_EQ(f.command.serialize_type, SerializeType::kJson);
  RemotingCommand expected = RouteLookup();
  expected.emit_empty_ext_fields = true;  // the decoder saw an extFields object
  EXPECT_EQ(f.command, expected);
}

TEST(FrameCodecTest, SpecRocketMqRouteLookupExample) {
  absl::StatusOr<std::string> frame = EncodeFrame(RouteLookup(), SerializeType::kRocketMq);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(Hex(*frame),
            "0000002d01000029"
            "0069000197000000010000000000000000000000140005746f706963"
            "00000009546f70696354657374");
  const DecodedFrame f = Frame(DecodeFrame(*frame));
  EXPECT_EQ(f.header_length, 41u);
  RemotingCommand expected = RouteLookup();
  expected.serialize_type = SerializeType::kRocketMq;
  EXPECT_EQ(f.command, expected);
}

// ---- JSON header output ----

TEST(JsonHeaderTest, CanonicalKeyOrderAndOmissions) {
  RemotingCommand cmd;
  cmd.code = 17;
  cmd.flag = 1;
  cmd.opaque = 0;
  cmd.version = 407;
  cmd.remark = "No topic route info";
  EXPECT_EQ(*EncodeJsonHeader(cmd),
            R"({"code":17,"flag":1,"language":"JAVA","opaque":0,"remark":"No topic route info",)"
            R"("serializeTypeCurrentRPC":"JSON","version":407})");
  cmd.remark.reset();
  cmd.emit_empty_ext_fields = true;
  EXPECT_EQ(*EncodeJsonHeader(cmd),
            R"({"code":17,"extFields":{},"flag":1,"language":"JAVA","opaque":0,)"
            R"("serializeTypeCurrentRPC":"JSON","version":407})");
  cmd.remark = "";  // an empty remark is written (Java writes "" when the remark is "")
  cmd.emit_empty_ext_fields = false;
  cmd.SetExtField("queueId", "0");
  cmd.SetExtField("TRACE_ON", "true");  // ext keys keep insertion order, not alphabetical
  cmd.SetExtField("MSG_REGION", "DefaultRegion");
  cmd.code = -1;
  cmd.opaque = INT32_MIN;
  EXPECT_EQ(*EncodeJsonHeader(cmd),
            R"({"code":-1,"extFields":{"queueId":"0","TRACE_ON":"true",)"
            R"("MSG_REGION":"DefaultRegion"},"flag":1,"language":"JAVA","opaque":-2147483648,)"
            R"("remark":"","serializeTypeCurrentRPC":"JSON","version":407})");
}

TEST(JsonHeaderTest, EscapesLikeFastjson) {
  RemotingCommand cmd;
  cmd.SetExtField("i", "TAGS\x01TagA\x02KEYS\x01k0\x02");
  cmd.remark = std::string("q\"b\\s/\n\t\r\b\f\x1f\x7f", 13) + std::string(1, '\0');
  std::string json = *EncodeJsonHeader(cmd);
  EXPECT_THAT(json, HasSubstr(R"("i":"TAGS\u0001TagA\u0002KEYS\u0001k0\u0002")"));
  // '/' and DEL are not escaped; control characters use \u00XX with upper-case hex.
  EXPECT_THAT(json, HasSubstr(R"("remark":"q\"b\\s/\n\t\r\b\f\u001F)"
                              "\x7f"
                              R"(\u0000")"));
  absl::StatusOr<RemotingCommand> back = DecodeJsonHeader(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->remark, cmd.remark);
  EXPECT_EQ(back->ext_fields, cmd.ext_fields);
}

TEST(JsonHeaderTest, UnicodeRemarkIsRawUtf8AndRoundTrips) {
  RemotingCommand cmd;
  cmd.remark = "发送失败: Grüße 🚀";
  cmd.SetExtField("键", "值 ✓");
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
    SCOPED_TRACE(SerializeTypeName(type));
    absl::StatusOr<std::string> frame = EncodeFrame(cmd, type);
    ASSERT_TRUE(frame.ok());
    EXPECT_THAT(*frame, HasSubstr("发送失败: Grüße 🚀"));  // no \u escapes for non-ASCII
    const DecodedFrame f = Frame(DecodeFrame(*frame));
    EXPECT_EQ(f.command.remark, cmd.remark);
    EXPECT_EQ(*f.command.GetString("键"), "值 ✓");
  }
  // \u escapes (with a surrogate pair) decode to UTF-8.
  absl::StatusOr<RemotingCommand> d =
      DecodeJsonHeader(R"({"code":1,"remark":"Gr\u00fc\u00DFe \ud83d\ude80 \u53d1"})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->remark, "Grüße 🚀 发");
}

// ---- JSON header input ----

TEST(JsonHeaderTest, AcceptsWhatCppAndAliOnsSend) {
  // cpp (jsoncpp): trailing newline, remark "", numbers for int fields, no
  // serializeTypeCurrentRPC.
  absl::StatusOr<RemotingCommand> cpp = DecodeJsonHeader(
      "{\"code\":14,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"ALIYUN\",\"queueId\":0,"
      "\"topic\":\"t\"},\"flag\":0,\"language\":\"CPP\",\"opaque\":18,\"remark\":\"\","
      "\"version\":333}\n");
  ASSERT_TRUE(cpp.ok()) << cpp.status();
  EXPECT_EQ(cpp->code, 14);
  EXPECT_EQ(cpp->language, "CPP");
  EXPECT_EQ(cpp->version, 333);
  EXPECT_EQ(cpp->opaque, 18);
  EXPECT_EQ(cpp->remark, "");
  EXPECT_EQ(*cpp->GetInt32("queueId"), 0);
  EXPECT_EQ(*cpp->GetString("AccessKey"), "");
  // ali-ons: its own key order, JS types, extFields {} on requests without fields.
  absl::StatusOr<RemotingCommand> ons = DecodeJsonHeader(
      R"({"code":17,"language":"JAVA","opaque":2,"flag":0,"version":121,"extFields":)"
      R"({"topic":"t","readQueueNums":4,"perm":6,"order":false}})");
  ASSERT_TRUE(ons.ok()) << ons.status();
  EXPECT_EQ(ons->code, 17);
  EXPECT_EQ(ons->version, 121);
  EXPECT_FALSE(ons->remark.has_value());
  EXPECT_EQ(*ons->GetInt32("readQueueNums"), 4);
  EXPECT_EQ(*ons->GetBool("order"), false);
  absl::StatusOr<RemotingCommand> empty =
      DecodeJsonHeader(R"({"code":106,"language":"JAVA","opaque":1,"flag":0,"version":121,)"
                       R"("extFields":{}})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->ext_fields.empty());
  EXPECT_TRUE(empty->emit_empty_ext_fields);
  // Re-encoded, every ext value is a JSON string.
  EXPECT_THAT(*EncodeJsonHeader(*ons),
              HasSubstr(R"("extFields":{"topic":"t","readQueueNums":"4","perm":"6",)"
                        R"("order":"false"})"));
}

TEST(JsonHeaderTest, LenientInputs) {
  // Numeric strings for int fields (fastjson accepts them), null = absent = 0 / defaults,
  // unknown keys with nested values ignored, whitespace between tokens.
  absl::StatusOr<RemotingCommand> d = DecodeJsonHeader(
      " {\"code\" : \"105\", \"flag\":null, \"opaque\":-7, \"language\":null, \"remark\":null,"
      " \"unknown\":{\"a\":[1,2,{\"b\":null}],\"c\":true}, \"version\":\"407\","
      " \"serializeTypeCurrentRPC\":\"ROCKETMQ\", \"extFields\":null } \r\n\t");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->code, 105);
  EXPECT_EQ(d->flag, 0);
  EXPECT_EQ(d->opaque, -7);
  EXPECT_EQ(d->language, "JAVA");
  EXPECT_FALSE(d->remark.has_value());
  EXPECT_EQ(d->version, 407);
  EXPECT_EQ(d->serialize_type, SerializeType::kJson);  // serializeTypeCurrentRPC is ignored
  EXPECT_TRUE(d->ext_fields.empty());
  EXPECT_FALSE(d->emit_empty_ext_fields);
  // An empty object is a valid header: all defaults.
  absl::StatusOr<RemotingCommand> e = DecodeJsonHeader("{}");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, RemotingCommand());
}

TEST(JsonHeaderTest, RepeatedKeysLastWins) {
  absl::StatusOr<RemotingCommand> d = DecodeJsonHeader(
      R"({"code":1,"code":2,"extFields":{"a":"1","b":"2","a":"3","c":"4","c":null},)"
      R"("remark":"x","remark":null})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->code, 2);
  EXPECT_FALSE(d->remark.has_value());
  EXPECT_EQ(d->ext_fields, (ExtFields{{"a", "3"}, {"b", "2"}}));
  absl::StatusOr<RemotingCommand> twice =
      DecodeJsonHeader(R"({"extFields":{"a":"1"},"extFields":{"b":"2"}})");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->ext_fields, (ExtFields{{"b", "2"}}));
}

TEST(JsonHeaderTest, NumbersKeepTheirExactText) {
  absl::StatusOr<RemotingCommand> d = DecodeJsonHeader(
      R"({"extFields":{"big":18446744073709551616,"neg":-0,"frac":1.50,"exp":1E+3}})");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d->GetString("big"), "18446744073709551616");
  EXPECT_EQ(*d->GetString("neg"), "-0");
  EXPECT_EQ(*d->GetString("frac"), "1.50");
  EXPECT_EQ(*d->GetString("exp"), "1E+3");
  EXPECT_FALSE(d->GetInt64("big").ok());
  EXPECT_EQ(*d->GetInt32("neg"), 0);
}

TEST(JsonHeaderTest, RejectsMalformedHeaders) {
  struct Case {
    std::string json;
    std::string message;  // expected substring of the error
  };
  const std::vector<Case> cases = {
      {"", "malformed JSON header"},
      {"   ", "malformed JSON header"},
      {"{", "malformed JSON header"},
      {"{\"code\":1", "malformed JSON header"},
      {"{\"code\":1,}", "malformed JSON header"},
      {"{code:1}", "malformed JSON header"},
      {"{\"code\":01}", "malformed JSON header"},
      {"{} x", "malformed JSON header"},
      {"{}{}", "malformed JSON header"},
      {std::string("{}\0 ", 4), "NUL byte"},
      {std::string("{\"remark\":\"a\0b\"}", 16), "malformed JSON header"},
      {"{\"remark\":\"a\x01"
       "b\"}",
       "malformed JSON header"},                              // raw control character
      {"{\"remark\":\"\\ud800\"}", "malformed JSON header"},  // lone high surrogate
      {"{\"remark\":\"\\x\"}", "malformed JSON header"},
      {"{\"code\":NaN}", "malformed JSON header"},
      {"{\"code\":1e999}", "malformed JSON header"},
      {"[]", "array, not an object"},
      {"\"x\"", "not an object"},
      {"5", "not an object"},
      {"null", "not an object"},
      {"{\"code\":\"abc\"}", "'code' value abc is not an int32"},
      {"{\"code\":1.5}", "'code' value 1.5 is not an int32"},
      {"{\"code\":1e2}", "is not an int32"},
      {"{\"opaque\":2147483648}", "'opaque' value 2147483648 is not an int32"},
      {"{\"flag\":\" 1\"}", "'flag'"},
      {"{\"version\":\"\"}", "'version'"},
      {"{\"code\":true}", "'code' is a boolean"},
      {"{\"code\":{}}", "'code' is an object"},
      {"{\"code\":[1]}", "'code' is an array"},
      {"{\"language\":false}", "'language' is a boolean"},
      {"{\"remark\":{\"a\":1}}", "'remark' is an object"},
      {"{\"extFields\":[]}", "'extFields' is an array"},
      {"{\"extFields\":\"a=b\"}", "'extFields' is a string"},
      {"{\"extFields\":{\"a\":{}}}", "value for key 'a' is an object"},
      {"{\"extFields\":{\"a\":[\"x\"]}}", "value for key 'a' is an array"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    absl::StatusOr<RemotingCommand> d = DecodeJsonHeader(c.json);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(d.status().message(), HasSubstr(c.message));
    // The same header inside a frame fails the same way.
    absl::StatusOr<DecodeResult> f = DecodeFrame(RawFrame(0, c.json));
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(JsonHeaderTest, NestingIsBounded) {
  std::string ok = "{\"x\":";
  std::string deep = "{\"x\":";
  for (int i = 0; i < kMaxJsonHeaderDepth - 2; ++i) ok += "[";
  for (int i = 0; i < kMaxJsonHeaderDepth - 2; ++i) ok += "]";
  ok += "}";
  EXPECT_TRUE(DecodeJsonHeader(ok).ok()) << DecodeJsonHeader(ok).status();
  for (int i = 0; i < 100000; ++i) deep += "[";
  absl::StatusOr<RemotingCommand> d = DecodeJsonHeader(deep);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("nested deeper than"));
}

// ---- ROCKETMQ binary header ----

TEST(RocketMqHeaderTest, FieldsAndSignExtension) {
  RemotingCommand cmd;
  cmd.code = -2;
  cmd.language = "GO";
  cmd.version = -1;
  cmd.opaque = INT32_MIN;
  cmd.flag = 3;
  cmd.remark = "err";
  cmd.SetExtField("", "");  // empty key and value survive (as "")
  cmd.SetExtField("k", std::string("v\0w", 3));
  absl::StatusOr<std::string> h = EncodeRocketMqHeader(cmd);
  ASSERT_TRUE(h.ok()) << h.status();
  // code fffe, GO 09, version ffff, opaque 80000000, flag 3, remark "err", extLen 16:
  // ("" -> "") then ("k" -> "v\0w").
  EXPECT_EQ(Hex(*h),
            "fffe09ffff800000000000000300000003657272"
            "00000010"
            "0000"
            "00000000"
            "00016b"
            "00000003760077");
  absl::StatusOr<RemotingCommand> d = DecodeRocketMqHeader(*h);
  ASSERT_TRUE(d.ok()) << d.status();
  cmd.serialize_type = SerializeType::kRocketMq;
  EXPECT_EQ(*d, cmd);
}

TEST(RocketMqHeaderTest, LanguageMapping) {
  RemotingCommand cmd;
  cmd.language = "SWIFT";  // unknown name -> OTHER (7)
  std::string h = *EncodeRocketMqHeader(cmd);
  EXPECT_EQ(static_cast<uint8_t>(h[2]), 7);
  h[2] = static_cast<char>(200);  // unknown byte -> "OTHER"
  EXPECT_EQ(DecodeRocketMqHeader(h)->language, "OTHER");
  h[2] = 13;
  EXPECT_EQ(DecodeRocketMqHeader(h)->language, "NODE_JS");
}

TEST(RocketMqHeaderTest, EmptyRemarkIsNull) {
  RemotingCommand cmd;
  cmd.remark = "";
  absl::StatusOr<RemotingCommand> d = DecodeRocketMqHeader(*EncodeRocketMqHeader(cmd));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->remark.has_value());
}

TEST(RocketMqHeaderTest, RepeatedKeyLastWins) {
  // ext: "a"="1", "b"="2", "a"="3"
  std::string ext = Unhex("0001 61 00000001 31 0001 62 00000001 32 0001 61 00000001 33");
  std::string h = std::string(13, '\0') + U32(0) + U32(static_cast<uint32_t>(ext.size())) + ext;
  absl::StatusOr<RemotingCommand> d = DecodeRocketMqHeader(h);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->ext_fields, (ExtFields{{"a", "3"}, {"b", "2"}}));
}

TEST(RocketMqHeaderTest, EveryTruncationIsAnError) {
  RemotingCommand cmd = RouteLookup();
  cmd.remark = "remark";
  cmd.SetExtField("queueId", "3");
  const std::string h = *EncodeRocketMqHeader(cmd);
  for (size_t n = 0; n < h.size(); ++n) {
    SCOPED_TRACE(n);
    absl::StatusOr<RemotingCommand> d = DecodeRocketMqHeader(h.substr(0, n));
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    // Inside a frame whose lengths agree with the truncated header: same error.
    absl::StatusOr<DecodeResult> f = DecodeFrame(RawFrame(1, h.substr(0, n)));
    ASSERT_FALSE(f.ok());
  }
  EXPECT_TRUE(DecodeRocketMqHeader(h).ok());
}

TEST(RocketMqHeaderTest, RejectsBadLengths) {
  const std::string fixed = std::string(13, '\0');
  struct Case {
    std::string header;
    std::string message;
  };
  const std::vector<Case> cases = {
      {fixed + U32(0xFFFFFFFF) + U32(0), "negative remark length"},
      {fixed + U32(5) + "abc", "truncated ROCKETMQ header: remark"},
      {fixed + U32(0), "extFields length"},
      {fixed + U32(0) + U32(0x80000000), "negative extFields length"},
      {fixed + U32(0) + U32(10) + "abc", "truncated ROCKETMQ header: extFields"},
      {fixed + U32(0) + U32(1) + "a", "extFields key length"},
      {fixed + U32(0) + U32(6) + Unhex("8000 00000000"), "negative extFields key length"},
      {fixed + U32(0) + U32(7) + Unhex("0001 61 ffffffff"), "negative extFields value length"},
      {fixed + U32(0) + U32(7) + Unhex("0001 61 00000001"), "extFields value"},
      {fixed + U32(0) + U32(5) + Unhex("0002 61 00 00"), "key and value length"},
      // The entry runs past extLen although the header has the bytes.
      {fixed + U32(0) + U32(7) + Unhex("0001 61 00000001 31"), "extFields value"},
      {fixed + U32(0) + U32(0) + "x", "1 unexpected bytes after the extFields"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Hex(c.header));
    absl::StatusOr<RemotingCommand> d = DecodeRocketMqHeader(c.header);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(d.status().message(), HasSubstr(c.message));
  }
}

TEST(RocketMqHeaderTest, EncoderRejectsUnrepresentableValues) {
  RemotingCommand cmd;
  cmd.code = 40000;
  EXPECT_EQ(EncodeRocketMqHeader(cmd).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(EncodeRocketMqHeader(cmd).status().message(), HasSubstr("code 40000"));
  EXPECT_TRUE(EncodeJsonHeader(cmd).ok());  // JSON has no such limit
  cmd.code = -32768;
  EXPECT_TRUE(EncodeRocketMqHeader(cmd).ok());
  cmd.version = 70000;
  EXPECT_THAT(EncodeRocketMqHeader(cmd).status().message(), HasSubstr("version 70000"));
  cmd.version = 0;
  cmd.SetExtField(std::string(32768, 'k'), "v");
  EXPECT_THAT(EncodeRocketMqHeader(cmd).status().message(), HasSubstr("key of 32768 bytes"));
  cmd.ext_fields.Clear();
  cmd.SetExtField(std::string(32767, 'k'), "v");
  EXPECT_TRUE(EncodeRocketMqHeader(cmd).ok());
  // Unknown serialize type.
  EXPECT_FALSE(EncodeFrame(cmd, static_cast<SerializeType>(2)).ok());
}

// ---- Frames ----

TEST(FrameCodecTest, EveryPrefixNeedsMoreData) {
  RemotingCommand cmd = RouteLookup();
  cmd.body = std::string(300, 'b');
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
    const std::string frame = *EncodeFrame(cmd, type);
    for (size_t n = 0; n < frame.size(); ++n) {
      const int64_t needed = Needed(DecodeFrame(std::string_view(frame).substr(0, n)));
      ASSERT_EQ(needed, static_cast<int64_t>(n < 4 ? 4 - n : frame.size() - n)) << n;
    }
    const DecodedFrame f = Frame(DecodeFrame(frame));
    EXPECT_EQ(f.bytes_consumed, frame.size());
    EXPECT_EQ(f.command.body, cmd.body);
  }
}

TEST(FrameCodecTest, SeveralFramesInOneBuffer) {
  std::string buffer;
  std::vector<RemotingCommand> sent;
  for (int i = 0; i < 6; ++i) {
    RemotingCommand cmd = RouteLookup();
    cmd.opaque = i;
    cmd.body = std::string(static_cast<size_t>(i * 7), static_cast<char>('a' + i));
    cmd.serialize_type = i % 2 == 0 ? SerializeType::kJson : SerializeType::kRocketMq;
    cmd.emit_empty_ext_fields = cmd.serialize_type == SerializeType::kJson;
    if (i == 3) cmd.remark = "three";
    sent.push_back(cmd);
    buffer += *EncodeFrame(cmd);
  }
  buffer += std::string("\0\0\0", 3);  // the start of a seventh frame
  std::string_view rest = buffer;
  for (const RemotingCommand& expected : sent) {
    const DecodedFrame f = Frame(DecodeFrame(rest));
    EXPECT_EQ(f.command, expected);
    rest.remove_prefix(f.bytes_consumed);
  }
  EXPECT_EQ(Needed(DecodeFrame(rest)), 1);
}

TEST(FrameCodecTest, ArbitraryChunkingDecodesTheSameCommands) {
  std::string stream;
  std::vector<RemotingCommand> sent;
  for (int i = 0; i < 20; ++i) {
    RemotingCommand cmd = RouteLookup();
    cmd.opaque = 1000 + i;
    cmd.body = std::string(static_cast<size_t>(i * 13 % 50), 'x');
    cmd.serialize_type = i % 3 == 0 ? SerializeType::kRocketMq : SerializeType::kJson;
    cmd.emit_empty_ext_fields = cmd.serialize_type == SerializeType::kJson;
    sent.push_back(cmd);
    stream += *EncodeFrame(cmd);
  }
  std::mt19937 rng(7);
  std::string pending;
  std::vector<RemotingCommand> got;
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t chunk = std::min<size_t>(stream.size() - pos, 1 + rng() % 40);
    pending.append(stream, pos, chunk);
    pos += chunk;
    for (;;) {
      absl::StatusOr<DecodeResult> r = DecodeFrame(pending);
      ASSERT_TRUE(r.ok()) << r.status();
      const DecodedFrame* f = std::get_if<DecodedFrame>(&*r);
      if (f == nullptr) break;
      got.push_back(f->command);
      pending.erase(0, f->bytes_consumed);
    }
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(got, sent);
}

TEST(FrameCodecTest, LengthFieldLimits) {
  // Below the minimum, negative, garbage: rejected as soon as the 4 length bytes are there.
  for (uint32_t length : {0u, 1u, 3u, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFCu}) {
    SCOPED_TRACE(length);
    absl::StatusOr<DecodeResult> r = DecodeFrame(U32(length));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("below the minimum"));
  }
  // Above 16 MiB (counting the length field, like Java): rejected without waiting for the body.
  const uint32_t max_length = static_cast<uint32_t>(kDefaultMaxFrameBytes - 4);
  EXPECT_EQ(Needed(DecodeFrame(U32(max_length) + U32(2))), static_cast<int64_t>(max_length - 4));
  for (uint32_t length : {max_length + 1, 0x7FFFFFFFu, 0x10000000u}) {
    absl::StatusOr<DecodeResult> r = DecodeFrame(U32(length));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(r.status().message(), HasSubstr("exceeds the maximum"));
  }
  // A smaller configured limit.
  CodecLimits small;
  small.max_frame_bytes = 64;
  RemotingCommand cmd = RouteLookup();
  cmd.body = std::string(100, 'x');
  const std::string frame = *EncodeFrame(cmd, SerializeType::kRocketMq);
  EXPECT_EQ(DecodeFrame(frame, small).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeFrame(frame.substr(0, 4), small).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(EncodeFrame(cmd, SerializeType::kRocketMq, small).status().code(),
            absl::StatusCode::kResourceExhausted);
  small.max_frame_bytes = frame.size();
  EXPECT_TRUE(EncodeFrame(cmd, SerializeType::kRocketMq, small).ok());
  EXPECT_EQ(Frame(DecodeFrame(frame, small)).bytes_consumed, frame.size());
}

TEST(FrameCodecTest, BadSerializeTypeAndHeaderLength) {
  for (uint32_t type : {2u, 0x7Fu, 0x80u, 0xFFu}) {
    SCOPED_TRACE(type);
    // Only the 8-byte prefix: rejected before the rest arrives.
    absl::StatusOr<DecodeResult> r = DecodeFrame(U32(100) + U32((type << 24) | 10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("unknown serialize type"));
  }
  // Header length larger than the frame.
  absl::StatusOr<DecodeResult> r = DecodeFrame(U32(20) + U32(17));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("header length 17 exceeds"));
  EXPECT_EQ(Needed(DecodeFrame(U32(20) + U32(16))), 16);  // exactly fits: wait for it
  // Header length 0: an empty header is malformed in both types.
  EXPECT_FALSE(DecodeFrame(U32(4) + U32(0)).ok());
  EXPECT_FALSE(DecodeFrame(U32(4) + U32(0x01000000)).ok());
}

TEST(FrameCodecTest, BodyBytesAreOpaque) {
  RemotingCommand cmd = MakeResponse(RouteLookup(), response_code::kSuccess);
  cmd.body = std::string("\0\xff\x01{\"code\":1}", 14);
  for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
    cmd.serialize_type = type;
    const std::string frame = *EncodeFrame(cmd);
    EXPECT_EQ(static_cast<uint8_t>(frame[4]), static_cast<uint8_t>(type));
    const DecodedFrame f = Frame(DecodeFrame(frame));
    EXPECT_EQ(f.command.body, cmd.body);
    EXPECT_EQ(f.command, cmd);
    EXPECT_EQ(f.header_length + cmd.body.size() + 8, frame.size());
  }
}

TEST(FrameCodecTest, ResponseAnswersInTheRequestsType) {
  RemotingCommand req = RouteLookup();
  req.serialize_type = SerializeType::kRocketMq;
  const std::string frame = *EncodeFrame(MakeResponse(req, response_code::kTopicNotExist, "no"));
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), 1);
  const DecodedFrame f = Frame(DecodeFrame(frame));
  EXPECT_EQ(f.command.opaque, 1);
  EXPECT_EQ(f.command.flag, 1);
  EXPECT_EQ(f.command.code, 17);
  EXPECT_EQ(f.command.remark, "no");
}

}  // namespace
}  // namespace brokerd::remoting
