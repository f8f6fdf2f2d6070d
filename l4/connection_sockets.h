#pragma once
// What ending a relayed connection does to its two sockets (client, backend), the same for every
// kind of connection: an abort cancels whatever is in flight on them (the completions still
// arrive, with -ECANCELED, and the connection waits for them), and the end closes them through
// the ring. A socket slot of -1 is skipped.

#include "common/uring/event_loop.h"

namespace edge::l4 {

// Cancels every operation in flight on the open sockets of `fds`.
void CancelInFlight(uring::EventLoop& loop, const int (&fds)[2]);

// Closes the open sockets of `fds` (asynchronously) and sets their slots to -1.
void CloseSockets(uring::EventLoop& loop, int (&fds)[2]);

}  // namespace edge::l4
