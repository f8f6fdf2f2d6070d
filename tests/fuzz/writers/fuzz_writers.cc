// Fuzzes gw7's message writers by round trip: what they write must parse with the strict parsers
// (common/http/request_parser.h, response_parser.h) to what they were asked to write.
//
// Request: the input describes a client request (method, target, version, header fields) and the
// options gw7 forwards it with (routed path, client address, proto, request id, removed and added
// fields, body framing, upgrade). The request text is parsed first (gw7 only forwards parsed
// requests; an input the parser refuses is skipped), then AppendUpstreamRequestHead writes the
// upstream head, which must parse completely and keep:
//  - the method, the routed path and the client's query, HTTP/1.1, keep-alive, no Expect;
//  - every client field that is end-to-end (not hop-by-hop, not a field gw7 owns, not removed),
//    in order, with its value, before anything gw7 adds;
//  - exactly one Host (the client's, else the target's authority, else default_host), one
//    X-Request-Id, one X-Forwarded-Proto, one X-Forwarded-For ending with the client address and
//    one Forwarded ending with gw7's for=...;proto=... element;
//  - each safe extra field (route's, then filters'; never Host), in order, with its value (OWS
//    trimmed);
//  - the framing asked for (none, Content-Length n or chunked), and the upgrade if asked.
// Response: the input describes a status, caller fields, a body and the writer's options;
// AppendResponse either refuses (and appends nothing) or writes a response that parses (to GET or
// HEAD) with that status, the caller's fields first and in order, Content-Length = the body's size
// unless the status has no body, the body bytes after the head (none for HEAD), and the
// persistence asked for. ErrorResponse always parses, with a JSON body and Connection: close.
// Any violation aborts, which libFuzzer reports as a crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/hop_by_hop.h"
#include "common/http/message.h"
#include "common/http/request_parser.h"
#include "common/http/response_parser.h"
#include "common/http/response_writer.h"
#include "common/net/address.h"
#include "l7/server/trusted_headers.h"
#include "l7/filters/proxy/upstream_request.h"

using edge::http::BodyFraming;
using edge::http::BodyKind;
using edge::http::EqualsIgnoreCase;
using edge::http::HttpHeader;
using edge::http::HttpLimits;
using edge::http::HttpRequest;
using edge::http::HttpResponse;
using edge::http::HttpVersion;
using edge::http::Method;
using edge::http::ParseStatus;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_writers: %s\n", what);
    std::abort();
  }
}

// Reads the fuzz input as a sequence of small decisions; past the end every read is 0 / empty.
class Input {
 public:
  explicit Input(std::string_view data) : data_(data) {}
  uint8_t Byte() {
    if (data_.empty()) return 0;
    const uint8_t b = static_cast<uint8_t>(data_.front());
    data_.remove_prefix(1);
    return b;
  }
  uint64_t Number() {  // mostly small, sometimes huge
    const uint8_t n = Byte() % 9;
    uint64_t v = 0;
    for (uint8_t i = 0; i < n; ++i) v = (v << 8) | Byte();
    return v;
  }
  bool Bit() { return (Byte() & 1) != 0; }
  // A length byte, then that many bytes (fewer at the end of the input).
  std::string_view Text() {
    // The length byte first: as two arguments of one call, Byte() and data_.size() could be
    // evaluated in either order, and gcc's order left n one past the end.
    const size_t length = Byte();
    const size_t n = std::min(length, data_.size());
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  template <size_t N>
  std::string_view Pick(const std::string_view (&choices)[N]) {
    const uint8_t b = Byte();
    return b < N ? choices[b] : Text();  // most bytes pick a fuzzed text
  }

 private:
  std::string_view data_;
};

constexpr std::string_view kMethods[] = {"GET",   "HEAD",  "POST",     "PUT", "DELETE",
                                         "PATCH", "TRACE", "PROPFIND", "get", "OPTIONS"};
constexpr std::string_view kFieldNames[] = {"Host",
                                            "Connection",
                                            "Upgrade",
                                            "Keep-Alive",
                                            "TE",
                                            "Trailer",
                                            "Transfer-Encoding",
                                            "Content-Length",
                                            "Expect",
                                            "X-Forwarded-For",
                                            "Forwarded",
                                            "X-Request-Id",
                                            "X-Forwarded-Proto",
                                            "Proxy-Connection",
                                            "X-A",
                                            "x-a",
                                            "Cookie",
                                            "Accept",
                                            "HTTP2-Settings",
                                            "Content-Type",
                                            "X-Consumer",
                                            "Authorization",
                                            "HOST",
                                            "Via"};
constexpr std::string_view kFieldValues[] = {"close",
                                             "keep-alive, X-A",
                                             "Upgrade",
                                             "upgrade, x-a",
                                             "websocket",
                                             "chunked",
                                             "5",
                                             "100-continue",
                                             "192.0.2.1",
                                             "for=192.0.2.1",
                                             "example.com",
                                             "example.com:8080",
                                             "",
                                             "a, b",
                                             "h2c",
                                             "trailers",
                                             "text/plain",
                                             "Bearer x.y.z",
                                             "\x80\xff",
                                             "websocket/13, h2c"};

// The request's fields, as text, from the input.
std::string RequestText(Input& in) {
  std::string text;
  text.append(in.Pick(kMethods));
  text.push_back(' ');
  switch (in.Byte() % 4) {
    case 0:
      text.append("/");
      text.append(in.Text());
      break;
    case 1:
      text.append("http://example.com/");
      text.append(in.Text());
      break;
    case 2:
      text.append("*");
      break;
    default:
      text.append(in.Text());
      break;
  }
  text.append(in.Bit() ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  const int fields = in.Byte() % 16;
  for (int i = 0; i < fields; ++i) {
    text.append(in.Pick(kFieldNames));
    text.append(": ");
    text.append(in.Pick(kFieldValues));
    text.append("\r\n");
  }
  text.append("\r\n");
  return text;
}

std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// A path the parser accepts (RFC 3986 pchar and "/"), as a router would hand over.
std::string RoutedPath(Input& in, const HttpRequest& request) {
  if (in.Bit()) return std::string(request.path);
  static constexpr std::string_view kPchar =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
  std::string path = in.Bit() ? "" : "/";  // empty: the writer sends "/"
  for (char c : in.Text()) path.push_back(kPchar[static_cast<uint8_t>(c) % kPchar.size()]);
  if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
  return path;
}

bool IsGatewayOwned(std::string_view name) {
  for (std::string_view owned : {"content-length", "transfer-encoding", "expect", "x-request-id",
                                 "x-forwarded-for", "forwarded", "x-forwarded-proto"}) {
    if (EqualsIgnoreCase(name, owned)) return true;
  }
  return false;
}

// The Upgrade value gw7 promises without allow_h2c: the client's protocols in order, h2c (any
// version) left out, joined by ", "; empty when h2c was all there was.
std::string UpgradeWithoutH2c(std::string_view value) {
  std::string out;
  size_t i = 0;
  while (i <= value.size()) {
    size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view p = value.substr(i, comma - i);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
    while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
    if (!p.empty() && !EqualsIgnoreCase(p.substr(0, p.find('/')), "h2c")) {
      if (!out.empty()) out.append(", ");
      out.append(p);
    }
    i = comma + 1;
  }
  return out;
}

bool NameIn(std::string_view name, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    if (EqualsIgnoreCase(name, n)) return true;
  }
  return false;
}

size_t CountOf(const HttpRequest& r, std::string_view name) { return r.headers.Count(name); }

void RequestRoundTrip(Input& in) {
  const std::string text = RequestText(in);
  HttpRequest request;
  if (!edge::http::ParseRequestHead(text, HttpLimits{}, &request).complete()) return;
  if (request.method == Method::kConnect) return;  // gw7 answers CONNECT with 501 itself

  const std::string path = RoutedPath(in, request);
  edge::l7::UpstreamRequestOptions options;
  options.path = path;
  std::string client_text;
  edge::net::SocketAddress client;
  switch (in.Byte() % 3) {
    case 0: {
      std::string bytes;
      for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(in.Byte()));
      client = edge::net::SocketAddress::FromBytes(bytes, 40000);
      options.client = &client;
      break;
    }
    case 1: {
      std::string bytes;
      for (int i = 0; i < 16; ++i) bytes.push_back(static_cast<char>(in.Byte()));
      client = edge::net::SocketAddress::FromBytes(bytes, 40000);
      options.client = &client;
      break;
    }
    default:
      break;  // no address: "unknown"
  }
  options.proto = in.Bit() ? "https" : "http";
  std::string request_id;
  for (char c : in.Text()) request_id.push_back(static_cast<char>('!' + (c & 0x3f)));
  options.request_id = request_id;
  options.default_host = in.Bit() ? "10.0.0.1:8080" : "gw.internal";
  std::vector<std::string> remove;
  for (int i = in.Byte() % 4; i > 0; --i) remove.emplace_back(in.Pick(kFieldNames));
  options.remove_headers = &remove;
  std::vector<std::pair<std::string, std::string>> route_headers, add_headers;
  for (auto* extra : {&route_headers, &add_headers}) {
    for (int i = in.Byte() % 4; i > 0; --i) {
      std::string name(in.Pick(kFieldNames));
      extra->emplace_back(std::move(name), std::string(in.Pick(kFieldValues)));
    }
  }
  options.route_headers = &route_headers;
  options.add_headers = &add_headers;
  switch (in.Byte() % 3) {
    case 0:
      options.body = {BodyKind::kNone, 0};
      break;
    case 1:
      options.body = {BodyKind::kContentLength, in.Number()};
      break;
    default:
      options.body = {BodyKind::kChunked, 0};
      break;
  }
  options.upgrade = request.upgrade && in.Bit();  // gw7 forwards only a parsed upgrade
  options.allow_h2c = in.Bit();
  // As the caller does: where h2c may not pass, an upgrade offering only h2c is no upgrade.
  if (!options.allow_h2c && !edge::l7::OffersUpgradeOtherThanH2c(request.headers)) {
    options.upgrade = false;
  }

  std::string head;
  edge::l7::AppendUpstreamRequestHead(request, options, &head);

  HttpLimits loose;
  loose.max_header_bytes = 1 << 20;
  loose.max_target_bytes = 1 << 20;
  loose.max_headers = 1000;
  loose.max_body_bytes = edge::http::kUnlimitedBody;
  HttpRequest out;
  const auto result = edge::http::ParseRequestHead(head, loose, &out);
  if (!result.complete()) {
    std::fprintf(stderr, "upstream head refused (%d %.*s):\n%s\n", result.error.status,
                 static_cast<int>(result.error.reason.size()), result.error.reason.data(),
                 head.c_str());
  }
  Check(result.complete(), "the upstream head does not parse");
  Check(result.consumed == head.size(), "the upstream head has bytes after its end");
  Check(out.method_name == request.method_name, "method changed");
  Check(out.version == HttpVersion::kHttp11, "not HTTP/1.1");
  if (request.target_form == edge::http::TargetForm::kAsterisk) {
    Check(out.target == "*", "asterisk-form target changed");
  } else {
    Check(out.target_form == edge::http::TargetForm::kOrigin, "target not in origin-form");
    Check(out.path == (path.empty() ? std::string_view("/") : std::string_view(path)),
          "routed path changed");
    Check(out.query == request.query, "query changed");
  }
  Check(out.keep_alive, "upstream connection not kept alive");
  Check(!out.expect_continue, "Expect forwarded");
  Check(out.upgrade == options.upgrade, "upgrade not as asked");
  Check(out.body == options.body, "framing not as asked");

  // The client's end-to-end fields come first, in order, with their values.
  edge::http::HopByHopFilter hop(request.headers);
  std::vector<HttpHeader> kept;
  std::deque<std::string> upgrade_values;  // the values kept[] points into (stable addresses)
  for (const HttpHeader& h : request.headers) {
    const bool upgrade_kept = options.upgrade && EqualsIgnoreCase(h.name, "upgrade");
    if (!upgrade_kept &&
        (hop.IsHopByHop(h.name) || IsGatewayOwned(h.name) || NameIn(h.name, remove))) {
      continue;
    }
    if (EqualsIgnoreCase(h.name, "host") && h.value.empty()) continue;  // replaced, see below
    // HTTP2-Settings goes only where h2c may (an h2c tunnel would bypass routing and auth).
    if (!options.allow_h2c && EqualsIgnoreCase(h.name, "http2-settings")) continue;
    if (upgrade_kept && !options.allow_h2c) {
      upgrade_values.push_back(UpgradeWithoutH2c(h.value));
      if (upgrade_values.back().empty()) continue;
      kept.push_back({h.name, upgrade_values.back()});
      continue;
    }
    kept.push_back(h);
  }
  Check(out.headers.size() >= kept.size(), "client fields lost");
  for (size_t i = 0; i < kept.size(); ++i) {
    Check(out.headers[i].name == kept[i].name, "client field renamed, reordered or lost");
    Check(out.headers[i].value == kept[i].value, "client field value changed");
  }
  // After them, gw7's own fields: hop-by-hop ones only for the framing and the upgrade it writes.
  for (size_t i = kept.size(); i < out.headers.size(); ++i) {
    const HttpHeader& h = out.headers[i];
    if (!edge::http::IsHopByHopField(h.name)) continue;
    Check((options.upgrade && EqualsIgnoreCase(h.name, "connection") && h.value == "Upgrade") ||
              (options.body.kind == BodyKind::kChunked &&
               EqualsIgnoreCase(h.name, "transfer-encoding") && h.value == "chunked"),
          "a hop-by-hop field after the client's fields");
  }

  // The fields gw7 writes.
  Check(CountOf(out, "host") == 1, "not exactly one Host");
  std::string_view want_host = request.headers.Get("host");
  if (want_host.empty()) want_host = request.authority;
  if (want_host.empty()) want_host = options.default_host;
  Check(out.headers.Get("host") == want_host, "Host changed");
  Check(CountOf(out, "x-request-id") == 1 && out.headers.Get("x-request-id") == request_id,
        "X-Request-Id not gw7's");
  Check(CountOf(out, "x-forwarded-proto") == 1 &&
            out.headers.Get("x-forwarded-proto") == options.proto,
        "X-Forwarded-Proto not gw7's");
  const std::string ip =
      options.client != nullptr && client.valid() ? client.IpString() : std::string("unknown");
  Check(CountOf(out, "x-forwarded-for") == 1, "not exactly one X-Forwarded-For");
  const std::string_view xff = out.headers.Get("x-forwarded-for");
  Check(xff == ip || (xff.size() > ip.size() + 2 && xff.substr(xff.size() - ip.size()) == ip &&
                      xff.substr(xff.size() - ip.size() - 2, 2) == ", "),
        "X-Forwarded-For does not end with the client address");
  Check(CountOf(out, "forwarded") == 1, "not exactly one Forwarded");
  std::string element = "for=";
  if (options.client == nullptr || !client.valid()) {
    element += "unknown";
  } else if (client.is_v4()) {
    element += ip;
  } else {
    element += "\"[" + ip + "]\"";
  }
  element += ";proto=" + std::string(options.proto);
  const std::string_view fwd = out.headers.Get("forwarded");
  Check(fwd.size() >= element.size() && fwd.substr(fwd.size() - element.size()) == element,
        "Forwarded does not end with gw7's element");

  // Safe extra fields, in order, after the client's.
  size_t at = kept.size();
  for (const auto* extra : {&route_headers, &add_headers}) {
    for (const auto& [name, value] : *extra) {
      if (!edge::l7::IsSafeExtraField(name, value) || IsGatewayOwned(name) ||
          edge::http::IsHopByHopField(name) || EqualsIgnoreCase(name, "host")) {
        continue;
      }
      while (at < out.headers.size() &&
             !(out.headers[at].name == name && out.headers[at].value == TrimOws(value))) {
        ++at;
      }
      Check(at < out.headers.size(), "an extra field was lost or reordered");
      ++at;
    }
  }
}

constexpr std::string_view kResponseFieldNames[] = {
    "Content-Type", "X-Request-Id", "Retry-After", "Allow",    "WWW-Authenticate",
    "Set-Cookie",   "Upgrade",      "Vary",        "Trailer",  "Content-Length",
    "Connection",   "x-a",          "Keep-Alive",  "Location", "Cache-Control"};

void ResponseRoundTrip(Input& in) {
  int status = static_cast<int>(in.Byte()) * 3 % 700;
  if (in.Bit()) status = 100 + static_cast<int>(in.Byte()) * 2 % 500;
  std::vector<std::string> storage;
  const int n = in.Byte() % 8;
  for (int i = 0; i < n; ++i) {
    storage.emplace_back(in.Pick(kResponseFieldNames));
    storage.emplace_back(in.Pick(kFieldValues));
  }
  std::vector<HttpHeader> fields;
  for (size_t i = 0; i + 1 < storage.size(); i += 2) fields.push_back({storage[i], storage[i + 1]});
  const std::string body(in.Bit() ? std::string_view() : in.Text());
  edge::http::ResponseOptions options;
  options.keep_alive = in.Bit();
  options.head_request = in.Bit();
  options.client_version = in.Bit() ? HttpVersion::kHttp10 : HttpVersion::kHttp11;

  std::string text = "prefix";
  const auto written = edge::http::AppendResponse(status, fields, body, options, &text);
  if (!written.ok()) {
    Check(text == "prefix", "a refused response appended bytes");
    return;
  }
  text.erase(0, 6);
  HttpLimits loose;
  loose.max_header_bytes = 1 << 20;
  loose.max_headers = 1000;
  loose.max_body_bytes = edge::http::kUnlimitedBody;
  HttpResponse out;
  const Method method = options.head_request ? Method::kHead : Method::kGet;
  const auto result = edge::http::ParseResponseHead(text, loose, method, &out);
  if (!result.complete()) {
    std::fprintf(stderr, "response refused (%.*s):\n%s\n",
                 static_cast<int>(result.error.reason.size()), result.error.reason.data(),
                 text.c_str());
  }
  Check(result.complete(), "the written response does not parse");
  Check(out.status == status, "status changed");
  Check(out.headers.size() >= fields.size(), "response fields lost");
  for (size_t i = 0; i < fields.size(); ++i) {
    Check(out.headers[i].name == fields[i].name && out.headers[i].value == fields[i].value,
          "response field changed, reordered or lost");
  }
  for (size_t i = fields.size(); i < out.headers.size(); ++i) {
    Check(EqualsIgnoreCase(out.headers[i].name, "content-length") ||
              EqualsIgnoreCase(out.headers[i].name, "connection"),
          "the writer added a field other than its framing");
  }
  const bool no_body = status < 200 || status == 204 || status == 304;
  Check(out.headers.Count("content-length") == (no_body ? 0u : 1u),
        "Content-Length present for a bodyless status or missing");
  if (!no_body) {
    Check(out.headers.Get("content-length") == std::to_string(body.size()),
          "Content-Length is not the body's size");
  }
  const std::string_view rest = std::string_view(text).substr(result.consumed);
  if (options.head_request || no_body) {
    Check(out.body.kind == BodyKind::kNone && rest.empty(), "body bytes where none belong");
  } else {
    Check(out.body == (BodyFraming{BodyKind::kContentLength, body.size()}), "framing changed");
    Check(rest == body, "body changed");
  }
  if (status >= 200) Check(out.keep_alive == options.keep_alive, "persistence not as asked");

  const std::string error = edge::http::ErrorResponse(status, body, options.head_request);
  HttpResponse err;
  const auto error_result = edge::http::ParseResponseHead(error, loose, method, &err);
  Check(error_result.complete(), "ErrorResponse does not parse");
  Check(err.status >= 400 && err.status <= 599, "ErrorResponse status out of range");
  Check(!err.keep_alive && err.headers.Get("content-type") == "application/json",
        "ErrorResponse without Connection: close or JSON");
  const std::string_view error_body = std::string_view(error).substr(error_result.consumed);
  Check(options.head_request
            ? error_body.empty()
            : err.headers.Get("content-length") == std::to_string(error_body.size()),
        "ErrorResponse body does not match its Content-Length");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(std::string_view(reinterpret_cast<const char*>(data), size));
  if (in.Bit()) {
    RequestRoundTrip(in);
  } else {
    ResponseRoundTrip(in);
  }
  return 0;
}
