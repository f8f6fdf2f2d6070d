#include "l7/filters/proxy/upstream_request.h"

#include "common/http/chars.h"
#include "common/http/hop_by_hop.h"
#include "l7/filters/field_spelling.h"

namespace edge::l7 {
namespace {

bool Removed(const UpstreamRequestOptions& options, std::string_view name) {
  if (options.remove_headers == nullptr) return false;
  for (const std::string& r : *options.remove_headers) {
    if (SameFieldSpelling(r, name)) return true;
  }
  return false;
}

// Appends every value of `name` in the request joined with ", " (a list field may be split over
// lines); whether there was any.
bool AppendJoinedValues(const http::HttpHeaders& headers, std::string_view name, std::string* out) {
  bool any = false;
  for (const http::HttpHeader& h : headers) {
    if (!http::EqualsIgnoreCase(h.name, name) || h.value.empty()) continue;
    if (any) out->append(", ");
    out->append(h.value);
    any = true;
  }
  return any;
}

// The Forwarded "for" value of an address: 192.0.2.1, or "[2001:db8::1]" quoted as RFC 7239 6
// requires for IPv6; "unknown" without one.
void AppendForwardedFor(const net::SocketAddress* client, std::string* out) {
  if (client == nullptr || !client->valid()) {
    out->append("unknown");
  } else if (client->is_v4()) {
    out->append(client->IpString());
  } else {
    out->append("\"[");
    out->append(client->IpString());
    out->append("]\"");
  }
}

}  // namespace

bool IsGatewayOwnedField(std::string_view name) {
  return http::EqualsIgnoreCase(name, "content-length") ||
         http::EqualsIgnoreCase(name, "transfer-encoding") ||
         http::EqualsIgnoreCase(name, "expect") || http::EqualsIgnoreCase(name, "x-request-id") ||
         http::EqualsIgnoreCase(name, "x-forwarded-for") ||
         http::EqualsIgnoreCase(name, "forwarded") ||
         http::EqualsIgnoreCase(name, "x-forwarded-proto");
}

// Whether gw7 keeps (or appends to) this field of options.strip rather than dropping it: a valid
// client X-Request-Id is kept as the request's id, and a trusted client's X-Forwarded-For and
// Forwarded are appended to. Only asked for fields in the set: off the common path.
bool KeptByGateway(const UpstreamRequestOptions& options, std::string_view name) {
  if (http::EqualsIgnoreCase(name, "x-request-id")) return true;
  return options.trusted_client && (http::EqualsIgnoreCase(name, "x-forwarded-for") ||
                                    http::EqualsIgnoreCase(name, "forwarded"));
}

UpstreamHeadReport AppendUpstreamRequestHead(const http::HttpRequest& request,
                                             const UpstreamRequestOptions& options,
                                             std::string* out) {
  UpstreamHeadReport report;
  out->append(options.method.empty() ? request.method_name : options.method);
  out->push_back(' ');
  if (request.target_form == http::TargetForm::kAsterisk) {
    out->push_back('*');
  } else {
    out->append(options.path.empty() ? std::string_view("/") : options.path);
    std::string_view query = options.query != nullptr ? *options.query : request.query;
    if (!query.empty()) {
      out->push_back('?');
      out->append(query);
    }
  }
  out->append(" HTTP/1.1\r\n");

  bool has_host = false;
  http::HopByHopFilter hop(request.headers);
  for (const http::HttpHeader& h : request.headers) {
    if (options.upgrade && http::EqualsIgnoreCase(h.name, "upgrade")) {
      if (options.allow_h2c) {
        AppendField(out, h.name, h.value);
        continue;
      }
      const size_t start = out->size();
      out->append(h.name);
      out->append(": ");
      const size_t value_start = out->size();
      AppendUpgradeWithoutH2c(h.value, out);
      if (out->size() == value_start) {
        out->resize(start);  // only h2c in this field
      } else {
        out->append("\r\n");
      }
      continue;
    }
    if (hop.IsHopByHop(h.name)) continue;
    if (options.strip != nullptr && options.strip->Contains(h.name)) {
      if (!KeptByGateway(options, h.name)) ++report.stripped;
      continue;
    }
    if (IsGatewayOwnedField(h.name) || Removed(options, h.name)) continue;
    if (!options.allow_h2c && http::EqualsIgnoreCase(h.name, "http2-settings")) {
      ++report.stripped;
      continue;
    }
    if (http::EqualsIgnoreCase(h.name, "host")) {
      if (h.value.empty()) continue;
      has_host = true;
    }
    AppendField(out, h.name, h.value);
  }
  if (!has_host) {
    AppendField(out, "Host", !request.authority.empty() ? request.authority : options.default_host);
  }

  // Written in place: this runs for every request, and temporaries would each allocate.
  out->append("X-Forwarded-For: ");
  if (options.trusted_client && !Removed(options, "x-forwarded-for") &&
      AppendJoinedValues(request.headers, "x-forwarded-for", out)) {
    out->append(", ");
  }
  if (options.client != nullptr && options.client->valid()) {
    out->append(options.client->IpString());
  } else {
    out->append("unknown");
  }
  out->append("\r\nForwarded: ");
  if (options.trusted_client && !Removed(options, "forwarded")) {
    const size_t start = out->size();
    if (AppendJoinedValues(request.headers, "forwarded", out)) {
      if (IsValidForwardedList(std::string_view(*out).substr(start))) {
        out->append(", ");
      } else {
        out->resize(start);
        report.forwarded_dropped = true;
      }
    }
  }
  out->append("for=");
  AppendForwardedFor(options.client, out);
  out->append(";proto=");
  out->append(options.proto);
  out->append("\r\n");
  AppendField(out, "X-Forwarded-Proto", options.proto);
  AppendField(out, "X-Request-Id", options.request_id);

  auto append_extra = [&](const std::vector<std::pair<std::string, std::string>>* extra) {
    if (extra == nullptr) return;
    for (const auto& [name, value] : *extra) {
      // Never a second Host (found by fuzz_writers): the upstream would refuse the request or pick
      // another host than the one gw7 routed on.
      if (IsSafeExtraField(name, value) && !IsGatewayOwnedField(name) &&
          !http::IsHopByHopField(name) && !http::EqualsIgnoreCase(name, "host")) {
        AppendField(out, name, value);
      }
    }
  };
  append_extra(options.route_headers);
  append_extra(options.add_headers);

  if (options.upgrade) AppendField(out, "Connection", "Upgrade");

  switch (options.body.kind) {
    case http::BodyKind::kContentLength:
      out->append("Content-Length: ");
      out->append(std::to_string(options.body.length));
      out->append("\r\n");
      break;
    case http::BodyKind::kChunked:
      AppendField(out, "Transfer-Encoding", "chunked");
      break;
    default:
      break;
  }
  out->append("\r\n");
  return report;
}

uint32_t AppendUpstreamLastChunk(const http::HttpHeaders& trailers,
                                 const http::HttpHeaders& request_headers, std::string* out,
                                 const StrippedFieldSet* strip) {
  uint32_t stripped = 0;
  out->append("0\r\n");
  http::HopByHopFilter hop(request_headers);
  for (const http::HttpHeader& t : trailers) {
    if (http::IsForbiddenTrailerField(t.name) || hop.IsHopByHop(t.name)) continue;
    if (strip != nullptr && strip->Contains(t.name)) {
      ++stripped;
      continue;
    }
    if (IsGatewayOwnedField(t.name)) continue;
    AppendField(out, t.name, t.value);
  }
  out->append("\r\n");
  return stripped;
}

}  // namespace edge::l7
