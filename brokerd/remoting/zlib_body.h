// Zlib bodies of the remoting protocol: message bodies the client compressed (sysFlag bit 0x1)
// and compressed REGISTER_BROKER bodies. Inflation is bounded, and every malformed input is an
// error, never a crash.
// Thread-safety: stateless.
#ifndef BROKERD_REMOTING_ZLIB_BODY_H_
#define BROKERD_REMOTING_ZLIB_BODY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace brokerd::remoting {

// The inflated bytes of a zlib stream. DataLoss when `in` is not zlib data or is truncated;
// ResourceExhausted when the result would exceed max_bytes.
absl::StatusOr<std::string> InflateZlib(std::string_view in, size_t max_bytes);

}  // namespace brokerd::remoting

#endif  // BROKERD_REMOTING_ZLIB_BODY_H_
