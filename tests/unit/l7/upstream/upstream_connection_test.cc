// UpstreamConnection against a fake kernel (tests/unit/common/uring/fake_kernel.h): every SQE it
// submits is answered by the test, so each completion a socket can produce is tried in each
// state: short sends, an empty buffer ring (-ENOBUFS), a pause's -ECANCELED with bytes still
// arriving, EOF while bytes are held, resets, an idle pooled connection that hears from its
// server, and a close with operations in flight (ASan builds catch a use after free or a leak).

#include "l7/upstream/upstream_connection.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "common/uring/compat.h"
#include "tests/unit/common/uring/fake_kernel.h"

namespace edge::l7 {
namespace {

using uring::testing::FakeKernel;
using uring::testing::TakenSqe;

struct RecordingOwner : UpstreamLink::Owner {
  void OnUpstreamConnected(UpstreamLink*, int e) override {
    ++connected;
    connect_error = e;
  }
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override {
    received.append(data);
    if (pause_on_data) c->PauseRead();
  }
  void OnUpstreamClosed(UpstreamLink*, int e) override {
    ++closed;
    close_error = e;
  }
  void OnUpstreamSendDrained(UpstreamLink*) override { ++drained; }

  int connected = 0;
  int connect_error = 1;
  int closed = 0;
  int close_error = 1;
  int drained = 0;
  bool pause_on_data = false;
  std::string received;
};

class UpstreamConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = uring::EventLoop::Create(uring::RingOptions{});
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
    auto buffers = uring::ProvidedBufferRing::Create(&loop_->ring(), 7, 4, 64, 4);
    ASSERT_TRUE(buffers.ok()) << buffers.status();
    buffers_ = std::move(*buffers);
    kernel_ = std::make_unique<FakeKernel>(loop_.get());
  }

  // A connection whose connect has completed, with its first receive armed (returned in *recv).
  UpstreamConnection* Connected(TakenSqe* recv, uring::ProvidedBufferRing* buffers) {
    auto c = UpstreamConnection::Connect(loop_.get(), server_, &owner_, buffers);
    EXPECT_TRUE(c.ok()) << c.status();
    FakeKernel::Complete(kernel_->TakeOne(IORING_OP_CONNECT), 0);
    EXPECT_EQ(owner_.connected, 1);
    EXPECT_EQ(owner_.connect_error, 0);
    *recv = kernel_->TakeOne(IORING_OP_RECV);
    return *c;
  }

  // Close() and its NOP, then every other SQE still in flight answered as the kernel does after
  // shutdown(): the connection must go away (checked by ASan's leak detector) without telling
  // the owner anything more.
  void CloseAndFinish(UpstreamConnection* c, std::vector<TakenSqe> inflight) {
    const int closed_before = owner_.closed;
    c->Close();
    for (TakenSqe& t : kernel_->Take()) inflight.push_back(t);
    for (const TakenSqe& t : inflight) {
      if (t.sqe.user_data == uring::kIgnoredUserData) continue;  // a cancel nobody waits on
      FakeKernel::Complete(t, t.opcode() == IORING_OP_NOP ? 0 : -ECONNRESET);
    }
    EXPECT_EQ(owner_.closed, closed_before) << "Close() detaches the owner";
  }

  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<uring::ProvidedBufferRing> buffers_;
  std::unique_ptr<FakeKernel> kernel_;
  net::SocketAddress server_ = *net::SocketAddress::Parse("127.0.0.1:9");
  RecordingOwner owner_;
};

TEST_F(UpstreamConnectionTest, BytesQueuedBeforeTheConnectLeaveInOneSendAfterIt) {
  auto c = UpstreamConnection::Connect(loop_.get(), server_, &owner_, buffers_.get());
  ASSERT_TRUE(c.ok());
  (*c)->Send("GET / HTTP/1.1\r\n");
  (*c)->Send("\r\n");
  TakenSqe connect = kernel_->TakeOne(IORING_OP_CONNECT);
  EXPECT_TRUE(kernel_->backlog().empty()) << "nothing is sent before the connect completes";
  FakeKernel::Complete(connect, 0);
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  EXPECT_EQ(send.send_data(), "GET / HTTP/1.1\r\n\r\n");
  TakenSqe recv = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_TRUE(recv.multishot());
  EXPECT_TRUE(recv.buffer_select());
  EXPECT_TRUE(recv.poll_first()) << "nothing is due yet: wait for readiness first";
  FakeKernel::Complete(send, static_cast<int32_t>(send.send_data().size()));
  EXPECT_EQ(owner_.drained, 1);
  CloseAndFinish(*c, {recv});
}

TEST_F(UpstreamConnectionTest, AShortSendIsFollowedByTheRestAndOnlyThenDrains) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  c->Send("0123456789");
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  c->Send("abc");  // queued behind the send in flight
  EXPECT_TRUE(kernel_->Take().empty()) << "one send in flight at a time";
  EXPECT_EQ(c->queued(), 13u);
  FakeKernel::Complete(send, 4);
  EXPECT_EQ(owner_.drained, 0);
  TakenSqe rest = kernel_->TakeOne(IORING_OP_SEND);
  EXPECT_EQ(rest.send_data(), "456789");
  FakeKernel::Complete(rest, 6);
  TakenSqe last = kernel_->TakeOne(IORING_OP_SEND);
  EXPECT_EQ(last.send_data(), "abc");
  FakeKernel::Complete(last, 3);
  EXPECT_EQ(owner_.drained, 1);
  EXPECT_EQ(c->queued(), 0u);
  CloseAndFinish(c, {recv});
}

TEST_F(UpstreamConnectionTest, ASendErrorClosesWithThatError) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  c->Send("x");
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_SEND), -EPIPE);
  EXPECT_EQ(owner_.closed, 1);
  EXPECT_EQ(owner_.close_error, -EPIPE);
  std::vector<TakenSqe> inflight = {recv};
  for (TakenSqe& t : kernel_->Take()) inflight.push_back(t);
  for (const TakenSqe& t : inflight)
    FakeKernel::Complete(t, t.opcode() == IORING_OP_NOP ? 0 : -ECONNRESET);
  EXPECT_EQ(owner_.closed, 1) << "no event after the close";
}

TEST_F(UpstreamConnectionTest, ReceivedBuffersGoBackToTheRingAfterTheOwnerHasSeenThem) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  for (int i = 0; i < 10; ++i) {  // more arrivals than the ring has buffers
    ASSERT_TRUE(kernel_->CompleteRecv(recv, "part" + std::to_string(i) + ";", buffers_.get(),
                                      /*more=*/true));
    EXPECT_EQ(buffers_->outstanding(), 0u);
  }
  EXPECT_EQ(owner_.received, "part0;part1;part2;part3;part4;part5;part6;part7;part8;part9;");
  EXPECT_TRUE(kernel_->Take().empty()) << "a multishot receive needs no re-arming";
  CloseAndFinish(c, {recv});
}

TEST_F(UpstreamConnectionTest, AnEmptyRingFallsBackToOneReceiveOfItsOwnThenUsesTheRingAgain) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  FakeKernel::Complete(recv, -ENOBUFS);  // ends the multishot
  TakenSqe single = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(single.multishot());
  EXPECT_FALSE(single.buffer_select());
  EXPECT_GE(single.sqe.len, 1024u);
  ASSERT_TRUE(kernel_->CompleteRecv(single, "HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(owner_.received, "HTTP/1.1 200 OK\r\n");
  TakenSqe again = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_TRUE(again.multishot());
  EXPECT_TRUE(again.buffer_select());
  CloseAndFinish(c, {again});
}

TEST_F(UpstreamConnectionTest, WithoutARingEachReceiveIsASingleOneIntoItsOwnBuffer) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, nullptr);
  EXPECT_FALSE(recv.multishot());
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "abc"));
  TakenSqe next = kernel_->TakeOne(IORING_OP_RECV);
  ASSERT_TRUE(kernel_->CompleteRecv(next, "def"));
  EXPECT_EQ(owner_.received, "abcdef");
  CloseAndFinish(c, {kernel_->TakeOne(IORING_OP_RECV)});
}

TEST_F(UpstreamConnectionTest, BytesArrivingBetweenPauseAndItsCancelAreHeldThenHandedOverInOrder) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  owner_.pause_on_data = true;
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "first", buffers_.get(), true));
  EXPECT_EQ(owner_.received, "first");
  TakenSqe cancel = kernel_->TakeOne(nullptr, IORING_OP_ASYNC_CANCEL);
  EXPECT_EQ(cancel.sqe.addr, recv.sqe.user_data) << "the cancel targets the receive";
  owner_.pause_on_data = false;
  // The kernel had more on its way before the cancel took effect.
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "second", buffers_.get(), true));
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "third", buffers_.get(), true));
  FakeKernel::Complete(recv, -ECANCELED);
  EXPECT_EQ(owner_.received, "first") << "nothing reaches a paused owner";
  EXPECT_EQ(buffers_->outstanding(), 0u) << "held bytes are copied: the ring is not starved";
  EXPECT_TRUE(kernel_->Take().empty()) << "no receive while paused";
  c->ResumeRead();
  EXPECT_EQ(owner_.received, "first") << "held bytes come from the loop, not inside ResumeRead";
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_NOP), 0);
  EXPECT_EQ(owner_.received, "firstsecondthird");
  TakenSqe rearmed = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_TRUE(rearmed.multishot());
  CloseAndFinish(c, {rearmed});
}

TEST_F(UpstreamConnectionTest, TheServersEndWhileBytesAreHeldComesAfterThoseBytes) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  c->PauseRead();
  (void)kernel_->TakeOne(nullptr, IORING_OP_ASYNC_CANCEL);
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "last bytes", buffers_.get(), true));
  FakeKernel::Complete(recv, 0);  // EOF: the multishot ends
  EXPECT_EQ(owner_.closed, 0) << "the end may not overtake held bytes";
  c->ResumeRead();
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_NOP), 0);
  EXPECT_EQ(owner_.received, "last bytes");
  EXPECT_EQ(owner_.closed, 1);
  EXPECT_EQ(owner_.close_error, 0);
  for (const TakenSqe& t : kernel_->Take()) FakeKernel::Complete(t, 0);  // the close NOP
}

TEST_F(UpstreamConnectionTest, AResetIsReportedOnceAndTheConnectionGoesAway) {
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  c->Send("request");
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  FakeKernel::Complete(recv, -ECONNRESET);
  EXPECT_EQ(owner_.closed, 1);
  EXPECT_EQ(owner_.close_error, -ECONNRESET);
  EXPECT_TRUE(c->closed());
  // The send still in flight completes after the close: no event, and only then is it freed.
  FakeKernel::Complete(send, -EPIPE);
  for (const TakenSqe& t : kernel_->Take()) FakeKernel::Complete(t, 0);
  EXPECT_EQ(owner_.closed, 1);
}

TEST_F(UpstreamConnectionTest, AnIdlePooledConnectionThatHearsFromItsServerLeavesThePool) {
  ConnectionPool pool(4);
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  c->set_owner(nullptr);
  pool.Put(c);
  EXPECT_EQ(pool.idle_count(), 1u);
  ASSERT_TRUE(
      kernel_->CompleteRecv(recv, "HTTP/1.1 408 Request Timeout\r\n\r\n", buffers_.get(), true));
  EXPECT_EQ(pool.idle_count(), 0u) << "bytes on an idle connection make it unusable";
  EXPECT_TRUE(c->closed());
  FakeKernel::Complete(recv, -ECONNRESET);  // shutdown() ends the multishot
  for (const TakenSqe& t : kernel_->Take()) FakeKernel::Complete(t, 0);
  EXPECT_EQ(owner_.closed, 0);
}

TEST_F(UpstreamConnectionTest, AFailedConnectIsReportedAndNothingElseIsSubmitted) {
  auto c = UpstreamConnection::Connect(loop_.get(), server_, &owner_, buffers_.get());
  ASSERT_TRUE(c.ok());
  (*c)->Send("never sent");
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_CONNECT), -ECONNREFUSED);
  EXPECT_EQ(owner_.connect_error, -ECONNREFUSED);
  std::vector<TakenSqe> rest = kernel_->Take();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].opcode(), IORING_OP_NOP) << "only the close's NOP";
  FakeKernel::Complete(rest[0], 0);
}

TEST_F(UpstreamConnectionTest, AKernelThatRefusesTheMultishotCapIsArmedAgainWithoutIt) {
  if (!uring::RecvCapSupported()) GTEST_SKIP() << "cap already known to be refused";
  TakenSqe recv;
  UpstreamConnection* c = Connected(&recv, buffers_.get());
  FakeKernel::Complete(recv, -EINVAL);
  EXPECT_EQ(owner_.closed, 0) << "-EINVAL of a capped multishot is the old kernel, not a failure";
  TakenSqe again = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_TRUE(again.multishot());
  EXPECT_FALSE(uring::RecvCapSupported());
  CloseAndFinish(c, {again});
}

}  // namespace
}  // namespace edge::l7
