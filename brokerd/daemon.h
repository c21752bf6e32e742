// Start-up pieces shared by the namesrvd and brokerd programs: `-c FILE` / `--help` parsing,
// loading a config file (or the embedded default) with its warnings printed, and blocking the
// stop signals so that the main thread can wait for them. Thread-safety: call from main() only.
#ifndef BROKERD_DAEMON_H_
#define BROKERD_DAEMON_H_

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
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

// Waits until SIGTERM/SIGINT arrives (returns 0) or `running()` turns false (returns 1, the
// server loop died), checking every 200 ms.
template <typename RunningFn>
int WaitForStopSignal(const char* name, const sigset_t& stop_signals, RunningFn running) {
  while (true) {
    timespec ts{0, 200 * 1000 * 1000};
    const int sig = sigtimedwait(&stop_signals, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      std::fprintf(stderr, "%s: %s received, shutting down\n", name, strsignal(sig));
      return 0;
    }
    if (!running()) {
      std::fprintf(stderr, "%s: server loop exited unexpectedly\n", name);
      return 1;
    }
  }
}

}  // namespace brokerd

#endif  // BROKERD_DAEMON_H_
