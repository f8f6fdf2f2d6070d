// Http2Codec without a socket: an nghttp2 client session in memory on the other side (its bytes
// go straight into the codec, the codec's output straight back), a fake connection below the
// codec and fake request streams above it. Checks that streams map to requests (pseudo-headers
// into the request view, bodies with their end, trailers), that responses (head, body, trailers,
// a HEAD without body) reach the client, and that a malformed request is a stream error only.
#include "l7/codec/http2_codec.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/l7/fake_stream_services.h"

namespace edge::l7 {
namespace {

using testing::FakeServices;

constexpr std::string_view kConfig = R"(
[gw7]
listen = "127.0.0.1:0"
http2 = true
[[upstream]]
name = "u"
servers = ["127.0.0.1:9101"]
[[route]]
name = "r"
path_prefix = "/"
upstream = "u"
)";

// A request stream that records what it decodes and answers when the test says.
class FakeStream final : public StreamDecoder {
 public:
  void DecodeHead(StreamId, const http::HttpRequest& request, const StreamConnectionInfo&,
                  CodecStream* codec) override {
    method = std::string(request.method_name);
    path = std::string(request.path);
    query = std::string(request.query);
    authority = std::string(request.authority);
    body_kind = request.body.kind;
    for (const auto& h : request.headers) fields[std::string(h.name)] = std::string(h.value);
    codec_ = codec;
    codec->AcceptBody();
  }
  void DecodeData(std::string_view data) override { body.append(data); }
  void DecodeEnd(const http::HttpHeaders* trailers) override {
    ++ends;
    if (trailers != nullptr) {
      for (const auto& t : *trailers) trailers_seen[std::string(t.name)] = std::string(t.value);
    }
  }
  void DecodeError(int status, std::string_view) override { error_status = status; }
  bool WantsData() const override { return true; }
  void OnOutputDrained() override {}
  void OnReset() override { ++resets; }
  void OnStreamComplete(int status) override { completed = status; }

  CodecStream* codec_ = nullptr;
  std::string method, path, query, authority, body;
  http::BodyKind body_kind = http::BodyKind::kNone;
  std::map<std::string, std::string> fields, trailers_seen;
  int ends = 0, error_status = 0, resets = 0, completed = 0;
};

class FakeConnection final : public ServerCodecCallbacks {
 public:
  void Write(std::string_view data) override { out.append(data); }
  size_t output_queued() const override { return 0; }
  void BeginBatch() override {}
  void EndBatch() override {}
  void ReadMore() override {}
  StreamDecoder* NewStream(StreamId) override {
    streams.push_back(std::make_unique<FakeStream>());
    return streams.back().get();
  }
  void OnHeadBegun() override {}
  void OnHeadEnded() override {}
  void OnIdle() override {}
  void CloseAfterFlush() override { closing = true; }
  void CloseNow() override { closing = true; }
  void StartTunnel(UpstreamLink*, std::string_view, std::string) override {}
  void StartHttp2(const StreamConnectionInfo&, std::string) override {}

  std::string out;
  bool closing = false;
  std::vector<std::unique_ptr<FakeStream>> streams;
};

// The client: an nghttp2 client session whose responses are collected per stream.
struct Client {
  struct Response {
    std::map<std::string, std::string> fields;
    std::string body;
    bool closed = false;
    uint32_t error = 0;
  };
  nghttp2_session* session = nullptr;
  std::map<int32_t, Response> responses;

  Client() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* n, size_t nl,
                const uint8_t* v, size_t vl, uint8_t, void* self) {
          static_cast<Client*>(self)
              ->responses[f->hd.stream_id]
              .fields[std::string(reinterpret_cast<const char*>(n), nl)] =
              std::string(reinterpret_cast<const char*>(v), vl);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* d, size_t n, void* self) {
          static_cast<Client*>(self)->responses[id].body.append(reinterpret_cast<const char*>(d),
                                                                n);
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        cbs, [](nghttp2_session*, int32_t id, uint32_t error, void* self) {
          auto& r = static_cast<Client*>(self)->responses[id];
          r.closed = true;
          r.error = error;
          return 0;
        });
    nghttp2_session_client_new(&session, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Client() { nghttp2_session_del(session); }

  std::string Take() {
    std::string bytes;
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
      bytes.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return bytes;
  }
  void Receive(std::string* from_server) {
    nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(from_server->data()),
                             from_server->size());
    from_server->clear();
  }
  int32_t Request(std::vector<std::pair<std::string, std::string>> fields,
                  const std::string* body = nullptr) {
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                     n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    if (body == nullptr) {
      return nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), nullptr, nullptr);
    }
    body_ = *body;
    nghttp2_data_provider provider;
    provider.source.ptr = this;
    provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t len,
                                uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
      auto* self = static_cast<Client*>(src->ptr);
      const size_t n = std::min(len, self->body_.size());
      std::memcpy(buf, self->body_.data(), n);
      self->body_.erase(0, n);
      if (self->body_.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    return nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), &provider, nullptr);
  }
  std::string body_;
};

class Http2CodecTest : public ::testing::Test {
 protected:
  Http2CodecTest() : services_(kConfig) {}
  void SetUp() override {
    ASSERT_TRUE(services_.error.ok()) << services_.error;
    StreamConnectionInfo info;
    codec_ = std::make_unique<Http2Codec>(&services_, &connection_, info);
    codec_->Start("", false);
  }
  // Moves bytes both ways until neither side has more to say.
  void Pump() {
    for (int i = 0; i < 20; ++i) {
      std::string to_server = client_.Take();
      if (!to_server.empty()) codec_->OnData(to_server);
      if (connection_.out.empty() && to_server.empty()) return;
      client_.Receive(&connection_.out);
    }
  }

  FakeServices services_;
  FakeConnection connection_;
  std::unique_ptr<Http2Codec> codec_;
  Client client_;
};

TEST_F(Http2CodecTest, MapsPseudoHeadersAndAnswersWithHeadBodyAndTrailers) {
  const int32_t id = client_.Request({{":method", "GET"},
                                      {":scheme", "https"},
                                      {":authority", "api.example.com"},
                                      {":path", "/v1/x?a=1"},
                                      {"x-test", "yes"}});
  Pump();
  ASSERT_EQ(connection_.streams.size(), 1u);
  FakeStream& s = *connection_.streams[0];
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.path, "/v1/x");
  EXPECT_EQ(s.query, "a=1");
  EXPECT_EQ(s.authority, "api.example.com");
  EXPECT_EQ(s.fields["x-test"], "yes");
  EXPECT_EQ(s.fields.count(":path"), 0u);  // pseudo-headers are not fields
  http::HttpResponse head;
  head.status = 200;
  head.headers.Add("Content-Type", "text/plain");
  head.headers.Add("Connection", "keep-alive");  // connection-specific: dropped
  s.codec_->EncodeHead(head, nullptr, "rid-1");
  s.codec_->EncodeData("hello");
  http::HttpHeaders trailers;
  trailers.Add("grpc-status", "0");
  s.codec_->EncodeEnd(&trailers);
  EXPECT_EQ(s.completed, 200);
  Pump();
  Client::Response& r = client_.responses[id];
  EXPECT_EQ(r.fields[":status"], "200");
  EXPECT_EQ(r.fields["content-type"], "text/plain");
  EXPECT_EQ(r.fields["x-request-id"], "rid-1");
  EXPECT_EQ(r.fields.count("connection"), 0u);
  EXPECT_EQ(r.fields["grpc-status"], "0");
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.error, 0u);
}

TEST_F(Http2CodecTest, LowerCasesEveryResponseFieldName) {
  const int32_t id = client_.Request(
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/"}});
  Pump();
  ASSERT_EQ(connection_.streams.size(), 1u);
  FakeStream& s = *connection_.streams[0];
  http::HttpResponse head;
  head.status = 200;
  head.body = {http::BodyKind::kContentLength, 2};
  // Every tchar, the letters next to the ends of A-Z, names shorter and longer than 8 bytes.
  head.headers.Add("X-Mixed_Case.Name~With^Edges`|AZaz09!#$%&'*+", "1");
  head.headers.Add("ETag", "2");
  head.headers.Add("SERVER", "3");
  s.codec_->EncodeHead(head, nullptr, "rid");
  s.codec_->EncodeData("ok");
  s.codec_->EncodeEnd(nullptr);
  Pump();
  Client::Response& r = client_.responses[id];
  EXPECT_EQ(r.fields["x-mixed_case.name~with^edges`|azaz09!#$%&'*+"], "1");
  EXPECT_EQ(r.fields["etag"], "2");
  EXPECT_EQ(r.fields["server"], "3");
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.error, 0u);
}

// X-Request-Id values are unique: one goes into the HPACK table (so later responses send the
// name as an index), then at most one per 10 s. More would pile up in nghttp2's deflater bucket
// that :status shares, walked by every response (perf found 48 hops per response at 256).
TEST_F(Http2CodecTest, RequestIdsEnterTheHpackTableOncePerTenSeconds) {
  auto respond = [&](int i) {
    const int32_t id = client_.Request(
        {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/r"}});
    Pump();
    FakeStream& s = *connection_.streams.back();
    http::HttpResponse head;
    head.status = 200;
    head.body = {http::BodyKind::kContentLength, 0};
    s.codec_->EncodeHead(head, nullptr, "rid-" + std::to_string(i));
    s.codec_->EncodeEnd(nullptr);
    Pump();
    EXPECT_EQ(client_.responses[id].fields["x-request-id"], "rid-" + std::to_string(i));
  };
  const auto table = [&] {
    return nghttp2_session_get_hd_inflate_dynamic_table_size(client_.session);
  };
  respond(0);
  const size_t after_first = table();
  EXPECT_GT(after_first, 0u);
  for (int i = 1; i < 600; ++i) respond(i);
  EXPECT_EQ(table(), after_first);  // every id after the first went unindexed
  services_.Advance(11'000'000'000);
  respond(600);
  EXPECT_GT(table(), after_first);  // ten seconds on: one more entry
  const size_t later = table();
  respond(601);
  EXPECT_EQ(table(), later);
}

TEST_F(Http2CodecTest, RequestBodyArrivesWithItsEnd) {
  const std::string body(100000, 'b');  // beyond one window: WINDOW_UPDATEs must follow
  const int32_t id = client_.Request(
      {{":method", "POST"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/up"}}, &body);
  Pump();
  ASSERT_EQ(connection_.streams.size(), 1u);
  FakeStream& s = *connection_.streams[0];
  EXPECT_EQ(s.body_kind, http::BodyKind::kChunked);  // no content-length
  EXPECT_EQ(s.body.size(), body.size());
  EXPECT_EQ(s.ends, 1);
  s.codec_->EncodeLocal(201, {}, "ok", false);
  Pump();
  EXPECT_EQ(client_.responses[id].fields[":status"], "201");
  EXPECT_EQ(client_.responses[id].body, "ok");
}

TEST_F(Http2CodecTest, HeadResponseHasNoBody) {
  const int32_t id = client_.Request(
      {{":method", "HEAD"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/h"}});
  Pump();
  ASSERT_EQ(connection_.streams.size(), 1u);
  connection_.streams[0]->codec_->EncodeLocal(404, {}, "not here", false);
  Pump();
  EXPECT_EQ(client_.responses[id].fields[":status"], "404");
  EXPECT_EQ(client_.responses[id].body, "");
  EXPECT_TRUE(client_.responses[id].closed);
}

TEST_F(Http2CodecTest, MalformedRequestIsAStreamErrorAndTheNextIsServed) {
  const int32_t bad = client_.Request({{":method", "GET"},
                                       {":scheme", "http"},
                                       {":authority", "a"},
                                       {":path", "/bad"},
                                       {"te", "gzip"}});
  Pump();
  EXPECT_TRUE(connection_.streams.empty());
  EXPECT_TRUE(client_.responses[bad].closed);
  EXPECT_EQ(client_.responses[bad].error, static_cast<uint32_t>(NGHTTP2_PROTOCOL_ERROR));
  const int32_t good = client_.Request(
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/ok"}});
  Pump();
  ASSERT_EQ(connection_.streams.size(), 1u);
  connection_.streams[0]->codec_->EncodeLocal(200, {}, "", false);
  Pump();
  EXPECT_EQ(client_.responses[good].fields[":status"], "200");
  EXPECT_FALSE(connection_.closing);
}

TEST_F(Http2CodecTest, ClientResetEndsTheRequest) {
  const int32_t id = client_.Request(
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", "/r"}});
  Pump();
  ASSERT_EQ(connection_.streams.size(), 1u);
  nghttp2_submit_rst_stream(client_.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  Pump();
  EXPECT_EQ(connection_.streams[0]->resets, 1);
  EXPECT_EQ(codec_->open_streams(), 0u);
}

}  // namespace
}  // namespace edge::l7
