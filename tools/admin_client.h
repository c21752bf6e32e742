// The network side of rs_admin: one RemotingClient and the requests the admin verbs send to the
// name servers and brokers (docs/format/protocol.md), each returning a typed answer or a Status
// whose message says which server answered what. An unexpected answer code is an error:
// Unimplemented for REQUEST_CODE_NOT_SUPPORTED (3), NotFound where noted, Internal otherwise;
// transport failures keep the RemotingClient's code (Unavailable, DeadlineExceeded).
// Thread-safety: one AdminClient per thread (the verbs run on the main thread).
#ifndef TOOLS_ADMIN_CLIENT_H_
#define TOOLS_ADMIN_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/message_codec.h"
#include "client/remoting_client.h"
#include "client/route.h"

namespace rsadmin {

using brokerd::remoting::RemotingCommand;

// GET_BROKER_CLUSTER_INFO (106).
struct ClusterInfo {
  std::map<std::string, rsclient::BrokerData> brokers;       // broker name -> data
  std::map<std::string, std::vector<std::string>> clusters;  // cluster -> broker names
  // Master addresses of the brokers of `cluster` (NotFound when the cluster is unknown).
  absl::StatusOr<std::vector<std::string>> MasterAddrs(const std::string& cluster) const;
  // The broker name of addr, or "".
  std::string BrokerNameOf(const std::string& addr) const;
};

// One stored record, decoded, with what the record layout holds beyond ReceivedMessage.
struct MessageView {
  rsclient::ReceivedMessage msg;
  std::string broker_name;  // where it was read (when known)
  std::string born_host;    // "ip:port"
  std::string store_host;
  std::string offset_msg_id;
  std::string msg_id;  // UNIQ_KEY, else the offsetMsgId
  std::string body;    // inflated when the record is compressed
  std::map<std::string, std::string> properties;
};

// Splits back-to-back records (PULL / QUERY_MESSAGE / VIEW_MESSAGE_BY_ID bodies) and decodes
// each with rsclient::DecodeMessages.
absl::StatusOr<std::vector<MessageView>> DecodeRecords(std::string_view bytes);

// PULL_MESSAGE answer.
struct PullResult {
  int32_t code = 0;    // 0 FOUND, 19 no new message, 20 retry, 21 offset moved
  std::string status;  // the remark: the store's status name
  int64_t next_begin_offset = 0;
  int64_t min_offset = 0;
  int64_t max_offset = 0;
  std::vector<MessageView> messages;
};

// SEND_MESSAGE_V2 answer.
struct SendResult {
  int32_t code = 0;  // 0, 10 FLUSH_DISK_TIMEOUT, 11 SLAVE_NOT_AVAILABLE, 12 FLUSH_SLAVE_TIMEOUT
  std::string send_status;  // SEND_OK, FLUSH_DISK_TIMEOUT, ...
  std::string broker_name;
  std::string broker_addr;
  int32_t queue_id = 0;
  int64_t queue_offset = 0;
  std::string offset_msg_id;
  std::string msg_id;  // UNIQ_KEY
};

class AdminClient {
 public:
  AdminClient(std::vector<std::string> namesrv_addrs, std::chrono::milliseconds timeout);

  const std::vector<std::string>& namesrv_addrs() const { return namesrv_.addrs(); }

  // Name server requests (the first name server that answers).
  absl::StatusOr<ClusterInfo> GetClusterInfo();
  absl::StatusOr<std::vector<std::string>> GetAllTopics();
  absl::StatusOr<std::vector<std::string>> GetTopicsByCluster(const std::string& cluster);
  // NotFound when the topic has no route. `raw` (optional) gets the name server's JSON.
  absl::StatusOr<rsclient::TopicRoute> GetRoute(const std::string& topic,
                                                std::string* raw = nullptr);
  // DELETE_TOPIC_IN_NAMESRV (216) on one name server.
  absl::Status DeleteTopicInNamesrv(const std::string& namesrv_addr, const std::string& topic);
  // PUT_KV_CONFIG (100) on every name server.
  absl::Status PutKvConfig(const std::string& ns, const std::string& key, const std::string& value);

  // Broker requests.
  absl::Status CreateTopic(const std::string& addr, const std::string& topic, int32_t read_queues,
                           int32_t write_queues, int32_t perm, bool order);
  // DELETE_TOPIC_IN_BROKER (215). Unimplemented when the broker does not serve it.
  absl::Status DeleteTopicInBroker(const std::string& addr, const std::string& topic);
  absl::StatusOr<std::map<std::string, std::string>> GetRuntimeInfo(const std::string& addr);
  absl::StatusOr<int64_t> GetMaxOffset(const std::string& addr, const std::string& topic,
                                       int32_t queue_id);
  absl::StatusOr<int64_t> GetMinOffset(const std::string& addr, const std::string& topic,
                                       int32_t queue_id);
  absl::StatusOr<int64_t> GetEarliestStoreTime(const std::string& addr, const std::string& topic,
                                               int32_t queue_id);
  absl::StatusOr<int64_t> SearchOffset(const std::string& addr, const std::string& topic,
                                       int32_t queue_id, int64_t timestamp_ms);
  // nullopt when the group has no committed offset for the queue (22).
  absl::StatusOr<std::optional<int64_t>> QueryConsumerOffset(const std::string& addr,
                                                             const std::string& group,
                                                             const std::string& topic,
                                                             int32_t queue_id);
  absl::Status UpdateConsumerOffset(const std::string& addr, const std::string& group,
                                    const std::string& topic, int32_t queue_id, int64_t offset);
  // Client ids of the group's consumers connected to the broker (empty when none).
  absl::StatusOr<std::vector<std::string>> GetConsumerList(const std::string& addr,
                                                           const std::string& group);
  // One non-suspending pull of everything (subscription "*"), committing nothing.
  absl::StatusOr<PullResult> Pull(const std::string& addr, const std::string& group,
                                  const std::string& topic, int32_t queue_id, int64_t offset,
                                  int32_t max_messages);
  // VIEW_MESSAGE_BY_ID (33).
  absl::StatusOr<MessageView> ViewMessage(const std::string& addr, int64_t commit_log_offset);
  // QUERY_MESSAGE (12); an empty result for 22.
  absl::StatusOr<std::vector<MessageView>> QueryMessage(const std::string& addr,
                                                        const std::string& topic,
                                                        const std::string& key, int32_t max_num,
                                                        int64_t begin_ms, int64_t end_ms,
                                                        bool unique_key);
  // SEND_MESSAGE_V2 (310) of one message to one queue. `default_topic_queues` is sent as the
  // defaultTopicQueueNums of an auto-created topic.
  absl::StatusOr<SendResult> Send(const std::string& addr, const std::string& broker_name,
                                  const std::string& topic, int32_t queue_id,
                                  const std::string& body, const std::string& tags,
                                  const std::string& keys, int32_t default_topic_queues);

 private:
  // Sends to a broker; a transport failure names the address.
  absl::StatusOr<RemotingCommand> Call(const std::string& addr, RemotingCommand request);
  absl::StatusOr<RemotingCommand> CallNamesrv(RemotingCommand request);

  rsclient::RemotingClient client_;
  rsclient::NameServers namesrv_;
  const std::chrono::milliseconds timeout_;
};

// "code NAME: remark" for an unexpected answer.
std::string DescribeAnswer(const RemotingCommand& response);

// A UNIQ_KEY in the Java client's form: 32 hex digits (address, process, start and a counter).
std::string NewUniqueKey();

}  // namespace rsadmin

#endif  // TOOLS_ADMIN_CLIENT_H_
