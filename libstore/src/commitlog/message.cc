// HostAddress, Properties and offsetMsgId helpers of the public message.h.
#include "libstore/message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/check.h"
#include "util/coding.h"

namespace libstore {

absl::StatusOr<HostAddress> HostAddress::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", internal::AV(text), "' has no port"));
  }
  std::string host(text.substr(0, colon));
  int port = 0;
  if (!absl::SimpleAtoi(internal::AV(text.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", internal::AV(text), "' has a bad port"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  HostAddress out;
  out.port = port;
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
    out.ip_bytes.assign(reinterpret_cast<char*>(buf), 4);
  } else if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    out.ip_bytes.assign(reinterpret_cast<char*>(buf), 16);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", internal::AV(text), "' is not an IP address"));
  }
  return out;
}

std::string HostAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ip_bytes.size() == 4) {
    inet_ntop(AF_INET, ip_bytes.data(), buf, sizeof(buf));
    return absl::StrCat(buf, ":", port);
  }
  if (ip_bytes.size() == 16) {
    inet_ntop(AF_INET6, ip_bytes.data(), buf, sizeof(buf));
    return absl::StrCat("[", buf, "]:", port);
  }
  return absl::StrCat("?:", port);
}

void Properties::Set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::string(value);
      return;
    }
  }
  entries_.emplace_back(std::string(key), std::string(value));
}

std::optional<std::string_view> Properties::Get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string Properties::Encode() const {
  std::string out;
  for (const auto& [k, v] : entries_) {
    out.append(k);
    out.push_back('\x01');
    out.append(v);
    out.push_back('\x02');
  }
  return out;
}

// Calls fn(key, value) for each well-formed "key\x01value" segment, as RocketMQ's
// string2messageProperties does (segments shorter than 3 bytes, without \x01, or with an empty
// key or value are skipped: kvSepIndex > index && kvSepIndex < newIndex - 1).
template <typename Fn>
static void ForEachProperty(std::string_view encoded, Fn&& fn) {
  size_t start = 0;
  while (start < encoded.size()) {
    size_t end = encoded.find('\x02', start);
    if (end == std::string_view::npos) end = encoded.size();
    const std::string_view seg = encoded.substr(start, end - start);
    if (seg.size() >= 3) {
      const size_t sep = seg.find('\x01');
      if (sep != std::string_view::npos && sep > 0 && sep + 1 < seg.size()) {
        if (!fn(seg.substr(0, sep), seg.substr(sep + 1))) return;
      }
    }
    start = end + 1;
  }
}

Properties Properties::Decode(std::string_view encoded) {
  Properties p;
  ForEachProperty(encoded, [&p](std::string_view k, std::string_view v) {
    p.entries_.emplace_back(std::string(k), std::string(v));
    return true;
  });
  return p;
}

std::optional<std::string_view> FindProperty(std::string_view encoded, std::string_view key) {
  std::optional<std::string_view> out;
  ForEachProperty(encoded, [&](std::string_view k, std::string_view v) {
    if (k == key) {
      out = v;
      return false;
    }
    return true;
  });
  return out;
}

size_t EncodeOffsetMsgId(const HostAddress& store_host, PhysicalOffset offset, char* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  char raw[28];
  const size_t ip_len = store_host.ip_bytes.size() == 16 ? 16 : 4;
  std::memset(raw, 0, sizeof(raw));
  std::memcpy(raw, store_host.ip_bytes.data(), std::min(ip_len, store_host.ip_bytes.size()));
  internal::PutBE32(raw + ip_len, static_cast<uint32_t>(store_host.port));
  internal::PutBE64(raw + ip_len + 4, static_cast<uint64_t>(offset.value()));
  for (size_t i = 0; i < ip_len + 12; ++i) {
    const auto b = static_cast<unsigned char>(raw[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 15];
  }
  return (ip_len + 12) * 2;
}

std::string EncodeOffsetMsgId(const HostAddress& store_host, PhysicalOffset offset) {
  char buf[56];
  const size_t n = EncodeOffsetMsgId(store_host, offset, buf);
  return std::string(buf, n);
}

absl::StatusOr<std::pair<HostAddress, PhysicalOffset>> DecodeOffsetMsgId(std::string_view id) {
  if (id.size() != 32 && id.size() != 56) {
    return absl::InvalidArgumentError(
        absl::StrCat("offsetMsgId must have 32 or 56 hex characters, got ", id.size()));
  }
  char raw[28];
  for (size_t i = 0; i < id.size() / 2; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = id[2 * i + k];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'A' && c <= 'F') {
        d = c - 'A' + 10;
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return absl::InvalidArgumentError("offsetMsgId has a non-hex character");
      }
      v = v * 16 + d;
    }
    raw[i] = static_cast<char>(v);
  }
  const size_t ip_len = id.size() == 32 ? 4 : 16;
  HostAddress host;
  host.ip_bytes.assign(raw, ip_len);
  host.port = internal::GetBEI32(raw + ip_len);
  const int64_t off = internal::GetBEI64(raw + ip_len + 4);
  return std::make_pair(std::move(host), PhysicalOffset(off));
}

}  // namespace libstore
