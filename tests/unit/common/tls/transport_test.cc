// Transport: the same class on both ends of an in-memory TLS connection (a ServerContext SSL and
// a ClientContext SSL, as lb4 runs them towards clients and backends), the caller carrying the
// ciphertext between them as lb4 does with io_uring.

#include "common/tls/transport.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <string>

#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "tests/unit/common/tls/cert_dir.h"

namespace edge::tls {
namespace {

// Moves what `from` has to send into `to`.
void Carry(Transport& from, Transport& to) {
  std::string wire;
  from.TakeOutput(&wire);
  if (!wire.empty()) {
    ASSERT_TRUE(to.Feed(wire.data(), wire.size()));
  }
}

// Everything `t` can decrypt now, and how the last read ended.
std::string ReadAll(Transport& t, Transport::Result* last) {
  std::string got;
  char buf[4096];
  size_t n = 0;
  while ((*last = t.Read(buf, sizeof(buf), &n)) == Transport::Result::kOk) got.append(buf, n);
  return got;
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerContextOptions options;
    options.certificates = {certs_.Make("origin.test", {"origin.test"})};
    auto server = ServerContext::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_context_ = std::move(*server);
    auto client = ClientContext::Create(
        {.ca_file = options.certificates[0].cert_file, .server_name = "origin.test"});
    ASSERT_TRUE(client.ok()) << client.status();
    client_context_ = std::move(*client);
  }

  // Runs both handshakes to the end: true when both completed.
  bool Handshake() {
    if (!server_.Attach(server_context_->NewSsl()) ||
        !client_.Attach(client_context_->NewSsl(backend_))) {
      return false;
    }
    for (int i = 0; i < 10; ++i) {
      Transport::Result c = client_.Handshake();
      Carry(client_, server_);
      Transport::Result s = server_.Handshake();
      Carry(server_, client_);
      if (c == Transport::Result::kError || s == Transport::Result::kError) {
        ADD_FAILURE() << "handshake: " << OpenSslErrors();
        return false;
      }
      if (c == Transport::Result::kOk && s == Transport::Result::kOk) return true;
    }
    return false;
  }

  CertDir certs_;
  const std::string backend_ = "b1";  // the session cache's key; outlives the SSLs
  std::unique_ptr<ServerContext> server_context_;
  std::unique_ptr<ClientContext> client_context_;
  Transport server_;
  Transport client_;
};

TEST_F(TransportTest, InactiveUntilAttached) {
  Transport t;
  EXPECT_FALSE(t.active());
  EXPECT_FALSE(t.Attach(nullptr));  // a context out of memory: nothing held
  EXPECT_FALSE(t.active());
}

TEST_F(TransportTest, HandshakeThenBytesBothWaysThenCloseNotify) {
  ASSERT_TRUE(Handshake());
  Transport::Result last;
  const std::string big(100000, 'x');  // several records
  ASSERT_TRUE(client_.Write(big.data(), big.size()));
  Carry(client_, server_);
  EXPECT_EQ(ReadAll(server_, &last), big);
  EXPECT_EQ(last, Transport::Result::kWantRead);  // all read: wait for more, not EOF
  ASSERT_TRUE(server_.Write("reply", 5));
  Carry(server_, client_);
  EXPECT_EQ(ReadAll(client_, &last), "reply");
  // A close_notify reads as kClosed on the other side.
  client_.Shutdown();
  EXPECT_FALSE(client_.PeekOutput().empty());  // peeking leaves it in place
  Carry(client_, server_);
  EXPECT_TRUE(client_.PeekOutput().empty());
  EXPECT_EQ(ReadAll(server_, &last), "");
  EXPECT_EQ(last, Transport::Result::kClosed);
}

TEST_F(TransportTest, GarbageIsAnError) {
  ASSERT_TRUE(server_.Attach(server_context_->NewSsl()));
  const std::string garbage = "GET / HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(server_.Feed(garbage.data(), garbage.size()));
  EXPECT_EQ(server_.Handshake(), Transport::Result::kError);
  EXPECT_NE(server_.HandshakeFailure(), "") << "no verify error: OpenSSL's queue says why";
  EXPECT_EQ(ERR_peek_error(), 0u) << "and is cleared";
  server_.Reset();
  EXPECT_FALSE(server_.active());
}

TEST_F(TransportTest, AFailedVerifySaysWhichCheckFailed) {
  // The client trusts another CA than the one that signed the server's certificate.
  auto other =
      ClientContext::Create({.ca_file = certs_.Make("other.test", {"other.test"}).cert_file,
                             .server_name = "origin.test"});
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(server_.Attach(server_context_->NewSsl()));
  ASSERT_TRUE(client_.Attach((*other)->NewSsl(backend_)));
  Transport::Result c = Transport::Result::kWantRead;
  for (int i = 0; i < 10 && c == Transport::Result::kWantRead; ++i) {
    c = client_.Handshake();
    Carry(client_, server_);
    server_.Handshake();
    Carry(server_, client_);
  }
  ASSERT_EQ(c, Transport::Result::kError);
  const long verify = SSL_get_verify_result(client_.ssl());
  ASSERT_NE(verify, X509_V_OK);
  EXPECT_EQ(client_.HandshakeFailure(), X509_verify_cert_error_string(verify));
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(TransportTest, KeptResumableSessionIsResumed) {
  ASSERT_TRUE(Handshake());
  Transport::Result last;
  ReadAll(client_, &last);  // TLS 1.3: the tickets come after the handshake
  server_.Reset();
  client_.Reset(/*keep_resumable=*/true);  // no close_notify sent, session still offered
  ASSERT_TRUE(Handshake());
  EXPECT_TRUE(SSL_session_reused(client_.ssl()));
}

}  // namespace
}  // namespace edge::tls
