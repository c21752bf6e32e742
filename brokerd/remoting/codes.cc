// Names of the remoting request and response codes, for logging.
// Thread-safety: pure functions over constant tables.
#include "remoting/codes.h"

#include "absl/strings/str_cat.h"

namespace brokerd::remoting {
namespace {

struct CodeName {
  int32_t code;
  std::string_view name;
};

constexpr CodeName kRequestNames[] = {
    {request_code::kSendMessage, "SEND_MESSAGE"},
    {request_code::kPullMessage, "PULL_MESSAGE"},
    {request_code::kQueryMessage, "QUERY_MESSAGE"},
    {request_code::kQueryConsumerOffset, "QUERY_CONSUMER_OFFSET"},
    {request_code::kUpdateConsumerOffset, "UPDATE_CONSUMER_OFFSET"},
    {request_code::kUpdateAndCreateTopic, "UPDATE_AND_CREATE_TOPIC"},
    {request_code::kGetAllTopicConfig, "GET_ALL_TOPIC_CONFIG"},
    {request_code::kUpdateBrokerConfig, "UPDATE_BROKER_CONFIG"},
    {request_code::kGetBrokerConfig, "GET_BROKER_CONFIG"},
    {request_code::kGetBrokerRuntimeInfo, "GET_BROKER_RUNTIME_INFO"},
    {request_code::kSearchOffsetByTimestamp, "SEARCH_OFFSET_BY_TIMESTAMP"},
    {request_code::kGetMaxOffset, "GET_MAX_OFFSET"},
    {request_code::kGetMinOffset, "GET_MIN_OFFSET"},
    {request_code::kGetEarliestMsgStoretime, "GET_EARLIEST_MSG_STORETIME"},
    {request_code::kViewMessageById, "VIEW_MESSAGE_BY_ID"},
    {request_code::kHeartBeat, "HEART_BEAT"},
    {request_code::kUnregisterClient, "UNREGISTER_CLIENT"},
    {request_code::kConsumerSendMsgBack, "CONSUMER_SEND_MSG_BACK"},
    {request_code::kEndTransaction, "END_TRANSACTION"},
    {request_code::kGetConsumerListByGroup, "GET_CONSUMER_LIST_BY_GROUP"},
    {request_code::kCheckTransactionState, "CHECK_TRANSACTION_STATE"},
    {request_code::kNotifyConsumerIdsChanged, "NOTIFY_CONSUMER_IDS_CHANGED"},
    {request_code::kLockBatchMq, "LOCK_BATCH_MQ"},
    {request_code::kUnlockBatchMq, "UNLOCK_BATCH_MQ"},
    {request_code::kCheckClientConfig, "CHECK_CLIENT_CONFIG"},
    {request_code::kPutKvConfig, "PUT_KV_CONFIG"},
    {request_code::kGetKvConfig, "GET_KV_CONFIG"},
    {request_code::kDeleteKvConfig, "DELETE_KV_CONFIG"},
    {request_code::kRegisterBroker, "REGISTER_BROKER"},
    {request_code::kUnregisterBroker, "UNREGISTER_BROKER"},
    {request_code::kGetRouteinfoByTopic, "GET_ROUTEINFO_BY_TOPIC"},
    {request_code::kGetBrokerClusterInfo, "GET_BROKER_CLUSTER_INFO"},
    {request_code::kUpdateAndCreateSubscriptionGroup, "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP"},
    {request_code::kGetAllSubscriptionGroupConfig, "GET_ALL_SUBSCRIPTIONGROUP_CONFIG"},
    {request_code::kGetTopicStatsInfo, "GET_TOPIC_STATS_INFO"},
    {request_code::kGetConsumerConnectionList, "GET_CONSUMER_CONNECTION_LIST"},
    {request_code::kGetProducerConnectionList, "GET_PRODUCER_CONNECTION_LIST"},
    {request_code::kWipeWritePermOfBroker, "WIPE_WRITE_PERM_OF_BROKER"},
    {request_code::kGetAllTopicListFromNameserver, "GET_ALL_TOPIC_LIST_FROM_NAMESERVER"},
    {request_code::kGetKvlistByNamespace, "GET_KVLIST_BY_NAMESPACE"},
    {request_code::kGetSystemTopicListFromNs, "GET_SYSTEM_TOPIC_LIST_FROM_NS"},
    {request_code::kDeleteSubscriptionGroup, "DELETE_SUBSCRIPTIONGROUP"},
    {request_code::kGetConsumeStats, "GET_CONSUME_STATS"},
    {request_code::kDeleteTopicInBroker, "DELETE_TOPIC_IN_BROKER"},
    {request_code::kDeleteTopicInNamesrv, "DELETE_TOPIC_IN_NAMESRV"},
    {request_code::kResetConsumerClientOffset, "RESET_CONSUMER_CLIENT_OFFSET"},
    {request_code::kGetConsumerStatusFromClient, "GET_CONSUMER_STATUS_FROM_CLIENT"},
    {request_code::kInvokeBrokerToResetOffset, "INVOKE_BROKER_TO_RESET_OFFSET"},
    {request_code::kInvokeBrokerToGetConsumerStatus, "INVOKE_BROKER_TO_GET_CONSUMER_STATUS"},
    {request_code::kGetTopicsByCluster, "GET_TOPICS_BY_CLUSTER"},
    {request_code::kGetConsumerRunningInfo, "GET_CONSUMER_RUNNING_INFO"},
    {request_code::kConsumeMessageDirectly, "CONSUME_MESSAGE_DIRECTLY"},
    {request_code::kSendMessageV2, "SEND_MESSAGE_V2"},
    {request_code::kSendBatchMessage, "SEND_BATCH_MESSAGE"},
    {request_code::kQueryDataVersion, "QUERY_DATA_VERSION"},
    {request_code::kSendReplyMessage, "SEND_REPLY_MESSAGE"},
    {request_code::kSendReplyMessageV2, "SEND_REPLY_MESSAGE_V2"},
    {request_code::kPushReplyMessageToClient, "PUSH_REPLY_MESSAGE_TO_CLIENT"},
};

constexpr CodeName kResponseNames[] = {
    {response_code::kSuccess, "SUCCESS"},
    {response_code::kSystemError, "SYSTEM_ERROR"},
    {response_code::kSystemBusy, "SYSTEM_BUSY"},
    {response_code::kRequestCodeNotSupported, "REQUEST_CODE_NOT_SUPPORTED"},
    {response_code::kTransactionFailed, "TRANSACTION_FAILED"},
    {response_code::kFlushDiskTimeout, "FLUSH_DISK_TIMEOUT"},
    {response_code::kSlaveNotAvailable, "SLAVE_NOT_AVAILABLE"},
    {response_code::kFlushSlaveTimeout, "FLUSH_SLAVE_TIMEOUT"},
    {response_code::kMessageIllegal, "MESSAGE_ILLEGAL"},
    {response_code::kServiceNotAvailable, "SERVICE_NOT_AVAILABLE"},
    {response_code::kVersionNotSupported, "VERSION_NOT_SUPPORTED"},
    {response_code::kNoPermission, "NO_PERMISSION"},
    {response_code::kTopicNotExist, "TOPIC_NOT_EXIST"},
    {response_code::kTopicExistAlready, "TOPIC_EXIST_ALREADY"},
    {response_code::kPullNotFound, "PULL_NOT_FOUND"},
    {response_code::kPullRetryImmediately, "PULL_RETRY_IMMEDIATELY"},
    {response_code::kPullOffsetMoved, "PULL_OFFSET_MOVED"},
    {response_code::kQueryNotFound, "QUERY_NOT_FOUND"},
    {response_code::kSubscriptionParseFailed, "SUBSCRIPTION_PARSE_FAILED"},
    {response_code::kSubscriptionNotExist, "SUBSCRIPTION_NOT_EXIST"},
    {response_code::kSubscriptionNotLatest, "SUBSCRIPTION_NOT_LATEST"},
    {response_code::kSubscriptionGroupNotExist, "SUBSCRIPTION_GROUP_NOT_EXIST"},
    {response_code::kFilterDataNotExist, "FILTER_DATA_NOT_EXIST"},
    {response_code::kFilterDataNotLatest, "FILTER_DATA_NOT_LATEST"},
    {response_code::kTransactionShouldCommit, "TRANSACTION_SHOULD_COMMIT"},
    {response_code::kTransactionShouldRollback, "TRANSACTION_SHOULD_ROLLBACK"},
    {response_code::kTransactionStateUnknow, "TRANSACTION_STATE_UNKNOW"},
    {response_code::kTransactionStateGroupWrong, "TRANSACTION_STATE_GROUP_WRONG"},
    {response_code::kNoBuyerId, "NO_BUYER_ID"},
    {response_code::kNotInCurrentUnit, "NOT_IN_CURRENT_UNIT"},
    {response_code::kConsumerNotOnline, "CONSUMER_NOT_ONLINE"},
    {response_code::kConsumeMsgTimeout, "CONSUME_MSG_TIMEOUT"},
    {response_code::kNoMessage, "NO_MESSAGE"},
    {response_code::kUpdateAndCreateAclConfigFailed, "UPDATE_AND_CREATE_ACL_CONFIG_FAILED"},
    {response_code::kDeleteAclConfigFailed, "DELETE_ACL_CONFIG_FAILED"},
    {response_code::kUpdateGlobalWhiteAddrsConfigFailed, "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED"},
    {response_code::kFlowControl, "FLOW_CONTROL"},
};

template <size_t N>
std::string_view Lookup(const CodeName (&table)[N], int32_t code) {
  for (const CodeName& e : table) {
    if (e.code == code) return e.name;
  }
  return "";
}

}  // namespace

std::string_view RequestCodeName(int32_t code) { return Lookup(kRequestNames, code); }

std::string_view ResponseCodeName(int32_t code) { return Lookup(kResponseNames, code); }

std::string DescribeCode(int32_t code, bool is_response) {
  std::string_view name = is_response ? ResponseCodeName(code) : RequestCodeName(code);
  if (name.empty()) name = "UNKNOWN";
  return absl::StrCat(absl::string_view(name.data(), name.size()), "(", code, ")");
}

}  // namespace brokerd::remoting
