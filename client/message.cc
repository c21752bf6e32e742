// Message validation, property encoding, client message ids and body compression.
#include "client/message.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "remoting/zlib_body.h"

namespace rsclient {
namespace {

// MessageConst.STRING_HASH_SET of 4.9.7 plus names later versions and the broker reserve.
constexpr std::array<std::string_view, 44> kReservedNames = {
    "TRACE_ON",
    "MSG_REGION",
    "KEYS",
    "TAGS",
    "WAIT",
    "DELAY",
    "RETRY_TOPIC",
    "REAL_TOPIC",
    "REAL_QID",
    "TRAN_MSG",
    "PGROUP",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "BUYER_ID",
    "ORIGIN_MESSAGE_ID",
    "TRANSFER_FLAG",
    "CORRECTION_FLAG",
    "MQ2_FLAG",
    "RECONSUME_TIME",
    "UNIQ_KEY",
    "MAX_RECONSUME_TIMES",
    "CONSUME_START_TIME",
    "TRAN_PREPARED_QUEUE_OFFSET",
    "TRANSACTION_CHECK_TIMES",
    "CHECK_IMMUNITY_TIME_IN_SECONDS",
    "SHARDING_KEY",
    "INSTANCE_ID",
    "CORRELATION_ID",
    "REPLY_TO_CLIENT",
    "TTL",
    "ARRIVE_TIME",
    "PUSH_REPLY_TIME",
    "CLUSTER",
    "MSG_TYPE",
    "__STARTDELIVERTIME",
    "UNIQ_KEY_OFFSET",
    "TRANSACTION_ID",
    "CONSUME_CONTEXT",
    "INNER_NUM",
    "INNER_BASE",
    "BORN_TIMESTAMP",
    "TIMER_DELIVER_MS",
    "TIMER_DELAY_SEC",
    "TIMER_OUT_MS",
};

bool HasSeparator(std::string_view s) {
  return s.find(kNameValueSeparator) != std::string_view::npos ||
         s.find(kPropertySeparator) != std::string_view::npos;
}

bool IsTopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '%' ||
         c == '|' || c == '_' || c == '-';
}

// The first non-loopback IPv4 address of this host, else 127.0.0.1.
std::array<uint8_t, 4> LocalIpv4() {
  std::array<uint8_t, 4> ip = {127, 0, 0, 1};
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return ip;
  for (struct ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(it->ifa_addr);
    uint32_t a = ntohl(sin->sin_addr.s_addr);
    if ((a >> 24) == 127) continue;
    ip = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
          static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
    break;
  }
  freeifaddrs(list);
  return ip;
}

// Milliseconds of the start of the current month (local time), as MessageClientIDSetter.
int64_t StartOfMonthMs() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000;
}

struct UniqKeyState {
  std::mutex mu;
  pid_t pid = -1;      // the prefix is rebuilt after a fork
  std::string prefix;  // 20 hex chars: ip + pid + random
  int64_t month_start_ms = 0;
  int64_t next_month_ms = 0;
  uint16_t counter = 0;
};

constexpr char kHex[] = "0123456789ABCDEF";

void AppendHex(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    uint8_t b = static_cast<uint8_t>(v >> (8 * i));
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
}

}  // namespace

bool IsReservedPropertyName(std::string_view name) {
  for (std::string_view r : kReservedNames) {
    if (r == name) return true;
  }
  return false;
}

absl::Status ValidateTopic(std::string_view topic) {
  if (topic.empty()) return absl::InvalidArgumentError("the topic is empty");
  if (topic.size() > kMaxTopicLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("the topic is longer than ", kMaxTopicLength, " characters"));
  }
  for (char c : topic) {
    if (!IsTopicChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the topic [", std::string(topic),
                       "] contains illegal characters, allowed: [%|a-zA-Z0-9_-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMessage(const Message& msg, size_t max_body_bytes) {
  if (absl::Status s = ValidateTopic(msg.topic); !s.ok()) return s;
  if (msg.body.empty()) return absl::InvalidArgumentError("the message body is empty");
  if (msg.body.size() > max_body_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the message body is ", msg.body.size(),
                                                   " bytes, more than the maximum of ",
                                                   max_body_bytes));
  }
  if (HasSeparator(msg.tags)) {
    return absl::InvalidArgumentError("the tags contain a property separator (\\x01 or \\x02)");
  }
  if (msg.tags.find("||") != std::string::npos) {
    return absl::InvalidArgumentError("the tags contain '||', which subscriptions use as OR");
  }
  for (const std::string& k : msg.keys) {
    if (k.empty()) return absl::InvalidArgumentError("a message key is empty");
    if (HasSeparator(k) || k.find(' ') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("the message key [", k, "] contains a space or a property separator"));
    }
  }
  for (const auto& [name, value] : msg.properties) {
    if (name.empty()) return absl::InvalidArgumentError("a user property name is empty");
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("the user property [", name, "] is empty"));
    }
    if (IsReservedPropertyName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the property name [", name, "] is used by the system"));
    }
    if (HasSeparator(name) || HasSeparator(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the user property [", name, "] contains a property separator (\\x01 or \\x02)"));
    }
  }
  if (msg.delay_level < 0 || msg.delay_level > kMaxDelayLevel) {
    return absl::InvalidArgumentError(
        absl::StrCat("the delay level ", msg.delay_level, " is outside 0..", kMaxDelayLevel));
  }
  return absl::OkStatus();
}

std::string EncodeProperties(const std::vector<std::pair<std::string, std::string>>& props) {
  std::string out;
  for (const auto& [name, value] : props) {
    out += name;
    out.push_back(kNameValueSeparator);
    out += value;
    out.push_back(kPropertySeparator);
  }
  return out;
}

std::map<std::string, std::string> DecodeProperties(std::string_view encoded) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < encoded.size()) {
    size_t end = encoded.find(kPropertySeparator, pos);
    if (end == std::string_view::npos) end = encoded.size();
    const std::string_view entry = encoded.substr(pos, end - pos);
    const size_t eq = entry.find(kNameValueSeparator);
    // As Java 4.9.x: an entry without a separator strictly inside is skipped.
    if (eq != std::string_view::npos && eq > 0 && eq + 1 < entry.size()) {
      out[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
    pos = end + 1;
  }
  return out;
}

std::string EncodeMessageProperties(const Message& msg, std::string_view uniq_key) {
  std::vector<std::pair<std::string, std::string>> props;
  props.reserve(5 + msg.properties.size());
  if (!msg.tags.empty()) props.emplace_back(kPropertyTags, msg.tags);
  if (!msg.keys.empty()) props.emplace_back(kPropertyKeys, absl::StrJoin(msg.keys, " "));
  if (msg.delay_level > 0) props.emplace_back(kPropertyDelayLevel, std::to_string(msg.delay_level));
  props.emplace_back(kPropertyWaitStoreMsgOk, "true");
  if (!uniq_key.empty()) props.emplace_back(kPropertyUniqKey, std::string(uniq_key));
  for (const auto& [name, value] : msg.properties) props.emplace_back(name, value);
  return EncodeProperties(props);
}

Message MessageFromStored(std::string topic, std::string body, int32_t flag,
                          std::string_view encoded_properties) {
  Message m;
  m.topic = std::move(topic);
  m.body = std::move(body);
  m.flag = flag;
  for (auto& [name, value] : DecodeProperties(encoded_properties)) {
    if (name == kPropertyTags) {
      m.tags = value;
    } else if (name == kPropertyKeys) {
      m.keys = absl::StrSplit(value, ' ', absl::SkipEmpty());
    } else if (name == kPropertyDelayLevel) {
      m.delay_level = std::atoi(value.c_str());
    } else if (!IsReservedPropertyName(name)) {
      m.properties[name] = value;
    }
  }
  return m;
}

std::string LocalIpv4Address() {
  std::array<uint8_t, 4> ip = LocalIpv4();
  return absl::StrCat(ip[0], ".", ip[1], ".", ip[2], ".", ip[3]);
}

std::string NewUniqKey() {
  static UniqKeyState state;
  // getpid() is a syscall (~1.5 us here): ask only once per process image; a fork child's
  // handler (registered once) makes the next call look again.
  static std::atomic<bool> forked{true};
  static const int registered = pthread_atfork(nullptr, nullptr, [] { forked.store(true); });
  (void)registered;
  std::lock_guard<std::mutex> lock(state.mu);
  if (forked.exchange(false)) {
    const pid_t pid = getpid();
    state.pid = pid;
    std::array<uint8_t, 4> ip = LocalIpv4();
    std::random_device rd;
    uint32_t rnd =
        static_cast<uint32_t>(rd()) ^
        static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    state.prefix.clear();
    for (uint8_t b : ip) AppendHex(state.prefix, b, 1);
    AppendHex(state.prefix, static_cast<uint16_t>(pid), 2);
    AppendHex(state.prefix, rnd, 4);
    state.counter = static_cast<uint16_t>(rnd >> 7);
  }
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (now_ms >= state.next_month_ms) {
    state.month_start_ms = StartOfMonthMs();
    // Recomputed at most once an hour; a month is never shorter than 28 days.
    state.next_month_ms = now_ms + 3600 * 1000;
  }
  std::string out = state.prefix;
  out.reserve(32);
  AppendHex(out, static_cast<uint32_t>(now_ms - state.month_start_ms), 4);
  AppendHex(out, state.counter++, 2);
  return out;
}

absl::StatusOr<std::string> CompressBody(std::string_view body, int level) {
  uLongf cap = compressBound(static_cast<uLong>(body.size()));
  std::string out(cap, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &cap,
                     reinterpret_cast<const Bytef*>(body.data()), static_cast<uLong>(body.size()),
                     level);
  if (rc != Z_OK) return absl::InternalError(absl::StrCat("zlib compress2 failed: ", rc));
  out.resize(cap);
  return out;
}

absl::StatusOr<std::string> UncompressBody(std::string_view compressed, size_t max_bytes) {
  absl::StatusOr<std::string> out = brokerd::remoting::InflateZlib(compressed, max_bytes);
  if (!out.ok()) {
    return absl::Status(out.status().code(),
                        "the compressed body: " + std::string(out.status().message()));
  }
  return out;
}

int32_t JavaStringHashCode(std::string_view s) {
  uint32_t h = 0;
  auto add = [&h](uint32_t unit) { h = 31 * h + unit; };
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    uint32_t cp = 0xFFFD;
    size_t len = 1;
    auto cont = [&](size_t k) {
      return i + k < s.size() && (static_cast<uint8_t>(s[i + k]) & 0xC0) == 0x80;
    };
    auto bits = [&](size_t k) {
      return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k]) & 0x3F);
    };
    if (b0 < 0x80) {
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0 && cont(1)) {
      cp = ((b0 & 0x1Fu) << 6) | bits(1);
      len = 2;
      if (cp < 0x80) cp = 0xFFFD;
    } else if ((b0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
      cp = ((b0 & 0x0Fu) << 12) | (bits(1) << 6) | bits(2);
      len = 3;
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    } else if ((b0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
      cp = ((b0 & 0x07u) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
      len = 4;
      if (cp < 0x10000 || cp > 0x10FFFF) cp = 0xFFFD;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add(0xD800 + (cp >> 10));
      add(0xDC00 + (cp & 0x3FF));
    } else {
      add(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

}  // namespace rsclient
