// StreamSocket's lifetime rule against a fake kernel (fake_kernel.h): a handler that closes from
// inside its own callback hears nothing more and is released only after the kernel has finished
// every operation in flight; a loop that stops for good releases every closed socket at once.
// The options gw7's client connections use (single-shot receives with the buffer each one takes,
// half-close, a corked queue whose storage is lent by a StringPool) are tested here too. The
// multishot I/O paths (short sends, -ENOBUFS, pause and held bytes, EOF ordering) are tested
// through gw7's UpstreamConnection (tests/unit/l7/upstream/upstream_connection_test.cc), the
// client paths also through ClientConnection (tests/unit/l7/server/client_connection_test.cc).
// The keep_buffers mode (lb4's relay: received buffers forwarded to another socket's queue, the
// handler choosing each receive, polls, a released socket started again) is tested here with two
// sockets, and through RelayConnection (tests/unit/l4/relay_connection_test.cc).

#include "common/uring/stream_socket.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
  EXPECT_TRUE(send.sqe.msg_flags & MSG_MORE) << "the last bytes wait for the FIN";
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

// keep_buffers: what one socket receives is forwarded to `to` (another socket), as lb4's relay
// does; NextReceive answers `mode`.
struct Forwarder : Recorder {
  void OnSocketBuffer(const StreamSocket::Buffer& buffer) override {
    received.append(buffer.data, buffer.len);
    bids.push_back(buffer.bid);
    if (to != nullptr) {
      to->SendBuffer(buffer);
    } else {
      socket->ReleaseBuffer(buffer);
    }
  }
  StreamSocket::ReceiveMode NextReceive() override {
    ++asked;
    return mode;
  }
  void OnSocketPoll(bool out) override { polls.push_back(out); }
  void OnSocketEnd(int e) override {
    Recorder::OnSocketEnd(e);
    if (e == 0 && to != nullptr) to->ShutdownWrite();  // the relay passes the FIN on
  }

  StreamSocket* to = nullptr;
  StreamSocket::ReceiveMode mode = StreamSocket::ReceiveMode::kStream;
  int asked = 0;
  std::vector<int32_t> bids;
  std::vector<bool> polls;
};

// Two adopted keep_buffers sockets on one ring: `a` receives and forwards to `b`, which only
// sends (it never receives: its mode is kNone).
class StreamSocketKeepBuffersTest : public LoopTest {
 protected:
  static constexpr StreamSocket::Options kOptions{
      .half_close = true, .keep_buffers = true, .multishot_cap = 256};
  void SetUp() override {
    LoopTest::SetUp();
    a_ = std::make_unique<StreamSocket>(loop_.get(), &ha_, buffers_.get(), kOptions);
    b_ = std::make_unique<StreamSocket>(loop_.get(), &hb_, buffers_.get(), kOptions);
    ha_.socket = a_.get();
    hb_.socket = b_.get();
    ha_.to = b_.get();
    hb_.mode = StreamSocket::ReceiveMode::kNone;
    fd_a_ = ::socket(AF_INET, SOCK_STREAM, 0);  // stand for accepted ones
    fd_b_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd_a_, 0);
    ASSERT_GE(fd_b_, 0);
    a_->Adopt(fd_a_);
    b_->Adopt(fd_b_);
  }
  void TearDown() override {
    for (StreamSocket* s : {a_.get(), b_.get()}) {
      if (!s->closed()) s->Close();
    }
    kernel_->CompleteAll(-ECANCELED);
    for (const TakenSqe& t : outstanding_) FakeKernel::Complete(t, -ECANCELED);
    EXPECT_EQ(ha_.released, 1);
    EXPECT_EQ(hb_.released, 1);
    EXPECT_EQ(buffers_->outstanding(), 0u) << "every kept buffer went back";
    ::close(fd_a_);  // the fake kernel does not run the release's close
    ::close(fd_b_);
  }
  bool IsA(const TakenSqe& t) const { return t.sqe.fd == fd_a_; }
  TakenSqe SendOfB() {
    std::optional<TakenSqe> send = kernel_->TakeFirst([this](const TakenSqe& t) {
      return t.sqe.fd == fd_b_ && (t.opcode() == IORING_OP_SEND || t.opcode() == IORING_OP_SENDMSG);
    });
    EXPECT_TRUE(send.has_value());
    return send.value_or(TakenSqe{});
  }

  Forwarder ha_;
  Forwarder hb_;
  std::unique_ptr<StreamSocket> a_;
  std::unique_ptr<StreamSocket> b_;
  int fd_a_ = -1;
  int fd_b_ = -1;
  std::vector<TakenSqe> outstanding_;  // taken by the test, answered at the end
};

TEST_F(StreamSocketKeepBuffersTest,
       BuffersLeaveTheOtherSocketFromWhereTheyArrivedAndGoBackOnceSent) {
  TakenSqe recv = kernel_->TakeFirst([this](const TakenSqe& t) { return IsA(t); }).value();
  EXPECT_EQ(recv.opcode(), IORING_OP_RECV);
  EXPECT_TRUE(recv.multishot()) << "kStream: a multishot receive";
  EXPECT_TRUE(recv.buffer_select());
  EXPECT_EQ(hb_.asked, 1) << "b was asked once, said kNone, and has no receive";
  EXPECT_FALSE(b_->receiving());

  ASSERT_TRUE(kernel_->CompleteRecv(recv, "one", buffers_.get(), /*more=*/true));
  TakenSqe first = SendOfB();
  EXPECT_EQ(first.opcode(), IORING_OP_SEND);
  EXPECT_EQ(first.send_data(), "one");
  EXPECT_EQ(reinterpret_cast<const char*>(first.sqe.addr), buffers_->Data(0)) << "no copy";
  // Two more arrive while that send is in flight: they wait, then leave in one sendmsg.
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "two", buffers_.get(), /*more=*/true));
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "three", buffers_.get(), /*more=*/true));
  EXPECT_EQ(b_->queued_buffers(), 3u);
  EXPECT_EQ(b_->queued(), 11u);
  EXPECT_EQ(buffers_->outstanding(), 3u);
  FakeKernel::Complete(first, 3);
  EXPECT_EQ(buffers_->outstanding(), 2u) << "the first buffer went back once sent";
  EXPECT_EQ(hb_.sent, 1);
  TakenSqe both = SendOfB();
  ASSERT_EQ(both.opcode(), IORING_OP_SENDMSG);
  const auto* msg = reinterpret_cast<const msghdr*>(both.sqe.addr);
  ASSERT_EQ(msg->msg_iovlen, 2u);
  EXPECT_EQ(
      std::string(static_cast<const char*>(msg->msg_iov[1].iov_base), msg->msg_iov[1].iov_len),
      "three");
  // A short one: "two" and "th" went; the rest of "three" follows from the same buffer.
  FakeKernel::Complete(both, 5);
  EXPECT_EQ(buffers_->outstanding(), 1u);
  TakenSqe rest = SendOfB();
  EXPECT_EQ(rest.send_data(), "ree");
  FakeKernel::Complete(rest, 3);
  EXPECT_EQ(buffers_->outstanding(), 0u);
  EXPECT_EQ(hb_.drained, 1);
  EXPECT_EQ(b_->queued(), 0u);
  EXPECT_EQ(ha_.received, "onetwothree");
  outstanding_.push_back(recv);
}

// The relay's FIN: bytes that arrive with their end in one pass leave with MSG_MORE, so the
// shutdown sends them and the FIN as one segment; a send the ring already took is left alone.
TEST_F(StreamSocketKeepBuffersTest, BytesThatArriveWithTheirEndLeaveWithTheFin) {
  TakenSqe recv = kernel_->TakeFirst([this](const TakenSqe& t) { return IsA(t); }).value();
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "response", buffers_.get(), /*more=*/true));
  FakeKernel::Complete(recv, 0);  // the FIN, in the same pass: the send is not submitted yet
  EXPECT_TRUE(b_->write_shut() == false) << "the shutdown waits for the send";
  TakenSqe send = SendOfB();
  EXPECT_EQ(send.send_data(), "response");
  EXPECT_TRUE(send.sqe.msg_flags & MSG_MORE) << "held for the FIN";
  EXPECT_TRUE(send.sqe.msg_flags & MSG_NOSIGNAL);
  FakeKernel::Complete(send, 8);
  EXPECT_TRUE(b_->write_shut()) << "shut once the send completed";
  EXPECT_EQ(hb_.drained, 1);
}

TEST_F(StreamSocketKeepBuffersTest, OnlyTheSendThatTakesTheLastBytesWaitsForTheFin) {
  TakenSqe recv = kernel_->TakeFirst([this](const TakenSqe& t) { return IsA(t); }).value();
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "one", buffers_.get(), /*more=*/true));
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "two", buffers_.get(), /*more=*/true));
  FakeKernel::Complete(recv, 0);  // "two" waits behind the send of "one"
  TakenSqe first = SendOfB();
  EXPECT_EQ(first.send_data(), "one");
  EXPECT_FALSE(first.sqe.msg_flags & MSG_MORE) << "more bytes follow it: sent at once";
  FakeKernel::Complete(first, 3);
  TakenSqe last = SendOfB();
  EXPECT_EQ(last.send_data(), "two");
  EXPECT_TRUE(last.sqe.msg_flags & MSG_MORE);
  FakeKernel::Complete(last, 3);
  EXPECT_TRUE(b_->write_shut());

  // A socket whose send the ring took before the FIN came: nothing to change.
  Forwarder hc;
  hc.mode = StreamSocket::ReceiveMode::kNone;
  StreamSocket c(loop_.get(), &hc, buffers_.get(), kOptions);
  int fd_c = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd_c, 0);
  c.Adopt(fd_c);
  c.Send("early");
  std::optional<TakenSqe> early = kernel_->TakeFirst(
      [fd_c](const TakenSqe& t) { return t.sqe.fd == fd_c && t.opcode() == IORING_OP_SEND; });
  ASSERT_TRUE(early.has_value());
  c.ShutdownWrite();
  EXPECT_FALSE(early->sqe.msg_flags & MSG_MORE);
  EXPECT_FALSE(c.write_shut());
  FakeKernel::Complete(*early, 5);
  EXPECT_TRUE(c.write_shut());
  c.Close();
  kernel_->CompleteAll(-ECANCELED);
  EXPECT_EQ(hc.released, 1);
  ::close(fd_c);
}

TEST_F(StreamSocketKeepBuffersTest,
       TheHandlerChoosesEachReceiveAndAnEmptyRingHandsOverAnAllocation) {
  TakenSqe multishot = kernel_->TakeFirst([this](const TakenSqe& t) { return IsA(t); }).value();
  // Backpressure: the handler ends the stream early; after its end it wants nothing.
  a_->CancelReceive();
  TakenSqe cancel = kernel_->TakeOne(nullptr, IORING_OP_ASYNC_CANCEL);
  EXPECT_EQ(cancel.sqe.addr, multishot.sqe.user_data);
  a_->CancelReceive();
  EXPECT_TRUE(kernel_->Take().empty()) << "one cancel is enough";
  ha_.mode = StreamSocket::ReceiveMode::kNone;
  FakeKernel::Complete(multishot, -ECANCELED);
  EXPECT_FALSE(a_->receiving());
  EXPECT_TRUE(kernel_->Take().empty());
  // Room again: one buffer at a time.
  ha_.mode = StreamSocket::ReceiveMode::kOne;
  a_->Receive();
  TakenSqe one = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(one.multishot());
  EXPECT_TRUE(one.buffer_select());
  EXPECT_EQ(one.sqe.len, buffers_->buffer_size());
  // The ring is empty: counted, and the next receive goes into an allocation of the ring's
  // buffer size, which the handler gets like a ring buffer and which is freed once sent.
  FakeKernel::Complete(one, -ENOBUFS);
  EXPECT_EQ(ha_.ring_empty, 1);
  TakenSqe own = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_FALSE(own.buffer_select());
  EXPECT_EQ(own.sqe.len, buffers_->buffer_size());
  ASSERT_TRUE(kernel_->CompleteRecv(own, "spare"));
  ASSERT_EQ(ha_.bids.size(), 1u);
  EXPECT_EQ(ha_.bids[0], -1) << "not a ring buffer";
  TakenSqe send = SendOfB();
  EXPECT_EQ(send.send_data(), "spare");
  EXPECT_EQ(send.sqe.addr, own.sqe.addr) << "sent from the allocation it arrived in";
  FakeKernel::Complete(send, 5);  // (ASan: freed here, once)
  TakenSqe again = kernel_->TakeOne(IORING_OP_RECV);
  EXPECT_TRUE(again.buffer_select()) << "then the ring again";
  outstanding_.push_back(again);
}

TEST_F(StreamSocketKeepBuffersTest, PollsCountInTheLifetimeAndAReleasedSocketStartsOver) {
  TakenSqe recv = kernel_->TakeFirst([this](const TakenSqe& t) { return IsA(t); }).value();
  ASSERT_TRUE(kernel_->CompleteRecv(recv, "queued", buffers_.get(), /*more=*/true));
  TakenSqe send = SendOfB();
  b_->Poll(/*out=*/true);
  TakenSqe poll = kernel_->TakeOne(IORING_OP_POLL_ADD);
  EXPECT_EQ(poll.sqe.fd, fd_b_);
  FakeKernel::Complete(poll, POLLOUT);
  ASSERT_EQ(hb_.polls.size(), 1u);
  EXPECT_TRUE(hb_.polls[0]);
  b_->Poll(/*out=*/false);
  poll = kernel_->TakeOne(IORING_OP_POLL_ADD);
  // Closed with a send and a poll in flight: released once both are in, the descriptor closed
  // from the ring then, and the queued buffer back.
  b_->Close();
  FakeKernel::Complete(kernel_->TakeOne(IORING_OP_NOP), 0);
  FakeKernel::Complete(send, -EPIPE);
  EXPECT_EQ(hb_.released, 0) << "the poll is still in flight";
  EXPECT_EQ(hb_.ends, 0);
  FakeKernel::Complete(poll, POLLHUP);
  EXPECT_EQ(hb_.polls.size(), 1u) << "a closed socket's handler hears no poll";
  EXPECT_EQ(hb_.released, 1);
  EXPECT_FALSE(b_->busy());
  TakenSqe close = kernel_->TakeOne(nullptr, IORING_OP_CLOSE);
  EXPECT_EQ(close.sqe.fd, fd_b_);
  EXPECT_EQ(buffers_->outstanding(), 0u);
  // The same object connects again (a pooled relay's next backend).
  ASSERT_TRUE(b_->Connect(*net::SocketAddress::Parse("127.0.0.1:9")).ok());
  EXPECT_TRUE(b_->busy());
  EXPECT_FALSE(b_->closed());
  TakenSqe connect = kernel_->TakeOne(IORING_OP_CONNECT);
  const int fd_c = connect.sqe.fd;
  FakeKernel::Complete(connect, 0);
  EXPECT_EQ(hb_.connect_error, 0);
  b_->Send("again");
  TakenSqe sent = kernel_->TakeOne(IORING_OP_SEND);
  EXPECT_EQ(sent.sqe.fd, fd_c);
  EXPECT_EQ(sent.send_data(), "again");
  FakeKernel::Complete(sent, 5);
  b_->Close();
  kernel_->CompleteAll(-ECANCELED);
  EXPECT_EQ(hb_.released, 2);
  ::close(fd_c);
  hb_.released = 1;  // TearDown's count is for one life
  outstanding_.push_back(recv);
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
