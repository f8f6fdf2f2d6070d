#include "common/http/request_parser.h"

#include <cstring>

#include "common/http/authority.h"
#include "common/http/chars.h"

namespace edge::http {

using internal::Fail;
using internal::Is;
using internal::Step;

Method MethodFromName(std::string_view name) {
  switch (name.size()) {
    case 3:
      if (name == "GET") return Method::kGet;
      if (name == "PUT") return Method::kPut;
      break;
    case 4:
      if (name == "HEAD") return Method::kHead;
      if (name == "POST") return Method::kPost;
      break;
    case 5:
      if (name == "PATCH") return Method::kPatch;
      if (name == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (name == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (name == "CONNECT") return Method::kConnect;
      if (name == "OPTIONS") return Method::kOptions;
      break;
    default:
      break;
  }
  return Method::kOther;
}

void HttpRequest::Clear() {
  HttpHeaders kept = std::move(headers);
  kept.Clear();
  *this = HttpRequest();
  headers = std::move(kept);
}

void HttpRequest::Relocate(const ViewRelocation& move) {
  method_name = move(method_name);
  target = move(target);
  path = move(path);
  query = move(query);
  authority = move(authority);
  headers.Relocate(move);
}

namespace {

bool Refuse(HttpError* error, uint16_t status, std::string_view reason) {
  *error = {status, reason};
  return false;
}

// A path without one: the absolute-form "http://host" and "http://host?q" (RFC 9112 3.2.2).
constexpr std::string_view kRootPath = "/";

// Validates "path [? query]" of an origin- or absolute-form target (see request_parser.h).
bool ParsePathAndQuery(std::string_view s, HttpRequest* out, HttpError* error) {
  size_t i = 0;
  uint8_t allowed = internal::kPathChar;
  size_t query_start = std::string_view::npos;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (Is(allowed, c)) continue;
    if (c == '%') {
      if (i + 2 >= s.size() || !internal::IsHex(s[i + 1]) || !internal::IsHex(s[i + 2])) {
        return Refuse(error, 400, "invalid percent-encoding in request target");
      }
      i += 2;
      continue;
    }
    if (c == '?' && query_start == std::string_view::npos) {
      query_start = i;
      allowed = internal::kQueryChar;
      continue;
    }
    return Refuse(error, 400,
                  c == '#' ? "fragment in request target" : "invalid character in request path");
  }
  if (query_start == std::string_view::npos) {
    out->path = s;
  } else {
    out->path = s.substr(0, query_start);
    out->query = s.substr(query_start + 1);
  }
  if (out->path.empty()) out->path = kRootPath;
  return true;
}

bool ParseAbsoluteForm(std::string_view t, HttpRequest* out, HttpError* error) {
  size_t i = 0;
  while (i < t.size() && Is(internal::kSchemeChar, t[i])) ++i;
  std::string_view scheme = t.substr(0, i);
  if (t.substr(i, 3) != "://") {
    return Refuse(error, 400, "invalid request target");
  }
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) {
    return Refuse(error, 400, "unsupported URI scheme in request target");
  }
  std::string_view rest = t.substr(i + 3);
  size_t authority_end = rest.find_first_of("/?");
  if (authority_end == std::string_view::npos) authority_end = rest.size();
  std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return Refuse(error, 400, "userinfo in request target");
  }
  Authority parsed;
  if (!ParseAuthority(authority, &parsed)) {
    return Refuse(error, 400, "invalid authority in request target");
  }
  out->authority = authority;
  return ParsePathAndQuery(rest.substr(authority_end), out, error);
}

// The target's form, checked against the method, and its parts.
bool ParseTarget(HttpRequest* out, HttpError* error) {
  std::string_view t = out->target;
  if (out->method == Method::kConnect) {
    Authority a;
    if (!ParseAuthority(t, &a) || !a.has_port) {
      return Refuse(error, 400, "CONNECT needs an authority-form target (host:port)");
    }
    out->target_form = TargetForm::kAuthority;
    out->authority = t;
    return true;
  }
  if (t[0] == '/') {
    out->target_form = TargetForm::kOrigin;
    return ParsePathAndQuery(t, out, error);
  }
  if (t == "*") {
    if (out->method != Method::kOptions) {
      return Refuse(error, 400, "asterisk-form target outside OPTIONS");
    }
    out->target_form = TargetForm::kAsterisk;
    return true;
  }
  if (internal::IsAlpha(t[0])) {
    out->target_form = TargetForm::kAbsolute;
    return ParseAbsoluteForm(t, out, error);
  }
  return Refuse(error, 400, "invalid request target");
}

Step ParseRequestLine(const char*& pos, const char* end, const HttpLimits& limits, HttpRequest* out,
                      HttpError* error) {
  const char* p = pos;
  // RFC 9112 2.2: ignore at least one empty line before the request line. We ignore exactly one.
  if (p == end) return Step::kNeedMore;
  if (*p == '\r') {
    if (p + 1 == end) return Step::kNeedMore;
    if (p[1] != '\n') return Fail(error, 400, "bare CR before the request line");
    p += 2;
    if (p == end) return Step::kNeedMore;
    if (*p == '\r' || *p == '\n') {
      return Fail(error, 400, "more than one empty line before the request line");
    }
  } else if (*p == '\n') {
    return Fail(error, 400, "bare LF line ending");
  }

  const char* method = p;
  while (p < end && internal::IsTchar(*p)) {
    if (static_cast<size_t>(p - method) == kMaxMethodBytes) {
      return Fail(error, 400, "request method too long");
    }
    ++p;
  }
  if (p == end) return Step::kNeedMore;
  if (*p != ' ' || p == method) return Fail(error, 400, "invalid request method");
  out->method_name = std::string_view(method, static_cast<size_t>(p - method));
  ++p;

  // The target: scan at most max_target_bytes; a VCHAR right after them means it is too long.
  const char* target = p;
  const size_t max_target = limits.max_target_bytes;
  const char* limit = static_cast<size_t>(end - p) > max_target ? p + max_target : end;
  p = internal::ScanVchars(p, limit);
  if (p == end) return Step::kNeedMore;
  if (p == limit && Is(internal::kVchar, *p)) return Fail(error, 414, "request target too long");
  if (*p != ' ') return Fail(error, 400, "invalid character in request target");
  if (p == target) return Fail(error, 400, "empty request target");
  out->target = std::string_view(target, static_cast<size_t>(p - target));
  ++p;

  int major = 0, minor = 0;
  Step step = internal::ParseVersionToken(p, end, &major, &minor, error);
  if (step != Step::kOk) return step;
  if (p == end) return Step::kNeedMore;
  if (*p != '\r') {
    return Fail(error, 400, *p == '\n' ? "bare LF line ending" : "invalid request line");
  }
  if (p + 1 == end) return Step::kNeedMore;
  if (p[1] != '\n') return Fail(error, 400, "bare CR in request line");
  p += 2;
  if (major != 1 || minor > 1) return Fail(error, 505, "HTTP version not supported");
  out->version = minor == 1 ? HttpVersion::kHttp11 : HttpVersion::kHttp10;
  out->method = MethodFromName(out->method_name);
  if (!ParseTarget(out, error)) return Step::kError;
  pos = p;
  return Step::kOk;
}

// The checks that need the whole header section: Host, framing, persistence, expectations.
bool FinishRequest(const HttpLimits& limits, HttpRequest* out, HttpError* error) {
  internal::KnownFields k;
  internal::CollectKnownFields(out->headers, &k);
  const bool http11 = out->version == HttpVersion::kHttp11;

  if (k.host_count > 1) return Refuse(error, 400, "duplicate Host");
  if (k.host_count == 0 && http11) return Refuse(error, 400, "missing Host");
  Authority host;
  if (k.host_count == 1 && !k.host.empty() && !ParseAuthority(k.host, &host)) {
    return Refuse(error, 400, "invalid Host");
  }
  if (out->target_form == TargetForm::kAbsolute || out->target_form == TargetForm::kAuthority) {
    if (k.host_count == 1 && !EqualsIgnoreCase(k.host, out->authority)) {
      return Refuse(error, 400, "Host differs from the request target's authority");
    }
  } else {
    out->authority = k.host;
  }

  if (k.transfer_encoding_count > 0) {
    if (!http11) return Refuse(error, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (k.content_length_count > 0) {
      return Refuse(error, 400, "both Transfer-Encoding and Content-Length");
    }
    switch (internal::ClassifyTransferEncoding(out->headers)) {
      case internal::TransferCoding::kInvalid:
        return Refuse(error, 400, "invalid Transfer-Encoding");
      case internal::TransferCoding::kUnsupported:
        return Refuse(error, 501, "unsupported transfer coding");
      case internal::TransferCoding::kChunked:
        out->body = {BodyKind::kChunked, 0};
        break;
    }
  } else if (k.content_length_count > 0) {
    if (k.content_length_count > 1) return Refuse(error, 400, "duplicate Content-Length");
    uint64_t length = 0;
    if (!internal::ParseContentLength(k.content_length, &length)) {
      return Refuse(error, 400, "invalid Content-Length");
    }
    if (length > limits.max_body_bytes) return Refuse(error, 413, "request body too large");
    out->body = {BodyKind::kContentLength, length};
  }

  out->keep_alive = http11;
  if (k.connection_count > 0) {
    internal::ConnectionOptions o = internal::ParseConnectionOptions(out->headers);
    if (!o.valid) return Refuse(error, 400, "invalid Connection");
    out->keep_alive = !o.close && (http11 || o.keep_alive);
    // RFC 9110 7.8: an Upgrade in an HTTP/1.0 request is ignored (and dropped as hop-by-hop).
    out->upgrade = http11 && o.upgrade && k.upgrade_count > 0;
    if (out->upgrade && !internal::IsValidUpgrade(out->headers)) {
      return Refuse(error, 400, "invalid Upgrade");
    }
  }

  if (k.expect_count > 0 && http11) {
    if (k.expect_count > 1 || !EqualsIgnoreCase(k.expect, "100-continue")) {
      return Refuse(error, 417, "unsupported expectation");
    }
    out->expect_continue = true;
  }
  return true;
}

}  // namespace

ParseResult ParseRequestHead(std::string_view data, const HttpLimits& limits, HttpRequest* out) {
  out->Clear();
  // Parse at most max_header_bytes: running out of bytes there means the head is too large.
  const bool truncated = data.size() > limits.max_header_bytes;
  const char* const begin = data.data();
  const char* const end = begin + (truncated ? limits.max_header_bytes : data.size());
  const char* p = begin;
  HttpError error;
  Step step = ParseRequestLine(p, end, limits, out, &error);
  if (step == Step::kOk) {
    step = internal::ParseFieldSection(p, end, limits.max_headers, &out->headers, &error);
  }
  switch (step) {
    case Step::kNeedMore:
      return truncated ? ParseResult::Error(431, "request header section too large")
                       : ParseResult::NeedMore();
    case Step::kError:
      return ParseResult::Error(error.status, error.reason);
    case Step::kOk:
      break;
  }
  if (!FinishRequest(limits, out, &error)) return ParseResult::Error(error.status, error.reason);
  return ParseResult::Complete(static_cast<size_t>(p - begin));
}

ParseResult RequestHeadParser::Parse(std::string_view data, HttpRequest* out) {
  if (!progress_.ShouldParse(data, limits_.max_header_bytes)) return ParseResult::NeedMore();
  ParseResult r = ParseRequestHead(data, limits_, out);
  if (r.need_more()) {
    progress_.ParsedNeedMore(data.size());
  } else {
    progress_.Reset();  // ready for the next message
  }
  return r;
}

}  // namespace edge::http
