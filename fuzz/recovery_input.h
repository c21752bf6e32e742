// The input format of fuzz_recovery and the store options it runs with, shared with the seed
// generator (make_seeds.cc) so that both agree byte for byte.
//
//   byte 0: flags (kFlag*)
//   [24 bytes checkpoint]                   if kFlagCheckpoint
//   [u16 length + ConsumeQueue image]       if kFlagCq (TopicA-0; 64 units = 1280 bytes per
//                                           file, at most 4 files, the last one zero-padded)
//   [u16 split]                             if kFlagTwoFiles
//   CommitLog bytes: file 0 (the first `split` bytes with kFlagTwoFiles, else all), then
//   file 1; each zero-padded to 64 KiB. No CommitLog bytes and no kFlagTwoFiles: no file.
// Thread-safety: plain functions.
#ifndef LIBSTORE_FUZZ_RECOVERY_INPUT_H_
#define LIBSTORE_FUZZ_RECOVERY_INPUT_H_

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>

#include "consumequeue/consume_queue.h"
#include "fuzz_util.h"
#include "libstore/options.h"

namespace libstore::fuzz {

inline constexpr int64_t kRecoveryLogFileSize = 65536;
inline constexpr int64_t kRecoveryUnitsPerFile = 64;
inline constexpr int64_t kRecoveryCqFileSize = kRecoveryUnitsPerFile * internal::kCqUnitSize;
inline constexpr int64_t kRecoveryMaxCqFiles = 4;
inline constexpr char kRecoveryCqTopic[] = "TopicA";

inline constexpr uint8_t kFlagAbort = 0x01;       // the abort marker exists
inline constexpr uint8_t kFlagCheckpoint = 0x02;  // a checkpoint follows
inline constexpr uint8_t kFlagCq = 0x04;          // a ConsumeQueue image for TopicA-0 follows
inline constexpr uint8_t kFlagCheckCrc = 0x08;    // check_crc_on_recover
inline constexpr uint8_t kFlagIndex = 0x10;       // message_index_enable
inline constexpr uint8_t kFlagTwoFiles = 0x20;    // the CommitLog has two files

struct RecoveryInput {
  uint8_t flags = 0;
  std::string checkpoint;  // 24 bytes (shorter: zero-padded)
  std::string cq_image;
  std::string file0, file1;  // CommitLog file prefixes
  bool has_log = false;      // at least one CommitLog file exists

  static RecoveryInput Parse(const uint8_t* data, size_t size) {
    InputReader in(data, size);
    RecoveryInput r;
    r.flags = in.U8();
    if (r.flags & kFlagCheckpoint) r.checkpoint = std::string(in.Take(24));
    if (r.flags & kFlagCq) {
      const size_t n = in.U16();
      r.cq_image =
          std::string(in.Take(std::min<size_t>(n, kRecoveryMaxCqFiles * kRecoveryCqFileSize)));
    }
    const bool two = (r.flags & kFlagTwoFiles) != 0;
    const size_t split = two ? in.U16() : SIZE_MAX;
    const std::string_view log = in.Rest();
    r.file0 = std::string(log.substr(0, std::min(split, log.size())));
    r.file1 = std::string(log.substr(r.file0.size()));
    r.has_log = two || !log.empty();
    return r;
  }

  // The inverse of Parse (file1 only with kFlagTwoFiles; the image is cut to 4 files).
  std::string Encode() const {
    std::string out(1, static_cast<char>(flags));
    if (flags & kFlagCheckpoint) {
      std::string cp = checkpoint;
      cp.resize(24, '\0');
      out += cp;
    }
    if (flags & kFlagCq) {
      const size_t n = std::min<size_t>(cq_image.size(), kRecoveryMaxCqFiles * kRecoveryCqFileSize);
      out.push_back(static_cast<char>(n >> 8));
      out.push_back(static_cast<char>(n & 0xFF));
      out.append(cq_image, 0, n);
    }
    if (flags & kFlagTwoFiles) {
      out.push_back(static_cast<char>(file0.size() >> 8));
      out.push_back(static_cast<char>(file0.size() & 0xFF));
      out += file0;
      out += file1;
    } else {
      out += file0;
    }
    return out;
  }
};

// The options fuzz_recovery opens stores with: small files, no background preallocation,
// prefaulting or retention, so that one run takes milliseconds.
inline StoreOptions RecoveryOptions(const std::string& root, Env* env, uint8_t flags) {
  StoreOptions o;
  o.root_dir = root;
  o.env = env;
  o.commitlog_file_size = kRecoveryLogFileSize;
  o.consume_queue_units_per_file = kRecoveryUnitsPerFile;
  o.max_message_size = 16384;
  o.flush_interval_ms = 50;
  o.flush_consume_queue_interval_ms = 200;
  o.message_index_enable = (flags & kFlagIndex) != 0;
  o.index_hash_slots = 64;
  o.index_max_entries = 4096;
  o.check_crc_on_recover = (flags & kFlagCheckCrc) != 0;
  o.clean_resource_interval_ms = 0;
  o.prefault_ahead_bytes = 0;
  o.preallocate_next_file = false;
  return o;
}

}  // namespace libstore::fuzz

#endif  // LIBSTORE_FUZZ_RECOVERY_INPUT_H_
