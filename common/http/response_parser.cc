#include "common/http/response_parser.h"

#include "common/http/chars.h"

namespace edge::http {

using internal::Fail;
using internal::Step;

void HttpResponse::Clear() {
  HttpHeaders kept = std::move(headers);
  kept.Clear();
  *this = HttpResponse();
  headers = std::move(kept);
}

void HttpResponse::Relocate(const ViewRelocation& move) {
  reason = move(reason);
  headers.Relocate(move);
}

namespace {

constexpr uint16_t kBadGateway = 502;

bool Refuse(HttpError* error, std::string_view reason) {
  *error = {kBadGateway, reason};
  return false;
}

Step ParseStatusLine(const char*& pos, const char* end, HttpResponse* out, HttpError* error) {
  const char* p = pos;
  int major = 0, minor = 0;
  Step step = internal::ParseVersionToken(p, end, &major, &minor, error);
  if (step != Step::kOk) return step;
  if (major != 1 || minor > 1) return Fail(error, kBadGateway, "unsupported HTTP version");
  out->version = minor == 1 ? HttpVersion::kHttp11 : HttpVersion::kHttp10;
  if (p == end) return Step::kNeedMore;
  if (*p++ != ' ') return Fail(error, kBadGateway, "invalid status line");
  int status = 0;
  for (int i = 0; i < 3; ++i, ++p) {
    if (p == end) return Step::kNeedMore;
    if (!internal::IsDigit(*p)) return Fail(error, kBadGateway, "invalid status code");
    status = status * 10 + (*p - '0');
  }
  if (status < 100 || status > 599) return Fail(error, kBadGateway, "invalid status code");
  out->status = static_cast<uint16_t>(status);
  if (p == end) return Step::kNeedMore;
  const char* reason = p;
  if (*p == ' ') {
    reason = ++p;
    p = internal::ScanFieldChars(p, end);
    if (p == end) return Step::kNeedMore;
  }
  if (*p != '\r') {
    return Fail(error, kBadGateway,
                *p == '\n' ? "bare LF line ending" : "invalid character in status line");
  }
  if (p + 1 == end) return Step::kNeedMore;
  if (p[1] != '\n') return Fail(error, kBadGateway, "bare CR in status line");
  out->reason = std::string_view(reason, static_cast<size_t>(p - reason));
  pos = p + 2;
  return Step::kOk;
}

bool FinishResponse(const HttpLimits& limits, Method request_method, HttpResponse* out,
                    HttpError* error) {
  internal::KnownFields k;
  internal::CollectKnownFields(out->headers, &k);
  const bool http11 = out->version == HttpVersion::kHttp11;
  const uint16_t status = out->status;
  const bool has_te = k.transfer_encoding_count > 0;
  const bool has_cl = k.content_length_count > 0;

  if (has_te && has_cl) return Refuse(error, "both Transfer-Encoding and Content-Length");
  if (has_te && !http11) return Refuse(error, "Transfer-Encoding in an HTTP/1.0 response");
  if (has_te &&
      internal::ClassifyTransferEncoding(out->headers) != internal::TransferCoding::kChunked) {
    return Refuse(error, "unsupported or invalid Transfer-Encoding");
  }
  uint64_t length = 0;
  if (has_cl) {
    if (k.content_length_count > 1) return Refuse(error, "duplicate Content-Length");
    if (!internal::ParseContentLength(k.content_length, &length)) {
      return Refuse(error, "invalid Content-Length");
    }
  }
  if (status < 200 && (has_te || has_cl)) return Refuse(error, "framing fields in a 1xx response");
  if (status == 204 && (has_te || length != 0)) return Refuse(error, "a 204 response with a body");

  out->keep_alive = http11;
  if (k.connection_count > 0) {
    internal::ConnectionOptions o = internal::ParseConnectionOptions(out->headers);
    if (!o.valid) return Refuse(error, "invalid Connection");
    out->keep_alive = !o.close && (http11 || o.keep_alive);
  }

  const bool no_body = status < 200 || status == 204 || status == 304 ||
                       request_method == Method::kHead ||
                       (request_method == Method::kConnect && status < 300);
  if (no_body) {
    out->body = {BodyKind::kNone, 0};
  } else if (has_te) {
    out->body = {BodyKind::kChunked, 0};
  } else if (has_cl) {
    if (length > limits.max_body_bytes) return Refuse(error, "response body too large");
    out->body = {BodyKind::kContentLength, length};
  } else {
    out->body = {BodyKind::kUntilClose, 0};
    out->keep_alive = false;
  }
  return true;
}

}  // namespace

ParseResult ParseResponseHead(std::string_view data, const HttpLimits& limits,
                              Method request_method, HttpResponse* out) {
  out->Clear();
  const bool truncated = data.size() > limits.max_header_bytes;
  const char* const begin = data.data();
  const char* const end = begin + (truncated ? limits.max_header_bytes : data.size());
  const char* p = begin;
  HttpError error;
  Step step = ParseStatusLine(p, end, out, &error);
  if (step == Step::kOk) {
    step = internal::ParseFieldSection(p, end, limits.max_headers, &out->headers, &error);
  }
  switch (step) {
    case Step::kNeedMore:
      return truncated ? ParseResult::Error(kBadGateway, "response header section too large")
                       : ParseResult::NeedMore();
    case Step::kError:
      // The field-section grammar reports request statuses (400, 431): from a backend it is 502.
      return ParseResult::Error(kBadGateway, error.reason);
    case Step::kOk:
      break;
  }
  if (!FinishResponse(limits, request_method, out, &error)) {
    return ParseResult::Error(error.status, error.reason);
  }
  return ParseResult::Complete(static_cast<size_t>(p - begin));
}

ParseResult ResponseHeadParser::Parse(std::string_view data, Method request_method,
                                      HttpResponse* out) {
  if (!progress_.ShouldParse(data, limits_.max_header_bytes)) return ParseResult::NeedMore();
  ParseResult r = ParseResponseHead(data, limits_, request_method, out);
  if (r.need_more()) {
    progress_.ParsedNeedMore(data.size());
  } else {
    progress_.Reset();
  }
  return r;
}

}  // namespace edge::http
