#include "l7/server/cli.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <string>
#include <thread>

#include "absl/strings/str_format.h"
#include "common/admin/admin_server.h"
#include "common/admin/admin_token.h"
#include "common/admin/dashboard.h"
#include "common/admin/runtime_control.h"
#include "common/command_line.h"
#include "common/dns/resolve_now.h"
#include "common/log.h"
#include "common/log/line_sink.h"
#include "common/systemd_notify.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/auth/auth_filter_factory.h"
#include "l7/filters/cache/cache_filter_factory.h"
#include "l7/filters/cache/cache_purge.h"
#include "l7/filters/concurrency/concurrency_filter_factory.h"
#include "l7/filters/ratelimit/rate_limit_filter_factory.h"
#include "l7/report/report_command.h"
#include "l7/server/gateway_runtime.h"
#include "l7/server/gateway_server.h"
#include "l7/server/upstream_discovery.h"

namespace edge::l7 {
namespace {

constexpr char kUsage[] =
    "usage: gw7 -c FILE [--listen ADDR] [--admin ADDR] [--check] [--log-level LEVEL]\n"
    "       gw7 report [--from T --to T] [--json] [-o FILE] LOG...   (gw7 report --help)\n"
    "\n"
    "An io_uring HTTP/1.1 gateway: strict parsing, routing, upstream balancing.\n"
    "\n"
    "  -c, --config FILE   the config (TOML; see conf/gateway.toml)\n"
    "  --listen ADDR       overrides [gw7] listen (\"127.0.0.1:8001\", \"[::1]:0\")\n"
    "  --admin ADDR        overrides [gw7] admin (/healthz, /metrics, /status)\n"
    "  --check             validate the config and exit: 0 valid, 2 invalid\n"
    "  --log-level LEVEL   debug | info | warn | error (default info)\n"
    "  -h, --help          this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT: /healthz answers 503, accepting goes on for drain_delay, then\n"
    "requests in flight finish within drain_timeout, exit 0;\n"
    "SIGHUP reloads routes and upstreams (an invalid file is logged and the running config "
    "stays);\nSIGUSR1 reopens the access log file (logrotate).\n"
    "Exit codes: 0 clean exit, 1 runtime failure, 2 usage or config error.\n";

struct Flags {
  std::string config;
  std::string listen;
  std::string admin;
  bool check = false;
};

// Returns -1 to go on, or an exit code.
int ParseFlags(int argc, char** argv, Flags* flags) {
  CommandLine cl("gw7", kUsage);
  cl.Value("-c", "--config", &flags->config, "a file");
  cl.Value("", "--listen", &flags->listen, "an address");
  cl.Value("", "--admin", &flags->admin, "an address");
  cl.Switch("-t", "--check", &flags->check);
  int code = cl.Parse(argc, argv);
  if (code < 0 && flags->config.empty()) return cl.UsageError("no config: use -c FILE");
  return code;
}

// Loads the file and applies the command line's overrides.
absl::StatusOr<GatewayConfig> Load(const Flags& flags) {
  auto config = LoadGatewayConfig(flags.config);
  if (!config.ok()) return config.status();
  if (!flags.listen.empty()) {
    auto a = net::SocketAddress::Parse(flags.listen);
    if (!a.ok())
      return absl::InvalidArgumentError("--listen: " + std::string(a.status().message()));
    config->listen = *a;
  }
  if (!flags.admin.empty()) {
    auto a = net::SocketAddress::Parse(flags.admin);
    if (!a.ok()) return absl::InvalidArgumentError("--admin: " + std::string(a.status().message()));
    config->admin = *a;
  }
  return config;
}

// Runtime control: the command runs on the loop (which owns the generation); the answer comes
// back through shared state, so a loop that answers late never writes to a finished call.
admin::AdminResponse ApplyControl(GatewayServer* server, const admin::ControlCommand& command,
                                  const admin::AdminRequest& request) {
  auto answer = std::make_shared<admin::AdminResponse>();
  const net::SocketAddress peer = request.peer;
  if (!server->RunOnLoop(
          [answer, server, command, peer] { *answer = server->Control(command, peer); }, 2000)) {
    return admin::JsonError(503,
                            "the gateway loop did not answer in time; the change may "
                            "still apply: check /status");
  }
  return *answer;
}

admin::AdminResponse HandleAdmin(GatewayServer* server, std::string_view path) {
  admin::AdminResponse r;
  if (path == "/healthz") {
    r.status = server->draining() ? 503 : 200;
    r.body = server->draining() ? "draining\n" : "ok\n";
    return r;
  }
  if (path == "/dashboard") {
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(admin::DashboardHtml());
    return r;
  }
  if (path == "/metrics" || path == "/status" || path == "/usage") {
    std::string body;
    bool json = path != "/metrics";
    if (!server->RunOnLoop(
            [&body, server, path] {
              body = path == "/status"  ? server->RenderStatus()
                     : path == "/usage" ? server->RenderUsage()
                                        : server->RenderMetrics();
            },
            2000)) {
      r.status = 503;
      r.body = "the gateway loop did not answer in time\n";
      return r;
    }
    r.body = std::move(body);
    r.content_type = json ? "application/json" : "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  r.status = 404;
  r.body =
      "not found: try /healthz, /metrics, /status, /usage, /dashboard, "
      "POST /upstreams/{upstream}/{server}/drain|enable|weight?value=N\n";
  return r;
}

// POST /cache/NAME/purge (cache_purge.h): authorized by gw7's admin token or the cache's own
// purge token, run on the loop (the caches are the loop's).
admin::AdminResponse HandleCachePurgeRequest(GatewayServer* server,
                                             const admin::AdminRequest& request) {
  admin::AdminResponse r;
  r.content_type = "application/json";
  // Only a configured admin token counts here: loopback alone never purges.
  const std::optional<std::string> admin_token = server->admin_token();
  const bool admin_authorized =
      admin_token.has_value() &&
      admin::CheckControlAccess(admin_token, request.authorization, request.peer) ==
          admin::ControlAccess::kAllowed;
  PurgeAnswer answer;
  if (!server->RunOnLoop(
          [&] {
            auto registry = CurrentCacheRegistry();
            answer = HandleCachePurge(registry.get(), request.method, request.path, request.query,
                                      request.authorization, admin_authorized);
          },
          2000)) {
    r.status = 503;
    r.body = "{\"error\":\"the gateway loop did not answer in time\"}\n";
    return r;
  }
  r.status = answer.status;
  r.body = std::move(answer.body);
  return r;
}

// SIGHUP: the names `config` adds (or all, when [dns] changed) resolved now, on this thread, so
// that the loop never waits for DNS and a reload applies completely or not at all.
absl::StatusOr<dns::AnswerMap> ResolveNewNames(GatewayServer* gateway,
                                               const GatewayConfig& config) {
  std::pair<dns::AnswerMap, dns::DnsConfig> in_force;
  if (!gateway->RunOnLoop([&in_force, gateway] { in_force = gateway->DnsAnswers(); }, 2000)) {
    return absl::UnavailableError("the gateway loop did not answer in time");
  }
  std::vector<dns::DnsTarget> missing;
  for (const dns::DnsTarget& target : NamedTargets(config)) {
    if (!(config.dns == in_force.second) || !in_force.first.contains(target.ToString())) {
      missing.push_back(target);
    }
  }
  return dns::ResolveNow(missing, config.dns);
}

// SIGHUP: load and check the file, resolve the names it adds, then swap the generation in; any
// failure keeps the running config and is counted in reloads_failed.
void ReloadFromFile(GatewayServer* gateway, const Flags& flags) {
  auto reloaded = Load(flags);
  if (!reloaded.ok()) {
    LOG_ERROR("reload failed, the running config stays in force: %s", reloaded.status().message());
    gateway->RunOnLoop([gateway] { ++gateway->stats().reloads_failed; }, 2000);
    return;
  }
  auto resolved = ResolveNewNames(gateway, *reloaded);
  if (!resolved.ok()) {
    LOG_ERROR("reload failed, the running config stays in force: server name does not resolve: %s",
              resolved.status().message());
    gateway->RunOnLoop([gateway] { ++gateway->stats().reloads_failed; }, 2000);
    return;
  }
  gateway->Reload(std::move(*reloaded), *std::move(resolved));
  // Reload() posts to the loop; a no-op posted after it runs once the reload has applied.
  gateway->RunOnLoop([] {}, 5000);
}

}  // namespace

int Gw7Main(int argc, char** argv) {
  SetLogIdentity("gw7");
  if (argc > 1 && std::string_view(argv[1]) == "report") {
    return report::ReportMain(argc - 1, argv + 1);
  }
  Flags flags;
  int code = ParseFlags(argc, argv, &flags);
  if (code >= 0) return code;

  auto config = Load(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "gw7: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (flags.check) {
    // Every filter registry, not only what routes name: an [[auth]] whose PEM, JWKS or keys file
    // is bad fails here even before a route uses it.
    static const toml::table kEmpty;
    const toml::table& document = config->document ? *config->document : kEmpty;
    absl::Status filters = BuildAuthRegistry(document, config->path).status();
    if (filters.ok()) filters = BuildRateLimitRegistry(document, config->path, nullptr).status();
    if (filters.ok()) filters = BuildConcurrencyRegistry(document, config->path).status();
    if (!filters.ok()) {
      std::fprintf(stderr, "gw7: %s\n", std::string(filters.message()).c_str());
      return 2;
    }
    // Build a generation too: routes, balancers and filter chains must come up.
    auto runtime = BuildGatewayRuntime(*config, FilterEnvironment{}, nullptr);
    if (!runtime.ok()) {
      std::fprintf(stderr, "gw7: %s: %s\n", flags.config.c_str(),
                   std::string(runtime.status().message()).c_str());
      return 2;
    }
    std::printf("gw7: %s: ok\n", flags.config.c_str());
    return 0;
  }

  // Servers given by name are resolved before the gateway starts: a name that does not resolve
  // is a config naming what does not exist (exit 2), never an upstream started empty.
  const GatewayConfig named = *config;
  dns::AnswerMap answers;
  if (!NamedTargets(named).empty()) {
    auto resolved = dns::ResolveNow(NamedTargets(named), named.dns);
    if (!resolved.ok()) {
      std::fprintf(stderr, "gw7: %s: server name does not resolve: %s\n", flags.config.c_str(),
                   std::string(resolved.status().message()).c_str());
      return 2;
    }
    answers = *std::move(resolved);
    for (const auto& [key, answer] : answers) {
      LOG_INFO("dns: %s -> %s (ttl %ds)", key, dns::DescribeEndpoints(answer.endpoints),
               static_cast<int>(answer.ttl_s));
    }
    auto expanded = ExpandNamedServers(named, answers);
    if (!expanded.ok()) {
      std::fprintf(stderr, "gw7: %s\n", std::string(expanded.status().message()).c_str());
      return 2;
    }
    *config = *std::move(expanded);
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);  // reopen the access log (logrotate)
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The loop thread owns the ring (SINGLE_ISSUER), so the server is created there.
  std::promise<absl::StatusOr<GatewayServer*>> created;
  std::future<absl::StatusOr<GatewayServer*>> created_future = created.get_future();
  std::atomic<bool> loop_done{false};
  // The server is destroyed on the loop thread (it owns the ring), but only once the admin
  // thread, which reads it (/healthz, RunOnLoop), has stopped.
  std::promise<void> admin_stopped;
  std::shared_future<void> admin_stopped_future = admin_stopped.get_future().share();
  absl::Status run_status;
  std::optional<net::SocketAddress> admin_address = config->admin;
  std::thread loop_thread([&] {
    auto server = GatewayServer::Create(std::move(*config));
    if (!server.ok()) {
      created.set_value(server.status());
      loop_done.store(true);
      return;
    }
    if (absl::Status dns = (*server)->StartDiscovery(named, answers); !dns.ok()) {
      created.set_value(dns);
      loop_done.store(true);
      return;
    }
    created.set_value(server->get());
    run_status = (*server)->Run();
    loop_done.store(true);
    admin_stopped_future.wait();
    server->reset();
  });
  auto server = created_future.get();
  if (!server.ok()) {
    loop_thread.join();
    LOG_ERROR("%s", server.status().message());
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  GatewayServer* gateway = *server;
  LOG_INFO("listening on %s (config %s)", gateway->listen_address().ToString(), flags.config);

  std::unique_ptr<admin::AdminServer> admin_server;
  if (admin_address) {
    admin::ControlEndpoint control;
    control.prefix = "/upstreams";
    control.max_weight = kMaxServerWeight;
    control.program = "gw7";
    control.token = [gateway] { return gateway->admin_token(); };
    control.apply = [gateway](const admin::ControlCommand& command,
                              const admin::AdminRequest& request) {
      return ApplyControl(gateway, command, request);
    };
    auto started = admin::AdminServer::Start(
        *admin_address,
        [gateway, control = std::move(control)](const admin::AdminRequest& request) {
          if (IsCachePurgePath(request.path) && request.method != "GET" &&
              request.method != "HEAD") {
            return HandleCachePurgeRequest(gateway, request);
          }
          return admin::ServeAdminRequest(request, control, [gateway](std::string_view path) {
            return HandleAdmin(gateway, path);
          });
        });
    if (!started.ok()) {
      LOG_ERROR("admin: %s", started.status().message());
      gateway->BeginDrain(/*with_delay=*/false);
      admin_stopped.set_value();
      loop_thread.join();
      return 1;
    }
    admin_server = std::move(*started);
    LOG_INFO("admin on %s (POST /upstreams/... %s)", admin_server->address().ToString(),
             gateway->admin_token().has_value() ? "with the admin token" : "from loopback only");
  }

  systemd::NotifyReady("serving on " + gateway->listen_address().ToString());
  bool draining = false;
  while (!loop_done.load()) {
    timespec tick{0, 200'000'000};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig < 0) continue;
    if (sig == SIGUSR1) {
      log::ReopenAllLineSinks();
      continue;
    }
    if (sig == SIGHUP) {
      systemd::NotifyReloading("reloading " + flags.config);
      ReloadFromFile(gateway, flags);
      systemd::NotifyReady("serving on " + gateway->listen_address().ToString());
      continue;
    }
    if (!draining) {
      LOG_INFO("%s: draining", strsignal(sig));
      systemd::NotifyStopping("draining");
      draining = true;
      gateway->BeginDrain();
    }
  }
  admin_server.reset();
  admin_stopped.set_value();
  loop_thread.join();
  if (!run_status.ok()) {
    LOG_ERROR("event loop failed: %s", run_status.message());
    return 1;
  }
  LOG_INFO("drained; exiting");
  return 0;
}

}  // namespace edge::l7
