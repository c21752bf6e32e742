// RocketMQ's IndexFile: a 40-byte header, a table of hash slots and chained 20-byte entries,
// mapping "topic#key" to physical offsets (docs/format/indexfile.md), and the IndexService that
// keeps the list of index files, builds them from dispatched messages and answers key queries.
//
// Thread-safety: IndexService serialises writers (the dispatcher) against readers with a
// reader/writer mutex; IndexFile itself is not thread-safe.
// Invariant: header.index_count is the number of the next entry to write (>= 1); every slot
// holds 0 or an entry number below index_count.
#ifndef LIBSTORE_INDEX_INDEX_FILE_H_
#define LIBSTORE_INDEX_INDEX_FILE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libstore/env.h"

namespace libstore::internal {

inline constexpr int64_t kIndexHeaderSize = 40;
inline constexpr int64_t kIndexSlotSize = 4;
inline constexpr int64_t kIndexEntrySize = 20;

struct IndexHeader {
  int64_t begin_timestamp = 0;
  int64_t end_timestamp = 0;
  int64_t begin_phy_offset = 0;
  int64_t end_phy_offset = 0;
  int32_t hash_slot_count = 0;
  int32_t index_count = 1;
};

class IndexFile {
 public:
  static int64_t FileSize(int32_t slots, int32_t max_entries) {
    return kIndexHeaderSize + int64_t{slots} * kIndexSlotSize +
           int64_t{max_entries} * kIndexEntrySize;
  }
  static absl::StatusOr<std::unique_ptr<IndexFile>> Create(Env* env, const std::string& path,
                                                           int32_t slots, int32_t max_entries,
                                                           int64_t begin_phy, int64_t begin_ts);
  // Opens an existing file; DataLoss when its size or header is impossible.
  static absl::StatusOr<std::unique_ptr<IndexFile>> Open(Env* env, const std::string& path,
                                                         int32_t slots, int32_t max_entries);

  const std::string& path() const { return file_->path(); }
  IndexHeader header() const;
  bool full() const { return header().index_count >= max_entries_; }
  // Adds an entry for `key` ("topic#key"); false when the file is full.
  bool Put(std::string_view key, int64_t phy_offset, int64_t store_timestamp_ms);
  // Appends to `out` the physical offsets of entries whose hash matches `key` and whose time
  // lies in [begin_ms, end_ms], newest first, until `out` holds max_num.
  void Select(std::string_view key, size_t max_num, int64_t begin_ms, int64_t end_ms,
              std::vector<int64_t>* out) const;
  absl::Status Flush();

 private:
  IndexFile(std::unique_ptr<File> f, MappedRegion r, int32_t slots, int32_t max_entries)
      : file_(std::move(f)), region_(std::move(r)), slots_(slots), max_entries_(max_entries) {}
  void WriteHeader(const IndexHeader& h);

  std::unique_ptr<File> file_;
  MappedRegion region_;
  const int32_t slots_;
  const int32_t max_entries_;
};

class IndexService {
 public:
  IndexService(Env* env, std::string dir, int32_t slots, int32_t max_entries)
      : env_(env), dir_(std::move(dir)), slots_(slots), max_entries_(max_entries) {}

  // Loads every index file; with `drop_after_ts` >= 0, files whose end timestamp is later are
  // deleted (abnormal recovery, as RocketMQ). Files whose end offset is beyond `commitlog_end`
  // are deleted too (their entries would point at cut data). Returns the smallest begin offset
  // of the files deleted (or INT64_MAX).
  absl::StatusOr<int64_t> Load(int64_t drop_after_ts, int64_t commitlog_end);
  // End offset of what is indexed (the last file's end offset; 0 when there is none).
  int64_t IndexedEnd() const;
  // Indexes one dispatched message under UNIQ_KEY and each KEYS token.
  absl::Status BuildIndex(std::string_view topic, std::string_view uniq_key, std::string_view keys,
                          int64_t phy_offset, int32_t size, int64_t store_timestamp_ms);
  std::vector<int64_t> Query(std::string_view topic, std::string_view key, size_t max_num,
                             int64_t begin_ms, int64_t end_ms) const;
  // Syncs the files that may have changed; returns the end timestamp of the newest full file
  // (RocketMQ's checkpoint indexMsgTimestamp), 0 when no file is full yet.
  absl::StatusOr<int64_t> Flush();
  // Deletes files whose end offset is below the CommitLog minimum (never the last).
  absl::StatusOr<int> DeleteExpired(int64_t commitlog_min);

 private:
  absl::StatusOr<IndexFile*> Writable(int64_t phy_offset, int64_t store_ts);

  Env* const env_;
  const std::string dir_;
  const int32_t slots_;
  const int32_t max_entries_;
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<IndexFile>> files_;
  std::string last_name_;
};

}  // namespace libstore::internal

#endif  // LIBSTORE_INDEX_INDEX_FILE_H_
