// Fuzzes the HTTP/1.1 codec (common/http): request heads, response heads and chunked bodies.
//
// The input is used three ways, each under the default limits and under tight ones:
//  - as a request head: a verdict on any prefix (two split points) is kNeedMore or the verdict on
//    the whole; RequestHeadParser fed the input in two pieces agrees with the one-piece verdict;
//    a complete head has every view inside its bytes, only valid tokens and values, and its
//    re-serialisation parses to the same request; errors carry one of the documented statuses;
//  - as a response head (to GET and to HEAD), with the same checks and 502 for every error;
//  - as a chunked body: decoding it in one piece, in two pieces and a byte at a time gives the
//    same data, verdict and trailers; decoded data re-encoded in chunks decodes back to itself.
// Any violation aborts, which libFuzzer reports as a crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/chunked_decoder.h"
#include "common/http/request_parser.h"
#include "common/http/response_parser.h"

using edge::http::BodyKind;
using edge::http::ChunkedDecoder;
using edge::http::ChunkedLimits;
using edge::http::ChunkedResult;
using edge::http::ChunkedStatus;
using edge::http::HttpHeader;
using edge::http::HttpLimits;
using edge::http::HttpRequest;
using edge::http::HttpResponse;
using edge::http::HttpVersion;
using edge::http::Method;
using edge::http::ParseResult;
using edge::http::ParseStatus;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_http: %s\n", what);
    std::abort();
  }
}

bool Same(const ParseResult& a, const ParseResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.error == b.error;
}

// `v` lies inside `buffer` (or is empty).
bool Within(std::string_view v, std::string_view buffer) {
  if (v.empty()) return true;
  return v.data() >= buffer.data() && v.data() + v.size() <= buffer.data() + buffer.size();
}

bool IsTokenChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}
bool IsFieldValue(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return s.empty() ||
         (s.front() != ' ' && s.front() != '\t' && s.back() != ' ' && s.back() != '\t');
}

void CheckFields(const edge::http::HttpHeaders& headers, std::string_view head, size_t max) {
  Check(headers.size() <= max, "more fields than max_headers");
  for (const HttpHeader& h : headers) {
    Check(Within(h.name, head) && Within(h.value, head), "field view outside the head");
    Check(IsToken(h.name), "field name is not a token");
    Check(IsFieldValue(h.value), "invalid field value accepted");
  }
}

std::string Serialize(std::string_view start_line, const edge::http::HttpHeaders& headers) {
  std::string out(start_line);
  out += "\r\n";
  for (const HttpHeader& h : headers) {
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  return out + "\r\n";
}

bool SameFields(const edge::http::HttpHeaders& a, const edge::http::HttpHeaders& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].value != b[i].value) return false;
  }
  return true;
}

// The wrapper's final verdict after `first` then the whole: the stateless verdict, or kNeedMore
// while the head is unterminated and within the limit.
template <typename FeedFn>
void CheckWrapper(std::string_view input, size_t split, const ParseResult& whole, size_t max,
                  FeedFn feed) {
  ParseResult first = feed(input.substr(0, split));
  if (!first.need_more()) {
    Check(Same(first, whole), "wrapper verdict on a prefix differs");
    return;
  }
  ParseResult second = feed(input);
  if (second.need_more() && !whole.need_more()) {
    bool may_wait = input.find("\n\r\n") == std::string_view::npos &&
                    input.find("\n\n") == std::string_view::npos && input.size() <= max;
    Check(may_wait, "wrapper still waits for a terminated or oversized head");
    Check(whole.status == ParseStatus::kError, "wrapper waits where the parse completes");
    return;
  }
  Check(Same(second, whole), "wrapper verdict differs from the stateless one");
}

void FuzzRequest(std::string_view input, const HttpLimits& limits,
                 const std::vector<size_t>& splits) {
  HttpRequest req;
  ParseResult whole = edge::http::ParseRequestHead(input, limits, &req);
  switch (whole.status) {
    case ParseStatus::kNeedMore:
      Check(whole.consumed == 0 && whole.error.status == 0, "kNeedMore with data");
      Check(input.size() <= limits.max_header_bytes, "kNeedMore beyond the head limit");
      break;
    case ParseStatus::kError: {
      uint16_t s = whole.error.status;
      Check(s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505,
            "undocumented request error status");
      Check(!whole.error.reason.empty(), "error without a reason");
      break;
    }
    case ParseStatus::kComplete: {
      Check(whole.consumed > 0 && whole.consumed <= input.size(), "consumed out of range");
      Check(whole.consumed <= limits.max_header_bytes, "head over the limit accepted");
      std::string_view head = input.substr(0, whole.consumed);
      Check(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n",
            "head does not end in an empty line");
      Check(Within(req.method_name, head) && Within(req.target, head) && Within(req.query, head) &&
                Within(req.authority, head),
            "request view outside the head");
      Check(req.path == "/" || Within(req.path, head), "path view outside the head");
      Check(IsToken(req.method_name), "method is not a token");
      Check(req.method_name.size() <= edge::http::kMaxMethodBytes, "method too long");
      Check(!req.target.empty() && req.target.size() <= limits.max_target_bytes,
            "target length out of range");
      for (char c : req.target) Check(c > 0x20 && c < 0x7F && c != '#', "bad target byte");
      CheckFields(req.headers, head, limits.max_headers);
      Check(req.body.kind != BodyKind::kUntilClose, "request read until close");
      Check(req.body.kind != BodyKind::kContentLength || req.body.length <= limits.max_body_bytes,
            "Content-Length over the limit accepted");
      Check(req.headers.Count("host") <= 1, "duplicate Host accepted");
      Check(req.version == HttpVersion::kHttp10 || req.headers.Count("host") == 1,
            "HTTP/1.1 without Host accepted");
      Check(!(req.headers.Count("content-length") && req.headers.Count("transfer-encoding")),
            "CL with TE accepted");
      // Re-serialised, it parses to the same request.
      std::string again =
          Serialize(std::string(req.method_name) + " " + std::string(req.target) +
                        (req.version == HttpVersion::kHttp11 ? " HTTP/1.1" : " HTTP/1.0"),
                    req.headers);
      HttpRequest req2;
      ParseResult r2 = edge::http::ParseRequestHead(again, limits, &req2);
      if (r2.status == ParseStatus::kError && r2.error.status == 431) break;  // grew past the limit
      Check(r2.status == ParseStatus::kComplete && r2.consumed == again.size(),
            "re-serialised request does not parse");
      Check(req2.method_name == req.method_name && req2.method == req.method &&
                req2.target == req.target && req2.target_form == req.target_form &&
                req2.path == req.path && req2.query == req.query &&
                req2.authority == req.authority && req2.version == req.version &&
                req2.body == req.body && req2.keep_alive == req.keep_alive &&
                req2.expect_continue == req.expect_continue && req2.upgrade == req.upgrade &&
                SameFields(req2.headers, req.headers),
            "re-serialised request differs");
      // The head alone, and one byte less.
      Check(Same(edge::http::ParseRequestHead(head, limits, &req2), whole),
            "head alone parses differently");
      Check(
          edge::http::ParseRequestHead(head.substr(0, head.size() - 1), limits, &req2).need_more(),
          "head minus its last byte does not need more");
      break;
    }
  }
  for (size_t split : splits) {
    HttpRequest part;
    ParseResult r = edge::http::ParseRequestHead(input.substr(0, split), limits, &part);
    Check(r.need_more() || Same(r, whole), "request verdict on a prefix differs");
    edge::http::RequestHeadParser parser(limits);
    CheckWrapper(input, split, whole, limits.max_header_bytes,
                 [&](std::string_view d) { return parser.Parse(d, &part); });
  }
}

void FuzzResponse(std::string_view input, const HttpLimits& limits, Method method,
                  const std::vector<size_t>& splits) {
  HttpResponse resp;
  ParseResult whole = edge::http::ParseResponseHead(input, limits, method, &resp);
  if (whole.status == ParseStatus::kError) {
    Check(whole.error.status == 502 && !whole.error.reason.empty(), "response error not a 502");
  } else if (whole.status == ParseStatus::kComplete) {
    std::string_view head = input.substr(0, whole.consumed);
    Check(whole.consumed <= limits.max_header_bytes, "response head over the limit accepted");
    Check(resp.status >= 100 && resp.status <= 599, "status out of range");
    Check(Within(resp.reason, head), "reason view outside the head");
    CheckFields(resp.headers, head, limits.max_headers);
    Check(!(resp.headers.Count("content-length") && resp.headers.Count("transfer-encoding")),
          "CL with TE accepted in a response");
    Check(resp.headers.Count("content-length") <= 1, "duplicate CL accepted in a response");
    bool no_body =
        resp.status < 200 || resp.status == 204 || resp.status == 304 || method == Method::kHead;
    if (no_body) Check(resp.body.kind == BodyKind::kNone, "a body where there can be none");
    if (resp.body.kind == BodyKind::kUntilClose) Check(!resp.keep_alive, "until-close kept alive");
    char line[64];
    std::snprintf(line, sizeof(line), "HTTP/1.%d %03d ",
                  resp.version == HttpVersion::kHttp11 ? 1 : 0, resp.status);
    std::string again = Serialize(std::string(line) + std::string(resp.reason), resp.headers);
    HttpResponse resp2;
    ParseResult r2 = edge::http::ParseResponseHead(again, limits, method, &resp2);
    if (!(r2.status == ParseStatus::kError && again.size() > limits.max_header_bytes)) {
      Check(r2.status == ParseStatus::kComplete && r2.consumed == again.size(),
            "re-serialised response does not parse");
      Check(resp2.status == resp.status && resp2.reason == resp.reason && resp2.body == resp.body &&
                resp2.keep_alive == resp.keep_alive && resp2.version == resp.version &&
                SameFields(resp2.headers, resp.headers),
            "re-serialised response differs");
    }
  }
  for (size_t split : splits) {
    HttpResponse part;
    ParseResult r = edge::http::ParseResponseHead(input.substr(0, split), limits, method, &part);
    Check(r.need_more() || Same(r, whole), "response verdict on a prefix differs");
    edge::http::ResponseHeadParser parser(limits);
    CheckWrapper(input, split, whole, limits.max_header_bytes,
                 [&](std::string_view d) { return parser.Parse(d, method, &part); });
  }
}

struct Decoded {
  ChunkedStatus status = ChunkedStatus::kNeedMore;
  std::string data;
  uint16_t error = 0;
  size_t consumed = 0;
  std::vector<std::pair<std::string, std::string>> trailers;
};

// Decodes `pieces` in order, keeping unconsumed bytes in a buffer as a connection does.
Decoded Decode(const std::vector<std::string_view>& pieces, const ChunkedLimits& limits) {
  ChunkedDecoder decoder(limits);
  Decoded out;
  std::string buffer;
  for (std::string_view piece : pieces) {
    buffer.append(piece);
    for (;;) {
      ChunkedResult r = decoder.Decode(buffer);
      Check(r.consumed <= buffer.size(), "chunked consumed more than given");
      Check(r.status == ChunkedStatus::kData || r.data.empty(), "data without kData");
      if (r.status == ChunkedStatus::kData) {
        Check(!r.data.empty() && Within(r.data, buffer), "bad chunk data view");
        Check(r.data.data() + r.data.size() == buffer.data() + r.consumed,
              "consumed does not end at the data");
      }
      out.data.append(r.data);
      out.consumed += r.consumed;
      out.status = r.status;
      if (r.status == ChunkedStatus::kDone) {
        for (const HttpHeader& h : decoder.trailers()) {
          Check(Within(h.name, buffer) && Within(h.value, buffer), "trailer outside the input");
          out.trailers.emplace_back(std::string(h.name), std::string(h.value));
        }
        Check(decoder.body_bytes() == out.data.size(), "body_bytes differs from the data");
      }
      buffer.erase(0, r.consumed);
      if (r.status == ChunkedStatus::kError) {
        out.error = r.error.status;
        Check(out.error == 400 || out.error == 413 || out.error == 431, "chunked error status");
        return out;
      }
      if (r.status == ChunkedStatus::kDone) return out;
      if (r.status == ChunkedStatus::kNeedMore) break;
    }
  }
  return out;
}

bool SameDecoded(const Decoded& a, const Decoded& b) {
  return a.status == b.status && a.data == b.data && a.error == b.error &&
         a.trailers == b.trailers &&
         (a.status == ChunkedStatus::kError || a.consumed == b.consumed);
}

// `piecewise` decoded the same input as `whole` in pieces. Like a head parser wrapper, the decoder
// parses an unfinished trailer section lazily (HeadProgress), so it may still wait where the whole
// was refused: only with the same data, while the unconsumed trailer bytes hold no empty line and
// are within the limit.
bool SameOrLazyTrailer(std::string_view input, const Decoded& piecewise, const Decoded& whole,
                       const ChunkedLimits& limits) {
  if (SameDecoded(piecewise, whole)) return true;
  if (piecewise.status != ChunkedStatus::kNeedMore || whole.status != ChunkedStatus::kError ||
      piecewise.data != whole.data) {
    return false;
  }
  std::string_view rest = input.substr(piecewise.consumed);
  return !rest.empty() && rest.find("\n\r\n") == std::string_view::npos &&
         rest.find("\n\n") == std::string_view::npos && rest.substr(0, 2) != "\r\n" &&
         rest[0] != '\n' && rest.size() <= limits.max_trailer_bytes;
}

void FuzzChunked(std::string_view input, const ChunkedLimits& limits,
                 const std::vector<size_t>& splits) {
  Decoded whole = Decode({input}, limits);
  Check(whole.data.size() <= limits.max_body_bytes, "chunked body over the limit");
  for (size_t split : splits) {
    Decoded two = Decode({input.substr(0, split), input.substr(split)}, limits);
    Check(SameOrLazyTrailer(input, two, whole, limits), "chunked decoding in two pieces differs");
  }
  if (input.size() <= 512) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    Check(SameOrLazyTrailer(input, Decode(bytes, limits), whole, limits),
          "chunked decoding byte by byte differs");
  }
  // Re-encode the decoded data in uneven chunks; it decodes back to itself.
  std::string encoded;
  size_t at = 0, n = 1;
  while (at < whole.data.size()) {
    size_t len = std::min(n, whole.data.size() - at);
    char size_line[32];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", len);
    encoded.append(size_line).append(whole.data, at, len).append("\r\n");
    at += len;
    n = n * 3 + 1;
  }
  encoded += "0\r\n\r\n";
  Decoded again = Decode({encoded}, limits);
  Check(again.status == ChunkedStatus::kDone && again.data == whole.data &&
            again.consumed == encoded.size(),
        "re-encoded chunked body does not decode back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<size_t> splits;
  if (size > 0) {
    splits.push_back(size / 2);
    splits.push_back((static_cast<size_t>(data[size - 1]) * 257 + size) % (size + 1));
  }

  HttpLimits tight;
  tight.max_header_bytes = 256;
  tight.max_target_bytes = 64;
  tight.max_headers = 8;
  tight.max_body_bytes = 1000;
  for (const HttpLimits& limits : {HttpLimits(), tight}) {
    FuzzRequest(input, limits, splits);
    FuzzResponse(input, limits, Method::kGet, splits);
  }
  FuzzResponse(input, HttpLimits(), Method::kHead, splits);

  ChunkedLimits tight_chunked;
  tight_chunked.max_body_bytes = 100;
  tight_chunked.max_chunk_line_bytes = 16;
  tight_chunked.max_trailer_bytes = 64;
  tight_chunked.max_trailers = 2;
  FuzzChunked(input, ChunkedLimits(), splits);
  FuzzChunked(input, tight_chunked, splits);
  return 0;
}
