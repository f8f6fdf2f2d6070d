#include "l4/server.h"

#include <sched.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/net/socket.h"
#include "common/uring/timer_wheel.h"

namespace edge::l4 {

int ResolveWorkerCount(int configured) {
  if (configured > 0) return configured;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

absl::StatusOr<std::unique_ptr<Lb4Server>> Lb4Server::Start(std::shared_ptr<const Runtime> runtime,
                                                            InheritedSockets inherited) {
  std::unique_ptr<Lb4Server> server(new Lb4Server());
  server->runtime_ = runtime;
  if (absl::Status log = server->OpenConnectionLog(runtime->config.access_log); !log.ok()) {
    for (auto& [bind, fd] : inherited) close(fd);
    return log;
  }
  int workers = ResolveWorkerCount(runtime->config.workers);
  // Open every socket first, so a port in use fails the start before any thread runs.
  // Sockets handed over by a previous lb4 are used first (their accept queues carry on);
  // every worker gets at least one socket per listener, and every inherited socket is served.
  std::vector<std::vector<ListenSocket>> fds(static_cast<size_t>(workers));
  auto close_all = [&fds, &inherited] {
    for (auto& per_worker : fds) {
      for (const ListenSocket& s : per_worker) close(s.fd);
    }
    for (auto& [bind, fd] : inherited) close(fd);
  };
  for (size_t i = 0; i < runtime->listeners.size(); ++i) {
    const ListenerConfig& lc = runtime->listeners[i]->config;
    std::vector<int> mine;
    for (auto it = inherited.begin(); it != inherited.end();) {
      if (it->first == lc.bind) {
        net::SetNoDelay(it->second);  // (a previous lb4 may not have set it; see ListenTcp)
        mine.push_back(it->second);
        it = inherited.erase(it);
      } else {
        ++it;
      }
    }
    while (mine.size() < static_cast<size_t>(workers)) {
      auto fd = net::ListenTcp(lc.bind, net::ListenOptions{});
      if (!fd.ok()) {
        for (int f : mine) close(f);
        close_all();
        return absl::UnavailableError(
            absl::StrFormat("listener \"%s\": %s", lc.name, fd.status().message()));
      }
      mine.push_back(*fd);
    }
    for (size_t k = 0; k < mine.size(); ++k) {
      fds[k % static_cast<size_t>(workers)].push_back(ListenSocket{i, mine[k]});
    }
  }
  for (auto& [bind, fd] : inherited) {
    LOG_WARN("handover: %s is no longer configured; closing it", bind.ToString());
    close(fd);
  }
  inherited.clear();
  for (int w = 0; w < workers; ++w) {
    server->workers_.push_back(std::make_unique<Worker>(w, runtime, &server->shared_,
                                                        std::move(fds[static_cast<size_t>(w)])));
    fds[static_cast<size_t>(w)].clear();
  }
  for (auto& worker : server->workers_) {
    absl::Status status = worker->Start();
    if (!status.ok()) {
      server->Stop();
      return status;
    }
  }
  auto health = HealthChecker::Start(runtime);
  if (!health.ok()) {
    server->Stop();
    return health.status();
  }
  server->health_ = std::move(*health);
  for (const auto& listener : runtime->listeners) {
    LOG_INFO("listener \"%s\" on %s -> pool \"%s\" (%d backends), %d workers",
             listener->config.name, listener->config.bind.ToString(), listener->pool->config.name,
             static_cast<int>(listener->pool->backends.size()), workers);
  }
  return server;
}

Lb4Server::~Lb4Server() { Stop(); }

absl::Status Lb4Server::OpenConnectionLog(const log::AccessLogConfig& config) {
  if (config.path == connection_log_path_) return absl::OkStatus();
  log::LineSink* sink = nullptr;
  if (config.enabled()) {
    auto opened = log::LineSink::Open(config.path, config.queue_bytes);
    if (!opened.ok()) {
      return absl::Status(opened.status().code(),
                          "[lb4.access_log] " + std::string(opened.status().message()));
    }
    sink = opened->get();
    connection_logs_.push_back(std::move(*opened));
  }
  shared_.connection_log.store(sink, std::memory_order_release);
  connection_log_path_ = config.path;
  return absl::OkStatus();
}

std::shared_ptr<const Runtime> Lb4Server::runtime() const {
  std::lock_guard<std::mutex> lock(runtime_mu_);
  return runtime_;
}

absl::Status Lb4Server::Reload(const Lb4Config& config, bool from_dns) {
  std::lock_guard<std::mutex> control(control_mu_);
  std::shared_ptr<const Runtime> old = runtime();
  ReusableBackends reusable;
  for (const auto& pool : old->pools) {
    for (const auto& b : pool->backends) reusable.emplace_back(pool->config.name, b);
  }
  // Removed backends nobody uses any more are forgotten; the others may come back.
  std::erase_if(removed_, [](const auto& entry) { return entry.second->active.load() == 0; });
  reusable.insert(reusable.end(), removed_.begin(), removed_.end());
  if (config.admin != old->config.admin) {
    LOG_WARN("reload: the admin address takes effect only at restart");
  }
  auto built = BuildRuntime(config, reusable, old.get());
  if (!built.ok()) {
    if (!from_dns) reloads_failed_.fetch_add(1);
    return built.status();
  }
  std::shared_ptr<const Runtime> next = *built;
  if (absl::Status log = OpenConnectionLog(config.access_log); !log.ok()) {
    reloads_failed_.fetch_add(1);
    return log;
  }
  const Lb4Config& was = old->config;
  if (config.workers != was.workers || config.buffer_size != was.buffer_size ||
      config.buffers_per_worker != was.buffers_per_worker) {
    LOG_WARN("reload: workers, buffer_size and buffers_per_worker take effect only at restart");
  }
  // Sockets for new bind addresses first, so a failure leaves everything as it was.
  const size_t workers = workers_.size();
  std::vector<std::vector<ListenSocket>> fds(workers);
  for (size_t i = 0; i < next->listeners.size(); ++i) {
    const ListenerConfig& lc = next->listeners[i]->config;
    bool kept = false;
    for (const auto& l : old->listeners) kept |= l->config.bind == lc.bind;
    if (kept) continue;
    for (size_t w = 0; w < workers; ++w) {
      auto fd = net::ListenTcp(lc.bind, net::ListenOptions{});
      if (!fd.ok()) {
        for (auto& row : fds) {
          for (const ListenSocket& s : row) close(s.fd);
        }
        if (!from_dns) reloads_failed_.fetch_add(1);
        return absl::UnavailableError(
            absl::StrFormat("listener \"%s\": %s", lc.name, fd.status().message()));
      }
      fds[w].push_back(ListenSocket{i, *fd});
    }
  }
  // Backends that are gone: their connections drain, then end at drain_timeout.
  for (const auto& pool : old->pools) {
    for (const auto& b : pool->backends) {
      bool still = false;
      for (const auto& np : next->pools) {
        for (const auto& nb : np->backends) still |= nb == b;
      }
      if (!still && !b->removed.load()) {
        b->removed_at_ns.store(uring::MonotonicNowNs());
        b->removed.store(true);
        removed_.emplace_back(pool->config.name, b);
      }
    }
  }
  for (size_t w = 0; w < workers; ++w) workers_[w]->ApplyRuntime(next, std::move(fds[w]));
  if (health_ != nullptr) health_->Update(next);
  // "reload ok" then means what it says: every worker serves new connections with `next`. The
  // admin's /status shows `next` only from then on, so what it lists is what connections get.
  for (auto& worker : workers_) worker->WaitPosted(absl::Seconds(2));
  {
    std::lock_guard<std::mutex> lock(runtime_mu_);
    runtime_ = next;
  }
  if (!from_dns) reloads_ok_.fetch_add(1);
  return absl::OkStatus();
}

absl::StatusOr<Lb4Server::ControlOutcome> Lb4Server::Control(const admin::ControlCommand& command) {
  std::lock_guard<std::mutex> control(control_mu_);
  std::shared_ptr<const Runtime> now = runtime();
  const Pool* pool = nullptr;
  for (const auto& p : now->pools) {
    if (p->config.name == command.group) pool = p.get();
  }
  if (pool == nullptr) {
    return absl::NotFoundError(absl::StrFormat("no pool \"%s\"", command.group));
  }
  ControlOutcome out;
  for (size_t i = 0; i < pool->backends.size(); ++i) {
    if (pool->backends[i]->key != command.server) continue;
    out.backend = pool->backends[i];
    out.config_weight = pool->config.backends[i].weight;
  }
  if (out.backend == nullptr) {
    return absl::NotFoundError(
        absl::StrFormat("pool \"%s\" has no backend %s", command.group, command.server));
  }
  Backend& b = *out.backend;
  out.was_drained = b.admin_drained.load();
  out.was_weight = b.weight.load();
  switch (command.action) {
    case admin::ControlAction::kDrain:
      b.admin_drained.store(true);
      break;
    case admin::ControlAction::kEnable:
      b.admin_drained.store(false);
      break;
    case admin::ControlAction::kWeight: {
      if (command.weight == out.was_weight) break;
      // Back to the config's weight is no override: a later reload then treats it as any other.
      b.admin_weight.store(command.weight == out.config_weight ? 0 : command.weight);
      b.weight.store(command.weight);
      absl::Status status = RepublishPool(pool->config.name);
      if (!status.ok()) {  // not expected: the same backends built this pool before
        b.admin_weight.store(out.was_weight == out.config_weight ? 0 : out.was_weight);
        b.weight.store(out.was_weight);
        return status;
      }
      break;
    }
  }
  return out;
}

absl::Status Lb4Server::RepublishPool(const std::string& pool_name) {
  std::shared_ptr<const Runtime> old = runtime();
  auto next = std::make_shared<Runtime>();
  next->config = old->config;
  std::vector<std::pair<const Pool*, std::shared_ptr<Pool>>> replaced;
  for (const auto& pool : old->pools) {
    if (pool->config.name != pool_name) {
      next->pools.push_back(pool);
      continue;
    }
    auto copy = std::make_shared<Pool>();
    copy->config = pool->config;
    copy->backends = pool->backends;
    copy->connect_timeout_ns = pool->connect_timeout_ns;
    copy->tls = pool->tls;
    auto balancer = MakeBalancer(pool->config.balancer, copy->backends);
    if (!balancer.ok()) return balancer.status();
    copy->balancer = std::move(*balancer);
    replaced.emplace_back(pool.get(), copy);
    next->pools.push_back(std::move(copy));
  }
  auto remap = [&replaced](std::shared_ptr<Pool>& pool) {
    for (const auto& [was, now] : replaced) {
      if (pool.get() == was) pool = now;
    }
  };
  for (const auto& listener : old->listeners) {
    auto copy = std::make_shared<ListenerRuntime>(*listener);
    remap(copy->pool);
    for (auto& route : copy->routes.exact) remap(route.second);
    for (auto& route : copy->routes.wildcard) remap(route.second);
    next->listeners.push_back(std::move(copy));
  }
  std::shared_ptr<const Runtime> published = next;
  for (auto& worker : workers_) worker->ApplyRuntime(published, {});
  {
    std::lock_guard<std::mutex> lock(runtime_mu_);
    runtime_ = published;
  }
  // The answer says the weight is in force: every worker picks with the new table by then.
  for (auto& worker : workers_) worker->WaitPosted(absl::Seconds(2));
  // The health checker keeps the old Pool object until the next reload: it reads only its
  // config and backends, which are the same.
  return absl::OkStatus();
}

std::vector<std::pair<net::SocketAddress, int>> Lb4Server::DupListenSockets() {
  std::vector<std::pair<net::SocketAddress, int>> out;
  for (auto& worker : workers_) {
    auto mine = worker->DupListenSockets();
    out.insert(out.end(), mine.begin(), mine.end());
  }
  return out;
}

void Lb4Server::BeginDrain() {
  draining_.store(true);
  for (auto& worker : workers_) worker->BeginDrain();
  // Wait until the accepts are really cancelled: a client the kernel accepted into a worker's
  // ring before the cancel is a live connection only once its completion is reaped. Without
  // this wait, WaitDrained could see zero connections and Stop would abort that client (or
  // exit with it still in the ring), which is how handovers lost connections.
  absl::Time deadline = absl::Now() + absl::Seconds(2);
  for (auto& worker : workers_) {
    while (!worker->ListenersClosed() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
}

bool Lb4Server::WaitDrained(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (shared_.active.load() > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

void Lb4Server::Stop() {
  health_.reset();  // its thread ends; backends keep their last state
  for (auto& worker : workers_) worker->Stop();
  for (auto& worker : workers_) worker->Join();
  workers_.clear();
}

}  // namespace edge::l4
