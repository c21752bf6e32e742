// Start-up pieces shared by the namesrvd and brokerd programs: `-c FILE` / `--help` parsing,
// loading a config file (or the embedded default) with its warnings printed, and blocking the
// stop signals so that the main thread can wait for them. Thread-safety: call from main() only.
#ifndef BROKERD_DAEMON_H_
#define BROKERD_DAEMON_H_

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config_common.h"

namespace brokerd {

// Parses `[-c FILE] [--help]`. Returns -1 to go on (with *config_path set or empty), otherwise
// the exit code to return from main.
inline int ParseDaemonArgs(int argc, char** argv, const char* name, void (*usage)(FILE*),
                           std::string* config_path) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (arg == "-c" && i + 1 < argc) {
      *config_path = argv[++i];
    } else {
      std::fprintf(stderr, "%s: unexpected argument '%s'\n", name, arg.c_str());
      usage(stderr);
      return 2;
    }
  }
  return -1;
}

// Loads the config from `path`, or parses `default_text` when it is empty, and prints every
// warning. Errors are printed too; the caller exits 1 on !ok().
template <typename Config, typename ParseFn, typename ReadFn>
absl::StatusOr<Config> LoadDaemonConfig(const char* name, const std::string& path,
                                        std::string_view default_text, ParseFn parse, ReadFn read) {
  const config::ConfigEnvironment env = config::ConfigEnvironment::FromProcess();
  std::vector<config::ConfigWarning> warnings;
  absl::StatusOr<Config> cfg =
      path.empty() ? parse(default_text, env, &warnings) : read(path, env, &warnings);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, cfg.status().ToString().c_str());
    return cfg;
  }
  for (const config::ConfigWarning& w : warnings) {
    std::fprintf(stderr, "%s: warning: %s\n", name, w.ToString().c_str());
  }
  return cfg;
}

// Blocks SIGTERM and SIGINT in this thread and every thread it starts later (the main thread
// then takes them with sigtimedwait) and ignores SIGPIPE. Returns the blocked set.
inline sigset_t BlockStopSignals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop_signals;
}

}  // namespace brokerd

#endif  // BROKERD_DAEMON_H_
