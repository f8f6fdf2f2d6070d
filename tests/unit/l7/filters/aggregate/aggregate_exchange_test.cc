// The aggregate filter driven through a RequestStream without sockets (fake codec, fake upstream
// links): parts start together, merge when the last ends, optional parts time out into _errors,
// a failed required part answers 502 at once and releases the others, an oversized part is cut
// off at the next timer tick, the deadline, and the client going away.

#include <gtest/gtest.h>

#include <string>

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
name = "a"
servers = ["127.0.0.1:9101"]
[[upstream]]
name = "b"
servers = ["127.0.0.1:9102"]
[[route]]
name = "page"
path_template = "/page/{id}"
aggregate = [
  { name = "p", upstream = "a", path = "/p/{id}" },
  { name = "q", upstream = "b", path = "/q?x={query.x}", required = false, timeout = "300ms" },
]
aggregate_timeout = "1s"
max_part_bytes = 16
)";

class AggregateExchangeTest : public ::testing::Test {
 protected:
  AggregateExchangeTest() : services_(kConfig), stream_(&services_, &owner_), codec_(&stream_) {}
  void SetUp() override { ASSERT_TRUE(services_.error.ok()) << services_.error; }

  void Request(std::string_view head) {
    ASSERT_TRUE(testing::DecodeRequest(stream_, &codec_, head, &text_, &request_));
  }
  FakeLink* link(size_t i) {
    auto& links = services_.connector.links;
    return i < links.size() ? links[i].get() : nullptr;
  }
  void Answer(size_t i, std::string_view status_line, std::string_view body) {
    link(i)->Connected();
    link(i)->Respond(std::string(status_line) + "\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + std::string(body));
  }
  uint64_t parts(size_t outcome) {
    auto it = services_.stats().aggregate_parts.find("page");
    return it == services_.stats().aggregate_parts.end() ? 0 : it->second[outcome];
  }

  FakeServices services_;
  testing::FakeStreamOwner owner_;
  RequestStream stream_;
  FakeCodec codec_;
  std::string text_;
  http::HttpRequest request_;
};

TEST_F(AggregateExchangeTest, PartsStartTogetherAndMergeWhenTheLastEnds) {
  Request("GET /page/7?x=a%20b HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
  ASSERT_NE(link(0), nullptr);
  ASSERT_NE(link(1), nullptr);  // both sent before either answered
  EXPECT_TRUE(link(0)->sent.starts_with("GET /p/7 HTTP/1.1\r\n")) << link(0)->sent;
  EXPECT_TRUE(link(1)->sent.starts_with("GET /q?x=a%20b HTTP/1.1\r\n")) << link(1)->sent;
  EXPECT_EQ(link(0)->sent.find("Accept-Encoding"), std::string::npos);
  EXPECT_NE(link(0)->sent.find("\r\nHost: 127.0.0.1:9101\r\n"), std::string::npos);
  Answer(1, "HTTP/1.1 200 OK", "[1]");
  EXPECT_FALSE(codec_.ended);
  Answer(0, "HTTP/1.1 200 OK", "{\"n\":1}");
  ASSERT_TRUE(codec_.ended);
  EXPECT_EQ(codec_.head_status, 200);
  EXPECT_EQ(codec_.body, "{\"p\":{\"n\":1},\"q\":[1]}\n");
  EXPECT_EQ(parts(0), 2u);
  // Keep-alive: both connections went back to their pools.
  EXPECT_EQ(services_.runtime()->upstreams[0]->servers[0]->pool.idle_count(), 1u);
  EXPECT_EQ(services_.runtime()->upstreams[1]->servers[0]->pool.idle_count(), 1u);
}

TEST_F(AggregateExchangeTest, AnOptionalPartTimesOutIntoErrors) {
  Request("GET /page/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  Answer(0, "HTTP/1.1 200 OK", "{}");
  EXPECT_FALSE(codec_.ended);
  services_.Advance(250'000'000);
  EXPECT_FALSE(codec_.ended);
  services_.Advance(70'000'000);
  ASSERT_TRUE(codec_.ended);
  EXPECT_EQ(codec_.body, "{\"p\":{},\"q\":null,\"_errors\":{\"q\":\"timeout\"}}\n");
  EXPECT_TRUE(link(1)->closed());
  EXPECT_EQ(parts(2), 1u);
}

TEST_F(AggregateExchangeTest, ARequiredFailureAnswers502AtOnceAndReleasesTheOthers) {
  Request("GET /page/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  Answer(0, "HTTP/1.1 500 Oops", "{}");
  ASSERT_TRUE(codec_.ended);
  EXPECT_EQ(codec_.head_status, 502);
  EXPECT_NE(codec_.body.find("\"part\":\"p\",\"reason\":\"error\""), std::string::npos)
      << codec_.body;
  EXPECT_EQ(codec_.body.find("9101"), std::string::npos);
  EXPECT_TRUE(link(1)->closed());
  EXPECT_EQ(parts(1), 1u);
  EXPECT_EQ(parts(6), 1u);  // q: cancelled
}

TEST_F(AggregateExchangeTest, AnOversizedPartIsCutOffAtTheNextTick) {
  Request("GET /page/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  Answer(0, "HTTP/1.1 200 OK", "{}");
  link(1)->Connected();
  link(1)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(20, 'x'));
  EXPECT_FALSE(codec_.ended);  // not from inside the part's own exchange
  EXPECT_FALSE(link(1)->closed());
  services_.Advance(20'000'000);
  ASSERT_TRUE(codec_.ended);
  EXPECT_TRUE(link(1)->closed());
  EXPECT_EQ(codec_.body, "{\"p\":{},\"q\":null,\"_errors\":{\"q\":\"too_large\"}}\n");
}

TEST_F(AggregateExchangeTest, TheDeadlineEndsEverything) {
  Request("GET /page/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  link(0)->Connected();  // and then silent (request_timeout is 15s)
  link(1)->Connected();
  link(1)->Respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]");
  services_.Advance(990'000'000);
  EXPECT_FALSE(codec_.ended);
  services_.Advance(30'000'000);
  ASSERT_TRUE(codec_.ended);
  EXPECT_EQ(codec_.head_status, 502);
  EXPECT_NE(codec_.body.find("\"part\":\"p\",\"reason\":\"timeout\""), std::string::npos);
  EXPECT_TRUE(link(0)->closed());
}

TEST_F(AggregateExchangeTest, ClientGoneReleasesEveryPart) {
  Request("GET /page/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  codec_.Reset();
  EXPECT_TRUE(link(0)->closed());
  EXPECT_TRUE(link(1)->closed());
  services_.Advance(2'000'000'000);  // no timer of the gone request fires into it
  EXPECT_FALSE(codec_.ended);
  EXPECT_EQ(codec_.head_status, 0);
}

TEST_F(AggregateExchangeTest, AValueTheTemplateRefusesIsTheClients400) {
  Request("GET /page/7 HTTP/1.1\r\nHost: h\r\n\r\n");  // no x
  EXPECT_EQ(codec_.local_status, 400);
  EXPECT_EQ(link(0), nullptr);
  EXPECT_EQ(services_.errors("aggregate_bad_value"), 1u);
}

}  // namespace
}  // namespace edge::l7
