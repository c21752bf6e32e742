// Tests of rs_admin, the admin command line: the binary runs as a subprocess against a real
// namesrvd and brokerd (registered with it), and each verb's table and --json output is checked
// (the JSON parsed), with the usage errors (exit 2), network errors (exit 1) and --help. The
// parser and message-id helpers are also tested directly. Every wait is bounded.
#include "tools/admin_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../broker/harness.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tool_process.h"

namespace {

using namespace brokerd_test;  // NOLINT(google-build-using-namespace)
using Json = nlohmann::json;

using tool_test::Describe;
using tool_test::Result;

// Runs rs_admin with args (NAMESRV_ADDR unset); kills it after 60 s.
Result Admin(const std::vector<std::string>& args) {
  return tool_test::RunTool(RS_ADMIN_PATH, "rs_admin", args);
}

Json ParseJson(const Result& r) {
  Json j = Json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << Describe(r);
  return j;
}

// The whitespace-separated cells of the first line of a table that starts with `first`.
std::vector<std::string> RowOf(const std::string& out, const std::string& first) {
  size_t at = 0;
  while (at < out.size()) {
    size_t end = out.find('\n', at);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(at, end - at);
    if (line.rfind(first, 0) == 0) {
      std::vector<std::string> cells;
      std::istringstream in(line);
      for (std::string c; in >> c;) cells.push_back(c);
      return cells;
    }
    at = end + 1;
  }
  return {};
}

// The first n cells of v.
std::vector<std::string> Head(std::vector<std::string> v, size_t n) {
  if (v.size() > n) v.resize(n);
  return v;
}

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A namesrvd and a brokerd registered with it.
class AdminCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(namesrv_.Start());
    broker_.set_extra_config("namesrvAddr=127.0.0.1:" + std::to_string(namesrv_.port()) + "\n");
    ASSERT_TRUE(broker_.Start());
    n_ = {"-n", "127.0.0.1:" + std::to_string(namesrv_.port())};
    broker_addr_ = "127.0.0.1:" + std::to_string(broker_.port());
    // Registration: the cluster shows the broker.
    bool registered = false;
    for (int i = 0; i < 200 && !registered; ++i) {
      Result r = Admin(Cat({"clusterList", "--json"}, n_));
      registered = r.code == 0 && r.out.find(broker_addr_) != std::string::npos;
      if (!registered) std::this_thread::sleep_for(milliseconds(100));
    }
    ASSERT_TRUE(registered) << "the broker did not register";
  }

  Result A(const std::vector<std::string>& args) { return Admin(Cat(args, n_)); }

  // Creates topic with `queues` queues on the cluster and waits until it has a route.
  void CreateTopic(const std::string& topic, int queues) {
    const std::string q = std::to_string(queues);
    Result r = A({"updateTopic", "-c", "DefaultCluster", "-t", topic, "-r", q, "-w", q});
    ASSERT_EQ(r.code, 0) << Describe(r);
    WaitRoute(topic);
  }

  void WaitRoute(const std::string& topic) {
    for (int i = 0; i < 200; ++i) {
      if (A({"topicRoute", "-t", topic}).code == 0) return;
      std::this_thread::sleep_for(milliseconds(100));
    }
    FAIL() << "no route for " << topic;
  }

  // Sends one message and returns the --json send result.
  Json Send(const std::string& topic, const std::string& body, std::vector<std::string> extra) {
    Result r = A(Cat({"sendMessage", "-t", topic, "-p", body, "--json"}, extra));
    EXPECT_EQ(r.code, 0) << Describe(r);
    return ParseJson(r);
  }

  Namesrvd namesrv_;
  Brokerd broker_;
  std::vector<std::string> n_;
  std::string broker_addr_;
};

TEST(AdminCliUsageTest, HelpListsVerbsAndOptions) {
  Result r = Admin({"--help"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  for (const char* verb :
       {"updateTopic", "deleteTopic", "topicList", "topicRoute", "topicStatus", "clusterList",
        "brokerStatus", "queryMsgById", "queryMsgByKey", "queryMsgByOffset", "consumerProgress",
        "sendMessage", "consumeMessage", "resetOffsetByTime"}) {
    EXPECT_NE(r.out.find(std::string("  ") + verb + " "), std::string::npos) << verb;
    Result h = Admin({verb, "--help"});
    EXPECT_EQ(h.code, 0) << verb << Describe(h);
    EXPECT_NE(h.out.find("-n, --namesrvAddr"), std::string::npos) << verb;
    EXPECT_NE(h.out.find("--json"), std::string::npos) << verb;
    EXPECT_NE(h.out.find("example:"), std::string::npos) << verb;
  }
  Result h = Admin({"updateTopic", "-h"});
  EXPECT_EQ(h.code, 0);
  for (const char* opt :
       {"-t, --topic", "-b, --brokerAddr", "-c, --clusterName", "-r, --readQueueNums",
        "-w, --writeQueueNums", "-p, --perm", "-o, --order"}) {
    EXPECT_NE(h.out.find(opt), std::string::npos) << opt;
  }
  EXPECT_NE(Admin({"resetOffsetByTime", "--help"}).out.find("overwrite"), std::string::npos);
  EXPECT_EQ(Admin({"help", "sendMessage"}).code, 0);
  EXPECT_NE(Admin({"help", "sendMessage"}).out.find("-p, --body"), std::string::npos);
}

TEST(AdminCliUsageTest, UsageErrorsExit2AndNetworkErrorsExit1) {
  Result r = Admin({});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no verb"), std::string::npos);

  r = Admin({"nosuchVerb", "-n", "127.0.0.1:9876"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown verb 'nosuchVerb'"), std::string::npos) << r.err;
  r = Admin({"topiclist", "-n", "127.0.0.1:9876"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("did you mean topicList"), std::string::npos) << r.err;

  r = Admin({"topicRoute", "-n", "127.0.0.1:9876", "-t", "T", "-z"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option -z"), std::string::npos) << r.err;
  r = Admin({"topicRoute", "-n", "127.0.0.1:9876", "-t", "T", "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown option --bogus"), std::string::npos) << r.err;
  r = Admin({"topicRoute", "-n", "127.0.0.1:9876", "-t"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("needs a value"), std::string::npos) << r.err;
  r = Admin({"topicRoute", "-n", "127.0.0.1:9876"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("missing required option -t/--topic"), std::string::npos) << r.err;
  r = Admin({"queryMsgByOffset", "-n", "127.0.0.1:9876", "-t", "T", "-b", "b", "-i", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-o/--offset"), std::string::npos) << r.err;
  r = Admin(
      {"queryMsgByOffset", "-n", "127.0.0.1:9876", "-t", "T", "-b", "b", "-i", "0", "-o", "x"});
  EXPECT_EQ(r.code, 2) << Describe(r);
  r = Admin({"updateTopic", "-n", "127.0.0.1:9876", "-t", "T"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("-b/--brokerAddr or -c/--clusterName"), std::string::npos) << r.err;
  r = Admin({"updateTopic", "-n", "127.0.0.1:9876", "-t", "bad topic", "-c", "C"});
  EXPECT_EQ(r.code, 2) << Describe(r);
  r = Admin({"updateTopic", "-n", "127.0.0.1:9876", "-t", "T", "-c", "C", "-r", "0"});
  EXPECT_EQ(r.code, 2) << Describe(r);
  r = Admin({"consumeMessage", "-n", "127.0.0.1:9876", "-t", "T", "-i", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("needs -b"), std::string::npos) << r.err;
  r = Admin({"resetOffsetByTime", "-n", "127.0.0.1:9876", "-g", "G", "-t", "T", "-s", "when"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a timestamp"), std::string::npos) << r.err;
  r = Admin({"topicList"});  // no -n and no NAMESRV_ADDR
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no name server"), std::string::npos) << r.err;
  r = Admin({"topicList", "-n", "localhost"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not ip:port"), std::string::npos) << r.err;

  // Nothing listens on the port: exit 1 with the reason.
  const std::string dead = "127.0.0.1:" + std::to_string(brokerd::net::FreeLoopbackPort());
  r = Admin({"topicList", "-n", dead});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(dead), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  r = Admin({"brokerStatus", "-n", dead, "-b", dead, "--json"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("broker " + dead), std::string::npos) << r.err;
}

TEST_F(AdminCliTest, ClusterAndBrokerStatus) {
  Result r = A({"clusterList"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out.rfind("#Cluster Name", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("DefaultCluster"), std::string::npos);
  EXPECT_NE(r.out.find("broker-a"), std::string::npos);
  EXPECT_NE(r.out.find(broker_addr_), std::string::npos);
  EXPECT_NE(r.out.find("V4_9_7"), std::string::npos);

  r = A({"clusterList", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  Json j = ParseJson(r);
  ASSERT_EQ(j["brokers"].size(), 1u) << r.out;
  EXPECT_EQ(j["brokers"][0]["cluster"], "DefaultCluster");
  EXPECT_EQ(j["brokers"][0]["brokerName"], "broker-a");
  EXPECT_EQ(j["brokers"][0]["brokerId"], 0);
  EXPECT_EQ(j["brokers"][0]["addr"], broker_addr_);
  EXPECT_EQ(j["brokers"][0]["runtimeInfo"]["brokerVersionDesc"], "V4_9_7");

  r = A({"clusterList", "-c", "NoSuchCluster"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NoSuchCluster"), std::string::npos) << r.err;

  r = A({"brokerStatus", "-b", broker_addr_});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(r.out.rfind("#Key", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("brokerVersionDesc"), std::string::npos);
  EXPECT_NE(r.out.find("commitLogMaxOffset"), std::string::npos);

  r = A({"brokerStatus", "-c", "DefaultCluster", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["brokers"].size(), 1u);
  EXPECT_EQ(j["brokers"][0]["brokerAddr"], broker_addr_);
  EXPECT_EQ(j["brokers"][0]["table"]["brokerName"], "broker-a");
  EXPECT_EQ(j["brokers"][0]["table"]["brokerClusterName"], "DefaultCluster");

  r = A({"brokerStatus"});
  EXPECT_EQ(r.code, 2) << Describe(r);
}

TEST_F(AdminCliTest, TopicVerbs) {
  Result r = A({"updateTopic", "-c", "DefaultCluster", "-t", "AdminTopic", "-r", "4", "-w", "4"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find(broker_addr_), std::string::npos);
  EXPECT_NE(r.out.find("OK"), std::string::npos);
  r = A({"updateTopic", "-b", broker_addr_, "-t", "AdminTopic2", "-r", "2", "-w", "3", "-p", "6",
         "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  Json j = ParseJson(r);
  EXPECT_EQ(j["topic"], "AdminTopic2");
  EXPECT_EQ(j["readQueueNums"], 2);
  EXPECT_EQ(j["writeQueueNums"], 3);
  ASSERT_EQ(j["brokers"].size(), 1u);
  EXPECT_EQ(j["brokers"][0]["ok"], true);
  EXPECT_EQ(j["brokers"][0]["brokerName"], "broker-a");
  r = A({"updateTopic", "-c", "NoSuchCluster", "-t", "X"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NoSuchCluster"), std::string::npos);
  WaitRoute("AdminTopic");
  WaitRoute("AdminTopic2");

  r = A({"topicList"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("AdminTopic\n"), std::string::npos) << r.out;
  r = A({"topicList", "--json"});
  j = ParseJson(r);
  EXPECT_NE(std::find(j["topicList"].begin(), j["topicList"].end(), "AdminTopic2"),
            j["topicList"].end());
  r = A({"topicList", "-c"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("DefaultCluster  AdminTopic"), std::string::npos) << r.out;
  r = A({"topicList", "-c", "--json"});
  j = ParseJson(r);
  bool found = false;
  for (const Json& t : j["topics"]) {
    found |= t["cluster"] == "DefaultCluster" && t["topic"] == "AdminTopic";
  }
  EXPECT_TRUE(found) << r.out;

  r = A({"topicRoute", "-t", "AdminTopic2"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("#Broker Name  #Read Queues  #Write Queues"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(broker_addr_), std::string::npos);
  r = A({"topicRoute", "-t", "AdminTopic2", "--json"});
  j = ParseJson(r);
  ASSERT_EQ(j["queueDatas"].size(), 1u) << r.out;
  EXPECT_EQ(j["queueDatas"][0]["readQueueNums"], 2);
  EXPECT_EQ(j["queueDatas"][0]["writeQueueNums"], 3);
  EXPECT_EQ(j["brokerDatas"][0]["brokerAddrs"]["0"], broker_addr_);
  r = A({"topicRoute", "-t", "NoSuchTopic"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no route"), std::string::npos) << r.err;

  // topicStatus: 3 messages in queue 1, none elsewhere.
  const int64_t before = NowMs();
  for (int i = 0; i < 3; ++i) {
    Send("AdminTopic", "m" + std::to_string(i), {"-b", "broker-a", "-i", "1"});
  }
  r = A({"topicStatus", "-t", "AdminTopic", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["queues"].size(), 4u) << r.out;
  for (const Json& q : j["queues"]) {
    EXPECT_EQ(q["brokerName"], "broker-a");
    EXPECT_EQ(q["minOffset"], 0);
    if (q["queueId"] == 1) {
      EXPECT_EQ(q["maxOffset"], 3);
      EXPECT_GE(q["lastUpdateTimestamp"].get<int64_t>(), before);
      EXPECT_GE(q["lastUpdateTimestamp"].get<int64_t>(), q["firstStoreTimestamp"].get<int64_t>());
    } else {
      EXPECT_EQ(q["maxOffset"], 0);
      EXPECT_EQ(q["lastUpdateTimestamp"], 0);
    }
  }
  r = A({"topicStatus", "-t", "AdminTopic"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("#Broker Name  #QID  #Min Offset  #Max Offset"), std::string::npos);
  EXPECT_EQ(Head(RowOf(r.out, "broker-a      1 "), 4),
            (std::vector<std::string>{"broker-a", "1", "0", "3"}))
      << r.out;

  // deleteTopic: the broker and the name server drop it.
  r = A({"deleteTopic", "-t", "AdminTopic2"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("broker   broker-a"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("deleted"), std::string::npos);
  EXPECT_NE(r.out.find("route deleted"), std::string::npos);
  r = A({"topicRoute", "-t", "AdminTopic2"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  // It stays gone after the broker's next registrations.
  std::this_thread::sleep_for(milliseconds(1500));
  r = A({"topicList", "--json"});
  j = ParseJson(r);
  EXPECT_EQ(std::find(j["topicList"].begin(), j["topicList"].end(), "AdminTopic2"),
            j["topicList"].end())
      << r.out;
  r = A({"deleteTopic", "-t", "AdminTopic2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("-c CLUSTER"), std::string::npos) << r.err;
  r = A({"deleteTopic", "-t", "AdminTopic", "-c", "DefaultCluster", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["results"].size(), 2u) << r.out;
  EXPECT_EQ(j["results"][0]["target"], "broker");
  EXPECT_EQ(j["results"][0]["ok"], true);
  EXPECT_EQ(j["results"][1]["target"], "namesrv");
  EXPECT_EQ(j["results"][1]["ok"], true);
}

TEST_F(AdminCliTest, MessageVerbs) {
  CreateTopic("MsgTopic", 4);
  Json sent = Send("MsgTopic", "hello admin",
                   {"-k", "order-1 shared", "-c", "TagA", "-b", "broker-a", "-i", "1"});
  EXPECT_EQ(sent["sendStatus"], "SEND_OK");
  EXPECT_EQ(sent["brokerName"], "broker-a");
  const std::string offset_msg_id = sent["offsetMsgId"];
  const std::string msg_id = sent["msgId"];
  ASSERT_EQ(offset_msg_id.size(), 32u);
  ASSERT_EQ(msg_id.size(), 32u);
  Json second = Send("MsgTopic", "second", {"-k", "order-2 shared", "-b", "broker-a", "-i", "3"});
  EXPECT_EQ(second["queueId"], 3);
  Result r = A({"sendMessage", "-t", "MsgTopic", "-p", "third", "-b", "broker-a", "-i", "2"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("#Broker Name  #QID  #Send Result"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SEND_OK"), std::string::npos);
  const std::string binary = "bin\xff\xfe";
  Json bin = Send("MsgTopic", binary, {"-b", "broker-a", "-i", "0"});
  r = A({"sendMessage", "-t", "MsgTopic", "-p", "x", "-b", "broker-z"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("broker-z"), std::string::npos) << r.err;

  // queryMsgById, by offsetMsgId and by client id.
  r = A({"queryMsgById", "-i", offset_msg_id});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("Message Body:       hello admin\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Tags:               [TagA]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MsgId:              " + msg_id), std::string::npos) << r.out;
  r = A({"queryMsgById", "-i", offset_msg_id, "--json"});
  Json j = ParseJson(r);
  ASSERT_EQ(j["messages"].size(), 1u);
  EXPECT_EQ(j["messages"][0]["body"], "hello admin");
  EXPECT_EQ(j["messages"][0]["topic"], "MsgTopic");
  EXPECT_EQ(j["messages"][0]["keys"], "order-1 shared");
  EXPECT_EQ(j["messages"][0]["msgId"], msg_id);
  EXPECT_EQ(j["messages"][0]["brokerName"], "broker-a");
  EXPECT_EQ(j["messages"][0]["storeHost"], broker_addr_);
  EXPECT_EQ(j["messages"][0]["queueOffset"], sent["queueOffset"]);
  r = A({"queryMsgById", "-i", msg_id, "-t", "MsgTopic", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["messages"].size(), 1u) << r.out;
  EXPECT_EQ(j["messages"][0]["offsetMsgId"], offset_msg_id);
  r = A({"queryMsgById", "-i", msg_id});
  EXPECT_EQ(r.code, 2) << Describe(r);
  EXPECT_NE(r.err.find("-t TOPIC"), std::string::npos) << r.err;
  r = A({"queryMsgById", "-i", bin["offsetMsgId"].get<std::string>(), "--json"});
  j = ParseJson(r);
  ASSERT_EQ(j["messages"].size(), 1u) << r.out;
  EXPECT_FALSE(j["messages"][0].contains("body"));
  EXPECT_EQ(j["messages"][0]["bodyBase64"], "Ymlu//4=");  // base64 of "bin\xff\xfe"
  // An offsetMsgId past the end of the CommitLog.
  r = A({"queryMsgById", "-i", offset_msg_id.substr(0, 16) + "00000000FFFFFF00"});
  EXPECT_EQ(r.code, 1) << Describe(r);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;

  // queryMsgByKey.
  r = A({"queryMsgByKey", "-t", "MsgTopic", "-k", "shared"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find(msg_id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(second["msgId"].get<std::string>()), std::string::npos) << r.out;
  r = A({"queryMsgByKey", "-t", "MsgTopic", "-k", "order-2", "--json"});
  j = ParseJson(r);
  ASSERT_EQ(j["messages"].size(), 1u) << r.out;
  EXPECT_EQ(j["messages"][0]["body"], "second");
  r = A({"queryMsgByKey", "-t", "MsgTopic", "-k", "nothing", "--json"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(ParseJson(r)["messages"].size(), 0u);

  // queryMsgByOffset.
  r = A({"queryMsgByOffset", "-t", "MsgTopic", "-b", "broker-a", "-i", "3", "-o",
         std::to_string(second["queueOffset"].get<int64_t>()), "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  EXPECT_EQ(j["messages"][0]["body"], "second");
  r = A({"queryMsgByOffset", "-t", "MsgTopic", "-b", "broker-a", "-i", "3", "-o", "0"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("Message Body:       second"), std::string::npos) << r.out;
  r = A({"queryMsgByOffset", "-t", "MsgTopic", "-b", "broker-a", "-i", "3", "-o", "99"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no message at offset 99"), std::string::npos) << r.err;
  r = A({"queryMsgByOffset", "-t", "MsgTopic", "-b", "broker-x", "-i", "3", "-o", "0"});
  EXPECT_EQ(r.code, 1);

  // consumeMessage: everything, one queue, a count.
  r = A({"consumeMessage", "-t", "MsgTopic", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  EXPECT_EQ(j["messages"].size(), 4u) << r.out;
  r = A({"consumeMessage", "-t", "MsgTopic"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("hello admin"), std::string::npos);
  EXPECT_NE(r.out.find("bin\\xff\\xfe"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 message(s)"), std::string::npos);
  for (int i = 0; i < 3; ++i)
    Send("MsgTopic", "q3-" + std::to_string(i), {"-b", "broker-a", "-i", "3"});
  r = A({"consumeMessage", "-t", "MsgTopic", "-b", "broker-a", "-i", "3", "-o", "1", "-c", "2",
         "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["messages"].size(), 2u) << r.out;
  EXPECT_EQ(j["messages"][0]["queueOffset"], 1);
  EXPECT_EQ(j["messages"][0]["body"], "q3-0");
  EXPECT_EQ(j["messages"][1]["body"], "q3-1");
  const int64_t t = NowMs() + 1;
  std::this_thread::sleep_for(milliseconds(20));
  Send("MsgTopic", "late", {"-b", "broker-a", "-i", "3"});
  r = A({"consumeMessage", "-t", "MsgTopic", "-s", std::to_string(t), "--json"});
  j = ParseJson(r);
  ASSERT_EQ(j["messages"].size(), 1u) << r.out;
  EXPECT_EQ(j["messages"][0]["body"], "late");

  // A topic that does not exist yet: the broker creates it from TBW102 on the first send, on a
  // queue the tool picks.
  Json created = Send("AutoTopic", "auto", {});
  EXPECT_EQ(created["sendStatus"], "SEND_OK");
  EXPECT_GE(created["queueId"].get<int>(), 0);
  EXPECT_LT(created["queueId"].get<int>(), 4);
  WaitRoute("AutoTopic");
  Send("AutoTopic", "auto 2", {});
  r = A({"consumeMessage", "-t", "AutoTopic", "--json"});
  j = ParseJson(r);
  EXPECT_EQ(j["messages"].size(), 2u) << r.out;
}

TEST_F(AdminCliTest, OffsetVerbs) {
  CreateTopic("OffTopic", 2);
  for (int i = 0; i < 4; ++i)
    Send("OffTopic", "a" + std::to_string(i), {"-b", "broker-a", "-i", "0"});
  std::this_thread::sleep_for(milliseconds(30));
  const int64_t t = NowMs();
  std::this_thread::sleep_for(milliseconds(30));
  for (int i = 0; i < 3; ++i)
    Send("OffTopic", "b" + std::to_string(i), {"-b", "broker-a", "-i", "0"});

  Result r = A(
      {"resetOffsetByTime", "-g", "OffGroup", "-t", "OffTopic", "-s", std::to_string(t), "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  Json j = ParseJson(r);
  ASSERT_EQ(j["queues"].size(), 2u) << r.out;
  EXPECT_EQ(j["queues"][0]["queueId"], 0);
  EXPECT_EQ(j["queues"][0]["newOffset"], 4);
  EXPECT_EQ(j["queues"][1]["newOffset"], 0);
  EXPECT_EQ(j["onlineConsumers"].size(), 0u);

  r = A({"consumerProgress", "-g", "OffGroup", "-t", "OffTopic", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["queues"].size(), 2u) << r.out;
  EXPECT_EQ(j["queues"][0]["brokerOffset"], 7);
  EXPECT_EQ(j["queues"][0]["consumerOffset"], 4);
  EXPECT_EQ(j["queues"][0]["diff"], 3);
  EXPECT_GE(j["queues"][0]["lastTimestamp"].get<int64_t>(), t - 1000);
  EXPECT_LT(j["queues"][0]["lastTimestamp"].get<int64_t>(), t);
  EXPECT_EQ(j["diffTotal"], 3);
  // Table form, topics found from the committed offsets.
  r = A({"consumerProgress", "-g", "OffGroup"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_EQ(RowOf(r.out, "#Topic"),
            (std::vector<std::string>{"#Topic", "#Broker", "Name", "#QID", "#Broker", "Offset",
                                      "#Consumer", "Offset", "#Diff", "#LastTime"}))
      << r.out;
  EXPECT_EQ(Head(RowOf(r.out, "OffTopic"), 6),
            (std::vector<std::string>{"OffTopic", "broker-a", "0", "7", "4", "3"}))
      << r.out;
  EXPECT_NE(r.out.find("Diff Total: 3"), std::string::npos) << r.out;

  // now = the max offsets; -f false only moves back.
  r = A({"resetOffsetByTime", "-g", "OffGroup", "-t", "OffTopic", "-s", "now"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  EXPECT_NE(r.out.find("#Broker Name  #QID  #Old Offset  #New Offset"), std::string::npos);
  EXPECT_EQ(RowOf(r.out, "broker-a"), (std::vector<std::string>{"broker-a", "0", "4", "7"}))
      << r.out;
  r = A({"resetOffsetByTime", "-g", "OffGroup", "-t", "OffTopic", "-s", "0", "-f", "false",
         "--json"});
  j = ParseJson(r);
  EXPECT_EQ(j["queues"][0]["oldOffset"], 7);
  EXPECT_EQ(j["queues"][0]["newOffset"], 0);
  r = A({"resetOffsetByTime", "-g", "OffGroup", "-t", "OffTopic", "-s", "now", "-f", "false",
         "--json"});
  j = ParseJson(r);
  EXPECT_EQ(j["queues"][0]["newOffset"], 0);

  // A connected consumer of the group: the reset warns that it would overwrite the offsets.
  Client consumer;
  ASSERT_TRUE(consumer.Connect("127.0.0.1", broker_.port(), kIo).ok());
  RemotingCommand hb = Request(34, {});
  hb.body = R"({"clientID":"127.0.0.1@admin-test","producerDataSet":[],"consumerDataSet":[)"
            R"({"groupName":"OffGroup","consumeType":"CONSUME_PASSIVELY","messageModel":)"
            R"("CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","unitMode":false,)"
            R"("subscriptionDataSet":[{"topic":"OffTopic","subString":"*"}]}]})";
  auto hr = consumer.Call(hb, kIo);
  ASSERT_TRUE(hr.ok() && hr->code == 0);
  r = A({"resetOffsetByTime", "-g", "OffGroup", "-t", "OffTopic", "-s", "now", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["onlineConsumers"].size(), 1u) << r.out;
  EXPECT_EQ(j["onlineConsumers"][0], "127.0.0.1@admin-test");
  EXPECT_NE(r.err.find("overwrites this reset"), std::string::npos) << r.err;
  r = A({"consumerProgress", "-g", "OffGroup", "-t", "OffTopic"});
  EXPECT_NE(r.out.find("Consumers online: 1"), std::string::npos) << r.out;

  // Without -g: the groups that have a retry topic.
  CreateTopic("%RETRY%OffGroup", 1);
  r = A({"consumerProgress", "--json"});
  ASSERT_EQ(r.code, 0) << Describe(r);
  j = ParseJson(r);
  ASSERT_EQ(j["groups"].size(), 1u) << r.out;
  EXPECT_EQ(j["groups"][0]["group"], "OffGroup");
  EXPECT_EQ(j["groups"][0]["count"], 1);
  r = A({"consumerProgress"});
  EXPECT_EQ(Head(RowOf(r.out, "OffGroup"), 2), (std::vector<std::string>{"OffGroup", "1"}))
      << r.out;
}

TEST(AdminCliUnitTest, ParserAndTextForms) {
  rsadmin::VerbSpec spec{
      "v", "a verb", {{'t', "topic", true, true, "topic"}, {'c', "flag", false, false, "f"}}};
  auto p = rsadmin::ParseArgs(spec, {"-tT1", "--flag", "-n", "a:1", "--json", "--timeout=9"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Get("topic"), "T1");
  EXPECT_TRUE(p->Has("flag"));
  EXPECT_EQ(p->Get("namesrvAddr"), "a:1");
  EXPECT_EQ(p->Get("timeout"), "9");
  EXPECT_TRUE(p->Has("json"));
  p = rsadmin::ParseArgs(spec, {"--topic=x", "-t", "-1"});  // last wins; values may start with -
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Get("topic"), "-1");
  EXPECT_FALSE(rsadmin::ParseArgs(spec, {"-cx", "-t", "T"}).ok());
  EXPECT_FALSE(rsadmin::ParseArgs(spec, {"--flag=1", "-t", "T"}).ok());
  EXPECT_FALSE(rsadmin::ParseArgs(spec, {"stray", "-t", "T"}).ok());
  EXPECT_FALSE(rsadmin::ParseArgs(spec, {}).ok());
  EXPECT_TRUE(rsadmin::ParseArgs(spec, {"--help"}).ok());

  auto id = rsadmin::DecodeOffsetMsgId("7F000001000051AF00000000000020DF");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->broker_addr, "127.0.0.1:20911");
  EXPECT_EQ(id->commit_log_offset, 0x20DF);
  EXPECT_EQ(rsadmin::EncodeOffsetMsgId(std::string("\x7f\0\0\x01\0\0\x51\xaf", 8), 0x20DF),
            "7F000001000051AF00000000000020DF");
  EXPECT_FALSE(rsadmin::DecodeOffsetMsgId("7F00000102900FC1884C7E386EC60000").ok());  // port
  EXPECT_FALSE(rsadmin::DecodeOffsetMsgId("XYZ").ok());

  auto ts = rsadmin::ParseTimestamp("-s", "1700000000123");
  ASSERT_TRUE(ts.ok() && ts->has_value());
  EXPECT_EQ(**ts, 1700000000123);
  ts = rsadmin::ParseTimestamp("-s", "now");
  ASSERT_TRUE(ts.ok());
  EXPECT_FALSE(ts->has_value());
  ts = rsadmin::ParseTimestamp("-s", "2024-05-01#12:30:45:678");
  ASSERT_TRUE(ts.ok() && ts->has_value()) << ts.status();
  EXPECT_EQ(**ts % 1000, 678);
  EXPECT_EQ(rsadmin::FormatTimeMs(**ts), "2024-05-01 12:30:45.678");
  EXPECT_FALSE(rsadmin::ParseTimestamp("-s", "2024-13-01#00:00:00:000").ok());

  rsadmin::Table t({"A", "Bee"});
  t.AddRow({"long value", "x"});
  t.AddRow({"y", ""});
  EXPECT_EQ(t.ToString(), "#A          #Bee\nlong value  x\ny\n");
  EXPECT_EQ(rsadmin::Printable("a\nb\x01\xff\xc3\xa9"), "a\\nb\\x01\\xff\xc3\xa9");
  EXPECT_TRUE(rsadmin::IsValidUtf8("h\xc3\xa9llo"));
  EXPECT_FALSE(rsadmin::IsValidUtf8("\xff"));
}

}  // namespace
