// NamesrvProcessor: answers the name server's requests (RocketMQ 4.9.7 DefaultRequestProcessor
// subset): REGISTER_BROKER (103), UNREGISTER_BROKER (104), GET_ROUTEINFO_BY_TOPIC (105),
// GET_BROKER_CLUSTER_INFO (106), GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206). Any other code gets
// REQUEST_CODE_NOT_SUPPORTED (3) with remark " request type <code> not supported" (the Java
// name server's default processor would stay silent; answering is what remoting-protocol 1.5
// prescribes for servers). Responses carry the request's serialize type; the caller drops the
// response of a oneway request.
// Thread-safety: Process is thread-safe (state lives in the thread-safe RouteInfoManager).
#ifndef BROKERD_NAMESRV_PROCESSOR_H_
#define BROKERD_NAMESRV_PROCESSOR_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
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

class NamesrvProcessor {
 public:
  explicit NamesrvProcessor(RouteInfoManager* routes) : routes_(routes) {}
  // The response to request, received over connection connection_id.
  remoting::RemotingCommand Process(const remoting::RemotingCommand& request,
                                    uint64_t connection_id);

 private:
  remoting::RemotingCommand RegisterBroker(const remoting::RemotingCommand& request,
                                           uint64_t connection_id);
  remoting::RemotingCommand UnregisterBroker(const remoting::RemotingCommand& request);
  remoting::RemotingCommand GetRouteInfo(const remoting::RemotingCommand& request);

  RouteInfoManager* routes_;
};

}  // namespace brokerd::namesrv

#endif  // BROKERD_NAMESRV_PROCESSOR_H_
