// PullConsumer implementation (see pull_consumer.h).
// Thread-safety: members are set by Start and read-only afterwards; the transport, route cache
// and BrokerApi are thread-safe.
#include "client/pull_consumer.h"

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rsclient {

namespace {
constexpr int32_t kMaxPullNums = 1024;  // Java's pullBatchSize range; the broker caps it too
}  // namespace

PullConsumer::PullConsumer(PullConsumerOptions options) : options_(std::move(options)) {}

PullConsumer::~PullConsumer() { Shutdown(); }

absl::Status PullConsumer::Start() {
  if (started_) return absl::FailedPreconditionError("pull consumer already started");
  if (options_.group.empty()) return absl::InvalidArgumentError("consumer group is empty");
  absl::StatusOr<std::vector<std::string>> addrs = ParseNamesrvAddr(options_.namesrv_addr);
  if (!addrs.ok()) return addrs.status();
  client_id_ = MakeClientId(options_.instance_name);
  client_ = std::make_unique<RemotingClient>();
  namesrv_ = std::make_unique<NameServers>(client_.get(), *addrs, options_.rpc_timeout);
  routes_ = std::make_unique<RouteCache>(namesrv_.get());
  api_ = std::make_unique<BrokerApi>(client_.get(), routes_.get(), options_.rpc_timeout);
  started_ = true;
  return absl::OkStatus();
}

void PullConsumer::Shutdown() {
  if (client_ != nullptr) client_->Shutdown();
}

absl::Status PullConsumer::Ready() const {
  if (!started_) return absl::FailedPreconditionError("pull consumer not started");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MessageQueue>> PullConsumer::FetchQueues(const std::string& topic) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  absl::StatusOr<TopicRoute> route = routes_->Update(topic);
  if (!route.ok()) return route.status();
  return route->ReadableQueues(topic);
}

absl::StatusOr<PullConsumer::Prepared> PullConsumer::Prepare(const MessageQueue& mq,
                                                             const std::string& expression,
                                                             int64_t offset, int32_t max_nums,
                                                             bool block_if_not_found) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  if (max_nums < 1 || max_nums > kMaxPullNums) {
    return absl::InvalidArgumentError(absl::StrCat("max_nums must be 1..", kMaxPullNums));
  }
  if (offset < 0) return absl::InvalidArgumentError("negative offset");
  absl::StatusOr<SubscriptionData> sub = ParseSubscription(mq.topic, expression);
  if (!sub.ok()) return sub.status();
  absl::StatusOr<std::string> addr = api_->ReadAddr(mq);
  if (!addr.ok()) return addr.status();
  const int32_t sys_flag = kPullSubscription | (block_if_not_found ? kPullSuspend : 0);
  Prepared p{*addr, *sub,
             MakePullRequest(options_.group, mq, *sub, offset, max_nums, sys_flag, 0,
                             options_.broker_suspend_max_time.count()),
             block_if_not_found ? options_.block_pull_timeout : options_.pull_timeout};
  return p;
}

void PullConsumer::PullAsync(const MessageQueue& mq, const std::string& expression, int64_t offset,
                             int32_t max_nums, bool block_if_not_found, PullCallback done) {
  absl::StatusOr<Prepared> p = Prepare(mq, expression, offset, max_nums, block_if_not_found);
  if (!p.ok()) return done(p.status());
  client_->InvokeAsync(p->addr, std::move(p->request), p->timeout,
                       [mq, addr = p->addr, sub = std::move(p->sub), group = options_.group,
                        done = std::move(done)](absl::StatusOr<RemotingCommand> r) {
                         if (!r.ok()) return done(r.status());
                         done(ParsePullResponse(*r, mq, addr, sub, group));
                       });
}

absl::StatusOr<PullResult> PullConsumer::PullVisit(const MessageQueue& mq,
                                                   const std::string& expression, int64_t offset,
                                                   int32_t max_nums, const MessageVisitor& visit) {
  absl::StatusOr<Prepared> p = Prepare(mq, expression, offset, max_nums, false);
  if (!p.ok()) return p.status();
  absl::StatusOr<RemotingCommand> r =
      client_->InvokeSync(p->addr, std::move(p->request), p->timeout);
  if (!r.ok()) return r.status();
  return VisitPullResponse(*r, mq, p->addr, p->sub, visit);
}

absl::StatusOr<PullResult> PullConsumer::Pull(const MessageQueue& mq, const std::string& expression,
                                              int64_t offset, int32_t max_nums) {
  std::promise<absl::StatusOr<PullResult>> promise;
  std::future<absl::StatusOr<PullResult>> future = promise.get_future();
  PullAsync(mq, expression, offset, max_nums, false,
            [&promise](absl::StatusOr<PullResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

absl::StatusOr<PullResult> PullConsumer::PullBlockIfNotFound(const MessageQueue& mq,
                                                             const std::string& expression,
                                                             int64_t offset, int32_t max_nums) {
  std::promise<absl::StatusOr<PullResult>> promise;
  std::future<absl::StatusOr<PullResult>> future = promise.get_future();
  PullAsync(mq, expression, offset, max_nums, true,
            [&promise](absl::StatusOr<PullResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

absl::StatusOr<int64_t> PullConsumer::QueryCommittedOffset(const MessageQueue& mq) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  absl::StatusOr<std::optional<int64_t>> r = api_->QueryConsumerOffset(options_.group, mq);
  if (!r.ok()) return r.status();
  if (!r->has_value()) {
    return absl::NotFoundError("group " + options_.group + " has no offset for " + mq.ToString());
  }
  return **r;
}

absl::Status PullConsumer::UpdateCommittedOffset(const MessageQueue& mq, int64_t offset) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  return api_->UpdateConsumerOffset(options_.group, mq, offset, /*oneway=*/false);
}

absl::StatusOr<int64_t> PullConsumer::SearchOffset(const MessageQueue& mq, int64_t timestamp_ms) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  return api_->SearchOffset(mq, timestamp_ms);
}

absl::StatusOr<int64_t> PullConsumer::MinOffset(const MessageQueue& mq) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  return api_->GetMinOffset(mq);
}

absl::StatusOr<int64_t> PullConsumer::MaxOffset(const MessageQueue& mq) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  return api_->GetMaxOffset(mq);
}

absl::StatusOr<int64_t> PullConsumer::EarliestMsgStoreTime(const MessageQueue& mq) {
  if (absl::Status s = Ready(); !s.ok()) return s;
  return api_->GetEarliestStoreTime(mq);
}

}  // namespace rsclient
