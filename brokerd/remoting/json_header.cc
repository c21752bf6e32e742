// JSON header codec (serialize type 0), on rapidjson: a SAX handler that fills a
// RemotingCommand while the text is parsed (no DOM), and rapidjson's Writer for string escaping.
// Thread-safety: pure functions.
//
// Parse flags: kParseInsituFlag (the parser decodes strings inside a private copy of the header)
// and kParseNumbersAsStringsFlag (every number reaches the handler as its exact JSON text: an
// ext-field number such as 1795592538492 or 18446744073709551616 is kept digit for digit
// instead of passing through a double). Everything else is the default (strict JSON: no
// comments, no NaN, no trailing commas; trailing whitespace allowed). Recursion is bounded: the
// handler stops the parse beyond kMaxJsonHeaderDepth nested containers. rapidjson is only called
// with well-typed arguments, so bad input cannot reach a RAPIDJSON_ASSERT.
//
// Why in-situ, and why no StringBuffer / whole-document Writer: rapidjson 1.1.0's internal::Stack
// computes `nullptr + n` on its first push (undefined behaviour that UBSan reports); the
// non-in-situ reader, StringBuffer and Writer's nesting stack all start on such a stack. In-situ
// parsing with the recursive parser and writing each string as a root-level value into our own
// output stream never touch it.
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stream.h"
#include "rapidjson/writer.h"
#include "remoting/header_codec.h"

namespace brokerd::remoting {
namespace {

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A JSON scalar as the handler sees it.
enum class ScalarKind { kNull, kBool, kNumber, kString };

// rapidjson SAX handler filling a RemotingCommand. Every callback returns false to stop the
// parse with the reason in error().
class HeaderHandler {
 public:
  explicit HeaderHandler(RemotingCommand* cmd) : cmd_(cmd) {}

  const std::string& error() const { return error_; }

  bool Null() { return Scalar(ScalarKind::kNull, {}); }
  bool Bool(bool b) { return Scalar(ScalarKind::kBool, b ? "true" : "false"); }
  // Numbers arrive through RawNumber (kParseNumbersAsStringsFlag); these are never called.
  bool Int(int) { return Unexpected(); }
  bool Uint(unsigned) { return Unexpected(); }
  bool Int64(int64_t) { return Unexpected(); }
  bool Uint64(uint64_t) { return Unexpected(); }
  bool Double(double) { return Unexpected(); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    return Scalar(ScalarKind::kNumber, std::string_view(s, n));
  }
  bool String(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    return Scalar(ScalarKind::kString, std::string_view(s, n));
  }

  bool Key(const char* s, rapidjson::SizeType n, bool /*copy*/) {
    const std::string_view key(s, n);
    if (depth_ == 1) {
      field_ = FieldOf(key);
      field_name_.assign(key);
    } else if (depth_ == 2 && in_ext_) {
      ext_key_.assign(key);
    }
    return true;
  }

  bool StartObject() { return StartContainer(/*is_object=*/true); }
  bool StartArray() { return StartContainer(/*is_object=*/false); }
  bool EndObject(rapidjson::SizeType) { return EndContainer(); }
  bool EndArray(rapidjson::SizeType) { return EndContainer(); }

 private:
  enum class Field { kCode, kLanguage, kVersion, kOpaque, kFlag, kRemark, kExtFields, kIgnored };

  static Field FieldOf(std::string_view key) {
    if (key == "code") return Field::kCode;
    if (key == "language") return Field::kLanguage;
    if (key == "version") return Field::kVersion;
    if (key == "opaque") return Field::kOpaque;
    if (key == "flag") return Field::kFlag;
    if (key == "remark") return Field::kRemark;
    if (key == "extFields") return Field::kExtFields;
    return Field::kIgnored;  // serializeTypeCurrentRPC and anything unknown
  }

  static std::string_view KindName(ScalarKind kind) {
    switch (kind) {
      case ScalarKind::kNull:
        return "null";
      case ScalarKind::kBool:
        return "a boolean";
      case ScalarKind::kNumber:
        return "a number";
      case ScalarKind::kString:
        return "a string";
    }
    return "?";
  }

  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  bool Unexpected() { return Fail("internal error: unexpected numeric SAX event"); }

  bool StartContainer(bool is_object) {
    const std::string_view what = is_object ? "an object" : "an array";
    if (depth_ == 0) {
      if (!is_object) return Fail("JSON header is an array, not an object");
      depth_ = 1;
      return true;
    }
    if (depth_ >= kMaxJsonHeaderDepth) {
      return Fail(absl::StrCat("JSON header nested deeper than ", kMaxJsonHeaderDepth, " levels"));
    }
    if (depth_ == 1) {
      if (field_ == Field::kExtFields && is_object) {
        // A repeated extFields key: the last object wins.
        cmd_->ext_fields.Clear();
        cmd_->emit_empty_ext_fields = true;
        in_ext_ = true;
      } else if (field_ != Field::kIgnored) {
        return Fail(absl::StrCat("header field '", field_name_, "' is ", AbslView(what)));
      }
    } else if (depth_ == 2 && in_ext_) {
      return Fail(absl::StrCat("extFields value for key '", ext_key_, "' is ", AbslView(what),
                               "; expected a string, number or boolean"));
    }
    ++depth_;
    return true;
  }

  bool EndContainer() {
    --depth_;
    if (depth_ == 1) in_ext_ = false;
    return true;
  }

  bool Scalar(ScalarKind kind, std::string_view text) {
    if (depth_ == 0) {
      return Fail(absl::StrCat("JSON header is ", AbslView(KindName(kind)), ", not an object"));
    }
    if (depth_ == 2 && in_ext_) {
      if (kind == ScalarKind::kNull) {
        cmd_->ext_fields.Erase(ext_key_);  // null = absent
      } else {
        cmd_->ext_fields.Set(ext_key_, std::string(text));
      }
      return true;
    }
    if (depth_ != 1) return true;  // inside an ignored value
    switch (field_) {
      case Field::kCode:
        return SetInt(kind, text, &cmd_->code);
      case Field::kVersion:
        return SetInt(kind, text, &cmd_->version);
      case Field::kOpaque:
        return SetInt(kind, text, &cmd_->opaque);
      case Field::kFlag:
        return SetInt(kind, text, &cmd_->flag);
      case Field::kLanguage:
        if (kind == ScalarKind::kBool) return WrongType(kind, "a string");
        cmd_->language = kind == ScalarKind::kNull ? "JAVA" : std::string(text);
        return true;
      case Field::kRemark:
        if (kind == ScalarKind::kBool) return WrongType(kind, "a string");
        if (kind == ScalarKind::kNull) {
          cmd_->remark.reset();
        } else {
          cmd_->remark = std::string(text);
        }
        return true;
      case Field::kExtFields:
        if (kind != ScalarKind::kNull) return WrongType(kind, "an object");
        cmd_->ext_fields.Clear();
        cmd_->emit_empty_ext_fields = false;
        return true;
      case Field::kIgnored:
        return true;
    }
    return true;
  }

  bool WrongType(ScalarKind kind, std::string_view expected) {
    return Fail(absl::StrCat("header field '", field_name_, "' is ", AbslView(KindName(kind)),
                             "; expected ", AbslView(expected)));
  }

  // An int32 given as a JSON number or a string holding one (fastjson accepts both).
  bool SetInt(ScalarKind kind, std::string_view text, int32_t* out) {
    if (kind == ScalarKind::kNull) {
      *out = 0;
      return true;
    }
    if (kind == ScalarKind::kBool) return WrongType(kind, "an integer");
    int32_t value = 0;
    const char* end = text.data() + text.size();
    const std::from_chars_result r = std::from_chars(text.data(), end, value, 10);
    if (text.empty() || r.ec != std::errc() || r.ptr != end) {
      return Fail(absl::StrCat("header field '", field_name_, "' value ", AbslView(text),
                               " is not an int32"));
    }
    *out = value;
    return true;
  }

  RemotingCommand* cmd_;
  int depth_ = 0;  // open containers; the header object is depth 1
  Field field_ = Field::kIgnored;
  std::string field_name_;  // current top-level key
  bool in_ext_ = false;     // inside the extFields object (depth 2)
  std::string ext_key_;     // current key inside extFields
  std::string error_;
};

constexpr unsigned kParseFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag;

// rapidjson output stream appending to a std::string.
class StringOutput {
 public:
  using Ch = char;
  explicit StringOutput(std::string* out) : out_(out) {}
  void Put(char c) { out_->push_back(c); }
  void Flush() {}

 private:
  std::string* out_;
};

// Appends s as a JSON string literal (quotes included), escaped by rapidjson's Writer: '"', '\\'
// and control characters (\b \t \n \f \r, others \u00XX in upper-case hex); other bytes,
// non-ASCII UTF-8 included, are copied as they are.
void AppendJsonString(std::string* out, std::string_view s) {
  StringOutput stream(out);
  rapidjson::Writer<StringOutput> writer(stream);
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void AppendKey(std::string* out, std::string_view key) {
  out->push_back('"');
  out->append(key);  // our own key names: nothing to escape
  out->append("\":");
}

}  // namespace

absl::StatusOr<RemotingCommand> DecodeJsonHeader(std::string_view header) {
  RemotingCommand cmd;
  cmd.serialize_type = SerializeType::kJson;
  HeaderHandler handler(&cmd);
  // The in-situ parser rewrites strings in place and stops at a NUL: parse a NUL-terminated copy.
  std::string text(header);
  rapidjson::InsituStringStream stream(text.data());
  rapidjson::Reader reader;
  const rapidjson::ParseResult result = reader.Parse<kParseFlags>(stream, handler);
  if (result.IsError()) {
    if (!handler.error().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad JSON header: ", handler.error(), " (at byte ", result.Offset(), ")"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON header: ", rapidjson::GetParseError_En(result.Code()),
                     " (at byte ", result.Offset(), " of ", header.size(), ")"));
  }
  // The parser took a NUL byte for the end of the input; anything after it is not JSON.
  if (stream.Tell() != header.size()) {
    return absl::InvalidArgumentError(absl::StrCat("malformed JSON header: NUL byte at offset ",
                                                   stream.Tell(), " of ", header.size()));
  }
  return cmd;
}

absl::StatusOr<std::string> EncodeJsonHeader(const RemotingCommand& cmd) {
  // Strings longer than a header can be are refused before rapidjson (32-bit sizes) sees them.
  size_t text_bytes = cmd.language.size() + (cmd.remark ? cmd.remark->size() : 0);
  for (const auto& [k, v] : cmd.ext_fields) text_bytes += k.size() + v.size();
  if (text_bytes > kMaxHeaderBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("JSON header strings total ", text_bytes,
                                                     " bytes; a header holds at most ",
                                                     kMaxHeaderBytes));
  }
  std::string out;
  out.reserve(128 + text_bytes + 16 * cmd.ext_fields.size());
  out.push_back('{');
  AppendKey(&out, "code");
  absl::StrAppend(&out, cmd.code);
  if (!cmd.ext_fields.empty() || cmd.emit_empty_ext_fields) {
    out.push_back(',');
    AppendKey(&out, "extFields");
    out.push_back('{');
    bool first = true;
    for (const auto& [k, v] : cmd.ext_fields) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(&out, k);
      out.push_back(':');
      AppendJsonString(&out, v);
    }
    out.push_back('}');
  }
  out.push_back(',');
  AppendKey(&out, "flag");
  absl::StrAppend(&out, cmd.flag);
  out.push_back(',');
  AppendKey(&out, "language");
  AppendJsonString(&out, cmd.language);
  out.push_back(',');
  AppendKey(&out, "opaque");
  absl::StrAppend(&out, cmd.opaque);
  if (cmd.remark.has_value()) {
    out.push_back(',');
    AppendKey(&out, "remark");
    AppendJsonString(&out, *cmd.remark);
  }
  out.push_back(',');
  AppendKey(&out, "serializeTypeCurrentRPC");
  out.append("\"JSON\",");
  AppendKey(&out, "version");
  absl::StrAppend(&out, cmd.version);
  out.push_back('}');

  if (out.size() > kMaxHeaderBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("JSON header of ", out.size(),
                                                     " bytes exceeds the 24-bit header length (",
                                                     kMaxHeaderBytes, ")"));
  }
  return out;
}

}  // namespace brokerd::remoting
