// Reading broker metadata JSON as fastjson writes it: object keys that are bare integers
// ({"offsetTable":{0:5}}, as in consumerOffset.json and delayOffset.json) are taken as strings.
// Loading with the .bak fallback and durable writes are configfile::Load / configfile::Persist
// (topic_config_manager.h).
// Thread-safety: a free function without shared state.
#ifndef BROKERD_BROKER_CONFIG_FILE_H_
#define BROKERD_BROKER_CONFIG_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace brokerd::broker {

// Parses JSON as fastjson writes it: bare integer object keys are taken as strings. Returns
// InvalidArgument (naming `what`) when the text is not a JSON object.
absl::StatusOr<nlohmann::json> ParseConfigJson(std::string_view text, const std::string& what);

}  // namespace brokerd::broker

#endif  // BROKERD_BROKER_CONFIG_FILE_H_
