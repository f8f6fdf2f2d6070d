// ClientHelloParser: real hellos from OpenSSL's client, the same bytes in every kind of piece and
// record fragmentation, and hostile variants built field by field.

#include "common/tls/client_hello.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>
#include <utility>
#include <vector>

namespace edge::tls {
namespace {

using Result = ClientHelloParser::Result;
using ::testing::Contains;
using ::testing::ElementsAre;

// The first flight of a real OpenSSL client (a ClientHello in one record).
std::string OpenSslHello(const char* sni, std::vector<std::string> alpn, int max_version = 0) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx, max_version);
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  if (sni != nullptr) SSL_set_tlsext_host_name(ssl, sni);
  std::string wire;
  for (const std::string& p : alpn) {
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  if (!wire.empty()) {
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // wants to read: the hello is in wbio
  char* data = nullptr;
  long n = BIO_get_mem_data(wbio, &data);
  std::string out(data, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

std::string U16(size_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string U24(size_t v) {
  return {static_cast<char>(v >> 16), static_cast<char>((v >> 8) & 0xff),
          static_cast<char>(v & 0xff)};
}

struct Extension {
  uint16_t type;
  std::string data;
};

Extension Sni(const std::vector<std::string>& names) {
  std::string list;
  for (const std::string& n : names) list += std::string(1, '\0') + U16(n.size()) + n;
  return {0, U16(list.size()) + list};
}

Extension Alpn(const std::vector<std::string>& protos) {
  std::string list;
  for (const std::string& p : protos) list += std::string(1, static_cast<char>(p.size())) + p;
  return {16, U16(list.size()) + list};
}

// A handshake message: ClientHello with the given fields.
std::string Hello(const std::vector<Extension>& extensions, uint16_t version = 0x0303,
                  bool with_extensions = true) {
  std::string body = U16(version) + std::string(32, 'r');
  body += std::string(1, '\0');                         // session_id
  body += U16(4) + std::string("\x13\x01\xc0\x2f", 4);  // cipher_suites
  body += std::string("\x01\x00", 2);                   // compression: null
  if (with_extensions) {
    std::string ext;
    for (const Extension& e : extensions) ext += U16(e.type) + U16(e.data.size()) + e.data;
    body += U16(ext.size()) + ext;
  }
  return std::string(1, '\x01') + U24(body.size()) + body;
}

// The handshake bytes in TLS records of at most `fragment` bytes.
std::string Records(std::string_view handshake, size_t fragment = 16384) {
  std::string out;
  while (!handshake.empty()) {
    std::string_view piece = handshake.substr(0, fragment);
    out += std::string("\x16\x03\x01", 3) + U16(piece.size()) + std::string(piece);
    handshake.remove_prefix(piece.size());
  }
  return out;
}

ClientHelloParser Parse(std::string_view bytes,
                        size_t max = ClientHelloParser::kDefaultMaxHelloBytes) {
  ClientHelloParser parser(max);
  parser.Feed(bytes);
  return parser;
}

TEST(ClientHelloParserTest, RealOpenSslHelloWithSniAndAlpn) {
  std::string hello = OpenSslHello("API.example.com", {"h2", "http/1.1"});
  ClientHelloParser p = Parse(hello);
  ASSERT_EQ(p.result(), Result::kDone) << p.error_message();
  EXPECT_EQ(p.info().sni, "api.example.com");
  EXPECT_THAT(p.info().alpn, ElementsAre("h2", "http/1.1"));
  EXPECT_THAT(p.info().supported_versions, Contains(0x0304));
  EXPECT_EQ(p.info().legacy_version, 0x0303);
  EXPECT_EQ(p.info().record_bytes, hello.size());
}

TEST(ClientHelloParserTest, RealTls12HelloWithoutSni) {
  ClientHelloParser p = Parse(OpenSslHello(nullptr, {}, TLS1_2_VERSION));
  ASSERT_EQ(p.result(), Result::kDone) << p.error_message();
  EXPECT_EQ(p.info().sni, "");
  EXPECT_TRUE(p.info().alpn.empty());
}

TEST(ClientHelloParserTest, ByteByByteAndEveryPrefixNeedsMore) {
  std::string hello = OpenSslHello("a.example", {"h2"});
  ClientHelloParser p;
  for (size_t i = 0; i < hello.size(); ++i) {
    Result r = p.Feed(std::string_view(hello).substr(i, 1));
    ASSERT_EQ(r, i + 1 < hello.size() ? Result::kNeedMore : Result::kDone) << i;
  }
  EXPECT_EQ(p.info().sni, "a.example");
}

TEST(ClientHelloParserTest, HelloFragmentedOverManyRecordsInPieces) {
  std::string hello = OpenSslHello("frag.example", {"http/1.1"});
  std::string handshake = hello.substr(5);  // strip the one record header
  for (size_t fragment : {1, 3, 7, 100, 511}) {
    std::string stream = Records(handshake, fragment) + "trailing application bytes";
    for (size_t piece : {1, 2, 5, 64, 4096}) {
      ClientHelloParser p;
      Result r = Result::kNeedMore;
      for (size_t at = 0; at < stream.size() && r == Result::kNeedMore; at += piece) {
        r = p.Feed(std::string_view(stream).substr(at, piece));
      }
      ASSERT_EQ(r, Result::kDone) << fragment << "/" << piece << ": " << p.error_message();
      EXPECT_EQ(p.info().sni, "frag.example");
      EXPECT_THAT(p.info().alpn, ElementsAre("http/1.1"));
      EXPECT_EQ(p.info().record_bytes, stream.size() - strlen("trailing application bytes"));
    }
  }
}

TEST(ClientHelloParserTest, ResultIsStickyAfterDone) {
  ClientHelloParser p = Parse(Records(Hello({Sni({"x.test"})})));
  ASSERT_EQ(p.result(), Result::kDone);
  EXPECT_EQ(p.Feed("garbage"), Result::kDone);
  EXPECT_EQ(p.info().sni, "x.test");
}

TEST(ClientHelloParserTest, NoExtensionsAtAll) {
  ClientHelloParser p = Parse(Records(Hello({}, 0x0303, false)));
  ASSERT_EQ(p.result(), Result::kDone) << p.error_message();
  EXPECT_EQ(p.info().sni, "");
}

TEST(ClientHelloParserTest, GarbageIsNotHandshake) {
  for (std::string garbage :
       {std::string("GET / HTTP/1.1\r\n\r\n"), std::string("\x17\x03\x03\x00\x01x", 6),
        std::string("\x15\x03\x01\x00\x02\x02\x28", 7), std::string("\x16\x02\x00\x00\x01x", 6),
        std::string("\x16\x03\x09\x00\x01x", 6)}) {
    ClientHelloParser p = Parse(garbage);
    EXPECT_EQ(p.result(), Result::kError) << garbage;
    EXPECT_EQ(p.error(), HelloError::kNotHandshake) << p.error_message();
  }
}

TEST(ClientHelloParserTest, SslV2HelloRefused) {
  // SSLv2-compatible CLIENT-HELLO: 2-byte length with the top bit, msg type 1, version 3.1.
  std::string v2("\x80\x2e\x01\x03\x01\x00\x15\x00\x00\x00\x10", 11);
  ClientHelloParser p = Parse(v2);
  EXPECT_EQ(p.error(), HelloError::kSslV2);
  // Already decided on the first byte.
  EXPECT_EQ(Parse(v2.substr(0, 1)).error(), HelloError::kSslV2);
}

TEST(ClientHelloParserTest, SslV3HelloRefused) {
  ClientHelloParser p = Parse(Records(Hello({Sni({"old.test"})}, 0x0300)));
  EXPECT_EQ(p.error(), HelloError::kUnsupportedVersion) << p.error_message();
  EXPECT_EQ(Parse(Records(Hello({}, 0x0200))).error(), HelloError::kMalformed);
}

TEST(ClientHelloParserTest, TruncatedHelloNeedsMoreNotDone) {
  std::string stream = Records(Hello({Sni({"t.test"}), Alpn({"h2"})}));
  for (size_t n = 0; n < stream.size(); ++n) {
    EXPECT_EQ(Parse(stream.substr(0, n)).result(), Result::kNeedMore) << n;
  }
}

TEST(ClientHelloParserTest, OversizedHelloRefusedFromItsHeader) {
  // Announces 1 MiB: refused as soon as the handshake header is in, without waiting for it.
  std::string stream = std::string("\x16\x03\x01\x00\x04\x01\x10\x00\x00", 9);
  EXPECT_EQ(Parse(stream).error(), HelloError::kOversized);
  // A huge extension, really sent, over the limit.
  std::string big = Hello({{0xfe01, std::string(20000, 'x')}});
  EXPECT_EQ(Parse(Records(big)).error(), HelloError::kOversized);
  // Within a larger configured limit it is fine.
  EXPECT_EQ(Parse(Records(big), 65536).result(), Result::kDone);
}

// The verdict and its reason must not depend on how TCP split the stream (lb4 counts the reason).
// Found by fuzz_client_hello (corpus: split_oversized_vs_type): a 601-byte record holding a
// ServerHello header was "oversized" when it came whole and "malformed" when it came in two pieces.
TEST(ClientHelloParserTest, SameVerdictForEverySplit) {
  const std::string hs = Hello({Sni({"split.test"})});
  std::string server_hello = hs;
  server_hello[0] = 2;
  struct Case {
    std::string stream;
    size_t max;
    Result result;
    HelloError error;
  };
  const Case cases[] = {
      // The fuzzer's input: type 2, declared 592 bytes, the limit 512.
      {std::string("\x16\x03\x01\x02\x54\x02\x00\x02\x50", 9) + std::string(592, 'A'), 512,
       Result::kError, HelloError::kMalformed},
      // The same with type 1: over the limit by its declared length.
      {std::string("\x16\x03\x01\x02\x54\x01\x00\x02\x50", 9) + std::string(592, 'A'), 512,
       Result::kError, HelloError::kOversized},
      // A wrong type whose declared length is also too big: the type comes first.
      {Records(std::string("\x02\xff\xff\xff", 4) + std::string(600, 'A')), 512, Result::kError,
       HelloError::kMalformed},
      {Records(server_hello), 16384, Result::kError, HelloError::kMalformed},
      // The record carries more than the hello: refused once both lengths are known.
      {Records(hs + std::string(700, 'x')), 512, Result::kError, HelloError::kMalformed},
      {Records(hs + "x"), 16384, Result::kError, HelloError::kMalformed},
      // The hello's header split over two records, the second longer than the hello.
      {Records(hs.substr(0, 2)) + Records(hs.substr(2) + "yy"), 16384, Result::kError,
       HelloError::kMalformed},
      {Records(hs, 7), hs.size() - 4, Result::kDone, HelloError::kNone},
      {Records(hs, 7), hs.size() - 5, Result::kError, HelloError::kOversized},
  };
  for (const Case& c : cases) {
    const ClientHelloParser whole = Parse(c.stream, c.max);
    EXPECT_EQ(whole.result(), c.result) << whole.error_message();
    EXPECT_EQ(whole.error(), c.error) << whole.error_message();
    for (size_t split = 0; split <= c.stream.size(); ++split) {
      ClientHelloParser two(c.max);
      two.Feed(std::string_view(c.stream).substr(0, split));
      two.Feed(std::string_view(c.stream).substr(split));
      ASSERT_EQ(two.result(), whole.result()) << "split at " << split;
      ASSERT_EQ(two.error(), whole.error()) << "split at " << split << ": " << two.error_message();
    }
  }
}

TEST(ClientHelloParserTest, RecordFramingErrors) {
  std::string hs = Hello({Sni({"r.test"})});
  EXPECT_EQ(Parse(std::string("\x16\x03\x01\x00\x00", 5)).error(), HelloError::kMalformed);
  EXPECT_EQ(Parse(std::string("\x16\x03\x01\x40\x01", 5)).error(), HelloError::kMalformed);
  // Second record of another type in the middle of the hello.
  std::string two = Records(hs.substr(0, 10)) + std::string("\x17\x03\x03\x00\x01x", 6);
  EXPECT_EQ(Parse(two).error(), HelloError::kMalformed);
  // Bytes after the hello inside its record.
  EXPECT_EQ(Parse(Records(hs + "xx")).error(), HelloError::kMalformed);
  // Another handshake message type first.
  std::string server_hello = hs;
  server_hello[0] = 2;
  EXPECT_EQ(Parse(Records(server_hello)).error(), HelloError::kMalformed);
  // Zero-length ClientHello.
  EXPECT_EQ(Parse(Records(std::string("\x01\x00\x00\x00", 4))).error(), HelloError::kMalformed);
}

TEST(ClientHelloParserTest, InconsistentLengthsRefused) {
  std::string hs = Hello({Sni({"len.test"})});
  // Extensions block one byte longer than what follows (fix the handshake length to match).
  std::string body = hs.substr(4);
  size_t ext_len_at = body.size() - (2 + 2 + 2 + Sni({"len.test"}).data.size());
  std::string bad = body;
  bad[ext_len_at + 1] = static_cast<char>(bad[ext_len_at + 1] + 1);
  EXPECT_EQ(Parse(Records("\x01" + U24(bad.size()) + bad)).error(), HelloError::kMalformed);
  // Odd cipher_suites length.
  std::string odd = body;
  odd[2 + 32 + 1 + 1] = 3;
  EXPECT_EQ(Parse(Records("\x01" + U24(odd.size()) + odd)).error(), HelloError::kMalformed);
  // session_id longer than 32.
  std::string sid = U16(0x0303) + std::string(32, 'r') + std::string(1, 33) + std::string(33, 's') +
                    U16(2) + std::string("\x13\x01", 2) + std::string("\x01\x00", 2);
  EXPECT_EQ(Parse(Records("\x01" + U24(sid.size()) + sid)).error(), HelloError::kMalformed);
  // No null compression.
  std::string comp = U16(0x0303) + std::string(32, 'r') + std::string(1, 0) + U16(2) +
                     std::string("\x13\x01", 2) + std::string("\x01\x01", 2);
  EXPECT_EQ(Parse(Records("\x01" + U24(comp.size()) + comp)).error(), HelloError::kMalformed);
  // Extension data shorter than its length says.
  EXPECT_EQ(Parse(Records(Hello({{0, U16(10) + std::string("\x00\x00\x01", 3)}}))).error(),
            HelloError::kMalformed);
}

TEST(ClientHelloParserTest, ServerNameRules) {
  EXPECT_EQ(Parse(Records(Hello({Sni({"a.test", "b.test"})}))).error(), HelloError::kMalformed);
  for (const char* bad : {"", "trailing.dot.", ".lead", "a..b", "sp ace", "nul\x01", "x/y"}) {
    EXPECT_EQ(Parse(Records(Hello({Sni({bad})}))).error(), HelloError::kMalformed) << bad;
  }
  EXPECT_EQ(Parse(Records(Hello({Sni({std::string(64, 'a') + ".test"})}))).error(),
            HelloError::kMalformed);
  EXPECT_EQ(Parse(Records(Hello({{0, ""}}))).error(), HelloError::kMalformed);
  EXPECT_EQ(Parse(Records(Hello({{0, U16(0)}}))).error(), HelloError::kMalformed);
  ClientHelloParser ok = Parse(Records(Hello({Sni({"My-Host_1.Example.COM"})})));
  ASSERT_EQ(ok.result(), Result::kDone) << ok.error_message();
  EXPECT_EQ(ok.info().sni, "my-host_1.example.com");
}

TEST(ClientHelloParserTest, AlpnAndVersionsRules) {
  EXPECT_EQ(Parse(Records(Hello({Alpn({"h2", ""})}))).error(), HelloError::kMalformed);
  EXPECT_EQ(Parse(Records(Hello({{16, U16(0)}}))).error(), HelloError::kMalformed);
  EXPECT_EQ(Parse(Records(Hello({{16, U16(4) + "\x05h2xx"}}))).error(), HelloError::kMalformed);
  EXPECT_EQ(Parse(Records(Hello({{43, std::string("\x03\x03\x04\x03", 4)}}))).error(),
            HelloError::kMalformed);
  ClientHelloParser ok = Parse(Records(Hello({{43, std::string("\x04\x03\x04\x03\x03", 5)}})));
  ASSERT_EQ(ok.result(), Result::kDone) << ok.error_message();
  EXPECT_THAT(ok.info().supported_versions, ElementsAre(0x0304, 0x0303));
}

TEST(ClientHelloParserTest, DuplicateExtensionRefused) {
  EXPECT_EQ(Parse(Records(Hello({Alpn({"h2"}), Sni({"d.test"}), Alpn({"h2"})}))).error(),
            HelloError::kMalformed);
  EXPECT_EQ(Parse(Records(Hello({{0xaaaa, ""}, {0xaaaa, ""}}))).error(), HelloError::kMalformed);
}

TEST(ClientHelloParserTest, ErrorNames) {
  EXPECT_EQ(HelloErrorName(HelloError::kOversized), "oversized");
  EXPECT_EQ(HelloErrorName(HelloError::kSslV2), "sslv2");
}

}  // namespace
}  // namespace edge::tls
