#include "l4/cli.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/command_line.h"
#include "common/log.h"
#include "common/systemd_notify.h"
#include "l4/admin.h"
#include "l4/announce/vip_announcer.h"
#include "l4/backend_discovery.h"
#include "l4/config.h"
#include "l4/handover.h"
#include "l4/runtime.h"
#include "l4/server.h"

namespace edge::l4 {
namespace {

constexpr char kUsage[] =
    "usage: lb4 -c FILE [--check] [--which IP] [--handover PATH] [--log-level LEVEL]\n"
    "\n"
    "An io_uring L4 TCP load balancer with Maglev consistent hashing.\n"
    "\n"
    "  -c, --config FILE   the config (TOML; see conf/edge.toml)\n"
    "  --check             validate the config and exit: 0 valid, 2 invalid\n"
    "  --which IP          print the backend each listener would pick for a client at IP, exit\n"
    "  --handover PATH     zero-downtime restart: take over the listening sockets of the lb4\n"
    "                      serving PATH (a unix socket) if there is one, then serve PATH for\n"
    "                      the next upgrade; the old process drains and exits\n"
    "  --log-level LEVEL   debug | info | warn | error (default info)\n"
    "  -h, --help          this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop accepting, let connections finish within drain_timeout, exit 0;\n"
    "SIGHUP reloads the config (an invalid one is logged and the running config stays);\n"
    "SIGUSR1 reopens the [lb4.access_log] file (logrotate).\n"
    "Exit codes: 0 clean exit, 1 runtime failure, 2 usage or config error.\n";

struct Flags {
  std::string config;
  bool check = false;
  std::string which;
  std::string handover;
};

// Threads that read the server: stopped before the server's workers go.
struct Services {
  AnnounceState announce_state;  // first: the admin server and the announcer use it to the end
  std::unique_ptr<admin::AdminServer> admin;
  std::unique_ptr<HandoverServer> handover;
  std::unique_ptr<VipAnnouncer> announcer;  // [lb4.announce]; null while it is off
};

// [lb4.announce] as `config` has it, for lb4 serving `server`: started, changed in place or
// stopped. False when announcing should be on but could not start (said in the log).
bool ApplyAnnounce(const AnnounceConfig& config, Lb4Server* server, Services& services) {
  if (!config.enabled()) {
    if (services.announcer) {
      services.announcer->Withdraw();
      services.announcer.reset();
    }
    services.announce_state.Disable();
    return true;
  }
  if (services.announcer) {
    services.announcer->Reconfigure(config);
    return true;
  }
  auto announcer = VipAnnouncer::Start(
      config,
      [server](const std::vector<std::string>& pools) {
        return WhyNotServing(*server->runtime(), pools);
      },
      &services.announce_state);
  if (!announcer.ok()) {
    LOG_ERROR("%s", announcer.status().message());
    return false;
  }
  services.announcer = std::move(*announcer);
  return true;
}

// Returns -1 to go on, or an exit code.
int ParseFlags(int argc, char** argv, Flags* flags) {
  CommandLine cl("lb4", kUsage);
  cl.Value("-c", "--config", &flags->config, "a file");
  cl.Switch("-t", "--check", &flags->check);
  cl.Value("", "--which", &flags->which, "an IP address");
  cl.Value("", "--handover", &flags->handover, "a unix socket path");
  int code = cl.Parse(argc, argv);
  if (code < 0 && flags->config.empty()) return cl.UsageError("no config: use -c FILE");
  return code;
}

int PrintWhich(const Runtime& runtime, const std::string& ip) {
  auto client = net::SocketAddress::ParseIp(ip, 0);
  if (!client.ok())
    return CommandLine("lb4", kUsage).UsageError(std::string(client.status().message()));
  for (const auto& listener : runtime.listeners) {
    int index = listener->pool->balancer->Pick(*client, {});
    std::printf(
        "%s %s -> %s\n", listener->config.name.c_str(), client->IpString().c_str(),
        index < 0 ? "none" : listener->pool->backends[static_cast<size_t>(index)]->key.c_str());
  }
  return 0;
}

// Waits for SIGTERM/SIGINT, then drains. SIGHUP is acknowledged (reload arrives with issue 3).
// SIGHUP: a config that does not load or apply is reported and the running one stays in force.
void Reload(Lb4Server& server, BackendDiscovery& discovery, const std::string& path,
            Services& services) {
  auto config = LoadLb4Config(path);
  absl::Status status = config.ok() ? discovery.Reload(*config) : config.status();
  if (!config.ok()) server.CountFailedReload();
  if (!status.ok()) {
    LOG_ERROR("reload failed, the running config stays in force: %s", status.message());
    return;
  }
  auto runtime = server.runtime();
  // After the pools: a VIP gated on a pool the reload added is judged on the new pools.
  ApplyAnnounce(runtime->config.announce, &server, services);
  LOG_INFO("reload ok: %s (%d listeners, %d pools)", path,
           static_cast<int>(runtime->listeners.size()), static_cast<int>(runtime->pools.size()));
}

// STATUS= for systemd: what `systemctl status lb4` shows while serving.
std::string ReadyStatus(Lb4Server& server) {
  auto runtime = server.runtime();
  return absl::StrFormat("serving: %d listeners, %d pools", runtime->listeners.size(),
                         runtime->pools.size());
}

int ServeUntilSignal(Lb4Server& server, BackendDiscovery& discovery, const std::string& config_path,
                     const sigset_t& signals, Services& services) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      systemd::NotifyReloading("reloading " + config_path);
      Reload(server, discovery, config_path, services);
      systemd::NotifyReady(ReadyStatus(server));
      continue;
    }
    if (sig == SIGUSR1) {  // logrotate moved the connection log: write a new file
      log::ReopenAllLineSinks();
      continue;
    }
    if (sig == SIGUSR2) {
      services.handover.reset();  // done: its thread asked for this drain
      // The new lb4 announces the same routes now: they are its, not ours to delete.
      if (services.announcer) services.announcer->Release();
    }
    if (sig != SIGUSR2) server.MarkStopping();  // /healthz: 503 from now on
    if (services.announcer && sig != SIGUSR2) {
      // Routers first: withdraw the VIPs, keep accepting while the routing daemon tells its
      // peers and they move the flows to the other lb4s, then stop accepting.
      const absl::Duration delay = services.announcer->drain_delay();
      services.announcer->Withdraw();
      LOG_INFO("%s: VIPs withdrawn, still accepting for drain_delay %s", strsignal(sig),
               absl::FormatDuration(delay));
      absl::SleepFor(delay);
    }
    absl::Duration drain_timeout = server.runtime()->config.drain_timeout;
    LOG_INFO("%s: draining %d connections (drain_timeout %s)", strsignal(sig),
             static_cast<int>(server.active_connections()), absl::FormatDuration(drain_timeout));
    systemd::NotifyStopping(
        absl::StrFormat("draining %d connections", server.active_connections()));
    server.BeginDrain();
    bool drained = server.WaitDrained(drain_timeout);
    LOG_INFO("drain %s; exiting", drained ? "complete" : "timed out, closing the rest");
    services.handover.reset();
    services.admin.reset();
    services.announcer.reset();
    discovery.Stop();
    server.Stop();
    return 0;
  }
}

}  // namespace

int Lb4Main(int argc, char** argv) {
  SetLogIdentity("lb4");
  Flags flags;
  int code = ParseFlags(argc, argv, &flags);
  if (code >= 0) return code;

  auto config = LoadLb4Config(flags.config);
  if (!config.ok()) {
    std::fprintf(stderr, "lb4: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  // Backends given by name are resolved before anything starts (not for --check, which reads the
  // file only: its names are checked for form, and pools are built from their listed addresses).
  BackendDiscovery discovery;
  if (!flags.check) {
    auto resolved = discovery.ResolveInitial(*config);
    if (!resolved.ok()) {
      std::fprintf(stderr, "lb4: %s: %s\n", flags.config.c_str(),
                   std::string(resolved.status().message()).c_str());
      return 2;
    }
    *config = *std::move(resolved);
  }
  auto runtime = BuildRuntime(*config);
  if (!runtime.ok()) {
    std::fprintf(stderr, "lb4: %s: %s\n", flags.config.c_str(),
                 std::string(runtime.status().message()).c_str());
    return 2;
  }
  if (flags.check) {
    std::printf("lb4: %s: ok\n", flags.config.c_str());
    return 0;
  }
  if (!flags.which.empty()) return PrintWhich(**runtime, flags.which);

  // Signals are taken synchronously by this thread; block them before any worker starts so
  // every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR2);  // from the handover thread: a new lb4 took over
  sigaddset(&signals, SIGUSR1);  // reopen the connection log
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Takeover takeover;
  if (!flags.handover.empty()) {
    auto taken = RequestTakeover(flags.handover);
    if (taken.ok()) {
      takeover = std::move(*taken);
      LOG_INFO("handover: received %d listening sockets from the running lb4",
               static_cast<int>(takeover.sockets.size()));
    } else if (!absl::IsNotFound(taken.status())) {
      LOG_ERROR("%s", taken.status().message());
      return 1;
    }
  }
  auto server = Lb4Server::Start(*runtime, std::move(takeover.sockets));
  if (!server.ok()) {
    LOG_ERROR("%s", server.status().message());
    return 1;  // a running old lb4 keeps serving: we never confirmed
  }
  Services services;
  if (config->admin.has_value()) {
    auto started = admin::AdminServer::Start(
        *config->admin, MakeAdminHandler(server->get(), &services.announce_state));
    if (!started.ok()) {
      LOG_ERROR("%s", started.status().message());
      return 1;
    }
    services.admin = std::move(*started);
    LOG_INFO("admin on http://%s/ (/healthz /metrics /status; POST /backends/... %s)",
             services.admin->address().ToString(),
             config->admin_token.has_value() ? "with the admin token" : "from loopback only");
  }
  ConfirmTakeover(takeover);  // the old lb4 stops accepting and drains
  if (!flags.handover.empty()) {
    auto hs = HandoverServer::Start(flags.handover, server->get(), [] { kill(getpid(), SIGUSR2); });
    if (!hs.ok()) {
      LOG_ERROR("%s", hs.status().message());
      return 1;
    }
    services.handover = std::move(*hs);
  }
  if (!ApplyAnnounce(config->announce, server->get(), services)) return 1;
  if (absl::Status dns = discovery.Start(server->get()); !dns.ok()) {
    LOG_ERROR("dns: %s", dns.message());
    return 1;
  }
  LOG_INFO("started with %s", flags.config);
  systemd::NotifyReady(ReadyStatus(**server));
  return ServeUntilSignal(**server, discovery, flags.config, signals, services);
}

}  // namespace edge::l4
