// The name server's configuration: the properties file `namesrvd -c FILE` reads, with the keys
// of RocketMQ's NamesrvConfig and NettyServerConfig (NamesrvStartup applies one file to both)
// and RocketMQ 4.9.7's defaults. Same rules as broker_config.h: unknown keys are errors (with
// a suggestion), RocketMQ keys we do not act on are kept with a warning, bad values are errors
// naming the key, the value and the line.
//
// Two settings are 4.9.7 constants rather than keys, made configurable here:
//  * scanNotActiveBrokerInterval (a 5.x key, default 5000 there): 4.9.7 scans every 10 s, so
//    our default is 10000;
//  * brokerChannelExpiredTime (ours): RouteInfoManager.BROKER_CHANNEL_EXPIRED_TIME, 120 s.
//
// Thread-safety: NamesrvConfig is a plain value; the functions are stateless.
#ifndef BROKERD_CONFIG_NAMESRV_CONFIG_H_
#define BROKERD_CONFIG_NAMESRV_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config_common.h"
#include "config/properties.h"

namespace brokerd::config {

// Bounds (ours) of the two timing settings, in ms.
inline constexpr int64_t kMinScanNotActiveBrokerIntervalMs = 100;
inline constexpr int64_t kMaxScanNotActiveBrokerIntervalMs = 3600000;
inline constexpr int64_t kMinBrokerChannelExpiredTimeMs = 1000;
inline constexpr int64_t kMaxBrokerChannelExpiredTimeMs = 86400000;

struct NamesrvConfig {
  int32_t listen_port = 9876;                          // listenPort
  int64_t scan_not_active_broker_interval_ms = 10000;  // scanNotActiveBrokerInterval
  int64_t broker_channel_expired_time_ms = 120000;     // brokerChannelExpiredTime (ours)
  // orderMessageEnable: fill orderTopicConf from KV namespace ORDER_TOPIC_CONFIG.
  bool order_message_enable = false;
  std::string kv_config_path;  // kvConfigPath: default ~/namesrv/kvConfig.json

  // ---- Bounds of our own (not RocketMQ keys) ----
  int32_t max_frame_bytes = kDefaultMaxFrameBytes;   // maxFrameBytes (ours)
  int32_t max_connections = kDefaultMaxConnections;  // maxConnections (ours)

  // RocketMQ keys we accept but do not act on yet, in file order.
  std::vector<Setting> other_settings;

  bool operator==(const NamesrvConfig&) const = default;
};

// The defaults alone for this environment.
NamesrvConfig DefaultNamesrvConfig(const ConfigEnvironment& env);

// Parses and validates name server properties text; warnings as in ParseBrokerConfig.
absl::StatusOr<NamesrvConfig> ParseNamesrvConfig(std::string_view text,
                                                 const ConfigEnvironment& env,
                                                 std::vector<ConfigWarning>* warnings = nullptr);

// ParseNamesrvConfig over a file (at most kMaxPropertiesFileBytes); errors name the path.
absl::StatusOr<NamesrvConfig> ReadNamesrvConfigFile(const std::string& path,
                                                    const ConfigEnvironment& env,
                                                    std::vector<ConfigWarning>* warnings = nullptr);

// Every key with its value (supported keys, then other_settings); parses back to the same.
std::vector<Property> NamesrvConfigToProperties(const NamesrvConfig& config);

// The name server config of the local single-node setup the README runs: 127.0.0.1:9876's
// port, KV config under /tmp/rocketstore-namesrv. Loads without errors or warnings.
std::string_view DefaultLocalNamesrvConfigText();

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_NAMESRV_CONFIG_H_
