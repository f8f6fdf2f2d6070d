#include "l4/backend_connector.h"

#include <liburing.h>
#include <unistd.h>

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
  fd_ = -1;
  attempts_ = 0;
  timed_out_ = false;
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
  auto fd = net::NewTcpSocket(backend_->address);
  if (!fd.ok()) {
    // Out of descriptors or memory: a local problem, not the backend's; do not retry.
    LOG_WARN("connect to %s: %s", backend_->key, fd.status().message());
    backend_ = nullptr;
    failure_ = "cannot create backend socket";
    return Outcome::kFailed;
  }
  fd_ = *fd;
  backend_->active.fetch_add(1, std::memory_order_relaxed);
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_connect(sqe, fd_, backend_->address.sockaddr_ptr(), backend_->address.length());
  io_uring_sqe_set_data64(sqe, uring::UserData(owner_, op_));
  worker_->loop().timers().Schedule(timer_, worker_->loop().now_ns() + pool.connect_timeout_ns);
  return Outcome::kConnecting;
}

BackendConnector::Outcome BackendConnector::OnConnect(int32_t res) {
  worker_->loop().timers().Cancel(timer_);
  if (res >= 0) {
    backend_->RecordConnectSuccess();
    return Outcome::kConnected;
  }
  if (timed_out_) worker_->stats().connect_timeouts.Add(1);
  LOG_DEBUG("connect to %s failed: %s", backend_->key, timed_out_ ? "timeout" : strerror(-res));
  return NextAttempt(timed_out_             ? PassiveFailure::kConnectTimeout
                     : res == -ECONNREFUSED ? PassiveFailure::kConnectRefused
                                            : PassiveFailure::kConnectError);
}

void BackendConnector::OnTimeout() {
  timed_out_ = true;
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_cancel64(sqe, uring::UserData(owner_, op_), 0);
  io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
}

BackendConnector::Outcome BackendConnector::Retry(PassiveFailure why, const char* what) {
  worker_->loop().timers().Cancel(timer_);
  LOG_DEBUG("backend %s: %s", backend_->key, what);
  return NextAttempt(why);
}

BackendConnector::Outcome BackendConnector::NextAttempt(PassiveFailure why) {
  worker_->stats().connect_failures.Add(1);
  backend_->connect_failures.fetch_add(1, std::memory_order_relaxed);
  backend_->RecordFailure(why);
  timed_out_ = false;
  backend_->active.fetch_sub(1, std::memory_order_relaxed);
  backend_ = nullptr;
  close(fd_);
  fd_ = -1;
  if (tried_.empty()) tried_.assign(pool_->backends.size(), false);
  tried_[static_cast<size_t>(backend_index_)] = true;
  if (++attempts_ > pool_->config.connect_retries) {
    failure_ = "connect retries exhausted";
    return Outcome::kFailed;
  }
  return Connect();
}

void BackendConnector::Release() {
  if (backend_ != nullptr) {
    backend_->active.fetch_sub(1, std::memory_order_relaxed);
    backend_ = nullptr;
  }
  fd_ = -1;
  pool_ = nullptr;
  client_ = nullptr;
}

}  // namespace edge::l4
