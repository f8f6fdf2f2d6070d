#include "l4/backend_connector.h"

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/net/socket.h"
#include "common/uring/event_loop.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

void BackendConnector::Reset(Pool* pool, const net::SocketAddress* client) {
  pool_ = pool;
  client_ = client;
  backend_ = nullptr;
  backend_index_ = -1;
  attempts_ = 0;
  failure_ = "";
  tried_.clear();
}

BackendConnector::Outcome BackendConnector::Connect() {
  Pool& pool = *pool_;
  int index = pool.balancer->Pick(*client_, tried_);
  if (index < 0) {
    if (attempts_ == 0) worker_->stats().refused_no_backend.Add(1);
    failure_ = attempts_ == 0 ? "no backend available" : "all connect attempts failed";
    return Outcome::kFailed;
  }
  backend_index_ = index;
  backend_ = pool.backends[static_cast<size_t>(index)];
  absl::Status started = socket_->Connect(backend_->address);
  if (!started.ok()) {
    // Out of descriptors or memory: a local problem, not the backend's; do not retry.
    LOG_WARN("connect to %s: %s", backend_->key, started.message());
    backend_ = nullptr;
    failure_ = "cannot create backend socket";
    return Outcome::kFailed;
  }
  backend_->active.fetch_add(1, std::memory_order_relaxed);
  worker_->loop().timers().Schedule(timer_, worker_->loop().now_ns() + pool.connect_timeout_ns);
  return Outcome::kConnecting;
}

BackendConnector::Outcome BackendConnector::OnConnected(int error) {
  worker_->loop().timers().Cancel(timer_);
  if (error == 0) {
    backend_->RecordConnectSuccess();
    return Outcome::kConnected;
  }
  LOG_DEBUG("connect to %s failed: %s", backend_->key, strerror(-error));
  return Failed(error == -ECONNREFUSED ? PassiveFailure::kConnectRefused
                                       : PassiveFailure::kConnectError);
}

BackendConnector::Outcome BackendConnector::OnTimeout() {
  worker_->stats().connect_timeouts.Add(1);
  LOG_DEBUG("connect to %s failed: timeout", backend_->key);
  return Failed(PassiveFailure::kConnectTimeout);
}

BackendConnector::Outcome BackendConnector::Retry(PassiveFailure why, const char* what) {
  worker_->loop().timers().Cancel(timer_);
  LOG_DEBUG("backend %s: %s", backend_->key, what);
  return Failed(why);
}

BackendConnector::Outcome BackendConnector::Failed(PassiveFailure why) {
  worker_->stats().connect_failures.Add(1);
  backend_->connect_failures.fetch_add(1, std::memory_order_relaxed);
  backend_->RecordFailure(why);
  backend_->active.fetch_sub(1, std::memory_order_relaxed);
  backend_ = nullptr;
  socket_->Close();  // (already closed after a failed connect)
  if (tried_.empty()) tried_.assign(pool_->backends.size(), false);
  tried_[static_cast<size_t>(backend_index_)] = true;
  if (++attempts_ > pool_->config.connect_retries) {
    failure_ = "connect retries exhausted";
    return Outcome::kFailed;
  }
  return Outcome::kRetry;
}

void BackendConnector::Release() {
  if (backend_ != nullptr) {
    backend_->active.fetch_sub(1, std::memory_order_relaxed);
    backend_ = nullptr;
  }
  pool_ = nullptr;
  client_ = nullptr;
}

}  // namespace edge::l4
