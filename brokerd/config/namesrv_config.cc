// Name server properties loading and validation (see namesrv_config.h).
// Thread-safety: stateless.
#include "config/namesrv_config.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "config/config_util.h"
#include "config/properties.h"
#include "config/rocketmq_keys.h"

namespace brokerd::config {

namespace {

std::string CheckPath(std::string_view v) {
  if (v.empty()) return "is empty";
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F) {
      return "contains control characters";
    }
  }
  return "";
}

// The keys this name server acts on, in the order NamesrvConfigToProperties writes them.
template <typename C, typename V>
void VisitNamesrvKeys(C& c, V& v) {
  v.Int32("listenPort", &c.listen_port, 1, 65535);
  v.Int64("scanNotActiveBrokerInterval", &c.scan_not_active_broker_interval_ms,
          kMinScanNotActiveBrokerIntervalMs, kMaxScanNotActiveBrokerIntervalMs);
  v.Int64("brokerChannelExpiredTime", &c.broker_channel_expired_time_ms,
          kMinBrokerChannelExpiredTimeMs, kMaxBrokerChannelExpiredTimeMs);
  v.Bool("orderMessageEnable", &c.order_message_enable);
  v.String("kvConfigPath", &c.kv_config_path, CheckPath);
  v.Int32("maxFrameBytes", &c.max_frame_bytes, kMinMaxFrameBytes, kMaxMaxFrameBytes);
  v.Int32("maxConnections", &c.max_connections, 1, kMaxMaxConnections);
}

struct NamesrvKeys {
  template <typename C, typename V>
  void operator()(C& c, V& v) const {
    VisitNamesrvKeys(c, v);
  }
};

void Finish(const SetLines& set, NamesrvConfig* c, Diagnostics* d) {
  if (c->broker_channel_expired_time_ms <= c->scan_not_active_broker_interval_ms) {
    auto line_of = [&set](const char* key) {
      auto it = set.find(key);
      return it == set.end() ? 0 : it->second;
    };
    d->Error(std::max(line_of("brokerChannelExpiredTime"), line_of("scanNotActiveBrokerInterval")),
             absl::StrCat("brokerChannelExpiredTime ", c->broker_channel_expired_time_ms,
                          " must be longer than scanNotActiveBrokerInterval ",
                          c->scan_not_active_broker_interval_ms,
                          " (a broker expires only when a scan sees it)"));
  }
}

}  // namespace

NamesrvConfig DefaultNamesrvConfig(const ConfigEnvironment& env) {
  NamesrvConfig c;
  c.kv_config_path = env.home_dir + "/namesrv/kvConfig.json";
  return c;
}

absl::StatusOr<NamesrvConfig> ParseNamesrvConfig(std::string_view text,
                                                 const ConfigEnvironment& env,
                                                 std::vector<ConfigWarning>* warnings) {
  absl::StatusOr<ParsedProperties> props = ParseProperties(text);
  if (!props.ok()) return PrefixStatus(props.status(), "name server config");
  NamesrvConfig c = DefaultNamesrvConfig(env);
  Diagnostics diag;
  SetLines set;
  ApplyProperties(*props, &c, NamesrvKeys(), NamesrvUnsupportedKeys(), "name server", &diag, &set,
                  &c.other_settings);
  Finish(set, &c, &diag);
  if (warnings != nullptr) *warnings = diag.TakeWarnings();
  if (diag.has_errors()) return diag.ToStatus("name server config");
  return c;
}

absl::StatusOr<NamesrvConfig> ReadNamesrvConfigFile(const std::string& path,
                                                    const ConfigEnvironment& env,
                                                    std::vector<ConfigWarning>* warnings) {
  std::string text;
  absl::Status s = ReadSmallFile(path, kMaxPropertiesFileBytes, &text);
  if (!s.ok()) return s;
  absl::StatusOr<NamesrvConfig> c = ParseNamesrvConfig(text, env, warnings);
  if (!c.ok()) return PrefixStatus(c.status(), path);
  return c;
}

std::vector<Property> NamesrvConfigToProperties(const NamesrvConfig& config) {
  std::vector<Setting> settings;
  FormatVisitor fv(&settings);
  VisitNamesrvKeys(config, fv);
  settings.insert(settings.end(), config.other_settings.begin(), config.other_settings.end());
  std::vector<Property> out;
  out.reserve(settings.size());
  for (Setting& s : settings) out.push_back(Property{std::move(s.key), std::move(s.value), 0});
  return out;
}

std::string_view DefaultLocalNamesrvConfigText() {
  static constexpr char kText[] =
      R"(# rocketstore namesrvd: the name server of the single-node local setup.
# Listens on port 9876 (brokers and clients use 127.0.0.1:9876); KV config under
# /tmp/rocketstore-namesrv. Every other key has RocketMQ 4.9.7's default.
listenPort=9876
kvConfigPath=/tmp/rocketstore-namesrv/kvConfig.json
)";
  return kText;
}

}  // namespace brokerd::config
