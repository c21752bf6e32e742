// Unit tests of RouteInfoManager (expiry with an injected clock, unregister, slave results) and
// of the compressed REGISTER_BROKER body parser.
// Thread-safety: single-threaded tests.
#include "namesrv/route_info_manager.h"

#include <zlib.h>

#include <string>

#include "gtest/gtest.h"
#include "namesrv/processor.h"

namespace brokerd::namesrv {
namespace {

RegisterBrokerBody OneTopic(const std::string& topic, int64_t counter) {
  RegisterBrokerBody b;
  b.data_version = {1000, counter};
  b.topics.push_back({topic, 4, 4, 6, 0});
  return b;
}

TEST(RouteInfoManagerTest, ExpiresSilentBrokersAfterTheTimeout) {
  int64_t now = 1000;
  RouteInfoManager m(120000, [&] { return now; });
  m.RegisterBroker("C", "1.2.3.4:10911", "b", 0, "1.2.3.4:10912", OneTopic("T", 1), 7);
  ASSERT_TRUE(m.TopicRouteJson("T").has_value());
  now += 120000;
  EXPECT_TRUE(m.ScanNotActiveBrokers().empty());
  now += 1;
  EXPECT_EQ(m.ScanNotActiveBrokers().size(), 1u);
  EXPECT_FALSE(m.TopicRouteJson("T").has_value());
  EXPECT_EQ(m.ClusterInfoJson(), R"({"brokerAddrTable":{},"clusterAddrTable":{}})");
}

TEST(RouteInfoManagerTest, RouteJsonAndSlaveResult) {
  RouteInfoManager m(120000, [] { return int64_t{5}; });
  m.RegisterBroker("C", "h:1", "b", 0, "h:2", OneTopic("T", 1), 1);
  RegisterBrokerResult r = m.RegisterBroker("C", "s:1", "b", 1, "s:2", OneTopic("T", 1), 2);
  EXPECT_EQ(r.master_addr, "h:1");
  EXPECT_EQ(r.ha_server_addr, "h:2");
  EXPECT_EQ(*m.TopicRouteJson("T"),
            R"({"brokerDatas":[{"brokerAddrs":{"0":"h:1","1":"s:1"},"brokerName":"b",)"
            R"("cluster":"C"}],"filterServerTable":{},"queueDatas":[{"brokerName":"b",)"
            R"("perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]})");
  EXPECT_EQ(m.AllTopicListJson(), R"({"topicList":["T"]})");
  m.OnConnectionClosed(2);
  EXPECT_EQ(m.live_broker_count(), 1u);
  m.UnregisterBroker("C", "h:1", "b", 0);
  EXPECT_FALSE(m.TopicRouteJson("T").has_value());
}

std::string BigEndian(int32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((static_cast<uint32_t>(v) >> (24 - 8 * i)));
  return s;
}

TEST(RegisterBodyTest, ParsesCompressedBody) {
  std::string dv = R"({"counter":3,"timestamp":77})";
  std::string t = "WireTopic 4 4 6 SINGLE_TAG";
  std::string f = "[]";
  std::string raw = BigEndian(static_cast<int32_t>(dv.size())) + dv + BigEndian(1) +
                    BigEndian(static_cast<int32_t>(t.size())) + t +
                    BigEndian(static_cast<int32_t>(f.size())) + f;
  uLongf len = compressBound(raw.size());
  std::string z(len, '\0');
  ASSERT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &len,
                     reinterpret_cast<const Bytef*>(raw.data()), raw.size()),
            Z_OK);
  z.resize(len);
  absl::StatusOr<RegisterBrokerBody> b = ParseRegisterBrokerBody(z, true);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data_version.counter, 3);
  EXPECT_EQ(b->data_version.timestamp, 77);
  ASSERT_EQ(b->topics.size(), 1u);
  EXPECT_EQ(b->topics[0].topic_name, "WireTopic");
  EXPECT_EQ(b->topics[0].write_queue_nums, 4);
  EXPECT_FALSE(ParseRegisterBrokerBody("not zlib", true).ok());
  EXPECT_FALSE(ParseRegisterBrokerBody("{bad", false).ok());
}

}  // namespace
}  // namespace brokerd::namesrv
