#include "common/http/chunked_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/common/http/http_test_util.h"

namespace edge::http {
namespace {

using namespace std::string_literals;

struct Outcome {
  ChunkedStatus status = ChunkedStatus::kNeedMore;  // kDone, kError, or kNeedMore at the end
  std::string data;
  uint16_t error = 0;
  size_t consumed = 0;  // total
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Feeds `pieces` one after the other, as a connection would: unconsumed bytes stay in the buffer
// and the next piece is appended to them.
Outcome Run(const std::vector<std::string>& pieces, const ChunkedLimits& limits = {}) {
  ChunkedDecoder decoder(limits);
  Outcome out;
  std::string buffer;
  for (const std::string& piece : pieces) {
    buffer += piece;
    for (;;) {
      ChunkedResult r = decoder.Decode(buffer);
      out.consumed += r.consumed;
      out.data.append(r.data);
      if (r.status == ChunkedStatus::kDone) {
        for (const HttpHeader& h : decoder.trailers()) {
          out.trailers.emplace_back(std::string(h.name), std::string(h.value));
        }
      }
      buffer.erase(0, r.consumed);
      out.status = r.status;
      if (r.status == ChunkedStatus::kError) {
        out.error = r.error.status;
        return out;
      }
      if (r.status == ChunkedStatus::kDone) return out;
      if (r.status == ChunkedStatus::kNeedMore) break;
    }
  }
  return out;
}

Outcome RunWhole(const std::string& body, const ChunkedLimits& limits = {}) {
  return Run({body}, limits);
}

// The body in every two-piece split and byte by byte decodes the same as in one piece.
void ExpectSplitInvariant(const std::string& body, const ChunkedLimits& limits = {}) {
  const Outcome whole = RunWhole(body, limits);
  for (size_t k = 0; k <= body.size(); ++k) {
    Outcome split = Run({body.substr(0, k), body.substr(k)}, limits);
    EXPECT_EQ(split.status, whole.status) << Escaped(body) << " split " << k;
    EXPECT_EQ(split.data, whole.data) << "split " << k;
    EXPECT_EQ(split.error, whole.error) << "split " << k;
    EXPECT_EQ(split.trailers, whole.trailers) << "split " << k;
    if (whole.status != ChunkedStatus::kError) {
      EXPECT_EQ(split.consumed, whole.consumed);
    }
  }
  std::vector<std::string> bytes;
  for (char c : body) bytes.emplace_back(1, c);
  Outcome trickle = Run(bytes, limits);
  EXPECT_EQ(trickle.status, whole.status) << Escaped(body);
  EXPECT_EQ(trickle.data, whole.data);
  EXPECT_EQ(trickle.error, whole.error);
}

TEST(ChunkedDecoder, Simple) {
  Outcome o = RunWhole("5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(o.status, ChunkedStatus::kDone);
  EXPECT_EQ(o.data, "hello");
  EXPECT_EQ(o.consumed, 15u);
}

TEST(ChunkedDecoder, DataIsAViewIntoTheInput) {
  ChunkedDecoder d;
  const std::string in = "5\r\nhello\r\n";
  ChunkedResult r = d.Decode(in);
  ASSERT_EQ(r.status, ChunkedStatus::kData);
  EXPECT_EQ(r.data.data(), in.data() + 3);
  EXPECT_EQ(r.consumed, 8u);
  r = d.Decode(std::string_view(in).substr(8));
  EXPECT_EQ(r.status, ChunkedStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 2u);
  EXPECT_EQ(d.body_bytes(), 5u);
}

TEST(ChunkedDecoder, ValidShapes) {
  const std::string bodies[] = {
      "0\r\n\r\n",
      "000\r\n\r\n",
      "1\r\na\r\n0\r\n\r\n",
      "A\r\n0123456789\r\n0\r\n\r\n",
      "a\r\n0123456789\r\n00000\r\n\r\n",
      "0005\r\nhello\r\n0\r\n\r\n",
      "5;ext\r\nhello\r\n0;last\r\n\r\n",
      "5;a=b;c=\"quoted \\\" value\"\r\nhello\r\n0\r\n\r\n",
      "5 ;a = b ; c\r\nhello\r\n0\r\n\r\n",
      "5\t;\ta\t=\t\"x\"\t;b\r\nhello\r\n0\r\n\r\n",
      "5;a=\"caf\xc3\xa9\"\r\nhello\r\n0\r\n\r\n",
      "3\r\n\r\n\r\r\n0\r\n\r\n",  // chunk data may hold CR and LF
      "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:  v \r\n\r\n",
  };
  for (const std::string& b : bodies) {
    Outcome o = RunWhole(b);
    EXPECT_EQ(o.status, ChunkedStatus::kDone) << Escaped(b) << " error " << o.error;
    EXPECT_EQ(o.consumed, b.size()) << Escaped(b);
    ExpectSplitInvariant(b);
  }
  Outcome o = RunWhole("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:  v \r\n\r\n");
  EXPECT_EQ(o.trailers, (std::vector<std::pair<std::string, std::string>>{{"X-Checksum", "abc"},
                                                                          {"X-Other", "v"}}));
  EXPECT_EQ(RunWhole("3\r\n\r\n\r\r\n0\r\n\r\n").data, "\r\n\r");
}

TEST(ChunkedDecoder, StopsAtTheEndOfTheBody) {
  ChunkedDecoder d;
  const std::string in = "2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  size_t total = 0;
  ChunkedResult r;
  do {
    r = d.Decode(std::string_view(in).substr(total));
    total += r.consumed;
  } while (r.status == ChunkedStatus::kData);
  EXPECT_EQ(r.status, ChunkedStatus::kDone);
  EXPECT_EQ(in.substr(total), "GET / HTTP/1.1\r\n");
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.Decode("more").status, ChunkedStatus::kDone);
  d.Reset();
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.Decode("1\r\nx").data, "x");
}

struct BadBody {
  const char* name;
  std::string body;
  uint16_t status;
};

const BadBody kBadBodies[] = {
    {"negative size", "-1\r\nx\r\n0\r\n\r\n", 400},
    {"size overflow", "fffffffffffffffffff\r\n", 400},
    {"size 2^64", "10000000000000000\r\n", 400},
    {"space then semicolon without name", "1 ;\r\nx\r\n0\r\n\r\n", 400},
    {"semicolon without name", "1;\r\nx\r\n0\r\n\r\n", 400},
    {"not hex", "g\r\n", 400},
    {"hex then junk", "1g\r\n", 400},
    {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400},
    {"plus sign", "+5\r\nhello\r\n", 400},
    {"leading space", " 5\r\nhello\r\n", 400},
    {"trailing space", "5 \r\nhello\r\n", 400},
    {"trailing tab", "5\t\r\nhello\r\n", 400},
    {"empty size", "\r\nhello\r\n", 400},
    {"bare LF after size", "5\nhello\r\n0\r\n\r\n", 400},
    {"bare CR after size", "5\rhello\r\n", 400},
    {"chunk without CRLF", "5\r\nhelloX\r\n0\r\n\r\n", 400},
    {"chunk data too long", "5\r\nhello!\r\n0\r\n\r\n", 400},
    {"chunk data with bare LF", "5\r\nhello\n0\r\n\r\n", 400},
    {"chunk data with bare CR", "5\r\nhello\r0\r\n\r\n", 400},
    {"extension name missing after BWS", "5; =x\r\nhello\r\n", 400},
    {"extension equals without value", "5;a=\r\nhello\r\n", 400},
    {"extension value with space", "5;a=b c\r\nhello\r\n", 400},
    {"extension trailing space", "5;a \r\nhello\r\n", 400},
    {"extension control char", "5;a=\"\x01\"\r\nhello\r\n", 400},
    {"extension unterminated quote", "5;a=\"abc\r\nhello\r\n", 400},
    {"extension bare LF in quote", "5;a=\"a\nb\"\r\nhello\r\n", 400},
    {"extension NUL", "5;a\0\r\nhello\r\n"s, 400},
    {"extension too long", "5;" + std::string(300, 'e') + "\r\nhello\r\n", 400},
    {"size too long with zeros", std::string(300, '0') + "5\r\nhello\r\n", 400},
    {"over the body limit", "fffff\r\n", 413},
    {"over the body limit in total", "200\r\n" + std::string(512, 'x') + "\r\n201\r\n", 413},
    {"trailer obs-fold", "0\r\nX-A: a\r\n b\r\n\r\n", 400},
    {"trailer space before colon", "0\r\nX-A : a\r\n\r\n", 400},
    {"trailer bare LF", "0\r\nX-A: a\n\r\n", 400},
    {"trailer NUL", "0\r\nX-A: \0\r\n\r\n"s, 400},
    {"trailer no colon", "0\r\nX-A\r\n\r\n", 400},
    {"last chunk bare LF end", "0\r\n\n", 400},
    {"last chunk bare CR end", "0\r\n\rx", 400},
    {"too many trailers",
     [] {
       std::string s = "0\r\n";
       for (int i = 0; i < 33; ++i) s += "T" + std::to_string(i) + ": v\r\n";
       return s + "\r\n";
     }(),
     431},
    {"trailer section too large", "0\r\nX: " + std::string(9000, 't') + "\r\n\r\n", 431},
};

TEST(ChunkedDecoder, RefusesMalformedBodies) {
  ChunkedLimits limits;
  limits.max_body_bytes = 1024;
  for (const BadBody& c : kBadBodies) {
    Outcome o = RunWhole(c.body, limits);
    EXPECT_EQ(o.status, ChunkedStatus::kError) << c.name;
    EXPECT_EQ(o.error, c.status) << c.name;
    ExpectSplitInvariant(c.body, limits);
  }
}

TEST(ChunkedDecoder, ErrorIsSticky) {
  ChunkedDecoder d;
  EXPECT_EQ(d.Decode("zz").status, ChunkedStatus::kError);
  ChunkedResult r = d.Decode("5\r\nhello\r\n");
  EXPECT_EQ(r.status, ChunkedStatus::kError);
  EXPECT_EQ(r.error.status, 400);
}

TEST(ChunkedDecoder, BodyLimitIsExact) {
  ChunkedLimits limits;
  limits.max_body_bytes = 10;
  EXPECT_EQ(RunWhole("a\r\n0123456789\r\n0\r\n\r\n", limits).status, ChunkedStatus::kDone);
  EXPECT_EQ(RunWhole("5\r\n01234\r\n5\r\n56789\r\n1\r\n", limits).error, 413);
}

}  // namespace
}  // namespace edge::http
