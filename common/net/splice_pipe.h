#pragma once
// Pipes for splice(2): moving bytes socket -> pipe -> socket inside the kernel (page references,
// no copy to or from user space), as HAProxy's splice-auto does for bulk TCP flows.
//
// The kernel support is probed once per process (SpliceSupported); a caller that gets false, or a
// failed CreateSplicePipe (e.g. EMFILE), keeps moving the bytes through user-space buffers.

#include <cstddef>

namespace edge::net {

// True when pipe2(O_NONBLOCK) and splice(2) work on this kernel. Probed at the first call (thread
// safe), which logs the outcome once.
bool SpliceSupported();

// A non-blocking pipe of about `bytes` capacity (F_SETPIPE_SZ; the kernel's default size when the
// request is refused, e.g. above /proc/sys/fs/pipe-max-size or the user's pipe-user-pages-soft).
// fds[0] is the read end. Returns its capacity in bytes, or 0 (errno set, fds untouched) when
// pipe2 fails.
size_t CreateSplicePipe(size_t bytes, int (&fds)[2]);

// Sets O_NONBLOCK on `fd` (for splice: a socket's own flag decides whether splice blocks on it).
void SetNonBlocking(int fd);

// Closes both ends (those >= 0) and sets them to -1.
void CloseSplicePipe(int (&fds)[2]);

}  // namespace edge::net
