// The command-line side of rs_admin (tools/admin.cc): mqadmin-style option parsing for one verb
// ("-t T", "-tT", "--topic T", "--topic=T", flags without a value), aligned text tables, and the
// time and message-id text forms the verbs read and print. No networking here.
// Thread-safety: stateless functions and plain values.
#ifndef TOOLS_ADMIN_CLI_H_
#define TOOLS_ADMIN_CLI_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace rsadmin {

// One option of a verb. `letter` is mqadmin's short name ('\0' = long form only).
struct OptionSpec {
  char letter = '\0';
  std::string long_name;
  bool takes_value = true;  // false: a flag
  bool required = false;
  std::string help;
};

struct VerbSpec {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;  // the verb's own; the common ones are added by ParseArgs
  std::string example;
  std::string notes;  // shown by --help after the options (may be empty)
};

// The options every verb takes: -n namesrvAddr, --json, -h/--help.
const std::vector<OptionSpec>& CommonOptions();

// What the command line gave, by long name. Flags map to "true".
class ParsedArgs {
 public:
  bool Has(std::string_view long_name) const { return values_.count(std::string(long_name)) > 0; }
  std::string Get(std::string_view long_name, std::string fallback = "") const;
  void Set(std::string long_name, std::string value) { values_[std::move(long_name)] = value; }
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

// Parses the arguments after the verb. InvalidArgument (a usage error: exit 2) for an unknown
// option, a missing value or a missing required option. A help request is not an error: the
// result then has "help" and required options are not checked.
absl::StatusOr<ParsedArgs> ParseArgs(const VerbSpec& verb, const std::vector<std::string>& args);

// "rs_admin <verb> options" help text: summary, every option with its letter, long name and
// whether it is required, the common options and the example.
std::string VerbHelp(const VerbSpec& verb);

// Typed reads of option values; InvalidArgument names the option.
absl::StatusOr<int64_t> ParseInt(const std::string& option, const std::string& text, int64_t min,
                                 int64_t max);
absl::StatusOr<bool> ParseBool(const std::string& option, const std::string& text);

// A timestamp as mqadmin takes it: milliseconds since the epoch, "now" (nullopt), or local time
// "yyyy-MM-dd#HH:mm:ss:SSS" (also with ' ' or 'T' for '#' and '.' for the last ':').
absl::StatusOr<std::optional<int64_t>> ParseTimestamp(const std::string& option,
                                                      const std::string& text);
// Local time "yyyy-MM-dd HH:mm:ss.SSS"; "" for ms <= 0.
std::string FormatTimeMs(int64_t ms);

// An offsetMsgId: the store host (IPv4 + port: 32 hex digits, IPv6 + port: 56) and the
// CommitLog offset of the record.
struct OffsetMsgId {
  std::string broker_addr;  // "ip:port"
  int64_t commit_log_offset = 0;
};
absl::StatusOr<OffsetMsgId> DecodeOffsetMsgId(const std::string& id);
// The offsetMsgId of a record stored at `commit_log_offset` by the store host whose raw bytes
// (4 or 16 address bytes, then the port as 4 bytes) are `host`.
std::string EncodeOffsetMsgId(std::string_view host, int64_t commit_log_offset);
// "a.b.c.d:port" (or "[v6]:port") from raw store/born host bytes.
std::string HostToString(std::string_view host);

// An aligned text table: a '#'-prefixed header row and left-aligned columns two spaces apart.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> row);
  size_t rows() const { return rows_.size(); }
  std::string ToString() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Text for a terminal: control bytes and invalid UTF-8 shown as C escapes.
std::string Printable(std::string_view s);
// Whether s is valid UTF-8 (JSON strings must be).
bool IsValidUtf8(std::string_view s);

}  // namespace rsadmin

#endif  // TOOLS_ADMIN_CLI_H_
