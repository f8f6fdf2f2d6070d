// gw7's ClientConnection (and the request path behind it) against a fake kernel
// (tests/unit/common/uring/fake_kernel.h): a real GatewayServer built from a config, a real
// accepted socket, but every io_uring operation the connection and its upstream connection submit
// is answered by the test. So the completions a loaded machine produces and a loopback test
// almost never sees are tried in each state: the shared client buffer ring empty (-ENOBUFS), a
// request head split over many receives, short sends of a response, a reset while a response is
// being sent, EOF inside a head, a receive completing after the connection closed. Each test ends
// with the connection destroyed (connections_active back to 0; ASan builds catch a leak or a use
// after free).
//
// Each test runs on a thread of its own: the server's loop and the stream layer's per-thread
// state (StreamSocket::LoopStopped, which the server's destructor calls) belong to the thread that
// made them, and must not leak from one test into the next.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>

#include "l7/config/gateway_config.h"
#include "l7/server/gateway_server.h"
#include "tests/unit/common/uring/fake_kernel.h"

namespace edge::l7 {
namespace {

using uring::testing::AcceptedLoopbackSocket;
using uring::testing::FakeKernel;
using uring::testing::OnOwnThread;
using uring::testing::TakenSqe;

constexpr char kConfig[] = R"(
[gw7]
listen = "127.0.0.1:0"
[[upstream]]
name = "app"
servers = ["127.0.0.1:9"]
[[route]]
name = "api"
path_prefix = "/api"
upstream = "app"
)";

constexpr char kRequest[] = "GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n";

// A GatewayServer whose loop never runs, one client connection accepted on it, and the fake
// kernel that answers the connection's operations.
class Harness {
 public:
  Harness() {
    auto config = ParseGatewayConfig(kConfig, "gw7.toml");
    EXPECT_TRUE(config.ok()) << config.status();
    auto server = GatewayServer::Create(*config);
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    kernel_ = std::make_unique<FakeKernel>(&server_->loop());
    // A real connected pair over loopback: the accepted end is the client connection's socket.
    server_->OnAccepted(AcceptedLoopbackSocket(&client_));
  }
  ~Harness() {
    server_.reset();
    close(client_);
  }

  GatewayServer& server() { return *server_; }
  FakeKernel& kernel() { return *kernel_; }
  uring::ProvidedBufferRing* ring() { return server_->client_buffers(); }
  int64_t active() { return server_->stats().connections_active; }
  size_t objects() { return server_->connection_objects(); }

  // The oldest SQE with this opcode not yet answered (the fake kernel keeps the others).
  TakenSqe Next(uint8_t opcode) { return kernel_->TakeFirst(opcode); }
  TakenSqe Recv() { return Next(IORING_OP_RECV); }
  // Answers every send with all its bytes (or `chunk` at most) until none is left; returns
  // what was sent.
  std::string DrainSends(size_t chunk = SIZE_MAX) {
    std::string out;
    auto is_send = [](const TakenSqe& t) { return t.opcode() == IORING_OP_SEND; };
    while (std::optional<TakenSqe> send = kernel_->TakeFirst(is_send)) {
      std::string_view data = send->send_data();
      const size_t n = std::min(chunk, data.size());
      out.append(data.substr(0, n));
      FakeKernel::Complete(*send, static_cast<int32_t>(n));
    }
    return out;
  }
  // Every SQE still unanswered completes as after shutdown(); the connection must be gone then.
  void FinishAll() { kernel_->CompleteAll(-ECONNRESET); }

 private:
  std::unique_ptr<GatewayServer> server_;
  std::unique_ptr<FakeKernel> kernel_;
  int client_ = -1;
};

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

TEST(ClientConnectionTest, AnIdleConnectionWaitsWithoutABufferAndAnswers) {
  OnOwnThread([] {
    Harness h;
    EXPECT_EQ(h.active(), 1);
    TakenSqe recv = h.Recv();
    // The head's receive names no buffer: the kernel takes one from the ring when bytes come.
    // The first one tries at once (a new client has usually sent its request already).
    EXPECT_TRUE(recv.buffer_select());
    EXPECT_FALSE(recv.poll_first());
    const unsigned free_before = h.kernel().FreeBuffers(h.ring());
    ASSERT_TRUE(h.kernel().CompleteRecv(recv, kRequest, h.ring()));
    // The ring buffer went back as soon as the codec had copied the head.
    EXPECT_EQ(h.ring()->outstanding(), 0u);
    EXPECT_GE(h.kernel().FreeBuffers(h.ring()), free_before);
    const std::string response = h.DrainSends();
    EXPECT_TRUE(StartsWith(response, "HTTP/1.1 404 ")) << response;
    // Keep-alive: the next head's receive is armed, again without a buffer.
    TakenSqe next = h.Next(IORING_OP_RECV);
    EXPECT_TRUE(next.buffer_select());
    EXPECT_TRUE(next.poll_first());  // the socket is most likely empty now: wait for bytes
    FakeKernel::Complete(next, 0);   // the client closes
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

TEST(ClientConnectionTest, AnEmptyRingFallsBackToTheConnectionsBufferAndBack) {
  OnOwnThread([] {
    Harness h;
    FakeKernel::Complete(h.Recv(), -ENOBUFS);
    EXPECT_EQ(h.server().stats().client_buffer_fallbacks, 1u);
    // The receive is made again at once, into the connection's own buffer.
    TakenSqe own = h.Recv();
    EXPECT_FALSE(own.buffer_select());
    EXPECT_GT(own.sqe.len, 4096u);
    ASSERT_TRUE(h.kernel().CompleteRecv(own, kRequest));
    EXPECT_TRUE(StartsWith(h.DrainSends(), "HTTP/1.1 404 "));
    // The request is answered: the next receive takes from the ring again (the own buffer is
    // freed), and a second request on it is answered too.
    TakenSqe next = h.Next(IORING_OP_RECV);
    EXPECT_TRUE(next.buffer_select());
    ASSERT_TRUE(h.kernel().CompleteRecv(next, kRequest, h.ring()));
    EXPECT_TRUE(StartsWith(h.DrainSends(), "HTTP/1.1 404 "));
    EXPECT_EQ(h.server().stats().client_buffer_fallbacks, 1u);
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

TEST(ClientConnectionTest, AHeadOneByteAtATimeFromRingBuffers) {
  OnOwnThread([] {
    Harness h;
    const std::string request = kRequest;
    TakenSqe recv = h.Recv();
    for (size_t i = 0; i < request.size(); ++i) {
      ASSERT_TRUE(h.kernel().CompleteRecv(recv, request.substr(i, 1),
                                          recv.buffer_select() ? h.ring() : nullptr));
      EXPECT_EQ(h.ring()->outstanding(), 0u);
      if (i + 1 < request.size()) {
        EXPECT_TRUE(h.DrainSends().empty()) << "answered before the head ended, at byte " << i;
        recv = h.Next(IORING_OP_RECV);
      }
    }
    EXPECT_TRUE(StartsWith(h.DrainSends(), "HTTP/1.1 404 "));
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

TEST(ClientConnectionTest, PipelinedRequestsLeaveInOneSendAndShortSendsLoseNothing) {
  OnOwnThread([] {
    Harness h;
    const std::string three = std::string(kRequest) + kRequest + kRequest;
    ASSERT_TRUE(h.kernel().CompleteRecv(h.Recv(), three, h.ring()));
    // The first send carries every answer the receive produced.
    TakenSqe first = h.Next(IORING_OP_SEND);
    ASSERT_EQ(first.opcode(), IORING_OP_SEND);
    std::string all(first.send_data());
    size_t answers = 0;
    for (size_t at = all.find("HTTP/1.1 404 "); at != std::string::npos;
         at = all.find("HTTP/1.1 404 ", at + 1)) {
      ++answers;
    }
    EXPECT_EQ(answers, 3u);
    // It goes 7 bytes at a time: each short send is followed by exactly the rest.
    std::string sent(all.substr(0, 7));
    FakeKernel::Complete(first, 7);
    sent += h.DrainSends(7);
    EXPECT_EQ(sent, all);
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

TEST(ClientConnectionTest, AResetWhileAResponseIsBeingSentEndsTheConnection) {
  OnOwnThread([] {
    Harness h;
    ASSERT_TRUE(h.kernel().CompleteRecv(h.Recv(), kRequest, h.ring()));
    TakenSqe send = h.Next(IORING_OP_SEND);
    ASSERT_EQ(send.opcode(), IORING_OP_SEND);
    FakeKernel::Complete(send, -ECONNRESET);
    EXPECT_EQ(h.active(), 0);    // closed at once ...
    EXPECT_EQ(h.objects(), 1u);  // ... but alive while its receive is still in the kernel
    // That receive completes with bytes after all, into a ring buffer: it goes back to the ring
    // and nothing answers them.
    ASSERT_TRUE(h.kernel().CompleteRecv(h.Next(IORING_OP_RECV), kRequest, h.ring()));
    EXPECT_EQ(h.ring()->outstanding(), 0u);
    EXPECT_TRUE(h.DrainSends().empty());
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

TEST(ClientConnectionTest, EofInsideAHeadClosesWithoutAnAnswer) {
  OnOwnThread([] {
    Harness h;
    ASSERT_TRUE(h.kernel().CompleteRecv(h.Recv(), "GET /nothing HTTP/1.1\r\nHo", h.ring()));
    EXPECT_TRUE(h.DrainSends().empty());
    FakeKernel::Complete(h.Next(IORING_OP_RECV), 0);
    const std::string out = h.DrainSends();
    EXPECT_TRUE(out.empty() || StartsWith(out, "HTTP/1.1 400 ")) << out;
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

TEST(ClientConnectionTest, AProxiedRequestOverTheFakeKernelBothWays) {
  OnOwnThread([] {
    Harness h;
    ASSERT_TRUE(h.kernel().CompleteRecv(
        h.Recv(), "GET /api/x HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n", h.ring()));
    // The upstream connection: connect, then the request (with gw7's forwarding fields).
    FakeKernel::Complete(h.Next(IORING_OP_CONNECT), 0);
    TakenSqe upstream_send = h.Next(IORING_OP_SEND);
    TakenSqe upstream_recv = h.kernel()
                                 .TakeFirst([](const TakenSqe& t) {
                                   return t.opcode() == IORING_OP_RECV && t.multishot();
                                 })
                                 .value_or(TakenSqe{});
    ASSERT_EQ(upstream_send.opcode(), IORING_OP_SEND);
    ASSERT_EQ(upstream_recv.opcode(), IORING_OP_RECV);
    const std::string request(upstream_send.send_data());
    EXPECT_TRUE(StartsWith(request, "GET /api/x HTTP/1.1\r\n")) << request;
    // A client's X-Forwarded-For from outside trusted_proxies is replaced, not appended to.
    EXPECT_EQ(request.find("6.6.6.6"), std::string::npos) << request;
    EXPECT_NE(request.find("X-Request-Id: "), std::string::npos) << request;
    FakeKernel::Complete(upstream_send, static_cast<int32_t>(request.size()));
    // The response comes in two pieces into the upstream ring; the client gets it whole, and
    // the upstream connection goes back to its pool.
    uring::ProvidedBufferRing* up = h.server().upstream_buffers();
    ASSERT_TRUE(h.kernel().CompleteRecv(upstream_recv, "HTTP/1.1 200 OK\r\nContent-Len", up,
                                        /*more=*/true));
    EXPECT_TRUE(h.DrainSends().empty());
    ASSERT_TRUE(h.kernel().CompleteRecv(upstream_recv, "gth: 2\r\n\r\nok", up, /*more=*/true));
    const std::string response = h.DrainSends();
    EXPECT_TRUE(StartsWith(response, "HTTP/1.1 200 OK\r\n")) << response;
    EXPECT_TRUE(response.size() >= 2 && response.substr(response.size() - 2) == "ok") << response;
    EXPECT_EQ(up->outstanding(), 0u);
    // The client closes; the idle upstream connection stays pooled until the server goes.
    FakeKernel::Complete(h.Next(IORING_OP_RECV), 0);
    h.FinishAll();
    EXPECT_EQ(h.objects(), 0u);
  });
}

}  // namespace
}  // namespace edge::l7
