// libFuzzer target: the Java properties parser (brokerd/config/properties.h) over arbitrary
// bytes. Invariants (abort() on violation):
//  * ParseProperties never crashes; it fails only with InvalidArgument naming a line that
//    exists in the text;
//  * keys are distinct, and every entry's and warning's line exists in the text;
//  * SerializeProperties of the entries parses back to the same (key, value) pairs in the same
//    order, one per line, without warnings;
//  * serializing that result again gives the same text (the writer is canonical).
// Thread-safety: single-threaded harness.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "config/properties.h"
#include "fuzz_util.h"

namespace {

namespace bc = brokerd::config;

// 1 + the number of line breaks ("\r\n", "\r", "\n") in text.
int CountLines(std::string_view text) {
  int lines = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' || (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))) ++lines;
  }
  return lines;
}

// The number after the first "line " in msg, or -1.
int LineInMessage(std::string_view msg) {
  const size_t at = msg.find("line ");
  if (at == std::string_view::npos) return -1;
  int n = 0;
  size_t i = at + 5;
  if (i >= msg.size() || msg[i] < '0' || msg[i] > '9') return -1;
  for (; i < msg.size() && msg[i] >= '0' && msg[i] <= '9' && n < 100000000; ++i) {
    n = n * 10 + (msg[i] - '0');
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const int lines = CountLines(text);
  absl::StatusOr<bc::ParsedProperties> parsed = bc::ParseProperties(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    const int line = LineInMessage(std::string(parsed.status().message()));
    FUZZ_CHECK(line >= 1 && line <= lines);
    return 0;
  }
  std::set<std::string> keys;
  for (const bc::Property& p : parsed->entries) {
    FUZZ_CHECK(keys.insert(p.key).second);
    FUZZ_CHECK(p.line >= 1 && p.line <= lines);
  }
  for (const bc::ConfigWarning& w : parsed->warnings) {
    FUZZ_CHECK(w.line >= 1 && w.line <= lines);
  }

  const std::string written = bc::SerializeProperties(parsed->entries);
  absl::StatusOr<bc::ParsedProperties> again = bc::ParseProperties(written);
  if (!again.ok()) {
    FUZZ_FAIL("re-parse failed: %s", std::string(again.status().message()).c_str());
  }
  FUZZ_CHECK(again->warnings.empty());
  FUZZ_CHECK(again->entries.size() == parsed->entries.size());
  for (size_t i = 0; i < again->entries.size(); ++i) {
    const bc::Property& a = parsed->entries[i];
    const bc::Property& b = again->entries[i];
    if (a.key != b.key || a.value != b.value) {
      FUZZ_FAIL("pair %zu changed in the round trip: key '%s' -> '%s', value '%s' -> '%s'", i,
                a.key.c_str(), b.key.c_str(), a.value.c_str(), b.value.c_str());
    }
    FUZZ_CHECK(b.line == static_cast<int>(i) + 1);
  }
  FUZZ_CHECK(bc::SerializeProperties(again->entries) == written);
  return 0;
}
