// ConfigEnvironment::FromProcess and HostPort (see config_common.h).
// Thread-safety: FromProcess reads process state with reentrant calls (getpwuid_r,
// getifaddrs); safe from any thread.
#include "config/config_common.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace brokerd::config {

namespace {

std::string HomeDir() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return home;
  struct passwd pw;
  struct passwd* result = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &result) == 0 && result != nullptr &&
      result->pw_dir != nullptr) {
    return result->pw_dir;
  }
  return "/";
}

bool IsBridge(const char* ifname) {
  std::error_code ec;
  return std::filesystem::exists(absl::StrCat("/sys/class/net/", ifname, "/bridge"), ec);
}

// RemotingUtil.getLocalAddress: prefer an IPv4 address that is neither loopback nor starts
// with 127.0 / 192.168; else the last IPv4 one; else the first IPv6 one (bracketed; we skip
// link-local ones, whose scope RocketMQ's string would carry); else loopback.
std::string LocalAddress() {
  struct ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "127.0.0.1";
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (struct ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || IsBridge(i->ifa_name)) continue;
    char buf[INET6_ADDRSTRLEN] = {0};
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;  // loopback
      if (inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf)) != nullptr) v4.emplace_back(buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) || IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
      if (inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf)) != nullptr) {
        v6.push_back(absl::StrCat("[", buf, "]"));
      }
    }
  }
  freeifaddrs(list);
  for (const std::string& ip : v4) {
    if (!absl::StartsWith(ip, "127.0") && !absl::StartsWith(ip, "192.168")) return ip;
  }
  if (!v4.empty()) return v4.back();
  if (!v6.empty()) return v6.front();
  return "127.0.0.1";
}

}  // namespace

ConfigEnvironment ConfigEnvironment::FromProcess() {
  ConfigEnvironment env;
  char host[HOST_NAME_MAX + 1] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0') env.hostname = host;
  env.home_dir = HomeDir();
  const char* ns = std::getenv("NAMESRV_ADDR");
  env.namesrv_addr = ns != nullptr ? ns : "";
  env.local_address = LocalAddress();
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  env.cpu_count = cpus > 0 && cpus < INT_MAX ? static_cast<int>(cpus) : 1;
  return env;
}

std::string HostPort::ToString() const { return absl::StrCat(host, ":", port); }

}  // namespace brokerd::config
