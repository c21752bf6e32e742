// PullConsumer: RocketMQ's DefaultMQPullConsumer for users who drive reads themselves. The
// caller picks the queue and the offset; the consumer finds the broker from the topic's route,
// pulls, decodes (bodies inflated, exact tag filtering, retry topics restored) and leaves
// progress to the caller, with helpers for the group's committed offsets on the brokers and the
// queues' offsets (min, max, by timestamp).
// Thread-safety: after Start every method may be called from any thread (not from a PullAsync
// callback for the blocking ones: the callback runs on the transport's I/O thread).
#ifndef CLIENT_PULL_CONSUMER_H_
#define CLIENT_PULL_CONSUMER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/consumer_common.h"
#include "client/remoting_client.h"
#include "client/route.h"

namespace rsclient {

struct PullConsumerOptions {
  std::string group;                            // consumerGroup, required
  std::string namesrv_addr;                     // "host:port;host:port", required
  std::string instance_name;                    // client id "ip@instance"; "" -> "<pid>#<nanoTime>"
  std::chrono::milliseconds rpc_timeout{3000};  // offsets, routes
  std::chrono::milliseconds pull_timeout{10000};  // a pull without long polling
  // PullBlockIfNotFound: the broker holds the pull this long (Java's
  // brokerSuspendMaxTimeMillis); the call times out after block_pull_timeout.
  std::chrono::milliseconds broker_suspend_max_time{20000};
  std::chrono::milliseconds block_pull_timeout{30000};
};

class PullConsumer {
 public:
  using PullCallback = std::function<void(absl::StatusOr<PullResult>)>;

  explicit PullConsumer(PullConsumerOptions options);
  ~PullConsumer();  // Shutdown()
  PullConsumer(const PullConsumer&) = delete;
  PullConsumer& operator=(const PullConsumer&) = delete;

  // Validates the options and starts the transport. InvalidArgument for bad options.
  absl::Status Start();
  void Shutdown();
  std::string client_id() const { return client_id_; }

  // The readable queues of topic (fetched from the name servers now), sorted.
  absl::StatusOr<std::vector<MessageQueue>> FetchQueues(const std::string& topic);

  // Reads up to max_nums (1..1024) messages of mq from offset matching the tag expression
  // ("*", "tagA || tagB"); the broker answers at most its maxTransferCountOnMessageInMemory
  // (default 32) messages. Answers at once (no long polling).
  absl::StatusOr<PullResult> Pull(const MessageQueue& mq, const std::string& expression,
                                  int64_t offset, int32_t max_nums);
  // As Pull, but the broker holds the request until a message arrives or
  // broker_suspend_max_time passes (then kNoNewMsg).
  absl::StatusOr<PullResult> PullBlockIfNotFound(const MessageQueue& mq,
                                                 const std::string& expression, int64_t offset,
                                                 int32_t max_nums);
  // As Pull, without copies: calls visit for each matching message (on the calling thread, in
  // queue order) with views into the answer, valid only during the call; the result's
  // `messages` stay empty. Retry topics are not restored (see MessageView). For reading at the
  // speed of the page cache.
  absl::StatusOr<PullResult> PullVisit(const MessageQueue& mq, const std::string& expression,
                                       int64_t offset, int32_t max_nums,
                                       const MessageVisitor& visit);
  // Pull without blocking: done runs once, on the transport's I/O thread (it must not block).
  void PullAsync(const MessageQueue& mq, const std::string& expression, int64_t offset,
                 int32_t max_nums, bool block_if_not_found, PullCallback done);

  // The group's committed offset of mq (QUERY_CONSUMER_OFFSET): NotFound when there is none.
  // Like a 4.9.7 broker, ours answers 0 for a queue that still starts at 0.
  absl::StatusOr<int64_t> QueryCommittedOffset(const MessageQueue& mq);
  // Sets the group's committed offset of mq (UPDATE_CONSUMER_OFFSET, answered).
  absl::Status UpdateCommittedOffset(const MessageQueue& mq, int64_t offset);
  // The offset of the first message of mq stored at or after timestamp_ms.
  absl::StatusOr<int64_t> SearchOffset(const MessageQueue& mq, int64_t timestamp_ms);
  absl::StatusOr<int64_t> MinOffset(const MessageQueue& mq);
  // The offset the next message of mq will get.
  absl::StatusOr<int64_t> MaxOffset(const MessageQueue& mq);
  // Store time of the oldest message of mq (-1 when empty).
  absl::StatusOr<int64_t> EarliestMsgStoreTime(const MessageQueue& mq);

 private:
  absl::Status Ready() const;
  // A checked PULL_MESSAGE request and where it goes.
  struct Prepared {
    std::string addr;
    SubscriptionData sub;
    RemotingCommand request;
    std::chrono::milliseconds timeout;
  };
  absl::StatusOr<Prepared> Prepare(const MessageQueue& mq, const std::string& expression,
                                   int64_t offset, int32_t max_nums, bool block_if_not_found);

  const PullConsumerOptions options_;
  std::string client_id_;
  bool started_ = false;
  std::unique_ptr<RemotingClient> client_;
  std::unique_ptr<NameServers> namesrv_;
  std::unique_ptr<RouteCache> routes_;
  std::unique_ptr<BrokerApi> api_;
};

}  // namespace rsclient

#endif  // CLIENT_PULL_CONSUMER_H_
