// The TLS path of lb4's RelayConnection against a fake kernel (tests/unit/common/uring/
// fake_kernel.h): a tcp listener whose pool has [pool.tls], so the connection's backend side is
// a tls::Transport and the test plays the backend with a real TLS server on memory BIOs. Tried
// on purpose: the handshake's bytes leave for the backend right after the connect (the client is
// not read before the relay), a short send of ciphertext is continued from where it stopped,
// -ENOBUFS on the TLS side falls back to a buffer of the flow's own, a client's FIN becomes a
// close_notify then a FIN, and a backend that resets mid-handshake (with a send still in flight)
// is a failed connect: the next backend is tried once the old socket's operations are done.
// And a mode = "tls" listener: the client's handshake comes before the connect, its plaintext
// reaches a plain backend, the backend's FIN becomes a close_notify, and bytes that are not TLS
// are a counted handshake failure with no connect.
//
// Each test runs on a thread of its own, as the worker's ring belongs to the thread that made it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "common/tls/transport.h"
#include "tests/unit/common/tls/cert_dir.h"
#include "tests/unit/l4/relay_harness.h"

namespace edge::l4 {
namespace {

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
balance = "round_robin"
connect_retries = 1
backends = [{ address = "127.0.0.1:9" }, { address = "127.0.0.1:10" }]
tls = { verify = false }
)";

// The backend: a TLS server on memory BIOs, fed what the relay sends it.
class TlsBackend {
 public:
  TlsBackend() {
    tls::ServerContextOptions options;
    options.certificates = {certs_.Make("origin.test", {"origin.test"})};
    auto context = tls::ServerContext::Create(options);
    EXPECT_TRUE(context.ok()) << context.status();
    context_ = std::move(*context);
    EXPECT_TRUE(server_.Attach(context_->NewSsl()));
  }
  // Ciphertext from lb4; returns the handshake's state after it.
  tls::Transport::Result Receive(std::string_view wire) {
    EXPECT_TRUE(server_.Feed(wire.data(), wire.size()));
    return server_.Handshake();
  }
  std::string Output() {
    std::string out;
    server_.TakeOutput(&out);
    return out;
  }
  // Plaintext decrypted so far, and how the last read ended.
  std::string Read(tls::Transport::Result* last) {
    std::string got;
    char buf[4096];
    size_t n = 0;
    while ((*last = server_.Read(buf, sizeof(buf), &n)) == tls::Transport::Result::kOk) {
      got.append(buf, n);
    }
    return got;
  }
  std::string Encrypt(std::string_view plain) {
    EXPECT_TRUE(server_.Write(plain.data(), plain.size()));
    return Output();
  }

 private:
  tls::CertDir certs_;
  std::unique_ptr<tls::ServerContext> context_;
  tls::Transport server_;
};

class Harness : public testing::RelayHarness {
 public:
  Harness() : RelayHarness(kConfig) {}

  // Everything the relay sends the backend until it waits for something else, each send
  // completed whole.
  std::string DrainToBackend() {
    std::string out;
    while (std::optional<TakenSqe> send = FindSend(false)) {
      std::string bytes = SentBytes(*send);
      out += bytes;
      FakeKernel::Complete(*send, static_cast<int32_t>(bytes.size()));
    }
    return out;
  }
  // `wire` from the backend, through as many single-shot receives as ring buffers it takes
  // (each armed again by the relay after the last one).
  void FromBackend(std::string_view wire) {
    const size_t size = ring()->buffer_size();
    for (size_t at = 0; at < wire.size(); at += size) {
      TakenSqe recv = TakeRecv(false);
      ASSERT_TRUE(kernel().CompleteRecv(recv, wire.substr(at, size), ring()));
    }
  }
  // Runs the backend's handshake to the end over the fake kernel.
  void Handshake(TlsBackend& backend) {
    for (int round = 0; round < 4; ++round) {
      tls::Transport::Result r = backend.Receive(DrainToBackend());
      FromBackend(backend.Output());
      if (r == tls::Transport::Result::kOk) return;
      ASSERT_EQ(r, tls::Transport::Result::kWantRead);
    }
    FAIL() << "the backend's handshake did not complete";
  }
};

TEST(RelayTlsTest, HandshakeAfterConnectThenBytesThroughTheTransportsBothWays) {
  OnOwnThread([] {
    Harness h;
    TlsBackend backend;
    FakeKernel::Complete(h.Next(IORING_OP_CONNECT), 0);
    // The ClientHello leaves for the backend at once; the client is not read before the relay.
    std::optional<TakenSqe> hello = h.FindSend(false);
    ASSERT_TRUE(hello.has_value());
    EXPECT_FALSE(h.FindRecv(true).has_value());
    const std::string wire = SentBytes(*hello);
    ASSERT_GT(wire.size(), 10u);
    EXPECT_EQ(wire[0], 0x16);  // a TLS handshake record
    // A short send: the rest follows, from where it stopped.
    FakeKernel::Complete(*hello, 10);
    std::optional<TakenSqe> rest = h.FindSend(false);
    ASSERT_TRUE(rest.has_value());
    EXPECT_EQ(SentBytes(*rest), wire.substr(10));
    FakeKernel::Complete(*rest, static_cast<int32_t>(wire.size() - 10));
    // The backend's receive during the handshake is single-shot.
    std::optional<TakenSqe> recv = h.FindRecv(false);
    ASSERT_TRUE(recv.has_value());
    EXPECT_FALSE(recv->multishot());
    EXPECT_TRUE(recv->buffer_select());
    ASSERT_EQ(backend.Receive(wire), tls::Transport::Result::kWantRead);
    const std::string flight = backend.Output();
    const size_t size = h.ring()->buffer_size();
    ASSERT_TRUE(h.kernel().CompleteRecv(*recv, std::string_view(flight).substr(0, size), h.ring()));
    h.FromBackend(std::string_view(flight).substr(std::min(size, flight.size())));
    ASSERT_EQ(backend.Receive(h.DrainToBackend()), tls::Transport::Result::kOk);
    EXPECT_EQ(h.ring()->outstanding(), 0u);  // every ciphertext buffer went straight back
    h.FromBackend(backend.Output());         // the backend's session tickets, if any

    // Relaying: the client is read now, and its bytes reach the backend encrypted. (With the
    // handshake's last bytes still queued the receive is single-shot, as for a backlog.)
    TakenSqe client_recv = h.TakeRecv(true);
    EXPECT_TRUE(client_recv.buffer_select());
    ASSERT_TRUE(h.kernel().CompleteRecv(client_recv, "hello", h.ring(), client_recv.multishot()));
    if (!client_recv.multishot()) client_recv = h.TakeRecv(true);
    EXPECT_EQ(h.ring()->outstanding(), 0u);  // encrypted out of the ring buffer, given back
    tls::Transport::Result last;
    backend.Receive(h.DrainToBackend());
    EXPECT_EQ(backend.Read(&last), "hello");
    // The backend's answer reaches the client decrypted, in an owned chunk.
    std::optional<TakenSqe> backend_recv = h.FindRecv(false);
    ASSERT_TRUE(backend_recv.has_value());
    ASSERT_TRUE(h.kernel().CompleteRecv(*backend_recv, backend.Encrypt("world"), h.ring(),
                                        /*more=*/true));
    std::optional<TakenSqe> to_client = h.FindSend(true);
    ASSERT_TRUE(to_client.has_value());
    EXPECT_EQ(SentBytes(*to_client), "world");
    FakeKernel::Complete(*to_client, 5);

    // The ring runs dry on the TLS side: a receive into a buffer of the flow's own follows.
    FakeKernel::Complete(*backend_recv, -ENOBUFS);  // the multishot ends
    TakenSqe own = h.TakeRecv(false);
    EXPECT_FALSE(own.buffer_select());
    ASSERT_TRUE(h.kernel().CompleteRecv(own, backend.Encrypt("again")));
    to_client = h.FindSend(true);
    ASSERT_TRUE(to_client.has_value());
    EXPECT_EQ(SentBytes(*to_client), "again");
    FakeKernel::Complete(*to_client, 5);
    EXPECT_EQ(h.worker().stats().buffer_fallbacks.Get(), 1u);
    TakenSqe again = h.TakeRecv(false);
    EXPECT_TRUE(again.buffer_select());

    // The client's FIN: a close_notify to the backend before the FIN.
    FakeKernel::Complete(client_recv, 0);
    backend.Receive(h.DrainToBackend());
    backend.Read(&last);
    EXPECT_EQ(last, tls::Transport::Result::kClosed);
    EXPECT_EQ(h.live(), 1);  // the backend may still answer (half-close)
    FakeKernel::Complete(again, 0);
    h.FinishAll();
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

TEST(RelayTlsTest, ABackendResetMidHandshakeMovesOnToTheNextBackend) {
  OnOwnThread([] {
    Harness h;
    TakenSqe first = h.Next(IORING_OP_CONNECT);
    FakeKernel::Complete(first, 0);
    std::optional<TakenSqe> hello = h.FindSend(false);  // left in flight
    ASSERT_TRUE(hello.has_value());
    TakenSqe recv = h.TakeRecv(false);
    FakeKernel::Complete(recv, -ECONNRESET);
    // The old socket is shut down with a send still in flight: no connect is made until that
    // send and the close's NOP are in (so none of it can reach the next backend's socket).
    auto connect_made = [&h] {
      return h.kernel()
          .TakeFirst([](const TakenSqe& t) { return t.opcode() == IORING_OP_CONNECT; })
          .has_value();
    };
    EXPECT_FALSE(connect_made());
    FakeKernel::Complete(*hello, -EPIPE);  // what the shutdown makes of it
    EXPECT_FALSE(connect_made());
    FakeKernel::Complete(h.kernel().TakeOne(IORING_OP_NOP), 0);
    TakenSqe second = h.Next(IORING_OP_CONNECT);
    EXPECT_NE(second.sqe.fd, -1);
    EXPECT_EQ(h.worker().stats().connect_failures.Get(), 1u);
    // The next backend gets a new handshake of its own.
    FakeKernel::Complete(second, 0);
    std::optional<TakenSqe> hello2 = h.FindSend(false);
    ASSERT_TRUE(hello2.has_value());
    const std::string wire2 = SentBytes(*hello2);
    EXPECT_EQ(wire2[0], 0x16);
    FakeKernel::Complete(*hello2, static_cast<int32_t>(wire2.size()));
    EXPECT_EQ(h.live(), 1);
    // That one closes mid-handshake too, and no retry is left: the connection ends.
    FakeKernel::Complete(h.TakeRecv(false), 0);
    EXPECT_EQ(h.worker().stats().connect_failures.Get(), 2u);
    h.FinishAll();
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

// A mode = "tls" listener (the client's TLS terminated here) in front of a plain pool.
class TlsListener {
 public:
  TlsListener() {
    const tls::ServerContextOptions::Certificate cert = certs_.Make("front.test", {"front.test"});
    config_ = R"(
[lb4]
buffer_size = "1KiB"
buffers_per_worker = 64
splice = false
[[listener]]
name = "tls"
bind = "127.0.0.1:0"
mode = "tls"
pool = "p"
tls = { certificates = [{ cert = ")" +
              cert.cert_file + R"(", key = ")" + cert.key_file + R"(" }] }
[[pool]]
name = "p"
backends = [{ address = "127.0.0.1:9" }]
)";
    auto context = tls::ClientContext::Create(
        {.ca_file = cert.cert_file, .server_name = "front.test", .session_reuse = false});
    EXPECT_TRUE(context.ok()) << context.status();
    context_ = std::move(*context);
    EXPECT_TRUE(client_.Attach(context_->NewSsl(name_)));
  }
  const char* config() const { return config_.c_str(); }
  tls::Transport& client() { return client_; }
  std::string Output() {
    std::string out;
    client_.TakeOutput(&out);
    return out;
  }

 private:
  tls::CertDir certs_;
  std::string config_;
  const std::string name_ = "lb4";  // the session cache's key; outlives the SSL
  std::unique_ptr<tls::ClientContext> context_;
  tls::Transport client_;
};

class ClientHarness : public testing::RelayHarness {
 public:
  explicit ClientHarness(const char* config) : RelayHarness(config) {}
  // `wire` from the client, through as many receives as ring buffers it takes.
  void FromClient(std::string_view wire) {
    const size_t size = ring()->buffer_size();
    for (size_t at = 0; at < wire.size(); at += size) {
      TakenSqe recv = TakeRecv(true);
      ASSERT_TRUE(kernel().CompleteRecv(recv, wire.substr(at, size), ring()));
    }
  }
  // Everything the relay sends the client until it waits, each send completed whole.
  std::string DrainToClient() {
    std::string out;
    while (std::optional<TakenSqe> send = FindSend(true)) {
      std::string bytes = SentBytes(*send);
      out += bytes;
      FakeKernel::Complete(*send, static_cast<int32_t>(bytes.size()));
    }
    return out;
  }
};

TEST(RelayTlsTest, AClientHandshakeThenTheConnectThenPlaintextToTheBackend) {
  OnOwnThread([] {
    TlsListener front;
    ClientHarness h(front.config());
    // Nothing is connected before the client's handshake completes.
    EXPECT_FALSE(h.kernel()
                     .TakeFirst([](const TakenSqe& t) { return t.opcode() == IORING_OP_CONNECT; })
                     .has_value());
    tls::Transport& client = front.client();
    ASSERT_EQ(client.Handshake(), tls::Transport::Result::kWantRead);
    h.FromClient(front.Output());
    const std::string flight = h.DrainToClient();
    ASSERT_FALSE(flight.empty());
    ASSERT_TRUE(client.Feed(flight.data(), flight.size()));
    ASSERT_EQ(client.Handshake(), tls::Transport::Result::kOk);
    h.FromClient(front.Output());  // the client's Finished
    EXPECT_EQ(h.worker().stats().tls_handshakes.Get(), 1u);
    const std::string tickets = h.DrainToClient();  // sent while the backend is connected
    ASSERT_TRUE(tickets.empty() || client.Feed(tickets.data(), tickets.size()));
    FakeKernel::Complete(h.Next(IORING_OP_CONNECT), 0);

    // The client's bytes reach the backend decrypted, the backend's the client encrypted.
    ASSERT_TRUE(client.Write("ping", 4));
    h.FromClient(front.Output());
    std::optional<TakenSqe> to_backend = h.FindSend(false);
    ASSERT_TRUE(to_backend.has_value());
    EXPECT_EQ(SentBytes(*to_backend), "ping");
    FakeKernel::Complete(*to_backend, 4);
    TakenSqe backend_recv = h.TakeRecv(false);
    ASSERT_TRUE(h.kernel().CompleteRecv(backend_recv, "pong", h.ring(), /*more=*/true));
    const std::string wire = h.DrainToClient();
    ASSERT_TRUE(client.Feed(wire.data(), wire.size()));
    char buf[64];
    size_t n = 0;
    ASSERT_EQ(client.Read(buf, sizeof(buf), &n), tls::Transport::Result::kOk);
    EXPECT_EQ(std::string(buf, n), "pong");
    EXPECT_EQ(h.ring()->outstanding(), 0u);

    // The backend's FIN: a close_notify to the client (then a FIN).
    FakeKernel::Complete(backend_recv, 0);
    const std::string notify = h.DrainToClient();
    ASSERT_TRUE(client.Feed(notify.data(), notify.size()));
    EXPECT_EQ(client.Read(buf, sizeof(buf), &n), tls::Transport::Result::kClosed);
    EXPECT_EQ(h.live(), 1);  // the client may still send (half-close)
    // The client's close_notify ends its direction too: the connection ends.
    client.Shutdown();
    h.FromClient(front.Output());
    h.FinishAll();
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

TEST(RelayTlsTest, NotTlsFromTheClientIsAFailedHandshakeAndNoConnect) {
  OnOwnThread([] {
    TlsListener front;
    ClientHarness h(front.config());
    h.FromClient("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    uint64_t failures = 0;
    for (const auto& counter : h.worker().stats().tls_handshake_failures) failures += counter.Get();
    EXPECT_EQ(failures, 1u);
    EXPECT_FALSE(h.kernel()
                     .TakeFirst([](const TakenSqe& t) { return t.opcode() == IORING_OP_CONNECT; })
                     .has_value());
    h.FinishAll();
    EXPECT_EQ(h.live(), 0);
    EXPECT_EQ(h.ring()->outstanding(), 0u);
  });
}

}  // namespace
}  // namespace edge::l4
