// Shared harness of the brokerd tests: real brokerd / namesrvd child processes on 127.0.0.1
// with temporary stores and free ports, request builders (SEND_MESSAGE_V2, PULL_MESSAGE) and a
// parser of the stored records a pull returns (CommitLog layout, store spec section 1).
// Every wait is bounded.
// Thread-safety: single-threaded use.
#ifndef TESTS_BROKER_HARNESS_H_
#define TESTS_BROKER_HARNESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "../child_wait.h"
#include "gtest/gtest.h"
#include "libstore/message.h"
#include "net/client.h"
#include "nlohmann/json.hpp"
#include "remoting/codes.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"

namespace brokerd_test {

using brokerd::net::Client;
using brokerd::remoting::RemotingCommand;
using std::chrono::milliseconds;
namespace rc = brokerd::remoting::response_code;

inline constexpr auto kIo = milliseconds(10000);

inline std::string SourceDir() {
  const char* env = std::getenv("RS_SOURCE_DIR");
  return env != nullptr ? env : RS_BROKER_TEST_SOURCE_DIR;
}
inline std::string WireDir() { return SourceDir() + "/../shared/fixtures/wire"; }

// Forks and execs `path -c conf` with stderr appended to log (truncated first).
inline pid_t StartLogged(const char* path, const char* name, const std::string& conf,
                         const std::string& log) {
  std::ofstream(log, std::ios::trunc).flush();
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    execl(path, name, "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

enum class Listen { kYes, kExited, kTimeout };

// Waits (20 s at most) until `log` contains `line` (the process listens) or the process exits.
inline Listen WaitListening(pid_t pid, const std::string& log, const std::string& line) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find(line + "\n") != std::string::npos) return Listen::kYes;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return Listen::kExited;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return Listen::kTimeout;
}

// Copies a daemon's log to stderr (for failed tests).
inline void DumpLog(const std::string& log) {
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "---- %s ----\n%s---- end ----\n", log.c_str(), text.c_str());
}

// One brokerd child process over a store directory that outlives restarts.
class Brokerd {
 public:
  explicit Brokerd(std::string name = "broker-a") : name_(std::move(name)) {
    dir_ = std::filesystem::temp_directory_path() /
           ("brokerd-test-" + name_ + "-" + std::to_string(getpid()) + "-" +
            std::to_string(brokerd::net::FreeLoopbackPort()));
    std::filesystem::create_directories(dir_);
  }
  ~Brokerd() {
    if (pid_ > 0) Signal(SIGKILL);
    if (::testing::Test::HasFailure()) DumpLog((dir_ / "brokerd.log").string());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Extra broker.conf lines for the next Start.
  void set_extra_config(std::string text) { extra_ = std::move(text); }
  // Starts brokerd on a free port and waits until it reports listening on it (its stderr goes
  // to <dir>/brokerd.log, shown when the test fails). A port taken by someone else in the
  // meantime makes brokerd exit: then another port is tried (3 attempts).
  bool Start() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = brokerd::net::FreeLoopbackPort();
      std::string conf = (dir_ / "broker.conf").string();
      std::ofstream(conf) << extra_ << "brokerName=" << name_ << "\nbrokerIP1=127.0.0.1\n"
                          << "listenPort=" << port_
                          << "\nstorePathRootDir=" << (dir_ / "store").string()
                          << "\nflushDiskType=SYNC_FLUSH\nmappedFileSizeCommitLog=1048576\n"
                          << "mappedFileSizeConsumeQueue=6000\n";
      const std::string log = (dir_ / "brokerd.log").string();
      pid_ = StartLogged(RS_BROKERD_PATH, "brokerd", conf, log);
      switch (WaitListening(pid_, log, "brokerd: listening on port " + std::to_string(port_))) {
        case Listen::kYes:
          return true;
        case Listen::kExited:
          pid_ = -1;
          continue;
        case Listen::kTimeout:
          return false;
      }
    }
    return false;
  }
  // Sends sig and waits (bounded) for the exit; returns the wait status or -1.
  int Signal(int sig) { return test_support::SignalAndWait(&pid_, sig, std::chrono::seconds(20)); }
  int port() const { return port_; }
  std::filesystem::path store() const { return dir_ / "store"; }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
  std::string extra_;
};

// A namesrvd child process (for registration).
class Namesrvd {
 public:
  ~Namesrvd() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (::testing::Test::HasFailure()) DumpLog(kv_.string() + ".log");
    std::error_code ec;
    for (const char* suffix : {"", ".bak", ".tmp", ".properties", ".log"}) {
      std::filesystem::remove(kv_.string() + suffix, ec);
    }
  }
  // Starts on `port` (0: a free one).
  bool Start(int port = 0) {
    port_ = port != 0 ? port : brokerd::net::FreeLoopbackPort();
    kv_ = std::filesystem::temp_directory_path() /
          ("brokerd-test-kv-" + std::to_string(getpid()) + "-" + std::to_string(port_));
    std::string conf = kv_.string() + ".properties";
    std::ofstream(conf) << "listenPort=" << port_ << "\nkvConfigPath=" << kv_.string() << "\n";
    const std::string log = kv_.string() + ".log";
    pid_ = StartLogged(RS_NAMESRVD_PATH, "namesrvd", conf, log);
    return WaitListening(pid_, log, "namesrvd: listening on port " + std::to_string(port_)) ==
           Listen::kYes;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path kv_;
};

inline int32_t opaque_counter = 1000;

inline RemotingCommand Request(int32_t code,
                               std::vector<std::pair<std::string, std::string>> fields) {
  RemotingCommand cmd;
  cmd.code = code;
  cmd.opaque = ++opaque_counter;
  for (auto& [k, v] : fields) cmd.SetExtField(k, v);
  return cmd;
}

inline RemotingCommand SendV2(const std::string& topic, int queue_id, const std::string& body,
                              const std::string& tag) {
  RemotingCommand cmd = Request(310, {{"a", "pg"},
                                      {"b", topic},
                                      {"c", "TBW102"},
                                      {"d", "4"},
                                      {"e", std::to_string(queue_id)},
                                      {"f", "0"},
                                      {"g", "1700000000000"},
                                      {"h", "0"},
                                      {"i", std::string("TAGS\x01") + tag + "\x02WAIT\x01true\x02"},
                                      {"j", "0"},
                                      {"k", "false"},
                                      {"m", "false"},
                                      {"n", "broker-a"}});
  cmd.body = body;
  return cmd;
}

inline RemotingCommand Pull(const std::string& topic, int queue_id, int64_t offset,
                            const std::string& sub = "*", int sys_flag = 4, int suspend_ms = 1000) {
  return Request(11, {{"consumerGroup", "cg"},
                      {"topic", topic},
                      {"queueId", std::to_string(queue_id)},
                      {"queueOffset", std::to_string(offset)},
                      {"maxMsgNums", "32"},
                      {"sysFlag", std::to_string(sys_flag)},
                      {"commitOffset", "0"},
                      {"suspendTimeoutMillis", std::to_string(suspend_ms)},
                      {"subscription", sub},
                      {"subVersion", "0"}});
}

// A stored record, parsed by the CommitLog layout (store spec / remoting spec 5.5).
struct Record {
  int32_t queue_id = 0;
  int32_t sys_flag = 0;
  int32_t reconsume_times = 0;
  int64_t born_timestamp_ms = 0;
  int64_t store_timestamp_ms = 0;
  int64_t queue_offset = 0;
  int64_t physical_offset = 0;
  std::string body;
  std::string topic;
  std::string properties;
};

inline uint64_t Be(const std::string& b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

inline std::vector<Record> ParseRecords(const std::string& body) {
  std::vector<Record> out;
  size_t p = 0;
  while (p + 4 <= body.size()) {
    size_t size = Be(body, p, 4);
    EXPECT_GE(size, 60u);
    EXPECT_LE(p + size, body.size());
    if (size < 60 || p + size > body.size()) break;
    Record r;
    size_t q = p + 12;
    r.queue_id = static_cast<int32_t>(Be(body, q, 4));
    q += 8;  // queueId, flag
    r.queue_offset = static_cast<int64_t>(Be(body, q, 8));
    r.physical_offset = static_cast<int64_t>(Be(body, q + 8, 8));
    q += 16;
    int32_t sys_flag = static_cast<int32_t>(Be(body, q, 4));
    r.sys_flag = sys_flag;
    r.born_timestamp_ms = static_cast<int64_t>(Be(body, q + 4, 8));
    q += 4 + 8;                       // sysFlag, bornTimestamp
    q += (sys_flag & 0x10) ? 20 : 8;  // bornHost
    r.store_timestamp_ms = static_cast<int64_t>(Be(body, q, 8));
    q += 8;                           // storeTimestamp
    q += (sys_flag & 0x20) ? 20 : 8;  // storeHost
    r.reconsume_times = static_cast<int32_t>(Be(body, q, 4));
    q += 4 + 8;  // reconsumeTimes, preparedTransactionOffset
    size_t body_len = Be(body, q, 4);
    r.body = body.substr(q + 4, body_len);
    q += 4 + body_len;
    size_t topic_len = Be(body, q, 1);
    r.topic = body.substr(q + 1, topic_len);
    q += 1 + topic_len;
    size_t props_len = Be(body, q, 2);
    r.properties = body.substr(q + 2, props_len);
    q += 2 + props_len;
    EXPECT_EQ(q, p + size);
    out.push_back(r);
    p += size;
  }
  EXPECT_EQ(p, body.size());
  return out;
}

// Pulls topic/queue from offset (no long polling) until `count` records arrived or `timeout`
// passed; returns what arrived.
inline std::vector<Record> PullUntil(Client& c, const std::string& topic, int queue_id,
                                     int64_t offset, size_t count,
                                     std::chrono::milliseconds timeout) {
  std::vector<Record> got;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto r =
        c.Call(Pull(topic, queue_id, offset + static_cast<int64_t>(got.size()), "*", 4, 0), kIo);
    if (r.ok() && r->code == rc::kSuccess) {
      for (Record& rec : ParseRecords(r->body)) got.push_back(std::move(rec));
    } else {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  return got;
}

// The properties of a record as a map.
inline std::map<std::string, std::string> Props(const std::string& encoded) {
  std::map<std::string, std::string> out;
  const libstore::Properties props = libstore::Properties::Decode(encoded);
  for (const auto& [k, v] : props.entries()) out[k] = v;
  return out;
}

// One frame of a wire capture (../shared/fixtures/wire/*.jsonl).
struct CapturedFrame {
  int seq = 0;
  int conn = 0;
  std::string dir;      // "c2s" / "s2c"
  std::string peer;     // "broker" / "namesrv"
  std::string bytes;    // the whole frame
  RemotingCommand cmd;  // decoded
};

// The frames of WireDir()/name in capture order; empty when the file is absent. Lines that do
// not decode fail the calling test.
inline std::vector<CapturedFrame> LoadCapture(const std::string& name) {
  std::vector<CapturedFrame> out;
  std::ifstream in(WireDir() + "/" + name);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ADD_FAILURE() << name << ": a line is not JSON";
      continue;
    }
    CapturedFrame f;
    f.seq = j.value("seq", 0);
    f.conn = j.value("conn", 0);
    f.dir = j.value("dir", "");
    f.peer = j.value("peer", "");
    const std::string hex = j.value("hex", "");
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      f.bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    auto decoded = brokerd::remoting::DecodeFrame(f.bytes);
    if (!decoded.ok() || !std::holds_alternative<brokerd::remoting::DecodedFrame>(*decoded)) {
      ADD_FAILURE() << name << " seq " << f.seq << ": frame does not decode";
      continue;
    }
    f.cmd = std::get<brokerd::remoting::DecodedFrame>(*decoded).command;
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace brokerd_test

#endif  // TESTS_BROKER_HARNESS_H_
