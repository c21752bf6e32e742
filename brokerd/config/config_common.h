// Types shared by the broker and name server configurations: the process facts that
// RocketMQ's defaults depend on (host name, home directory, NAMESRV_ADDR, local address, CPU
// count), kept settings we do not act on, host:port addresses, and the bounds of our own that
// both servers have.
// Thread-safety: plain values; ConfigEnvironment::FromProcess reads process state and may be
// called from any thread.
#ifndef BROKERD_CONFIG_CONFIG_COMMON_H_
#define BROKERD_CONFIG_CONFIG_COMMON_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace brokerd::config {

// ---- Bounds of our own (not RocketMQ keys; RocketMQ has no such settings). ----
// maxFrameBytes: largest remoting frame (length field included) a connection accepts; default
// 16 MiB, the same as RocketMQ's -Dcom.rocketmq.remoting.frameMaxLength default.
inline constexpr int32_t kDefaultMaxFrameBytes = 16 << 20;
inline constexpr int32_t kMinMaxFrameBytes = 4096;
inline constexpr int32_t kMaxMaxFrameBytes = 1 << 30;
// maxConnections: client connections served at once; default 4096 (RocketMQ has no limit).
inline constexpr int32_t kDefaultMaxConnections = 4096;
inline constexpr int32_t kMaxMaxConnections = 1 << 20;
// Upper bounds we put on maxTransferCountOnMessageInMemory / maxTransferBytesOnMessageInMemory
// (RocketMQ has none): a pull answer stays well inside a client's 16 MiB frame limit.
inline constexpr int32_t kMaxTransferCount = 65536;
inline constexpr int32_t kMaxTransferBytes = 8 << 20;

// What RocketMQ reads from the process to compute defaults. Tests pass fixed values.
struct ConfigEnvironment {
  // brokerName default: InetAddress.getLocalHost().getHostName(), "DEFAULT_BROKER" if unknown.
  std::string hostname = "DEFAULT_BROKER";
  // Java's user.home: the "~" of storePathRootDir (~/store) and kvConfigPath defaults.
  std::string home_dir = "/root";
  // namesrvAddr default: the NAMESRV_ADDR environment variable (empty: unset).
  std::string namesrv_addr;
  // brokerIP1 / brokerIP2 default: RemotingUtil.getLocalAddress() (see FromProcess).
  std::string local_address = "127.0.0.1";
  // Runtime.availableProcessors(): sendMessageThreadPoolNums defaults to min(cpus, 4).
  int cpu_count = 1;

  // The facts of this process: gethostname(); $HOME, else the passwd entry; $NAMESRV_ADDR;
  // the first non-loopback IPv4 address not in 127.0/192.168 (else the last IPv4 one, else
  // the first global IPv6 one in brackets, else 127.0.0.1), skipping bridge interfaces, as
  // RemotingUtil.getLocalAddress does; sysconf(_SC_NPROCESSORS_ONLN).
  static ConfigEnvironment FromProcess();
};

// A RocketMQ setting we accept and keep (for GET_BROKER_CONFIG and round trips) but do not act
// on; loading reports each one as a warning.
struct Setting {
  std::string key;
  std::string value;

  bool operator==(const Setting&) const = default;
};

// "host:port" as RocketMQ writes addresses (IPv6 hosts may be bracketed: "[::1]:9876").
struct HostPort {
  std::string host;
  int port = 0;

  std::string ToString() const;
  bool operator==(const HostPort&) const = default;
};

}  // namespace brokerd::config

#endif  // BROKERD_CONFIG_CONFIG_COMMON_H_
