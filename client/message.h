// The message a C++ client sends and receives, and the encoding of its properties as the Java
// client (4.9.7) does it: "name\x01value\x02" for each property (MessageDecoder's
// messageProperties2String). System properties (TAGS, KEYS, DELAY, WAIT, UNIQ_KEY, ...) are
// fields of Message, or set by the producer; `properties` holds the user's own.
// Thread-safety: value types and stateless functions; NewUniqKey may be called from any thread.
#ifndef CLIENT_MESSAGE_H_
#define CLIENT_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rsclient {

// Property names of RocketMQ's MessageConst that clients use.
inline constexpr std::string_view kPropertyKeys = "KEYS";
inline constexpr std::string_view kPropertyTags = "TAGS";
inline constexpr std::string_view kPropertyWaitStoreMsgOk = "WAIT";
inline constexpr std::string_view kPropertyDelayLevel = "DELAY";
inline constexpr std::string_view kPropertyUniqKey = "UNIQ_KEY";
inline constexpr std::string_view kPropertyRetryTopic = "RETRY_TOPIC";
inline constexpr std::string_view kPropertyRealTopic = "REAL_TOPIC";
inline constexpr std::string_view kPropertyRealQueueId = "REAL_QID";
inline constexpr std::string_view kPropertyTransactionPrepared = "TRAN_MSG";
inline constexpr std::string_view kPropertyProducerGroup = "PGROUP";
inline constexpr std::string_view kPropertyMinOffset = "MIN_OFFSET";
inline constexpr std::string_view kPropertyMaxOffset = "MAX_OFFSET";
inline constexpr std::string_view kPropertyReconsumeTime = "RECONSUME_TIME";
inline constexpr std::string_view kPropertyMaxReconsumeTimes = "MAX_RECONSUME_TIMES";
inline constexpr std::string_view kPropertyOriginMessageId = "ORIGIN_MESSAGE_ID";
inline constexpr std::string_view kPropertyConsumeStartTimestamp = "CONSUME_START_TIME";

// Separators of the encoded properties (MessageDecoder.NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR).
inline constexpr char kNameValueSeparator = '\x01';
inline constexpr char kPropertySeparator = '\x02';

// sysFlag bits the client sets (MessageSysFlag).
inline constexpr int32_t kSysFlagCompressed = 0x1;
inline constexpr int32_t kSysFlagMultiTags = 0x2;
inline constexpr int32_t kSysFlagTransactionPrepared = 0x4;

// Bounds (DefaultMQProducer / Validators defaults).
inline constexpr size_t kDefaultMaxMessageBytes = 4u << 20;  // maxMessageSize, 4 MiB
inline constexpr size_t kMaxTopicLength = 127;               // Validators.TOPIC_MAX_LENGTH
inline constexpr int32_t kMaxDelayLevel = 18;                // messageDelayLevel's 18 levels

struct Message {
  std::string topic;
  std::string tags;               // one tag ("TagA"); empty: none
  std::vector<std::string> keys;  // stored as KEYS joined by ' '; each indexed by the broker
  std::string body;
  std::map<std::string, std::string> properties;  // user properties (reserved names rejected)
  int32_t delay_level = 0;                        // 0: none; 1..18 (1s 5s 10s 30s 1m ...)
  int32_t flag = 0;                               // opaque to the broker, stored as FLAG
};

// True for the names of MessageConst.STRING_HASH_SET (and a few later ones), which
// Message::properties may not use.
bool IsReservedPropertyName(std::string_view name);

// Java's Validators.checkTopic: 1..127 chars of [%|a-zA-Z0-9_-]; InvalidArgument names the fault.
absl::Status ValidateTopic(std::string_view topic);

// Checks a message before sending: topic, non-empty body of at most max_body_bytes, tags and
// keys without separators ('\x01', '\x02'; tags without "||", keys non-empty and without
// ' '), user properties with
// non-reserved, non-empty names and no separators, delay level 0..kMaxDelayLevel.
// InvalidArgument says which rule failed.
absl::Status ValidateMessage(const Message& msg, size_t max_body_bytes = kDefaultMaxMessageBytes);

// Encodes properties as "name\x01value\x02..." in the order given (each followed by '\x02', as
// Java does).
std::string EncodeProperties(const std::vector<std::pair<std::string, std::string>>& props);
// Decodes "name\x01value\x02..." (trailing separator optional; entries without '\x01' skipped).
std::map<std::string, std::string> DecodeProperties(std::string_view encoded);

// The properties a producer sends for msg: TAGS, KEYS, DELAY (when > 0), WAIT=true, UNIQ_KEY
// (when not empty), then the user properties.
std::string EncodeMessageProperties(const Message& msg, std::string_view uniq_key);

// Rebuilds a Message from what the broker stored: tags, keys, delay level and the
// non-reserved properties; the body is taken as given (see UncompressBody).
Message MessageFromStored(std::string topic, std::string body, int32_t flag,
                          std::string_view encoded_properties);

// A fresh client message id (UNIQ_KEY): 32 upper-case hex chars, as Java's
// MessageClientIDSetter: IPv4 (4 bytes) + pid (2) + a per-process random (4) + milliseconds
// since the start of this month (4) + a counter (2). Unique within and across processes.
std::string NewUniqKey();

// The first non-loopback IPv4 address of this host as "a.b.c.d", else "127.0.0.1" (the ip of
// client ids and UNIQ_KEYs).
std::string LocalIpv4Address();

// zlib (deflate with the zlib header) at `level`, as the Java client compresses bodies
// (UtilAll.compress, level 5 by default).
absl::StatusOr<std::string> CompressBody(std::string_view body, int level = 5);
// Inflates a body stored with kSysFlagCompressed; DataLoss when the bytes are not zlib data,
// ResourceExhausted when the result would exceed max_bytes.
absl::StatusOr<std::string> UncompressBody(std::string_view compressed,
                                           size_t max_bytes = 64u << 20);

// Java's String.hashCode() of the UTF-8 text s (over its UTF-16 code units; invalid UTF-8
// bytes count as U+FFFD): tag codes and SelectByHash.
int32_t JavaStringHashCode(std::string_view s);

}  // namespace rsclient

#endif  // CLIENT_MESSAGE_H_
