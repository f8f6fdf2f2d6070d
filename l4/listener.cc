#include "l4/listener.h"

#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/uring/event_loop.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

TcpListener::TcpListener(Worker* worker, int fd, std::shared_ptr<const ListenerRuntime> runtime)
    : worker_(worker), fd_(fd), runtime_(std::move(runtime)), retry_timer_(&RetryThunk, this) {}

TcpListener::~TcpListener() {
  if (fd_ >= 0) close(fd_);
}

void TcpListener::Arm() {
  if (closing_ || fd_ < 0 || armed_) return;
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, 0));
  armed_ = true;
}

void TcpListener::Close() {
  if (closing_) return;
  closing_ = true;
  worker_->loop().timers().Cancel(&retry_timer_);
  if (armed_) {
    io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
    io_uring_prep_cancel64(sqe, uring::UserData(this, 0), 0);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  } else if (fd_ >= 0) {
    SweepAndClose();
  }
}

// Called once nothing of ours is armed on the socket. Accept wakeups are exclusive: a client whose
// wakeup went to our accept just before the cancel is still queued, and no other waiter (the next
// lb4 after a handover) was woken for it. Take whatever is queued now, then let go of the socket.
// accept(2) blocks here at most SO_RCVTIMEO, and only if another process took the client between
// poll and accept; io_uring's accepts elsewhere never block, so the timeout does not affect them.
void TcpListener::SweepAndClose() {
  timeval wait{.tv_sec = 0, .tv_usec = 2000};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  for (int i = 0; i < kMaxSwept; ++i) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) break;
    int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) break;  // taken by another process meanwhile, or out of descriptors
    worker_->OnAccepted(client, runtime_, source_table_);
  }
  close(fd_);
  fd_ = -1;
  worker_->OnListenerClosed();
}

void TcpListener::OnCompletion(uint8_t, int32_t res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
  if (res >= 0) {
    // Even while closing: the kernel accepted this client before the cancel landed. Serving it
    // (a drain lets it finish) is what keeps a handover or reload from dropping anyone.
    worker_->OnAccepted(res, runtime_, source_table_);
  } else if (res != -ECANCELED) {
    worker_->stats().accept_errors.Add(1);
    if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
      // Out of descriptors or memory: accepting again at once would spin. Back off briefly.
      LOG_WARN("listener \"%s\": accept: %s; retrying in 100ms", runtime_->config.name,
               strerror(-res));
      if (!armed_ && !closing_) {
        worker_->loop().timers().Schedule(&retry_timer_, worker_->loop().now_ns() + 100'000'000);
      }
      return;
    }
  }
  if (closing_) {
    if (!armed_ && fd_ >= 0) SweepAndClose();
    return;
  }
  if (!armed_) Arm();
}

}  // namespace edge::l4
