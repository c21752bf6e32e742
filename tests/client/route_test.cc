// Route parsing: the TopicRouteData bodies real name servers sent in the wire captures
// (../shared/fixtures/wire, skipped when absent) and literal bodies; queue lists; namesrvAddr.
#include "client/route.h"

#include <string>

#include "../broker/harness.h"
#include "gtest/gtest.h"

namespace {

using rsclient::MessageQueue;
using rsclient::ParseNamesrvAddr;
using rsclient::ParseTopicRoute;

TEST(RouteTest, ParsesRoutesWithMastersAndSlaves) {
  auto r = ParseTopicRoute(
      R"({"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b",)"
      R"("cluster":"c"},{"brokerAddrs":{1:"10.0.0.3:10911"},"brokerName":"a","cluster":"c"}],)"
      R"("filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,)"
      R"("topicSysFlag":0,"writeQueueNums":2},{"brokerName":"a","perm":6,"readQueueNums":2,)"
      R"("topicSysFlag":0,"writeQueueNums":2}],"orderTopicConf":"b:2"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->order_topic_conf, "b:2");
  EXPECT_EQ(*r->MasterAddr("b"), "10.0.0.1:10911");
  EXPECT_FALSE(r->MasterAddr("a").has_value());  // slave only: not writable
  EXPECT_EQ(*r->AnyAddr("a"), "10.0.0.3:10911");
  auto w = r->WritableQueues("T");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0], (MessageQueue{"T", "b", 0}));
  auto rd = r->ReadableQueues("T");
  ASSERT_EQ(rd.size(), 6u);
  EXPECT_EQ(rd[0], (MessageQueue{"T", "a", 0}));  // sorted by broker name
}

TEST(RouteTest, RejectsMalformedRoutes) {
  for (const char* bad : {"", "[]", R"({"queueDatas":{}})", R"({"queueDatas":[{"perm":6}]})",
                          R"({"queueDatas":[{"brokerName":"b","perm":"x"}]})",
                          R"({"brokerDatas":[{"brokerName":"b","brokerAddrs":{"x":"a"}}]})",
                          R"({"queueDatas":[{"brokerName":"b","readQueueNums":-1}]})"}) {
    EXPECT_FALSE(ParseTopicRoute(bad).ok()) << bad;
  }
}

TEST(RouteTest, ParsesEveryCapturedRouteAnswer) {
  int parsed = 0;
  for (const char* name : {"ons-send-consume.jsonl", "java-send-sync.jsonl",
                           "cpp-send-consume.jsonl", "java-push-orderly.jsonl"}) {
    std::vector<brokerd_test::CapturedFrame> frames = brokerd_test::LoadCapture(name);
    std::map<int32_t, int32_t> route_requests;  // opaque -> conn
    for (const auto& f : frames) {
      if (f.dir == "c2s" && f.peer == "namesrv" && f.cmd.code == 105) {
        route_requests[f.cmd.opaque] = f.conn;
      }
    }
    for (const auto& f : frames) {
      if (f.dir != "s2c" || f.peer != "namesrv" || f.cmd.code != 0 ||
          !route_requests.contains(f.cmd.opaque) || f.cmd.body.empty()) {
        continue;
      }
      auto r = ParseTopicRoute(f.cmd.body);
      ASSERT_TRUE(r.ok()) << name << ": " << r.status() << "\n" << f.cmd.body;
      EXPECT_FALSE(r->broker_datas.empty());
      ++parsed;
    }
  }
  if (parsed == 0) GTEST_SKIP() << "../shared/fixtures/wire is absent";
}

TEST(RouteTest, NamesrvAddrLists) {
  auto two = ParseNamesrvAddr("127.0.0.1:9876; 127.0.0.2:9876;");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (std::vector<std::string>{"127.0.0.1:9876", "127.0.0.2:9876"}));
  EXPECT_FALSE(ParseNamesrvAddr("").ok());
  EXPECT_FALSE(ParseNamesrvAddr("host-without-port").ok());
  EXPECT_FALSE(ParseNamesrvAddr("1.2.3.4:99999").ok());
}

}  // namespace
