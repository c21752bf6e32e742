// Options of an embedded MessageStore. Every bound is a named option with its default next to it;
// the defaults are Apache RocketMQ 4.9.7's (config key names in the comments).
// Thread-safety: plain values, copied into the store at Open.
#ifndef LIBSTORE_OPTIONS_H_
#define LIBSTORE_OPTIONS_H_

#include <cstdint>
#include <string>

namespace libstore {

class Env;

enum class FlushMode {
  kAsync,  // flushDiskType=ASYNC_FLUSH: a put returns once the record is in the mapped file.
  kSync,   // flushDiskType=SYNC_FLUSH: a put returns once an fdatasync covering it completed.
};

struct StoreOptions {
  // storePathRootDir. The CommitLog lives in <root>/commitlog, queues in <root>/consumequeue,
  // the index in <root>/index, plus <root>/checkpoint, <root>/abort and <root>/lock.
  std::string root_dir;
  // Files, clocks and io_uring go through this seam; nullptr = Env::Default().
  Env* env = nullptr;

  // mappedFileSizeCommitLog. Must be a multiple of 4096.
  int64_t commitlog_file_size = 1073741824;
  // mappedFileSizeConsumeQueue / 20: units per ConsumeQueue file.
  int64_t consume_queue_units_per_file = 300000;
  // maxMessageSize: largest body accepted (and largest record, plus headers).
  int32_t max_message_size = 4194304;

  FlushMode flush_mode = FlushMode::kAsync;
  // flushIntervalCommitLog / flushCommitLogLeastPages / flushCommitLogThoroughInterval.
  int32_t flush_interval_ms = 500;
  int32_t flush_least_pages = 4;
  int32_t flush_thorough_interval_ms = 10000;
  // syncFlushTimeout: a sync-flush put not covered by a completed sync within this time
  // completes with PutStatus::kFlushDiskTimeout (the message is stored, durability unconfirmed).
  int32_t sync_flush_timeout_ms = 5000;
  // flushIntervalConsumeQueue: ConsumeQueue/index flush and checkpoint period.
  int32_t flush_consume_queue_interval_ms = 1000;

  // Replication: when true a put also waits until SetReplicaConfirmedOffset covers it
  // (SYNC_MASTER); slaveTimeout bounds the wait, after which it completes with
  // PutStatus::kFlushSlaveTimeout.
  bool wait_for_replica = false;
  int32_t replica_timeout_ms = 3000;

  // messageIndexEnable / maxHashSlotNum / maxIndexNum.
  bool message_index_enable = true;
  int32_t index_hash_slots = 5000000;
  int32_t index_max_entries = 20000000;
  // maxMsgsNumBatch: cap on the results of one key query.
  int32_t max_query_results = 64;

  // messageDelayLevel: delay of each level, used for SCHEDULE_TOPIC_XXXX tag codes
  // (deliver time = store time + delay).
  std::string message_delay_level = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

  // checkCRCOnRecover.
  bool check_crc_on_recover = true;

  // Retention. fileReservedTime (hours), deleteWhen (hours of the day, ';'-separated),
  // diskMaxUsedSpaceRatio (percent), cleanResourceInterval (ms; 0 disables the background
  // cleaner, RunRetention still works), deleteCommitLogFilesInterval is not needed here.
  int32_t file_reserved_hours = 72;
  std::string delete_when = "04";
  int32_t disk_max_used_space_ratio = 75;
  int32_t clean_resource_interval_ms = 10000;
  // Above this disk usage (percent) puts are refused (RocketMQ's diskSpaceWarningLevelRatio).
  int32_t disk_full_ratio = 90;

  // How far ahead of the write position the preparer keeps CommitLog pages writable (bytes),
  // and whether it creates the next file before the current one is full.
  int64_t prefault_ahead_bytes = 64 << 20;
  bool preallocate_next_file = true;

  // Store host written into every record and used for offsetMsgId ("ip:port", IPv4 or IPv6).
  std::string store_host = "127.0.0.1:10911";
};

}  // namespace libstore

#endif  // LIBSTORE_OPTIONS_H_
