// Replays the recorded RocketMQ 4.9.7 wire captures ($RS_SOURCE_DIR/../shared/fixtures/wire/
// *.jsonl, one frame per line, read in place and never copied into the repository) through the
// codec: every frame decodes to the fields the recorder noted, re-encodes to a frame that
// decodes to the same command, and the stream of each connection decodes the same whatever the
// chunking. Skipped when the fixtures are absent.
//
// Byte-identical re-encoding: every frame written by Java (the 4.9.7 client, broker and name
// server; JSON and ROCKETMQ headers) re-encodes byte for byte, which pins down what a server must
// emit (key order, string-typed ext values, "extFields":{} vs absent, escapes). The frames that
// differ are all requests from the two non-Java clients, and they differ only in ways Java's
// reader ignores:
//  * rocketmq-client-cpp: the header ends with "\n" (jsoncpp), has no "serializeTypeCurrentRPC",
//    and int-typed ext values are JSON numbers ("queueId":0) that we write as strings ("0");
//  * ali-ons: top-level keys in its own order (code, language, opaque, flag, version,
//    extFields), no "serializeTypeCurrentRPC", ext values as JSON numbers / booleans.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "remoting/codes.h"
#include "remoting/command.h"
#include "remoting/frame_codec.h"
#include "remoting/header_codec.h"

namespace brokerd::remoting {
namespace {

namespace fs = std::filesystem;

struct CapturedFrame {
  std::string file;  // e.g. "cpp-send-consume.jsonl"
  int seq = 0;
  int conn = 0;
  std::string dir;  // "c2s" / "s2c"
  nlohmann::json meta;
  std::string bytes;
};

std::string FixtureDir() {
  const char* env = std::getenv("RS_SOURCE_DIR");
  std::string source = env != nullptr && *env != '\0' ? env : RS_REMOTING_TEST_SOURCE_DIR;
  return source + "/../shared/fixtures/wire";
}

std::string FromHex(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

struct Captures {
  std::vector<CapturedFrame> frames;
  std::vector<std::string> files;
  int partial_tails = 0;
  std::string error;  // a fixture that could not be read
};

const Captures& LoadCaptures() {
  static const Captures* captures = [] {
    auto* c = new Captures;
    std::error_code ec;
    const fs::path dir = FixtureDir();
    if (!fs::is_directory(dir, ec)) return c;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".jsonl") c->files.push_back(entry.path().filename());
    }
    std::sort(c->files.begin(), c->files.end());
    for (const std::string& name : c->files) {
      std::ifstream in(dir / name);
      std::string line;
      int line_no = 0;
      while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded() || !j.is_object()) {
          c->error = name + ":" + std::to_string(line_no) + ": not a JSON object";
          return c;
        }
        if (j.contains("partialTail")) {
          ++c->partial_tails;
          continue;
        }
        CapturedFrame f;
        f.file = name;
        f.seq = j.value("seq", 0);
        f.conn = j.value("conn", 0);
        f.dir = j.value("dir", "");
        f.bytes = FromHex(j.value("hex", ""));
        f.meta = std::move(j);
        c->frames.push_back(std::move(f));
      }
    }
    return c;
  }();
  return *captures;
}

#define SKIP_WITHOUT_CAPTURES()                                                      \
  do {                                                                               \
    if (LoadCaptures().files.empty()) {                                              \
      GTEST_SKIP() << "wire captures not found in " << FixtureDir()                  \
                   << " (set RS_SOURCE_DIR to the repository root next to shared/)"; \
    }                                                                                \
    ASSERT_EQ(LoadCaptures().error, "");                                             \
  } while (0)

std::string Where(const CapturedFrame& f) {
  return f.file + " seq " + std::to_string(f.seq) + " (" + f.dir + ")";
}

// Requests written by rocketmq-client-cpp or ali-ons: the frames we cannot reproduce exactly.
bool FromNonJavaClient(const CapturedFrame& f) {
  return f.dir == "c2s" && (f.file.rfind("cpp-", 0) == 0 || f.file.rfind("ons-", 0) == 0);
}

TEST(WireCaptureTest, AllFlowsPresent) {
  SKIP_WITHOUT_CAPTURES();
  const Captures& c = LoadCaptures();
  EXPECT_GE(c.files.size(), 10u);
  EXPECT_GE(c.frames.size(), 400u);
  EXPECT_EQ(c.partial_tails, 0);
}

TEST(WireCaptureTest, EveryFrameDecodesAndRoundTrips) {
  SKIP_WITHOUT_CAPTURES();
  int identical = 0;
  int differing = 0;
  int binary = 0;
  for (const CapturedFrame& f : LoadCaptures().frames) {
    SCOPED_TRACE(Where(f));
    absl::StatusOr<DecodeResult> r = DecodeFrame(f.bytes);
    ASSERT_TRUE(r.ok()) << r.status();
    const DecodedFrame* d = std::get_if<DecodedFrame>(&*r);
    ASSERT_NE(d, nullptr);
    const RemotingCommand& cmd = d->command;
    EXPECT_EQ(d->bytes_consumed, f.bytes.size());
    EXPECT_EQ(cmd.code, f.meta.at("code").get<int>());
    EXPECT_EQ(cmd.opaque, f.meta.at("opaque").get<int>());
    EXPECT_EQ(cmd.flag, f.meta.at("flag").get<int>());
    EXPECT_EQ(SerializeTypeName(cmd.serialize_type), f.meta.at("serializeType").get<std::string>());
    EXPECT_EQ(d->header_length, f.meta.at("headerLen").get<size_t>());
    EXPECT_EQ(cmd.body.size(), f.meta.at("bodyLen").get<size_t>());
    if (cmd.serialize_type == SerializeType::kRocketMq) ++binary;

    absl::StatusOr<std::string> again = EncodeFrame(cmd, cmd.serialize_type);
    ASSERT_TRUE(again.ok()) << again.status();
    absl::StatusOr<DecodeResult> r2 = DecodeFrame(*again);
    ASSERT_TRUE(r2.ok()) << r2.status();
    const DecodedFrame* d2 = std::get_if<DecodedFrame>(&*r2);
    ASSERT_NE(d2, nullptr);
    EXPECT_EQ(d2->command, cmd);
    EXPECT_EQ(d2->bytes_consumed, again->size());

    if (*again == f.bytes) {
      ++identical;
    } else {
      ++differing;
      EXPECT_TRUE(FromNonJavaClient(f)) << "a Java-written frame did not re-encode identically:\n"
                                        << f.bytes.substr(8, d->header_length) << "\n"
                                        << again->substr(8, d2->header_length);
      // Re-encoding the re-encoded command is stable (our output is canonical).
      EXPECT_EQ(*EncodeFrame(d2->command, cmd.serialize_type), *again);
    }
  }
  std::printf(
      "re-encoded %d frames byte-identically, %d differ (cpp / ali-ons requests), %d with "
      "ROCKETMQ headers\n",
      identical, differing, binary);
  EXPECT_GT(identical, 300);
  EXPECT_GT(binary, 20);
  EXPECT_GT(differing, 0);  // the cpp / ali-ons requests
}

TEST(WireCaptureTest, EveryPrefixNeedsMoreData) {
  SKIP_WITHOUT_CAPTURES();
  for (const CapturedFrame& f : LoadCaptures().frames) {
    for (size_t n = 0; n < f.bytes.size(); ++n) {
      absl::StatusOr<DecodeResult> r = DecodeFrame(std::string_view(f.bytes).substr(0, n));
      ASSERT_TRUE(r.ok()) << Where(f) << " prefix " << n << ": " << r.status();
      const NeedMoreData* need = std::get_if<NeedMoreData>(&*r);
      ASSERT_NE(need, nullptr) << Where(f) << " prefix " << n;
      ASSERT_EQ(need->bytes_needed, n < 4 ? 4 - n : f.bytes.size() - n) << Where(f);
    }
  }
}

TEST(WireCaptureTest, ConnectionStreamsDecodeWhateverTheChunking) {
  SKIP_WITHOUT_CAPTURES();
  // One byte stream per (file, connection, direction), as a server or client would read it.
  std::map<std::tuple<std::string, int, std::string>, std::vector<const CapturedFrame*>> streams;
  for (const CapturedFrame& f : LoadCaptures().frames) {
    streams[{f.file, f.conn, f.dir}].push_back(&f);
  }
  std::mt19937 rng(12345);
  for (const auto& [key, frames] : streams) {
    SCOPED_TRACE(std::get<0>(key) + " conn " + std::to_string(std::get<1>(key)) + " " +
                 std::get<2>(key));
    std::string stream;
    for (const CapturedFrame* f : frames) stream += f->bytes;
    for (size_t max_chunk : {size_t{1} << 30, size_t{1}, size_t{7}, size_t{1000}}) {
      std::string pending;
      size_t pos = 0;
      size_t next = 0;
      while (pos < stream.size()) {
        const size_t chunk = std::min(stream.size() - pos, 1 + rng() % max_chunk);
        pending.append(stream, pos, chunk);
        pos += chunk;
        for (;;) {
          absl::StatusOr<DecodeResult> r = DecodeFrame(pending);
          ASSERT_TRUE(r.ok()) << r.status();
          const DecodedFrame* d = std::get_if<DecodedFrame>(&*r);
          if (d == nullptr) break;
          ASSERT_LT(next, frames.size());
          ASSERT_EQ(d->bytes_consumed, frames[next]->bytes.size());
          ASSERT_EQ(d->command.opaque, frames[next]->meta.at("opaque").get<int>());
          ++next;
          pending.erase(0, d->bytes_consumed);
        }
      }
      EXPECT_EQ(next, frames.size());
      EXPECT_TRUE(pending.empty());
    }
  }
}

// What every server-written frame in the captures has in common (the rules our responses
// follow): language JAVA, version 407, responses flag 1, server requests oneway (flag 2), every
// ext value a string (guaranteed by the byte-identical re-encoding above).
TEST(WireCaptureTest, ServerFramesFollowTheJavaServerRules) {
  SKIP_WITHOUT_CAPTURES();
  int responses = 0;
  int server_requests = 0;
  for (const CapturedFrame& f : LoadCaptures().frames) {
    if (f.dir != "s2c") continue;
    SCOPED_TRACE(Where(f));
    absl::StatusOr<DecodeResult> r = DecodeFrame(f.bytes);
    ASSERT_TRUE(r.ok());
    const RemotingCommand& cmd = std::get<DecodedFrame>(*r).command;
    EXPECT_EQ(cmd.language, "JAVA");
    EXPECT_EQ(cmd.version, kServerVersion);
    if (cmd.IsResponse()) {
      ++responses;
      EXPECT_EQ(cmd.flag, kFlagResponse);
    } else {
      ++server_requests;
      EXPECT_EQ(cmd.flag, kFlagOneway);
      EXPECT_THAT(cmd.code, ::testing::AnyOf(request_code::kCheckTransactionState,
                                             request_code::kNotifyConsumerIdsChanged));
    }
  }
  EXPECT_GT(responses, 100);
  EXPECT_GT(server_requests, 0);
}

// The typed getters read the request headers of every client (strings from Java, numbers from
// cpp and ali-ons, booleans from ali-ons).
TEST(WireCaptureTest, TypedGettersReadEveryClientsHeaders) {
  SKIP_WITHOUT_CAPTURES();
  int sends = 0;
  int pulls = 0;
  for (const CapturedFrame& f : LoadCaptures().frames) {
    if (f.dir != "c2s") continue;
    SCOPED_TRACE(Where(f));
    absl::StatusOr<DecodeResult> r = DecodeFrame(f.bytes);
    ASSERT_TRUE(r.ok());
    const RemotingCommand& cmd = std::get<DecodedFrame>(*r).command;
    if (cmd.code == request_code::kSendMessageV2) {
      ++sends;
      EXPECT_TRUE(cmd.GetString("a").ok());  // producerGroup
      EXPECT_TRUE(cmd.GetString("b").ok());  // topic
      EXPECT_TRUE(cmd.GetInt32("d").ok());   // defaultTopicQueueNums
      EXPECT_GE(*cmd.GetInt32("e"), 0);      // queueId
      EXPECT_TRUE(cmd.GetInt32("f").ok());   // sysFlag
      EXPECT_GT(*cmd.GetInt64("g"), 0);      // bornTimestamp
      EXPECT_TRUE(cmd.GetInt32("h").ok());   // flag
      EXPECT_TRUE(cmd.GetInt32Or("j", 0).ok());
      EXPECT_TRUE(cmd.GetBoolOr("k", false).ok());  // unitMode
      EXPECT_TRUE(cmd.GetBoolOr("m", false).ok());  // batch
    } else if (cmd.code == request_code::kPullMessage) {
      ++pulls;
      EXPECT_TRUE(cmd.GetString("consumerGroup").ok());
      EXPECT_TRUE(cmd.GetString("topic").ok());
      EXPECT_GE(*cmd.GetInt32("queueId"), 0);
      EXPECT_GE(*cmd.GetInt64("queueOffset"), 0);
      EXPECT_GT(*cmd.GetInt32("maxMsgNums"), 0);
      EXPECT_TRUE(cmd.GetInt32("sysFlag").ok());
      EXPECT_TRUE(cmd.GetInt64("commitOffset").ok());
      EXPECT_GT(*cmd.GetInt64("suspendTimeoutMillis"), 0);
      EXPECT_TRUE(cmd.GetInt64Or("subVersion", 0).ok());
    }
  }
  EXPECT_GT(sends, 30);
  EXPECT_GT(pulls, 10);
}

}  // namespace
}  // namespace brokerd::remoting
