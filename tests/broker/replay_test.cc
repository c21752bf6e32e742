// Replays of the captured client flows of ../shared/fixtures/wire against a real brokerd that
// registers with a real namesrvd (skipped when the fixtures are absent). Every c2s frame is sent
// as captured, in capture order (pipelined where the client pipelined), one connection per
// captured connection (broker-bound frames to our brokerd, name-server-bound frames to our
// namesrvd), and each answer is compared, where the capture has it, with the captured answer of
// the same opaque: code, flag, serialize type, language, version, remark, the set of extFields
// names and their values (msgId excepted: it encodes the store address and offset), and the
// body (stored records field by field, lock sets, consumer lists, route queue data). Requests
// the broker sent on its own (NOTIFY_CONSUMER_IDS_CHANGED) must be sent by ours too, on the same
// connection; answers the captured broker never gave (held pulls, oneway requests) must not come
// early from ours. After each flow, its effects are checked (stored messages, committed offsets,
// released locks).
//
// Flows (fixtures README section 5): java-send-selector, java-send-rocketmq-serialize,
// java-push-concurrent (after java-send-sync, whose messages it consumes), java-push-orderly
// (after java-send-selector), cpp-send-consume, ons-send-consume, each on a fresh broker with the
// topics the README says were created beforehand. java-send-sync and java-send-batch alone are
// replayed in broker_test.cc, java-transaction in transaction_test.cc.
//
// Legitimate differences, handled where they occur (each is commented there): the captured broker
// ran on 127.0.0.2:20911 with other store offsets (msgId, store host and offsets of records); it
// registered a topic with the name server before answering the request that created it, ours
// within kRegistrarTickMs (route lookups are asked again, bounded); it had dispatched every
// message before the consumer pulled it, ours dispatches asynchronously (a pull waits, bounded,
// until our ConsumeQueue has what the captured answer had); the Java name server writes
// {0:"addr"} (unquoted brokerId keys) for clients older than V4_9_4, ours always quotes them.
// Every wait is bounded.
// Thread-safety: single-threaded tests.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "nlohmann/json.hpp"
#include "remoting/frame_codec.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)
using brokerd::remoting::SerializeType;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

// How long a route lookup is repeated until our broker's registration shows the topic, and how
// long a pull waits for our dispatch to catch up with the captured answer.
constexpr auto kSettle = std::chrono::seconds(10);

// The captured answer to the request frames[i]: same connection, server to client, response
// bit, same opaque; nullptr when the capture has none (held pull, oneway request).
const CapturedFrame* FindResponse(const std::vector<CapturedFrame>& frames, size_t i) {
  for (size_t k = i + 1; k < frames.size(); ++k) {
    const CapturedFrame& f = frames[k];
    if (f.dir == "s2c" && f.conn == frames[i].conn && f.cmd.IsResponse() &&
        f.cmd.opaque == frames[i].cmd.opaque) {
      return &f;
    }
  }
  return nullptr;
}

std::set<std::string> FieldNames(const RemotingCommand& cmd) {
  std::set<std::string> out;
  for (const auto& [k, v] : cmd.ext_fields) out.insert(k);
  return out;
}

// fastjson writes integer map keys unquoted ({0:"127.0.0.2:20911"}) for clients older than
// V4_9_4; quote them so the captured body parses as standard JSON.
std::string QuoteNumericKeys(const std::string& text) {
  std::string out;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    out.push_back(c);
    if (in_string) {
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == ',') {
      size_t j = i + 1;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j])) != 0) ++j;
      if (j > i + 1 && j < text.size() && text[j] == ':') {
        out += '"' + text.substr(i + 1, j - i - 1) + '"';
        i = j - 1;
      }
    }
  }
  return out;
}

Json ParseBody(const std::string& body) {
  Json j = Json::parse(QuoteNumericKeys(body), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "body is not JSON: " << body;
  return j;
}

std::set<std::string> KeySet(const Json& j) {
  std::set<std::string> out;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) out.insert(k);
  }
  return out;
}

// The elements of a JSON array as a multiset of their dumps (order-insensitive comparison;
// nlohmann's objects dump with sorted keys).
std::multiset<std::string> Elements(const Json& array) {
  std::multiset<std::string> out;
  if (array.is_array()) {
    for (const Json& e : array) out.insert(e.dump());
  }
  return out;
}

std::string Hex8(int v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08X", v);
  return buf;
}

// A send answer's msgId is an offsetMsgId of OUR broker (127.0.0.1:port + a physical offset);
// the captured one names 127.0.0.2:20911 and the captured store's offsets. Batches list one
// per message, comma-separated.
void ExpectOurOffsetMsgIds(const std::string& ids, int broker_port) {
  size_t pos = 0;
  while (pos <= ids.size()) {
    size_t comma = ids.find(',', pos);
    const std::string id =
        ids.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    EXPECT_EQ(id.size(), 32u) << id;
    EXPECT_EQ(id.substr(0, 16), "7F000001" + Hex8(broker_port)) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789ABCDEF"), std::string::npos) << id;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
}

// Stored records (pull bodies): the same messages in the same order with the same content.
// Store host, store time and physical offset are the store's own.
void ExpectSameRecords(const std::string& got_body, const std::string& want_body) {
  std::vector<Record> got = ParseRecords(got_body);
  std::vector<Record> want = ParseRecords(want_body);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(got[i].topic, want[i].topic);
    EXPECT_EQ(got[i].queue_id, want[i].queue_id);
    EXPECT_EQ(got[i].queue_offset, want[i].queue_offset);
    EXPECT_EQ(got[i].body, want[i].body);
    EXPECT_EQ(got[i].sys_flag, want[i].sys_flag);
    EXPECT_EQ(got[i].born_timestamp_ms, want[i].born_timestamp_ms);
    EXPECT_EQ(got[i].reconsume_times, want[i].reconsume_times);
    // Java writes the properties in HashMap order: compare them as a map.
    EXPECT_EQ(Props(got[i].properties), Props(want[i].properties));
  }
}

// GET_ROUTEINFO_BY_TOPIC answers: same keys, same queue data (permissions, queue counts), same
// brokers (name, cluster, brokerIds; the address is ours).
void ExpectSameRoute(const std::string& got_body, const std::string& want_body) {
  Json got = ParseBody(got_body);
  Json want = ParseBody(want_body);
  EXPECT_EQ(KeySet(got), KeySet(want));
  EXPECT_EQ(Elements(got["queueDatas"]), Elements(want["queueDatas"]));
  EXPECT_EQ(got["filterServerTable"], want["filterServerTable"]);
  ASSERT_TRUE(got["brokerDatas"].is_array());
  ASSERT_EQ(got["brokerDatas"].size(), want["brokerDatas"].size());
  for (size_t i = 0; i < got["brokerDatas"].size(); ++i) {
    const Json& g = got["brokerDatas"][i];
    const Json& w = want["brokerDatas"][i];
    EXPECT_EQ(KeySet(g), KeySet(w));
    EXPECT_EQ(g["brokerName"], w["brokerName"]);
    EXPECT_EQ(g["cluster"], w["cluster"]);
    EXPECT_EQ(KeySet(g["brokerAddrs"]), KeySet(w["brokerAddrs"]));
  }
}

// GET_BROKER_CLUSTER_INFO answers: the same cluster table, the same brokers by name.
void ExpectSameClusterInfo(const std::string& got_body, const std::string& want_body) {
  Json got = ParseBody(got_body);
  Json want = ParseBody(want_body);
  EXPECT_EQ(KeySet(got), KeySet(want));
  EXPECT_EQ(got["clusterAddrTable"], want["clusterAddrTable"]);
  EXPECT_EQ(KeySet(got["brokerAddrTable"]), KeySet(want["brokerAddrTable"]));
  for (const auto& [name, w] : want["brokerAddrTable"].items()) {
    const Json& g = got["brokerAddrTable"][name];
    EXPECT_EQ(g["brokerName"], w["brokerName"]);
    EXPECT_EQ(g["cluster"], w["cluster"]);
    EXPECT_EQ(KeySet(g["brokerAddrs"]), KeySet(w["brokerAddrs"]));
  }
}

// Header fields every frame must share with its captured counterpart (opaque excepted: callers
// check it where it must match).
void ExpectSameHeader(const RemotingCommand& got, const RemotingCommand& want) {
  EXPECT_EQ(got.code, want.code) << "remark: " << got.remark.value_or("(null)");
  EXPECT_EQ(got.flag, want.flag);
  EXPECT_EQ(got.serialize_type, want.serialize_type);
  EXPECT_EQ(got.language, want.language);
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(FieldNames(got), FieldNames(want));
  // JSON tells "extFields":{} from no extFields at all (the binary header cannot).
  if (want.serialize_type == SerializeType::kJson && want.ext_fields.empty() &&
      got.ext_fields.empty()) {
    EXPECT_EQ(got.emit_empty_ext_fields, want.emit_empty_ext_fields)
        << "\"extFields\":{} is in " << (got.emit_empty_ext_fields ? "our" : "the captured")
        << " answer only";
  }
}

void ExpectSameResponse(const RemotingCommand& request, const RemotingCommand& want,
                        const RemotingCommand& got, int broker_port) {
  ExpectSameHeader(got, want);
  EXPECT_EQ(got.opaque, want.opaque);
  // Null on success, except where 4.9.7 leaves one (UPDATE_AND_CREATE_TOPIC: "not set any
  // response code"); the store status name on pulls ("FOUND").
  EXPECT_EQ(got.remark, want.remark);
  for (const auto& [key, value] : want.ext_fields) {
    const std::string* ours = got.FindExtField(key);
    if (ours == nullptr) continue;  // reported by the name comparison
    if (key == "msgId") {
      ExpectOurOffsetMsgIds(*ours, broker_port);
    } else {
      EXPECT_EQ(*ours, value) << "extFields." << key;
    }
  }
  switch (request.code) {
    case 11:  // PULL_MESSAGE
      if (want.code == rc::kSuccess) {
        ExpectSameRecords(got.body, want.body);
      } else {
        EXPECT_EQ(got.body, want.body);
      }
      break;
    case 38:  // GET_CONSUMER_LIST_BY_GROUP
      EXPECT_EQ(ParseBody(got.body), ParseBody(want.body));
      break;
    case 41: {  // LOCK_BATCH_MQ: a set (Java's HashSet order is not ours)
      Json g = ParseBody(got.body);
      Json w = ParseBody(want.body);
      EXPECT_EQ(KeySet(g), KeySet(w));
      EXPECT_EQ(Elements(g["lockOKMQSet"]), Elements(w["lockOKMQSet"]));
      break;
    }
    case 105:  // GET_ROUTEINFO_BY_TOPIC
      if (want.code == rc::kSuccess) {
        ExpectSameRoute(got.body, want.body);
      } else {
        EXPECT_EQ(got.body, want.body);
      }
      break;
    case 106:  // GET_BROKER_CLUSTER_INFO
      ExpectSameClusterInfo(got.body, want.body);
      break;
    default:
      EXPECT_EQ(got.body, want.body);
      break;
  }
}

// Replays one capture over its own connections.
class Replayer {
 public:
  Replayer(int broker_port, int namesrv_port)
      : broker_port_(broker_port), namesrv_port_(namesrv_port) {}

  // Frames are taken in capture order: a request is sent at its place (so requests the client
  // pipelined are pipelined again), an answer is awaited where the capture shows it (ours may
  // come in another order: answers are matched by opaque), and a request the broker sent on its
  // own is expected where the capture shows it.
  void Run(const std::vector<CapturedFrame>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      const CapturedFrame& f = frames[i];
      SCOPED_TRACE("seq " + std::to_string(f.seq) + " conn " + std::to_string(f.conn) + " code " +
                   std::to_string(f.cmd.code));
      if (f.dir == "c2s") {
        SendRequest(frames, i);
      } else if (f.cmd.IsResponse()) {
        CompareAnswer(frames, f);
      } else {
        ExpectServerRequest(f);
      }
    }
    Finish();
  }
  int compared() const { return compared_; }
  int server_requests() const { return server_requests_; }

 private:
  struct Conn {
    std::unique_ptr<Client> client;
    std::map<int32_t, RemotingCommand> responses;  // arrived, not yet claimed (by opaque)
    std::deque<RemotingCommand> requests;          // server-initiated, not yet matched
  };
  // A request the captured broker did not answer: oneway, or a pull it still held when the
  // capture ended.
  struct Unanswered {
    int conn = 0;
    int seq = 0;
    int32_t opaque = 0;
    bool oneway = false;
    int64_t hold_ms = 0;
    Clock::time_point sent;
  };

  Conn& ConnFor(const CapturedFrame& f) {
    Conn& c = conns_[f.conn];
    if (c.client == nullptr) {
      c.client = std::make_unique<Client>();
      const int port = f.peer == "broker" ? broker_port_ : namesrv_port_;
      EXPECT_TRUE(c.client->Connect("127.0.0.1", port, kIo).ok()) << "connect " << port;
    }
    return c;
  }

  // Reads one frame into the connection's inboxes; false on timeout or error.
  bool ReadOne(Conn& c, std::chrono::milliseconds timeout) {
    auto r = c.client->Read(timeout);
    if (!r.ok()) return false;
    if (r->IsResponse()) {
      c.responses[r->opaque] = std::move(*r);
    } else {
      c.requests.push_back(std::move(*r));
    }
    return true;
  }

  std::optional<RemotingCommand> AwaitResponse(Conn& c, int32_t opaque) {
    const auto deadline = Clock::now() + kIo;
    while (true) {
      auto it = c.responses.find(opaque);
      if (it != c.responses.end()) {
        RemotingCommand r = std::move(it->second);
        c.responses.erase(it);
        return r;
      }
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !ReadOne(c, left)) return std::nullopt;
    }
  }

  // Our dispatch to the ConsumeQueue is asynchronous; the captured broker had dispatched
  // everything its answer returned. Wait (bounded) until a plain pull of the same queue from the
  // same offset reaches the captured nextBeginOffset, so the replayed pull sees the same state.
  void WaitDispatched(const RemotingCommand& pull, const RemotingCommand& want) {
    const std::string* topic = pull.FindExtField("topic");
    const std::string* queue = pull.FindExtField("queueId");
    const std::string* offset = pull.FindExtField("queueOffset");
    const std::string* next = want.FindExtField("nextBeginOffset");
    if (topic == nullptr || queue == nullptr || offset == nullptr || next == nullptr) return;
    if (!probe_.connected()) {
      ASSERT_TRUE(probe_.Connect("127.0.0.1", broker_port_, kIo).ok());
    }
    const auto deadline = Clock::now() + kSettle;
    while (Clock::now() < deadline) {
      auto r = probe_.Call(Pull(*topic, std::stoi(*queue), std::stoll(*offset), "*", 4, 0), kIo);
      ASSERT_TRUE(r.ok()) << r.status();
      const std::string* got = r->FindExtField("nextBeginOffset");
      if (r->code == rc::kSuccess && got != nullptr && std::stoll(*got) >= std::stoll(*next)) {
        return;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  void SendRequest(const std::vector<CapturedFrame>& frames, size_t i) {
    const CapturedFrame& f = frames[i];
    Conn& c = ConnFor(f);
    const CapturedFrame* want = FindResponse(frames, i);
    if (f.peer == "broker" && f.cmd.code == 11 && want != nullptr &&
        want->cmd.code == rc::kSuccess) {
      WaitDispatched(f.cmd, want->cmd);
    }
    const auto sent = Clock::now();
    ASSERT_TRUE(c.client->SendRaw(f.bytes).ok());
    if (f.cmd.IsOneway() || want == nullptr) {
      // The captures leave only suspended pulls unanswered (the flow ended while the broker
      // held them, suspendTimeoutMillis 15000) besides oneway requests.
      if (!f.cmd.IsOneway()) {
        EXPECT_EQ(f.cmd.code, 11) << "an unanswered request in the capture that is not a pull";
      }
      unanswered_.push_back({f.conn, f.seq, f.cmd.opaque, f.cmd.IsOneway(),
                             f.cmd.GetInt64Or("suspendTimeoutMillis", 0).value_or(0), sent});
      return;
    }
    EXPECT_TRUE(sent_.emplace(std::make_pair(f.conn, f.cmd.opaque), i).second)
        << "two requests with one opaque on one connection";
  }

  // The captured answer `want`: await ours (same connection, same opaque) and compare.
  void CompareAnswer(const std::vector<CapturedFrame>& frames, const CapturedFrame& want) {
    auto req = sent_.find(std::make_pair(want.conn, want.cmd.opaque));
    ASSERT_NE(req, sent_.end()) << "a captured answer to no replayed request";
    const CapturedFrame& f = frames[req->second];
    sent_.erase(req);
    Conn& c = conns_[f.conn];
    std::optional<RemotingCommand> got = AwaitResponse(c, f.cmd.opaque);
    ASSERT_TRUE(got.has_value()) << "no answer to seq " << f.seq << " within " << kIo.count()
                                 << " ms";
    if (f.peer == "namesrv" && f.cmd.code == 105 && want.cmd.code == rc::kSuccess) {
      // The Java broker registers a topic it creates (send, heartbeat retry topic,
      // UPDATE_AND_CREATE_TOPIC) before answering; ours re-registers within kRegistrarTickMs.
      // Ask again until the route is there (bounded).
      const auto deadline = Clock::now() + kSettle;
      while (got->code != rc::kSuccess && Clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(100));
        ASSERT_TRUE(c.client->SendRaw(f.bytes).ok());
        got = AwaitResponse(c, f.cmd.opaque);
        ASSERT_TRUE(got.has_value()) << "no answer to a repeated route lookup";
      }
    }
    SCOPED_TRACE("request seq " + std::to_string(f.seq));
    ExpectSameResponse(f.cmd, want.cmd, *got, broker_port_);
    ++compared_;
  }

  // A request the captured broker sent on its own: ours must send the same on that connection.
  void ExpectServerRequest(const CapturedFrame& f) {
    auto it = conns_.find(f.conn);
    ASSERT_NE(it, conns_.end()) << "server request on a connection the client never opened";
    Conn& c = it->second;
    const auto deadline = Clock::now() + kIo;
    while (c.requests.empty()) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      ASSERT_TRUE(left.count() > 0 && ReadOne(c, left))
          << "our broker did not send the request the captured broker sent";
    }
    RemotingCommand got = std::move(c.requests.front());
    c.requests.pop_front();
    // Same code, oneway flag, header fields and values (NOTIFY_CONSUMER_IDS_CHANGED:
    // consumerGroup); the opaque is the broker's own counter.
    ExpectSameHeader(got, f.cmd);
    EXPECT_EQ(got.remark, f.cmd.remark);
    EXPECT_EQ(got.ext_fields, f.cmd.ext_fields);
    EXPECT_EQ(got.body, f.cmd.body);
    ++server_requests_;
  }

  void Finish() {
    EXPECT_TRUE(sent_.empty()) << "requests whose captured answer never came";
    for (auto& [id, c] : conns_) {
      while (ReadOne(c, milliseconds(0))) {
      }
    }
    const auto now = Clock::now();
    for (const Unanswered& u : unanswered_) {
      SCOPED_TRACE("unanswered seq " + std::to_string(u.seq));
      Conn& c = conns_[u.conn];
      auto it = c.responses.find(u.opaque);
      if (it == c.responses.end()) continue;
      EXPECT_FALSE(u.oneway) << "answered a oneway request";
      // A held pull may only be answered once its hold time is over (the flow normally ends
      // long before), and then with PULL_NOT_FOUND.
      EXPECT_GE(now - u.sent, milliseconds(u.hold_ms - 1000))
          << "answered a pull the captured broker held";
      EXPECT_EQ(it->second.code, rc::kPullNotFound);
      c.responses.erase(it);
    }
    for (auto& [id, c] : conns_) {
      for (const RemotingCommand& r : c.requests) {
        ADD_FAILURE() << "conn " << id << ": our broker sent request code " << r.code
                      << " that the captured broker did not send";
      }
      for (const auto& [opaque, r] : c.responses) {
        ADD_FAILURE() << "conn " << id << ": unexpected answer with opaque " << opaque;
      }
    }
  }

  const int broker_port_;
  const int namesrv_port_;
  std::map<int, Conn> conns_;
  Client probe_;
  std::vector<Unanswered> unanswered_;
  // Replayed requests whose captured answer is still to come: (conn, opaque) -> frame index.
  std::map<std::pair<int, int32_t>, size_t> sent_;
  int compared_ = 0;
  int server_requests_ = 0;
};

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(WireDir())) {
      GTEST_SKIP() << "wire captures not found under " << WireDir();
    }
    ASSERT_TRUE(namesrv_.Start()) << "namesrvd did not start";
    // The captured broker's settings that matter here (fixtures README sections 1 and 5):
    // cluster DefaultCluster, broker-a, defaultTopicQueueNums 8 (TBW102 has 8 queues).
    broker_.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(namesrv_.port()) +
                             "\nbrokerClusterName=DefaultCluster\ndefaultTopicQueueNums=8\n");
    ASSERT_TRUE(broker_.Start()) << "brokerd did not start listening";
    ASSERT_TRUE(admin_.Connect("127.0.0.1", broker_.port(), kIo).ok());
    // "Topics WireTopic (4 queues), WireOrdered (8), WireBatch (4), WireTx (4), WireBinary (4)
    // were created beforehand (not recorded)."
    for (const auto& [topic, queues] :
         std::vector<std::pair<std::string, int>>{{"WireTopic", 4},
                                                  {"WireOrdered", 8},
                                                  {"WireBatch", 4},
                                                  {"WireTx", 4},
                                                  {"WireBinary", 4}}) {
      auto r = admin_.Call(Request(17, {{"topic", topic},
                                        {"defaultTopic", "TBW102"},
                                        {"readQueueNums", std::to_string(queues)},
                                        {"writeQueueNums", std::to_string(queues)},
                                        {"perm", "6"},
                                        {"topicFilterType", "SINGLE_TAG"},
                                        {"topicSysFlag", "0"},
                                        {"order", "false"}}),
                           kIo);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->code, rc::kSuccess) << r->remark.value_or("");
    }
    // The broker is registered (TBW102 is routable) before any flow starts.
    ASSERT_TRUE(WaitForRoute("TBW102")) << "brokerd did not register with namesrvd";
  }

  bool WaitForRoute(const std::string& topic) {
    const auto deadline = Clock::now() + kSettle;
    while (Clock::now() < deadline) {
      Client c;
      if (c.Connect("127.0.0.1", namesrv_.port(), kIo).ok()) {
        auto r = c.Call(Request(105, {{"topic", topic}}), kIo);
        if (r.ok() && r->code == rc::kSuccess) return true;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

  // Replays wire/<name>; returns how many answers were compared.
  int Replay(const std::string& name, int* server_requests = nullptr) {
    std::vector<CapturedFrame> frames = LoadCapture(name);
    EXPECT_FALSE(frames.empty()) << name;
    Replayer replayer(broker_.port(), namesrv_.port());
    {
      SCOPED_TRACE(name);
      replayer.Run(frames);
    }
    if (server_requests != nullptr) *server_requests = replayer.server_requests();
    return replayer.compared();
  }

  int64_t QueryOffset(const std::string& group, const std::string& topic, int queue) {
    auto r = admin_.Call(
        Request(14,
                {{"consumerGroup", group}, {"topic", topic}, {"queueId", std::to_string(queue)}}),
        kIo);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->code != rc::kSuccess || r->FindExtField("offset") == nullptr) return -100;
    return std::stoll(*r->FindExtField("offset"));
  }

  // Max offsets of queues 0..n-1 once they stop changing (sends are acknowledged after the
  // store, oneway ones are not: settle, bounded).
  std::vector<int64_t> MaxOffsets(const std::string& topic, int n, int64_t want_total) {
    std::vector<int64_t> out;
    const auto deadline = Clock::now() + kSettle;
    while (true) {
      out.clear();
      int64_t total = 0;
      for (int q = 0; q < n; ++q) {
        auto r = admin_.Call(Request(30, {{"topic", topic}, {"queueId", std::to_string(q)}}), kIo);
        EXPECT_TRUE(r.ok()) << r.status();
        out.push_back(r.ok() ? std::stoll(*r->FindExtField("offset")) : -1);
        total += out.back();
      }
      if (total == want_total || Clock::now() >= deadline) return out;
      std::this_thread::sleep_for(milliseconds(20));
    }
  }

  // Namesrv first: members are destroyed in reverse order, the broker goes first.
  Namesrvd namesrv_;
  Brokerd broker_;
  Client admin_;
};

TEST_F(ReplayTest, JavaSendSelector) {
  EXPECT_EQ(Replay("java-send-selector.jsonl"), 16);  // 2 routes, 12 sends, 2 unregisters
  // 12 ordered sends: order k step s went to queue k (0..2), in step order.
  EXPECT_EQ(MaxOffsets("WireOrdered", 8, 12), (std::vector<int64_t>{4, 4, 4, 0, 0, 0, 0, 0}));
  for (int q = 0; q < 3; ++q) {
    std::vector<Record> records = PullUntil(admin_, "WireOrdered", q, 0, 4, kSettle);
    ASSERT_EQ(records.size(), 4u);
    for (int s = 0; s < 4; ++s) {
      EXPECT_EQ(records[s].body, "order " + std::to_string(q) + " step " + std::to_string(s));
    }
  }
}

TEST_F(ReplayTest, JavaSendRocketMqSerialize) {
  // Every request has the ROCKETMQ binary header: every answer must have it too (checked frame
  // by frame with the serialize type).
  EXPECT_EQ(Replay("java-send-rocketmq-serialize.jsonl"), 11);  // 2 routes, 6 sends, hb, 2 unreg
  // The 6 answered sends and the oneway one are stored.
  std::vector<int64_t> max = MaxOffsets("WireBinary", 4, 7);
  EXPECT_EQ(max, (std::vector<int64_t>{1, 3, 2, 1}));
  std::vector<Record> records = PullUntil(admin_, "WireBinary", 2, 0, 2, kSettle);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].body, "hello 1");
  EXPECT_EQ(records[1].body, "oneway");
}

TEST_F(ReplayTest, JavaPushConcurrentAfterJavaSendSync) {
  // The consumer flow consumes what java-send-sync wrote (fixtures README section 5).
  EXPECT_EQ(Replay("java-send-sync.jsonl"), 11);
  EXPECT_EQ(MaxOffsets("WireTopic", 4, 7), (std::vector<int64_t>{1, 1, 3, 2}));
  int notifies = 0;
  EXPECT_EQ(Replay("java-push-concurrent.jsonl", &notifies), 25);
  EXPECT_EQ(notifies, 1);  // NOTIFY_CONSUMER_IDS_CHANGED when the consumer joined
  // The flow's oneway UPDATE_CONSUMER_OFFSETs took effect (they precede the synchronous
  // UNREGISTER_CLIENT on the same connection).
  const std::string g = "WireConcurrentGroup";
  EXPECT_EQ(QueryOffset(g, "WireTopic", 0), 1);
  EXPECT_EQ(QueryOffset(g, "WireTopic", 1), 1);
  EXPECT_EQ(QueryOffset(g, "WireTopic", 2), 3);
  EXPECT_EQ(QueryOffset(g, "WireTopic", 3), 2);
  EXPECT_EQ(QueryOffset(g, "%RETRY%" + g, 0), 0);
  // The consumer unregistered: the group has no live client any more.
  auto list = admin_.Call(Request(38, {{"consumerGroup", g}}), kIo);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->code, rc::kSystemError);
}

TEST_F(ReplayTest, JavaPushOrderlyAfterJavaSendSelector) {
  EXPECT_EQ(Replay("java-send-selector.jsonl"), 16);
  EXPECT_EQ(MaxOffsets("WireOrdered", 8, 12), (std::vector<int64_t>{4, 4, 4, 0, 0, 0, 0, 0}));
  int notifies = 0;
  EXPECT_EQ(Replay("java-push-orderly.jsonl", &notifies), 48);
  EXPECT_EQ(notifies, 1);
  const std::string g = "WireOrderlyGroup";
  for (int q = 0; q < 8; ++q) EXPECT_EQ(QueryOffset(g, "WireOrdered", q), q < 3 ? 4 : 0) << q;
  // The flow's UNLOCK_BATCH_MQ released every queue: another client of the group gets them
  // all (the orderly client's locks would otherwise be held for 60 s).
  std::string mqs;
  for (int q = 0; q < 8; ++q) {
    mqs += R"({"brokerName":"broker-a","queueId":)" + std::to_string(q) +
           R"(,"topic":"WireOrdered"},)";
  }
  RemotingCommand lock = Request(41, {});
  lock.body = R"({"clientId":"other@1","consumerGroup":"WireOrderlyGroup","mqSet":[)" + mqs +
              R"({"brokerName":"broker-a","queueId":0,"topic":"%RETRY%WireOrderlyGroup"}]})";
  auto r = admin_.Call(lock, kIo);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->code, rc::kSuccess);
  Json body = Json::parse(r->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r->body;
  EXPECT_EQ(body["lockOKMQSet"].size(), 9u) << r->body;
}

TEST_F(ReplayTest, CppSendConsume) {
  int notifies = 0;
  EXPECT_EQ(Replay("cpp-send-consume.jsonl", &notifies), 32);
  EXPECT_EQ(notifies, 1);
  const std::string topic = "cpp_basic_1a211a7bc3c53a0";
  EXPECT_EQ(MaxOffsets(topic, 4, 10), (std::vector<int64_t>{3, 3, 2, 2}));
  // The consumer's (answered) UPDATE_CONSUMER_OFFSETs.
  const std::string g = "CG_cpp_basic_1a211a7bc3c53a0";
  EXPECT_EQ(QueryOffset(g, topic, 0), 3);
  EXPECT_EQ(QueryOffset(g, topic, 1), 3);
  EXPECT_EQ(QueryOffset(g, topic, 2), 2);
  EXPECT_EQ(QueryOffset(g, topic, 3), 2);
}

TEST_F(ReplayTest, OnsSendConsume) {
  int notifies = 0;
  EXPECT_EQ(Replay("ons-send-consume.jsonl", &notifies), 42);
  EXPECT_EQ(notifies, 1);
  const std::string topic = "ons_basic_mwvtfppxglk";
  // The topic ali-ons created with UPDATE_AND_CREATE_TOPIC is in the topic table as asked.
  auto all = admin_.Call(Request(21, {}), kIo);
  ASSERT_TRUE(all.ok());
  Json table = Json::parse(all->body, nullptr, false);
  ASSERT_TRUE(table.is_object()) << all->body;
  EXPECT_EQ(table["topicConfigTable"][topic],
            Json::parse(R"({"order":false,"perm":6,"readQueueNums":4,"topicFilterType":)"
                        R"("SINGLE_TAG","topicName":"ons_basic_mwvtfppxglk","topicSysFlag":0,)"
                        R"("writeQueueNums":4})"));
  EXPECT_EQ(MaxOffsets(topic, 4, 10), (std::vector<int64_t>{2, 2, 3, 3}));
  const std::string g = "CG_basic_mwvtfppxglk";
  EXPECT_EQ(QueryOffset(g, topic, 0), 2);
  EXPECT_EQ(QueryOffset(g, topic, 1), 2);
  EXPECT_EQ(QueryOffset(g, topic, 2), 3);
  EXPECT_EQ(QueryOffset(g, topic, 3), 3);
}

}  // namespace
