// lb4's RelayConnection against a fake kernel (tests/unit/common/uring/fake_kernel.h): a real
// Worker set up on the test's thread from a parsed config, a real accepted client socket, and
// every io_uring operation of the relay answered by the test. So the completions that decide
// whether a relay loses bytes, leaks ring buffers or hangs are tried on purpose: bytes forwarded
// from the ring buffer they arrived in (no copy), short sends, the ring running dry (-ENOBUFS),
// a backend that stops reading (backpressure), half-close in order, resets, and a bulk flow
// holding the worker's batched waits short until its connection ends.
//
// Each test runs on a thread of its own, as the worker's ring belongs to the thread that made it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/l4/relay_harness.h"

namespace edge::l4 {
namespace {

using testing::IsSend;
using testing::SentBytes;
using uring::testing::FakeKernel;
using uring::testing::OnOwnThread;
using uring::testing::TakenSqe;

constexpr char kConfig[] = R"(
[lb4]
buffer_size = "1KiB"
buffers_per_worker = 64
splice = false
[[listener]]
name = "web"
bind = "127.0.0.1:0"
pool = "p"
[[pool]]
name = "p"
backends = [{ address = "127.0.0.1:9" }]
)";

// The relay connected (by the fake kernel) to the pool's backend, both receives armed.
class Harness : public testing::RelayHarness {
 public:
  Harness() : RelayHarness(kConfig) {
    FakeKernel::Complete(Next(IORING_OP_CONNECT), 0);
    client_recv_ = TakeRecv(true);
    backend_recv_ = TakeRecv(false);
  }
  // Both peers close (FIN each way, on the receives given): the connection ends.
  void EndBothWays(const TakenSqe& client_recv, const TakenSqe& backend_recv) {
    FakeKernel::Complete(client_recv, 0);
    FakeKernel::Complete(backend_recv, 0);
    FinishAll();
  }

  TakenSqe client_recv_;
  TakenSqe backend_recv_;
};

TEST(RelayConnectionTest, BytesLeaveFromTheRingBufferTheyArrivedIn) {
  OnOwnThread([] {
    Harness h;
    EXPECT_EQ(h.live(), 1);
    EXPECT_TRUE(h.client_recv_.multishot());
    EXPECT_TRUE(h.client_recv_.buffer_select());
    ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, "hello", h.ring(), /*more=*/true));
    TakenSqe send = h.Next(IORING_OP_SEND);
    EXPECT_FALSE(h.IsClient(send));
    EXPECT_EQ(send.send_data(), "hello");
    // No copy: the send points into the worker's ring.
    const char* at = reinterpret_cast<const char*>(send.sqe.addr);
    EXPECT_GE(at, h.ring()->Data(0));
    EXPECT_LT(at, h.ring()->Data(0) + h.ring()->count() * h.ring()->buffer_size());
    EXPECT_EQ(h.ring()->outstanding(), 1u);
    // A short send: the rest follows from the same buffer, which goes back once all is sent.
    FakeKernel::Complete(send, 2);
    TakenSqe rest = h.Next(IORING_OP_SEND);
    EXPECT_EQ(rest.send_data(), "llo");
    EXPECT_EQ(h.ring()->outstanding(), 1u);
    FakeKernel::Complete(rest, 3);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
    // The other way round, the same.
    ASSERT_TRUE(h.kernel().CompleteRecv(h.backend_recv_, "world", h.ring(), /*more=*/true));
    TakenSqe back = h.Next(IORING_OP_SEND);
    EXPECT_TRUE(h.IsClient(back));
    EXPECT_EQ(back.send_data(), "world");
    FakeKernel::Complete(back, 5);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
    h.EndBothWays(h.client_recv_, h.backend_recv_);
    EXPECT_EQ(h.live(), 0);
  });
}

TEST(RelayConnectionTest, AnEmptyRingFallsBackToABufferOfTheFlowsOwn) {
  OnOwnThread([] {
    Harness h;
    FakeKernel::Complete(h.client_recv_, -ENOBUFS);  // the multishot ends
    TakenSqe own = h.TakeRecv(true);
    EXPECT_FALSE(own.buffer_select());
    EXPECT_FALSE(own.multishot());
    ASSERT_TRUE(h.kernel().CompleteRecv(own, "fallback"));
    TakenSqe send = h.Next(IORING_OP_SEND);
    EXPECT_EQ(send.send_data(), "fallback");
    FakeKernel::Complete(send, 8);
    // Then back to the ring.
    TakenSqe again = h.TakeRecv(true);
    EXPECT_TRUE(again.buffer_select());
    h.EndBothWays(again, h.backend_recv_);
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

TEST(RelayConnectionTest, ABackendThatStopsReadingStopsTheClientsReceive) {
  OnOwnThread([] {
    Harness h;
    ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, "a", h.ring(), /*more=*/true));
    TakenSqe stuck = h.Next(IORING_OP_SEND);  // never answered while the client sends more
    for (size_t i = 1; i < RelayConnection::kHighWaterChunks; ++i) {
      ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, "b", h.ring(), /*more=*/true));
    }
    // At the high-water mark the multishot receive is cancelled: no more ring buffers go to
    // this flow until the backend reads.
    TakenSqe cancel = h.Next(IORING_OP_ASYNC_CANCEL);
    EXPECT_EQ(h.ring()->outstanding(), RelayConnection::kHighWaterChunks);
    FakeKernel::Complete(h.client_recv_, -ECANCELED);  // the multishot's last completion
    if (cancel.sqe.user_data != uring::kIgnoredUserData) FakeKernel::Complete(cancel, 0);
    // The backend reads everything: the queue drains in order (one sendmsg for the backlog)
    // and the receive comes back.
    std::string sent = SentBytes(stuck);
    FakeKernel::Complete(stuck, static_cast<int32_t>(sent.size()));
    while (std::optional<TakenSqe> send = h.kernel().TakeFirst(IsSend)) {
      const std::string bytes = SentBytes(*send);
      sent += bytes;
      FakeKernel::Complete(*send, static_cast<int32_t>(bytes.size()));
    }
    std::string expected(RelayConnection::kHighWaterChunks, 'b');
    expected[0] = 'a';
    EXPECT_EQ(sent, expected);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
    h.EndBothWays(h.TakeRecv(true), h.backend_recv_);
    EXPECT_EQ(h.live(), 0);
  });
}

TEST(RelayConnectionTest, TheClientsFinFollowsItsLastBytes) {
  OnOwnThread([] {
    Harness h;
    ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, "last", h.ring(), /*more=*/true));
    TakenSqe send = h.Next(IORING_OP_SEND);
    FakeKernel::Complete(h.client_recv_, 0);  // EOF while "last" is still being sent
    EXPECT_EQ(h.live(), 1);
    FakeKernel::Complete(send, 4);
    // The backend may still answer after the client's FIN (half-close).
    ASSERT_TRUE(h.kernel().CompleteRecv(h.backend_recv_, "reply", h.ring(), /*more=*/true));
    TakenSqe back = h.Next(IORING_OP_SEND);
    EXPECT_EQ(back.send_data(), "reply");
    FakeKernel::Complete(back, 5);
    EXPECT_EQ(h.live(), 1);
    FakeKernel::Complete(h.backend_recv_, 0);  // and then closes: the connection ends
    h.FinishAll();
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

TEST(RelayConnectionTest, ABackendResetWithBytesQueuedEndsTheConnectionAndFreesTheBuffers) {
  OnOwnThread([] {
    Harness h;
    ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, "x", h.ring(), /*more=*/true));
    TakenSqe send = h.Next(IORING_OP_SEND);
    FakeKernel::Complete(h.backend_recv_, -ECONNRESET);
    EXPECT_EQ(h.worker().stats().errors.Get(), 1u);
    FakeKernel::Complete(send, -ECONNRESET);
    FakeKernel::Complete(h.client_recv_, -ECANCELED);
    h.FinishAll();
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

TEST(RelayConnectionTest, ABulkFlowHoldsTheWorkersWaitsShortUntilItEnds) {
  OnOwnThread([] {
    Harness h;
    EXPECT_EQ(h.worker().loop().ring().short_holds(), 0);
    const std::string full(h.ring()->buffer_size(), 'z');
    ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, full, h.ring(), /*more=*/true));
    EXPECT_EQ(h.worker().loop().ring().short_holds(), 1);
    TakenSqe send = h.Next(IORING_OP_SEND);
    FakeKernel::Complete(send, static_cast<int32_t>(full.size()));
    // A second full buffer of the same flow takes no second hold.
    ASSERT_TRUE(h.kernel().CompleteRecv(h.client_recv_, full, h.ring(), /*more=*/true));
    EXPECT_EQ(h.worker().loop().ring().short_holds(), 1);
    FakeKernel::Complete(h.Next(IORING_OP_SEND), static_cast<int32_t>(full.size()));
    h.EndBothWays(h.client_recv_, h.backend_recv_);
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.worker().loop().ring().short_holds(), 0);
  });
}

}  // namespace
}  // namespace edge::l4
