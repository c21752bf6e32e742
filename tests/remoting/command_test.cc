// Unit tests of RemotingCommand and its helpers: the ordered ext-field map, typed header-field
// getters (values given as JSON strings, numbers or booleans), MakeResponse / MakeRequest, flag
// helpers, LanguageCode names and code names.
#include "remoting/command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "remoting/codes.h"
#include "remoting/header_codec.h"

namespace brokerd::remoting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ExtFieldsTest, KeepsInsertionOrderAndReplacesInPlace) {
  ExtFields f;
  f.Set("queueId", "1");
  f.Set("TRACE_ON", "true");
  f.Set("msgId", "ABC");
  f.Set("queueId", "2");  // replaced, keeps the first position
  EXPECT_THAT(f.entries(),
              ElementsAre(Pair("queueId", "2"), Pair("TRACE_ON", "true"), Pair("msgId", "ABC")));
  ASSERT_NE(f.Find("msgId"), nullptr);
  EXPECT_EQ(*f.Find("msgId"), "ABC");
  EXPECT_EQ(f.Find("msgid"), nullptr);  // case-sensitive
  EXPECT_TRUE(f.Erase("TRACE_ON"));
  EXPECT_FALSE(f.Erase("TRACE_ON"));
  EXPECT_THAT(f.entries(), ElementsAre(Pair("queueId", "2"), Pair("msgId", "ABC")));
}

TEST(ExtFieldsTest, LargeMapsStayConsistentThroughTheIndex) {
  ExtFields f;
  for (int i = 0; i < 100; ++i) f.Set("k" + std::to_string(i), std::to_string(i));
  for (int i = 0; i < 100; i += 2) f.Set("k" + std::to_string(i), "x");
  ASSERT_EQ(f.size(), 100u);
  EXPECT_EQ(f.entries()[0].first, "k0");
  EXPECT_EQ(f.entries()[0].second, "x");
  EXPECT_EQ(*f.Find("k51"), "51");
  for (int i = 0; i < 90; ++i) ASSERT_TRUE(f.Erase("k" + std::to_string(i)));
  ASSERT_EQ(f.size(), 10u);
  EXPECT_EQ(f.entries()[0].first, "k90");
  EXPECT_EQ(*f.Find("k99"), "99");
  EXPECT_EQ(f.Find("k5"), nullptr);
  f.Set("k5", "back");
  EXPECT_EQ(f.entries().back().first, "k5");
  ExtFields copy = f;
  EXPECT_EQ(copy, f);
  EXPECT_EQ(*copy.Find("k95"), "95");
}

TEST(ExtFieldsTest, EqualityIsOrderSensitive) {
  ExtFields a{{"a", "1"}, {"b", "2"}};
  ExtFields b{{"b", "2"}, {"a", "1"}};
  EXPECT_FALSE(a == b);
  EXPECT_EQ(a, (ExtFields{{"a", "1"}, {"b", "2"}}));
}

TEST(RemotingCommandTest, TypedGettersAcceptStringsNumbersAndBooleans) {
  // cpp sends ints as JSON numbers and longs/bools as strings; ali-ons keeps JS types.
  absl::StatusOr<RemotingCommand> cmd = DecodeJsonHeader(
      R"({"code":310,"extFields":{"queueId":0,"e":"3","g":1795592538492,"gs":"1795592538492",)"
      R"("k":false,"ks":"false","kt":true,"kts":"TRUE","neg":-1,"plus":"+7","n":null,)"
      R"("s":"text"},"flag":0,"language":"CPP","opaque":1,"remark":"","version":333})");
  ASSERT_TRUE(cmd.ok()) << cmd.status();
  EXPECT_EQ(*cmd->GetInt32("queueId"), 0);
  EXPECT_EQ(*cmd->GetInt32("e"), 3);
  EXPECT_EQ(*cmd->GetInt64("g"), 1795592538492);
  EXPECT_EQ(*cmd->GetInt64("gs"), 1795592538492);
  EXPECT_EQ(*cmd->GetBool("k"), false);
  EXPECT_EQ(*cmd->GetBool("ks"), false);
  EXPECT_EQ(*cmd->GetBool("kt"), true);
  EXPECT_EQ(*cmd->GetBool("kts"), true);
  EXPECT_EQ(*cmd->GetInt32("neg"), -1);
  EXPECT_EQ(*cmd->GetInt64("neg"), -1);
  EXPECT_EQ(*cmd->GetInt32("plus"), 7);
  EXPECT_EQ(*cmd->GetString("s"), "text");
  EXPECT_EQ(*cmd->GetString("queueId"), "0");
  EXPECT_EQ(*cmd->GetString("k"), "false");
  EXPECT_FALSE(cmd->ext_fields.Contains("n"));  // null = absent
  EXPECT_EQ(*cmd->GetInt32Or("n", 42), 42);
  EXPECT_EQ(*cmd->GetInt64Or("absent", -5), -5);
  EXPECT_EQ(*cmd->GetBoolOr("absent", true), true);
  EXPECT_EQ(*cmd->GetInt32Or("queueId", 42), 0);
}

TEST(RemotingCommandTest, TypedGetterErrorsNameTheField) {
  RemotingCommand cmd;
  cmd.SetExtField("big", "2147483648");
  cmd.SetExtField("huge", "9223372036854775808");
  cmd.SetExtField("frac", "1.0");
  cmd.SetExtField("exp", "1e3");
  cmd.SetExtField("space", " 1");
  cmd.SetExtField("empty", "");
  cmd.SetExtField("sign", "-");
  cmd.SetExtField("two_signs", "+-1");
  cmd.SetExtField("hex", "0x10");
  cmd.SetExtField("yes", "yes");
  for (const char* name :
       {"big", "huge", "frac", "exp", "space", "empty", "sign", "two_signs", "hex", "missing"}) {
    absl::StatusOr<int32_t> v = cmd.GetInt32(name);
    ASSERT_FALSE(v.ok()) << name;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_THAT(v.status().message(), HasSubstr(std::string("'") + name + "'"));
  }
  EXPECT_EQ(*cmd.GetInt64("big"), 2147483648);
  EXPECT_FALSE(cmd.GetInt64("huge").ok());
  EXPECT_THAT(cmd.GetInt64("huge").status().message(), HasSubstr("out of range"));
  EXPECT_THAT(cmd.GetInt32("frac").status().message(), HasSubstr("not a decimal integer"));
  EXPECT_THAT(cmd.GetInt32("missing").status().message(), HasSubstr("missing header field"));
  EXPECT_FALSE(cmd.GetBool("yes").ok());
  EXPECT_THAT(cmd.GetBool("yes").status().message(), HasSubstr("'yes'"));
  EXPECT_FALSE(cmd.GetString("missing").ok());
  EXPECT_FALSE(cmd.GetInt32Or("frac", 1).ok());  // malformed is an error even with a fallback
}

TEST(RemotingCommandTest, FlagHelpers) {
  RemotingCommand cmd;
  EXPECT_FALSE(cmd.IsResponse());
  EXPECT_FALSE(cmd.IsOneway());
  cmd.MarkOneway();
  EXPECT_TRUE(cmd.IsOneway());
  EXPECT_FALSE(cmd.IsResponse());
  EXPECT_EQ(cmd.flag, 2);
  cmd.MarkResponse();
  EXPECT_TRUE(cmd.IsResponse());
  EXPECT_EQ(cmd.flag, 3);
}

TEST(RemotingCommandTest, MakeResponseCopiesOpaqueAndSerializeType) {
  RemotingCommand req;
  req.code = request_code::kSendMessageV2;
  req.language = "CPP";
  req.version = version::kV4_6_0;
  req.opaque = -123;
  req.flag = kFlagOneway;
  req.serialize_type = SerializeType::kRocketMq;
  req.SetExtField("a", "group");
  req.body = "payload";

  RemotingCommand resp = MakeResponse(req, response_code::kSystemError, "boom");
  EXPECT_EQ(resp.code, response_code::kSystemError);
  EXPECT_EQ(resp.opaque, -123);
  EXPECT_EQ(resp.flag, kFlagResponse);
  EXPECT_TRUE(resp.IsResponse());
  EXPECT_FALSE(resp.IsOneway());
  EXPECT_EQ(resp.serialize_type, SerializeType::kRocketMq);
  EXPECT_EQ(resp.language, "JAVA");
  EXPECT_EQ(resp.version, kServerVersion);
  EXPECT_GE(resp.version, version::kV4_1_0_Snapshot);
  EXPECT_EQ(resp.remark, "boom");
  EXPECT_TRUE(resp.ext_fields.empty());
  EXPECT_TRUE(resp.body.empty());

  RemotingCommand ok = MakeResponse(req, response_code::kSuccess);
  EXPECT_FALSE(ok.remark.has_value());
}

TEST(RemotingCommandTest, MakeRequest) {
  RemotingCommand r = MakeRequest(request_code::kNotifyConsumerIdsChanged, 352);
  r.MarkOneway();
  EXPECT_EQ(r.code, 40);
  EXPECT_EQ(r.opaque, 352);
  EXPECT_EQ(r.flag, 2);
  EXPECT_EQ(r.language, "JAVA");
  EXPECT_EQ(r.version, 407);
  EXPECT_EQ(r.serialize_type, SerializeType::kJson);
}

TEST(LanguageCodeTest, NamesAndBytesRoundTrip) {
  const char* names[] = {"JAVA",  "CPP",  "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY",
                         "OTHER", "HTTP", "GO",     "PHP",    "OMS",    "RUST",   "NODE_JS"};
  for (int i = 0; i < 14; ++i) {
    ASSERT_EQ(LanguageCodeFromName(names[i]), static_cast<uint8_t>(i));
    ASSERT_EQ(LanguageNameFromCode(static_cast<uint8_t>(i)), names[i]);
  }
  EXPECT_EQ(LanguageCodeFromName("java"), std::nullopt);
  EXPECT_EQ(LanguageCodeFromName(""), std::nullopt);
  EXPECT_EQ(LanguageNameFromCode(14), std::nullopt);
  EXPECT_EQ(LanguageNameFromCode(255), std::nullopt);
  EXPECT_EQ(SerializeTypeName(SerializeType::kJson), "JSON");
  EXPECT_EQ(SerializeTypeName(SerializeType::kRocketMq), "ROCKETMQ");
}

TEST(CodesTest, NamesForLogging) {
  EXPECT_EQ(RequestCodeName(request_code::kSendMessageV2), "SEND_MESSAGE_V2");
  EXPECT_EQ(RequestCodeName(105), "GET_ROUTEINFO_BY_TOPIC");
  EXPECT_EQ(RequestCodeName(206), "GET_ALL_TOPIC_LIST_FROM_NAMESERVER");
  EXPECT_EQ(RequestCodeName(9999), "");
  EXPECT_EQ(ResponseCodeName(0), "SUCCESS");
  EXPECT_EQ(ResponseCodeName(response_code::kPullNotFound), "PULL_NOT_FOUND");
  EXPECT_EQ(ResponseCodeName(215), "FLOW_CONTROL");
  EXPECT_EQ(ResponseCodeName(9999), "");
  EXPECT_EQ(DescribeCode(310, /*is_response=*/false), "SEND_MESSAGE_V2(310)");
  EXPECT_EQ(DescribeCode(17, /*is_response=*/true), "TOPIC_NOT_EXIST(17)");
  EXPECT_EQ(DescribeCode(17, /*is_response=*/false), "UPDATE_AND_CREATE_TOPIC(17)");
  EXPECT_EQ(DescribeCode(-5, /*is_response=*/false), "UNKNOWN(-5)");
  // Every named request code has a distinct name (catches copy-paste slips in the table).
  std::set<std::string_view> seen;
  int named = 0;
  for (int c = 0; c < 1000; ++c) {
    std::string_view n = RequestCodeName(c);
    if (n.empty()) continue;
    ++named;
    EXPECT_TRUE(seen.insert(n).second) << n;
  }
  EXPECT_GE(named, 50);
}

}  // namespace
}  // namespace brokerd::remoting
