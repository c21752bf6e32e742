// Writes the seed corpora of the remoting fuzz targets (fuzz/fuzz_frame.cc, fuzz/fuzz_header.cc):
//   make_remoting_seeds <fuzz/corpus>
// replaces <dir>/fuzz_frame/seed-* and <dir>/fuzz_header/seed-* (crash-* files are left alone).
// Every seed is built here: commands encoded with the remoting codec, plus hand-written JSON in
// the styles of rocketmq-client-cpp and ali-ons (which our encoder does not produce) and a few
// malformed variants. Nothing is copied from the recorded wire fixtures. Deterministic output.
// Thread-safety: single-threaded program.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "remoting/codes.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"
#include "remoting/header_codec.h"

namespace {

namespace fs = std::filesystem;
namespace rm = brokerd::remoting;

using Seeds = std::vector<std::pair<std::string, std::string>>;  // name, bytes

std::string U32(uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
  return s;
}

std::string RawFrame(uint8_t type, std::string_view header, std::string_view body = {}) {
  return U32(static_cast<uint32_t>(4 + header.size() + body.size())) +
         U32((uint32_t{type} << 24) | static_cast<uint32_t>(header.size())) + std::string(header) +
         std::string(body);
}

std::string Must(absl::StatusOr<std::string> s) {
  if (!s.ok()) {
    std::fprintf(stderr, "make_remoting_seeds: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(s);
}

rm::RemotingCommand JavaRequest(int32_t code, int32_t opaque) {
  rm::RemotingCommand c = rm::MakeRequest(code, opaque);
  return c;
}

// Synthetic commands in the shapes the broker sees and sends.
std::vector<std::pair<std::string, rm::RemotingCommand>> Commands() {
  namespace req = rm::request_code;
  namespace resp = rm::response_code;
  std::vector<std::pair<std::string, rm::RemotingCommand>> out;

  rm::RemotingCommand route = JavaRequest(req::kGetRouteinfoByTopic, 3);
  route.SetExtField("topic", "SeedTopic");
  out.emplace_back("route-request", route);

  rm::RemotingCommand send = JavaRequest(req::kSendMessageV2, 8);
  for (auto [k, v] : std::vector<std::pair<const char*, const char*>>{
           {"a", "SeedGroup"},
           {"b", "SeedTopic"},
           {"c", "TBW102"},
           {"d", "4"},
           {"e", "2"},
           {"f", "0"},
           {"g", "1700000000000"},
           {"h", "0"},
           {"i",
            "KEYS\x01key-1\x02UNIQ_KEY\x01"
            "0A000001000000000000000000000001\x02TAGS\x01TagA"},
           {"j", "0"},
           {"k", "false"},
           {"m", "false"},
           {"n", "broker-a"}}) {
    send.SetExtField(k, v);
  }
  send.body = "hello, seed";
  out.emplace_back("send-v2-request", send);

  rm::RemotingCommand sent = rm::MakeResponse(send, resp::kSuccess);
  sent.SetExtField("msgId", "0A0000010000298F0000000000001234");
  sent.SetExtField("queueId", "2");
  sent.SetExtField("queueOffset", "17");
  sent.SetExtField("TRACE_ON", "true");
  sent.SetExtField("MSG_REGION", "DefaultRegion");
  out.emplace_back("send-v2-response", sent);

  rm::RemotingCommand not_found =
      rm::MakeResponse(route, resp::kTopicNotExist,
                       "No topic route info in name server for the topic: Seed\nSee the FAQ.");
  out.emplace_back("topic-not-exist", not_found);

  rm::RemotingCommand empty_ext = rm::MakeResponse(route, resp::kSuccess);
  empty_ext.emit_empty_ext_fields = true;
  out.emplace_back("empty-ext-response", empty_ext);

  rm::RemotingCommand heartbeat = JavaRequest(req::kHeartBeat, 11);
  heartbeat.body = R"({"clientID":"10.0.0.1@1","consumerDataSet":[],"producerDataSet":[]})";
  out.emplace_back("heartbeat", heartbeat);

  rm::RemotingCommand pull = JavaRequest(req::kPullMessage, 20);
  for (auto [k, v] :
       std::vector<std::pair<const char*, const char*>>{{"queueId", "3"},
                                                        {"maxMsgNums", "32"},
                                                        {"sysFlag", "2"},
                                                        {"suspendTimeoutMillis", "15000"},
                                                        {"commitOffset", "0"},
                                                        {"topic", "SeedTopic"},
                                                        {"queueOffset", "5"},
                                                        {"expressionType", "TAG"},
                                                        {"subVersion", "1700000000001"},
                                                        {"consumerGroup", "SeedConsumer"}}) {
    pull.SetExtField(k, v);
  }
  out.emplace_back("pull-request", pull);

  rm::RemotingCommand pulled = rm::MakeResponse(pull, resp::kSuccess, "FOUND");
  pulled.SetExtField("suggestWhichBrokerId", "0");
  pulled.SetExtField("nextBeginOffset", "6");
  pulled.SetExtField("maxOffset", "6");
  pulled.SetExtField("minOffset", "0");
  pulled.body = std::string("\x00\x00\x00\x60\xda\xa3\x20\xa7", 8) + std::string(88, '\x01');
  out.emplace_back("pull-response", pulled);

  rm::RemotingCommand notify = rm::MakeRequest(req::kNotifyConsumerIdsChanged, 352);
  notify.MarkOneway();
  notify.SetExtField("consumerGroup", "SeedConsumer");
  out.emplace_back("notify-oneway", notify);

  rm::RemotingCommand unicode = rm::MakeResponse(route, resp::kSystemError, "失败: Grüße 🚀");
  unicode.SetExtField("键", "值");
  out.emplace_back("unicode-remark", unicode);

  rm::RemotingCommand odd = JavaRequest(-3, -1);
  odd.language = "NODE_JS";
  odd.version = -2;
  odd.flag = 3;
  odd.SetExtField("", "");
  odd.SetExtField(std::string("nul\0key", 7), std::string("\0\x1f\x7f\"\\", 5));
  out.emplace_back("odd-values", odd);
  return out;
}

void AddFrameSeeds(Seeds* seeds) {
  std::string multi;
  int i = 0;
  for (const auto& [name, cmd] : Commands()) {
    for (rm::SerializeType type : {rm::SerializeType::kJson, rm::SerializeType::kRocketMq}) {
      const std::string frame = Must(rm::EncodeFrame(cmd, type));
      seeds->emplace_back(name + (type == rm::SerializeType::kJson ? "-json" : "-rocketmq"), frame);
      if (i++ % 3 == 0) multi += frame;
    }
  }
  seeds->emplace_back("multi-frame-stream", multi + multi.substr(0, 30));  // + a partial frame

  // Non-Java JSON styles (hand-written: our encoder always writes the Java form).
  seeds->emplace_back(
      "cpp-style-json",
      RawFrame(0,
               "{\"code\":14,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"ALIYUN\","
               "\"Signature\":\"\",\"consumerGroup\":\"G\",\"queueId\":0,\"topic\":\"T\"},"
               "\"flag\":0,\"language\":\"CPP\",\"opaque\":18,\"remark\":\"\",\"version\":333}\n"));
  seeds->emplace_back(
      "ons-style-json",
      RawFrame(0,
               R"({"code":310,"language":"JAVA","opaque":5,"flag":0,"version":121,"extFields":)"
               R"({"a":"PG","b":"T","d":4,"e":2,"g":1700000000000,"k":false,"u":null}})",
               "body"));
  seeds->emplace_back(
      "lenient-json",
      RawFrame(0, R"( {"code":"105","unknown":{"x":[1,{"y":null}]},"extFields":null} )"));

  // Malformed frames.
  seeds->emplace_back("bad-negative-length", U32(0xFFFFFFF0u) + U32(0));
  seeds->emplace_back("bad-short-length", U32(3) + "abc");
  seeds->emplace_back("bad-oversize-length", U32(16 * 1024 * 1024) + U32(10));
  seeds->emplace_back("bad-serialize-type", RawFrame(2, "{}"));
  seeds->emplace_back("bad-header-length", U32(10) + U32(100) + "{}{}{}");
  seeds->emplace_back("bad-json", RawFrame(0, R"({"code":1,"extFields":{"a":{}}})"));
  seeds->emplace_back(
      "bad-binary-truncated",
      RawFrame(1, Must(rm::EncodeRocketMqHeader(Commands()[1].second)).substr(0, 40)));
  seeds->emplace_back("partial-frame", Must(rm::EncodeFrame(Commands()[0].second)).substr(0, 20));
}

void AddHeaderSeeds(Seeds* seeds) {
  for (const auto& [name, cmd] : Commands()) {
    seeds->emplace_back(name + "-json", std::string(1, '\0') + Must(rm::EncodeJsonHeader(cmd)));
    seeds->emplace_back(name + "-rocketmq",
                        std::string(1, '\x01') + Must(rm::EncodeRocketMqHeader(cmd)));
  }
  seeds->emplace_back("cpp-style-json",
                      std::string(1, '\0') +
                          "{\"code\":310,\"extFields\":{\"AccessKey\":\"\",\"a\":\"PG\",\"d\":4,"
                          "\"e\":0,\"g\":\"1700000000000\",\"k\":\"false\"},\"flag\":0,"
                          "\"language\":\"CPP\",\"opaque\":2,\"remark\":\"\",\"version\":333}\n");
  seeds->emplace_back("ons-style-json",
                      std::string(1, '\0') +
                          R"({"code":17,"language":"JAVA","opaque":2,"flag":0,"version":121,)"
                          R"("extFields":{"topic":"T","perm":6,"order":false}})");
  seeds->emplace_back("escapes-json",
                      std::string(1, '\0') +
                          R"({"remark":"\u00fc\ud83d\ude80\n\"\\\/","extFields":{"a":"\u0001"},)"
                          R"("code":-0,"code":"7","serializeTypeCurrentRPC":"ROCKETMQ"})");
  seeds->emplace_back("nested-json",
                      std::string(1, '\0') + R"({"x":[[[[{"a":[1,2,{"b":true}]}]]]],"code":1})");
  seeds->emplace_back("bad-json-array", std::string(1, '\0') + "[1,2]");
  seeds->emplace_back("bad-binary-negative-remark",
                      std::string(1, '\x01') + std::string(13, '\0') + U32(0xFFFFFFFFu) + U32(0));
  seeds->emplace_back("bad-binary-ext-overrun", std::string(1, '\x01') + std::string(13, '\0') +
                                                    U32(0) + U32(7) +
                                                    std::string("\x00\x01"
                                                                "a\x00\x00\x00\x05",
                                                                7));
}

int Write(const fs::path& dir, const Seeds& seeds) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().filename().string().rfind("seed-", 0) == 0) fs::remove(e.path(), ec);
  }
  int n = 0;
  for (const auto& [name, bytes] : seeds) {
    ++n;
    const std::string file = (n < 10 ? "seed-0" : "seed-") + std::to_string(n) + "-" + name;
    std::ofstream out(dir / file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "make_remoting_seeds: cannot write %s\n", (dir / file).c_str());
      return 1;
    }
  }
  std::printf("%s: %d seeds\n", dir.c_str(), n);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FUZZ_CORPUS_DIR (e.g. fuzz/corpus)\n", argv[0]);
    return 2;
  }
  Seeds frame_seeds;
  AddFrameSeeds(&frame_seeds);
  Seeds header_seeds;
  AddHeaderSeeds(&header_seeds);
  const fs::path root(argv[1]);
  if (Write(root / "fuzz_frame", frame_seeds) != 0) return 1;
  return Write(root / "fuzz_header", header_seeds);
}
