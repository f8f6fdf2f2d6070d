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

// Linux 6.12 can wait for a batch: wait_nr completions, but no longer than min_wait_usec once at
// least one is there (IORING_FEAT_MIN_TIMEOUT). liburing 2.8 has
// io_uring_submit_and_wait_min_timeout(); this is the same for 2.3: flush the SQ and enter once.
// ts (may be null) bounds the whole wait. Returns >= 0 or a negative errno.
constexpr unsigned kFeatMinTimeout = 1U << 15;
int SubmitAndWaitMinTimeout(io_uring* ring, unsigned wait_nr, __kernel_timespec* ts,
                            unsigned min_wait_usec);

// Linux 6.17 can end a multishot recv after total_bytes (sqe->optlen; IORING_CQE_F_MORE is then
// clear on the completion that reaches it), so one arming takes at most that much from the
// buffer ring however much the socket already holds. Older kernels refuse the field with -EINVAL:
// the caller reports that through RecvCapRefused() and re-arms; from then on the process arms
// multishot recvs without a cap. total_bytes 0 means no cap.
void PrepRecvMultishotCapped(io_uring_sqe* sqe, int fd, unsigned total_bytes);
bool RecvCapSupported();
void RecvCapRefused();

}  // namespace edge::uring
