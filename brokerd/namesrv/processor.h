// NamesrvProcessor: answers the name server's requests (RocketMQ 4.9.7 DefaultRequestProcessor
// subset): PUT_KV_CONFIG (100), GET_KV_CONFIG (101), DELETE_KV_CONFIG (102), REGISTER_BROKER
// (103), UNREGISTER_BROKER (104), GET_ROUTEINFO_BY_TOPIC (105), GET_BROKER_CLUSTER_INFO (106),
// WIPE_WRITE_PERM_OF_BROKER (205), GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206),
// DELETE_TOPIC_IN_NAMESRV (216), GET_KVLIST_BY_NAMESPACE (219), GET_TOPICS_BY_CLUSTER (224),
// GET_SYSTEM_TOPIC_LIST_FROM_NS (304). Any other code gets REQUEST_CODE_NOT_SUPPORTED (3) with
// remark " request type <code> not supported" (the Java name server's default processor would
// stay silent; answering is what remoting-protocol 1.5 prescribes for servers). A missing
// required header field is SYSTEM_ERROR (1) naming the field. Responses carry the request's
// serialize type; the caller drops the response of a oneway request.
// KV writes (100, 102) are persisted before they are answered; a failed write is SYSTEM_ERROR
// with the reason and changes nothing (Java logs it and answers SUCCESS).
// Thread-safety: Process is thread-safe (state lives in the thread-safe RouteInfoManager and
// KvConfigManager).
#ifndef BROKERD_NAMESRV_PROCESSOR_H_
#define BROKERD_NAMESRV_PROCESSOR_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "namesrv/kv_config_manager.h"
#include "namesrv/route_info_manager.h"
#include "remoting/command.h"

namespace brokerd::namesrv {

// Largest inflated REGISTER_BROKER body accepted (compressed=true bodies). Default 64 MiB.
inline constexpr size_t kDefaultMaxInflatedRegisterBodyBytes = 64u << 20;

// Parses a REGISTER_BROKER body: RegisterBrokerBody JSON, or (compressed) the zlib stream of
// RegisterBrokerBody.encode(true). InvalidArgument on malformed input.
absl::StatusOr<RegisterBrokerBody> ParseRegisterBrokerBody(
    std::string_view body, bool compressed,
    size_t max_inflated_bytes = kDefaultMaxInflatedRegisterBodyBytes);

// The remark of TOPIC_NOT_EXIST for topic (as the Java name server writes it).
std::string TopicNotExistRemark(std::string_view topic);

struct NamesrvProcessorOptions {
  // NamesrvConfig.orderMessageEnable: GET_ROUTEINFO_BY_TOPIC adds "orderTopicConf" from KV
  // namespace ORDER_TOPIC_CONFIG, key = topic (omitted when there is no such key).
  bool order_message_enable = false;
};

class NamesrvProcessor {
 public:
  // routes and kv must outlive the processor.
  NamesrvProcessor(RouteInfoManager* routes, KvConfigManager* kv,
                   NamesrvProcessorOptions options = {})
      : routes_(routes), kv_(kv), options_(options) {}
  // The response to request, received over connection connection_id.
  remoting::RemotingCommand Process(const remoting::RemotingCommand& request,
                                    uint64_t connection_id);

 private:
  remoting::RemotingCommand RegisterBroker(const remoting::RemotingCommand& request,
                                           uint64_t connection_id);
  remoting::RemotingCommand UnregisterBroker(const remoting::RemotingCommand& request);
  remoting::RemotingCommand GetRouteInfo(const remoting::RemotingCommand& request);
  remoting::RemotingCommand PutKvConfig(const remoting::RemotingCommand& request);
  remoting::RemotingCommand GetKvConfig(const remoting::RemotingCommand& request);
  remoting::RemotingCommand DeleteKvConfig(const remoting::RemotingCommand& request);
  remoting::RemotingCommand GetKvListByNamespace(const remoting::RemotingCommand& request);
  remoting::RemotingCommand GetTopicsByCluster(const remoting::RemotingCommand& request);
  remoting::RemotingCommand DeleteTopicInNamesrv(const remoting::RemotingCommand& request);
  remoting::RemotingCommand WipeWritePermOfBroker(const remoting::RemotingCommand& request);

  RouteInfoManager* routes_;
  KvConfigManager* kv_;
  const NamesrvProcessorOptions options_;
};

}  // namespace brokerd::namesrv

#endif  // BROKERD_NAMESRV_PROCESSOR_H_
