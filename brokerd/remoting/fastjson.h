// Reading JSON as the Java side's fastjson writes it: object keys that are bare integers
// ({"offsetTable":{0:5}} in consumerOffset.json and delayOffset.json, {"brokerAddrs":{0:"..."}}
// in routes) are taken as strings. Used by the broker for its metadata files and by the client
// for name server and broker answers.
// Thread-safety: a free function without shared state.
#ifndef BROKERD_REMOTING_FASTJSON_H_
#define BROKERD_REMOTING_FASTJSON_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace brokerd::remoting {

// Parses JSON as fastjson writes it: bare integer object keys are taken as strings. Returns
// InvalidArgument (naming `what`) when the text is not a JSON object.
absl::StatusOr<nlohmann::json> ParseFastjson(std::string_view text, const std::string& what);

}  // namespace brokerd::remoting

#endif  // BROKERD_REMOTING_FASTJSON_H_
