// ScheduleService: delayed delivery through SCHEDULE_TOPIC_XXXX (RocketMQ's
// ScheduleMessageService). A message whose DELAY property names level L (1..18 by default) is
// stored in queue L-1 of SCHEDULE_TOPIC_XXXX with REAL_TOPIC / REAL_QID (Divert); the service
// reads each level's queue in order and, once storeTimestamp + delay(L) has passed, stores the
// message again under its real topic and queue with the same properties, body, flags, born time
// and host and reconsume count (as the 4.9.7 broker does; a delivered record keeps its DELAY,
// REAL_TOPIC and REAL_QID properties). Progress per level is persisted as RocketMQ's
// config/delayOffset.json ({"offsetTable":{<level>:<next queue offset>}}) every
// kPersistIntervalMs and on Stop, so a restart re-delivers at most what was delivered after the
// last persist (at-least-once, like RocketMQ).
//
// Thread-safety: Divert, max_level and delay_ms are const and thread-safe; Load/Start/Stop are
// for the owner; one internal thread delivers; Persist and NextOffsets may be called from any
// thread.
#ifndef BROKERD_BROKER_SCHEDULE_SERVICE_H_
#define BROKERD_BROKER_SCHEDULE_SERVICE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker/topic_config_manager.h"
#include "libstore/message.h"
#include "libstore/message_store.h"

namespace brokerd::broker {

// Parses messageDelayLevel ("1s 5s 10s 30s 1m ... 2h"; units s, m, h, d) into milliseconds per
// level (index 0 = level 1). InvalidArgument naming the bad item.
absl::StatusOr<std::vector<int64_t>> ParseDelayLevels(std::string_view spec);

// props as the 4.9.7 broker stores them: name\x01value pairs joined by \x02, no trailing
// separator.
std::string EncodeStoredProperties(const libstore::Properties& props);

// A non-negative decimal of at most 18 digits that is <= max (the number fields of message
// properties: DELAY, REAL_QID, TRANSACTION_CHECK_TIMES, op message bodies); nullopt otherwise.
std::optional<int64_t> ParseDecimal(std::string_view s, int64_t max);

// The DELAY level of encoded properties: 0 when absent, not a number or not positive.
int32_t DelayLevelOf(std::string_view encoded_properties);

class ScheduleService {
 public:
  static constexpr int64_t kPollIntervalMs = 100;
  static constexpr int64_t kPersistIntervalMs = 10000;
  // Messages delivered per level per pass at most.
  static constexpr int32_t kBatch = 32;

  // store outlives the service. on_delivered runs on the service thread after a pass that
  // delivered something (the broker wakes held pulls there).
  ScheduleService(libstore::MessageStore* store, std::vector<int64_t> delays_ms,
                  std::string offsets_path, std::function<void()> on_delivered);
  ~ScheduleService();
  ScheduleService(const ScheduleService&) = delete;
  ScheduleService& operator=(const ScheduleService&) = delete;

  // Reads delayOffset.json (missing = start every level at its queue's minimum offset).
  absl::Status Load();
  void Start();
  // Stops the thread and persists the offsets. Idempotent.
  absl::Status Stop();
  absl::Status Persist();

  int32_t max_level() const { return static_cast<int32_t>(delays_ms_.size()); }
  int64_t delay_ms(int32_t level) const { return delays_ms_[static_cast<size_t>(level - 1)]; }
  // Moves msg into the schedule topic for `level` (clamped to 1..max_level): DELAY set to the
  // clamped level, REAL_TOPIC / REAL_QID added, topic and queue replaced.
  void Divert(libstore::MessageToStore& msg, int32_t level) const;
  // level -> next queue offset to deliver.
  std::map<int32_t, int64_t> NextOffsets() const;

 private:
  void Loop();
  // Delivers the due messages of one level; returns how many were delivered.
  int DeliverDue(int32_t level, int64_t now_ms);
  std::string ToJson() const;

  libstore::MessageStore* const store_;
  const std::vector<int64_t> delays_ms_;
  const std::string offsets_path_;
  const std::function<void()> on_delivered_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::map<int32_t, int64_t> next_;  // level -> next queue offset
  bool stop_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_SCHEDULE_SERVICE_H_
