// ParseFastjson: JSON as fastjson writes it (bare integer object keys) parses; keys inside
// strings, array elements and normal JSON are left alone; non-objects are errors.
#include "remoting/fastjson.h"

#include "gtest/gtest.h"

namespace {

using brokerd::remoting::ParseFastjson;

TEST(FastjsonTest, BareIntegerKeysBecomeStrings) {
  auto j = ParseFastjson(R"({"offsetTable":{"t@g":{0:5,1:7},-1:{2 :3}}})", "t");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["offsetTable"]["t@g"]["0"], 5);
  EXPECT_EQ((*j)["offsetTable"]["t@g"]["1"], 7);
  EXPECT_EQ((*j)["offsetTable"]["-1"]["2"], 3);
  auto route = ParseFastjson(
      "{\n\t\"brokerDatas\":[{\"brokerAddrs\":{0:\"127.0.0.1:10911\",1:\"127.0.0.1:10921\"}}]}",
      "route");
  ASSERT_TRUE(route.ok());
  EXPECT_EQ((*route)["brokerDatas"][0]["brokerAddrs"]["1"], "127.0.0.1:10921");
}

TEST(FastjsonTest, LeavesStringsArraysAndPlainJsonAlone) {
  auto j = ParseFastjson(R"({"s":"{0:1,\"x\":2}","a":[1,2,{3:4}],"n":{"5":6}})", "t");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ((*j)["s"], "{0:1,\"x\":2}");
  EXPECT_EQ((*j)["a"][0], 1);
  EXPECT_EQ((*j)["a"][2]["3"], 4);
  EXPECT_EQ((*j)["n"]["5"], 6);
}

TEST(FastjsonTest, RejectsWhatIsNotAnObject) {
  for (const char* bad : {"", "[1]", "{0:}", "{\"a\":1", "12", "{a:1}"}) {
    auto j = ParseFastjson(bad, "file.json");
    EXPECT_FALSE(j.ok()) << bad;
    if (!j.ok()) {
      EXPECT_NE(j.status().message().find("file.json"), std::string::npos);
    }
  }
}

}  // namespace
