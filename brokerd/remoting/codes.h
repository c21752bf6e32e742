// Request and response codes of the RocketMQ 4.x remoting protocol (spec section 2), the flag
// bits and version numbers a server needs, and names for logging.
// Thread-safety: constants and pure functions only.
#ifndef BROKERD_REMOTING_CODES_H_
#define BROKERD_REMOTING_CODES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace brokerd::remoting {

// RemotingCommand.flag bits (spec 1.5).
inline constexpr int32_t kFlagResponse = 0x1;  // RPC_TYPE: set by the responder
inline constexpr int32_t kFlagOneway = 0x2;    // RPC_ONEWAY: requester wants no response

// MQVersion.Version ordinals (spec 1.6).
namespace version {
inline constexpr int32_t kV3_0_11 = 37;
inline constexpr int32_t kV3_4_9 = 121;  // ali-ons sends this
inline constexpr int32_t kV4_1_0_Snapshot = 232;
inline constexpr int32_t kV4_3_0 = 273;
inline constexpr int32_t kV4_5_1 = 315;
inline constexpr int32_t kV4_6_0 = 333;  // rocketmq-client-cpp sends this
inline constexpr int32_t kV4_8_0 = 373;
inline constexpr int32_t kV4_9_4 = 401;
inline constexpr int32_t kV4_9_7 = 407;
inline constexpr int32_t kV5_0_0 = 413;
}  // namespace version

// The version this server puts in everything it sends. Must be >= 232: the Java client takes the
// HEART_BEAT response's version as the broker version and refuses SQL92 filters below V4_1_0.
inline constexpr int32_t kServerVersion = version::kV4_9_7;

// Request codes (spec 2.2; names as in RocketMQ's RequestCode).
namespace request_code {
inline constexpr int32_t kSendMessage = 10;
inline constexpr int32_t kPullMessage = 11;
inline constexpr int32_t kQueryMessage = 12;
inline constexpr int32_t kQueryConsumerOffset = 14;
inline constexpr int32_t kUpdateConsumerOffset = 15;
inline constexpr int32_t kUpdateAndCreateTopic = 17;
inline constexpr int32_t kGetAllTopicConfig = 21;
inline constexpr int32_t kUpdateBrokerConfig = 25;
inline constexpr int32_t kGetBrokerConfig = 26;
inline constexpr int32_t kGetBrokerRuntimeInfo = 28;
inline constexpr int32_t kSearchOffsetByTimestamp = 29;
inline constexpr int32_t kGetMaxOffset = 30;
inline constexpr int32_t kGetMinOffset = 31;
inline constexpr int32_t kGetEarliestMsgStoretime = 32;
inline constexpr int32_t kViewMessageById = 33;
inline constexpr int32_t kHeartBeat = 34;
inline constexpr int32_t kUnregisterClient = 35;
inline constexpr int32_t kConsumerSendMsgBack = 36;
inline constexpr int32_t kEndTransaction = 37;
inline constexpr int32_t kGetConsumerListByGroup = 38;
inline constexpr int32_t kCheckTransactionState = 39;
inline constexpr int32_t kNotifyConsumerIdsChanged = 40;
inline constexpr int32_t kLockBatchMq = 41;
inline constexpr int32_t kUnlockBatchMq = 42;
inline constexpr int32_t kCheckClientConfig = 46;
inline constexpr int32_t kPutKvConfig = 100;
inline constexpr int32_t kGetKvConfig = 101;
inline constexpr int32_t kDeleteKvConfig = 102;
inline constexpr int32_t kRegisterBroker = 103;
inline constexpr int32_t kUnregisterBroker = 104;
inline constexpr int32_t kGetRouteinfoByTopic = 105;
inline constexpr int32_t kGetBrokerClusterInfo = 106;
// Admin range 200..224 (the spec gives only the range and 206; names as in RequestCode).
inline constexpr int32_t kUpdateAndCreateSubscriptionGroup = 200;
inline constexpr int32_t kGetAllSubscriptionGroupConfig = 201;
inline constexpr int32_t kGetTopicStatsInfo = 202;
inline constexpr int32_t kGetConsumerConnectionList = 203;
inline constexpr int32_t kGetProducerConnectionList = 204;
inline constexpr int32_t kWipeWritePermOfBroker = 205;
inline constexpr int32_t kGetAllTopicListFromNameserver = 206;
inline constexpr int32_t kDeleteSubscriptionGroup = 207;
inline constexpr int32_t kGetConsumeStats = 208;
inline constexpr int32_t kDeleteTopicInBroker = 215;
inline constexpr int32_t kDeleteTopicInNamesrv = 216;
inline constexpr int32_t kGetKvlistByNamespace = 219;
inline constexpr int32_t kResetConsumerClientOffset = 220;
inline constexpr int32_t kGetConsumerStatusFromClient = 221;
inline constexpr int32_t kInvokeBrokerToResetOffset = 222;
inline constexpr int32_t kInvokeBrokerToGetConsumerStatus = 223;
inline constexpr int32_t kGetTopicsByCluster = 224;
inline constexpr int32_t kGetSystemTopicListFromNs = 304;
inline constexpr int32_t kGetConsumerRunningInfo = 307;
inline constexpr int32_t kConsumeMessageDirectly = 309;
inline constexpr int32_t kSendMessageV2 = 310;
inline constexpr int32_t kSendBatchMessage = 320;
inline constexpr int32_t kQueryDataVersion = 322;
inline constexpr int32_t kSendReplyMessage = 324;
inline constexpr int32_t kSendReplyMessageV2 = 325;
inline constexpr int32_t kPushReplyMessageToClient = 326;
}  // namespace request_code

// Response codes (spec 2.1; names as in RocketMQ's ResponseCode / RemotingSysResponseCode).
namespace response_code {
inline constexpr int32_t kSuccess = 0;
inline constexpr int32_t kSystemError = 1;
inline constexpr int32_t kSystemBusy = 2;
inline constexpr int32_t kRequestCodeNotSupported = 3;
inline constexpr int32_t kTransactionFailed = 4;
inline constexpr int32_t kFlushDiskTimeout = 10;
inline constexpr int32_t kSlaveNotAvailable = 11;
inline constexpr int32_t kFlushSlaveTimeout = 12;
inline constexpr int32_t kMessageIllegal = 13;
inline constexpr int32_t kServiceNotAvailable = 14;
inline constexpr int32_t kVersionNotSupported = 15;
inline constexpr int32_t kNoPermission = 16;
inline constexpr int32_t kTopicNotExist = 17;
inline constexpr int32_t kTopicExistAlready = 18;
inline constexpr int32_t kPullNotFound = 19;
inline constexpr int32_t kPullRetryImmediately = 20;
inline constexpr int32_t kPullOffsetMoved = 21;
inline constexpr int32_t kQueryNotFound = 22;
inline constexpr int32_t kSubscriptionParseFailed = 23;
inline constexpr int32_t kSubscriptionNotExist = 24;
inline constexpr int32_t kSubscriptionNotLatest = 25;
inline constexpr int32_t kSubscriptionGroupNotExist = 26;
inline constexpr int32_t kFilterDataNotExist = 27;
inline constexpr int32_t kFilterDataNotLatest = 28;
inline constexpr int32_t kTransactionShouldCommit = 200;
inline constexpr int32_t kTransactionShouldRollback = 201;
inline constexpr int32_t kTransactionStateUnknow = 202;
inline constexpr int32_t kTransactionStateGroupWrong = 203;
inline constexpr int32_t kNoBuyerId = 204;
inline constexpr int32_t kNotInCurrentUnit = 205;
inline constexpr int32_t kConsumerNotOnline = 206;
inline constexpr int32_t kConsumeMsgTimeout = 207;
inline constexpr int32_t kNoMessage = 208;
inline constexpr int32_t kUpdateAndCreateAclConfigFailed = 209;
inline constexpr int32_t kDeleteAclConfigFailed = 210;
inline constexpr int32_t kUpdateGlobalWhiteAddrsConfigFailed = 211;
inline constexpr int32_t kFlowControl = 215;
}  // namespace response_code

// The RocketMQ name of a request / response code ("SEND_MESSAGE_V2", "PULL_NOT_FOUND"), or ""
// when the code is not one of the constants above.
std::string_view RequestCodeName(int32_t code);
std::string_view ResponseCodeName(int32_t code);

// For logs: "SEND_MESSAGE_V2(310)", "PULL_NOT_FOUND(19)", "UNKNOWN(12345)". `is_response` picks
// the table (the same number means different things in requests and responses).
std::string DescribeCode(int32_t code, bool is_response);

}  // namespace brokerd::remoting

#endif  // BROKERD_REMOTING_CODES_H_
