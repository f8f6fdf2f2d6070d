// One tcp or http health probe (common/health/probe.h) against real sockets on loopback, run on a
// real event loop in the test's thread.

#include "common/health/probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "common/uring/event_loop.h"

namespace edge::health {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMs = 1'000'000;

// A socket on 127.0.0.1 with a kernel-chosen port; `listening` or only bound (connects to it are
// refused).
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    if (listening) {
      EXPECT_EQ(listen(fd_, 16), 0);
    }
    socklen_t len = sizeof(sa);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    address_ = net::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sa), len);
  }
  ~LoopbackSocket() { close(fd_); }
  int fd() const { return fd_; }
  const net::SocketAddress& address() const { return address_; }

 private:
  int fd_ = -1;
  net::SocketAddress address_;
};

// Accepts one connection, reads the request head, answers `response` (then closes), or resets
// the connection when `reset`.
class OneShotServer {
 public:
  OneShotServer(std::string response, bool reset = false) : socket_(true) {
    thread_ = std::thread([this, response = std::move(response), reset] {
      int c = accept(socket_.fd(), nullptr, nullptr);
      if (c < 0) return;
      std::string got;
      char buf[1024];
      while (got.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      request_ = got;
      if (reset) {
        linger l{1, 0};
        setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      } else {
        ssize_t unused = write(c, response.data(), response.size());
        (void)unused;
      }
      close(c);
    });
  }
  ~OneShotServer() {
    if (!thread_.joinable()) return;
    shutdown(socket_.fd(), SHUT_RDWR);  // wakes accept() if no probe came
    thread_.join();
  }
  const net::SocketAddress& address() const { return socket_.address(); }
  // What the probe sent (waits for the server to be done).
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  LoopbackSocket socket_;
  std::thread thread_;
  std::string request_;
};

// Runs one probe to completion on a fresh loop.
ProbeOutcome RunProbe(const ProbeSpec& spec) {
  auto loop = uring::EventLoop::Create(uring::RingOptions{64, 256});
  EXPECT_TRUE(loop.ok()) << loop.status();
  ProbeOutcome result;
  int calls = 0;
  Probe probe(loop->get(), [&](const ProbeOutcome& o) {
    result = o;
    ++calls;
    (*loop)->Stop();
  });
  probe.Start(&spec);
  EXPECT_TRUE(probe.running());
  EXPECT_EQ(calls, 0);  // never from inside Start
  EXPECT_TRUE((*loop)->Run().ok());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(probe.running());
  return result;
}

ProbeSpec Tcp(const net::SocketAddress& a, int64_t timeout_ns = 1000 * kMs) {
  return ProbeSpec{false, a, "", timeout_ns};
}

ProbeSpec Http(const net::SocketAddress& a, int64_t timeout_ns = 2000 * kMs) {
  return ProbeSpec{true, a, BuildHealthRequest("/healthz", a.ToString(), "lb4-health"), timeout_ns};
}

TEST(TcpProbe, ListeningBackendIsHealthy) {
  LoopbackSocket s(true);
  ProbeOutcome o = RunProbe(Tcp(s.address()));
  EXPECT_TRUE(o.verdict.ok);
  EXPECT_EQ(o.verdict.detail, "connected");
  EXPECT_GE(o.took_ns, 0);
}

TEST(TcpProbe, RefusedConnectFails) {
  LoopbackSocket s(false);
  ProbeOutcome o = RunProbe(Tcp(s.address()));
  EXPECT_FALSE(o.verdict.ok);
  EXPECT_EQ(o.verdict.detail, "connect refused");
}

TEST(HttpProbe, Status200IsHealthyAndTheRequestIsAsDocumented) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ProbeOutcome o = RunProbe(Http(server.address()));
  EXPECT_TRUE(o.verdict.ok) << o.verdict.detail;
  EXPECT_EQ(o.verdict.detail, "HTTP 200 OK");
  EXPECT_EQ(server.request(),
            BuildHealthRequest("/healthz", server.address().ToString(), "lb4-health"));
}

TEST(HttpProbe, Status500Fails) {
  OneShotServer server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  ProbeOutcome o = RunProbe(Http(server.address()));
  EXPECT_FALSE(o.verdict.ok);
  EXPECT_EQ(o.verdict.detail, "HTTP 500 Internal Server Error");
}

TEST(HttpProbe, MalformedResponseFails) {
  OneShotServer server("hello\r\n\r\n");
  ProbeOutcome o = RunProbe(Http(server.address()));
  EXPECT_FALSE(o.verdict.ok);
  EXPECT_THAT(o.verdict.detail, HasSubstr("malformed response"));
}

TEST(HttpProbe, CloseWithoutAResponseFails) {
  OneShotServer server("");
  ProbeOutcome o = RunProbe(Http(server.address()));
  EXPECT_FALSE(o.verdict.ok);
  EXPECT_EQ(o.verdict.detail, "connection closed without a response");
}

TEST(HttpProbe, ResetFails) {
  OneShotServer server("", /*reset=*/true);
  ProbeOutcome o = RunProbe(Http(server.address()));
  EXPECT_FALSE(o.verdict.ok);
  EXPECT_THAT(o.verdict.detail, HasSubstr("reset by the backend"));
}

TEST(HttpProbe, SilentBackendTimesOutAndTheReadIsCancelled) {
  LoopbackSocket s(true);  // the kernel completes the handshake; nobody ever answers
  const int64_t t0 = uring::MonotonicNowNs();
  ProbeOutcome o = RunProbe(Http(s.address(), 100 * kMs));
  const int64_t elapsed = uring::MonotonicNowNs() - t0;
  EXPECT_FALSE(o.verdict.ok);
  EXPECT_EQ(o.verdict.detail, "timeout after 100ms");
  EXPECT_GE(elapsed, 100 * kMs);
  EXPECT_LT(elapsed, 5000 * kMs);  // bounded: the cancelled read came back
}

TEST(Probe, CancelEndsACheckInFlightWithCancelled) {
  LoopbackSocket s(true);
  auto loop = uring::EventLoop::Create(uring::RingOptions{64, 256});
  ASSERT_TRUE(loop.ok());
  ProbeSpec spec = Http(s.address(), 10'000 * kMs);
  std::string detail;
  Probe probe(loop->get(), [&](const ProbeOutcome& o) {
    detail = o.verdict.detail;
    (*loop)->Stop();
  });
  probe.Start(&spec);
  (*loop)->Post([&] { probe.Cancel(); });
  ASSERT_TRUE((*loop)->Run().ok());
  EXPECT_EQ(detail, "cancelled");
  EXPECT_FALSE(probe.running());
}

TEST(Probe, CanBeReusedForTheNextCheck) {
  LoopbackSocket up(true);
  LoopbackSocket down(false);
  auto loop = uring::EventLoop::Create(uring::RingOptions{64, 256});
  ASSERT_TRUE(loop.ok());
  ProbeSpec a = Tcp(up.address());
  ProbeSpec b = Tcp(down.address());
  std::vector<std::string> details;
  Probe* self = nullptr;
  Probe probe(loop->get(), [&](const ProbeOutcome& o) {
    details.push_back(o.verdict.detail);
    if (details.size() < 4) {
      self->Start(details.size() % 2 == 0 ? &a : &b);  // from inside `done`
    } else {
      (*loop)->Stop();
    }
  });
  self = &probe;
  probe.Start(&a);
  ASSERT_TRUE((*loop)->Run().ok());
  EXPECT_EQ(details, (std::vector<std::string>{"connected", "connect refused", "connected",
                                               "connect refused"}));
}

}  // namespace
}  // namespace edge::health
