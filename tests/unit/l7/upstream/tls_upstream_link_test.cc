// TlsUpstreamLink over a FakeLink, against a real OpenSSL server in memory (common/tls's
// ServerContext): the handshake with its checks (chain, name, ALPN h2), plaintext both ways,
// what the owner hears in each failure, and an owner that closes the link from its own callback.

#include "l7/upstream/tls_upstream_link.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "tests/unit/common/tls/cert_dir.h"
#include "tests/unit/l7/fake_stream_services.h"

namespace edge::l7 {
namespace {

using testing::FakeConnector;
using testing::FakeLink;

struct RecordingOwner : UpstreamLink::Owner {
  void OnUpstreamConnected(UpstreamLink* c, int e) override {
    connected_calls++;
    error = e;
    if (close_on_connect) c->Close();
  }
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override {
    received.append(data);
    if (close_on_data) c->Close();
  }
  void OnUpstreamClosed(UpstreamLink*, int e) override {
    closed = true;
    error = e;
  }
  void OnUpstreamSendDrained(UpstreamLink*) override {}

  int connected_calls = 0;
  int error = 1;  // 1: nothing heard
  std::string received;
  bool closed = false;
  bool close_on_connect = false;
  bool close_on_data = false;
};

// The server end of the FakeLink: an SSL on memory BIOs.
class MemoryTlsServer {
 public:
  MemoryTlsServer(const tls::ServerContext& context, FakeLink* link) : link_(link) {
    ssl_ = context.NewSsl();
    SSL_set_bio(ssl_, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    BIO_set_mem_eof_return(SSL_get_rbio(ssl_), -1);
  }
  ~MemoryTlsServer() { SSL_free(ssl_); }
  // Takes what the client sent, advances the handshake or reads plaintext, answers.
  void Exchange() {
    std::string in;
    in.swap(link_->sent);
    BIO_write(SSL_get_rbio(ssl_), in.data(), static_cast<int>(in.size()));
    if (!SSL_is_init_finished(ssl_)) {
      SSL_do_handshake(ssl_);
    }
    if (SSL_is_init_finished(ssl_)) {
      char buf[4096];
      int n;
      while ((n = SSL_read(ssl_, buf, sizeof(buf))) > 0) plaintext.append(buf, n);
    }
    Flush();
  }
  // Each piece its own TLS record, all delivered to the client at once.
  void Write(std::initializer_list<std::string_view> pieces) {
    for (std::string_view p : pieces) SSL_write(ssl_, p.data(), static_cast<int>(p.size()));
    Flush();
  }
  void CloseNotify() {
    SSL_shutdown(ssl_);
    Flush();
  }
  std::string plaintext;

 private:
  void Flush() {
    char buf[16384];
    std::string out;
    int n;
    while ((n = BIO_read(SSL_get_wbio(ssl_), buf, sizeof(buf))) > 0) out.append(buf, n);
    if (!out.empty()) link_->Respond(out);
  }
  FakeLink* link_;
  SSL* ssl_;
};

class TlsUpstreamLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = certs_.Make("api.internal", {"api.internal"});
    other_ = certs_.Make("other", {"other.internal"});
  }
  std::unique_ptr<tls::ServerContext> Server(std::vector<std::string> alpn = {"h2"}) {
    auto s = tls::ServerContext::Create({.certificates = {cert_}, .alpn = std::move(alpn)});
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  }
  std::shared_ptr<const tls::ClientContext> Client(const std::string& ca,
                                                   const std::string& name = "api.internal") {
    auto c = tls::ClientContext::Create({.ca_file = ca, .server_name = name, .alpn = {"h2"}});
    EXPECT_TRUE(c.ok()) << c.status();
    return std::shared_ptr<const tls::ClientContext>(*std::move(c));
  }
  UpstreamLink* Connect(std::shared_ptr<const tls::ClientContext> client) {
    auto link = TlsUpstreamLink::Connect(std::move(client), connector_, address_, &owner_);
    EXPECT_TRUE(link.ok()) << link.status();
    return *link;
  }
  // Runs the handshake to its end (or failure).
  void Handshake(MemoryTlsServer& server) {
    tcp()->Connected();
    for (int i = 0; i < 6 && owner_.connected_calls == 0; ++i) server.Exchange();
  }
  FakeLink* tcp() { return connector_.links.at(0).get(); }

  tls::CertDir certs_;
  tls::ServerContextOptions::Certificate cert_, other_;
  net::SocketAddress address_ = *net::SocketAddress::Parse("127.0.0.1:8443");
  FakeConnector connector_;
  RecordingOwner owner_;
};

TEST_F(TlsUpstreamLinkTest, ConnectedOnlyAfterAVerifiedHandshakeThenPlaintextBothWays) {
  auto server_ctx = Server();
  UpstreamLink* link = Connect(Client(cert_.cert_file));
  link->Send("early request bytes");  // before the handshake: held, not sent in clear
  EXPECT_TRUE(tcp()->sent.empty());
  MemoryTlsServer server(*server_ctx, tcp());
  tcp()->Connected();
  EXPECT_EQ(owner_.connected_calls, 0) << "TCP is up, TLS is not";
  EXPECT_FALSE(link->connected());
  EXPECT_EQ(tcp()->sent.find("early request"), std::string::npos);
  for (int i = 0; i < 6 && owner_.connected_calls == 0; ++i) server.Exchange();
  ASSERT_EQ(owner_.connected_calls, 1);
  EXPECT_EQ(owner_.error, 0);
  EXPECT_TRUE(link->connected());
  server.Exchange();
  EXPECT_EQ(server.plaintext, "early request bytes");
  link->Send("more");
  server.Exchange();
  EXPECT_EQ(server.plaintext, "early request bytesmore");
  server.Write({"response bytes"});
  EXPECT_EQ(owner_.received, "response bytes");
  server.CloseNotify();
  EXPECT_TRUE(owner_.closed);
  EXPECT_EQ(owner_.error, 0);
  EXPECT_TRUE(tcp()->closed());
}

TEST_F(TlsUpstreamLinkTest, AnotherNameIsAFailedConnect) {
  auto server_ctx = Server();
  Connect(Client(cert_.cert_file, "billing.internal"));
  MemoryTlsServer server(*server_ctx, tcp());
  Handshake(server);
  EXPECT_EQ(owner_.connected_calls, 1);
  EXPECT_EQ(owner_.error, -EPROTO);
  EXPECT_TRUE(tcp()->closed());
}

TEST_F(TlsUpstreamLinkTest, AnUntrustedChainIsAFailedConnect) {
  auto server_ctx = Server();
  Connect(Client(other_.cert_file));
  MemoryTlsServer server(*server_ctx, tcp());
  Handshake(server);
  EXPECT_EQ(owner_.error, -EPROTO);
  EXPECT_TRUE(tcp()->closed());
}

TEST_F(TlsUpstreamLinkTest, AServerWithoutH2IsAFailedConnect) {
  auto server_ctx = Server({"http/1.1"});
  Connect(Client(cert_.cert_file));
  MemoryTlsServer server(*server_ctx, tcp());
  Handshake(server);
  EXPECT_EQ(owner_.connected_calls, 1);
  EXPECT_EQ(owner_.error, -EPROTO);
}

TEST_F(TlsUpstreamLinkTest, ATcpFailureReachesTheOwnerAsItsConnectResult) {
  Connect(Client(cert_.cert_file));
  tcp()->Connected(-ECONNREFUSED);
  EXPECT_EQ(owner_.connected_calls, 1);
  EXPECT_EQ(owner_.error, -ECONNREFUSED);
}

TEST_F(TlsUpstreamLinkTest, AResetDuringTheHandshakeIsAFailedConnect) {
  Connect(Client(cert_.cert_file));
  tcp()->Connected();
  tcp()->ServerClosed(-ECONNRESET);
  EXPECT_EQ(owner_.connected_calls, 1);
  EXPECT_EQ(owner_.error, -ECONNRESET);
  EXPECT_FALSE(owner_.closed);
}

TEST_F(TlsUpstreamLinkTest, GarbageFromTheServerIsAFailedConnect) {
  Connect(Client(cert_.cert_file));
  tcp()->Connected();
  tcp()->Respond("HTTP/1.1 400 Bad Request\r\n\r\n");
  EXPECT_EQ(owner_.connected_calls, 1);
  EXPECT_EQ(owner_.error, -EPROTO);
  EXPECT_TRUE(tcp()->closed());
}

TEST_F(TlsUpstreamLinkTest, TheOwnerMayCloseFromInsideItsCallbacks) {
  auto server_ctx = Server();
  owner_.close_on_data = true;
  UpstreamLink* link = Connect(Client(cert_.cert_file));
  MemoryTlsServer server(*server_ctx, tcp());
  Handshake(server);
  ASSERT_EQ(owner_.error, 0);
  server.Exchange();  // the client's Finished
  // Two records in one delivery: the owner closes on the first; nothing after reaches it.
  server.Write({"one", "two"});
  EXPECT_EQ(owner_.received, "one");
  EXPECT_TRUE(tcp()->closed());
  (void)link;  // deleted by now (ASan would see a use after free)
}

TEST_F(TlsUpstreamLinkTest, CloseBeforeConnectLeavesNothingBehind) {
  UpstreamLink* link = Connect(Client(cert_.cert_file));
  link->Close();
  EXPECT_TRUE(tcp()->closed());
  EXPECT_EQ(owner_.connected_calls, 0);
}

}  // namespace
}  // namespace edge::l7
