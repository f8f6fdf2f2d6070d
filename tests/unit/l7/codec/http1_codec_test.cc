// Http1Codec without a socket: a fake connection below it (collects the bytes written, records
// the timer and close decisions) and a fake stream above it (records what it decodes, answers
// when the test says). Checks pipelining order, request bodies (Content-Length, chunked with
// trailers), Expect: 100-continue, the client's framing of responses and persistence.

#include "l7/codec/http1_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/http/response_parser.h"
#include "tests/unit/l7/fake_stream_services.h"

namespace edge::l7 {
namespace {

using testing::FakeServices;

constexpr std::string_view kConfig = R"(
[gw7]
listen = "127.0.0.1:0"
[[upstream]]
name = "u"
servers = ["127.0.0.1:9101"]
[[route]]
name = "r"
path_prefix = "/"
upstream = "u"
)";

class FakeStream final : public StreamDecoder {
 public:
  void DecodeHead(StreamId id, const http::HttpRequest& request, const StreamConnectionInfo&,
                  CodecStream* codec) override {
    ids.push_back(id);
    targets.emplace_back(request.path);
    codec_ = codec;
    if (read_body) {
      codec->AcceptBody();
      codec->ReadBody();
    }
  }
  void DecodeData(std::string_view data) override { body.append(data); }
  void DecodeEnd(const http::HttpHeaders* trailers) override {
    ++ends;
    if (trailers != nullptr) {
      for (const auto& t : *trailers)
        trailer_text += std::string(t.name) + "=" + std::string(t.value) + ";";
    }
  }
  void DecodeError(int status, std::string_view) override { error_status = status; }
  bool WantsData() const override { return true; }
  void OnOutputDrained() override {}
  void OnReset() override { ++resets; }
  void OnStreamComplete(int status) override { completed.push_back(status); }

  CodecStream* codec() { return codec_; }
  bool read_body = false;
  std::vector<StreamId> ids;
  std::vector<std::string> targets;
  std::string body;
  std::string trailer_text;
  int ends = 0;
  int error_status = 0;
  int resets = 0;
  std::vector<int> completed;

 private:
  CodecStream* codec_ = nullptr;
};

class FakeConnection final : public ServerCodecCallbacks {
 public:
  explicit FakeConnection(StreamDecoder* stream) : stream_(stream) {}
  void Write(std::string_view data) override { out.append(data); }
  size_t output_queued() const override { return 0; }
  void BeginBatch() override {}
  void EndBatch() override {}
  void ReadMore() override {}
  StreamDecoder* NewStream(StreamId) override { return stream_; }
  void OnHeadBegun() override { head_timer = true; }
  void OnHeadEnded() override { head_timer = false; }
  void OnIdle() override { ++idles; }
  void CloseAfterFlush() override { close_after_flush = true; }
  void CloseNow() override { closed_now = true; }
  void StartTunnel(UpstreamLink*, std::string_view, std::string from_client) override {
    tunnel = true;
    tunnel_input = std::move(from_client);
  }
  void StartHttp2(const StreamConnectionInfo&, std::string input) override {
    http2 = true;
    http2_input = std::move(input);
  }

  std::string out;
  bool head_timer = false;
  int idles = 0;
  bool close_after_flush = false;
  bool closed_now = false;
  bool tunnel = false;
  std::string tunnel_input;
  bool http2 = false;
  std::string http2_input;

 private:
  StreamDecoder* stream_;
};

http::HttpResponse Head(int status, http::BodyKind kind, uint64_t length = 0) {
  http::HttpResponse r;
  r.status = static_cast<uint16_t>(status);
  r.reason = "OK";
  r.body.kind = kind;
  r.body.length = length;
  return r;
}

class Http1CodecTest : public ::testing::Test {
 protected:
  Http1CodecTest()
      : services_(kConfig),
        connection_(&stream_),
        peer_(net::SocketAddress::Parse("192.0.2.1:4000").value()),
        codec_(&services_, &connection_, peer_) {}
  void SetUp() override {
    ASSERT_TRUE(services_.error.ok()) << services_.error;
    codec_.Start(false, false);
  }

  FakeServices services_;
  FakeStream stream_;
  FakeConnection connection_;
  net::SocketAddress peer_;  // outlives codec_
  Http1Codec codec_;
};

TEST_F(Http1CodecTest, PipelinedRequestsAreDecodedOneAtATimeInOrder) {
  codec_.OnData("GET /one HTTP/1.1\r\nHost: h\r\n\r\nGET /two HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(stream_.targets.size(), 1u);  // the second waits for the first's answer
  EXPECT_EQ(stream_.targets[0], "/one");
  http::HttpResponse one = Head(200, http::BodyKind::kContentLength, 1);
  codec_.EncodeHead(one, nullptr, "id1");
  codec_.EncodeData("1");
  codec_.EncodeEnd(nullptr);
  ASSERT_EQ(stream_.targets.size(), 2u);
  EXPECT_EQ(stream_.targets[1], "/two");
  EXPECT_EQ(stream_.ids[0] + 1, stream_.ids[1]);
  http::HttpResponse two = Head(200, http::BodyKind::kContentLength, 1);
  codec_.EncodeHead(two, nullptr, "id2");
  codec_.EncodeData("2");
  codec_.EncodeEnd(nullptr);
  const std::string& out = connection_.out;
  const size_t first = out.find("X-Request-Id: id1");
  const size_t second = out.find("X-Request-Id: id2");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_EQ(stream_.completed, (std::vector<int>{200, 200}));
  EXPECT_FALSE(connection_.close_after_flush);
  EXPECT_EQ(connection_.idles, 2);
}

TEST_F(Http1CodecTest, ContentLengthBodyArrivesInPiecesThenEnds) {
  stream_.read_body = true;
  codec_.OnData("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc");
  EXPECT_EQ(stream_.body, "abc");
  EXPECT_EQ(stream_.ends, 0);
  EXPECT_FALSE(codec_.body_complete());
  codec_.OnData("defGET");  // the next request's first bytes stay buffered
  EXPECT_EQ(stream_.body, "abcdef");
  EXPECT_EQ(stream_.ends, 1);
  EXPECT_TRUE(codec_.body_complete());
  EXPECT_EQ(stream_.targets.size(), 1u);
}

TEST_F(Http1CodecTest, ChunkedBodyIsDechunkedWithItsTrailers) {
  stream_.read_body = true;
  codec_.OnData(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Checksum: 7\r\n\r\n");
  EXPECT_EQ(stream_.body, "abcde");
  EXPECT_EQ(stream_.ends, 1);
  EXPECT_EQ(stream_.trailer_text, "X-Checksum=7;");
}

TEST_F(Http1CodecTest, BrokenChunkIsADecodeError) {
  stream_.read_body = true;
  codec_.OnData("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  EXPECT_EQ(stream_.error_status, 400);
  EXPECT_EQ(services_.errors("bad_request_body"), 1u);
}

TEST_F(Http1CodecTest, ExpectContinueIsAnsweredWhenTheStreamReadsTheBody) {
  stream_.read_body = true;
  codec_.OnData("PUT /u HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(connection_.out, "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST_F(Http1CodecTest, ChunkedResponseForAnHttp11ClientCarriesTrailers) {
  codec_.OnData("GET /t HTTP/1.1\r\nHost: h\r\n\r\n");
  http::HttpResponse head = Head(200, http::BodyKind::kChunked);
  codec_.EncodeHead(head, nullptr, "");
  codec_.EncodeData("hello");
  http::HttpHeaders trailers;
  trailers.Add("Grpc-Status", "0");
  codec_.EncodeEnd(&trailers);
  EXPECT_NE(connection_.out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_TRUE(connection_.out.ends_with("5\r\nhello\r\n0\r\nGrpc-Status: 0\r\n\r\n"))
      << connection_.out;
}

TEST_F(Http1CodecTest, Http10ClientGetsTheBodyUntilClose) {
  codec_.OnData("GET /old HTTP/1.0\r\nHost: h\r\n\r\n");
  http::HttpResponse head = Head(200, http::BodyKind::kChunked);
  codec_.EncodeHead(head, nullptr, "");
  codec_.EncodeData("abc");
  codec_.EncodeEnd(nullptr);
  EXPECT_NE(connection_.out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(connection_.out.find("chunked"), std::string::npos);
  EXPECT_TRUE(connection_.out.ends_with("\r\n\r\nabc"));
  EXPECT_TRUE(connection_.close_after_flush);
}

TEST_F(Http1CodecTest, ConnectionCloseRequestEndsTheConnectionAfterItsResponse) {
  codec_.OnData("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  codec_.EncodeLocal(404, {{"Content-Type", "text/plain"}}, "no", false);
  EXPECT_TRUE(connection_.out.starts_with("HTTP/1.1 404 "));
  EXPECT_NE(connection_.out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(connection_.close_after_flush);
}

TEST_F(Http1CodecTest, AnswerBeforeTheBodyWasReadClosesTheConnection) {
  codec_.OnData("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n");
  codec_.EncodeLocal(403, {{"Content-Type", "text/plain"}}, "no", false);
  EXPECT_NE(connection_.out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(connection_.close_after_flush);
}

TEST_F(Http1CodecTest, MalformedRequestIsRefusedAndTheConnectionEnds) {
  codec_.OnData("GET / HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n");
  EXPECT_TRUE(stream_.targets.empty());
  EXPECT_TRUE(connection_.out.starts_with("HTTP/1.1 400 "));
  EXPECT_TRUE(connection_.close_after_flush);
  EXPECT_EQ(services_.stats().requests_total, 1u);
}

TEST_F(Http1CodecTest, PartialHeadStartsTheHeaderTimerAndEofRefusesIt) {
  codec_.OnData("GET / HT");
  EXPECT_TRUE(connection_.head_timer);
  codec_.OnEof();
  EXPECT_TRUE(connection_.out.starts_with("HTTP/1.1 400 "));
  EXPECT_EQ(services_.errors("incomplete_head"), 1u);
}

TEST_F(Http1CodecTest, UpgradeHandsTheConnectionAndItsBufferedBytesToTheTunnel) {
  codec_.OnData(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nframe");
  http::HttpResponse head = Head(101, http::BodyKind::kNone);
  head.headers.Add("Upgrade", "websocket");
  codec_.EncodeUpgrade(head, nullptr, "", nullptr, "");
  EXPECT_TRUE(connection_.out.starts_with("HTTP/1.1 101 "));
  EXPECT_NE(connection_.out.find("Connection: Upgrade\r\n"), std::string::npos);
  EXPECT_TRUE(connection_.tunnel);
  EXPECT_EQ(connection_.tunnel_input, "frame");
  codec_.OnConnectionClosed();
  EXPECT_EQ(stream_.resets, 1);  // the tunnel's request ends with the connection
}

}  // namespace
}  // namespace edge::l7
