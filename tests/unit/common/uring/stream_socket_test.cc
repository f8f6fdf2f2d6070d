// StreamSocket's lifetime rule against a fake kernel (fake_kernel.h): a handler that closes from
// inside its own callback hears nothing more and is released only after the kernel has finished
// every operation in flight; a loop that stops for good releases every closed socket at once.
// The options gw7's client connections use (single-shot receives with the buffer each one takes,
// half-close, a corked queue whose storage is lent by a StringPool) are tested here too. The
// multishot I/O paths (short sends, -ENOBUFS, pause and held bytes, EOF ordering) are tested
// through gw7's UpstreamConnection (tests/unit/l7/upstream/upstream_connection_test.cc), the
// client paths also through ClientConnection (tests/unit/l7/server/client_connection_test.cc).

#include "common/uring/stream_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <string>

#include "tests/unit/common/uring/fake_kernel.h"

namespace edge::uring {
namespace {

using testing::FakeKernel;
using testing::TakenSqe;

struct Recorder : StreamSocket::Handler {
  void OnSocketConnected(int e) override { connect_error = e; }
  void OnSocketData(std::string_view data) override {
    received.append(data);
    if (close_on_data) socket->Close();
  }
  void OnSocketEnd(int e) override {
    ++ends;
    end_error = e;
  }
  void OnSocketSendDrained() override { ++drained; }
  void OnSocketReleased() override { ++released; }
  bool WantsLargeReceive() override { return large; }
  void OnSocketSent() override { ++sent; }
  void OnSocketRingEmpty() override { ++ring_empty; }

  StreamSocket* socket = nullptr;
  int connect_error = 1;
  int ends = 0;
  int end_error = 1;
  int drained = 0;
  int released = 0;
  int sent = 0;
  int ring_empty = 0;
  bool large = false;
  bool close_on_data = false;
  std::string received;
};

// A loop, a small buffer ring (4 buffers of 64 bytes) and the fake kernel under them.
class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = EventLoop::Create(RingOptions{});
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
    auto buffers = ProvidedBufferRing::Create(&loop_->ring(), 3, 4, 64, 4);
    ASSERT_TRUE(buffers.ok()) << buffers.status();
    buffers_ = std::move(*buffers);
    kernel_ = std::make_unique<FakeKernel>(loop_.get());
  }

  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ProvidedBufferRing> buffers_;
  std::unique_ptr<FakeKernel> kernel_;
};

class StreamSocketTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    socket_ = std::make_unique<StreamSocket>(loop_.get(), &handler_, buffers_.get());
    handler_.socket = socket_.get();
    ASSERT_TRUE(socket_->Connect(*net::SocketAddress::Parse("127.0.0.1:9")).ok());
    FakeKernel::Complete(kernel_->TakeOne(IORING_OP_CONNECT), 0);
    ASSERT_EQ(handler_.connect_error, 0);
    recv_ = kernel_->TakeOne(IORING_OP_RECV);
  }

  Recorder handler_;
  std::unique_ptr<StreamSocket> socket_;
  TakenSqe recv_;
};

TEST_F(StreamSocketTest, AHandlerClosingInsideItsDataCallbackIsReleasedAfterTheLastCompletion) {
  handler_.close_on_data = true;
  socket_->Send("request");
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  ASSERT_TRUE(kernel_->CompleteRecv(recv_, "bye", buffers_.get(), /*more=*/true));
  EXPECT_EQ(handler_.received, "bye");
  EXPECT_TRUE(socket_->closed());
  EXPECT_EQ(buffers_->outstanding(), 0u) << "the buffer went back even though the handler closed";
  TakenSqe close_nop = kernel_->TakeOne(IORING_OP_NOP);
  FakeKernel::Complete(close_nop, 0);
  EXPECT_EQ(handler_.released, 0) << "the receive and the send are still in flight";
  FakeKernel::Complete(recv_, -ECANCELED);
  EXPECT_EQ(handler_.released, 0) << "the send is still in flight";
  FakeKernel::Complete(send, 7);
  EXPECT_EQ(handler_.released, 1);
  EXPECT_EQ(handler_.ends, 0) << "a handler that closed hears no end";
  EXPECT_EQ(handler_.drained, 0) << "nor that its send drained";
}

TEST_F(StreamSocketTest, AMultishotReceiveStaysInFlightUntilItsLastCompletion) {
  socket_->Close();
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_NOP), 0);
  // Completions still flagged MORE do not end the receive: no release yet.
  ASSERT_TRUE(kernel_->CompleteRecv(recv_, "late", buffers_.get(), /*more=*/true));
  EXPECT_EQ(handler_.released, 0);
  EXPECT_EQ(handler_.received, "") << "nothing reaches a closed socket's handler";
  FakeKernel::Complete(recv_, 0);
  EXPECT_EQ(handler_.released, 1);
}

TEST_F(StreamSocketTest, ShutdownWriteWaitsForQueuedBytesThenSendIsIgnored) {
  socket_->Send("last words");
  socket_->ShutdownWrite();
  socket_->Send("ignored");
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  EXPECT_EQ(send.send_data(), "last words");
  FakeKernel::Complete(send, 10);
  EXPECT_EQ(handler_.drained, 1);
  EXPECT_TRUE(kernel_->Take().empty()) << "nothing else is sent after the half-close";
  EXPECT_EQ(socket_->queued(), 0u);
  socket_->Close();
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_NOP), 0);
  FakeKernel::Complete(recv_, -ECONNRESET);
  EXPECT_EQ(handler_.released, 1);
}

TEST(StreamSocketConnect, ClosingWhileConnectingCancelsTheConnectAndTellsNothing) {
  auto loop = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(loop.ok()) << loop.status();
  FakeKernel kernel(loop->get());
  Recorder handler;
  StreamSocket socket(loop->get(), &handler, nullptr);
  ASSERT_TRUE(socket.Connect(*net::SocketAddress::Parse("127.0.0.1:9")).ok());
  TakenSqe connect = kernel.TakeOne(IORING_OP_CONNECT);
  socket.Close();  // a connect timeout
  TakenSqe cancel = kernel.TakeOne(nullptr, IORING_OP_ASYNC_CANCEL);
  EXPECT_EQ(cancel.sqe.addr, connect.sqe.user_data) << "the cancel targets the connect";
  FakeKernel::Complete(kernel.TakeOne(IORING_OP_NOP), 0);
  EXPECT_EQ(handler.released, 0) << "the connect is still in flight";
  FakeKernel::Complete(connect, -ECANCELED);
  EXPECT_EQ(handler.connect_error, 1) << "a closed socket's handler hears no connect result";
  EXPECT_EQ(handler.released, 1);
}

TEST(StreamSocketAdopt, AnAcceptedSocketIsConnectedAtOnceAndReceives) {
  auto loop = EventLoop::Create(RingOptions{});
  ASSERT_TRUE(loop.ok()) << loop.status();
  auto buffers = ProvidedBufferRing::Create(&(*loop)->ring(), 3, 4, 64, 4);
  ASSERT_TRUE(buffers.ok()) << buffers.status();
  FakeKernel kernel(loop->get());
  Recorder handler;
  StreamSocket socket(loop->get(), &handler, buffers->get());
  handler.socket = &socket;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // stands for an accepted one
  ASSERT_GE(fd, 0);
  socket.Adopt(fd);
  EXPECT_TRUE(socket.connected());
  EXPECT_EQ(handler.connect_error, 1) << "no connect result for a socket that needed no connect";
  TakenSqe recv = kernel.TakeOne(IORING_OP_RECV);
  EXPECT_EQ(recv.sqe.fd, fd) << "the receive is armed on the adopted socket";
  ASSERT_TRUE(kernel.CompleteRecv(recv, "GET / HTTP/1.1", buffers->get(), /*more=*/true));
  EXPECT_EQ(handler.received, "GET / HTTP/1.1");
  socket.Send("HTTP/1.1 200 OK");
  TakenSqe send = kernel.TakeOne(IORING_OP_SEND);
  EXPECT_EQ(send.sqe.fd, fd);
  EXPECT_EQ(send.send_data(), "HTTP/1.1 200 OK");
  FakeKernel::Complete(send, 15);
  EXPECT_EQ(handler.drained, 1);
  socket.Close();
  FakeKernel::Complete(kernel.TakeOne(IORING_OP_NOP), 0);
  FakeKernel::Complete(recv, 0);
  EXPECT_EQ(handler.released, 1);
}

// An adopted socket with gw7's client options: single-shot receives, half-close, a lent queue.
class StreamSocketSingleShotTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    socket_ = std::make_unique<StreamSocket>(
        loop_.get(), &handler_, buffers_.get(),
        StreamSocket::Options{.single_shot = true, .half_close = true, .send_buffers = &pool_});
    handler_.socket = socket_.get();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);  // stands for an accepted one
    ASSERT_GE(fd_, 0);
    socket_->Adopt(fd_);
  }
  void TearDown() override {
    if (!socket_->closed()) socket_->Close();
    kernel_->CompleteAll(-ECANCELED);
    for (const TakenSqe& t : outstanding_) FakeKernel::Complete(t, -ECANCELED);
    EXPECT_EQ(handler_.released, 1);
  }

  StringPool pool_;
  Recorder handler_;
  std::unique_ptr<StreamSocket> socket_;
  int fd_ = -1;
  std::vector<TakenSqe> outstanding_;  // taken by the test, answered at the end
};

TEST_F(StreamSocketSingleShotTest, EachReceiveTakesTheBufferItsInputNeeds) {
  TakenSqe first = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(first.multishot());
  EXPECT_TRUE(first.buffer_select()) << "little expected: the kernel picks a ring buffer";
  EXPECT_FALSE(first.poll_first()) << "a new client has usually sent already: try at once";
  ASSERT_TRUE(kernel_->CompleteRecv(first, "GET / HTTP/1.1\r\n", buffers_.get(), false));
  EXPECT_EQ(handler_.received, "GET / HTTP/1.1\r\n");
  EXPECT_EQ(buffers_->outstanding(), 0u) << "the ring buffer went back after the call";

  handler_.large = true;  // a body is due
  ASSERT_TRUE(kernel_->CompleteRecv(kernel_->TakeOne(IORING_OP_RECV), "x", buffers_.get(), false));
  TakenSqe large = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(large.buffer_select());
  EXPECT_EQ(large.sqe.len, StreamSocket::kRecvBufferSize) << "the socket's own buffer";
  EXPECT_TRUE(large.poll_first());
  ASSERT_TRUE(kernel_->CompleteRecv(large, std::string(StreamSocket::kRecvBufferSize, 'b'), nullptr,
                                    false));
  handler_.large = false;
  TakenSqe after_full = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(after_full.buffer_select()) << "after a full receive more is waiting: large again";
  EXPECT_FALSE(after_full.poll_first()) << "and it tries at once";
  EXPECT_EQ(after_full.sqe.addr, large.sqe.addr) << "the same own buffer, kept while large";
  ASSERT_TRUE(kernel_->CompleteRecv(after_full, "end", nullptr, false));
  TakenSqe small = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_TRUE(small.buffer_select()) << "little expected again: back to the ring";
  EXPECT_TRUE(small.poll_first());

  // The ring is empty: counted, one receive into the socket's own buffer, then the ring again.
  FakeKernel::Complete(small, -ENOBUFS);
  EXPECT_EQ(handler_.ring_empty, 1);
  TakenSqe fallback = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(fallback.buffer_select());
  ASSERT_TRUE(kernel_->CompleteRecv(fallback, "late", nullptr, false));
  outstanding_.push_back(kernel_->TakeOne(IORING_OP_RECV));
  EXPECT_TRUE(outstanding_.back().buffer_select());
  EXPECT_EQ(handler_.received.size(), 16 + 1 + StreamSocket::kRecvBufferSize + 3 + 4);
}

TEST_F(StreamSocketSingleShotTest, ThePeersEofEndsReadingOnlyAndTheAnswerStillLeaves) {
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_RECV), 0);
  EXPECT_EQ(handler_.ends, 1);
  EXPECT_EQ(handler_.end_error, 0);
  EXPECT_FALSE(socket_->closed()) << "half_close: the socket stays open for our answer";
  EXPECT_TRUE(socket_->peer_ended());
  socket_->ResumeRead();
  EXPECT_TRUE(kernel_->Take().empty()) << "no receive after the peer's EOF";
  socket_->Send("HTTP/1.1 200 OK\r\n\r\n");
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  FakeKernel::Complete(send, static_cast<int32_t>(send.send_data().size()));
  EXPECT_EQ(handler_.drained, 1);
}

TEST_F(StreamSocketSingleShotTest, CorkedBytesWaitForUncorkAndTheQueueStorageIsLent) {
  std::string spare;
  spare.reserve(1000);
  pool_.Return(&spare);
  ASSERT_EQ(pool_.free_count(), 1u);
  socket_->Send("first");
  EXPECT_EQ(pool_.free_count(), 0u) << "the queue borrowed the pool's buffer";
  TakenSqe send = kernel_->TakeOne(IORING_OP_SEND);
  socket_->Cork();
  socket_->Send("second");
  FakeKernel::Complete(send, 5);
  EXPECT_EQ(handler_.sent, 1);
  EXPECT_EQ(handler_.drained, 0) << "corked bytes are still queued";
  EXPECT_TRUE(kernel_->TakeFirst([](const TakenSqe& t) { return t.opcode() == IORING_OP_SEND; }) ==
              std::nullopt)
      << "a send completing does not uncork";
  socket_->ReturnIdleBuffers();
  EXPECT_EQ(pool_.free_count(), 0u) << "bytes are queued: nothing goes back";
  socket_->Uncork();
  TakenSqe second = kernel_->TakeOne(IORING_OP_SEND);
  EXPECT_EQ(second.send_data(), "second");
  FakeKernel::Complete(second, 6);
  EXPECT_EQ(handler_.drained, 1);
  socket_->ReturnIdleBuffers();
  EXPECT_GE(pool_.free_count(), 1u) << "idle: the queue's storage went back to the pool";
  EXPECT_EQ(socket_->queued(), 0u);
}

// Last in this file, in a suite of its own (suites run in the order they first appear): the
// loop-stopped state is per thread and stays set.
class StreamSocketAfterTheLoopTest : public StreamSocketTest {};
TEST_F(StreamSocketAfterTheLoopTest, ALoopThatStopsForGoodReleasesClosedSocketsAtOnce) {
  socket_->Close();
  EXPECT_EQ(handler_.released, 0);
  StreamSocket::LoopStopped();  // the close's NOP and the receive never complete
  EXPECT_EQ(handler_.released, 1);
  StreamSocket other(loop_.get(), &handler_, nullptr);
  other.Close();
  EXPECT_EQ(handler_.released, 2) << "after the stop, Close() releases at once";
  (void)kernel_->Take();
}

}  // namespace
}  // namespace edge::uring
