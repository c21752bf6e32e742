// Durable whole-file reads and writes for the daemons' small state files (topics.json,
// subscriptionGroup.json, consumerOffset.json, the name server's kvConfig.json): read with a
// size limit, write through a temporary that is fsynced and renamed, keep the previous version
// as "<path>.bak" (RocketMQ's MixAll.string2File, made durable).
// Thread-safety: stateless functions; callers serialize writers of one path.
#ifndef BROKERD_CONFIG_DURABLE_FILE_H_
#define BROKERD_CONFIG_DURABLE_FILE_H_

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace brokerd::config {

// The file's bytes. NotFound when it does not exist, DataLoss when it is larger than max_bytes,
// Internal on an I/O error (the errno text in the message). Messages name the path.
absl::StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

// Creates or truncates path, writes text, fsyncs and closes it.
absl::Status WriteFileSynced(const std::string& path, std::string_view text);

// Writes text to path durably: path.tmp (fsynced); the current path, when present and at most
// max_backup_bytes, copied to path.bak through path.bak.tmp; path.tmp renamed over path; the
// directory (created when missing) fsynced. A current file that cannot be read for another
// reason is an error: what could not be backed up is not replaced. On error path is unchanged
// and the temporaries are removed.
absl::Status PersistDurably(const std::string& path, std::string_view text,
                            size_t max_backup_bytes = std::numeric_limits<size_t>::max());

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_DURABLE_FILE_H_
