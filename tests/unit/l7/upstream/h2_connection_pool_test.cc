// H2ConnectionPool and H2UpstreamConnection without sockets: the pool's links are FakeLinks and
// the test plays the server with a real nghttp2 server session, so every frame gw7 sends is
// parsed by nghttp2 and every answer is a real HTTP/2 frame. Covered: streams held until the
// server's SETTINGS and then within its SETTINGS_MAX_CONCURRENT_STREAMS, a new connection when
// the others are full and a wait when max_connections is reached, responses with bodies and
// trailers, and which failures count as never processed (a retry is safe) and which do not.

#include "l7/upstream/h2_connection_pool.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/l7/fake_stream_services.h"

namespace edge::l7 {
namespace {

using testing::FakeConnector;
using testing::FakeLink;

// What a request hears of its stream.
struct RecordingOwner : H2StreamOwner {
  void OnH2Head(const http::HttpResponse& head) override { status = head.status; }
  void OnH2Data(std::string_view data) override { body.append(data); }
  void OnH2End(const http::HttpHeaders* trailers) override {
    ended = true;
    if (trailers != nullptr) {
      for (const http::HttpHeader& f : *trailers) {
        trailer_fields.push_back(std::string(f.name) + "=" + std::string(f.value));
      }
    }
  }
  void OnH2Failed(std::string_view k, std::string d, bool u) override {
    failed = true;
    kind = std::string(k);
    detail = std::move(d);
    unprocessed = u;
  }
  void OnH2SendDrained() override {}

  int status = 0;
  std::string body;
  bool ended = false;
  std::vector<std::string> trailer_fields;
  bool failed = false;
  std::string kind;
  std::string detail;
  bool unprocessed = false;
};

// The server end of one FakeLink: an nghttp2 server session fed with what gw7 sent.
class FakeH2Server {
 public:
  explicit FakeH2Server(FakeLink* link) : link_(link) {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &OnFrame);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
  }
  ~FakeH2Server() { nghttp2_session_del(session_); }

  // The server's SETTINGS, its first frame: queued, sent by the next Exchange.
  void SubmitSettings(uint32_t max_concurrent_streams) {
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent_streams}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 1);
  }
  // Reads what gw7 sent, sends what the session has to say.
  void Exchange() {
    Receive();
    const uint8_t* data;
    ssize_t n;
    std::string out;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (!out.empty()) link_->Respond(out);
  }
  // Parses what gw7 sent (nothing is answered: the server's first frame must be its SETTINGS).
  void Receive() {
    std::string in;
    in.swap(link_->sent);
    if (!in.empty()) {
      ASSERT_EQ(nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(in.data()),
                                         in.size()),
                static_cast<ssize_t>(in.size()));
    }
  }
  // A response with `body` and, if given, trailers.
  void Respond(int32_t id, int status, std::string body,
               std::vector<std::pair<std::string, std::string>> trailers = {}) {
    Body& b = bodies_[id];
    b.data = std::move(body);
    b.trailers = std::move(trailers);
    b.server = this;
    b.id = id;
    const std::string code = std::to_string(status);
    nghttp2_nv nva[] = {Nv(":status", code)};
    nghttp2_data_provider provider;
    provider.source.ptr = &b;
    provider.read_callback = &ReadBody;
    nghttp2_submit_response(session_, id, nva, 1, &provider);
    Exchange();
  }
  void Reset(int32_t id, uint32_t code) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
    Exchange();
  }
  void Goaway(int32_t last_stream_id) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream_id, NGHTTP2_NO_ERROR, nullptr,
                          0);
    Exchange();
  }
  // Streams whose HEADERS arrived, in order, by path.
  std::vector<int32_t> ids;
  std::map<int32_t, std::string> paths;

 private:
  struct Body {
    FakeH2Server* server;
    int32_t id;
    std::string data;
    size_t at = 0;
    std::vector<std::pair<std::string, std::string>> trailers;
  };
  // Views: the strings must outlive the submit call.
  static nghttp2_nv Nv(std::string_view name, std::string_view value) {
    return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
            NGHTTP2_NV_FLAG_NONE};
  }
  static ssize_t ReadBody(nghttp2_session* session, int32_t, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source* source, void*) {
    auto* b = static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, b->data.size() - b->at);
    std::memcpy(buf, b->data.data() + b->at, n);
    b->at += n;
    if (b->at == b->data.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!b->trailers.empty()) {
        std::vector<nghttp2_nv> nva;
        for (const auto& [k, v] : b->trailers) nva.push_back(Nv(k, v));
        nghttp2_submit_trailer(session, b->id, nva.data(), nva.size());
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* self = static_cast<FakeH2Server*>(user);
    if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":path") {
      self->paths[frame->hd.stream_id] =
          std::string(reinterpret_cast<const char*>(value), valuelen);
    }
    return 0;
  }
  static int OnFrame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* self = static_cast<FakeH2Server*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self->ids.push_back(frame->hd.stream_id);
    }
    return 0;
  }

  FakeLink* link_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Body> bodies_;
};

H2Fields Get(const std::string& path) {
  H2Fields f;
  f.Add(":method", "GET");
  f.Add(":scheme", "http");
  f.Add(":authority", "upstream.test");
  f.Add(":path", path);
  return f;
}

class H2PoolTest : public ::testing::Test {
 protected:
  H2PoolTest()
      : server_(*net::SocketAddress::Parse("127.0.0.1:9000")),
        pool_(std::make_unique<H2ConnectionPool>(server_, "127.0.0.1:9000", 2, 64 * 1024)) {}

  H2UpstreamStream* Open(const std::string& path, RecordingOwner* owner) {
    auto s = pool_->Open(connector_, Get(path), /*no_body=*/true, owner);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : nullptr;
  }
  // Connects link `i` and puts a server on it that says `max_streams`.
  FakeH2Server& Serve(size_t i, uint32_t max_streams) {
    FakeLink* link = connector_.links.at(i).get();
    link->Connected();
    servers_.push_back(std::make_unique<FakeH2Server>(link));
    servers_.back()->SubmitSettings(max_streams);
    servers_.back()->Exchange();
    servers_.back()->Exchange();  // gw7's HEADERS, now that it knows the limit
    return *servers_.back();
  }

  net::SocketAddress server_;
  FakeConnector connector_;
  std::vector<std::unique_ptr<FakeH2Server>> servers_;
  // The requests: they outlive the pool, which tells those still open that it closed.
  RecordingOwner owners[5], a, b, c;
  std::unique_ptr<H2ConnectionPool> pool_;
};

TEST_F(H2PoolTest, StreamsWaitForSettingsThenStayWithinMaxConcurrentStreams) {
  for (int i = 0; i < 5; ++i) Open("/r" + std::to_string(i), &owners[i]);
  // One connection takes them all provisionally; nothing is sent before the server's SETTINGS.
  ASSERT_EQ(connector_.links.size(), 1u);
  connector_.links[0]->Connected();
  FakeH2Server server(connector_.links[0].get());
  server.SubmitSettings(2);  // goes out first, before the answer to gw7's SETTINGS
  server.Receive();
  EXPECT_TRUE(server.ids.empty()) << "HEADERS before the server's SETTINGS";
  server.Exchange();
  server.Exchange();
  ASSERT_EQ(server.ids.size(), 2u) << "the server allows 2 streams at once";
  EXPECT_EQ(server.paths[server.ids[0]], "/r0");
  EXPECT_EQ(server.paths[server.ids[1]], "/r1");

  // One answered: the next goes out on the same connection.
  server.Respond(server.ids[0], 200, "hello");
  server.Exchange();
  EXPECT_TRUE(owners[0].ended);
  EXPECT_EQ(owners[0].status, 200);
  EXPECT_EQ(owners[0].body, "hello");
  ASSERT_EQ(server.ids.size(), 3u);
  EXPECT_EQ(server.paths[server.ids[2]], "/r2");
  EXPECT_EQ(pool_->connections_opened(), 1u);

  // Answer the rest, in order: everyone gets theirs, no stream went astray.
  for (size_t k = 1; k < 5; ++k) {
    ASSERT_GT(server.ids.size(), k);
    server.Respond(server.ids[k], 200, "body-" + std::to_string(k));
    server.Exchange();
  }
  for (int i = 1; i < 5; ++i) {
    EXPECT_TRUE(owners[i].ended) << i;
    EXPECT_EQ(owners[i].body, "body-" + std::to_string(i)) << i;
  }
}

TEST_F(H2PoolTest, FullConnectionsOpenAnotherUpToMaxConnectionsThenRequestsWait) {
  Open("/a", &a);
  FakeH2Server& first = Serve(0, 1);
  ASSERT_EQ(first.ids.size(), 1u);
  Open("/b", &b);  // the first connection is full: a second one
  ASSERT_EQ(connector_.links.size(), 2u);
  FakeH2Server& second = Serve(1, 1);
  ASSERT_EQ(second.ids.size(), 1u);
  EXPECT_EQ(second.paths[second.ids[0]], "/b");
  Open("/c", &c);  // both full, max_connections 2: it waits
  EXPECT_EQ(connector_.links.size(), 2u);
  EXPECT_EQ(pool_->waiting(), 1u);
  second.Respond(second.ids[0], 204, "");
  second.Exchange();
  EXPECT_TRUE(b.ended);
  EXPECT_EQ(pool_->waiting(), 0u);
  ASSERT_EQ(second.ids.size(), 2u);
  EXPECT_EQ(second.paths[second.ids[1]], "/c");
}

TEST_F(H2PoolTest, BodyAndTrailersReachTheOwner) {
  Open("/grpc", &a);
  FakeH2Server& server = Serve(0, 100);
  const std::string big(100 * 1024, 'x');  // more than one DATA frame, within the window
  server.Respond(server.ids[0], 200, big, {{"grpc-status", "0"}, {"grpc-message", "ok"}});
  for (int i = 0; i < 10 && !a.ended; ++i) server.Exchange();
  ASSERT_TRUE(a.ended);
  EXPECT_EQ(a.body, big);
  EXPECT_EQ(a.trailer_fields, (std::vector<std::string>{"grpc-status=0", "grpc-message=ok"}));
}

TEST_F(H2PoolTest, AFailedConnectFailsEveryStreamAsUnprocessed) {
  Open("/a", &a);
  Open("/b", &b);
  connector_.links[0]->Connected(-ECONNREFUSED);
  for (RecordingOwner* o : {&a, &b}) {
    EXPECT_TRUE(o->failed);
    EXPECT_EQ(o->kind, "connect_failed");
    EXPECT_TRUE(o->unprocessed) << "nothing reached the server: a retry is safe";
  }
  EXPECT_EQ(pool_->connections(), 0u);
}

TEST_F(H2PoolTest, GoawayFailsOnlyTheStreamsBeyondItsLastStreamId) {
  Open("/a", &a);
  Open("/b", &b);
  FakeH2Server& server = Serve(0, 100);
  ASSERT_EQ(server.ids.size(), 2u);
  server.Goaway(server.ids[0]);
  server.Exchange();
  EXPECT_TRUE(b.failed);
  EXPECT_TRUE(b.unprocessed) << "beyond the GOAWAY's last stream: never processed";
  EXPECT_FALSE(a.failed);
  server.Respond(server.ids[0], 200, "done");
  server.Exchange();
  EXPECT_TRUE(a.ended);
  EXPECT_EQ(a.body, "done");
  // A new request does not go on the connection that is going away.
  Open("/c", &c);
  EXPECT_EQ(connector_.links.size(), 2u);
}

TEST_F(H2PoolTest, RefusedStreamIsUnprocessedOtherResetsAreNot) {
  Open("/a", &a);
  Open("/b", &b);
  FakeH2Server& server = Serve(0, 100);
  server.Reset(server.ids[0], NGHTTP2_REFUSED_STREAM);
  server.Reset(server.ids[1], NGHTTP2_INTERNAL_ERROR);
  EXPECT_TRUE(a.failed);
  EXPECT_TRUE(a.unprocessed);
  EXPECT_TRUE(b.failed);
  EXPECT_FALSE(b.unprocessed) << "the server may have acted on it";
}

TEST_F(H2PoolTest, ConnectionLostMidResponseIsNotUnprocessed) {
  Open("/a", &a);
  Serve(0, 100);
  connector_.links[0]->ServerClosed(-ECONNRESET);
  EXPECT_TRUE(a.failed);
  EXPECT_FALSE(a.unprocessed) << "the server had the request";
  EXPECT_EQ(pool_->connections(), 0u);
}

TEST_F(H2PoolTest, AWaitingStreamCancelledLeavesNoTrace) {
  Open("/a", &a);
  Serve(0, 1);
  Open("/b", &b);
  Serve(1, 1);
  H2UpstreamStream* waiting = Open("/c", &c);
  ASSERT_EQ(pool_->waiting(), 1u);
  waiting->Cancel();
  EXPECT_EQ(pool_->waiting(), 0u);
  servers_[0]->Respond(servers_[0]->ids[0], 200, "");
  servers_[0]->Exchange();
  EXPECT_EQ(servers_[0]->ids.size(), 1u) << "the cancelled request never went out";
  EXPECT_FALSE(c.failed);
  EXPECT_FALSE(c.ended);
}

TEST_F(H2PoolTest, AConnectorThatCannotConnectIsAnErrorWhenNoConnectionExists) {
  connector_.refuse = true;
  auto s = pool_->Open(connector_, Get("/a"), true, &a);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(a.failed) << "the error is the answer; no event follows";
}

}  // namespace
}  // namespace edge::l7
