// namesrvd: the name server program. `namesrvd -c FILE` loads name server properties (keys of
// RocketMQ's NamesrvConfig / NettyServerConfig, see config/namesrv_config.h); without -c it uses
// the embedded local default. Serves on 0.0.0.0:listenPort until SIGTERM/SIGINT, then shuts down
// and exits 0 (1 on configuration / startup errors, 2 on bad usage). The KV config
// (kvConfigPath) is loaded before listening; an unusable file is a startup error naming it.
// Every KV change is on disk before it is answered, so SIGTERM and SIGKILL lose nothing acked.
// Thread-safety: main thread waits for signals; the net loop thread processes requests; a scan
// thread expires silent brokers every scanNotActiveBrokerInterval.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/namesrv_config.h"
#include "daemon.h"
#include "namesrv/kv_config_manager.h"
#include "namesrv/processor.h"
#include "namesrv/route_info_manager.h"
#include "net/server.h"

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: namesrvd [-c FILE]\n"
               "  -c FILE   name server properties (listenPort=9876, "
               "scanNotActiveBrokerInterval, brokerChannelExpiredTime, kvConfigPath,\n"
               "            orderMessageEnable, maxConnections, ...)\n"
               "            without -c: the embedded local default configuration\n"
               "  --help    this text\n"
               "Runs until SIGTERM or SIGINT; exits 0 after a clean shutdown.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  if (int rc = brokerd::ParseDaemonArgs(argc, argv, "namesrvd", Usage, &config_path); rc >= 0) {
    return rc;
  }
  namespace cfg = brokerd::config;
  absl::StatusOr<cfg::NamesrvConfig> config = brokerd::LoadDaemonConfig<cfg::NamesrvConfig>(
      "namesrvd", config_path, cfg::DefaultLocalNamesrvConfigText(), cfg::ParseNamesrvConfig,
      cfg::ReadNamesrvConfigFile);
  if (!config.ok()) return 1;
  // Block the stop signals in every thread; the main thread takes them with sigtimedwait.
  sigset_t stop_signals = brokerd::BlockStopSignals();

  brokerd::namesrv::KvConfigManager kv(config->kv_config_path);
  {
    std::string note;
    if (absl::Status s = kv.Load(&note); !s.ok()) {
      std::fprintf(stderr, "namesrvd: cannot load the KV config (kvConfigPath): %s\n",
                   s.ToString().c_str());
      return 1;
    }
    if (!note.empty()) std::fprintf(stderr, "namesrvd: warning: %s\n", note.c_str());
  }
  brokerd::namesrv::RouteInfoManager routes(config->broker_channel_expired_time_ms);
  brokerd::namesrv::NamesrvProcessorOptions processor_options;
  processor_options.order_message_enable = config->order_message_enable;
  brokerd::namesrv::NamesrvProcessor processor(&routes, &kv, processor_options);
  brokerd::net::ServerOptions options;
  options.host = "0.0.0.0";
  options.port = config->listen_port;
  options.max_connections = static_cast<size_t>(config->max_connections);
  options.max_frame_bytes = static_cast<size_t>(config->max_frame_bytes);
  brokerd::net::Server server(options);
  server.set_request_handler(
      [&](brokerd::net::Connection& conn, brokerd::remoting::RemotingCommand request) {
        if (request.IsResponse()) return;  // the name server sends no requests
        brokerd::remoting::RemotingCommand response = processor.Process(request, conn.id());
        if (request.IsOneway()) return;
        absl::Status s = conn.Send(response);
        if (!s.ok()) std::fprintf(stderr, "namesrvd: send: %s\n", s.ToString().c_str());
      });
  server.set_close_handler(
      [&](brokerd::net::Connection& conn) { routes.OnConnectionClosed(conn.id()); });
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "namesrvd: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "namesrvd: listening on port %d\n", server.port());

  std::mutex mu;
  std::condition_variable cv;
  bool stop_scan = false;
  std::thread scanner([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (!cv.wait_for(lock, std::chrono::milliseconds(config->scan_not_active_broker_interval_ms),
                        [&] { return stop_scan; })) {
      for (const std::string& addr : routes.ScanNotActiveBrokers()) {
        std::fprintf(stderr, "namesrvd: broker %s expired\n", addr.c_str());
      }
    }
  });

  int exit_code =
      brokerd::WaitForStopSignal("namesrvd", stop_signals, [&] { return server.running(); });
  server.Stop();
  server.Wait();
  {
    std::lock_guard<std::mutex> lock(mu);
    stop_scan = true;
  }
  cv.notify_all();
  scanner.join();
  return exit_code;
}
