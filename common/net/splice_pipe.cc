#include "common/net/splice_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"

namespace edge::net {

namespace {
bool ProbeSplice() {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    LOG_INFO("splice: off (pipe2: errno %d)", errno);
    return false;
  }
  // A splice between the two ends of one pipe is refused with EINVAL where splice exists;
  // ENOSYS means no splice at all (e.g. a seccomp filter or an emulation layer).
  ssize_t n = splice(fds[0], nullptr, fds[1], nullptr, 1, SPLICE_F_NONBLOCK);
  int error = n < 0 ? errno : 0;
  close(fds[0]);
  close(fds[1]);
  if (error == ENOSYS) {
    LOG_INFO("splice: off (not supported by this kernel)");
    return false;
  }
  LOG_INFO("splice: on (bulk TCP flows move socket -> pipe -> socket in the kernel)");
  return true;
}
}  // namespace

bool SpliceSupported() {
  static const bool supported = ProbeSplice();
  return supported;
}

size_t CreateSplicePipe(size_t bytes, int (&fds)[2]) {
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return 0;
  int size = bytes > 0 ? fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(bytes)) : -1;
  if (size < 0) size = fcntl(p[1], F_GETPIPE_SZ);  // refused: the default size
  if (size <= 0) {
    close(p[0]);
    close(p[1]);
    errno = EINVAL;
    return 0;
  }
  fds[0] = p[0];
  fds[1] = p[1];
  return static_cast<size_t>(size);
}

void SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) == 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void CloseSplicePipe(int (&fds)[2]) {
  for (int& fd : fds) {
    if (fd < 0) continue;
    close(fd);
    fd = -1;
  }
}

}  // namespace edge::net
