#pragma once
// Gaps between liburing 2.3 (Debian 12) and the kernel features we use, in one place.
// When the project moves to liburing >= 2.4, most of this becomes a direct call.

#include <liburing.h>

namespace edge::uring {

// liburing 2.4 added io_uring_setup_buf_ring(); 2.3 only has io_uring_register_buf_ring().
// Maps a page-aligned ring of `entries` (a power of two, <= 32768) io_uring_buf slots, registers
// it as buffer group `bgid` and initialises it. Returns nullptr and sets *err (a negative errno).
io_uring_buf_ring* SetupBufRing(io_uring* ring, unsigned entries, int bgid, int* err);
void FreeBufRing(io_uring* ring, io_uring_buf_ring* br, unsigned entries, int bgid);

}  // namespace edge::uring
