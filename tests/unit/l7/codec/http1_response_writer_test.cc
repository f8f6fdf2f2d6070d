#include "l7/codec/http1_response_writer.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "common/http/chunked_decoder.h"
#include "common/http/response_parser.h"

namespace edge::l7 {
namespace {

// The parsed response points into its head: the heads are kept for the whole test program.
http::HttpResponse Parse(const std::string& text, http::Method method = http::Method::kGet) {
  static std::deque<std::string> heads;
  const std::string& head = heads.emplace_back(text);
  http::HttpResponse r;
  http::HttpLimits limits;
  EXPECT_TRUE(http::ParseResponseHead(head, limits, method, &r).complete()) << head;
  return r;
}

TEST(ClientResponseTest, FramingTable) {
  using http::HttpVersion;
  auto cl = Parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
  auto cl0 = Parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  auto ch = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  auto uc = Parse("HTTP/1.1 200 OK\r\n\r\n");
  auto head = Parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", http::Method::kHead);
  EXPECT_EQ(ChooseClientFraming(cl, HttpVersion::kHttp11), ClientFraming::kContentLength);
  EXPECT_EQ(ChooseClientFraming(cl0, HttpVersion::kHttp11), ClientFraming::kNone);
  EXPECT_EQ(ChooseClientFraming(ch, HttpVersion::kHttp11), ClientFraming::kChunked);
  EXPECT_EQ(ChooseClientFraming(ch, HttpVersion::kHttp10), ClientFraming::kUntilClose);
  EXPECT_EQ(ChooseClientFraming(uc, HttpVersion::kHttp11), ClientFraming::kChunked);
  EXPECT_EQ(ChooseClientFraming(uc, HttpVersion::kHttp10), ClientFraming::kUntilClose);
  EXPECT_EQ(ChooseClientFraming(head, HttpVersion::kHttp11), ClientFraming::kNone);
}

TEST(ClientResponseTest, HeadDropsHopByHopAndAddsOwnFraming) {
  auto r = Parse(
      "HTTP/1.1 201 Created\r\nConnection: X-Up, close\r\nX-Up: 1\r\nKeep-Alive: 5\r\n"
      "Transfer-Encoding: chunked\r\nX-App: a\r\nX-Request-Id: upstreams\r\n\r\n");
  std::vector<std::pair<std::string, std::string>> extra = {{"X-RateLimit-Remaining", "9"},
                                                            {"Bad\r\nName", "x"}};
  ClientResponseOptions o;
  o.framing = ChooseClientFraming(r, http::HttpVersion::kHttp11);
  o.request_id = "rid";
  o.extra_headers = &extra;
  std::string out;
  AppendClientResponseHead(r, o, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 201 Created\r\nX-App: a\r\nX-RateLimit-Remaining: 9\r\n"
            "X-Request-Id: rid\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(ClientResponseTest, ConnectionFieldForCloseAndHttp10KeepAlive) {
  auto r = Parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
  ClientResponseOptions o;
  o.framing = ClientFraming::kContentLength;
  o.keep_alive = false;
  std::string out;
  AppendClientResponseHead(r, o, &out);
  EXPECT_NE(out.find("Content-Length: 2\r\nConnection: close\r\n\r\n"), std::string::npos);
  o.keep_alive = true;
  o.client_version = http::HttpVersion::kHttp10;
  out.clear();
  AppendClientResponseHead(r, o, &out);
  EXPECT_NE(out.find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST(ClientResponseTest, ContentLengthDroppedWhenReframed) {
  // A 1.0 client of a chunked response: no Content-Length can appear (there was none) and the
  // connection closes after the body.
  auto r = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  ClientResponseOptions o;
  o.framing = ClientFraming::kUntilClose;
  o.client_version = http::HttpVersion::kHttp10;
  std::string out;
  AppendClientResponseHead(r, o, &out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

TEST(ClientResponseTest, Chunks) {
  std::string out;
  AppendChunk("hello", &out);
  AppendChunk(std::string(300, 'x'), &out);
  EXPECT_EQ(out.substr(0, 10), "5\r\nhello\r\n");
  EXPECT_EQ(out.substr(10, 5), "12c\r\n");
  EXPECT_EQ(kLastChunk, "0\r\n\r\n");
}

TEST(ClientResponseTest, SwitchingProtocolsKeepsUpgrade) {
  auto r = Parse(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade, X-Up\r\n"
      "X-Up: 1\r\nSec-WebSocket-Accept: abc\r\n\r\n");
  ClientResponseOptions o;
  o.upgrade = true;
  o.request_id = "rid";
  std::string out;
  AppendClientResponseHead(r, o, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Accept: abc\r\nX-Request-Id: rid\r\nConnection: Upgrade\r\n\r\n");
}

TEST(ClientResponseTest, LastChunkForwardsOnlyAllowedTrailers) {
  auto r = Parse(
      "HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nTransfer-Encoding: chunked\r\nTrailer: "
      "X-Sum\r\n\r\n");
  const std::string body =
      "0\r\nX-Sum: 42\r\nX-Hop: 1\r\nSet-Cookie: a=b\r\nContent-Length: 9\r\n"
      "X-Request-Id: up\r\nServer-Timing: db;dur=5\r\n\r\n";
  http::ChunkedDecoder decoder;
  ASSERT_EQ(decoder.Decode(body).status, http::ChunkedStatus::kDone);
  std::string out;
  AppendClientLastChunk(decoder.trailers(), r.headers, &out);
  EXPECT_EQ(out, "0\r\nX-Sum: 42\r\nServer-Timing: db;dur=5\r\n\r\n");
}

}  // namespace
TEST(IsSafeExtraField, RefusesControlBytesWhereverTheySit) {
  EXPECT_FALSE(IsSafeExtraField("", "v"));
  EXPECT_FALSE(IsSafeExtraField("bad name", "v"));
  EXPECT_TRUE(IsSafeExtraField("X-Ok", ""));
  const std::string good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \t~";
  EXPECT_TRUE(IsSafeExtraField("traceparent", good));
  EXPECT_TRUE(IsSafeExtraField("x", "caf\xc3\xa9 \x80\xff obs-text is allowed"));
  // Each position of the first word, of a later word and of the tail (which is not a whole word).
  for (size_t at = 0; at < good.size(); ++at) {
    for (char bad : {'\0', '\r', '\n', '\x1f', '\x7f'}) {
      std::string v = good;
      v[at] = bad;
      EXPECT_FALSE(IsSafeExtraField("x", v)) << "byte " << int(bad) << " at " << at;
    }
    std::string tab = good;
    tab[at] = '\t';
    EXPECT_TRUE(IsSafeExtraField("x", tab)) << "tab at " << at;
  }
}

}  // namespace edge::l7
