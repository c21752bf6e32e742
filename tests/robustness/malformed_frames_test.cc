// Robustness of brokerd and namesrvd against hostile input. Each test starts a real namesrvd and
// a real brokerd (registered with it) on 127.0.0.1 with a temporary store, then drives one of
// them with thousands of frames from a fixed seed:
//  * random bytes; plausible length prefixes with garbage headers; length fields beyond the
//    16 MiB frame limit, near INT32_MAX and negative; bad serialize types and header lengths;
//  * every proper prefix of valid SEND_MESSAGE_V2 / PULL_MESSAGE (broker) and REGISTER_BROKER /
//    GET_ROUTEINFO_BY_TOPIC (name server) frames, in both header types, then a close;
//  * valid frames whose JSON header is malformed (mutated bytes, wrong types, deep nesting,
//    NUL bytes, non-objects) or whose ROCKETMQ binary header has bad inner lengths;
//  * well-formed requests with bad fields (queueId "abc", missing topic, out-of-range numbers,
//    ...) and bad bodies (heartbeat with junk JSON, truncated batches, LOCK_BATCH_MQ with junk,
//    compressed REGISTER_BROKER bodies that are not zlib or inflate beyond the limit ...),
//    pipelined on one connection;
//  * hundreds of connections open at once, each stopped mid-frame, then dropped (half with RST).
// The codec (remoting::DecodeFrame, the server's own framing) predicts each stream's fate: a
// stream it rejects must make the server close that connection (and log why); a well-formed
// request must get an answer with its opaque and leave the connection usable. A bystander
// connection opened first must keep working throughout (a bad peer affects only itself).
// Afterwards the daemon must be alive, serve a normal client correctly (pipelined sends pulled
// back with identical bodies; routes on the name server), not have grown without bound, have
// no sanitizer report in its stderr, and exit 0 on SIGTERM.
// Two more tests send header strings that are not UTF-8 (group, topic, broker and cluster names:
// both header formats carry bytes) and check that neither daemon dies writing them as JSON.
// Every wait is bounded. The four tests take ~17 s together under ASan/UBSan on the shared
// 2-core machine (each well under 60 s even when it is loaded). RS_ROBUST_BROKERD and
// RS_ROBUST_NAMESRVD, when set, name other daemon binaries to drive (e.g. a Release build).
// Thread-safety: single-threaded tests.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "../child_wait.h"
#include "gtest/gtest.h"
#include "net/client.h"
#include "remoting/codes.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"

namespace {

using brokerd::net::Client;
using brokerd::remoting::RemotingCommand;
using brokerd::remoting::SerializeType;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace rc = brokerd::remoting::response_code;

constexpr auto kIo = milliseconds(10000);
constexpr uint64_t kSeed = 0x5EED2026;
// A phase stops after this many failures (the first ones say what is wrong).
constexpr int kMaxFailures = 5;
constexpr size_t kMaxFrame = brokerd::remoting::kDefaultMaxFrameBytes;
// A code neither daemon serves: the probe that a connection still works.
constexpr int32_t kProbeCode = 9999;
// Largest growth of a daemon's resident size over a barrage. Measured: ~35 MiB for a Release
// build, ~110 MiB under ASan with its quarantine capped at 16 MiB (see Daemon::Start). It bounds
// what a barrage of thousands of connections and requests may leave behind.
constexpr long kMaxGrowthKb = 256L * 1024;
// Expectations of a pipelined request's answer besides an exact code.
constexpr int32_t kAnyCode = -1000;
constexpr int32_t kAnyError = -1001;

// ---------------------------------------------------------------------------------------------
// Child processes.

class Daemon {
 public:
  Daemon(std::string name, std::string path, std::filesystem::path dir)
      : name_(std::move(name)), path_(std::move(path)), dir_(std::move(dir)) {}
  ~Daemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Writes conf_text plus listenPort=<a free port> to <dir>/<name>.conf and starts the program
  // with stderr in <dir>/<name>.stderr; waits (bounded) until it accepts connections.
  bool Start(const std::string& conf_text) {
    port_ = brokerd::net::FreeLoopbackPort();
    const std::string conf = (dir_ / (name_ + ".conf")).string();
    std::ofstream(conf) << conf_text << "listenPort=" << port_ << "\n";
    const std::string err = stderr_path();
    const char* inherited = std::getenv("ASAN_OPTIONS");
    const std::string asan_options = std::string(inherited != nullptr ? inherited : "") +
                                     ":quarantine_size_mb=16:release_to_os_interval_ms=100";
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a test process that crashed
      // Under AddressSanitizer keep freed memory from piling up in the quarantine (256 MiB by
      // default), so the resident size says something about the daemon's own memory.
      setenv("ASAN_OPTIONS", asan_options.c_str(), 1);
      int fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execl(path_.c_str(), name_.c_str(), "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      Client c;
      if (c.Connect("127.0.0.1", port_, milliseconds(500)).ok()) return true;
      if (!Alive()) return false;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  // False once the process has exited (its wait status is then in exit_status()).
  bool Alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  // SIGTERM, then waits (bounded, SIGKILL after 20 s); returns the wait status or -1.
  int Stop() {
    if (!Alive()) return exit_status_;
    const int status = test_support::SignalAndWait(&pid_, SIGTERM, std::chrono::seconds(20));
    if (status != -1) exit_status_ = status;
    return status;
  }

  // Resident set size in KiB (0 when unknown).
  long RssKb() const {
    if (pid_ <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return 0;
  }

  std::string Log() const {
    std::ifstream in(stderr_path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // The last bytes of the log, for failure messages.
  std::string LogTail(size_t n = 3000) const {
    std::string log = Log();
    return log.size() > n ? log.substr(log.size() - n) : log;
  }
  std::string DescribeExit() const {
    if (WIFSIGNALED(exit_status_))
      return "killed by signal " + std::to_string(WTERMSIG(exit_status_));
    if (WIFEXITED(exit_status_)) return "exited with " + std::to_string(WEXITSTATUS(exit_status_));
    return "wait status " + std::to_string(exit_status_);
  }

  int port() const { return port_; }
  const std::string& name() const { return name_; }
  std::string stderr_path() const { return (dir_ / (name_ + ".stderr")).string(); }

 private:
  std::string name_;
  std::string path_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_status_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Frame building.

std::string Be32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (24 - 8 * i));
  return out;
}
std::string Be16(uint16_t v) {
  return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
}

// A frame around header and body with consistent lengths and the given type byte.
std::string RawFrame(uint8_t type, std::string_view header, std::string_view body) {
  std::string out = Be32(static_cast<uint32_t>(4 + header.size() + body.size()));
  out += Be32((static_cast<uint32_t>(type) << 24) | static_cast<uint32_t>(header.size()));
  out.append(header);
  out.append(body);
  return out;
}

std::string Encode(const RemotingCommand& cmd, SerializeType type) {
  brokerd::remoting::CodecLimits big;
  big.max_frame_bytes = size_t{1} << 31;
  absl::StatusOr<std::string> frame = brokerd::remoting::EncodeFrame(cmd, type, big);
  EXPECT_TRUE(frame.ok()) << frame.status();
  return frame.ok() ? *frame : std::string();
}

// The header bytes of an encoded frame.
std::string HeaderOf(const std::string& frame) {
  uint32_t word = 0;
  for (int i = 4; i < 8; ++i) word = (word << 8) | static_cast<uint8_t>(frame[i]);
  return frame.substr(8, word & 0xFFFFFF);
}

RemotingCommand Request(int32_t code, std::vector<std::pair<std::string, std::string>> fields,
                        std::string body = "") {
  RemotingCommand cmd;
  cmd.code = code;
  cmd.opaque = 1;
  for (auto& [k, v] : fields) cmd.SetExtField(k, v);
  cmd.body = std::move(body);
  return cmd;
}

RemotingCommand SendV2(const std::string& topic, int queue_id, std::string body) {
  return Request(310,
                 {{"a", "pg"},
                  {"b", topic},
                  {"c", "TBW102"},
                  {"d", "4"},
                  {"e", std::to_string(queue_id)},
                  {"f", "0"},
                  {"g", "1700000000000"},
                  {"h", "0"},
                  {"i", std::string("TAGS\x01t\x02KEYS\x01k\x02WAIT\x01true\x02")},
                  {"j", "0"},
                  {"k", "false"},
                  {"m", "false"},
                  {"n", "broker-a"}},
                 std::move(body));
}

// A pull that is never held (no SUSPEND flag, no suspendTimeoutMillis).
RemotingCommand Pull(const std::string& topic, int queue_id, int64_t offset) {
  return Request(11, {{"consumerGroup", "cg"},
                      {"topic", topic},
                      {"queueId", std::to_string(queue_id)},
                      {"queueOffset", std::to_string(offset)},
                      {"maxMsgNums", "32"},
                      {"sysFlag", "4"},
                      {"commitOffset", "0"},
                      {"subscription", "*"},
                      {"subVersion", "0"}});
}

const char kHeartbeatBody[] =
    R"({"clientID":"10.0.0.1@robust","consumerDataSet":[{"groupName":"rg","consumeType":)"
    R"("CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":)"
    R"("CONSUME_FROM_FIRST_OFFSET","subscriptionDataSet":[{"topic":"RobustTopic",)"
    R"("subString":"*"}]}],"producerDataSet":[{"groupName":"pg"}]})";

const char kRegisterBody[] =
    R"({"topicConfigSerializeWrapper":{"topicConfigTable":{"FuzzTopic":{"order":false,"perm":6,)"
    R"("readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"FuzzTopic","topicSysFlag":0,)"
    R"("writeQueueNums":4}},"dataVersion":{"counter":1,"timestamp":1700000000000}},)"
    R"("filterServerList":[]})";

RemotingCommand RegisterBroker(const std::string& name, std::string body) {
  return Request(103,
                 {{"brokerAddr", "127.0.0.9:10911"},
                  {"brokerId", "0"},
                  {"brokerName", name},
                  {"clusterName", "FuzzCluster"},
                  {"haServerAddr", "127.0.0.9:10912"},
                  {"compressed", "false"}},
                 std::move(body));
}

// A batch body (remoting spec 5.6): TOTALSIZE MAGIC BODYCRC FLAG BODYLEN BODY PROPLEN PROPS.
std::string BatchBody(const std::vector<std::pair<std::string, std::string>>& msgs,
                      std::vector<size_t>* boundaries = nullptr) {
  std::string out;
  for (const auto& [body, props] : msgs) {
    out += Be32(static_cast<uint32_t>(22 + body.size() + props.size()));
    out += Be32(0) + Be32(0) + Be32(0);
    out += Be32(static_cast<uint32_t>(body.size()));
    out += body;
    out += Be16(static_cast<uint16_t>(props.size()));
    out += props;
    if (boundaries != nullptr) boundaries->push_back(out.size());
  }
  return out;
}

RemotingCommand SendBatch(std::string body) {
  RemotingCommand cmd = SendV2("RobustBatch", 0, std::move(body));
  cmd.code = 320;
  cmd.SetExtField("i", std::string("WAIT\x01true"));
  cmd.SetExtField("m", "true");
  return cmd;
}

std::string Zlib(std::string_view in) {
  uLongf n = compressBound(static_cast<uLong>(in.size()));
  std::string out(n, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &n,
                     reinterpret_cast<const Bytef*>(in.data()), static_cast<uLong>(in.size()), 9);
  EXPECT_EQ(rc, Z_OK);
  out.resize(n);
  return out;
}

// ---------------------------------------------------------------------------------------------
// What the server must do with a byte stream, as its own framing decides: close the connection
// (the codec rejects something), or answer every decoded request that is neither a response
// nor oneway, and keep waiting for the rest of a partial frame.
struct Prediction {
  bool closes = false;
  std::vector<int32_t> answers;  // opaques
};

Prediction Predict(std::string_view stream) {
  Prediction p;
  size_t pos = 0;
  while (pos < stream.size()) {
    absl::StatusOr<brokerd::remoting::DecodeResult> r =
        brokerd::remoting::DecodeFrame(stream.substr(pos));
    if (!r.ok()) {
      p.closes = true;
      p.answers.clear();
      return p;
    }
    auto* frame = std::get_if<brokerd::remoting::DecodedFrame>(&*r);
    if (frame == nullptr) break;
    if (!frame->command.IsResponse() && !frame->command.IsOneway()) {
      p.answers.push_back(frame->command.opaque);
    }
    pos += frame->bytes_consumed;
  }
  return p;
}

// A request pipelined with others and what its answer's code must be (an exact code, kAnyCode
// or kAnyError).
struct Req {
  RemotingCommand cmd;
  int32_t expect = kAnyCode;
  SerializeType type = SerializeType::kJson;
};

// Drives one daemon and counts; a phase gives up after kMaxFailures failures or when the daemon
// died (reported once).
class Barrage {
 public:
  Barrage(Daemon* daemon, uint64_t seed) : d_(daemon), rng_(seed) {}

  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::string RandomBytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(Uniform(0, 255));
    return s;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(0, v.size() - 1)];
  }

  bool ok() const { return failures_ < kMaxFailures && !dead_; }
  bool dead() const { return dead_; }
  int expected_closes() const { return expected_closes_; }
  int streams() const { return streams_; }
  int requests_answered() const { return answered_; }
  void ResetFailures() { failures_ = 0; }

  // Records a failure (and whether the daemon is gone). Always returns false.
  bool Fail(const std::string& what, const std::string& why) {
    ++failures_;
    if (!d_->Alive()) {
      if (!dead_) {
        ADD_FAILURE() << d_->name() << " DIED (" << d_->DescribeExit() << ") during: " << what
                      << "\n--- its stderr, last lines ---\n"
                      << d_->LogTail();
      }
      dead_ = true;
      return false;
    }
    ADD_FAILURE() << d_->name() << ": " << what << ": " << why;
    return false;
  }

  // Sends bytes on a fresh connection and checks the server's reaction against Predict; a
  // connection the prediction leaves open (a partial frame) is then closed by us.
  bool Stream(const std::string& bytes, const std::string& what) {
    if (!ok()) return false;
    ++streams_;
    Prediction p = Predict(bytes);
    Client c;
    if (absl::Status s = c.Connect("127.0.0.1", d_->port(), kIo); !s.ok()) {
      return Fail(what, "connect: " + s.ToString());
    }
    absl::Status sent = c.SendRaw(bytes, kIo);
    if (p.closes) {
      ++expected_closes_;
      // The send may have failed already: the server closes as soon as it sees the problem.
      if (!c.WaitForClose(kIo)) {
        return Fail(what, "the connection stayed open after a malformed frame");
      }
      return true;
    }
    if (!sent.ok()) return Fail(what, "send: " + sent.ToString());
    std::multiset<int32_t> want(p.answers.begin(), p.answers.end());
    while (!want.empty()) {
      absl::StatusOr<RemotingCommand> r = c.Read(kIo);
      if (!r.ok()) {
        return Fail(what, "no answer to a well-formed request with opaque " +
                              std::to_string(*want.begin()) + ": " + r.status().ToString());
      }
      auto it = want.find(r->opaque);
      if (r->IsResponse() && it != want.end()) {
        want.erase(it);
        ++answered_;
      }
    }
    return true;
  }

  // Sends all requests in one write on one connection (fresh opaques, flag 0); every one must be
  // answered with its expected code, and the connection must answer a probe afterwards.
  bool Pipelined(std::vector<Req> reqs, const std::string& what) {
    if (!ok()) return false;
    Client c;
    if (absl::Status s = c.Connect("127.0.0.1", d_->port(), kIo); !s.ok()) {
      return Fail(what, "connect: " + s.ToString());
    }
    const auto t0 = Clock::now();
    std::string out;
    std::map<int32_t, size_t> pending;
    for (size_t i = 0; i < reqs.size(); ++i) {
      RemotingCommand& cmd = reqs[i].cmd;
      cmd.opaque = next_opaque_++;
      cmd.flag = 0;
      brokerd::remoting::CodecLimits limits;
      absl::StatusOr<std::string> frame = brokerd::remoting::EncodeFrame(cmd, reqs[i].type, limits);
      if (!frame.ok()) continue;  // e.g. too large for the limit: such frames are Stream cases
      out += *frame;
      pending[cmd.opaque] = i;
    }
    if (absl::Status s = c.SendRaw(out, kIo); !s.ok()) {
      return Fail(what, "send of " + std::to_string(pending.size()) +
                            " pipelined requests: " + s.ToString());
    }
    auto last = Clock::now();
    Clock::duration slowest_gap{};
    std::string slowest;
    while (!pending.empty()) {
      absl::StatusOr<RemotingCommand> r = c.Read(kIo);
      if (!r.ok()) {
        const Req& q = reqs[pending.begin()->second];
        return Fail(what, "no answer (" + r.status().ToString() + ") to " +
                              brokerd::remoting::DebugString(q.cmd));
      }
      auto it = pending.find(r->opaque);
      if (!r->IsResponse() || it == pending.end()) continue;
      const Req& q = reqs[it->second];
      pending.erase(it);
      ++answered_;
      const auto now = Clock::now();
      if (now - last > slowest_gap) {
        slowest_gap = now - last;
        slowest = brokerd::remoting::DebugString(q.cmd);
      }
      last = now;
      const bool good = q.expect == kAnyCode    ? true
                        : q.expect == kAnyError ? r->code != rc::kSuccess
                                                : r->code == q.expect;
      if (!good) {
        Fail(what,
             "answer code " + std::to_string(r->code) + " (" + r->remark.value_or("") +
                 "), expected " +
                 (q.expect == kAnyError ? std::string("an error") : std::to_string(q.expect)) +
                 ", to " + brokerd::remoting::DebugString(q.cmd));
        if (!ok()) return false;
      }
    }
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    if (took > 1.0) {
      std::printf("[ robust   ] slow: %s took %.2f s; longest wait %.2f s, for %s\n", what.c_str(),
                  took, std::chrono::duration<double>(slowest_gap).count(),
                  slowest.substr(0, 300).c_str());
    }
    return Probe(c, what + " (probe after the answers)");
  }

  // The connection still answers a request (kProbeCode: REQUEST_CODE_NOT_SUPPORTED).
  bool Probe(Client& c, const std::string& what) {
    RemotingCommand probe = Request(kProbeCode, {});
    probe.opaque = next_opaque_++;
    absl::StatusOr<RemotingCommand> r = c.Call(probe, kIo);
    if (!r.ok()) return Fail(what, "probe: " + r.status().ToString());
    if (r->code != rc::kRequestCodeNotSupported) {
      return Fail(what, "probe answered code " + std::to_string(r->code));
    }
    return true;
  }

 private:
  Daemon* d_;
  std::mt19937_64 rng_;
  int failures_ = 0;
  bool dead_ = false;
  int streams_ = 0;
  int expected_closes_ = 0;
  int answered_ = 0;
  int32_t next_opaque_ = 100000;
};

// ---------------------------------------------------------------------------------------------
// Phases shared by both daemons. `valid` are well-formed requests of the daemon's protocol.

void RandomBytePhase(Barrage& b) {
  for (int i = 0; i < 400 && b.ok(); ++i) {
    size_t n = i % 4 == 0 ? b.Uniform(1, 16) : i % 4 == 3 ? b.Uniform(1, 8192) : b.Uniform(1, 256);
    b.Stream(b.RandomBytes(n), "random bytes #" + std::to_string(i));
  }
  // A plausible length, a JSON or ROCKETMQ type byte and a header length that fits, garbage.
  for (int i = 0; i < 400 && b.ok(); ++i) {
    size_t header = b.Uniform(0, 300);
    size_t body = b.Chance(0.5) ? 0 : b.Uniform(0, 300);
    std::string frame =
        RawFrame(static_cast<uint8_t>(b.Uniform(0, 1)), b.RandomBytes(header), b.RandomBytes(body));
    if (b.Chance(0.2)) frame.resize(b.Uniform(4, frame.size()));  // and cut short
    b.Stream(frame, "garbage header #" + std::to_string(i));
  }
}

void LengthFieldPhase(Barrage& b) {
  std::vector<uint32_t> lengths = {0,
                                   1,
                                   2,
                                   3,
                                   4,
                                   5,
                                   static_cast<uint32_t>(kMaxFrame - 5),
                                   static_cast<uint32_t>(kMaxFrame - 4),
                                   static_cast<uint32_t>(kMaxFrame - 3),
                                   static_cast<uint32_t>(kMaxFrame),
                                   static_cast<uint32_t>(kMaxFrame + 1),
                                   0x7FFFFFFBu,
                                   0x7FFFFFFCu,
                                   0x7FFFFFFEu,
                                   0x7FFFFFFFu,
                                   0x80000000u,
                                   0x80000001u,
                                   0xFFFFFFFBu,
                                   0xFFFFFFFCu,
                                   0xFFFFFFFFu};
  for (int i = 0; i < 100; ++i)
    lengths.push_back(static_cast<uint32_t>(b.Uniform(kMaxFrame - 3, 0x7FFFFFFF)));
  for (int i = 0; i < 60; ++i)
    lengths.push_back(static_cast<uint32_t>(b.Uniform(0x80000000u, 0xFFFFFFFFu)));
  for (size_t i = 0; i < lengths.size() && b.ok(); ++i) {
    std::string bytes = Be32(lengths[i]);
    // Sometimes a sane-looking header word and a few bytes after it.
    if (b.Chance(0.5))
      bytes += Be32(static_cast<uint32_t>(b.Uniform(0, 64))) + b.RandomBytes(b.Uniform(0, 64));
    b.Stream(bytes, "length field " + std::to_string(lengths[i]));
  }
  // Valid length; bad serialize type or header length (24-bit) beyond the frame.
  for (int i = 0; i < 160 && b.ok(); ++i) {
    uint32_t length = static_cast<uint32_t>(b.Uniform(4, 400));
    uint32_t type = i % 2 == 0 ? static_cast<uint32_t>(b.Uniform(2, 255))
                               : static_cast<uint32_t>(b.Uniform(0, 1));
    uint32_t header_len = i % 2 == 0   ? static_cast<uint32_t>(b.Uniform(0, length - 4))
                          : i % 4 == 1 ? static_cast<uint32_t>(b.Uniform(length - 3, 0xFFFFFF))
                                       : 0xFFFFFFu;
    std::string bytes = Be32(length) + Be32((type << 24) | header_len) + b.RandomBytes(length - 4);
    b.Stream(bytes, "type " + std::to_string(type) + " header length " +
                        std::to_string(header_len) + " in a frame of length " +
                        std::to_string(length));
  }
}

// Every proper prefix of each frame, each on its own connection closed right after; then the
// whole frame, which must be answered.
void TruncationPhase(Barrage& b, const std::vector<RemotingCommand>& valid) {
  for (size_t f = 0; f < valid.size() && b.ok(); ++f) {
    for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
      std::string frame = Encode(valid[f], type);
      for (size_t n = 0; n < frame.size() && b.ok(); ++n) {
        b.Stream(frame.substr(0, n), "prefix of " + std::to_string(n) + "/" +
                                         std::to_string(frame.size()) + " bytes of request " +
                                         std::to_string(f));
      }
      b.Stream(frame, "whole request " + std::to_string(f));
    }
  }
}

// Hand-written JSON headers: wrong types, non-objects, nesting, NUL bytes, bad escapes, ...
std::vector<std::string> StructuredJsonHeaders(const std::string& ext) {
  const std::string tail = R"(,"flag":0,"language":"JAVA","opaque":7,"version":407})";
  std::vector<std::string> h = {
      R"({"code":"abc","extFields":)" + ext + tail,
      R"({"code":"310","extFields":)" + ext + tail,
      R"({"code":1e3,"extFields":)" + ext + tail,
      R"({"code":3.5,"extFields":)" + ext + tail,
      R"({"code":3000000000,"extFields":)" + ext + tail,
      R"({"code":-2147483649,"extFields":)" + ext + tail,
      R"({"code":true,"extFields":)" + ext + tail,
      R"({"code":null,"extFields":)" + ext + tail,
      R"({"code":{},"extFields":)" + ext + tail,
      R"({"code":[310],"extFields":)" + ext + tail,
      R"({"code":310,"extFields":[])" + tail,
      R"({"code":310,"extFields":"x")" + tail,
      R"({"code":310,"extFields":5)" + tail,
      R"({"code":310,"extFields":null)" + tail,
      R"({"code":310,"extFields":{"e":{"x":1}})" + tail,
      R"({"code":310,"extFields":{"e":[1]}}})" + tail,
      R"({"code":310,"extFields":{"e":1,"b":2,"queueId":true,"x":null}})" + tail,
      R"({"code":310,"extFields":{"e":1.5e300,"d":-0,"g":1795592538492}})" + tail,
      R"({"code":310,"extFields":{"e":123456789012345678901234567890}})" + tail,
      R"({"code":310,"remark":{},"extFields":)" + ext + tail,
      R"({"code":310,"remark":true,"extFields":)" + ext + tail,
      R"({"code":310,"language":false,"extFields":)" + ext + tail,
      R"({"code":310,"language":7,"extFields":)" + ext + tail,
      R"({"code":310,"opaque":"x","extFields":)" + ext + R"(,"flag":0})",
      R"({"code":310,"flag":"2","opaque":8,"extFields":)" + ext + "}",
      R"({"code":310,"flag":1,"opaque":8,"extFields":)" + ext + "}",
      R"({"code":310,"flag":-1,"opaque":8,"extFields":)" + ext + "}",
      R"({"code":310,"extFields":)" + ext + tail + " x",
      R"({"code":310,"extFields":)" + ext + tail + "  \n\t ",
      R"({"code":310,"extFields":)" + ext + tail + "}",
      R"({"code":310,"extFields":)" + ext + tail.substr(0, tail.size() - 1) + ",}",
      R"({"code":310,,"extFields":)" + ext + tail,
      R"({"code":310 "extFields":)" + ext + tail,
      R"({code:310})",
      R"({'code':310})",
      R"({"code":310,"extFields":{"e":"\q"}})" + tail,
      R"({"code":310,"extFields":{"e":"\ud800"}})" + tail,
      R"({"code":310,"extFields":{"e":"\u0000\u0001"}})" + tail,
      R"({"code":310,"extFields":{"e":"unterminated}})" + tail,
      R"({"code":310,"extFields":{"e":NaN}})" + tail,
      R"({"code":310,"extFields":{"e":Infinity}})" + tail,
      R"({"code":310,"extFields":{"e":01}})" + tail,
      R"({"code":310,"extFields":{"e":-}})" + tail,
      R"({"code":310,"extFields":{"e":1}/*c*/})" + tail,
      std::string("{\"code\":310,\"extFields\":") + ext + tail.substr(0, 10) + '\0' +
          tail.substr(10),
      std::string("\0", 1),
      "",
      " ",
      "{",
      "}",
      "[]",
      "[{\"code\":310}]",
      "310",
      "\"code\"",
      "true",
      "null",
      "{}",
      R"({"code":310,"extFields":{},"extFields":)" + ext + tail,
      R"({"code":310,"extFields":)" + ext + R"(,"extFields":null)" + tail,
      "\xEF\xBB\xBF{\"code\":310}",
  };
  // Nesting around the recursion limit of the header parser (32) and far beyond it.
  for (int depth : {30, 31, 32, 33, 1000, 200000}) {
    std::string nest(static_cast<size_t>(depth), '[');
    std::string close(static_cast<size_t>(depth), ']');
    h.push_back(R"({"code":310,"x":)" + nest + close + ",\"extFields\":" + ext + tail);
    h.push_back(R"({"code":310,"x":)" + nest);  // unterminated
  }
  std::string objects;
  for (int i = 0; i < 5000; ++i) objects += "{\"a\":";
  h.push_back(R"({"code":310,"x":)" + objects);
  // Many keys, a long key, a long value.
  std::string many = "{";
  for (int i = 0; i < 20000; ++i) many += "\"k" + std::to_string(i) + "\":\"v\",";
  many += "\"e\":\"0\"}";
  h.push_back(R"({"code":310,"extFields":)" + many + tail);
  h.push_back(R"({"code":310,"extFields":{")" + std::string(1 << 20, 'k') + R"(":"v"}})" + tail);
  h.push_back(R"({"code":310,"extFields":{"b":")" + std::string(1 << 20, 'T') + R"("}})" + tail);
  return h;
}

// JSON header text mutated at one place (truncated, a byte changed, inserted or removed, or a
// JSON token spliced in).
std::string MutateJson(Barrage& b, std::string h) {
  static const std::vector<std::string> kTokens = {
      "{",   "}",  "[",    "]",    "\"", ":",  ",",    "null", "1e999", "-",
      "\\u", "\\", "\x01", "\xff", "{}", "[]", "\"\"", "0x1",  "true",  " "};
  size_t at = b.Uniform(0, h.size());
  switch (b.Uniform(0, 4)) {
    case 0:
      h.resize(at);
      break;
    case 1:
      if (at < h.size()) h[at] = static_cast<char>(b.Uniform(0, 255));
      break;
    case 2:
      h.insert(at, 1, static_cast<char>(b.Uniform(0, 255)));
      break;
    case 3:
      if (at < h.size()) h.erase(at, 1);
      break;
    default:
      h.insert(at, b.Pick(kTokens));
      break;
  }
  return h;
}

void JsonHeaderPhase(Barrage& b, const std::vector<RemotingCommand>& valid,
                     const std::string& ext) {
  const std::vector<std::string> structured = StructuredJsonHeaders(ext);
  for (size_t i = 0; i < structured.size() && b.ok(); ++i) {
    b.Stream(RawFrame(0, structured[i], "x"), "structured JSON header #" + std::to_string(i));
  }
  for (int i = 0; i < 700 && b.ok(); ++i) {
    const RemotingCommand& base = valid[static_cast<size_t>(i) % valid.size()];
    std::string header = MutateJson(b, HeaderOf(Encode(base, SerializeType::kJson)));
    b.Stream(RawFrame(0, header, base.body), "mutated JSON header #" + std::to_string(i));
  }
}

// ROCKETMQ headers: code(2) language(1) version(2) opaque(4) flag(4) remarkLen(4) remark
// extLen(4) { keyLen(2) key valLen(4) val }*. The lengths are set to hostile values.
void BinaryHeaderPhase(Barrage& b, const std::vector<RemotingCommand>& valid) {
  const std::vector<uint32_t> kInts = {
      0xFFFFFFFFu, 0x80000000u, 0x7FFFFFFFu, 0xFFFFFFu, 0x10000u, 0, 1, 2, 3, 4, 5, 16, 17, 100};
  int n = 0;
  for (size_t f = 0; f < valid.size() && b.ok(); ++f) {
    RemotingCommand cmd = valid[f];
    cmd.remark = "rr";
    if (cmd.ext_fields.empty()) cmd.SetExtField("x", "y");  // the cases below edit one field
    const std::string header = HeaderOf(Encode(cmd, SerializeType::kRocketMq));
    const size_t remark_at = 13;
    const size_t ext_at = 17 + 2;
    const size_t key_at = ext_at + 4;
    const size_t key_len =
        (static_cast<uint8_t>(header[key_at]) << 8) | static_cast<uint8_t>(header[key_at + 1]);
    const size_t val_at = key_at + 2 + key_len;
    auto put32 = [](std::string h, size_t at, uint32_t v) {
      h.replace(at, 4, Be32(v));
      return h;
    };
    std::vector<std::string> cases;
    for (uint32_t v : kInts) {
      cases.push_back(put32(header, remark_at, v));
      cases.push_back(put32(header, ext_at, v));
      cases.push_back(put32(header, val_at, v));
      std::string k = header;
      k.replace(key_at, 2, Be16(static_cast<uint16_t>(v)));
      cases.push_back(k);
    }
    for (uint32_t delta : {1u, 2u, 7u}) {
      uint32_t ext_len = static_cast<uint32_t>(header.size() - ext_at - 4);
      cases.push_back(put32(header, ext_at, ext_len + delta));
      cases.push_back(put32(header, ext_at, ext_len - delta));
      cases.push_back(put32(header, remark_at, 2 + delta));
    }
    cases.push_back(header + "junk");       // bytes after the extFields
    cases.push_back(header.substr(0, 16));  // shorter than the fixed part
    for (size_t cut = 0; cut < header.size(); cut += 1 + header.size() / 40) {
      cases.push_back(header.substr(0, cut));  // header cut short (frame lengths consistent)
    }
    std::string lang = header;
    lang[2] = '\xFF';  // unknown LanguageCode: decoded as OTHER
    cases.push_back(lang);
    std::string code = header;
    code[0] = '\xFF';  // negative code
    code[1] = '\xFF';
    cases.push_back(code);
    for (int i = 0; i < 120; ++i) {  // random overwrites of 1, 2 or 4 bytes
      std::string h = header;
      size_t width = std::vector<size_t>{1, 2, 4}[b.Uniform(0, 2)];
      size_t at = b.Uniform(0, h.size() - width);
      h.replace(at, width, width == 4 ? Be32(b.Pick(kInts)) : b.RandomBytes(width));
      cases.push_back(h);
    }
    for (const std::string& h : cases) {
      if (!b.ok()) break;
      b.Stream(RawFrame(1, h, cmd.body), "ROCKETMQ header case #" + std::to_string(n++));
    }
  }
}

// Hundreds of connections at once, each stopped inside a frame, then dropped (odd ones with a
// RST). The server must just forget them.
void ManyConnectionsPhase(Barrage& b, Daemon& d, const std::vector<RemotingCommand>& valid,
                          Client& bystander) {
  for (int round = 0; round < 3 && b.ok(); ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 250; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ASSERT_GE(fd, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(d.port()));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(fd);
        b.Fail("many connections", std::string("connect: ") + strerror(errno));
        break;
      }
      fds.push_back(fd);
      std::string bytes;
      if (i % 5 == 0) {
        // A frame that announces nearly the limit and delivers 64 KiB of it.
        bytes = Be32(static_cast<uint32_t>(kMaxFrame - 4)) + Be32(0) + std::string(65536, '\0');
      } else {
        std::string frame = Encode(valid[b.Uniform(0, valid.size() - 1)],
                                   b.Chance(0.5) ? SerializeType::kJson : SerializeType::kRocketMq);
        bytes = frame.substr(0, b.Uniform(1, frame.size() - 1));
      }
      size_t done = 0;
      while (done < bytes.size()) {
        ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (i % 2 == 1) {
        linger l{1, 0};
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      }
      close(fds[i]);
    }
    b.Probe(bystander, "bystander after many dropped connections, round " + std::to_string(round));
  }
}

// Counts lines of log that contain needle.
int CountLines(const std::string& log, const std::string& needle) {
  int n = 0;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

// The log has a reason after every "closing connection ... : "; no sanitizer report; and as many
// "malformed frame" closes as the codec predicted.
void CheckLog(Daemon& d, int expected_malformed) {
  std::string log = d.Log();
  for (const char* bad :
       {"AddressSanitizer", "LeakSanitizer", "runtime error", "terminate called"}) {
    EXPECT_EQ(log.find(bad), std::string::npos) << d.name() << " stderr reports " << bad << ":\n"
                                                << d.LogTail();
  }
  const int closes = CountLines(log, "closing connection");
  const int malformed = CountLines(log, "malformed frame");
  std::printf("[ robust   ] %s logged %d connection closes, %d of them for a malformed frame\n",
              d.name().c_str(), closes, malformed);
  if (closes == 0) {
    std::printf("[ robust   ] %s logs no reason for closed connections\n", d.name().c_str());
    return;
  }
  EXPECT_EQ(malformed, expected_malformed)
      << d.name() << " should log one 'malformed frame' reason per connection it closed for one";
  std::istringstream in(log);
  std::string line;
  int without_reason = 0;
  while (std::getline(in, line)) {
    size_t at = line.find("closing connection");
    if (at == std::string::npos) continue;
    size_t colon = line.find("): ", at);
    if (colon == std::string::npos || colon + 3 >= line.size()) ++without_reason;
  }
  EXPECT_EQ(without_reason, 0) << d.name() << " logged closes without a reason";
}

// ---------------------------------------------------------------------------------------------
// Record parsing (CommitLog layout; remoting spec 5.5) for the final pull check.

uint64_t Be(const std::string& b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}

struct Record {
  int64_t queue_offset = 0;
  std::string body;
  std::string topic;
};

std::vector<Record> ParseRecords(const std::string& body) {
  std::vector<Record> out;
  size_t p = 0;
  while (p + 4 <= body.size()) {
    size_t size = Be(body, p, 4);
    if (size < 60 || p + size > body.size()) {
      ADD_FAILURE() << "bad record size " << size << " at " << p;
      break;
    }
    Record r;
    size_t q = p + 20;
    r.queue_offset = static_cast<int64_t>(Be(body, q, 8));
    q += 16;
    int32_t sys_flag = static_cast<int32_t>(Be(body, q, 4));
    q += 4 + 8;
    q += (sys_flag & 0x10) ? 20 : 8;
    q += 8;
    q += (sys_flag & 0x20) ? 20 : 8;
    q += 4 + 8;
    size_t body_len = Be(body, q, 4);
    r.body = body.substr(q + 4, body_len);
    q += 4 + body_len;
    size_t topic_len = Be(body, q, 1);
    r.topic = body.substr(q + 1, topic_len);
    out.push_back(std::move(r));
    p += size;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

// The daemon binaries: this build's, unless the environment names others (e.g. a Release build,
// to read memory figures without the sanitizers' allocator).
std::string ProgramPath(const char* env, const char* built) {
  const char* v = std::getenv(env);
  return v != nullptr && *v != '\0' ? v : built;
}

class RobustnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    start_ = Clock::now();
    dir_ =
        std::filesystem::temp_directory_path() / ("robustness-" + std::to_string(getpid()) + "-" +
                                                  std::to_string(brokerd::net::FreeLoopbackPort()));
    std::filesystem::create_directories(dir_);
    namesrv_ = std::make_unique<Daemon>("namesrvd",
                                        ProgramPath("RS_ROBUST_NAMESRVD", RS_NAMESRVD_PATH), dir_);
    ASSERT_TRUE(namesrv_->Start("kvConfigPath=" + (dir_ / "kvConfig.json").string() + "\n"))
        << "namesrvd did not start:\n"
        << namesrv_->LogTail();
    broker_ = std::make_unique<Daemon>("brokerd", ProgramPath("RS_ROBUST_BROKERD", RS_BROKERD_PATH),
                                       dir_);
    ASSERT_TRUE(broker_->Start(
        "brokerName=broker-a\nbrokerIP1=127.0.0.1\nstorePathRootDir=" + (dir_ / "store").string() +
        "\nflushDiskType=ASYNC_FLUSH\nmappedFileSizeCommitLog=8388608\n"
        "mappedFileSizeConsumeQueue=60000\nnamesrvAddr=127.0.0.1:" +
        std::to_string(namesrv_->port()) + "\n"))
        << "brokerd did not start:\n"
        << broker_->LogTail();
  }
  void TearDown() override {
    broker_.reset();
    namesrv_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void Phase(const char* name) {
    const double s = std::chrono::duration<double>(Clock::now() - start_).count();
    std::printf("[ robust   ] %6.2f s  %s\n", s, name);
    std::fflush(stdout);
  }

  // SIGTERM: both daemons must exit 0 (a clean shutdown after everything they saw).
  void ExpectCleanStop(Daemon& d) {
    int status = d.Stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << d.name() << " did not exit 0 on SIGTERM (wait status " << status << "):\n"
        << d.LogTail();
  }

  Clock::time_point start_;
  std::filesystem::path dir_;
  std::unique_ptr<Daemon> namesrv_;
  std::unique_ptr<Daemon> broker_;
};

// GET_MAX_OFFSET of a queue, polled (bounded) until it reaches want (dispatch to the
// ConsumeQueue is asynchronous); -1 when the broker does not answer.
int64_t MaxOffset(Daemon& d, const std::string& topic, int queue_id, int64_t want) {
  Client c;
  if (!c.Connect("127.0.0.1", d.port(), kIo).ok()) return -1;
  RemotingCommand max = Request(30, {{"topic", topic}, {"queueId", std::to_string(queue_id)}});
  int64_t stored = -1;
  for (int i = 0; i < 100 && stored < want; ++i) {
    if (i > 0) std::this_thread::sleep_for(milliseconds(20));
    max.opaque = i + 1;
    absl::StatusOr<RemotingCommand> r = c.Call(max, kIo);
    if (!r.ok() || r->FindExtField("offset") == nullptr) return -1;
    stored = std::stoll(*r->FindExtField("offset"));
  }
  return stored;
}

// Valid requests of the broker used as mutation bases.
std::vector<RemotingCommand> BrokerValidRequests() {
  return {SendV2("TruncTopic", 0, "truncation body"), Pull("TruncTopic", 0, 0),
          Request(34, {}, kHeartbeatBody), SendBatch(BatchBody({{"b0", ""}, {"b1", ""}}))};
}

// Single-field mutations of well-formed requests: a field set to a bad value or removed, junk
// extra fields. Integer fields that the broker reads must reject non-integers with an error.
std::vector<Req> BrokerBadFieldRequests(Barrage& b, int count) {
  enum Kind { kStr, kInt, kBool, kIgnored };
  struct Template {
    RemotingCommand cmd;
    std::vector<std::pair<std::string, Kind>> fields;
    std::vector<std::string> required;
  };
  std::vector<Template> templates = {
      {SendV2("RobustTopic", 1, "field fuzz"),
       {{"a", kStr},
        {"b", kStr},
        {"c", kStr},
        {"d", kInt},
        {"e", kInt},
        {"f", kInt},
        {"g", kInt},
        {"h", kInt},
        {"i", kStr},
        {"j", kInt},
        {"k", kIgnored},
        {"m", kBool},
        {"n", kIgnored}},
       {"a", "b", "c", "d", "e", "f", "g", "h"}},
      {Request(10,
               {{"producerGroup", "pg"},
                {"topic", "RobustTopic"},
                {"defaultTopic", "TBW102"},
                {"defaultTopicQueueNums", "4"},
                {"queueId", "2"},
                {"sysFlag", "0"},
                {"bornTimestamp", "1700000000000"},
                {"flag", "0"},
                {"properties", std::string("TAGS\x01t")},
                {"reconsumeTimes", "0"},
                {"unitMode", "false"},
                {"batch", "false"}},
               "v1 field fuzz"),
       {{"producerGroup", kStr},
        {"topic", kStr},
        {"defaultTopic", kStr},
        {"defaultTopicQueueNums", kInt},
        {"queueId", kInt},
        {"sysFlag", kInt},
        {"bornTimestamp", kInt},
        {"flag", kInt},
        {"properties", kStr},
        {"reconsumeTimes", kInt},
        {"unitMode", kIgnored},
        {"batch", kBool}},
       {"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag",
        "bornTimestamp", "flag"}},
      {Pull("RobustTopic", 1, 0),
       {{"consumerGroup", kStr},
        {"topic", kStr},
        {"queueId", kInt},
        {"queueOffset", kInt},
        {"maxMsgNums", kInt},
        {"sysFlag", kInt},
        {"commitOffset", kInt},
        {"subscription", kStr},
        {"subVersion", kIgnored}},
       {"consumerGroup", "topic", "queueId", "queueOffset"}},
      {Request(14, {{"consumerGroup", "cg"}, {"topic", "RobustTopic"}, {"queueId", "1"}}),
       {{"consumerGroup", kStr}, {"topic", kStr}, {"queueId", kInt}},
       {"consumerGroup", "topic", "queueId"}},
      {Request(15, {{"consumerGroup", "cg"},
                    {"topic", "RobustTopic"},
                    {"queueId", "1"},
                    {"commitOffset", "1"}}),
       {{"consumerGroup", kStr}, {"topic", kStr}, {"queueId", kInt}, {"commitOffset", kInt}},
       {"consumerGroup", "topic", "queueId", "commitOffset"}},
      {Request(30, {{"topic", "RobustTopic"}, {"queueId", "1"}}),
       {{"topic", kStr}, {"queueId", kInt}},
       {"topic", "queueId"}},
      {Request(31, {{"topic", "RobustTopic"}, {"queueId", "1"}}),
       {{"topic", kStr}, {"queueId", kInt}},
       {"topic", "queueId"}},
      {Request(32, {{"topic", "RobustTopic"}, {"queueId", "1"}}),
       {{"topic", kStr}, {"queueId", kInt}},
       {"topic", "queueId"}},
      {Request(29, {{"topic", "RobustTopic"}, {"queueId", "1"}, {"timestamp", "0"}}),
       {{"topic", kStr}, {"queueId", kInt}, {"timestamp", kInt}},
       {"topic", "queueId", "timestamp"}},
      {Request(33, {{"offset", "0"}}), {{"offset", kInt}}, {"offset"}},
      {Request(12, {{"topic", "RobustTopic"},
                    {"key", "k"},
                    {"maxNum", "32"},
                    {"beginTimestamp", "0"},
                    {"endTimestamp", "9223372036854775807"}}),
       {{"topic", kStr},
        {"key", kStr},
        {"maxNum", kInt},
        {"beginTimestamp", kInt},
        {"endTimestamp", kInt}},
       {"topic", "key", "maxNum", "beginTimestamp", "endTimestamp"}},
      {Request(38, {{"consumerGroup", "rg"}}), {{"consumerGroup", kStr}}, {"consumerGroup"}},
      {Request(35, {{"clientID", "10.0.0.9@nobody"}, {"consumerGroup", "nogroup"}}),
       {{"clientID", kIgnored}, {"consumerGroup", kIgnored}},
       {}},
  };
  const std::vector<std::string> kNotInts = {"abc",
                                             "",
                                             "1.5",
                                             "1e3",
                                             " 1",
                                             "1 ",
                                             "0x10",
                                             "true",
                                             "99999999999999999999",
                                             "-9223372036854775809",
                                             "\xff\xfe",
                                             "--1",
                                             "+",
                                             "1_000",
                                             std::string(5000, '9')};
  const std::vector<std::string> kEdgeInts = {"-1",
                                              "0",
                                              "2147483647",
                                              "-2147483648",
                                              "2147483648",
                                              "9223372036854775807",
                                              "-9223372036854775808",
                                              "+3",
                                              "-0",
                                              "007"};
  const std::vector<std::string> kNotBools = {"abc", "", "1", "0", "yes", "truee", " true"};
  const std::vector<std::string> kStrings = {"",
                                             " ",
                                             "a b",
                                             "%RETRY%rg",
                                             "%DLQ%rg",
                                             "TBW102",
                                             "SCHEDULE_TOPIC_XXXX",
                                             "../../etc",
                                             "\"quoted\"",
                                             "\x01\x02\x1f",
                                             "\xc3\xbc\xe2\x82\xac",
                                             "*",
                                             "a || b",
                                             std::string(200, 'T'),
                                             std::string(70000, 'L')};
  std::vector<Req> out;
  for (int i = 0; i < count; ++i) {
    const Template& t = b.Pick(templates);
    Req r;
    r.cmd = t.cmd;
    r.type = b.Chance(0.5) ? SerializeType::kJson : SerializeType::kRocketMq;
    const auto& [field, kind] = b.Pick(t.fields);
    const bool required =
        std::find(t.required.begin(), t.required.end(), field) != t.required.end();
    switch (b.Uniform(0, 5)) {
      case 0:  // removed
        r.cmd.ext_fields.Erase(field);
        r.expect = required ? kAnyError : kAnyCode;
        break;
      case 1:
      case 2:  // not a value of its type
        if (kind == kInt) {
          r.cmd.SetExtField(field, b.Pick(kNotInts));
          r.expect = kAnyError;
        } else if (kind == kBool) {
          r.cmd.SetExtField(field, b.Pick(kNotBools));
          r.expect = kAnyError;
        } else {
          r.cmd.SetExtField(field, b.Pick(kStrings));
        }
        break;
      case 3:  // a valid but extreme number
        r.cmd.SetExtField(field, b.Pick(kEdgeInts));
        break;
      case 4:  // junk extra fields
        for (int k = 0; k < 5; ++k) {
          r.cmd.SetExtField("x" + std::to_string(b.Uniform(0, 1000)), b.Pick(kStrings));
        }
        break;
      default:  // a random body
        r.cmd.body = b.RandomBytes(b.Uniform(0, 2000));
        break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

// Bodies that are garbage for their request code.
std::vector<Req> BrokerBadBodyRequests(Barrage& b) {
  std::vector<Req> out;
  auto add = [&](RemotingCommand cmd, int32_t expect) {
    for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
      Req r;
      r.cmd = cmd;
      r.expect = expect;
      r.type = type;
      out.push_back(r);
    }
  };
  const std::string hb = kHeartbeatBody;
  // Heartbeats: junk, cut, wrong types, deep nesting.
  std::vector<std::string> junk = {"",
                                   "{",
                                   "}",
                                   "[]",
                                   "null",
                                   "42",
                                   "\"s\"",
                                   "{\"clientID\":5}",
                                   "{\"clientID\":null}",
                                   "not json at all",
                                   "\xff\xfe\xfd",
                                   std::string(100000, '['),
                                   std::string(100000, '{'),
                                   "{\"clientID\":\"x\"" + std::string(50000, ' ') + ","};
  for (int i = 0; i < 40; ++i) junk.push_back(b.RandomBytes(b.Uniform(1, 3000)));
  for (size_t cut = 1; cut < hb.size(); cut += 7) junk.push_back(hb.substr(0, cut));
  for (const std::string& body : junk) add(Request(34, {}, body), kAnyError);
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  add(Request(34, {}, deep), kAnyError);  // valid JSON, not an object
  add(Request(34, {}, R"({"clientID":"x","consumerDataSet":)" + deep + "}"), kAnyCode);
  add(Request(34, {}, R"({"clientID":"x","consumerDataSet":"s","producerDataSet":7})"), kAnyCode);
  add(Request(
          34, {},
          R"({"clientID":"x","consumerDataSet":[1,null,[],{"groupName":5},)"
          R"({"groupName":"g","subscriptionDataSet":[1,{"topic":7},{"topic":"t","subString":[]}]}]})"),
      kAnyCode);
  std::string wide = R"({"clientID":"x","consumerDataSet":[)";
  for (int i = 0; i < 500; ++i) {
    wide += std::string(i ? "," : "") + R"({"groupName":"g)" + std::to_string(i % 50) +
            R"(","subscriptionDataSet":[{"topic":"RobustTopic","subString":"a||b"}]})";
  }
  add(Request(34, {}, wide + "]}"), kAnyCode);
  // Batches: every cut of a valid batch (a cut on a message boundary is a shorter valid batch),
  // random garbage, lengths that lie.
  std::vector<size_t> bounds;
  const std::string batch =
      BatchBody({{"one", std::string("KEYS\x01k1")}, {"two", ""}, {"three", "x"}}, &bounds);
  for (size_t cut = 0; cut < batch.size(); ++cut) {
    bool boundary = std::find(bounds.begin(), bounds.end(), cut) != bounds.end();
    add(SendBatch(batch.substr(0, cut)), boundary ? kAnyCode : rc::kMessageIllegal);
  }
  for (int i = 0; i < 30; ++i) add(SendBatch(b.RandomBytes(b.Uniform(1, 500))), kAnyError);
  for (uint32_t lie : {0u, 1u, 21u, 23u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    std::string body = BatchBody({{"lie", ""}});
    std::string total = body;
    total.replace(0, 4, Be32(lie));
    add(SendBatch(total), rc::kMessageIllegal);
    std::string body_len = body;
    body_len.replace(16, 4, Be32(lie));
    add(SendBatch(body_len), lie == 3 ? kAnyCode : rc::kMessageIllegal);
    std::string props_len = body;
    props_len.replace(body.size() - 2, 2, Be16(static_cast<uint16_t>(lie)));
    add(SendBatch(props_len), lie == 0 ? kAnyCode : rc::kMessageIllegal);
  }
  // Queue locks and other codes with junk bodies.
  const std::vector<std::string> lock_junk = {
      "",
      "{",
      "not json",
      "[]",
      "{\"consumerGroup\":5}",
      R"({"consumerGroup":"g","clientId":"c","mqSet":"x"})",
      R"({"consumerGroup":"g","clientId":"c","mqSet":[{"topic":7,"brokerName":[],"queueId":"a"}]})",
      std::string(100000, '['),
      b.RandomBytes(700)};
  for (int32_t code : {41, 42}) {
    for (size_t i = 0; i < lock_junk.size(); ++i) {
      add(Request(code, {}, lock_junk[i]), i < 5 || i >= 7 ? kAnyError : kAnyCode);
    }
  }
  for (int32_t code : {36,  37,  17,  25,  26,  28,  21,  46,  200, 201, 202,   203,   208,
                       215, 220, 222, 322, 324, 325, 103, 105, -1,  0,   32767, 65535, 1 << 20}) {
    RemotingCommand cmd =
        Request(code, {{"topic", "RobustTopic"}, {"group", "rg"}, {"offset", "abc"}},
                b.RandomBytes(b.Uniform(0, 200)));
    if (code > 32767 || code < -32768) {  // not encodable in a ROCKETMQ header: JSON only
      Req r;
      r.cmd = cmd;
      out.push_back(r);
    } else {
      add(cmd, kAnyCode);
    }
  }
  return out;
}

TEST_F(RobustnessTest, BrokerSurvivesMalformedFramesAndBadRequests) {
  Daemon& d = *broker_;
  Barrage b(&d, kSeed);
  Client bystander;
  ASSERT_TRUE(bystander.Connect("127.0.0.1", d.port(), kIo).ok());
  ASSERT_TRUE(b.Probe(bystander, "bystander at start"));
  const long rss_start = d.RssKb();
  const std::vector<RemotingCommand> valid = BrokerValidRequests();

  Phase("broker: random bytes and garbage headers");
  RandomBytePhase(b);
  b.Probe(bystander, "bystander after random bytes");
  Phase("broker: length fields, serialize types, header lengths");
  LengthFieldPhase(b);
  b.Probe(bystander, "bystander after length fields");
  Phase("broker: every prefix of SEND_MESSAGE_V2 / PULL_MESSAGE / HEART_BEAT / batch frames");
  TruncationPhase(b, valid);
  b.Probe(bystander, "bystander after truncated frames");
  // No prefix was stored: the queues hold the whole frames only (one SEND_MESSAGE_V2 and one
  // two-message batch in each header type).
  EXPECT_EQ(MaxOffset(d, "TruncTopic", 0, 2), 2) << "a truncated send was stored";
  EXPECT_EQ(MaxOffset(d, "RobustBatch", 0, 4), 4) << "a truncated batch was stored";
  Phase("broker: malformed JSON headers");
  JsonHeaderPhase(b, valid,
                  R"({"a":"pg","b":"JsonTopic","c":"TBW102","d":"4","e":"0","f":"0",)"
                  R"("g":"1700000000000","h":"0"})");
  b.Probe(bystander, "bystander after JSON headers");
  Phase("broker: ROCKETMQ headers with bad inner lengths");
  BinaryHeaderPhase(b, valid);
  b.Probe(bystander, "bystander after ROCKETMQ headers");

  Phase("broker: frames at and over the 16 MiB limit");
  {
    // Exactly the limit: a heartbeat whose body is junk (answered with an error); one byte more
    // closes the connection.
    RemotingCommand hb = Request(34, {});
    hb.opaque = 4242;
    const size_t header = HeaderOf(Encode(hb, SerializeType::kJson)).size();
    hb.body = std::string(kMaxFrame - 8 - header, 'j');
    std::string frame = Encode(hb, SerializeType::kJson);
    ASSERT_EQ(frame.size(), kMaxFrame);
    b.Stream(frame, "heartbeat frame of exactly 16 MiB");
    hb.body.push_back('j');
    b.Stream(Encode(hb, SerializeType::kJson), "heartbeat frame of 16 MiB + 1");
    RemotingCommand send = SendV2("RobustTopic", 0, std::string(kMaxFrame, 'b'));
    b.Stream(Encode(send, SerializeType::kRocketMq), "send frame over 16 MiB");
    b.Probe(bystander, "bystander after 16 MiB frames");
  }

  Phase("broker: well-formed requests with bad fields (pipelined)");
  {
    b.ResetFailures();
    // The cases the issue names, with their exact answers.
    std::vector<Req> named;
    auto named_req = [&](RemotingCommand cmd, int32_t expect) {
      for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
        named.push_back(Req{cmd, expect, type});
      }
    };
    RemotingCommand abc = SendV2("RobustTopic", 0, "x");
    abc.SetExtField("e", "abc");
    named_req(abc, rc::kSystemError);
    RemotingCommand no_topic = SendV2("RobustTopic", 0, "x");
    no_topic.ext_fields.Erase("b");
    named_req(no_topic, rc::kSystemError);
    RemotingCommand pull_abc = Pull("RobustTopic", 0, 0);
    pull_abc.SetExtField("queueId", "abc");
    named_req(pull_abc, rc::kSystemError);
    RemotingCommand pull_no_topic = Pull("RobustTopic", 0, 0);
    pull_no_topic.ext_fields.Erase("topic");
    named_req(pull_no_topic, rc::kSystemError);
    named_req(Request(34, {}, "{\"clientID\": junk"), rc::kSystemError);
    named_req(Request(41, {}, "junk"), kAnyError);
    named_req(Request(12345, {}), rc::kRequestCodeNotSupported);
    std::string cut = BatchBody({{"xyz", ""}});
    cut.pop_back();
    named_req(SendBatch(cut), rc::kMessageIllegal);
    b.Pipelined(named, "named bad requests");
    std::vector<Req> fields = BrokerBadFieldRequests(b, 1600);
    for (size_t at = 0; at < fields.size() && b.ok(); at += 50) {
      std::vector<Req> batch(
          fields.begin() + static_cast<std::ptrdiff_t>(at),
          fields.begin() + static_cast<std::ptrdiff_t>(std::min(at + 50, fields.size())));
      b.Pipelined(std::move(batch), "bad fields, batch at " + std::to_string(at));
    }
  }
  Phase("broker: bodies that are garbage for their code (pipelined)");
  {
    std::vector<Req> bodies = BrokerBadBodyRequests(b);
    for (size_t at = 0; at < bodies.size() && b.ok(); at += 40) {
      std::vector<Req> batch(
          bodies.begin() + static_cast<std::ptrdiff_t>(at),
          bodies.begin() + static_cast<std::ptrdiff_t>(std::min(at + 40, bodies.size())));
      b.Pipelined(std::move(batch), "bad bodies, batch at " + std::to_string(at));
    }
    b.Probe(bystander, "bystander after bad requests");
  }

  Phase("broker: a frame one byte per send; hundreds of connections dropped mid-frame");
  if (b.ok()) {
    Client slow;
    ASSERT_TRUE(slow.Connect("127.0.0.1", d.port(), kIo).ok());
    RemotingCommand send = SendV2("SlowTopic", 0, "slow");
    send.opaque = 77;
    std::string frame = Encode(send, SerializeType::kJson);
    for (char c : frame) ASSERT_TRUE(slow.SendRaw(std::string_view(&c, 1)).ok());
    absl::StatusOr<RemotingCommand> r = slow.Read(kIo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->opaque, 77);
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
  }
  ManyConnectionsPhase(b, d, valid, bystander);

  Phase("broker: health check");
  ASSERT_TRUE(d.Alive()) << "brokerd died (" << d.DescribeExit() << "):\n" << d.LogTail();
  ASSERT_FALSE(b.dead());
  EXPECT_TRUE(b.Probe(bystander, "bystander at the end"));
  // A normal client: pipelined sends, pulled back with identical bodies.
  {
    std::mt19937_64 rng(kSeed + 1);
    std::vector<std::string> bodies = {"a", "hello", std::string("\0\x01\x02\xff", 4),
                                       std::string(100, 'x'), std::string(1024, 'y')};
    for (size_t n : {7, 300, 4096, 65536, 200000}) {
      std::string s(n, '\0');
      for (char& ch : s) ch = static_cast<char>(rng());
      bodies.push_back(s);
    }
    Client c;
    ASSERT_TRUE(c.Connect("127.0.0.1", d.port(), kIo).ok());
    std::string out;
    std::map<int32_t, size_t> pending;
    for (size_t i = 0; i < bodies.size(); ++i) {
      RemotingCommand send = SendV2("RobustCheck", 0, bodies[i]);
      send.opaque = 1000 + static_cast<int32_t>(i);
      out += Encode(send, i % 2 ? SerializeType::kRocketMq : SerializeType::kJson);
      pending[send.opaque] = i;
    }
    ASSERT_TRUE(c.SendRaw(out).ok());
    std::map<int64_t, size_t> by_offset;
    while (!pending.empty()) {
      absl::StatusOr<RemotingCommand> r = c.Read(kIo);
      ASSERT_TRUE(r.ok()) << r.status();
      auto it = pending.find(r->opaque);
      ASSERT_NE(it, pending.end()) << r->opaque;
      ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
      by_offset[std::stoll(*r->FindExtField("queueOffset"))] = it->second;
      pending.erase(it);
    }
    ASSERT_EQ(by_offset.size(), bodies.size());
    std::vector<Record> records;
    int64_t next = 0;
    for (int i = 0; i < 300 && records.size() < bodies.size(); ++i) {
      RemotingCommand pull = Pull("RobustCheck", 0, next);
      pull.opaque = 2000 + i;
      absl::StatusOr<RemotingCommand> r = c.Call(pull, kIo);
      ASSERT_TRUE(r.ok()) << r.status();
      if (r->code == rc::kSuccess) {
        for (Record& rec : ParseRecords(r->body)) records.push_back(std::move(rec));
        next = std::stoll(*r->FindExtField("nextBeginOffset"));
      } else {
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
    ASSERT_EQ(records.size(), bodies.size());
    for (const Record& rec : records) {
      ASSERT_TRUE(by_offset.count(rec.queue_offset)) << rec.queue_offset;
      EXPECT_EQ(rec.topic, "RobustCheck");
      EXPECT_TRUE(rec.body == bodies[by_offset[rec.queue_offset]])
          << "body at queue offset " << rec.queue_offset << " differs";
    }
  }
  const long rss_end = d.RssKb();
  std::printf(
      "[ robust   ] brokerd: %d streams (%d closed as malformed), %d requests answered; "
      "RSS %ld -> %ld KiB\n",
      b.streams(), b.expected_closes(), b.requests_answered(), rss_start, rss_end);
  EXPECT_LT(rss_end - rss_start, kMaxGrowthKb) << "brokerd grew by more than 256 MiB";
  CheckLog(d, b.expected_closes());
  ExpectCleanStop(d);
  Phase("broker: done");
}

// ---------------------------------------------------------------------------------------------
// Name server.

std::vector<RemotingCommand> NamesrvValidRequests() {
  return {Request(105, {{"topic", "TBW102"}}), RegisterBroker("broker-fuzz", kRegisterBody),
          Request(106, {}),
          Request(104, {{"brokerAddr", "127.0.0.9:10911"},
                        {"brokerId", "0"},
                        {"brokerName", "broker-fuzz"},
                        {"clusterName", "FuzzCluster"}})};
}

std::vector<Req> NamesrvBadRequests(Barrage& b) {
  std::vector<Req> out;
  auto add = [&](RemotingCommand cmd, int32_t expect) {
    for (SerializeType type : {SerializeType::kJson, SerializeType::kRocketMq}) {
      out.push_back(Req{cmd, expect, type});
    }
  };
  // Named cases.
  RemotingCommand no_name = RegisterBroker("broker-fuzz", kRegisterBody);
  no_name.ext_fields.Erase("brokerName");
  add(no_name, rc::kSystemError);
  RemotingCommand bad_id = RegisterBroker("broker-fuzz", kRegisterBody);
  bad_id.SetExtField("brokerId", "abc");
  add(bad_id, rc::kSystemError);
  RemotingCommand bad_crc = RegisterBroker("broker-fuzz", kRegisterBody);
  bad_crc.SetExtField("bodyCrc32", "12345");
  add(bad_crc, rc::kSystemError);
  add(Request(105, {}), rc::kSystemError);
  add(Request(105, {{"topic", std::string(100000, 'q')}}), rc::kTopicNotExist);
  add(Request(104, {{"brokerAddr", "x"}}), rc::kSystemError);
  // Register bodies: junk JSON, wrong types, and "compressed" bodies that are not zlib, are cut,
  // hold a truncated inner encoding or inflate beyond the limit.
  std::vector<std::string> junk = {
      "{",
      "not json",
      "[]",
      "\xff",
      std::string(100000, '['),
      R"({"topicConfigSerializeWrapper":5})",
      R"({"topicConfigSerializeWrapper":{"topicConfigTable":[]}})",
      R"({"topicConfigSerializeWrapper":{"topicConfigTable":{"t":5,"u":{"readQueueNums":"x","perm":[]}}},"filterServerList":{}})",
      R"({"topicConfigSerializeWrapper":{"dataVersion":"x","topicConfigTable":{"t":{"topicName":7}}}})"};
  for (int i = 0; i < 20; ++i) junk.push_back(b.RandomBytes(b.Uniform(1, 1000)));
  for (const std::string& body : junk) {
    add(RegisterBroker("broker-junk", body), kAnyCode);
    RemotingCommand compressed = RegisterBroker("broker-junk", body);
    compressed.SetExtField("compressed", "true");
    add(compressed, kAnyError);
  }
  const std::string inner =
      Be32(5) + "{\"a\"" + Be32(3) + Be32(14) + "FuzzT 4 4 6 0" + Be32(2) + "[]";
  std::vector<std::string> zbodies = {Zlib(inner).substr(0, 10),
                                      Zlib(inner.substr(0, 11)),
                                      Zlib(Be32(2) + "{}" + Be32(0x7FFFFFFF)),
                                      Zlib(Be32(0xFFFFFFFF)),
                                      Zlib(""),
                                      Zlib(inner) + "trailing"};
  for (const std::string& body : zbodies) {
    RemotingCommand compressed = RegisterBroker("broker-zlib", body);
    compressed.SetExtField("compressed", "true");
    add(compressed, kAnyCode);
  }
  {
    // Inflates to 80 MiB: over the 64 MiB limit.
    RemotingCommand bomb = RegisterBroker("broker-bomb", Zlib(std::string(80u << 20, '\0')));
    bomb.SetExtField("compressed", "true");
    add(bomb, rc::kSystemError);
  }
  // Single-field mutations.
  const std::vector<std::string> kValues = {
      "",    "abc",  "-1", "9223372036854775807", "99999999999999999999",
      "1.5", "true", " ",  "127.0.0.1:notaport",  std::string(5000, 'v')};
  const std::vector<RemotingCommand> bases = NamesrvValidRequests();
  for (int i = 0; i < 600; ++i) {
    RemotingCommand cmd = b.Pick(bases);
    if (cmd.code == 103) cmd.SetExtField("brokerName", "broker-mut");
    if (cmd.code == 104) cmd.SetExtField("brokerName", "broker-mut");
    std::vector<std::string> names;
    for (const auto& [k, v] : cmd.ext_fields) names.push_back(k);
    names.push_back("extra");
    const std::string& field = b.Pick(names);
    if (b.Chance(0.3)) {
      cmd.ext_fields.Erase(field);
    } else {
      cmd.SetExtField(field, b.Pick(kValues));
    }
    if (b.Chance(0.2)) cmd.body = b.RandomBytes(b.Uniform(0, 500));
    out.push_back(
        Req{cmd, kAnyCode, b.Chance(0.5) ? SerializeType::kJson : SerializeType::kRocketMq});
  }
  for (int32_t code : {100, 101, 102, 107, 206, 216, 224, 0, -5, 310, 11, 34}) {
    add(Request(code, {{"namespace", "ns"}, {"key", "k"}, {"value", "v"}, {"topic", "t"}},
                b.RandomBytes(b.Uniform(0, 100))),
        kAnyCode);
  }
  return out;
}

TEST_F(RobustnessTest, NameServerSurvivesMalformedFramesAndBadRequests) {
  Daemon& d = *namesrv_;
  Barrage b(&d, kSeed + 2);
  Client bystander;
  ASSERT_TRUE(bystander.Connect("127.0.0.1", d.port(), kIo).ok());
  ASSERT_TRUE(b.Probe(bystander, "bystander at start"));
  const long rss_start = d.RssKb();
  const std::vector<RemotingCommand> valid = NamesrvValidRequests();

  Phase("namesrv: random bytes and garbage headers");
  RandomBytePhase(b);
  Phase("namesrv: length fields, serialize types, header lengths");
  LengthFieldPhase(b);
  b.Probe(bystander, "bystander after length fields");
  Phase("namesrv: every prefix of GET_ROUTEINFO_BY_TOPIC / REGISTER_BROKER / ... frames");
  TruncationPhase(b, valid);
  Phase("namesrv: malformed JSON headers");
  JsonHeaderPhase(b, {valid[0], valid[2]}, R"({"topic":"TBW102"})");
  Phase("namesrv: ROCKETMQ headers with bad inner lengths");
  BinaryHeaderPhase(b, {valid[0], valid[2]});
  b.Probe(bystander, "bystander after headers");
  Phase("namesrv: well-formed requests with bad fields and bodies (pipelined)");
  b.ResetFailures();
  {
    std::vector<Req> reqs = NamesrvBadRequests(b);
    for (size_t at = 0; at < reqs.size() && b.ok(); at += 40) {
      std::vector<Req> batch(
          reqs.begin() + static_cast<std::ptrdiff_t>(at),
          reqs.begin() + static_cast<std::ptrdiff_t>(std::min(at + 40, reqs.size())));
      b.Pipelined(std::move(batch), "bad requests, batch at " + std::to_string(at));
    }
  }
  Phase("namesrv: hundreds of connections dropped mid-frame");
  ManyConnectionsPhase(b, d, valid, bystander);

  Phase("namesrv: health check");
  ASSERT_TRUE(d.Alive()) << "namesrvd died (" << d.DescribeExit() << "):\n" << d.LogTail();
  ASSERT_FALSE(b.dead());
  EXPECT_TRUE(b.Probe(bystander, "bystander at the end"));
  // The real broker is still registered and its routes are served.
  {
    Client c;
    ASSERT_TRUE(c.Connect("127.0.0.1", d.port(), kIo).ok());
    const std::string addr = "127.0.0.1:" + std::to_string(broker_->port());
    RemotingCommand route = Request(105, {{"topic", "TBW102"}});
    route.opaque = 3;
    absl::StatusOr<RemotingCommand> r = c.Call(route, kIo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    EXPECT_NE(r->body.find(addr), std::string::npos) << r->body;
    RemotingCommand cluster = Request(106, {});
    cluster.opaque = 4;
    r = c.Call(cluster, kIo);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->code, rc::kSuccess);
    EXPECT_NE(r->body.find("broker-a"), std::string::npos) << r->body;
    // A new topic on the broker reaches the name server (registration still works).
    Client producer;
    ASSERT_TRUE(producer.Connect("127.0.0.1", broker_->port(), kIo).ok());
    RemotingCommand send = SendV2("AfterBarrage", 0, "x");
    send.opaque = 5;
    absl::StatusOr<RemotingCommand> sent = producer.Call(send, kIo);
    ASSERT_TRUE(sent.ok()) << sent.status();
    ASSERT_EQ(sent->code, rc::kSuccess);
    int32_t code = -1;
    for (int i = 0; i < 100 && code != rc::kSuccess; ++i) {
      if (i > 0) std::this_thread::sleep_for(milliseconds(100));
      RemotingCommand q = Request(105, {{"topic", "AfterBarrage"}});
      q.opaque = 10 + i;
      r = c.Call(q, kIo);
      ASSERT_TRUE(r.ok()) << r.status();
      code = r->code;
    }
    EXPECT_EQ(code, rc::kSuccess) << "the broker's new topic never reached the name server";
  }
  const long rss_end = d.RssKb();
  std::printf(
      "[ robust   ] namesrvd: %d streams (%d closed as malformed), %d requests answered; "
      "RSS %ld -> %ld KiB\n",
      b.streams(), b.expected_closes(), b.requests_answered(), rss_start, rss_end);
  EXPECT_LT(rss_end - rss_start, kMaxGrowthKb) << "namesrvd grew by more than 256 MiB";
  CheckLog(d, b.expected_closes());
  ExpectCleanStop(d);
  ExpectCleanStop(*broker_);
  Phase("namesrv: done");
}

// Header strings are bytes: neither header format promises UTF-8 (rapidjson does not validate,
// the ROCKETMQ format carries raw bytes). A consumer group that is not UTF-8 must not take the
// broker down when the offsets are written as JSON (every 5 s and at shutdown).
TEST_F(RobustnessTest, BrokerSurvivesNonUtf8GroupAndTopicNames) {
  Daemon& d = *broker_;
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", d.port(), kIo).ok());
  int32_t opaque = 1;
  for (SerializeType type : {SerializeType::kRocketMq, SerializeType::kJson}) {
    RemotingCommand update = Request(15, {{"consumerGroup", "cg\xff\xfe"},
                                          {"topic", "t\xc3"},
                                          {"queueId", "0"},
                                          {"commitOffset", "42"}});
    update.opaque = opaque++;
    ASSERT_TRUE(c.Send(update).ok());
    std::string frame = Encode(update, type);
    ASSERT_TRUE(c.SendRaw(frame).ok());
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<RemotingCommand> r = c.Read(kIo);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->code, rc::kSuccess);
    }
    // A pull that commits an offset for such a group, and one with such a subscription.
    RemotingCommand pull = Pull("RobustTopic", 0, 0);
    pull.SetExtField("consumerGroup", "pull\xff");
    pull.SetExtField("sysFlag", "5");
    pull.SetExtField("subscription", "tag\xff || \xfe");
    pull.opaque = opaque++;
    ASSERT_TRUE(c.SendRaw(Encode(pull, type)).ok());
    absl::StatusOr<RemotingCommand> r = c.Read(kIo);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  // Offsets are persisted every 5 s: let one pass happen.
  std::this_thread::sleep_for(milliseconds(6000));
  ASSERT_TRUE(d.Alive()) << "brokerd died (" << d.DescribeExit() << "):\n" << d.LogTail();
  RemotingCommand query =
      Request(14, {{"consumerGroup", "cg\xff\xfe"}, {"topic", "t\xc3"}, {"queueId", "0"}});
  query.opaque = opaque++;
  absl::StatusOr<RemotingCommand> r = c.Call(query, kIo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, rc::kSuccess);
  ExpectCleanStop(d);
}

// The same for the name server: broker, cluster and address names that are not UTF-8 must not
// take it down when routes or cluster info are written as JSON.
TEST_F(RobustnessTest, NameServerSurvivesNonUtf8BrokerNames) {
  Daemon& d = *namesrv_;
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", d.port(), kIo).ok());
  RemotingCommand reg = RegisterBroker("broker\xff", kRegisterBody);
  reg.SetExtField("clusterName", "cluster\xfe");
  reg.SetExtField("brokerAddr", "127.0.0.9:1\xc3");
  reg.opaque = 1;
  reg.serialize_type = SerializeType::kRocketMq;
  absl::StatusOr<RemotingCommand> r = c.Call(reg, kIo);
  ASSERT_TRUE(r.ok()) << r.status();
  int32_t opaque = 2;
  for (RemotingCommand q :
       {Request(105, {{"topic", "FuzzTopic"}}), Request(106, {}), Request(206, {})}) {
    q.opaque = opaque++;
    r = c.Call(q, kIo);
    ASSERT_TRUE(r.ok()) << "no answer to code " << q.code << " (" << r.status()
                        << "); namesrvd alive: " << d.Alive() << "\n"
                        << d.LogTail();
    EXPECT_EQ(r->code, rc::kSuccess) << q.code;
  }
  ASSERT_TRUE(d.Alive()) << "namesrvd died (" << d.DescribeExit() << "):\n" << d.LogTail();
  ExpectCleanStop(d);
}

}  // namespace
