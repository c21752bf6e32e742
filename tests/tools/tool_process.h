// Runs a command-line tool of the project as a subprocess (NAMESRV_ADDR unset) and collects its
// exit code, stdout and stderr; a run is killed after a bounded time. Shared by the tests of
// rs_admin and rs_load.
// Thread-safety: RunTool may be called from any thread (it forks; the child only execs).
#ifndef TESTS_TOOLS_TOOL_PROCESS_H_
#define TESTS_TOOLS_TOOL_PROCESS_H_

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace tool_test {

struct Result {
  int code = -1;  // exit code; -1 when killed by a signal (or the limit)
  std::string out;
  std::string err;
};

// Runs `path` (argv[0] = name) with args; SIGKILLs it after `limit`.
inline Result RunTool(const char* path, const char* name, const std::vector<std::string>& args,
                      std::chrono::seconds limit = std::chrono::seconds(60)) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0) return {};
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return {};
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    unsetenv("NAMESRV_ADDR");
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(name));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(path, argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Result r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 200) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) {
      kill(pid, SIGKILL);
      close(f.fd);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string Describe(const Result& r) {
  return "exit " + std::to_string(r.code) + "\nstdout:\n" + r.out + "stderr:\n" + r.err;
}

}  // namespace tool_test

#endif  // TESTS_TOOLS_TOOL_PROCESS_H_
