#include "l7/observe/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::l7 {
namespace {

AccessRecord FullRecord() {
  AccessRecord r;
  r.start_unix_ns = 1796230964123456789;  // 2026-12-02T17:02:44.123456Z
  r.request_id = "req-1";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "00f067aa0ba902b7";
  r.client = *net::SocketAddress::Parse("203.0.113.7:51234");
  r.consumer = "alice";
  r.route = "products";
  r.upstream = "products";
  r.upstream_server = "127.0.0.1:9101";
  r.method = "GET";
  r.host = "api.example.com";
  r.target = "/v1/products?id=7&api_key=SECRET";
  r.user_agent = "curl/7.88.1";
  r.status = 200;
  r.bytes_in = 312;
  r.bytes_out = 2048;
  r.duration_ns = 1'834'999;
  r.upstream_connect_ns = 210'000;
  r.upstream_first_byte_ns = 1'400'000;
  r.filters_ns = 35'000;
  r.auth = "ok";
  r.rate_limit = "allowed";
  r.retries = 1;
  return r;
}

TEST(AccessLogTest, FormatsEveryField) {
  EXPECT_EQ(FormatAccessRecord(FullRecord(), QueryRedactor({"api_key"})),
            R"({"time":"2026-12-02T17:02:44.123456Z","request_id":"req-1",)"
            R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7",)"
            R"("client":"203.0.113.7:51234","consumer":"alice","route":"products",)"
            R"("upstream":"products","upstream_server":"127.0.0.1:9101","method":"GET",)"
            R"("host":"api.example.com","path":"/v1/products?id=7&api_key=REDACTED",)"
            R"("protocol":"HTTP/1.1","status":200,"bytes_in":312,"bytes_out":2048,)"
            R"("duration_us":1834,"upstream_connect_us":210,"upstream_first_byte_us":1400,)"
            R"("filters_us":35,"auth":"ok","rate_limit":"allowed","cache":null,"retries":1,)"
            R"("end":"completed","user_agent":"curl/7.88.1"})");
}

TEST(AccessLogTest, AbsentFieldsAreNull) {
  AccessRecord r;
  r.start_unix_ns = 0;
  r.method = "GET";
  r.target = "/";
  r.status = 408;
  r.end = RequestEnd::kTimeout;
  EXPECT_EQ(FormatAccessRecord(r, QueryRedactor()),
            R"({"time":"1970-01-01T00:00:00.000000Z","request_id":null,"trace_id":null,)"
            R"("span_id":null,"client":null,"consumer":null,"route":null,"upstream":null,)"
            R"("upstream_server":null,"method":"GET","host":null,"path":"/",)"
            R"("protocol":"HTTP/1.1","status":408,"bytes_in":0,"bytes_out":0,"duration_us":0,)"
            R"("upstream_connect_us":null,"upstream_first_byte_us":null,"filters_us":0,)"
            R"("auth":null,"rate_limit":null,"cache":null,"retries":0,"end":"timeout",)"
            R"("user_agent":null})");
}

TEST(AccessLogTest, ClientBytesCannotBreakTheLine) {
  AccessRecord r = FullRecord();
  r.user_agent = "evil\"agent\n{\"status\":999}\xff";
  r.consumer = "a\\b";
  const std::string line = FormatAccessRecord(r, QueryRedactor());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, testing::HasSubstr(R"("user_agent":"evil\"agent\n{\"status\":999}\ufffd")"));
  EXPECT_THAT(line, testing::HasSubstr(R"("consumer":"a\\b")"));
}

TEST(AccessLogTest, ReusedBufferCachedSecondsAndIpv6) {
  // The loop thread formats every line into one buffer and keeps the time's text per second:
  // each line must still be whole and exact, whatever came before.
  std::string line = "left over";
  AccessRecord r = FullRecord();
  r.client = *net::SocketAddress::Parse("[2001:db8::1]:443");
  r.target = "/a;token=x/b?q=1";
  const QueryRedactor redactor({"token"});
  FormatAccessRecordTo(r, redactor, &line);
  EXPECT_THAT(line, testing::StartsWith(R"({"time":"2026-12-02T17:02:44.123456Z","request_id")"));
  EXPECT_THAT(line, testing::HasSubstr(R"("client":"[2001:db8::1]:443")"));
  EXPECT_THAT(line, testing::HasSubstr(R"("path":"/a;token=REDACTED/b?q=1")"));
  r.start_unix_ns += 1'000'000'000 + 7'000;  // the next second, 7 us later
  FormatAccessRecordTo(r, redactor, &line);
  EXPECT_THAT(line, testing::StartsWith(R"({"time":"2026-12-02T17:02:45.123463Z","request_id")"));
  EXPECT_EQ(line, FormatAccessRecord(r, redactor));
  EXPECT_EQ(line.find("left over"), std::string::npos);
}

TEST(AccessLogTest, EndNames) {
  EXPECT_EQ(RequestEndName(RequestEnd::kClientGone), "client_gone");
  EXPECT_EQ(RequestEndName(RequestEnd::kRefused), "refused");
  EXPECT_EQ(RequestEndName(RequestEnd::kUpstreamError), "upstream_error");
}

class PipeLog {
 public:
  explicit PipeLog(double sample) {
    EXPECT_EQ(pipe2(fds_, O_CLOEXEC | O_NONBLOCK), 0);
    log::AccessLogConfig config;
    config.path = "pipe";
    config.sample = sample;
    config.redact = {"token"};
    log_ = std::make_unique<AccessLog>(config, log::LineSink::ForFd(fds_[1]));
  }
  ~PipeLog() {
    log_.reset();
    close(fds_[0]);
    close(fds_[1]);
  }
  AccessLog& log() { return *log_; }
  std::string Read() {
    log_->sink()->Flush();
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = read(fds_[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fds_[2];
  std::unique_ptr<AccessLog> log_;
};

TEST(AccessLogTest, WritesOneRedactedLinePerRecord) {
  PipeLog p(1.0);
  AccessRecord r = FullRecord();
  r.target = "/x?token=abc";
  EXPECT_TRUE(p.log().Write(r, 1.0));
  EXPECT_TRUE(p.log().Write(r, 1.0));
  const std::string out = p.Read();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_THAT(out, testing::HasSubstr(R"("path":"/x?token=REDACTED")"));
  EXPECT_THAT(out, testing::Not(testing::HasSubstr("abc")));
}

// Sampling follows the trace id: the same trace is kept or dropped alike at the same rate.
TEST(AccessLogTest, SamplingIsDecidedByTheTraceId) {
  PipeLog p(1.0);
  AccessRecord low = FullRecord();
  low.trace_id = "00000000000000010000000000000000";  // key near 0: kept at any rate > 0
  AccessRecord high = FullRecord();
  high.trace_id = "ffffffffffffffff0000000000000000";  // kept only at 1.0
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(p.log().Write(low, 0.01));
    EXPECT_FALSE(p.log().Write(high, 0.99));
  }
  EXPECT_FALSE(p.log().Write(low, 0.0));
  EXPECT_EQ(p.log().sampled_out(), 11u);
  const std::string out = p.Read();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 10);
}

TEST(AccessLogTest, OffWritesNothing) {
  log::AccessLogConfig config;  // path "off"
  auto log = AccessLog::Open(config);
  ASSERT_TRUE(log.ok());
  EXPECT_FALSE((*log)->enabled());
  EXPECT_FALSE((*log)->Write(FullRecord(), 1.0));
}

}  // namespace
}  // namespace edge::l7
