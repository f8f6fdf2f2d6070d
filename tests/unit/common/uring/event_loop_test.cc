#include "common/uring/event_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "common/uring/buffer_ring.h"

namespace edge::uring {
namespace {

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoopAndStopEndsRun) {
  std::unique_ptr<EventLoop> loop;
  std::thread::id loop_thread;
  std::thread::id ran_on;
  std::promise<void> ready;
  std::thread t([&] {
    auto created = EventLoop::Create(RingOptions{});
    ASSERT_TRUE(created.ok()) << created.status();
    loop = std::move(*created);
    loop_thread = std::this_thread::get_id();
    ready.set_value();
    EXPECT_TRUE(loop->Run().ok());
  });
  ready.get_future().wait();
  std::promise<void> done;
  loop->Post([&] {
    ran_on = std::this_thread::get_id();
    done.set_value();
  });
  done.get_future().wait();
  EXPECT_EQ(ran_on, loop_thread);
  loop->Stop();
  t.join();
}

TEST(EventLoop, TimersFireFromRun) {
  auto created = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(created.ok()) << created.status();
  EventLoop& loop = **created;
  struct Ctx {
    EventLoop* loop;
    int fired = 0;
  } ctx{&loop};
  Timer timer(
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        ++c->fired;
        c->loop->Stop();
      },
      &ctx);
  loop.timers().Schedule(&timer, loop.now_ns() + 20'000'000);
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(ctx.fired, 1);
}

// A multishot recv on a provided buffer ring delivers data in ring buffers whose id is in the CQE
// flags; when the ring runs dry the recv ends with -ENOBUFS, which is not EOF: recycle and re-arm.
class RecvHandler : public IoHandler {
 public:
  void OnCompletion(uint8_t, int32_t res, uint32_t flags) override {
    results.push_back(res);
    if (flags & IORING_CQE_F_BUFFER) {
      uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
      buffers->Taken();
      if (res > 0) received.append(buffers->Data(bid), static_cast<size_t>(res));
      buffers->Recycle(bid);
    }
    if (flags & IORING_CQE_F_MORE) return;
    if (res == -ENOBUFS) {
      ++enobufs;  // not EOF: the buffers were recycled above, so arm again
      Arm();
      return;
    }
    loop->Stop();
  }
  void Arm() {
    io_uring_sqe* sqe = loop->ring().GetSqe();
    io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = static_cast<__u16>(buffers->group_id());
    io_uring_sqe_set_data64(sqe, UserData(this, 1));
  }
  EventLoop* loop = nullptr;
  ProvidedBufferRing* buffers = nullptr;
  int fd = -1;
  int enobufs = 0;
  std::vector<int32_t> results;
  std::string received;
};

TEST(EventLoop, MultishotRecvWithProvidedBuffers) {
  auto created = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(created.ok()) << created.status();
  EventLoop& loop = **created;
  auto buffers = ProvidedBufferRing::Create(&loop.ring(), 7, 4, 8);
  ASSERT_TRUE(buffers.ok()) << buffers.status();
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  RecvHandler handler;
  handler.loop = &loop;
  handler.buffers = buffers->get();
  handler.fd = sv[0];
  handler.Arm();
  // More bytes than the ring holds at once (4 x 8): recycling keeps it going.
  std::string payload = "the quick brown fox jumps over the lazy dog, twice over";
  ASSERT_EQ(write(sv[1], payload.data(), payload.size()), static_cast<ssize_t>(payload.size()));
  shutdown(sv[1], SHUT_WR);
  ASSERT_TRUE(loop.Run().ok());
  EXPECT_EQ(handler.received, payload);
  EXPECT_EQ(handler.results.back(), 0);  // EOF ends the multishot recv
  EXPECT_GT(handler.enobufs, 0);         // 56 bytes cannot fit 4 x 8 bytes in one go
  EXPECT_EQ((*buffers)->outstanding(), 0u);
  close(sv[0]);
  close(sv[1]);
}

TEST(ProvidedBufferRing, RefusesCountsThatAreNotPowersOfTwo) {
  auto created = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(ProvidedBufferRing::Create(&(*created)->ring(), 1, 3, 4096).ok());
  EXPECT_FALSE(ProvidedBufferRing::Create(&(*created)->ring(), 1, 65536, 4096).ok());
  EXPECT_FALSE(ProvidedBufferRing::Create(&(*created)->ring(), 1, 8, 0).ok());
}

}  // namespace
}  // namespace edge::uring

namespace edge::uring {
namespace {

TEST(ProvidedBufferRing, ProvidesLazilyAndGrowsUpToCount) {
  auto created = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(created.ok());
  auto ring = ProvidedBufferRing::Create(&(*created)->ring(), 3, 256, 4096, 16);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->provided(), 16u);
  for (int i = 0; i < 10; ++i) (*ring)->Taken();  // fewer than a batch left free: grows
  EXPECT_EQ((*ring)->provided(), 80u);
  for (int i = 0; i < 246; ++i) (*ring)->Taken();
  EXPECT_EQ((*ring)->provided(), 256u);  // never beyond count
  EXPECT_EQ((*ring)->outstanding(), 256u);
  for (uint16_t bid = 0; bid < 256; ++bid) (*ring)->Recycle(bid);
  EXPECT_EQ((*ring)->outstanding(), 0u);
}

}  // namespace
}  // namespace edge::uring
