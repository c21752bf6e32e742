// Checksums and hashes with RocketMQ's exact semantics. Thread-safety: stateless.
#ifndef LIBSTORE_UTIL_HASH_H_
#define LIBSTORE_UTIL_HASH_H_

#include <cstdint>
#include <string_view>

namespace libstore::internal {

// IEEE CRC-32 (java.util.zip.CRC32) masked with 0x7FFFFFFF: RocketMQ's BODYCRC.
int32_t BodyCrc(std::string_view data);

// |JavaStringHash(s)|, 0 for INT_MIN: RocketMQ's IndexFile key hash.
int32_t IndexKeyHash(std::string_view utf8);

}  // namespace libstore::internal

#endif  // LIBSTORE_UTIL_HASH_H_
