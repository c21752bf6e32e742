// Corpus replay driver: runs a fuzz target's LLVMFuzzerTestOneInput once over every regular
// file of the directories (or the files) named on the command line, in name order. Built with
// every compiler (no libFuzzer needed), so the checked-in corpora run as CTest regressions.
//
// Each input runs in a child process, so one crashing input (abort(), a sanitizer report, a
// signal) does not hide the others: every failing input is named, and the exit status is 1
// when any failed. RS_REPLAY_NO_FORK=1 runs them in-process instead (for a debugger).
// The inputs run with TMPDIR set to a private directory that is emptied after every input and
// removed at the end, so scratch files of crashing inputs never pile up (abort() skips the
// harness's cleanup, and not every sanitizer runtime calls its death callback).
// It also fails (exit 1) when an argument is missing, is neither a directory nor a file, or
// no input was found at all: an empty corpus must not pass vacuously.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// A private scratch root under $TMPDIR, /dev/shm or /tmp (the harnesses' order).
std::string MakeScratchRoot() {
  const char* t = std::getenv("TMPDIR");
  std::string base = t != nullptr && *t != '\0' ? t : "";
  std::error_code ec;
  if (base.empty()) base = fs::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
  std::string tmpl = base + "/libstore-replay.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

void EmptyDir(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
}

// Runs one input; returns "" on success, otherwise how it failed.
std::string RunOne(const std::string& data, bool fork_each) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  if (!fork_each) {
    LLVMFuzzerTestOneInput(p, data.size());
    return "";
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return std::string("fork failed: ") + std::strerror(errno);
  if (pid == 0) {
    LLVMFuzzerTestOneInput(p, data.size());
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return std::string("waitpid failed: ") + std::strerror(errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 1;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path p(argv[i]);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        if (e.is_regular_file(ec)) found.push_back(e.path());
      }
      if (ec) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], ec.message().c_str());
        return 1;
      }
      if (found.empty()) {
        std::fprintf(stderr, "replay: corpus directory %s holds no input\n", argv[i]);
        return 1;
      }
      std::sort(found.begin(), found.end());
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      inputs.push_back(p);
    } else {
      std::fprintf(stderr, "replay: %s is neither a corpus directory nor a file\n", argv[i]);
      return 1;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "replay: no input\n");
    return 1;
  }
  const std::string scratch = MakeScratchRoot();
  if (scratch.empty()) {
    std::fprintf(stderr, "replay: cannot create a scratch directory\n");
    return 1;
  }
  setenv("TMPDIR", scratch.c_str(), 1);
  const char* no_fork = std::getenv("RS_REPLAY_NO_FORK");
  const bool fork_each = no_fork == nullptr || std::strcmp(no_fork, "1") != 0;
  size_t bytes = 0;
  std::vector<std::string> failed;
  for (const fs::path& p : inputs) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
      return 1;
    }
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: running %s (%zu bytes)\n", p.c_str(), data.size());
    const std::string how = RunOne(data, fork_each);
    EmptyDir(scratch);
    if (!how.empty()) {
      std::fprintf(stderr, "replay: FAILED %s: %s\n", p.c_str(), how.c_str());
      failed.push_back(p.filename().string() + " (" + how + ")");
    }
    bytes += data.size();
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
  std::printf("replay: ran %zu inputs (%zu bytes), %zu failed\n", inputs.size(), bytes,
              failed.size());
  for (const std::string& f : failed) std::printf("replay: failed: %s\n", f.c_str());
  return failed.empty() ? 0 : 1;
}
