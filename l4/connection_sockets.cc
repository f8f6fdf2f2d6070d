#include "l4/connection_sockets.h"

#include <liburing.h>

namespace edge::l4 {

void CancelInFlight(uring::EventLoop& loop, const int (&fds)[2]) {
  for (int fd : fds) {
    if (fd < 0) continue;
    io_uring_sqe* sqe = loop.ring().GetSqe();
    io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  }
}

void CloseSockets(uring::EventLoop& loop, int (&fds)[2]) {
  for (int& fd : fds) {
    if (fd < 0) continue;
    io_uring_sqe* sqe = loop.ring().GetSqe();
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
    fd = -1;
  }
}

}  // namespace edge::l4
