// fastjson-tolerant JSON parsing (see fastjson.h).
#include "remoting/fastjson.h"

#include <string>

namespace brokerd::remoting {

namespace {

// Quotes object keys that are bare (optionally negative) integers, outside strings.
std::string QuoteBareIntegerKeys(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 16);
  bool in_string = false;
  bool expect_key = false;  // after '{' or ',' inside an object
  std::string containers;   // '{' / '[' stack
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < in.size()) {
        out.push_back(in[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      expect_key = false;
      out.push_back(c);
      continue;
    }
    if (c == '{' || c == '[') {
      containers.push_back(c);
      expect_key = c == '{';
      out.push_back(c);
      continue;
    }
    if (c == '}' || c == ']') {
      if (!containers.empty()) containers.pop_back();
      expect_key = false;
      out.push_back(c);
      continue;
    }
    if (c == ',') {
      expect_key = !containers.empty() && containers.back() == '{';
      out.push_back(c);
      continue;
    }
    if (expect_key && (c == '-' || (c >= '0' && c <= '9'))) {
      size_t j = i + 1;
      while (j < in.size() && in[j] >= '0' && in[j] <= '9') ++j;
      size_t k = j;
      while (k < in.size() && (in[k] == ' ' || in[k] == '\t' || in[k] == '\r' || in[k] == '\n')) {
        ++k;
      }
      if (k < in.size() && in[k] == ':') {
        out.push_back('"');
        out.append(in.substr(i, j - i));
        out.push_back('"');
        i = j - 1;
        expect_key = false;
        continue;
      }
    }
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') expect_key = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseFastjson(std::string_view text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(QuoteBareIntegerKeys(text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(what + " is not a JSON object");
  }
  return j;
}

}  // namespace brokerd::remoting
