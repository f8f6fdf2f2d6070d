#include "l7/filters/transform/cors_origin.h"

#include <charconv>

namespace edge::l7 {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A DNS name or IPv4 address as browsers serialise hosts: labels of letters, digits and '-'
// (not at a label's ends), 1..63 bytes each, separated by single dots, no trailing dot.
bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : host) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (IsAlpha(c) || IsDigit(c) || c == '-') {
      if (label == 0 && c == '-') return false;
      if (++label > 63) return false;
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool IsIpv6Literal(std::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  for (char c : host.substr(1, host.size() - 2)) {
    if (!(IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f') || c == ':' || c == '.')) {
      return false;
    }
  }
  return true;
}

uint16_t DefaultPort(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "https" || scheme == "wss") return 443;
  return 0;
}

}  // namespace

std::optional<CorsOrigin> ParseOrigin(std::string_view text, bool allow_wildcard) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  CorsOrigin o;
  for (size_t i = 0; i < sep; ++i) {
    const char c = text[i];
    const bool ok = IsAlpha(c) || (i > 0 && (IsDigit(c) || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::nullopt;
    o.scheme.push_back(Lower(c));
  }
  std::string_view rest = text.substr(sep + 3);
  // Host and optional port: the port is after the last ':' outside an IPv6 literal.
  std::string_view host = rest;
  std::string_view port;
  const size_t bracket = rest.rfind(']');
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5) return std::nullopt;
    if (port.size() > 1 && port.front() == '0') return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
    o.port = static_cast<uint16_t>(value);
  } else {
    o.port = DefaultPort(o.scheme);
  }
  std::string_view name = host;
  const bool wildcard = allow_wildcard && host.starts_with("*.");
  if (wildcard) name = host.substr(2);
  if (!IsHostName(name) && !(!wildcard && IsIpv6Literal(name))) return std::nullopt;
  o.host.reserve(host.size());
  for (char c : host) o.host.push_back(Lower(c));
  return o;
}

bool OriginMatches(const CorsOrigin& allowed, const CorsOrigin& request) {
  if (allowed.scheme != request.scheme || allowed.port != request.port) return false;
  if (!allowed.host.starts_with("*.")) return allowed.host == request.host;
  const std::string_view suffix = std::string_view(allowed.host).substr(1);  // ".example.com"
  return request.host.size() > suffix.size() && request.host.ends_with(suffix) &&
         !request.host.starts_with("*");
}

}  // namespace edge::l7
