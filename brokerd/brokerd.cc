// brokerd: the broker program. `brokerd -c FILE` loads a RocketMQ broker.conf (see
// config/broker_config.h); without -c it uses the embedded local default. Opens the store,
// serves clients on 0.0.0.0:listenPort until SIGTERM/SIGINT, then stops the server, persists
// consumer offsets and closes the store cleanly (no abort file) and exits 0 (1 on configuration
// / startup errors, 2 on bad usage).
// Registration: REGISTER_BROKER to every name server of namesrvAddr every
// registerNameServerPeriod, and within kRegistrarTickMs of a topic creation; UNREGISTER_BROKER on
// shutdown.
// Thread-safety: the main thread waits for signals; the net loop thread processes requests; a
// persist thread writes consumer offsets every kOffsetPersistIntervalMs; a registrar thread
// talks to the name servers with blocking clients.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/broker.h"
#include "config/broker_config.h"
#include "daemon.h"
#include "net/client.h"
#include "net/server.h"

namespace {

// RocketMQ's flushConsumerOffsetInterval.
constexpr int kOffsetPersistIntervalMs = 5000;
// How often the registrar looks for topic changes.
constexpr int kRegistrarTickMs = 500;
// How soon a failed registration is retried.
constexpr int kRegisterRetryMs = 3000;
// Connect / call bound of one name server exchange.
constexpr auto kNamesrvTimeout = std::chrono::milliseconds(3000);

// Connections to the name servers. They stay open between registrations: a name server forgets
// a broker whose connection closes (as RocketMQ's does on channel close).
class NameServerLinks {
 public:
  explicit NameServerLinks(std::vector<brokerd::config::HostPort> addrs)
      : addrs_(std::move(addrs)), clients_(addrs_.size()) {}

  // Sends cmd to every name server (reconnecting as needed); logs failures. True when every
  // name server accepted it.
  bool CallAll(const brokerd::remoting::RemotingCommand& cmd) {
    bool all_ok = true;
    for (size_t i = 0; i < addrs_.size(); ++i) {
      brokerd::net::Client& client = clients_[i];
      absl::Status s;
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (!client.connected()) {
          s = client.Connect(addrs_[i].host, addrs_[i].port, kNamesrvTimeout);
          if (!s.ok()) break;
        }
        absl::StatusOr<brokerd::remoting::RemotingCommand> r = client.Call(cmd, kNamesrvTimeout);
        if (!r.ok()) {
          s = r.status();
          client.Close();  // stale connection: retry once on a fresh one
          continue;
        }
        s = r->code == brokerd::remoting::response_code::kSuccess
                ? absl::OkStatus()
                : absl::UnknownError("code " + std::to_string(r->code) + " " +
                                     r->remark.value_or(""));
        break;
      }
      if (!s.ok()) {
        all_ok = false;
        std::fprintf(stderr, "brokerd: %s to name server %s: %s\n",
                     cmd.code == brokerd::remoting::request_code::kRegisterBroker ? "register"
                                                                                  : "unregister",
                     addrs_[i].ToString().c_str(), s.ToString().c_str());
      }
    }
    return all_ok;
  }

 private:
  std::vector<brokerd::config::HostPort> addrs_;
  std::vector<brokerd::net::Client> clients_;
};

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: brokerd [-c FILE]\n"
               "  -c FILE   broker.conf (RocketMQ broker keys: listenPort=10911, "
               "storePathRootDir, brokerIP1, flushDiskType, namesrvAddr, ...)\n"
               "            without -c: the embedded local default configuration\n"
               "  --help    this text\n"
               "Runs until SIGTERM or SIGINT; exits 0 after a clean shutdown.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  if (int rc = brokerd::ParseDaemonArgs(argc, argv, "brokerd", Usage, &config_path); rc >= 0) {
    return rc;
  }
  namespace cfg = brokerd::config;
  absl::StatusOr<cfg::BrokerConfig> config = brokerd::LoadDaemonConfig<cfg::BrokerConfig>(
      "brokerd", config_path, cfg::DefaultLocalBrokerConfigText(), cfg::ParseBrokerConfig,
      cfg::ReadBrokerConfigFile);
  if (!config.ok()) return 1;
  // Block the stop signals in every thread; the main thread takes them with sigtimedwait.
  sigset_t stop_signals = brokerd::BlockStopSignals();

  absl::StatusOr<std::unique_ptr<brokerd::broker::Broker>> broker =
      brokerd::broker::Broker::Open(*config);
  if (!broker.ok()) {
    std::fprintf(stderr, "brokerd: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  brokerd::net::ServerOptions options;
  options.host = "0.0.0.0";
  options.port = config->listen_port;
  options.max_connections = static_cast<size_t>(config->max_connections);
  options.max_frame_bytes = static_cast<size_t>(config->max_frame_bytes);
  brokerd::net::Server server(options);
  server.set_request_handler(
      [&](brokerd::net::Connection& conn, brokerd::remoting::RemotingCommand request) {
        (*broker)->Handle(conn, std::move(request));
      });
  server.set_close_handler(
      [&](brokerd::net::Connection& conn) { (*broker)->OnConnectionClosed(conn.id()); });
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "brokerd: %s\n", s.ToString().c_str());
    (void)(*broker)->Close();
    return 1;
  }
  std::fprintf(stderr, "brokerd: listening on port %d\n", server.port());

  std::mutex mu;
  std::condition_variable cv;
  bool stop_persist = false;
  std::thread persister([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(kOffsetPersistIntervalMs),
                        [&] { return stop_persist; })) {
      if (absl::Status s = (*broker)->PersistOffsets(); !s.ok()) {
        std::fprintf(stderr, "brokerd: persist offsets: %s\n", s.ToString().c_str());
      }
    }
  });

  NameServerLinks links(config->namesrv_addrs);
  std::thread registrar([&] {
    if (config->namesrv_addrs.empty()) return;
    int32_t opaque = 0;
    uint64_t registered = 0;
    auto next = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu);
    while (!stop_persist) {
      uint64_t version = (*broker)->topics_version();
      if (version != registered || std::chrono::steady_clock::now() >= next) {
        lock.unlock();
        const bool ok = links.CallAll((*broker)->MakeRegisterRequest(++opaque));
        lock.lock();
        registered = version;
        // A name server that did not take the registration (not up yet, restarting) is tried
        // again soon rather than a whole period later.
        next = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(
                   ok ? config->register_name_server_period_ms
                      : std::min(config->register_name_server_period_ms, kRegisterRetryMs));
      }
      cv.wait_for(lock, std::chrono::milliseconds(kRegistrarTickMs), [&] { return stop_persist; });
    }
  });

  int exit_code =
      brokerd::WaitForStopSignal("brokerd", stop_signals, [&] { return server.running(); });
  server.Stop();
  server.Wait();
  {
    std::lock_guard<std::mutex> lock(mu);
    stop_persist = true;
  }
  cv.notify_all();
  persister.join();
  registrar.join();
  if (!config->namesrv_addrs.empty()) {
    links.CallAll((*broker)->MakeUnregisterRequest(0));
  }
  if (absl::Status s = (*broker)->Close(); !s.ok()) {
    std::fprintf(stderr, "brokerd: close: %s\n", s.ToString().c_str());
    exit_code = 1;
  }
  return exit_code;
}
