// RequestStream driven without sockets: a fake codec below it, a fake upstream behind its proxy
// filter, test filters in front of the proxy. Checks the filter chain's contract (continue, stop,
// suspend and resume, OnEnd exactly once however the request ends, a response produced by a
// filter and seen by the filters before it) and the proxy filter's retries and timeouts.

#include "l7/stream/request_stream.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <string>
#include <vector>

#include "common/http/request_parser.h"
#include "l7/codec/internal_codec.h"
#include "tests/unit/l7/fake_codec.h"
#include "tests/unit/l7/fake_stream_services.h"

namespace edge::l7 {
namespace {

using testing::FakeCodec;
using testing::FakeLink;
using testing::FakeServices;

constexpr std::string_view kConfig = R"(
[gw7]
listen = "127.0.0.1:0"
[[upstream]]
name = "u"
servers = ["127.0.0.1:9101", "127.0.0.1:9102"]
balance = "round_robin"
retries = 1
request_timeout = "2s"
[[route]]
name = "r"
path_prefix = "/"
upstream = "u"
)";

// A filter whose answer the test chooses; counts its calls.
class ScriptedFilter final : public Filter {
 public:
  explicit ScriptedFilter(FilterStatus answer) : answer_(answer) {}
  std::string_view name() const override { return "scripted"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override {
    ++requests;
    resumer_ = resumer;
    ctx_ = &ctx;
    if (answer_ == FilterStatus::kStop) return ctx.Reject(403, "no", "not allowed");
    if (answer_ == FilterStatus::kRespond) {
      http::HttpResponse head;
      head.status = 200;
      head.reason = "OK";
      head.body.kind = http::BodyKind::kContentLength;
      head.body.length = 5;
      ctx.stream->SendHead(head);
      ctx.stream->SendData("hello");
      ctx.stream->SendEnd(nullptr);
      return FilterStatus::kRespond;
    }
    return answer_;
  }
  void OnResponseHead(FilterContext& ctx, const http::HttpResponse& head) override {
    seen_status = head.status;
    ctx.response_headers.emplace_back("X-Seen", "1");
  }
  void OnResponseData(FilterContext&, std::string_view data) override { seen_body.append(data); }
  void OnResponseEnd(FilterContext&, const http::HttpHeaders*) override { ++seen_ends; }
  void OnEnd(FilterContext&) override { ++ends; }

  Resumer* resumer() const { return resumer_; }
  FilterContext* ctx() const { return ctx_; }
  int requests = 0;
  int ends = 0;
  int seen_status = 0;
  int seen_ends = 0;
  std::string seen_body;

 private:
  FilterStatus answer_;
  Resumer* resumer_ = nullptr;
  FilterContext* ctx_ = nullptr;
};

// A filter that takes over responses of the statuses it is given (as a cache does with an
// upstream 304 or 5xx) and answers 200 "replaced" instead, at once or when the test says.
class ReplacingFilter final : public Filter {
 public:
  explicit ReplacingFilter(std::vector<int> statuses) : statuses_(std::move(statuses)) {}
  std::string_view name() const override { return "replacing"; }
  FilterStatus OnRequest(FilterContext&, Resumer*) override { return FilterStatus::kContinue; }
  bool TakeOverResponse(FilterContext&, const http::HttpResponse& head) override {
    offered.push_back(head.status);
    for (int s : statuses_) {
      if (s == head.status) return true;
    }
    return false;
  }
  void ReplaceResponse(FilterContext& ctx) override {
    ++replacements;
    if (defer) {
      deferred = &ctx;
      return;
    }
    Answer(ctx);
  }
  static void Answer(FilterContext& ctx) {
    http::HttpResponse head;
    head.status = 200;
    head.reason = "OK";
    head.body = {http::BodyKind::kContentLength, 8};
    ctx.response_headers.emplace_back("X-Replaced", "1");
    ctx.stream->SendHead(head);
    ctx.stream->SendData("replaced");
    ctx.stream->SendEnd(nullptr);
  }
  void OnResponseHead(FilterContext&, const http::HttpResponse& head) override {
    seen_heads.push_back(head.status);
  }
  void OnTakenOverData(FilterContext&, std::string_view data) override { taken_body.append(data); }
  void OnEnd(FilterContext&) override { ++ends; }

  std::vector<int> offered;
  std::string taken_body;  // what the dropped response's body said
  std::vector<int> seen_heads;
  int replacements = 0;
  int ends = 0;
  bool defer = false;
  FilterContext* deferred = nullptr;

 private:
  std::vector<int> statuses_;
};

// A translating filter (as REST -> SOAP): the proxy sends its POST instead of the client's
// request, made from the client's whole body; an empty body is refused.
class RewritingFilter final : public Filter, public UpstreamRewriter {
 public:
  std::string_view name() const override { return "rewriting"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer*) override {
    ctx.upstream_rewriter = this;
    return FilterStatus::kContinue;
  }
  absl::Status Rewrite(FilterContext&, std::string_view client_body,
                       UpstreamRewrite* out) const override {
    if (client_body.empty()) return absl::InvalidArgumentError("a body is required");
    out->path = "/soap";
    out->body = "<env>" + std::string(client_body) + "</env>";
    return absl::OkStatus();
  }
};

// Runs OnRequest twice: suspends the first time, answers the second (Resume(kRespond)).
class RerunFilter final : public Filter {
 public:
  std::string_view name() const override { return "rerun"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override {
    if (++runs == 1) {
      resumer_ = resumer;
      return FilterStatus::kSuspend;
    }
    ReplacingFilter::Answer(ctx);
    return FilterStatus::kRespond;
  }
  void OnEnd(FilterContext&) override { ++ends; }
  Resumer* resumer_ = nullptr;
  int runs = 0;
  int ends = 0;
};

// Upper-cases the body and ends it with "!" (a stand-in for a compressor), and drops the
// upstream's Server field: the seams a transform filter uses (ctx.response_encoder,
// ctx.response_remove_headers).
class UpperCaseEncoder final : public ResponseBodyEncoder {
 public:
  void Encode(std::string_view data, std::string* out) override {
    for (char c : data)
      out->push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  void Finish(std::string* out) override { out->push_back('!'); }
};

class EncodingFilter final : public Filter {
 public:
  std::string_view name() const override { return "encoding"; }
  FilterStatus OnRequest(FilterContext&, Resumer*) override { return FilterStatus::kContinue; }
  void OnResponseHead(FilterContext& ctx, const http::HttpResponse&) override {
    ctx.response_remove_headers.emplace_back("server");
    ctx.response_encoder = std::make_unique<UpperCaseEncoder>();
  }
  void OnResponseData(FilterContext&, std::string_view data) override { seen_body.append(data); }
  std::string seen_body;
};

class RequestStreamTest : public ::testing::Test {
 protected:
  RequestStreamTest() : services_(kConfig), stream_(&services_, &owner_), codec_(&stream_) {}

  void SetUp() override { ASSERT_TRUE(services_.error.ok()) << services_.error; }

  // Puts `filter` in front of the route's proxy filter (owned by the runtime).
  ScriptedFilter* AddFilter(FilterStatus answer) {
    auto f = std::make_unique<ScriptedFilter>(answer);
    ScriptedFilter* raw = f.get();
    auto& filters = services_.runtime()->routes[0].filters;
    filters.insert(filters.end() - 1, std::move(f));
    return raw;
  }

  void Request(std::string_view head) {
    ASSERT_TRUE(testing::DecodeRequest(stream_, &codec_, head, &text_, &request_));
  }

  template <typename F, typename... Args>
  F* Add(Args&&... args) {
    auto f = std::make_unique<F>(std::forward<Args>(args)...);
    F* raw = f.get();
    auto& filters = services_.runtime()->routes[0].filters;
    filters.insert(filters.end() - 1, std::move(f));
    return raw;
  }

  FakeLink* link(size_t i) {
    auto& links = services_.connector.links;
    return i < links.size() ? links[i].get() : nullptr;
  }

  FakeServices services_;
  testing::FakeStreamOwner owner_;
  RequestStream stream_;
  FakeCodec codec_;
  std::string text_;
  http::HttpRequest request_;
};

TEST_F(RequestStreamTest, ContinueThenProxyStreamsTheUpstreamResponse) {
  ScriptedFilter* f = AddFilter(FilterStatus::kContinue);
  Request("GET /a?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_NE(link(0), nullptr);
  EXPECT_EQ(f->requests, 1);
  EXPECT_TRUE(link(0)->sent.starts_with("GET /a?x=1 HTTP/1.1\r\n")) << link(0)->sent;
  EXPECT_NE(link(0)->sent.find("X-Forwarded-For: 192.0.2.7\r\n"), std::string::npos);
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbo");
  EXPECT_EQ(codec_.head_status, 200);
  EXPECT_FALSE(codec_.ended);
  EXPECT_EQ(f->ends, 0);
  link(0)->Respond("dy");
  EXPECT_EQ(codec_.body, "body");
  EXPECT_TRUE(codec_.ended);
  EXPECT_EQ(f->seen_status, 200);
  EXPECT_EQ(f->seen_body, "body");
  EXPECT_EQ(f->seen_ends, 1);
  EXPECT_EQ(f->ends, 1);
  EXPECT_FALSE(stream_.active());
  // Keep-alive: the connection went back to its server's pool.
  EXPECT_EQ(services_.runtime()->upstreams[0]->servers[0]->pool.idle_count(), 1u);
}

TEST_F(RequestStreamTest, StopAnswersWithTheFiltersRefusalAndNeverConnects) {
  ScriptedFilter* first = AddFilter(FilterStatus::kContinue);
  ScriptedFilter* stopper = AddFilter(FilterStatus::kStop);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(codec_.local_status, 403);
  EXPECT_NE(codec_.body.find("not allowed"), std::string::npos);
  EXPECT_EQ(link(0), nullptr);
  EXPECT_EQ(first->seen_status, 403);  // the filters before the refusal see it
  EXPECT_EQ(stopper->seen_status, 0);
  EXPECT_EQ(first->ends, 1);
  EXPECT_EQ(stopper->ends, 1);
  EXPECT_EQ(services_.errors("filter_scripted"), 1u);
}

TEST_F(RequestStreamTest, SuspendWaitsForResumeThenContinues) {
  ScriptedFilter* f = AddFilter(FilterStatus::kSuspend);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(stream_.held());
  EXPECT_FALSE(stream_.WantsData());  // nothing is read while a filter holds the request
  EXPECT_EQ(link(0), nullptr);
  f->resumer()->Resume(FilterStatus::kContinue);
  EXPECT_FALSE(stream_.held());
  ASSERT_NE(link(0), nullptr);
  EXPECT_GE(codec_.read_body_calls, 1);  // input goes on after the resume
  link(0)->Respond("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(codec_.head_status, 204);
  EXPECT_TRUE(codec_.ended);
  EXPECT_EQ(f->ends, 1);
}

TEST_F(RequestStreamTest, ResumeWithStopAnswersTheRefusal) {
  ScriptedFilter* f = AddFilter(FilterStatus::kSuspend);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  // As an asynchronous filter does: the refusal first, then the resume.
  f->ctx()->Reject(429, "limited", "slow down");
  f->resumer()->Resume(FilterStatus::kStop);
  EXPECT_EQ(codec_.local_status, 429);
  EXPECT_NE(codec_.body.find("slow down"), std::string::npos);
  EXPECT_EQ(link(0), nullptr);
  EXPECT_EQ(f->ends, 1);
}

TEST_F(RequestStreamTest, ClientGoneWhileSuspendedEndsOnceAtResume) {
  ScriptedFilter* f = AddFilter(FilterStatus::kSuspend);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  stream_.OnReset();  // the connection closed
  EXPECT_TRUE(stream_.held());
  EXPECT_EQ(f->ends, 0);  // the suspended filter still writes into its context
  EXPECT_EQ(owner_.released, 0);
  f->resumer()->Resume(FilterStatus::kContinue);
  EXPECT_EQ(f->ends, 1);
  EXPECT_EQ(owner_.released, 1);
  EXPECT_EQ(link(0), nullptr);  // the proxy never ran
  EXPECT_EQ(codec_.local_status, 0);
  stream_.OnReset();  // a late reset changes nothing
  EXPECT_EQ(f->ends, 1);
}

TEST_F(RequestStreamTest, ClientGoneWhileProxyingReleasesTheUpstreamOnce) {
  ScriptedFilter* f = AddFilter(FilterStatus::kContinue);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_NE(link(0), nullptr);
  stream_.OnReset();
  EXPECT_TRUE(link(0)->closed());
  EXPECT_EQ(f->ends, 1);
  EXPECT_EQ(services_.runtime()->upstreams[0]->servers[0]->active, 0);
  services_.Advance(5'000'000'000);  // request_timeout passes: nothing fires for a gone request
  EXPECT_EQ(codec_.local_status, 0);
  EXPECT_EQ(f->ends, 1);
}

TEST_F(RequestStreamTest, AFilterProducesTheResponseAndEarlierFiltersSeeIt) {
  ScriptedFilter* first = AddFilter(FilterStatus::kContinue);
  ScriptedFilter* responder = AddFilter(FilterStatus::kRespond);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(codec_.head_status, 200);
  EXPECT_EQ(codec_.body, "hello");
  EXPECT_TRUE(codec_.ended);
  EXPECT_EQ(first->seen_status, 200);
  EXPECT_EQ(first->seen_body, "hello");
  EXPECT_EQ(first->seen_ends, 1);
  EXPECT_EQ(responder->seen_ends, 0);
  // A field a response filter added reaches the codec.
  ASSERT_EQ(codec_.extra_fields.size(), 1u);
  EXPECT_EQ(codec_.extra_fields[0].first, "X-Seen");
  EXPECT_EQ(link(0), nullptr);
  EXPECT_EQ(first->ends, 1);
  EXPECT_EQ(responder->ends, 1);
}

TEST_F(RequestStreamTest, RetriesAnIdempotentRequestOnAnotherServer) {
  Request("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_NE(link(0), nullptr);
  link(0)->Connected(-ECONNREFUSED);
  ASSERT_NE(link(1), nullptr);
  EXPECT_NE(link(0)->server().ToString(), link(1)->server().ToString());
  EXPECT_EQ(link(1)->sent, link(0)->sent);  // the same request again
  link(1)->Connected();
  link(1)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(codec_.head_status, 200);
  EXPECT_EQ(services_.stats().retries, 1u);
  EXPECT_EQ(services_.errors("connect_failed"), 1u);
}

TEST_F(RequestStreamTest, RetriesAreBoundedThenTheClientGetsA502) {
  Request("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->ServerClosed();  // closed before responding
  ASSERT_NE(link(1), nullptr);
  link(1)->ServerClosed();
  EXPECT_EQ(link(2), nullptr);  // retries = 1
  EXPECT_EQ(codec_.local_status, 502);
  EXPECT_EQ(codec_.body.find("127.0.0.1"), std::string::npos);  // names no server
}

TEST_F(RequestStreamTest, APostIsNotRetried) {
  codec_.body_done = true;
  Request("POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  link(0)->ServerClosed(-ECONNRESET);
  EXPECT_EQ(link(1), nullptr);
  EXPECT_EQ(codec_.local_status, 502);
}

TEST_F(RequestStreamTest, NoRetryOnceTheResponseHasBegun) {
  Request("GET /r HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart");
  link(0)->ServerClosed(-ECONNRESET);
  EXPECT_EQ(link(1), nullptr);
  EXPECT_EQ(codec_.resets, 1);  // the client must see the response broken off
  EXPECT_EQ(services_.errors("upstream_truncated"), 1u);
}

TEST_F(RequestStreamTest, RequestTimeoutIsA504) {
  Request("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();
  services_.Advance(2'500'000'000);
  EXPECT_EQ(codec_.local_status, 504);
  EXPECT_TRUE(link(0)->closed());
}

TEST_F(RequestStreamTest, AClientRequestIdIsKeptAndGoesUpstream) {
  Request("GET /x HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc-1\r\n\r\n");
  ASSERT_NE(link(0), nullptr);
  EXPECT_NE(link(0)->sent.find("X-Request-Id: abc-1\r\n"), std::string::npos);
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(codec_.id, "abc-1");
}

TEST_F(RequestStreamTest, DotSegmentsAreRefusedBeforeRouting) {
  Request("GET /a/../admin HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(codec_.local_status, 400);
  EXPECT_TRUE(codec_.close_connection);
  EXPECT_EQ(link(0), nullptr);
}

TEST_F(RequestStreamTest, ConnectIsRefusedAndClosesTheConnection) {
  Request("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
  EXPECT_EQ(codec_.local_status, 501);
  EXPECT_TRUE(codec_.close_connection);
}

TEST_F(RequestStreamTest, AFilterTakesOverAnUpstreamResponseAndAnswersInstead) {
  ScriptedFilter* first = AddFilter(FilterStatus::kContinue);
  ReplacingFilter* replacing = Add<ReplacingFilter>(std::vector<int>{304});
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
  EXPECT_EQ(replacing->offered, std::vector<int>{304});
  EXPECT_TRUE(replacing->seen_heads.empty());  // the dropped response reaches no filter
  EXPECT_EQ(replacing->replacements, 1);
  EXPECT_EQ(codec_.head_status, 200);  // the client gets the replacement
  EXPECT_EQ(codec_.body, "replaced");
  EXPECT_TRUE(codec_.ended);
  EXPECT_EQ(first->seen_status, 200);  // the filters before the replacing one see the answer
  EXPECT_EQ(first->seen_body, "replaced");
  ASSERT_EQ(codec_.extra_fields.size(), 2u);
  EXPECT_EQ(first->ends, 1);
  EXPECT_EQ(replacing->ends, 1);
  EXPECT_FALSE(stream_.active());
  // The upstream's response was read whole: its connection went back to the pool.
  EXPECT_EQ(services_.runtime()->upstreams[0]->servers[0]->pool.idle_count(), 1u);
}

TEST_F(RequestStreamTest, ATakenOverBodyIsDroppedAndTheAnswerMayComeLater) {
  ScriptedFilter* first = AddFilter(FilterStatus::kContinue);
  ReplacingFilter* replacing = Add<ReplacingFilter>(std::vector<int>{500});
  replacing->defer = true;
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 500 Oops\r\nContent-Length: 6\r\n\r\nbro");
  EXPECT_EQ(codec_.head_status, 0);
  EXPECT_EQ(replacing->replacements, 0);  // the dropped body is still coming
  link(0)->Respond("ken");
  EXPECT_EQ(replacing->replacements, 1);
  EXPECT_EQ(codec_.body, "");
  EXPECT_TRUE(first->seen_body.empty());
  EXPECT_EQ(replacing->taken_body, "broken");  // only the taking filter reads it
  ASSERT_NE(replacing->deferred, nullptr);
  ReplacingFilter::Answer(*replacing->deferred);
  EXPECT_EQ(codec_.head_status, 200);
  EXPECT_EQ(codec_.body, "replaced");
  EXPECT_EQ(first->ends, 1);
}

TEST_F(RequestStreamTest, ARewrittenRequestWaitsForTheWholeBodyThenGoesAsItsPost) {
  Add<RewritingFilter>();
  codec_.body_done = false;
  Request("PUT /v?q=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(codec_.body_accepted);
  stream_.DecodeData("{\"a\":");
  EXPECT_EQ(link(0), nullptr);  // nothing goes before the body is whole
  stream_.DecodeData("1}");
  codec_.body_done = true;
  stream_.DecodeEnd(nullptr);
  ASSERT_NE(link(0), nullptr);
  const std::string& sent = link(0)->sent;
  EXPECT_TRUE(sent.starts_with("POST /soap HTTP/1.1\r\n")) << sent;
  EXPECT_EQ(sent.find("chunked"), std::string::npos) << sent;
  EXPECT_TRUE(sent.ends_with("Content-Length: 18\r\n\r\n<env>{\"a\":1}</env>")) << sent;
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(codec_.body, "ok");
  EXPECT_TRUE(codec_.ended);
}

TEST_F(RequestStreamTest, ARewriterRefusalIsA400AndNothingGoesUpstream) {
  Add<RewritingFilter>();
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(link(0), nullptr);
  EXPECT_EQ(codec_.local_status, 400);
  EXPECT_FALSE(stream_.active());
}

TEST_F(RequestStreamTest, AFilterTakesOverGw7sOwnAnswerForAnUnreachableUpstream) {
  ScriptedFilter* first = AddFilter(FilterStatus::kContinue);
  ReplacingFilter* replacing = Add<ReplacingFilter>(std::vector<int>{502});
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected(-ECONNREFUSED);
  link(1)->Connected(-ECONNREFUSED);  // retries = 1: then gw7's own 502
  EXPECT_EQ(replacing->offered, std::vector<int>{502});
  EXPECT_EQ(codec_.local_status, 0);
  EXPECT_EQ(codec_.head_status, 200);
  EXPECT_EQ(codec_.body, "replaced");
  EXPECT_EQ(first->seen_status, 200);
  EXPECT_EQ(replacing->ends, 1);
}

TEST_F(RequestStreamTest, AResponseNotTakenOverPassesThrough) {
  ReplacingFilter* replacing = Add<ReplacingFilter>(std::vector<int>{304});
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(replacing->offered, std::vector<int>{200});
  EXPECT_EQ(replacing->seen_heads, std::vector<int>{200});
  EXPECT_EQ(replacing->replacements, 0);
  EXPECT_EQ(codec_.body, "ok");
}

TEST_F(RequestStreamTest, ABrokenOffTakenOverResponseIsStillReplaced) {
  ReplacingFilter* replacing = Add<ReplacingFilter>(std::vector<int>{503});
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 503 Busy\r\nContent-Length: 10\r\n\r\npart");
  link(0)->ServerClosed(-ECONNRESET);
  EXPECT_EQ(codec_.resets, 0);  // the client never saw the broken response
  EXPECT_EQ(codec_.body, "replaced");
  EXPECT_EQ(replacing->ends, 1);
}

TEST_F(RequestStreamTest, ClientGoneWhileAReplacementIsPendingEndsOnce) {
  ReplacingFilter* replacing = Add<ReplacingFilter>(std::vector<int>{304});
  replacing->defer = true;
  Request("GET /v HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Respond("HTTP/1.1 304 Not Modified\r\n\r\n");
  EXPECT_EQ(replacing->replacements, 1);
  stream_.OnReset();
  EXPECT_EQ(replacing->ends, 1);
  EXPECT_FALSE(stream_.active());
}

TEST_F(RequestStreamTest, ResumeWithRespondRunsTheSuspendingFilterAgain) {
  ScriptedFilter* first = AddFilter(FilterStatus::kContinue);
  RerunFilter* rerun = Add<RerunFilter>();
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(stream_.held());
  rerun->resumer_->Resume(FilterStatus::kRespond);
  EXPECT_EQ(rerun->runs, 2);
  EXPECT_EQ(first->requests, 1);  // the filters before it do not run again
  EXPECT_EQ(codec_.body, "replaced");
  EXPECT_EQ(link(0), nullptr);
  EXPECT_EQ(rerun->ends, 1);
}

// gw7's own request: the chain starts at the given filter, the response goes nowhere.
TEST_F(RequestStreamTest, AnInternalRequestStartsAtItsFilterAndDiscardsTheResponse) {
  ScriptedFilter* auth = AddFilter(FilterStatus::kStop);  // would refuse a client
  ReplacingFilter* cache = Add<ReplacingFilter>(std::vector<int>{});
  struct Done {
    int status = -1;
    int calls = 0;
  } done;
  RequestStream internal(&services_, &owner_);
  InternalCodec codec(
      &internal,
      [](void* d, int status) {
        static_cast<Done*>(d)->status = status;
        ++static_cast<Done*>(d)->calls;
      },
      &done);
  text_ = "GET /refresh HTTP/1.1\r\nHost: h\r\n\r\n";
  http::HttpLimits limits;
  ASSERT_EQ(http::ParseRequestHead(text_, limits, &request_).status, http::ParseStatus::kComplete);
  // What the skipped filters established for the client request comes along.
  FilterContext admitted(stream_);
  admitted.identity.authenticated = true;
  admitted.upstream_add_headers.emplace_back("X-Consumer", "alice");
  admitted.upstream_remove_headers.emplace_back("X-Secret");
  StreamConnectionInfo info;
  info.first_filter = cache;
  info.admitted_as = &admitted;
  text_ = "GET /refresh HTTP/1.1\r\nHost: h\r\nX-Secret: k\r\n\r\n";
  ASSERT_EQ(http::ParseRequestHead(text_, limits, &request_).status, http::ParseStatus::kComplete);
  internal.DecodeHead(1, request_, info, &codec);
  EXPECT_EQ(auth->requests, 0);
  ASSERT_NE(link(0), nullptr);
  EXPECT_NE(link(0)->sent.find("X-Consumer: alice\r\n"), std::string::npos) << link(0)->sent;
  EXPECT_EQ(link(0)->sent.find("X-Secret"), std::string::npos);
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody");
  EXPECT_EQ(cache->seen_heads, std::vector<int>{200});
  EXPECT_EQ(done.calls, 1);
  EXPECT_EQ(done.status, 200);
  EXPECT_FALSE(internal.active());
  EXPECT_EQ(auth->ends, 1);  // every filter of the chain still ends once
  EXPECT_EQ(cache->ends, 1);
}

TEST_F(RequestStreamTest, AFilterRemovesHeadFieldsAndEncodesTheBodyForTheFiltersBeforeIt) {
  ScriptedFilter* outer = AddFilter(FilterStatus::kContinue);
  EncodingFilter* encoder = Add<EncodingFilter>();
  ScriptedFilter* inner = AddFilter(FilterStatus::kContinue);
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();
  link(0)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nSERVER: s\r\nX-Keep: y\r\n\r\nbody");
  // No Server (any case), no Content-Length: the codec frames the encoded body itself.
  ASSERT_EQ(codec_.head_fields.size(), 1u);
  EXPECT_EQ(codec_.head_fields[0].first, "X-Keep");
  EXPECT_EQ(codec_.head_body, http::BodyKind::kChunked);
  link(0)->Respond("more");
  EXPECT_TRUE(codec_.ended);
  EXPECT_EQ(codec_.body, "BODYMORE!");
  EXPECT_EQ(outer->seen_body, "BODYMORE!");  // before the encoder: what the client gets
  EXPECT_EQ(encoder->seen_body,
            "bodymore");  // the encoder's own filter and those after it: as sent
  EXPECT_EQ(inner->seen_body, "bodymore");
  EXPECT_EQ(outer->seen_ends, 1);
  // The next request on the connection starts clean.
  Request("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(outer->requests, 2);
}

}  // namespace
}  // namespace edge::l7
