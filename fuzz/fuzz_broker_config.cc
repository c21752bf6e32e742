// libFuzzer target: broker.conf and name server config loading (brokerd/config) over
// arbitrary text, with a fixed environment. Invariants (abort() on violation):
//  * loading never crashes; a failure is InvalidArgument with a message;
//  * a loaded broker config maps onto StoreOptions that libstore's own checks accept
//    (CommitLog file size a positive multiple of 4096, positive units per ConsumeQueue file,
//    positive message size and index sizes, store_host "ip:port");
//  * a loaded config written out (BrokerConfigToProperties + SerializeProperties) loads again
//    (under a different environment, so no default leaks in) to an equal config; the same for
//    the name server config.
// Thread-safety: single-threaded harness.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "config/broker_config.h"
#include "config/namesrv_config.h"
#include "config/properties.h"
#include "fuzz_util.h"
#include "libstore/options.h"

namespace {

namespace bc = brokerd::config;

bc::ConfigEnvironment EnvA() {
  bc::ConfigEnvironment env;
  env.hostname = "fuzz-host";
  env.home_dir = "/home/fuzz";
  env.namesrv_addr = "127.0.0.1:9876";
  env.local_address = "10.0.0.7";
  env.cpu_count = 3;
  return env;
}

bc::ConfigEnvironment EnvB() {
  bc::ConfigEnvironment env;
  env.hostname = "other-host";
  env.home_dir = "/elsewhere";
  env.namesrv_addr = "10.9.9.9:1";
  env.local_address = "10.9.9.9";
  env.cpu_count = 64;
  return env;
}

void CheckBroker(std::string_view text) {
  std::vector<bc::ConfigWarning> warnings;
  absl::StatusOr<bc::BrokerConfig> c = bc::ParseBrokerConfig(text, EnvA(), &warnings);
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!c.status().message().empty());
    return;
  }
  const libstore::StoreOptions o = bc::ToStoreOptions(*c);
  FUZZ_CHECK(!o.root_dir.empty());
  FUZZ_CHECK(o.commitlog_file_size >= 4096 && o.commitlog_file_size % 4096 == 0);
  FUZZ_CHECK(o.consume_queue_units_per_file > 0);
  FUZZ_CHECK(o.max_message_size > 0);
  FUZZ_CHECK(o.index_hash_slots > 0 && o.index_max_entries > 1);
  FUZZ_CHECK(!o.message_delay_level.empty() && !o.delete_when.empty());
  const size_t colon = o.store_host.rfind(':');
  FUZZ_CHECK(colon != std::string::npos && colon > 0);
  FUZZ_CHECK(c->ha_listen_port >= 1 && c->ha_listen_port <= 65535);
  FUZZ_CHECK(c->ha_listen_port != c->listen_port);
  FUZZ_CHECK(c->broker_role == bc::BrokerRole::kSlave ? c->broker_id > 0 : c->broker_id == 0);

  const std::string written = bc::SerializeProperties(bc::BrokerConfigToProperties(*c));
  absl::StatusOr<bc::BrokerConfig> again = bc::ParseBrokerConfig(written, EnvB());
  if (!again.ok()) {
    FUZZ_FAIL("written broker config does not load: %s\n%s",
              std::string(again.status().message()).c_str(), written.c_str());
  }
  if (!(*again == *c)) FUZZ_FAIL("broker config changed in the round trip:\n%s", written.c_str());
}

void CheckNamesrv(std::string_view text) {
  absl::StatusOr<bc::NamesrvConfig> c = bc::ParseNamesrvConfig(text, EnvA());
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!c.status().message().empty());
    return;
  }
  const std::string written = bc::SerializeProperties(bc::NamesrvConfigToProperties(*c));
  absl::StatusOr<bc::NamesrvConfig> again = bc::ParseNamesrvConfig(written, EnvB());
  if (!again.ok()) {
    FUZZ_FAIL("written namesrv config does not load: %s\n%s",
              std::string(again.status().message()).c_str(), written.c_str());
  }
  if (!(*again == *c)) FUZZ_FAIL("namesrv config changed in the round trip:\n%s", written.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckBroker(text);
  CheckNamesrv(text);
  return 0;
}
