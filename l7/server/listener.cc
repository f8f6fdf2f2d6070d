#include "l7/server/listener.h"

#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "l7/server/gateway_server.h"

namespace edge::l7 {

GatewayListener::GatewayListener(GatewayServer* server, int fd)
    : server_(server), fd_(fd), retry_timer_(&RetryThunk, this) {}

GatewayListener::~GatewayListener() {
  if (fd_ >= 0) close(fd_);
}

void GatewayListener::Arm() {
  if (closing_ || armed_ || fd_ < 0) return;
  io_uring_sqe* sqe = server_->loop().ring().GetSqe();
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, 0));
  armed_ = true;
}

void GatewayListener::Close() {
  if (closing_) return;
  closing_ = true;
  server_->loop().timers().Cancel(&retry_timer_);
  if (armed_) {
    io_uring_sqe* sqe = server_->loop().ring().GetSqe();
    io_uring_prep_cancel64(sqe, uring::UserData(this, 0), 0);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  } else if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

void GatewayListener::OnCompletion(uint8_t, int32_t res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
  if (res >= 0) {
    if (closing_) {
      close(res);  // accepted while the cancel was on its way: the drain refuses it
    } else {
      server_->OnAccepted(res);
    }
  } else if (res != -ECANCELED) {
    server_->stats().CountError("accept");
    if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
      // Out of descriptors or memory: accepting again at once would spin. Back off briefly.
      LOG_WARN("accept: %s; retrying in 100ms", strerror(-res));
      if (!armed_ && !closing_) {
        server_->loop().timers().Schedule(&retry_timer_, server_->loop().now_ns() + 100'000'000);
      }
      return;
    }
  }
  if (closing_) {
    if (!armed_ && fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    return;
  }
  if (!armed_) Arm();
}

}  // namespace edge::l7
