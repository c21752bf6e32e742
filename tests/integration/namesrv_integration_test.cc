// Integration tests of the namesrvd program: starts the real binary on 127.0.0.1 with a free port,
// replays the recorded REGISTER_BROKER / UNREGISTER_BROKER frames of broker-namesrv.jsonl and the
// GET_ROUTEINFO_BY_TOPIC requests of java-send-sync.jsonl (../shared/fixtures/wire; skipped when
// absent) and compares the responses with the captured ones; checks TOPIC_NOT_EXIST, unknown
// codes, malformed input isolation and SIGTERM shutdown. Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "../child_wait.h"
#include "gtest/gtest.h"
#include "net/client.h"
#include "nlohmann/json.hpp"
#include "remoting/frame_codec.h"

namespace {

using brokerd::net::Client;
using brokerd::remoting::RemotingCommand;
using std::chrono::milliseconds;

constexpr auto kIo = milliseconds(5000);

std::string SourceDir() {
  const char* env = std::getenv("RS_SOURCE_DIR");
  return env != nullptr ? env : RS_INTEGRATION_TEST_SOURCE_DIR;
}

std::string WireDir() { return SourceDir() + "/../shared/fixtures/wire"; }

// One namesrvd child process.
class Namesrvd {
 public:
  bool Start() {
    port_ = brokerd::net::FreeLoopbackPort();
    dir_ = std::filesystem::temp_directory_path() /
           ("namesrvd-test-" + std::to_string(getpid()) + "-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
    std::string conf = (dir_ / "namesrv.properties").string();
    std::ofstream(conf) << "listenPort=" << port_
                        << "\nkvConfigPath=" << (dir_ / "kv.json").string() << "\n";
    pid_ = fork();
    if (pid_ == 0) {
      execl(RS_NAMESRVD_PATH, "namesrvd", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      Client c;
      if (c.Connect("127.0.0.1", port_, milliseconds(500)).ok()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
  // Sends sig and waits (bounded) for the exit; returns the exit status or -1.
  int Signal(int sig) { return test_support::SignalAndWait(&pid_, sig); }
  ~Namesrvd() {
    if (pid_ > 0) Signal(SIGKILL);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::filesystem::path dir_;
};

struct CapturedFrame {
  nlohmann::json meta;
  std::string bytes;
};

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::vector<CapturedFrame> LoadCapture(const std::string& name) {
  std::vector<CapturedFrame> frames;
  std::ifstream in(WireDir() + "/" + name);
  std::string line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("hex") || !j["hex"].is_string()) continue;
    frames.push_back({j, FromHex(j["hex"].get<std::string>())});
  }
  return frames;
}

RemotingCommand Decode(const std::string& bytes) {
  auto r = brokerd::remoting::DecodeFrame(bytes);
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return {};
  auto* f = std::get_if<brokerd::remoting::DecodedFrame>(&*r);
  EXPECT_NE(f, nullptr);
  return f != nullptr ? f->command : RemotingCommand{};
}

// The captured response to the request at index i (same connection, s2c, same opaque, response).
const CapturedFrame* FindResponse(const std::vector<CapturedFrame>& frames, size_t i) {
  for (size_t k = i + 1; k < frames.size(); ++k) {
    const auto& m = frames[k].meta;
    if (m["dir"] == "s2c" && m["conn"] == frames[i].meta["conn"] &&
        m["opaque"] == frames[i].meta["opaque"] && (m["flag"].get<int>() & 1) != 0) {
      return &frames[k];
    }
  }
  return nullptr;
}

void ExpectSameResponse(const RemotingCommand& got, const CapturedFrame& want_frame) {
  RemotingCommand want = Decode(want_frame.bytes);
  EXPECT_EQ(got.code, want.code);
  EXPECT_EQ(got.flag, want.flag);
  EXPECT_EQ(got.opaque, want.opaque);
  EXPECT_EQ(got.remark, want.remark);
  EXPECT_EQ(got.ext_fields, want.ext_fields);
  EXPECT_EQ(got.body, want.body);
  EXPECT_EQ(got.serialize_type, want.serialize_type);
  // Byte-exact: our encoding of the decoded response equals the captured frame.
  auto encoded = brokerd::remoting::EncodeFrame(got);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(*encoded, want_frame.bytes) << "seq " << want_frame.meta["seq"];
}

class NamesrvdTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << "namesrvd did not start listening"; }
  Namesrvd server_;
};

TEST_F(NamesrvdTest, ReplaysBrokerRegistrationAndJavaRouteLookups) {
  if (!std::filesystem::exists(WireDir() + "/broker-namesrv.jsonl") ||
      !std::filesystem::exists(WireDir() + "/java-send-sync.jsonl")) {
    GTEST_SKIP() << "wire captures not found under " << WireDir();
  }
  std::vector<CapturedFrame> broker = LoadCapture("broker-namesrv.jsonl");
  std::vector<CapturedFrame> java = LoadCapture("java-send-sync.jsonl");
  ASSERT_FALSE(broker.empty());
  Client bc;
  ASSERT_TRUE(bc.Connect("127.0.0.1", server_.port(), kIo).ok());
  size_t unregister_index = broker.size();
  int replayed = 0;
  for (size_t i = 0; i < broker.size(); ++i) {
    const auto& m = broker[i].meta;
    if (m["dir"] != "c2s") continue;
    if (m["code"] == 104) {
      unregister_index = i;
      break;
    }
    ASSERT_TRUE(bc.SendRaw(broker[i].bytes).ok());
    ++replayed;
    if ((m["flag"].get<int>() & 2) != 0) continue;  // oneway: no response
    const CapturedFrame* want = FindResponse(broker, i);
    ASSERT_NE(want, nullptr);
    auto got = bc.Read(kIo);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameResponse(*got, *want);
  }
  EXPECT_GT(replayed, 0);

  // The Java producer's route lookups against the registered broker.
  Client jc;
  ASSERT_TRUE(jc.Connect("127.0.0.1", server_.port(), kIo).ok());
  int lookups = 0;
  for (size_t i = 0; i < java.size(); ++i) {
    const auto& m = java[i].meta;
    if (m["dir"] != "c2s" || m["peer"] != "namesrv" || m["code"] != 105) continue;
    const CapturedFrame* want = FindResponse(java, i);
    ASSERT_NE(want, nullptr);
    ASSERT_TRUE(jc.SendRaw(java[i].bytes).ok());
    auto got = jc.Read(kIo);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameResponse(*got, *want);
    ++lookups;
  }
  EXPECT_GT(lookups, 0);

  // Cluster info and topic list reflect the registration.
  RemotingCommand ci = brokerd::remoting::MakeRequest(106, 900);
  auto cluster = jc.Call(ci, kIo);
  ASSERT_TRUE(cluster.ok());
  EXPECT_EQ(cluster->code, 0);
  EXPECT_NE(cluster->body.find(R"("clusterAddrTable":{"DefaultCluster":["broker-a"]})"),
            std::string::npos)
      << cluster->body;
  auto topics = jc.Call(brokerd::remoting::MakeRequest(206, 901), kIo);
  ASSERT_TRUE(topics.ok());
  EXPECT_NE(topics->body.find("\"WireTopic\""), std::string::npos) << topics->body;

  // The broker's UNREGISTER_BROKER, then the topic is gone.
  ASSERT_LT(unregister_index, broker.size());
  ASSERT_TRUE(bc.SendRaw(broker[unregister_index].bytes).ok());
  auto unreg = bc.Read(kIo);
  ASSERT_TRUE(unreg.ok()) << unreg.status();
  ExpectSameResponse(*unreg, *FindResponse(broker, unregister_index));
  RemotingCommand q = brokerd::remoting::MakeRequest(105, 902);
  q.SetExtField("topic", "WireTopic");
  auto gone = jc.Call(q, kIo);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->code, 17);
}

TEST_F(NamesrvdTest, UnknownTopicIsTopicNotExist) {
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server_.port(), kIo).ok());
  RemotingCommand q = brokerd::remoting::MakeRequest(105, 7);
  q.SetExtField("topic", "NoSuchTopic");
  auto r = c.Call(q, kIo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, 17);
  EXPECT_EQ(r->flag, 1);
  EXPECT_EQ(r->remark,
            "No topic route info in name server for the topic: NoSuchTopic"
            "\nSee http://rocketmq.apache.org/docs/faq/ for further details.");
  EXPECT_TRUE(r->body.empty());
  // Same in the binary header type.
  q.serialize_type = brokerd::remoting::SerializeType::kRocketMq;
  q.opaque = 8;
  auto b = c.Call(q, kIo);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->code, 17);
  EXPECT_EQ(b->serialize_type, brokerd::remoting::SerializeType::kRocketMq);
}

TEST_F(NamesrvdTest, UnknownCodeIsRequestCodeNotSupported) {
  Client c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server_.port(), kIo).ok());
  auto r = c.Call(brokerd::remoting::MakeRequest(9999, 3), kIo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, 3);
  EXPECT_EQ(r->remark, " request type 9999 not supported");
}

TEST_F(NamesrvdTest, MalformedBytesCloseOnlyThatConnection) {
  Client good, bad;
  ASSERT_TRUE(good.Connect("127.0.0.1", server_.port(), kIo).ok());
  ASSERT_TRUE(bad.Connect("127.0.0.1", server_.port(), kIo).ok());
  // Negative length field.
  ASSERT_TRUE(bad.SendRaw(std::string("\xff\xff\xff\xf0junkjunk", 12)).ok());
  EXPECT_TRUE(bad.WaitForClose(kIo));
  auto r = good.Call(brokerd::remoting::MakeRequest(206, 1), kIo);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->body, R"({"topicList":[]})");
}

TEST_F(NamesrvdTest, SigtermExitsZero) {
  int status = server_.Signal(SIGTERM);
  ASSERT_NE(status, -1) << "namesrvd did not exit within 10 s of SIGTERM";
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(NamesrvdCliTest, HelpExitsZero) {
  std::string cmd = std::string(RS_NAMESRVD_PATH) + " --help > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

}  // namespace
