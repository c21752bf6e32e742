// Stopping a child process the tests started (a daemon under test): send a signal, wait for the
// exit within a bound, SIGKILL after it. Shared by the tests' process wrappers.
// Thread-safety: call from the thread that owns the child.
#ifndef TESTS_CHILD_WAIT_H_
#define TESTS_CHILD_WAIT_H_

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

namespace test_support {

// Sends sig to *pid and waits up to `limit` for it to exit, then SIGKILLs and reaps it. Returns
// the wait status, or -1 when it had to be killed (or *pid <= 0); *pid becomes -1.
inline int SignalAndWait(pid_t* pid, int sig,
                         std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  if (*pid <= 0) return -1;
  ::kill(*pid, sig);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(*pid, SIGKILL);
  ::waitpid(*pid, nullptr, 0);
  *pid = -1;
  return -1;
}

}  // namespace test_support

#endif  // TESTS_CHILD_WAIT_H_
