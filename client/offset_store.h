// Where a push consumer keeps how far it has consumed each queue: the committed offset, the
// next offset to consume (not the last consumed one). Clustering keeps it on the brokers
// (RemoteBrokerOffsetStore: QUERY_CONSUMER_OFFSET 14 / UPDATE_CONSUMER_OFFSET 15), broadcasting
// in a local file of this client (LocalFileOffsetStore), as the Java client does. Both hold the
// offsets in memory, updated after every consumption; Persist writes them out (every 5 s, when
// a queue is given up, and at shutdown).
// Thread-safety: every method may be called from any thread (one mutex per store). Remote
// calls block: not on RemotingClient's I/O thread.
#ifndef CLIENT_OFFSET_STORE_H_
#define CLIENT_OFFSET_STORE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/consumer_common.h"
#include "client/route.h"

namespace rsclient {

class OffsetStore {
 public:
  virtual ~OffsetStore() = default;
  // Reads what was persisted before (the local file); nothing for the remote store.
  virtual absl::Status Load() = 0;
  // Sets the in-memory offset of mq; with increase_only a smaller value is ignored.
  void Update(const MessageQueue& mq, int64_t offset, bool increase_only);
  // The in-memory offset of mq.
  std::optional<int64_t> ReadFromMemory(const MessageQueue& mq);
  // The persisted offset of mq: nullopt when there is none; an error when it cannot be read
  // (the broker did not answer).
  virtual absl::StatusOr<std::optional<int64_t>> ReadFromStore(const MessageQueue& mq) = 0;
  // Writes the in-memory offset of mq out (synchronously).
  virtual absl::Status Persist(const MessageQueue& mq) = 0;
  // Writes the in-memory offsets of mqs out (the remote store sends them oneway).
  virtual absl::Status PersistAll(const std::vector<MessageQueue>& mqs) = 0;
  // Forgets the in-memory offset of mq (after the queue was given up and persisted).
  void Remove(const MessageQueue& mq);
  // Every in-memory offset.
  std::map<MessageQueue, int64_t> Snapshot();

 protected:
  std::mutex mu_;
  std::map<MessageQueue, int64_t> table_;  // in memory
};

// Offsets on the brokers, per consumer group.
class RemoteBrokerOffsetStore : public OffsetStore {
 public:
  // zero_if_not_found: see BrokerApi::QueryConsumerOffset.
  RemoteBrokerOffsetStore(BrokerApi* api, std::string group, bool zero_if_not_found = true)
      : api_(api), group_(std::move(group)), zero_if_not_found_(zero_if_not_found) {}
  absl::Status Load() override { return absl::OkStatus(); }
  absl::StatusOr<std::optional<int64_t>> ReadFromStore(const MessageQueue& mq) override;
  absl::Status Persist(const MessageQueue& mq) override;
  absl::Status PersistAll(const std::vector<MessageQueue>& mqs) override;

 private:
  BrokerApi* const api_;
  const std::string group_;
  const bool zero_if_not_found_;
};

// Offsets in <dir>/<client_key>/<group>/offsets.json (Java: ~/.rocketmq_offsets/<clientId>/
// <group>/offsets.json). The file is JSON {"offsetTable":[{"brokerName":..,"queueId":..,
// "topic":..,"offset":N},...]} (Java writes fastjson with object keys, which is not JSON). It is
// replaced atomically (temporary file, fsync, rename), the previous version kept as
// offsets.json.bak and read when offsets.json is missing or unreadable.
class LocalFileOffsetStore : public OffsetStore {
 public:
  LocalFileOffsetStore(std::filesystem::path dir, const std::string& client_key,
                       const std::string& group);
  // $HOME/.rocketmq_offsets (/tmp/.rocketmq_offsets without HOME).
  static std::filesystem::path DefaultDir();
  absl::Status Load() override;
  absl::StatusOr<std::optional<int64_t>> ReadFromStore(const MessageQueue& mq) override;
  absl::Status Persist(const MessageQueue& mq) override;
  absl::Status PersistAll(const std::vector<MessageQueue>& mqs) override;
  const std::filesystem::path& path() const { return path_; }

 private:
  absl::Status WriteFile();  // writes stored_ (file_mu_ held)

  const std::filesystem::path path_;
  std::mutex file_mu_;                      // serializes file writes; taken before mu_
  std::map<MessageQueue, int64_t> stored_;  // what the file holds (guarded by file_mu_)
};

}  // namespace rsclient

#endif  // CLIENT_OFFSET_STORE_H_
