#include "common/http/hop_by_hop.h"

#include "common/http/head_parse.h"

namespace edge::http {

bool IsHopByHopField(std::string_view name) {
  switch (name.size()) {
    case 2:
      return EqualsIgnoreCase(name, "te");
    case 7:
      return EqualsIgnoreCase(name, "trailer") || EqualsIgnoreCase(name, "upgrade");
    case 10:
      return EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "keep-alive");
    case 16:
      return EqualsIgnoreCase(name, "proxy-connection");
    case 17:
      return EqualsIgnoreCase(name, "transfer-encoding");
    default:
      return false;
  }
}

bool IsProtectedFromConnection(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "host");
}

bool ConnectionNamesFraming(const HttpHeaders& headers) {
  for (const HttpHeader& h : headers) {
    if (!EqualsIgnoreCase(h.name, "connection")) continue;
    bool named = false;
    internal::ForEachListElement(h.value, [&](std::string_view option) {
      named = IsProtectedFromConnection(option);
      return !named;
    });
    if (named) return true;
  }
  return false;
}

bool IsForbiddenTrailerField(std::string_view name) {
  static constexpr std::string_view kForbidden[] = {"content-length",
                                                    "transfer-encoding",
                                                    "trailer",
                                                    "host",
                                                    "cache-control",
                                                    "expect",
                                                    "max-forwards",
                                                    "pragma",
                                                    "range",
                                                    "te",
                                                    "authorization",
                                                    "proxy-authorization",
                                                    "www-authenticate",
                                                    "proxy-authenticate",
                                                    "cookie",
                                                    "set-cookie",
                                                    "age",
                                                    "date",
                                                    "expires",
                                                    "location",
                                                    "retry-after",
                                                    "vary",
                                                    "warning",
                                                    "content-encoding",
                                                    "content-type",
                                                    "content-range"};
  if (IsHopByHopField(name)) return true;
  if (name.size() > 3 && EqualsIgnoreCase(name.substr(0, 3), "if-")) return true;
  for (std::string_view f : kForbidden) {
    if (EqualsIgnoreCase(name, f)) return true;
  }
  return false;
}

HopByHopFilter::HopByHopFilter(const HttpHeaders& headers) : headers_(&headers) {
  has_connection_ = headers.Find("connection") != nullptr;
  connection_names_framing_ = has_connection_ && ConnectionNamesFraming(headers);
}

bool HopByHopFilter::IsHopByHop(std::string_view name) const {
  if (IsHopByHopField(name)) return true;
  if (!has_connection_ || IsProtectedFromConnection(name)) return false;
  for (const HttpHeader& h : *headers_) {
    if (!EqualsIgnoreCase(h.name, "connection")) continue;
    bool listed = false;
    internal::ForEachListElement(h.value, [&](std::string_view option) {
      listed = EqualsIgnoreCase(option, name);
      return !listed;
    });
    if (listed) return true;
  }
  return false;
}

}  // namespace edge::http
