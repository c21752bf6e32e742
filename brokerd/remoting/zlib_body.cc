// Bounded zlib inflation (see zlib_body.h).
#include "remoting/zlib_body.h"

#include <zlib.h>

namespace brokerd::remoting {

absl::StatusOr<std::string> InflateZlib(std::string_view in, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return absl::InternalError("zlib inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return absl::DataLossError("not zlib data (inflate returned " + std::to_string(rc) + ")");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      return absl::ResourceExhaustedError("inflated size exceeds " + std::to_string(max_bytes) +
                                          " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return absl::DataLossError("truncated zlib stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace brokerd::remoting
