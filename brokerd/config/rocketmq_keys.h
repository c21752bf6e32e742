// Internal to brokerd/config: the RocketMQ keys we recognise but do not act on (yet). A key in
// these lists loads with a warning and is kept; a key in neither these lists nor the supported
// keys of broker_config.cc / namesrv_config.cc is an error.
// Thread-safety: immutable tables.
#ifndef BROKERD_CONFIG_ROCKETMQ_KEYS_H_
#define BROKERD_CONFIG_ROCKETMQ_KEYS_H_

#include <span>

#include "config/config_util.h"

namespace brokerd::config {

// Setter keys of RocketMQ's BrokerConfig, MessageStoreConfig, NettyServerConfig and
// NettyClientConfig (4.9.7, plus the 5.x additions so that a 5.x broker.conf loads too), and
// the two keys BrokerStartup copies into system properties, minus what BrokerConfig supports.
std::span<const KnownKey> BrokerUnsupportedKeys();

// Setter keys of RocketMQ's NamesrvConfig (4.9.7 and 5.x) and NettyServerConfig, minus what
// NamesrvConfig supports.
std::span<const KnownKey> NamesrvUnsupportedKeys();

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_ROCKETMQ_KEYS_H_
