// What the push and pull consumers share: the message a listener receives (ConsumedMessage),
// tag subscriptions (RocketMQ's SubscriptionData and FilterAPI), the decoding of PULL_MESSAGE
// answers, the client id, and BrokerApi, the consumer's requests to brokers (offsets, consumer
// list, queue locks, send-back, heartbeat) as protocol.md describes them.
// Thread-safety: value types and stateless functions; BrokerApi may be used from any thread
// except RemotingClient's I/O thread (its calls block).
#ifndef CLIENT_CONSUMER_COMMON_H_
#define CLIENT_CONSUMER_COMMON_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/remoting_client.h"
#include "client/route.h"

namespace rsclient {

// Java's MessageModel.
enum class MessageModel { kClustering, kBroadcasting };
// Java's ConsumeFromWhere (the three that are not deprecated).
enum class ConsumeFromWhere { kLastOffset, kFirstOffset, kTimestamp };

std::string_view MessageModelName(MessageModel m);          // "CLUSTERING" / "BROADCASTING"
std::string_view ConsumeFromWhereName(ConsumeFromWhere w);  // "CONSUME_FROM_LAST_OFFSET" ...

// PullSysFlag bits of PULL_MESSAGE.
inline constexpr int32_t kPullCommitOffset = 0x1;
inline constexpr int32_t kPullSuspend = 0x2;
inline constexpr int32_t kPullSubscription = 0x4;

// A body inflated from zlib is refused beyond this size (a corrupt or hostile record).
inline constexpr size_t kMaxUncompressedBodyBytes = 64u << 20;

// "%RETRY%<group>" / "%DLQ%<group>".
std::string RetryTopic(std::string_view group);
std::string DlqTopic(std::string_view group);
bool IsRetryTopic(std::string_view topic);

// A message as a listener sees it (Java's MessageExt).
struct ConsumedMessage {
  // The topic the message was sent to: for a message of %RETRY%<group> the RETRY_TOPIC property
  // (restored as the Java client does), else the topic it was pulled from.
  std::string topic;
  std::string tags;                               // TAGS, "" when none
  std::string keys;                               // KEYS as stored (space-separated)
  std::string body;                               // inflated when the record carries sysFlag 0x1
  std::map<std::string, std::string> properties;  // every stored property (system ones too)
  MessageQueue queue;                             // where it was pulled from
  int64_t queue_offset = 0;
  int64_t commit_log_offset = 0;
  int32_t reconsume_times = 0;
  int32_t sys_flag = 0;
  int32_t flag = 0;
  int64_t born_timestamp_ms = 0;
  int64_t store_timestamp_ms = 0;
  std::string msg_id;         // UNIQ_KEY when present, else offset_msg_id
  std::string offset_msg_id;  // broker ip:port + CommitLog offset, 32 hex digits

  // The value of a property, "" when absent.
  std::string Property(std::string_view name) const;
};

// A tag subscription of one topic: "*" (or "") takes everything, otherwise "tagA || tagB".
struct SubscriptionData {
  std::string topic;
  std::string sub_string;         // "*" or the expression as given
  std::vector<std::string> tags;  // distinct, in order of appearance; empty = everything
  std::vector<int32_t> codes;     // Java String.hashCode() of each tag
  int64_t sub_version = 0;        // milliseconds when built
  bool MatchesAll() const { return tags.empty(); }
  // Whether a message with this TAGS value is wanted (the client's exact re-filtering; the
  // broker filters by hash code only).
  bool Matches(std::string_view tag) const;
};

// Parses a tag expression (FilterAPI.buildSubscriptionData). InvalidArgument for an empty topic
// or an expression with no tag ("||").
absl::StatusOr<SubscriptionData> ParseSubscription(std::string_view topic,
                                                   std::string_view expression);

// The hash code of a tag (Java String.hashCode() of the UTF-8 text over its UTF-16 code units,
// what the broker compares with the ConsumeQueue tagsCode).
int32_t TagHashCode(std::string_view utf8);

// The outcome of PULL_MESSAGE (Java's PullStatus).
enum class PullStatus { kFound, kNoNewMsg, kNoMatchedMsg, kOffsetIllegal };
std::string_view PullStatusName(PullStatus s);

struct PullResult {
  PullStatus status = PullStatus::kNoNewMsg;
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  // kFound: the messages matching the subscription (may be empty when every record was
  // filtered out by exact tag), in queue order.
  std::vector<ConsumedMessage> messages;
};

// A pulled message without copies (PullConsumer::PullVisit, VisitPullResponse): views into the
// pull answer, valid only during the visitor call. Copy what must outlive it.
struct MessageView {
  const MessageQueue* queue = nullptr;  // where it was pulled from
  // As stored: a message of %RETRY%<group> keeps its original topic in Property("RETRY_TOPIC").
  std::string_view topic;
  std::string_view tags;        // TAGS, empty when none
  std::string_view body;        // inflated when the record carries sysFlag 0x1
  std::string_view properties;  // every stored property, encoded "name\x01value\x02..."
  int64_t queue_offset = 0;
  int64_t commit_log_offset = 0;
  int32_t reconsume_times = 0;
  int32_t sys_flag = 0;
  int32_t flag = 0;
  int64_t born_timestamp_ms = 0;
  int64_t store_timestamp_ms = 0;
  // The value of a property, empty when absent.
  std::string_view Property(std::string_view name) const;
};
using MessageVisitor = std::function<void(const MessageView&)>;

// A PULL_MESSAGE request (header as protocol.md lists it).
RemotingCommand MakePullRequest(const std::string& group, const MessageQueue& mq,
                                const SubscriptionData& sub, int64_t offset, int32_t max_nums,
                                int32_t sys_flag, int64_t commit_offset,
                                int64_t suspend_timeout_ms);

// Decodes the answer to a pull of `mq` from broker `broker_addr`: codes 0/19/20/21 give a
// result (records decoded, bodies inflated, re-filtered by exact tag, the topic of retry
// messages of `group` restored, MIN_OFFSET/MAX_OFFSET properties added as Java does); any other
// code is an error naming the code and remark; a body that does not decode is DataLoss.
absl::StatusOr<PullResult> ParsePullResponse(const RemotingCommand& response,
                                             const MessageQueue& mq, const std::string& broker_addr,
                                             const SubscriptionData& sub, const std::string& group);
// As ParsePullResponse, but hands each matching message to visit as a view (in queue order, on
// the calling thread) instead of copying it into the result, whose `messages` stay empty. No
// MIN_OFFSET / MAX_OFFSET properties are added (the result carries them) and retry topics are
// not restored (see MessageView::topic).
absl::StatusOr<PullResult> VisitPullResponse(const RemotingCommand& response,
                                             const MessageQueue& mq, const std::string& broker_addr,
                                             const SubscriptionData& sub,
                                             const MessageVisitor& visit);

// The IPv4 address clients put in their id: the first non-loopback interface address, else
// 127.0.0.1.
std::string ClientIpAddress();
// "ip@instance": instance_name, or "<pid>#<nanoTime>" when empty (Java 4.9.x's default).
std::string MakeClientId(const std::string& instance_name);

// An error for an unexpected answer: "<what> at <addr>: code N (<remark>)".
absl::Status BrokerError(std::string_view what, const std::string& addr,
                         const RemotingCommand& response);

// The consumer's requests to brokers. Addresses come from the routes in `routes`: a queue's
// requests go to the master of its broker name (the slave with the lowest id when there is
// none, for reads).
class BrokerApi {
 public:
  BrokerApi(RemotingClient* client, RouteCache* routes, std::chrono::milliseconds timeout)
      : client_(client), routes_(routes), timeout_(timeout) {}

  RemotingClient* client() const { return client_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // The master of mq.broker_name in mq.topic's route; NotFound when there is none.
  absl::StatusOr<std::string> MasterAddr(const MessageQueue& mq);
  // The master, else a slave (what pulls and offset reads may use).
  absl::StatusOr<std::string> ReadAddr(const MessageQueue& mq);

  // QUERY_CONSUMER_OFFSET (14): the committed offset, nullopt when the broker has none (22).
  // With zero_if_not_found=false the request carries setZeroIfNotFound=false, which a 5.x
  // broker honours by answering 22 instead of 0 for a young queue (4.9.7 ignores it).
  absl::StatusOr<std::optional<int64_t>> QueryConsumerOffset(const std::string& group,
                                                             const MessageQueue& mq,
                                                             bool zero_if_not_found = true);
  // UPDATE_CONSUMER_OFFSET (15); oneway: queued, not answered.
  absl::Status UpdateConsumerOffset(const std::string& group, const MessageQueue& mq,
                                    int64_t offset, bool oneway);
  absl::StatusOr<int64_t> GetMaxOffset(const MessageQueue& mq);                 // 30
  absl::StatusOr<int64_t> GetMinOffset(const MessageQueue& mq);                 // 31
  absl::StatusOr<int64_t> SearchOffset(const MessageQueue& mq, int64_t ts_ms);  // 29
  absl::StatusOr<int64_t> GetEarliestStoreTime(const MessageQueue& mq);         // 32
  // GET_CONSUMER_LIST_BY_GROUP (38) at addr, sorted.
  absl::StatusOr<std::vector<std::string>> GetConsumerIds(const std::string& addr,
                                                          const std::string& group);
  // LOCK_BATCH_MQ (41) at addr: the queues now held by client_id.
  absl::StatusOr<std::set<MessageQueue>> LockBatch(const std::string& addr,
                                                   const std::string& group,
                                                   const std::string& client_id,
                                                   const std::vector<MessageQueue>& mqs);
  // UNLOCK_BATCH_MQ (42) at addr.
  absl::Status UnlockBatch(const std::string& addr, const std::string& group,
                           const std::string& client_id, const std::vector<MessageQueue>& mqs,
                           bool oneway);
  // CONSUMER_SEND_MSG_BACK (36) to the broker the message was pulled from.
  absl::Status SendBack(const std::string& group, const ConsumedMessage& msg, int32_t delay_level,
                        int32_t max_reconsume_times);
  // The Java client's fallback when send-back fails: SEND_MESSAGE_V2 of a copy to
  // %RETRY%<group> (producer group CLIENT_INNER_PRODUCER) with RETRY_TOPIC, ORIGIN_MESSAGE_ID,
  // DELAY=3+reconsumeTimes and the reconsume counts in header fields j / l.
  absl::Status SendToRetryTopic(const std::string& group, const ConsumedMessage& msg,
                                int32_t max_reconsume_times);
  // HEART_BEAT (34) with a HeartbeatData body.
  absl::Status Heartbeat(const std::string& addr, const std::string& body);
  // UNREGISTER_CLIENT (35).
  absl::Status UnregisterClient(const std::string& addr, const std::string& client_id,
                                const std::string& consumer_group);

 private:
  absl::StatusOr<RemotingCommand> Call(const std::string& addr, RemotingCommand request);
  absl::StatusOr<int64_t> QueueOffsetCall(int32_t code, const char* what, const MessageQueue& mq,
                                          const char* result_field, int64_t timestamp);

  RemotingClient* const client_;
  RouteCache* const routes_;
  const std::chrono::milliseconds timeout_;
};

// The HeartbeatData body of a consumer (consumeType as given: "CONSUME_PASSIVELY" for push,
// "CONSUME_ACTIVELY" for pull), with producerDataSet [CLIENT_INNER_PRODUCER] as Java sends it.
std::string MakeConsumerHeartbeatBody(const std::string& client_id, const std::string& group,
                                      std::string_view consume_type, MessageModel model,
                                      ConsumeFromWhere from,
                                      const std::vector<SubscriptionData>& subs);

}  // namespace rsclient

#endif  // CLIENT_CONSUMER_COMMON_H_
