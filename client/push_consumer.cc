// PushConsumer implementation (see push_consumer.h).
//
// Threads and what they touch:
//   * RemotingClient's I/O thread: pull answers and NOTIFY_CONSUMER_IDS_CHANGED; it only posts
//     work to the schedulers.
//   * puller_ (Scheduler): issues pulls and decodes their answers; never blocks on the network
//     (InvokeAsync), so one thread drives every queue.
//   * service_ (Scheduler): rebalance, heartbeats, route refresh, lock renewal, offset
//     persistence; its calls are synchronous.
//   * pool_ (ThreadPool): listener calls, send-back, commit of consumed offsets.
// Locks: table_mu_ guards table_; each ProcessQueue's mu guards its message maps and offsets;
// an orderly queue's consume_lock is held while its listener runs and while the queue is given
// up (so an offset is never committed, nor a lock released, under a running listener). Order:
// consume_lock, then table_mu_ or ProcessQueue::mu (never both of the latter at once).
#include "client/push_consumer.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/executor.h"
#include "client/offset_store.h"
#include "client/rebalance.h"
#include "remoting/codes.h"

namespace rsclient {

namespace rc = brokerd::remoting::response_code;
namespace req = brokerd::remoting::request_code;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

// Delays (Java's DefaultMQPushConsumerImpl / RebalanceImpl constants).
constexpr milliseconds kPullDelayOnError{3000};         // pullTimeDelayMillsWhenException
constexpr milliseconds kPullDelayFlowControl{50};       // PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL
constexpr milliseconds kPullDelayNotLocked{1000};       // orderly queue whose lock lapsed
constexpr milliseconds kLocalRetryDelay{5000};          // send-back failed: consume again
constexpr milliseconds kRebalanceRetryDelay{1000};      // a queue could not be taken yet
constexpr milliseconds kDropLockWait{1000};             // giving up an orderly queue
constexpr milliseconds kLockLifetime{30000};            // REBALANCE_LOCK_MAX_LIVE_TIME (client)
constexpr milliseconds kMaxConsumeContinuously{60000};  // MAX_TIME_CONSUME_CONTINUOUSLY
constexpr int32_t kDefaultMaxReconsumeTimes = 16;
constexpr int32_t kMaxPullBatch = 1024;  // Java's pullBatchSize range [1, 1024]
constexpr int32_t kMaxConsumeBatch = 1024;
constexpr int32_t kMaxConsumeThreads = 1000;
constexpr int64_t kDefaultTimestampLookbackMs = 30 * 60 * 1000;

void Log(const std::string& what) { std::fprintf(stderr, "rsclient: %s\n", what.c_str()); }

int64_t WallMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One assigned queue: what was pulled and not yet consumed, and where to pull next.
struct ProcessQueue {
  explicit ProcessQueue(MessageQueue q) : mq(std::move(q)) {}

  const MessageQueue mq;
  std::atomic<bool> dropped{false};
  std::timed_mutex consume_lock;  // orderly: held while the listener runs

  std::mutex mu;
  int64_t next_offset = 0;                       // next pull offset
  std::set<int64_t> inflight;                    // concurrent: pulled, not yet consumed
  std::map<int64_t, ConsumedMessage> msgs;       // orderly: pulled, waiting
  std::map<int64_t, ConsumedMessage> consuming;  // orderly: handed to the listener
  bool orderly_scheduled = false;                // orderly: a consume task is queued/running
  bool locked = false;                           // orderly clustering: broker lock held
  Clock::time_point last_lock{};

  // The offset to commit (mu held): the smallest one not consumed.
  int64_t CommitOffsetLocked() const {
    int64_t c = next_offset;
    if (!inflight.empty()) c = std::min(c, *inflight.begin());
    if (!consuming.empty()) c = std::min(c, consuming.begin()->first);
    if (!msgs.empty()) c = std::min(c, msgs.begin()->first);
    return c;
  }
  size_t CachedLocked() const { return inflight.size() + msgs.size() + consuming.size(); }
  bool LockValidLocked(Clock::time_point now) const {
    return locked && now - last_lock <= kLockLifetime;
  }
};

}  // namespace

class PushConsumer::Impl {
 public:
  explicit Impl(PushConsumerOptions o) : opts_(std::move(o)) {}
  ~Impl() { Shutdown(); }

  absl::Status Subscribe(const std::string& topic, const std::string& expression);
  absl::Status Start();
  void Shutdown();

  ConcurrentListener concurrent_;
  OrderlyListener orderly_;
  std::string client_id_;

  std::vector<MessageQueue> AssignedQueues() const;
  std::map<MessageQueue, int64_t> CommittedOffsets() const;

 private:
  bool clustering() const { return opts_.message_model == MessageModel::kClustering; }
  bool orderly() const { return static_cast<bool>(orderly_); }
  bool locks() const { return orderly() && clustering(); }

  // Service thread.
  void SchedulePeriodic(milliseconds interval, void (Impl::*task)());
  void DoRebalance();
  void RebalanceSoon();
  bool RebalanceTopic(const SubscriptionData& sub);
  bool UpdateProcessQueues(const std::string& topic, const std::vector<MessageQueue>& mine);
  bool RemoveQueue(const std::shared_ptr<ProcessQueue>& pq);
  absl::StatusOr<int64_t> ComputeStartOffset(const MessageQueue& mq);
  void SendHeartbeats();
  void HeartbeatAndRefresh();
  void HeartbeatNewBrokers(const TopicRoute& route);
  void PersistOffsets();
  void RenewLocks();
  std::vector<std::shared_ptr<ProcessQueue>> LiveQueues() const;

  // Puller thread.
  void DispatchPull(const std::shared_ptr<ProcessQueue>& pq);
  void OnPullResponse(const std::shared_ptr<ProcessQueue>& pq, const std::string& addr,
                      const absl::StatusOr<RemotingCommand>& response);
  void PullLater(const std::shared_ptr<ProcessQueue>& pq, milliseconds delay);

  // Consume pool.
  void SubmitConcurrently(const std::shared_ptr<ProcessQueue>& pq,
                          std::vector<ConsumedMessage> batch);
  void ConsumeConcurrently(const std::shared_ptr<ProcessQueue>& pq,
                           std::vector<ConsumedMessage> batch);
  void SubmitOrderly(const std::shared_ptr<ProcessQueue>& pq, milliseconds delay);
  void ConsumeOrderly(const std::shared_ptr<ProcessQueue>& pq);
  bool TryLockNow(const std::shared_ptr<ProcessQueue>& pq);

  PushConsumerOptions opts_;
  std::map<std::string, SubscriptionData> subs_;  // topic -> subscription; fixed after Start
  int32_t max_reconsume_times_ = kDefaultMaxReconsumeTimes;

  // Declared before client_ so that they outlive it: its callbacks post to them until it is
  // shut down.
  std::unique_ptr<Scheduler> service_;
  std::unique_ptr<Scheduler> puller_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<RemotingClient> client_;
  std::unique_ptr<NameServers> namesrv_;
  std::unique_ptr<RouteCache> routes_;
  std::unique_ptr<BrokerApi> api_;
  std::unique_ptr<OffsetStore> offsets_;

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;

  mutable std::mutex table_mu_;
  std::map<MessageQueue, std::shared_ptr<ProcessQueue>> table_;

  // Service thread only.
  bool rebalance_retry_pending_ = false;
  std::set<std::string> heartbeated_;  // broker addresses that had a heartbeat
};

absl::Status PushConsumer::Impl::Subscribe(const std::string& topic,
                                           const std::string& expression) {
  if (started_) return absl::FailedPreconditionError("Subscribe after Start");
  absl::StatusOr<SubscriptionData> sub = ParseSubscription(topic, expression);
  if (!sub.ok()) return sub.status();
  subs_[topic] = std::move(*sub);
  return absl::OkStatus();
}

absl::Status PushConsumer::Impl::Start() {
  if (started_.exchange(true)) return absl::FailedPreconditionError("consumer already started");
  auto fail = [this](absl::Status s) {
    started_ = false;
    return s;
  };
  if (opts_.group.empty()) return fail(absl::InvalidArgumentError("consumer group is empty"));
  if (static_cast<bool>(concurrent_) == static_cast<bool>(orderly_)) {
    return fail(absl::FailedPreconditionError("register exactly one message listener"));
  }
  if (subs_.empty()) return fail(absl::FailedPreconditionError("no subscription"));
  if (opts_.consume_thread_min < 1 || opts_.consume_thread_min > kMaxConsumeThreads ||
      opts_.consume_thread_max < opts_.consume_thread_min ||
      opts_.consume_thread_max > kMaxConsumeThreads) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("consume threads must satisfy 1 <= min <= max <= ", kMaxConsumeThreads)));
  }
  if (opts_.pull_batch_size < 1 || opts_.pull_batch_size > kMaxPullBatch) {
    return fail(
        absl::InvalidArgumentError(absl::StrCat("pull_batch_size must be 1..", kMaxPullBatch)));
  }
  if (opts_.consume_message_batch_max_size < 1 ||
      opts_.consume_message_batch_max_size > kMaxConsumeBatch) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("consume_message_batch_max_size must be 1..", kMaxConsumeBatch)));
  }
  if (opts_.pull_threshold_for_queue < 1 || opts_.consume_concurrently_max_span < 1) {
    return fail(absl::InvalidArgumentError("flow-control thresholds must be positive"));
  }
  absl::StatusOr<std::vector<std::string>> addrs = ParseNamesrvAddr(opts_.namesrv_addr);
  if (!addrs.ok()) return fail(addrs.status());
  if (opts_.max_reconsume_times >= 0) {
    max_reconsume_times_ = opts_.max_reconsume_times;
  } else {
    max_reconsume_times_ =
        orderly() ? std::numeric_limits<int32_t>::max() : kDefaultMaxReconsumeTimes;
  }
  if (opts_.consume_from_where == ConsumeFromWhere::kTimestamp && opts_.consume_timestamp_ms <= 0) {
    opts_.consume_timestamp_ms = WallMs() - kDefaultTimestampLookbackMs;
  }
  if (clustering()) {
    absl::StatusOr<SubscriptionData> retry = ParseSubscription(RetryTopic(opts_.group), "*");
    if (!retry.ok()) return fail(retry.status());
    subs_.emplace(retry->topic, std::move(*retry));
  }
  client_id_ = MakeClientId(opts_.instance_name);

  service_ = std::make_unique<Scheduler>();
  puller_ = std::make_unique<Scheduler>();
  pool_ = std::make_unique<ThreadPool>(static_cast<size_t>(opts_.consume_thread_min),
                                       static_cast<size_t>(opts_.consume_thread_max));
  client_ = std::make_unique<RemotingClient>();
  client_->SetRequestHandler(
      [this](const std::string&, RemotingCommand& request) -> std::optional<RemotingCommand> {
        if (request.code == req::kNotifyConsumerIdsChanged) {
          const std::string* group = request.FindExtField("consumerGroup");
          if (!stopping_ && (group == nullptr || *group == opts_.group)) {
            service_->Post([this] { DoRebalance(); });
          }
          return std::nullopt;
        }
        if (request.IsOneway()) return std::nullopt;
        return brokerd::remoting::MakeResponse(
            request, rc::kRequestCodeNotSupported,
            absl::StrCat("request code ", request.code, " not supported by this consumer"));
      });
  namesrv_ = std::make_unique<NameServers>(client_.get(), *addrs, opts_.rpc_timeout);
  routes_ = std::make_unique<RouteCache>(namesrv_.get());
  api_ = std::make_unique<BrokerApi>(client_.get(), routes_.get(), opts_.rpc_timeout);
  if (clustering()) {
    offsets_ = std::make_unique<RemoteBrokerOffsetStore>(
        api_.get(), opts_.group, opts_.consume_from_where != ConsumeFromWhere::kTimestamp);
  } else {
    auto local = std::make_unique<LocalFileOffsetStore>(
        opts_.offset_store_dir.empty() ? LocalFileOffsetStore::DefaultDir()
                                       : std::filesystem::path(opts_.offset_store_dir),
        client_id_, opts_.group);
    if (absl::Status s = local->Load(); !s.ok()) {
      Log("broadcast offsets of " + opts_.group + " not loaded: " + std::string(s.message()));
    }
    offsets_ = std::move(local);
  }

  // Everything the service thread owns is touched only there, the first round included.
  service_->Post([this] {
    for (const auto& [topic, sub] : subs_) {
      absl::StatusOr<TopicRoute> route = routes_->Update(topic);
      if (!route.ok() && !IsRetryTopic(topic)) {
        Log("consumer " + opts_.group + ": no route yet for " + topic + ": " +
            std::string(route.status().message()));
      }
    }
    SendHeartbeats();
    DoRebalance();
  });
  SchedulePeriodic(opts_.rebalance_interval, &Impl::DoRebalance);
  SchedulePeriodic(opts_.heartbeat_interval, &Impl::HeartbeatAndRefresh);
  SchedulePeriodic(opts_.persist_offset_interval, &Impl::PersistOffsets);
  if (locks()) SchedulePeriodic(opts_.lock_renew_interval, &Impl::RenewLocks);
  return absl::OkStatus();
}

void PushConsumer::Impl::Shutdown() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  service_->Stop();
  puller_->Stop();
  pool_->Stop();  // drops queued consumption, waits for the running listener calls
  std::vector<std::shared_ptr<ProcessQueue>> queues;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (auto& [mq, pq] : table_) {
      if (!pq->dropped) queues.push_back(pq);
    }
  }
  std::vector<MessageQueue> mqs;
  for (const auto& pq : queues) mqs.push_back(pq->mq);
  if (clustering()) {
    for (const MessageQueue& mq : mqs) {
      if (absl::Status s = offsets_->Persist(mq); !s.ok()) {
        Log("commit of " + mq.ToString() + " at shutdown failed: " + std::string(s.message()));
      }
    }
  } else if (absl::Status s = offsets_->PersistAll(mqs); !s.ok()) {
    Log("broadcast offsets not written: " + std::string(s.message()));
  }
  if (locks()) {
    std::map<std::string, std::vector<MessageQueue>> by_addr;
    for (const MessageQueue& mq : mqs) {
      if (absl::StatusOr<std::string> addr = api_->MasterAddr(mq); addr.ok()) {
        by_addr[*addr].push_back(mq);
      }
    }
    for (const auto& [addr, list] : by_addr) {
      (void)api_->UnlockBatch(addr, opts_.group, client_id_, list, /*oneway=*/false);
    }
  }
  for (const auto& pq : queues) pq->dropped = true;
  std::set<std::string> addrs = heartbeated_;
  for (const auto& [topic, sub] : subs_) {
    if (absl::StatusOr<TopicRoute> route = routes_->Get(topic); route.ok()) {
      for (const BrokerData& b : route->broker_datas) {
        for (const auto& [id, addr] : b.addrs) addrs.insert(addr);
      }
    }
  }
  for (const std::string& addr : addrs) {
    (void)api_->UnregisterClient(addr, client_id_, opts_.group);
  }
  client_->Shutdown();
}

std::vector<MessageQueue> PushConsumer::Impl::AssignedQueues() const {
  std::vector<MessageQueue> out;
  std::lock_guard<std::mutex> lock(table_mu_);
  for (const auto& [mq, pq] : table_) {
    if (!pq->dropped) out.push_back(mq);
  }
  return out;
}

std::map<MessageQueue, int64_t> PushConsumer::Impl::CommittedOffsets() const {
  std::map<MessageQueue, int64_t> out;
  if (offsets_ == nullptr) return out;
  std::map<MessageQueue, int64_t> all = offsets_->Snapshot();
  for (const MessageQueue& mq : AssignedQueues()) {
    auto it = all.find(mq);
    if (it != all.end()) out.insert(*it);
  }
  return out;
}

std::vector<std::shared_ptr<ProcessQueue>> PushConsumer::Impl::LiveQueues() const {
  std::vector<std::shared_ptr<ProcessQueue>> out;
  std::lock_guard<std::mutex> lock(table_mu_);
  for (const auto& [mq, pq] : table_) {
    if (!pq->dropped) out.push_back(pq);
  }
  return out;
}

// ---- service thread ----

void PushConsumer::Impl::SchedulePeriodic(milliseconds interval, void (Impl::*task)()) {
  service_->PostAfter(interval, [this, interval, task] {
    (this->*task)();
    SchedulePeriodic(interval, task);
  });
}

void PushConsumer::Impl::RebalanceSoon() {
  if (rebalance_retry_pending_) return;
  rebalance_retry_pending_ = true;
  service_->PostAfter(kRebalanceRetryDelay, [this] {
    rebalance_retry_pending_ = false;
    DoRebalance();
  });
}

void PushConsumer::Impl::DoRebalance() {
  if (stopping_) return;
  bool complete = true;
  for (const auto& [topic, sub] : subs_) complete &= RebalanceTopic(sub);
  if (!complete) RebalanceSoon();
}

bool PushConsumer::Impl::RebalanceTopic(const SubscriptionData& sub) {
  absl::StatusOr<TopicRoute> route = routes_->Get(sub.topic);
  if (!route.ok()) return false;  // e.g. %RETRY%<group> not registered with the name server yet
  HeartbeatNewBrokers(*route);
  std::vector<MessageQueue> all = route->ReadableQueues(sub.topic);
  if (!clustering()) return UpdateProcessQueues(sub.topic, all);
  std::optional<std::string> addr;
  for (const BrokerData& b : route->broker_datas) {
    if (auto m = route->MasterAddr(b.broker_name); m.has_value()) {
      addr = m;
      break;
    }
  }
  if (!addr.has_value() && !route->broker_datas.empty()) {
    addr = route->AnyAddr(route->broker_datas.front().broker_name);
  }
  if (!addr.has_value()) return false;
  absl::StatusOr<std::vector<std::string>> ids = api_->GetConsumerIds(*addr, opts_.group);
  if (ids.ok() && std::find(ids->begin(), ids->end(), client_id_) == ids->end()) {
    // The broker does not know us (restarted, or expired us): heartbeat and ask again.
    heartbeated_.erase(*addr);
    SendHeartbeats();
    ids = api_->GetConsumerIds(*addr, opts_.group);
  }
  if (!ids.ok() || std::find(ids->begin(), ids->end(), client_id_) == ids->end()) return false;
  return UpdateProcessQueues(sub.topic, AllocateAveragely(all, *ids, client_id_));
}

bool PushConsumer::Impl::UpdateProcessQueues(const std::string& topic,
                                             const std::vector<MessageQueue>& mine) {
  const std::set<MessageQueue> want(mine.begin(), mine.end());
  std::vector<std::shared_ptr<ProcessQueue>> to_remove;
  std::vector<MessageQueue> to_add;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (const auto& [mq, pq] : table_) {
      if (mq.topic != topic) continue;
      // A queue given up earlier whose removal did not finish is finished first, also when
      // it is ours again.
      if (!want.contains(mq) || pq->dropped) to_remove.push_back(pq);
    }
    for (const MessageQueue& mq : want) {
      auto it = table_.find(mq);
      if (it == table_.end() || it->second->dropped) to_add.push_back(mq);
    }
  }
  bool complete = true;
  for (const auto& pq : to_remove) {
    if (RemoveQueue(pq)) {
      std::lock_guard<std::mutex> lock(table_mu_);
      auto it = table_.find(pq->mq);
      if (it != table_.end() && it->second == pq) table_.erase(it);
    } else {
      complete = false;
      to_add.erase(std::remove(to_add.begin(), to_add.end(), pq->mq), to_add.end());
    }
  }
  if (to_add.empty()) return complete;

  if (locks()) {
    // An orderly queue is pulled only once this client holds its broker lock.
    std::map<std::string, std::vector<MessageQueue>> by_addr;
    for (const MessageQueue& mq : to_add) {
      absl::StatusOr<std::string> addr = api_->MasterAddr(mq);
      if (addr.ok()) by_addr[*addr].push_back(mq);
    }
    std::vector<MessageQueue> locked;
    for (const auto& [addr, list] : by_addr) {
      absl::StatusOr<std::set<MessageQueue>> got =
          api_->LockBatch(addr, opts_.group, client_id_, list);
      if (!got.ok()) continue;
      for (const MessageQueue& mq : list) {
        if (got->contains(mq)) locked.push_back(mq);
      }
    }
    if (locked.size() != to_add.size()) complete = false;  // held by the previous owner
    to_add = std::move(locked);
  }

  for (const MessageQueue& mq : to_add) {
    absl::StatusOr<int64_t> start = ComputeStartOffset(mq);
    if (!start.ok()) {
      Log("start offset of " + mq.ToString() + ": " + std::string(start.status().message()));
      complete = false;
      continue;
    }
    auto pq = std::make_shared<ProcessQueue>(mq);
    pq->next_offset = *start;
    if (locks()) {
      pq->locked = true;
      pq->last_lock = Clock::now();
    }
    offsets_->Update(mq, *start, /*increase_only=*/false);
    {
      std::lock_guard<std::mutex> lock(table_mu_);
      table_[mq] = pq;
    }
    puller_->Post([this, pq] { DispatchPull(pq); });
  }
  return complete;
}

bool PushConsumer::Impl::RemoveQueue(const std::shared_ptr<ProcessQueue>& pq) {
  pq->dropped = true;
  const MessageQueue& mq = pq->mq;
  std::unique_lock<std::timed_mutex> consume(pq->consume_lock, std::defer_lock);
  if (locks() && !consume.try_lock_for(kDropLockWait)) return false;  // a listener still runs
  if (absl::Status s = offsets_->Persist(mq); !s.ok()) {
    Log("commit of " + mq.ToString() + " when giving it up failed: " + std::string(s.message()));
  }
  offsets_->Remove(mq);
  if (locks()) {
    if (absl::StatusOr<std::string> addr = api_->MasterAddr(mq); addr.ok()) {
      (void)api_->UnlockBatch(*addr, opts_.group, client_id_, {mq}, /*oneway=*/true);
    }
    std::lock_guard<std::mutex> lock(pq->mu);
    pq->locked = false;
  }
  return true;
}

absl::StatusOr<int64_t> PushConsumer::Impl::ComputeStartOffset(const MessageQueue& mq) {
  const bool retry = IsRetryTopic(mq.topic);
  absl::StatusOr<std::optional<int64_t>> stored = offsets_->ReadFromStore(mq);
  if (!stored.ok()) return stored.status();
  if (stored->has_value() && **stored >= 0) {
    // A 4.9.7 broker answers 0 for a young queue the group never committed; for TIMESTAMP a 0
    // (nothing consumed) is resolved by the timestamp instead.
    const bool resolve = opts_.consume_from_where == ConsumeFromWhere::kTimestamp && !retry &&
                         **stored == 0 && clustering();
    if (!resolve) return **stored;
  }
  switch (opts_.consume_from_where) {
    case ConsumeFromWhere::kLastOffset:
      if (retry) return 0;
      return api_->GetMaxOffset(mq);
    case ConsumeFromWhere::kFirstOffset:
      return 0;
    case ConsumeFromWhere::kTimestamp:
      if (retry) return api_->GetMaxOffset(mq);
      return api_->SearchOffset(mq, opts_.consume_timestamp_ms);
  }
  return absl::InternalError("unknown consume_from_where");
}

void PushConsumer::Impl::SendHeartbeats() {
  std::vector<SubscriptionData> subs;
  for (const auto& [topic, sub] : subs_) subs.push_back(sub);
  const std::string body =
      MakeConsumerHeartbeatBody(client_id_, opts_.group, "CONSUME_PASSIVELY", opts_.message_model,
                                opts_.consume_from_where, subs);
  std::set<std::string> addrs;
  for (const auto& [topic, sub] : subs_) {
    absl::StatusOr<TopicRoute> route = routes_->Get(topic);
    if (!route.ok()) continue;
    for (const BrokerData& b : route->broker_datas) {
      for (const auto& [id, addr] : b.addrs) addrs.insert(addr);
    }
  }
  for (const std::string& addr : addrs) {
    if (absl::Status s = api_->Heartbeat(addr, body); s.ok()) {
      heartbeated_.insert(addr);
    } else {
      Log("heartbeat to " + addr + " failed: " + std::string(s.message()));
    }
  }
}

void PushConsumer::Impl::HeartbeatNewBrokers(const TopicRoute& route) {
  for (const BrokerData& b : route.broker_datas) {
    for (const auto& [id, addr] : b.addrs) {
      if (!heartbeated_.contains(addr)) return SendHeartbeats();
    }
  }
}

void PushConsumer::Impl::HeartbeatAndRefresh() {
  routes_->Refresh();
  SendHeartbeats();
}

void PushConsumer::Impl::PersistOffsets() {
  std::vector<MessageQueue> mqs;
  for (const auto& pq : LiveQueues()) mqs.push_back(pq->mq);
  if (absl::Status s = offsets_->PersistAll(mqs); !s.ok() && !clustering()) {
    Log("broadcast offsets not written: " + std::string(s.message()));
  }
}

void PushConsumer::Impl::RenewLocks() {
  std::map<std::string, std::vector<std::shared_ptr<ProcessQueue>>> by_addr;
  for (const auto& pq : LiveQueues()) {
    if (absl::StatusOr<std::string> addr = api_->MasterAddr(pq->mq); addr.ok()) {
      by_addr[*addr].push_back(pq);
    }
  }
  for (const auto& [addr, list] : by_addr) {
    std::vector<MessageQueue> mqs;
    for (const auto& pq : list) mqs.push_back(pq->mq);
    absl::StatusOr<std::set<MessageQueue>> got =
        api_->LockBatch(addr, opts_.group, client_id_, mqs);
    if (!got.ok()) continue;  // the locks lapse after kLockLifetime unless renewed
    const auto now = Clock::now();
    for (const auto& pq : list) {
      const bool held = got->contains(pq->mq);
      {
        std::lock_guard<std::mutex> lock(pq->mu);
        pq->locked = held;
        if (held) pq->last_lock = now;
      }
      if (held) SubmitOrderly(pq, milliseconds(0));
    }
  }
}

// ---- puller thread ----

void PushConsumer::Impl::PullLater(const std::shared_ptr<ProcessQueue>& pq, milliseconds delay) {
  puller_->PostAfter(delay, [this, pq] { DispatchPull(pq); });
}

void PushConsumer::Impl::DispatchPull(const std::shared_ptr<ProcessQueue>& pq) {
  if (stopping_ || pq->dropped) return;
  int64_t offset = 0;
  {
    std::lock_guard<std::mutex> lock(pq->mu);
    const size_t cached = pq->CachedLocked();
    if (cached > static_cast<size_t>(opts_.pull_threshold_for_queue)) {
      return PullLater(pq, kPullDelayFlowControl);
    }
    if (!orderly() && !pq->inflight.empty() &&
        *pq->inflight.rbegin() - *pq->inflight.begin() > opts_.consume_concurrently_max_span) {
      return PullLater(pq, kPullDelayFlowControl);
    }
    if (locks() && !pq->LockValidLocked(Clock::now())) return PullLater(pq, kPullDelayNotLocked);
    offset = pq->next_offset;
  }
  const SubscriptionData& sub = subs_.at(pq->mq.topic);
  absl::StatusOr<std::string> addr = api_->ReadAddr(pq->mq);
  if (!addr.ok()) return PullLater(pq, kPullDelayOnError);
  int32_t sys_flag = kPullSuspend | kPullSubscription;
  int64_t commit = 0;
  if (clustering()) {
    std::optional<int64_t> mem = offsets_->ReadFromMemory(pq->mq);
    if (mem.has_value() && *mem > 0) {
      commit = *mem;
      sys_flag |= kPullCommitOffset;
    }
  }
  RemotingCommand request =
      MakePullRequest(opts_.group, pq->mq, sub, offset, opts_.pull_batch_size, sys_flag, commit,
                      opts_.broker_suspend_max_time.count());
  const std::string broker = *addr;
  client_->InvokeAsync(
      broker, std::move(request), opts_.pull_timeout,
      [this, pq, broker](absl::StatusOr<RemotingCommand> r) {
        auto shared = std::make_shared<absl::StatusOr<RemotingCommand>>(std::move(r));
        puller_->Post([this, pq, broker, shared] { OnPullResponse(pq, broker, *shared); });
      });
}

void PushConsumer::Impl::OnPullResponse(const std::shared_ptr<ProcessQueue>& pq,
                                        const std::string& addr,
                                        const absl::StatusOr<RemotingCommand>& response) {
  if (stopping_ || pq->dropped) return;
  if (!response.ok()) return PullLater(pq, kPullDelayOnError);
  const SubscriptionData& sub = subs_.at(pq->mq.topic);
  absl::StatusOr<PullResult> result = ParsePullResponse(*response, pq->mq, addr, sub, opts_.group);
  if (!result.ok()) {
    Log("pull of " + pq->mq.ToString() + ": " + std::string(result.status().message()));
    return PullLater(pq, kPullDelayOnError);
  }
  std::optional<int64_t> commit;  // set when nothing of the queue waits for consumption
  {
    std::lock_guard<std::mutex> lock(pq->mu);
    pq->next_offset = result->next_begin_offset;
    for (const ConsumedMessage& m : result->messages) {
      if (orderly()) {
        pq->msgs.emplace(m.queue_offset, m);
      } else {
        pq->inflight.insert(m.queue_offset);
      }
    }
    if (pq->CachedLocked() == 0) commit = pq->next_offset;
  }
  if (commit.has_value()) {
    // Everything below next_offset is consumed or filtered out.
    offsets_->Update(pq->mq, *commit,
                     /*increase_only=*/result->status != PullStatus::kOffsetIllegal);
  }
  if (result->status == PullStatus::kOffsetIllegal) {
    Log("pull of " + pq->mq.ToString() + ": offset illegal, continuing at " +
        std::to_string(result->next_begin_offset));
  }
  if (!result->messages.empty()) {
    if (orderly()) {
      SubmitOrderly(pq, milliseconds(0));
    } else {
      const size_t batch = static_cast<size_t>(opts_.consume_message_batch_max_size);
      std::vector<ConsumedMessage>& all = result->messages;
      for (size_t i = 0; i < all.size(); i += batch) {
        std::vector<ConsumedMessage> part(
            std::make_move_iterator(all.begin() + i),
            std::make_move_iterator(all.begin() + std::min(all.size(), i + batch)));
        SubmitConcurrently(pq, std::move(part));
      }
    }
  }
  DispatchPull(pq);
}

// ---- consume pool ----

void PushConsumer::Impl::SubmitConcurrently(const std::shared_ptr<ProcessQueue>& pq,
                                            std::vector<ConsumedMessage> batch) {
  auto shared = std::make_shared<std::vector<ConsumedMessage>>(std::move(batch));
  pool_->Submit([this, pq, shared] { ConsumeConcurrently(pq, std::move(*shared)); });
}

void PushConsumer::Impl::ConsumeConcurrently(const std::shared_ptr<ProcessQueue>& pq,
                                             std::vector<ConsumedMessage> batch) {
  if (pq->dropped || batch.empty()) return;
  ConsumeConcurrentlyContext ctx;
  ctx.queue = pq->mq;
  ConsumeConcurrentlyStatus status = ConsumeConcurrentlyStatus::kReconsumeLater;
  try {
    status = concurrent_(batch, ctx);
  } catch (const std::exception& e) {
    Log("listener of " + opts_.group + " threw: " + e.what());
  } catch (...) {
    Log("listener of " + opts_.group + " threw");
  }
  if (pq->dropped) return;  // the queue moved on; its new owner consumes these again
  const int32_t n = static_cast<int32_t>(batch.size());
  const int32_t ack = status == ConsumeConcurrentlyStatus::kConsumeSuccess
                          ? std::clamp(ctx.ack_index, -1, n - 1)
                          : -1;
  std::vector<ConsumedMessage> again;
  for (int32_t i = ack + 1; i < n; ++i) {
    ConsumedMessage& m = batch[static_cast<size_t>(i)];
    if (!clustering()) {
      Log("broadcast message " + m.msg_id + " of " + m.queue.ToString() +
          " dropped after a failed consumption");
      continue;
    }
    absl::Status s = api_->SendBack(opts_.group, m, ctx.delay_level, max_reconsume_times_);
    if (!s.ok()) s = api_->SendToRetryTopic(opts_.group, m, max_reconsume_times_);
    if (!s.ok()) {
      Log("send-back of " + m.msg_id +
          " failed, consuming again in 5 s: " + std::string(s.message()));
      m.reconsume_times += 1;
      again.push_back(std::move(m));
    }
  }
  int64_t commit = 0;
  {
    std::lock_guard<std::mutex> lock(pq->mu);
    for (int32_t i = 0; i < n; ++i) {
      const int64_t off = batch[static_cast<size_t>(i)].queue_offset;
      const bool kept = std::any_of(again.begin(), again.end(), [off](const ConsumedMessage& m) {
        return m.queue_offset == off;
      });
      if (!kept) pq->inflight.erase(off);
    }
    commit = pq->CommitOffsetLocked();
  }
  if (!pq->dropped) offsets_->Update(pq->mq, commit, /*increase_only=*/true);
  if (!again.empty()) {
    auto shared = std::make_shared<std::vector<ConsumedMessage>>(std::move(again));
    puller_->PostAfter(kLocalRetryDelay,
                       [this, pq, shared] { SubmitConcurrently(pq, std::move(*shared)); });
  }
}

void PushConsumer::Impl::SubmitOrderly(const std::shared_ptr<ProcessQueue>& pq,
                                       milliseconds delay) {
  auto run = [this, pq] {
    if (!pool_->Submit([this, pq] { ConsumeOrderly(pq); })) {
      std::lock_guard<std::mutex> lock(pq->mu);
      pq->orderly_scheduled = false;
    }
  };
  if (delay.count() > 0) {
    // The task stays "scheduled" while it waits, so no second one starts meanwhile.
    puller_->PostAfter(delay, run);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(pq->mu);
    if (pq->orderly_scheduled || pq->msgs.empty()) return;
    pq->orderly_scheduled = true;
  }
  run();
}

bool PushConsumer::Impl::TryLockNow(const std::shared_ptr<ProcessQueue>& pq) {
  absl::StatusOr<std::string> addr = api_->MasterAddr(pq->mq);
  if (!addr.ok()) return false;
  absl::StatusOr<std::set<MessageQueue>> got =
      api_->LockBatch(*addr, opts_.group, client_id_, {pq->mq});
  if (!got.ok() || !got->contains(pq->mq)) return false;
  std::lock_guard<std::mutex> lock(pq->mu);
  pq->locked = true;
  pq->last_lock = Clock::now();
  return true;
}

void PushConsumer::Impl::ConsumeOrderly(const std::shared_ptr<ProcessQueue>& pq) {
  auto unschedule = [&pq] {
    std::lock_guard<std::mutex> lock(pq->mu);
    pq->orderly_scheduled = false;
  };
  if (pq->dropped) return unschedule();
  std::unique_lock<std::timed_mutex> consume(pq->consume_lock);
  const auto begin = Clock::now();
  const size_t batch_max = static_cast<size_t>(opts_.consume_message_batch_max_size);
  while (true) {
    if (pq->dropped) return unschedule();
    if (locks()) {
      bool valid = false;
      {
        std::lock_guard<std::mutex> lock(pq->mu);
        valid = pq->LockValidLocked(Clock::now());
      }
      if (!valid && !TryLockNow(pq)) {
        consume.unlock();
        return SubmitOrderly(pq, kPullDelayNotLocked);
      }
    }
    if (Clock::now() - begin > kMaxConsumeContinuously) {
      consume.unlock();
      return SubmitOrderly(pq, milliseconds(1));  // let other queues have the thread
    }
    std::vector<ConsumedMessage> batch;
    {
      std::lock_guard<std::mutex> lock(pq->mu);
      if (pq->msgs.empty()) {
        pq->orderly_scheduled = false;
        return;
      }
      while (!pq->msgs.empty() && batch.size() < batch_max) {
        auto it = pq->msgs.begin();
        batch.push_back(it->second);
        pq->consuming.insert(pq->msgs.extract(it));
      }
    }
    ConsumeOrderlyContext ctx;
    ctx.queue = pq->mq;
    ConsumeOrderlyStatus status = ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment;
    try {
      status = orderly_(batch, ctx);
    } catch (const std::exception& e) {
      Log("orderly listener of " + opts_.group + " threw: " + e.what());
    } catch (...) {
      Log("orderly listener of " + opts_.group + " threw");
    }
    if (status == ConsumeOrderlyStatus::kSuspendCurrentQueueAMoment) {
      // Once every message of the batch has been retried max_reconsume_times, the batch goes
      // to the DLQ (delay level -1) and counts as consumed; if that fails it is retried.
      bool all_gone = std::all_of(batch.begin(), batch.end(), [this](const ConsumedMessage& m) {
        return m.reconsume_times >= max_reconsume_times_;
      });
      for (size_t i = 0; all_gone && i < batch.size(); ++i) {
        absl::Status s = api_->SendBack(opts_.group, batch[i], -1, max_reconsume_times_);
        if (!s.ok()) {
          Log("orderly message " + batch[i].msg_id +
              " not moved to the DLQ: " + std::string(s.message()));
          all_gone = false;
        }
      }
      if (!all_gone) {
        {
          std::lock_guard<std::mutex> lock(pq->mu);
          while (!pq->consuming.empty()) {
            auto node = pq->consuming.extract(pq->consuming.begin());
            node.mapped().reconsume_times += 1;
            pq->msgs.insert(std::move(node));
          }
        }
        consume.unlock();
        const int64_t suspend =
            ctx.suspend_ms >= 0 ? ctx.suspend_ms : opts_.suspend_current_queue_time_ms;
        return SubmitOrderly(pq, milliseconds(std::max<int64_t>(suspend, 1)));
      }
    }
    int64_t commit = 0;
    {
      std::lock_guard<std::mutex> lock(pq->mu);
      commit = pq->consuming.rbegin()->first + 1;
      pq->consuming.clear();
    }
    // Committed even when the queue is being given up meanwhile: RemoveQueue waits for
    // consume_lock before it persists and forgets the offset, so this commit is not lost.
    offsets_->Update(pq->mq, commit, /*increase_only=*/false);
  }
}

// ---- PushConsumer ----

PushConsumer::PushConsumer(PushConsumerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PushConsumer::~PushConsumer() { Shutdown(); }

absl::Status PushConsumer::Subscribe(const std::string& topic, const std::string& expression) {
  return impl_->Subscribe(topic, expression);
}

void PushConsumer::RegisterMessageListener(ConcurrentListener listener) {
  impl_->concurrent_ = std::move(listener);
}

void PushConsumer::RegisterMessageListener(OrderlyListener listener) {
  impl_->orderly_ = std::move(listener);
}

absl::Status PushConsumer::Start() { return impl_->Start(); }

void PushConsumer::Shutdown() { impl_->Shutdown(); }

std::string PushConsumer::client_id() const { return impl_->client_id_; }

std::vector<MessageQueue> PushConsumer::AssignedQueues() const { return impl_->AssignedQueues(); }

std::map<MessageQueue, int64_t> PushConsumer::CommittedOffsets() const {
  return impl_->CommittedOffsets();
}

}  // namespace rsclient
