// TransactionService: RocketMQ 4.x transactional messages (half message + op message design).
//
//  * A send whose properties carry TRAN_MSG=true is stored as a half message (ToHalf): topic
//    RMQ_SYS_TRANS_HALF_TOPIC, queue 0, REAL_TOPIC / REAL_QID = where it was sent, transaction
//    bits of sysFlag cleared.
//  * END_TRANSACTION (37) with COMMIT (8) stores the message under its real topic and queue
//    (properties as stored, sysFlag transaction bits = COMMIT, preparedTransactionOffset = the
//    half record's CommitLog offset, as the 4.9.7 broker writes it) and then an op message; with
//    ROLLBACK (12) only the op message. The op message goes to RMQ_SYS_TRANS_OP_HALF_TOPIC queue
//    0 with tag "d" and the half queue offset in decimal as body. UNKNOWN (0) changes nothing.
//    The half record must be in the half topic and match producerGroup, tranStateTableOffset
//    and commitLogOffset.
//  * Every transactionCheckInterval the service walks the half queue from the consume offset of
//    group CID_RMQ_SYS_TRANS: a half message without an op message and older than
//    transactionTimeOut is appended again as a fresh copy with TRANSACTION_CHECK_TIMES + 1 and
//    the producer group (PGROUP) is asked with a oneway CHECK_TRANSACTION_STATE (39) about the
//    copy; after transactionCheckMax checks the message is moved to TRANS_CHECK_MAX_TIME_TOPIC.
//    The half and op consume offsets are kept in the consumer offset table (persisted with
//    consumerOffset.json), so a restart resumes the walk.
//
// Thread-safety: ToHalf is a pure function. End and CheckNow may be called from any thread;
// End's work and the periodic checks run on the service's thread, one at a time.
#ifndef BROKERD_BROKER_TRANSACTION_SERVICE_H_
#define BROKERD_BROKER_TRANSACTION_SERVICE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "broker/consumer_offsets.h"
#include "libstore/message.h"
#include "libstore/message_store.h"
#include "net/server.h"
#include "remoting/command.h"

namespace brokerd::broker {

inline constexpr std::string_view kTransHalfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
inline constexpr std::string_view kTransOpHalfTopic = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
inline constexpr std::string_view kTransCheckMaxTimeTopic = "TRANS_CHECK_MAX_TIME_TOPIC";
inline constexpr std::string_view kSysTransGroup = "CID_RMQ_SYS_TRANS";
inline constexpr std::string_view kPropertyTransactionPrepared = "TRAN_MSG";
inline constexpr std::string_view kPropertyProducerGroup = "PGROUP";
inline constexpr std::string_view kPropertyCheckTimes = "TRANSACTION_CHECK_TIMES";
inline constexpr std::string_view kOpTag = "d";

struct TransactionOptions {
  int64_t timeout_ms = 6000;          // transactionTimeOut
  int32_t check_max = 15;             // transactionCheckMax
  int64_t check_interval_ms = 60000;  // transactionCheckInterval
  libstore::HostAddress broker_host;  // born host of op messages
  // Half messages looked at per check round at most (bounds one round's work).
  int32_t max_checks_per_round = 10000;
};

// An END_TRANSACTION request, decoded.
struct EndTransactionRequest {
  std::string producer_group;
  int64_t tran_state_table_offset = 0;
  int64_t commit_log_offset = 0;
  int32_t commit_or_rollback = 0;  // 0 unknown, 8 commit, 12 rollback
  bool from_transaction_check = false;
};

class TransactionService {
 public:
  // A live connection of a producer of `group`, or null.
  using ProducerLookup = std::function<std::shared_ptr<net::Connection>(const std::string& group)>;
  // Called after messages became visible in a topic (the broker wakes held pulls).
  using OnStored = std::function<void()>;

  TransactionService(libstore::MessageStore* store, ConsumerOffsetTable* offsets,
                     TransactionOptions options, ProducerLookup producers, OnStored on_stored);
  ~TransactionService();
  TransactionService(const TransactionService&) = delete;
  TransactionService& operator=(const TransactionService&) = delete;

  // Turns a prepared message into the half message to store.
  static void ToHalf(libstore::MessageToStore& msg);

  void Start();
  void Stop();  // idempotent; pending End requests are finished first

  // Queues an END_TRANSACTION; `reply` (may be empty) runs on the service thread with the
  // response code and remark once it is processed.
  void End(EndTransactionRequest request,
           std::function<void(int32_t code, std::string remark)> reply);
  // Runs a check round soon (tests and operators).
  void CheckNow();

 private:
  void Loop();
  void DoEnd(const EndTransactionRequest& request,
             const std::function<void(int32_t, std::string)>& reply);
  absl::Status PutOp(int64_t half_queue_offset);
  void CheckRound();

  libstore::MessageStore* const store_;
  ConsumerOffsetTable* const offsets_;
  const TransactionOptions options_;
  const ProducerLookup producers_;
  const OnStored on_stored_;

  std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  struct Job {
    EndTransactionRequest request;
    std::function<void(int32_t, std::string)> reply;
  };
  std::deque<Job> jobs_;
  bool check_requested_ = false;
  bool stop_ = false;
  bool started_ = false;
  int32_t check_opaque_ = 1;
  std::thread thread_;
};

// record with its topic and queue id replaced (TOTALSIZE, QUEUEID, TOPIC fields rewritten; the
// body CRC is unchanged): the body of CHECK_TRANSACTION_STATE.
std::string RewriteRecordTopic(const libstore::StoredMessage& m, std::string_view topic,
                               int32_t queue_id);

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_TRANSACTION_SERVICE_H_
