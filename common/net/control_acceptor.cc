#include "common/net/control_acceptor.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::net {

absl::StatusOr<std::unique_ptr<ControlAcceptor>> ControlAcceptor::Start(int listen_fd,
                                                                        const char* thread_name,
                                                                        int io_timeout_ms,
                                                                        Handler handler) {
  std::unique_ptr<ControlAcceptor> acceptor(new ControlAcceptor());
  acceptor->listen_fd_ = listen_fd;
  acceptor->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (acceptor->wake_fd_ < 0) {
    return absl::InternalError(absl::StrFormat("%s: eventfd: %s", thread_name, strerror(errno)));
  }
  acceptor->thread_name_ = thread_name;
  acceptor->io_timeout_ms_ = io_timeout_ms;
  acceptor->handler_ = std::move(handler);
  acceptor->thread_ = std::thread([a = acceptor.get()] { a->Serve(); });
  return acceptor;
}

ControlAcceptor::~ControlAcceptor() {
  stop_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t unused = write(wake_fd_, &one, sizeof(one));
    (void)unused;
  }
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ControlAcceptor::Serve() {
  pthread_setname_np(pthread_self(), thread_name_);
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      LOG_ERROR("%s: poll: %s", thread_name_, strerror(errno));
      return;
    }
    if (stop_.load()) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client went away, or out of descriptors: try the next one
    timeval tv{io_timeout_ms_ / 1000, (io_timeout_ms_ % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    bool go_on = handler_(fd);
    close(fd);
    if (!go_on) return;
  }
}

}  // namespace edge::net
