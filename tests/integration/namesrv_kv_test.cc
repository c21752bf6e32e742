// Tests of the name server's KV config and admin requests. KvConfigManager in process (file
// format, .bak fallback, corrupt files); then the real namesrvd process on 127.0.0.1: PUT / GET /
// DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE round trips (JSON and ROCKETMQ headers),
// persistence across SIGTERM and SIGKILL restarts, a corrupt kvConfig.json failing startup with
// a message naming the file, orderTopicConf in routes (orderMessageEnable), and
// GET_TOPICS_BY_CLUSTER / GET_SYSTEM_TOPIC_LIST_FROM_NS / WIPE_WRITE_PERM_OF_BROKER /
// DELETE_TOPIC_IN_NAMESRV against brokers registered over the wire. Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../child_wait.h"
#include "gtest/gtest.h"
#include "namesrv/kv_config_manager.h"
#include "net/client.h"
#include "remoting/command.h"

namespace {

namespace fs = std::filesystem;
using brokerd::namesrv::KvConfigManager;
using brokerd::net::Client;
using brokerd::remoting::MakeRequest;
using brokerd::remoting::RemotingCommand;
using brokerd::remoting::SerializeType;
using std::chrono::milliseconds;

constexpr auto kIo = milliseconds(5000);

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int n = 0;
    path_ = fs::temp_directory_path() /
            ("namesrv-kv-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(++n));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---- KvConfigManager in process ----

TEST(KvConfigManagerTest, PutGetDeleteListAndFileFormat) {
  TempDir dir("mgr");
  const fs::path file = dir.path() / "sub" / "kvConfig.json";
  KvConfigManager kv(file.string());
  ASSERT_TRUE(kv.Load().ok());  // neither file: empty
  EXPECT_FALSE(kv.Get("ns", "k").has_value());
  EXPECT_FALSE(kv.ListJson("ns").has_value());

  ASSERT_TRUE(kv.Put("ns", "k", "v1").ok());
  EXPECT_EQ(ReadAll(file), R"({"configTable":{"ns":{"k":"v1"}}})");
  EXPECT_FALSE(fs::exists(file.string() + ".bak"));
  ASSERT_TRUE(kv.Put("ns", "b", "x\"y").ok());
  ASSERT_TRUE(kv.Put("ORDER_TOPIC_CONFIG", "T", "broker-a:4").ok());
  EXPECT_EQ(ReadAll(file), R"({"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"},)"
                           R"("ns":{"b":"x\"y","k":"v1"}}})");
  EXPECT_EQ(ReadAll(file.string() + ".bak"), R"({"configTable":{"ns":{"b":"x\"y","k":"v1"}}})");
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  EXPECT_EQ(kv.Get("ns", "k"), "v1");
  EXPECT_EQ(kv.ListJson("ns"), R"({"table":{"b":"x\"y","k":"v1"}})");

  ASSERT_TRUE(kv.Put("ns", "k", "v2").ok());  // update
  EXPECT_EQ(kv.Get("ns", "k"), "v2");
  ASSERT_TRUE(kv.Delete("ns", "k").ok());
  ASSERT_TRUE(kv.Delete("ns", "b").ok());
  ASSERT_TRUE(kv.Delete("nope", "k").ok());  // no-op
  EXPECT_FALSE(kv.Get("ns", "k").has_value());
  EXPECT_EQ(kv.ListJson("ns"), R"({"table":{}})");  // Java keeps the emptied namespace

  KvConfigManager reloaded(file.string());
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.Snapshot(), kv.Snapshot());
  EXPECT_EQ(reloaded.Get("ORDER_TOPIC_CONFIG", "T"), "broker-a:4");
}

TEST(KvConfigManagerTest, InvalidUtf8IsStoredReplaced) {
  TempDir dir("utf8");
  KvConfigManager kv((dir.path() / "kv.json").string());
  ASSERT_TRUE(kv.Put("ns", "k", std::string("a\xff", 2)).ok());
  EXPECT_EQ(kv.Get("ns", "k"), "a\xEF\xBF\xBD");
  KvConfigManager reloaded((dir.path() / "kv.json").string());
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(reloaded.Get("ns", "k"), "a\xEF\xBF\xBD");
}

TEST(KvConfigManagerTest, LoadFallsBackToTheBackupAndRejectsUnusableFiles) {
  TempDir dir("load");
  const std::string file = (dir.path() / "kvConfig.json").string();
  const std::string good = R"({"configTable":{"ns":{"k":"v"}}})";

  // Unusable main file, good backup: the backup, with a note.
  WriteAll(file, "{\"configTable\":");
  WriteAll(file + ".bak", good);
  {
    KvConfigManager kv(file);
    std::string note;
    ASSERT_TRUE(kv.Load(&note).ok());
    EXPECT_EQ(kv.Get("ns", "k"), "v");
    EXPECT_NE(note.find(file + ": not valid JSON"), std::string::npos) << note;
    EXPECT_NE(note.find("loaded " + file + ".bak instead"), std::string::npos) << note;
  }
  // No main file, good backup: the backup, silently.
  fs::remove(file);
  {
    KvConfigManager kv(file);
    std::string note;
    ASSERT_TRUE(kv.Load(&note).ok());
    EXPECT_EQ(kv.Get("ns", "k"), "v");
    EXPECT_TRUE(note.empty());
  }
  fs::remove(file + ".bak");

  struct Case {
    std::string text;
    std::string what;
  };
  const Case cases[] = {
      {"", " is empty"},
      {"{bad", ": not valid JSON"},
      {"[1]", ": not a JSON object"},
      {R"({"other":{}})", ": no configTable"},
      {R"({"configTable":[]})", ": configTable is not an object"},
      {R"({"configTable":{"ns":"v"}})", R"(: configTable["ns"] is not an object)"},
      {R"({"configTable":{"ns":{"k":1}}})", R"(: configTable["ns"]["k"] is not a string)"},
  };
  for (const Case& c : cases) {
    WriteAll(file, c.text);
    KvConfigManager kv(file);
    absl::Status s = kv.Load();
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
    EXPECT_NE(s.message().find(file + c.what), std::string::npos) << s;
    EXPECT_NE(s.message().find("no backup"), std::string::npos) << s;
  }
  // Both unusable: both named.
  WriteAll(file, "{bad");
  WriteAll(file + ".bak", "");
  KvConfigManager kv(file);
  absl::Status s = kv.Load();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(file + ": not valid JSON"), std::string::npos) << s;
  EXPECT_NE(s.message().find(file + ".bak is empty"), std::string::npos) << s;
}

TEST(KvConfigManagerTest, AFailedWriteChangesNothing) {
  TempDir dir("fail");
  const fs::path file = dir.path() / "kv.json";
  KvConfigManager kv(file.string());
  ASSERT_TRUE(kv.Put("ns", "k", "v").ok());
  fs::create_directories(file.string() + ".tmp");  // the temporary cannot be opened (EISDIR)
  absl::Status s = kv.Put("ns", "k", "w");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(file.string() + ".tmp"), std::string::npos) << s;
  EXPECT_FALSE(kv.Delete("ns", "k").ok());
  EXPECT_EQ(kv.Get("ns", "k"), "v");
  EXPECT_EQ(ReadAll(file), R"({"configTable":{"ns":{"k":"v"}}})");
  fs::remove_all(file.string() + ".tmp");
  ASSERT_TRUE(kv.Put("ns", "k", "w").ok());
  EXPECT_EQ(ReadAll(file), R"({"configTable":{"ns":{"k":"w"}}})");
}

// ---- The namesrvd process ----

// One namesrvd child process over a directory that survives restarts (kv.json, its stderr log).
class Namesrvd {
 public:
  Namesrvd() : dir_("proc") {}
  ~Namesrvd() {
    if (pid_ > 0) Signal(SIGKILL);
  }

  fs::path kv_path() const { return dir_.path() / "kv.json"; }
  fs::path log_path() const { return dir_.path() / "namesrvd.log"; }
  int port() const { return port_; }

  // Starts namesrvd with listenPort, kvConfigPath and `extra` properties lines; true once it
  // accepts connections.
  bool Start(const std::string& extra = "") {
    Spawn(extra);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      Client c;
      if (c.Connect("127.0.0.1", port_, milliseconds(500)).ok()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }

  // Starts namesrvd and waits (bounded) for it to exit; the wait status, or -1.
  int StartExpectingExit() {
    Spawn("");
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    return -1;
  }

  // Sends sig and waits (bounded) for the exit; the wait status, or -1.
  int Signal(int sig) { return test_support::SignalAndWait(&pid_, sig); }

 private:
  void Spawn(const std::string& extra) {
    port_ = brokerd::net::FreeLoopbackPort();
    const std::string conf = (dir_.path() / "namesrv.properties").string();
    std::ofstream(conf, std::ios::trunc)
        << "listenPort=" << port_ << "\nkvConfigPath=" << kv_path().string() << "\n"
        << extra;
    const std::string log = log_path().string();
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) dup2(fd, 2);
      execl(RS_NAMESRVD_PATH, "namesrvd", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

int32_t NextOpaque() {
  static int32_t n = 1000;
  return ++n;
}

RemotingCommand Request(int32_t code,
                        std::initializer_list<std::pair<std::string, std::string>> fields,
                        SerializeType type = SerializeType::kJson) {
  RemotingCommand r = MakeRequest(code, NextOpaque());
  r.serialize_type = type;
  for (const auto& [k, v] : fields) r.SetExtField(k, v);
  return r;
}

// Connects and sends requests; gtest failures on transport errors.
class Conn {
 public:
  explicit Conn(int port) { ok_ = c_.Connect("127.0.0.1", port, kIo).ok(); }
  bool ok() const { return ok_; }
  RemotingCommand Call(const RemotingCommand& request) {
    auto r = c_.Call(request, kIo);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) {
      RemotingCommand failed;
      failed.code = -1;
      return failed;
    }
    EXPECT_EQ(r->opaque, request.opaque);
    EXPECT_EQ(r->serialize_type, request.serialize_type);
    return *std::move(r);
  }
  RemotingCommand Put(const std::string& ns, const std::string& key, const std::string& value) {
    return Call(Request(100, {{"namespace", ns}, {"key", key}, {"value", value}}));
  }
  RemotingCommand Get(const std::string& ns, const std::string& key) {
    return Call(Request(101, {{"namespace", ns}, {"key", key}}));
  }
  RemotingCommand Delete(const std::string& ns, const std::string& key) {
    return Call(Request(102, {{"namespace", ns}, {"key", key}}));
  }
  RemotingCommand List(const std::string& ns) { return Call(Request(219, {{"namespace", ns}})); }
  RemotingCommand Route(const std::string& topic) { return Call(Request(105, {{"topic", topic}})); }
  // REGISTER_BROKER (JSON body) of a master with the given topics (4 queues, perm 6).
  RemotingCommand Register(const std::string& cluster, const std::string& name,
                           const std::string& addr, const std::vector<std::string>& topics,
                           int counter = 1) {
    RemotingCommand r = Request(103, {{"brokerName", name},
                                      {"brokerAddr", addr},
                                      {"clusterName", cluster},
                                      {"haServerAddr", addr + "1"},
                                      {"brokerId", "0"},
                                      {"compressed", "false"},
                                      {"bodyCrc32", "0"}});
    std::string table;
    for (const std::string& t : topics) {
      if (!table.empty()) table += ",";
      table += "\"" + t + "\":{\"topicName\":\"" + t +
               "\",\"readQueueNums\":4,\"writeQueueNums\":4,\"perm\":6,\"topicSysFlag\":0}";
    }
    r.body = R"({"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":)" +
             std::to_string(counter) + R"(,"timestamp":1700000000000},"topicConfigTable":{)" +
             table + "}}}";
    return Call(r);
  }

 private:
  Client c_;
  bool ok_ = false;
};

TEST(NamesrvKvTest, PutGetDeleteListRoundTrips) {
  Namesrvd ns;
  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());
  Conn c(ns.port());
  ASSERT_TRUE(c.ok());

  RemotingCommand miss = c.Get("NS", "k");
  EXPECT_EQ(miss.code, 22);
  EXPECT_EQ(miss.remark, "No config item, Namespace: NS Key: k");
  EXPECT_TRUE(miss.ext_fields.empty());
  EXPECT_TRUE(miss.emit_empty_ext_fields);  // "extFields":{} as Java writes it
  RemotingCommand no_ns = c.List("NS");
  EXPECT_EQ(no_ns.code, 22);
  EXPECT_EQ(no_ns.remark, "No config item, Namespace: NS");
  EXPECT_TRUE(no_ns.body.empty());

  RemotingCommand put = c.Put("NS", "k", "v1");
  EXPECT_EQ(put.code, 0);
  EXPECT_EQ(put.flag, 1);
  EXPECT_FALSE(put.remark.has_value());
  EXPECT_TRUE(put.ext_fields.empty());
  EXPECT_EQ(c.Put("NS", "k2", "v2").code, 0);
  EXPECT_EQ(c.Put("NS", "k", "v1b").code, 0);  // update
  RemotingCommand got = c.Get("NS", "k");
  EXPECT_EQ(got.code, 0);
  EXPECT_FALSE(got.remark.has_value());
  ASSERT_NE(got.FindExtField("value"), nullptr);
  EXPECT_EQ(*got.FindExtField("value"), "v1b");
  RemotingCommand list = c.List("NS");
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.body, R"({"table":{"k":"v1b","k2":"v2"}})");

  // The same in the ROCKETMQ binary header type.
  RemotingCommand bin =
      c.Call(Request(101, {{"namespace", "NS"}, {"key", "k2"}}, SerializeType::kRocketMq));
  EXPECT_EQ(bin.code, 0);
  ASSERT_NE(bin.FindExtField("value"), nullptr);
  EXPECT_EQ(*bin.FindExtField("value"), "v2");

  EXPECT_EQ(c.Delete("NS", "k").code, 0);
  EXPECT_EQ(c.Delete("NS", "absent").code, 0);
  EXPECT_EQ(c.Get("NS", "k").code, 22);
  EXPECT_EQ(c.List("NS").body, R"({"table":{"k2":"v2"}})");
  EXPECT_EQ(c.Delete("NS", "k2").code, 0);
  RemotingCommand empty = c.List("NS");
  EXPECT_EQ(empty.code, 0);  // Java keeps the emptied namespace
  EXPECT_EQ(empty.body, R"({"table":{}})");

  // Missing required fields.
  RemotingCommand bad = c.Call(Request(100, {{"namespace", "NS"}, {"key", "k"}}));
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.remark, "missing header field 'value'");
  EXPECT_EQ(c.Call(Request(101, {{"key", "k"}})).code, 1);
  EXPECT_EQ(c.Call(Request(102, {{"namespace", "NS"}})).code, 1);
  EXPECT_EQ(c.Call(Request(219, {})).code, 1);

  EXPECT_EQ(ReadAll(ns.kv_path()), R"({"configTable":{"NS":{}}})");
}

TEST(NamesrvKvTest, SurvivesSigtermAndSigkillRestarts) {
  Namesrvd ns;
  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());
  {
    Conn c(ns.port());
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.Put("A", "k1", "v1").code, 0);
    EXPECT_EQ(c.Put("B", "k2", "v2").code, 0);
  }
  int status = ns.Signal(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);

  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());
  {
    Conn c(ns.port());
    ASSERT_TRUE(c.ok());
    RemotingCommand g = c.Get("A", "k1");
    EXPECT_EQ(g.code, 0);
    ASSERT_NE(g.FindExtField("value"), nullptr);
    EXPECT_EQ(*g.FindExtField("value"), "v1");
    EXPECT_EQ(c.List("B").body, R"({"table":{"k2":"v2"}})");
    // Acknowledged just before a SIGKILL: on disk already.
    EXPECT_EQ(c.Put("A", "k3", "v3").code, 0);
    EXPECT_EQ(c.Delete("B", "k2").code, 0);
  }
  status = ns.Signal(SIGKILL);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;

  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());
  Conn c(ns.port());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.List("A").body, R"({"table":{"k1":"v1","k3":"v3"}})");
  EXPECT_EQ(c.List("B").body, R"({"table":{}})");
  EXPECT_EQ(c.Get("B", "k2").code, 22);
}

TEST(NamesrvKvTest, CorruptKvConfigFailsStartupNamingTheFile) {
  Namesrvd ns;
  WriteAll(ns.kv_path(), R"({"configTable":{"ns":{"k":)");
  int status = ns.StartExpectingExit();
  ASSERT_NE(status, -1) << "namesrvd did not exit within 10 s";
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string log = ReadAll(ns.log_path());
  EXPECT_NE(log.find("kvConfigPath"), std::string::npos) << log;
  EXPECT_NE(log.find(ns.kv_path().string() + ": not valid JSON"), std::string::npos) << log;
  EXPECT_EQ(log.find("listening"), std::string::npos) << log;

  // A wrongly typed value is refused too.
  WriteAll(ns.kv_path(), R"({"configTable":{"ns":{"k":["v"]}}})");
  status = ns.StartExpectingExit();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(ReadAll(ns.log_path()).find(R"(configTable["ns"]["k"] is not a string)"),
            std::string::npos)
      << ReadAll(ns.log_path());

  // With a usable backup it starts from the backup and says so.
  WriteAll(ns.kv_path().string() + ".bak", R"({"configTable":{"ns":{"k":"from-bak"}}})");
  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());
  Conn c(ns.port());
  ASSERT_TRUE(c.ok());
  RemotingCommand g = c.Get("ns", "k");
  ASSERT_NE(g.FindExtField("value"), nullptr);
  EXPECT_EQ(*g.FindExtField("value"), "from-bak");
  EXPECT_NE(ReadAll(ns.log_path()).find("instead"), std::string::npos) << ReadAll(ns.log_path());
}

// The route of T1 on broker-a (cluster C1) with `order` ("" or `"orderTopicConf":"...",`).
std::string RouteT1(const std::string& order, int perm) {
  return R"({"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a",)"
         R"("cluster":"C1"}],"filterServerTable":{},)" +
         order + R"("queueDatas":[{"brokerName":"broker-a","perm":)" + std::to_string(perm) +
         R"(,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]})";
}

TEST(NamesrvKvTest, OrderTopicConfInRoutesWhenEnabled) {
  Namesrvd ns;
  ASSERT_TRUE(ns.Start("orderMessageEnable=true\n")) << ReadAll(ns.log_path());
  Conn broker(ns.port());
  Conn c(ns.port());
  ASSERT_TRUE(broker.ok() && c.ok());
  RemotingCommand reg = broker.Register("C1", "broker-a", "127.0.0.1:10911", {"T1", "T2"});
  EXPECT_EQ(reg.code, 0);
  EXPECT_TRUE(reg.body.empty());  // no ORDER_TOPIC_CONFIG namespace yet

  EXPECT_EQ(c.Put("ORDER_TOPIC_CONFIG", "T1", "broker-a:4").code, 0);
  RemotingCommand r1 = c.Route("T1");
  EXPECT_EQ(r1.code, 0);
  EXPECT_EQ(r1.body, RouteT1(R"("orderTopicConf":"broker-a:4",)", 6));
  RemotingCommand r2 = c.Route("T2");  // no KV entry: omitted
  EXPECT_EQ(r2.code, 0);
  EXPECT_EQ(r2.body.find("orderTopicConf"), std::string::npos) << r2.body;
  EXPECT_EQ(c.Route("T9").code, 17);

  // A registering broker gets the ORDER_TOPIC_CONFIG table.
  reg = broker.Register("C1", "broker-a", "127.0.0.1:10911", {"T1", "T2"});
  EXPECT_EQ(reg.code, 0);
  EXPECT_EQ(reg.body, R"({"table":{"T1":"broker-a:4"}})");

  EXPECT_EQ(c.Delete("ORDER_TOPIC_CONFIG", "T1").code, 0);
  EXPECT_EQ(c.Route("T1").body, RouteT1("", 6));
}

TEST(NamesrvKvTest, OrderTopicConfOmittedWhenDisabled) {
  Namesrvd ns;
  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());  // orderMessageEnable defaults to false
  Conn broker(ns.port());
  Conn c(ns.port());
  ASSERT_TRUE(broker.ok() && c.ok());
  EXPECT_EQ(broker.Register("C1", "broker-a", "127.0.0.1:10911", {"T1"}).code, 0);
  EXPECT_EQ(c.Put("ORDER_TOPIC_CONFIG", "T1", "broker-a:4").code, 0);
  EXPECT_EQ(c.Route("T1").body, RouteT1("", 6));
}

TEST(NamesrvKvTest, AdminTopicCalls) {
  Namesrvd ns;
  ASSERT_TRUE(ns.Start()) << ReadAll(ns.log_path());
  Conn a(ns.port());
  Conn b(ns.port());
  Conn c(ns.port());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a.Register("C1", "broker-a", "127.0.0.1:10911", {"T1", "T2"}).code, 0);
  ASSERT_EQ(b.Register("C2", "broker-b", "127.0.0.1:10921", {"T2", "T3"}).code, 0);

  // GET_TOPICS_BY_CLUSTER (224)
  RemotingCommand c1 = c.Call(Request(224, {{"cluster", "C1"}}));
  EXPECT_EQ(c1.code, 0);
  EXPECT_EQ(c1.body, R"({"topicList":["T1","T2"]})");
  EXPECT_EQ(c.Call(Request(224, {{"cluster", "C2"}})).body, R"({"topicList":["T2","T3"]})");
  RemotingCommand unknown = c.Call(Request(224, {{"cluster", "nope"}}));
  EXPECT_EQ(unknown.code, 0);
  EXPECT_EQ(unknown.body, R"({"topicList":[]})");
  EXPECT_EQ(c.Call(Request(224, {})).code, 1);

  // GET_SYSTEM_TOPIC_LIST_FROM_NS (304)
  RemotingCommand sys = c.Call(Request(304, {}));
  EXPECT_EQ(sys.code, 0);
  EXPECT_EQ(sys.body,
            R"({"brokerAddr":"127.0.0.1:10911","topicList":["C1","C2","broker-a","broker-b"]})");

  // WIPE_WRITE_PERM_OF_BROKER (205)
  RemotingCommand wipe = c.Call(Request(205, {{"brokerName", "broker-a"}}));
  EXPECT_EQ(wipe.code, 0);
  ASSERT_NE(wipe.FindExtField("wipeTopicCount"), nullptr);
  EXPECT_EQ(*wipe.FindExtField("wipeTopicCount"), "2");
  EXPECT_EQ(c.Route("T1").body, RouteT1("", 4));
  RemotingCommand none = c.Call(Request(205, {{"brokerName", "nope"}}));
  EXPECT_EQ(*none.FindExtField("wipeTopicCount"), "0");
  EXPECT_EQ(c.Call(Request(205, {})).code, 1);
  // The same registration (same dataVersion) does not restore it; a changed one does.
  ASSERT_EQ(a.Register("C1", "broker-a", "127.0.0.1:10911", {"T1", "T2"}).code, 0);
  EXPECT_EQ(c.Route("T1").body, RouteT1("", 4));
  ASSERT_EQ(a.Register("C1", "broker-a", "127.0.0.1:10911", {"T1", "T2"}, 2).code, 0);
  EXPECT_EQ(c.Route("T1").body, RouteT1("", 6));

  // DELETE_TOPIC_IN_NAMESRV (216)
  EXPECT_EQ(c.Call(Request(216, {{"topic", "T2"}})).code, 0);
  EXPECT_EQ(c.Route("T2").code, 17);
  EXPECT_EQ(c.Call(Request(206, {})).body, R"({"topicList":["T1","T3"]})");
  EXPECT_EQ(c.Call(Request(224, {{"cluster", "C1"}})).body, R"({"topicList":["T1"]})");
  EXPECT_EQ(c.Call(Request(216, {{"topic", "absent"}})).code, 0);
  EXPECT_EQ(c.Call(Request(216, {})).code, 1);
}

}  // namespace
