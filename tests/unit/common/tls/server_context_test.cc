// ServerContext and TicketKeys: certificate choice by SNI, ALPN in server order, and resumption
// with shared, rotating ticket keys, through real in-memory handshakes (client and server SSL
// objects exchanging bytes through memory BIOs, as lb4 does with io_uring in between).

#include "common/tls/server_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/tls/client_context.h"
#include "common/tls/ticket_keys.h"
#include "tests/unit/common/tls/cert_dir.h"

namespace edge::tls {
namespace {

// Moves bytes from one SSL's write BIO to the other's read BIO.
void Pump(SSL* from, SSL* to) {
  char buf[16384];
  int n;
  while ((n = BIO_read(SSL_get_wbio(from), buf, sizeof(buf))) > 0) {
    BIO_write(SSL_get_rbio(to), buf, n);
  }
}

struct Handshake {
  bool ok = false;
  std::string cn;
  std::string alpn;
  bool reused = false;
  SSL_SESSION* session = nullptr;  // the client's, after reading the ticket (caller frees)
};

Handshake HandshakeWith(const ServerContext& server, const char* sni, const std::string& alpn_wire,
                        SSL_SESSION* resume = nullptr, int max_version = 0) {
  Handshake result;
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  if (max_version) SSL_CTX_set_max_proto_version(cctx, max_version);
  SSL* c = SSL_new(cctx);
  SSL_set_bio(c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_connect_state(c);
  if (sni) SSL_set_tlsext_host_name(c, sni);
  if (!alpn_wire.empty()) {
    SSL_set_alpn_protos(c, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                        static_cast<unsigned>(alpn_wire.size()));
  }
  if (resume) SSL_set_session(c, resume);
  SSL* s = server.NewSsl();
  SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  BIO_set_mem_eof_return(SSL_get_rbio(s), -1);
  BIO_set_mem_eof_return(SSL_get_rbio(c), -1);
  for (int i = 0; i < 10 && !(SSL_is_init_finished(c) && SSL_is_init_finished(s)); ++i) {
    SSL_do_handshake(c);
    Pump(c, s);
    SSL_do_handshake(s);
    Pump(s, c);
  }
  result.ok = SSL_is_init_finished(c) && SSL_is_init_finished(s);
  if (!result.ok && getenv("TLS_TEST_DEBUG"))
    fprintf(stderr, "handshake: %s\n", OpenSslErrors().c_str());
  if (result.ok) {
    char buf[64];
    SSL_read(c, buf, sizeof(buf));  // processes TLS 1.3 NewSessionTicket
    X509* peer = SSL_get0_peer_certificate(c);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
    result.cn = cn;
    const unsigned char* a = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(c, &a, &len);
    result.alpn.assign(reinterpret_cast<const char*>(a), len);
    result.reused = SSL_session_reused(c);
    result.session = SSL_get1_session(c);
    SSL_shutdown(c);  // an unclean end would mark the session not resumable
  }
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  return result;
}

class ServerContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.certificates = {
        certs_.Make("default.test", {"default.test"}), certs_.Make("api", {"api.example.com"}),
        certs_.Make("wild", {"*.example.com", "example.net"}), certs_.Make("cn-only.test", {})};
    options_.alpn = {"h2", "http/1.1"};
  }
  CertDir certs_;
  ServerContextOptions options_;
};

TEST_F(ServerContextTest, CertificateForSni) {
  auto ctx = ServerContext::Create(options_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  const ServerContext& c = **ctx;
  EXPECT_EQ(c.CertificateFor("api.example.com"), 1u);
  EXPECT_EQ(c.CertificateFor("API.EXAMPLE.COM"), 1u);
  EXPECT_EQ(c.CertificateFor("www.example.com"), 2u);
  EXPECT_EQ(c.CertificateFor("example.net"), 2u);
  EXPECT_EQ(c.CertificateFor("cn-only.test"), 3u);
  EXPECT_EQ(c.CertificateFor("a.b.example.com"), 0u);  // a wildcard covers one label
  EXPECT_EQ(c.CertificateFor("example.com"), 0u);
  EXPECT_EQ(c.CertificateFor(""), 0u);
  EXPECT_THAT(c.names()[2], ::testing::ElementsAre("*.example.com", "example.net"));
}

TEST_F(ServerContextTest, HandshakePicksCertificateAndAlpnInServerOrder) {
  auto ctx = ServerContext::Create(options_);
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  Handshake h = HandshakeWith(**ctx, "shop.example.com", std::string("\x08http/1.1\x02h2", 12));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.cn, "wild");
  EXPECT_EQ(h.alpn, "h2");
  SSL_SESSION_free(h.session);
  h = HandshakeWith(**ctx, nullptr, std::string("\x08http/1.1", 9));
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.cn, "default.test");
  EXPECT_EQ(h.alpn, "http/1.1");
  SSL_SESSION_free(h.session);
  h = HandshakeWith(**ctx, "api.example.com", std::string("\x06spdy/1", 7));  // nothing in common
  ASSERT_TRUE(h.ok);
  EXPECT_EQ(h.cn, "api");
  EXPECT_EQ(h.alpn, "");
  SSL_SESSION_free(h.session);
}

TEST_F(ServerContextTest, TicketsResumeOnTheSameContextOnly) {
  auto ctx = ServerContext::Create(options_);
  auto other = ServerContext::Create(options_);
  ASSERT_TRUE(ctx.ok() && other.ok());
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Handshake first = HandshakeWith(**ctx, "api.example.com", "", nullptr, version);
    ASSERT_TRUE(first.ok && first.session != nullptr);
    EXPECT_FALSE(first.reused);
    EXPECT_TRUE(SSL_SESSION_has_ticket(first.session));
    EXPECT_TRUE(SSL_SESSION_is_resumable(first.session));
    Handshake again = HandshakeWith(**ctx, "api.example.com", "", first.session, version);
    EXPECT_TRUE(again.reused) << version;
    Handshake third = HandshakeWith(**ctx, "api.example.com", "", again.session, version);
    EXPECT_TRUE(third.reused) << "a ticket from a resumed handshake resumes too " << version;
    SSL_SESSION_free(third.session);
    Handshake elsewhere = HandshakeWith(**other, "api.example.com", "", first.session, version);
    EXPECT_TRUE(elsewhere.ok);
    EXPECT_FALSE(elsewhere.reused) << "other keys must not decrypt the ticket";
    SSL_SESSION_free(first.session);
    SSL_SESSION_free(again.session);
    SSL_SESSION_free(elsewhere.session);
  }
}

TEST_F(ServerContextTest, MinVersionRefusesOlderClients) {
  options_.min_version = TLS1_3_VERSION;
  auto ctx = ServerContext::Create(options_);
  ASSERT_TRUE(ctx.ok());
  EXPECT_FALSE(HandshakeWith(**ctx, "api.example.com", "", nullptr, TLS1_2_VERSION).ok);
}

TEST_F(ServerContextTest, BadFilesAreNamed) {
  ServerContextOptions bad = options_;
  bad.certificates[0].cert_file = certs_.path() + "/missing.crt";
  auto ctx = ServerContext::Create(bad);
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(ctx.status().message(), ::testing::HasSubstr("missing.crt"));
  bad = options_;
  bad.certificates[0].key_file = options_.certificates[1].key_file;  // another cert's key
  ctx = ServerContext::Create(bad);
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(ctx.status().message(), ::testing::HasSubstr(options_.certificates[1].key_file));
  bad = options_;
  bad.ciphers = "NO-SUCH-CIPHER";
  EXPECT_FALSE(ServerContext::Create(bad).ok());
  bad = options_;
  bad.certificates.clear();
  EXPECT_FALSE(ServerContext::Create(bad).ok());
}

TEST_F(ServerContextTest, SharedTicketKeysResumeOnANewContext) {
  // What a reload does: the listener's new context takes over the running one's ticket keys.
  auto before = ServerContext::Create(options_);
  ASSERT_TRUE(before.ok());
  ServerContextOptions reloaded = options_;
  reloaded.ticket_keys = (*before)->shared_ticket_keys();
  auto after = ServerContext::Create(reloaded);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(&(*after)->ticket_keys(), &(*before)->ticket_keys());
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Handshake first = HandshakeWith(**before, "api.example.com", "", nullptr, version);
    ASSERT_TRUE(first.ok && first.session != nullptr);
    before->reset();  // the old context goes; the keys stay with the new one
    Handshake again = HandshakeWith(**after, "api.example.com", "", first.session, version);
    EXPECT_TRUE(again.reused) << version;
    SSL_SESSION_free(first.session);
    SSL_SESSION_free(again.session);
    before = ServerContext::Create(reloaded);
    ASSERT_TRUE(before.ok());
  }
}

// ClientContext (lb4 towards [pool.tls] backends) against ServerContext, in memory.
struct ClientResult {
  bool ok = false;
  bool reused = false;
  std::string cn;
};

ClientResult ConnectTo(const ClientContext& client, const std::string& backend,
                       const ServerContext& server) {
  ClientResult result;
  SSL* c = client.NewSsl(backend);
  SSL* s = server.NewSsl();
  SSL_set_bio(c, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  SSL_set_bio(s, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
  BIO_set_mem_eof_return(SSL_get_rbio(s), -1);
  BIO_set_mem_eof_return(SSL_get_rbio(c), -1);
  for (int i = 0; i < 10 && !(SSL_is_init_finished(c) && SSL_is_init_finished(s)); ++i) {
    SSL_do_handshake(c);
    Pump(c, s);
    SSL_do_handshake(s);
    Pump(s, c);
  }
  result.ok = SSL_is_init_finished(c) && SSL_is_init_finished(s);
  if (result.ok) {
    char buf[64];
    SSL_read(c, buf, sizeof(buf));  // TLS 1.3: the tickets arrive after the handshake
    result.reused = SSL_session_reused(c);
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_get0_peer_certificate(c)), NID_commonName,
                              cn, sizeof(cn));
    result.cn = cn;
    SSL_set_shutdown(c, SSL_SENT_SHUTDOWN);  // as lb4 ends a backend connection
  }
  ERR_clear_error();
  SSL_free(c);
  SSL_free(s);
  return result;
}

TEST_F(ServerContextTest, ClientVerifiesChainAndName) {
  auto server = ServerContext::Create(options_);
  ASSERT_TRUE(server.ok());
  // The self-signed "api" certificate is its own trust anchor.
  ClientContextOptions good{.ca_file = options_.certificates[1].cert_file,
                            .server_name = "api.example.com"};
  auto client = ClientContext::Create(good);
  ASSERT_TRUE(client.ok()) << client.status();
  ClientResult r = ConnectTo(**client, "b1", **server);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.cn, "api");
  // Another CA: refused.
  ClientContextOptions wrong_ca = good;
  wrong_ca.ca_file = options_.certificates[0].cert_file;
  EXPECT_FALSE(ConnectTo(**ClientContext::Create(wrong_ca), "b1", **server).ok);
  // The right CA but a name the certificate does not carry ("default.test" is chosen for it,
  // signed by the CA below, named only default.test): refused.
  ClientContextOptions wrong_name = good;
  wrong_name.ca_file = options_.certificates[0].cert_file;
  wrong_name.server_name = "other.test";
  EXPECT_FALSE(ConnectTo(**ClientContext::Create(wrong_name), "b1", **server).ok);
  wrong_name.server_name = "default.test";
  EXPECT_TRUE(ConnectTo(**ClientContext::Create(wrong_name), "b1", **server).ok);
  // verify = false takes any certificate.
  ClientContextOptions any{.verify = false};
  EXPECT_TRUE(ConnectTo(**ClientContext::Create(any), "b1", **server).ok);
}

// TLS 1.3 here (tickets after the handshake); test_tls_upstream.py covers a TLS 1.2 backend.
TEST_F(ServerContextTest, ClientResumesEachBackendsLastSession) {
  auto server = ServerContext::Create(options_);
  ASSERT_TRUE(server.ok());
  auto client = ClientContext::Create({.verify = false});
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(ConnectTo(**client, "b1", **server).reused);
  EXPECT_EQ((*client)->cached_sessions(), 1u);
  EXPECT_TRUE(ConnectTo(**client, "b1", **server).reused);
  EXPECT_TRUE(ConnectTo(**client, "b1", **server).reused);
  EXPECT_FALSE(ConnectTo(**client, "b2", **server).reused) << "another backend, no session yet";
  EXPECT_EQ((*client)->cached_sessions(), 2u);

  auto off = ClientContext::Create({.verify = false, .session_reuse = false});
  ASSERT_TRUE(off.ok());
  ConnectTo(**off, "b1", **server);
  EXPECT_FALSE(ConnectTo(**off, "b1", **server).reused);
  EXPECT_EQ((*off)->cached_sessions(), 0u);
}

TEST(ClientContextTest, MissingCaFileIsNamed) {
  auto client = ClientContext::Create({.ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), ::testing::HasSubstr("ca_file \"/nonexistent/ca.pem\""));
}

int64_t fake_now = 0;
int64_t FakeNow() { return fake_now; }

TEST(TicketKeysTest, RotatesAndKeepsOlderKeysForDecryption) {
  fake_now = 1000;
  TicketKeys keys(100, &FakeNow);
  unsigned char name[16], iv[EVP_MAX_IV_LENGTH];
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  EVP_MAC* mac_alg = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(mac_alg);
  ASSERT_EQ(keys.Callback(name, iv, cipher, mac, 1), 1);
  unsigned char first[16];
  memcpy(first, name, 16);
  EXPECT_EQ(keys.Callback(first, iv, cipher, mac, 0), 1);  // current key
  fake_now += 100;
  ASSERT_EQ(keys.Callback(name, iv, cipher, mac, 1), 1);
  EXPECT_NE(memcmp(name, first, 16), 0);                   // a new key encrypts
  EXPECT_EQ(keys.Callback(first, iv, cipher, mac, 0), 2);  // old key: valid, renew
  EXPECT_EQ(keys.rotations(), 1u);
  for (size_t i = 1; i < TicketKeys::kKeep; ++i) {
    fake_now += 100;
    keys.Callback(name, iv, cipher, mac, 1);
  }
  EXPECT_EQ(keys.Callback(first, iv, cipher, mac, 0), 0);  // rotated out: full handshake
  unsigned char unknown[16] = {1, 2, 3};
  EXPECT_EQ(keys.Callback(unknown, iv, cipher, mac, 0), 0);
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(mac_alg);
  EVP_CIPHER_CTX_free(cipher);
}

}  // namespace
}  // namespace edge::tls
