// The verbs of rs_admin, mqadmin's everyday commands: their option specs and implementations.
// Each verb prints an aligned table (or JSON with --json) on stdout, reasons for failures on
// stderr, and returns the exit status: 0 done, 1 a request failed, 2 a usage error.
// Thread-safety: the verbs run on the calling thread, one at a time.
#ifndef TOOLS_ADMIN_VERBS_H_
#define TOOLS_ADMIN_VERBS_H_

#include <string>
#include <vector>

#include "tools/admin_cli.h"
#include "tools/admin_client.h"

namespace rsadmin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct VerbContext {
  const VerbSpec* spec = nullptr;
  ParsedArgs args;
  bool json = false;
  AdminClient* admin = nullptr;
};

struct Verb {
  VerbSpec spec;
  int (*run)(VerbContext& ctx);
};

// Every verb, in the order `rs_admin --help` lists them.
const std::vector<Verb>& Verbs();

}  // namespace rsadmin

#endif  // TOOLS_ADMIN_VERBS_H_
