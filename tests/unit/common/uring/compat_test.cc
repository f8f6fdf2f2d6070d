#include "common/uring/compat.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/uring/buffer_ring.h"
#include "common/uring/ring.h"

namespace edge::uring {
namespace {

constexpr uint32_t kBufferSize = 1024;
constexpr int kGroup = 5;

void ArmCapped(Ring& ring, int fd, unsigned cap) {
  io_uring_sqe* sqe = ring.GetSqe();
  PrepRecvMultishotCapped(sqe, fd, cap);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kGroup;
  io_uring_sqe_set_data64(sqe, 1);
}

struct Outcome {
  size_t bytes = 0;
  int buffers = 0;
  int error = 0;
};

// Reaps completions until the armed recv ends (a CQE without IORING_CQE_F_MORE).
Outcome ReapUntilEnded(Ring& ring, ProvidedBufferRing& buffers) {
  Outcome out;
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_submit_and_wait(ring.raw(), 1) < 0 || io_uring_peek_cqe(ring.raw(), &cqe) != 0) {
      out.error = -EIO;
      return out;
    }
    const int32_t res = cqe->res;
    const uint32_t flags = cqe->flags;
    io_uring_cqe_seen(ring.raw(), cqe);
    if (flags & IORING_CQE_F_BUFFER) {
      ++out.buffers;
      buffers.Taken();
      buffers.Recycle(static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT));
    }
    if (res < 0) out.error = res;
    if (res > 0) out.bytes += static_cast<size_t>(res);
    if (!(flags & IORING_CQE_F_MORE)) return out;
  }
}

// What lb4's backpressure relies on: a capped multishot recv armed on a socket that already holds
// far more than the cap takes at most the cap's worth of ring buffers, then ends by itself.
// Kernels before 6.17 refuse the cap with -EINVAL; after RecvCapRefused() the next arming is
// uncapped and works.
TEST(Compat, CappedMultishotRecvEndsAtTheCapOrIsRefusedCleanly) {
  auto ring = Ring::Create(RingOptions{});
  ASSERT_TRUE(ring.ok()) << ring.status();
  auto buffers = ProvidedBufferRing::Create(ring->get(), kGroup, 64, kBufferSize, 64);
  ASSERT_TRUE(buffers.ok()) << buffers.status();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  const std::string payload(32 * kBufferSize, 'x');  // the socket holds 32 buffers' worth
  ASSERT_EQ(write(sv[1], payload.data(), payload.size()), static_cast<ssize_t>(payload.size()));

  ArmCapped(**ring, sv[0], 4 * kBufferSize);
  Outcome first = ReapUntilEnded(**ring, **buffers);
  if (first.error == -EINVAL) {
    ASSERT_EQ(first.bytes, 0u);
    RecvCapRefused();
    EXPECT_FALSE(RecvCapSupported());
    ArmCapped(**ring, sv[0], 4 * kBufferSize);  // uncapped now: it must still receive
    shutdown(sv[1], SHUT_WR);
    Outcome uncapped = ReapUntilEnded(**ring, **buffers);
    EXPECT_EQ(uncapped.error, 0);
    EXPECT_GT(uncapped.bytes, 0u);
  } else {
    ASSERT_EQ(first.error, 0);
    EXPECT_TRUE(RecvCapSupported());
    EXPECT_EQ(first.bytes, 4 * kBufferSize) << "the recv ended before or after its cap";
    EXPECT_LE(first.buffers, 4);
    // The rest is still in the socket for the next arming.
    ArmCapped(**ring, sv[0], 64 * kBufferSize);
    shutdown(sv[1], SHUT_WR);
    Outcome rest = ReapUntilEnded(**ring, **buffers);
    EXPECT_EQ(rest.error, 0);
    EXPECT_EQ(rest.bytes, payload.size() - first.bytes);  // then EOF ends it
  }
  close(sv[0]);
  close(sv[1]);
}

}  // namespace
}  // namespace edge::uring
