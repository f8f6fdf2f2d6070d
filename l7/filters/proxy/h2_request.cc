#include "l7/filters/proxy/h2_request.h"

#include <string>
#include <utility>
#include <vector>

namespace edge::l7 {
namespace {

bool ForbiddenInHttp2(std::string_view name) {
  return http::EqualsIgnoreCase(name, "connection") || http::EqualsIgnoreCase(name, "keep-alive") ||
         http::EqualsIgnoreCase(name, "proxy-connection") ||
         http::EqualsIgnoreCase(name, "transfer-encoding") ||
         http::EqualsIgnoreCase(name, "upgrade") || http::EqualsIgnoreCase(name, "te") ||
         http::EqualsIgnoreCase(name, "http2-settings");
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

bool OffersTrailers(const http::HttpHeaders& headers) {
  for (const http::HttpHeader& h : headers) {
    if (!http::EqualsIgnoreCase(h.name, "te")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view part = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      part = part.substr(0, part.find(';'));
      if (http::EqualsIgnoreCase(Trim(part), "trailers")) return true;
    }
  }
  return false;
}

bool H2FieldsFromHttp1Head(std::string_view head, std::string_view scheme, bool te_trailers,
                           H2Fields* out) {
  out->Clear();
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return false;
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) return false;
  std::string_view authority;
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  size_t at = eol + 2;
  for (;;) {
    eol = head.find("\r\n", at);
    if (eol == std::string_view::npos) return false;
    if (eol == at) break;  // the blank line
    const std::string_view field = head.substr(at, eol - at);
    at = eol + 2;
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = Trim(field.substr(colon + 1));
    if (http::EqualsIgnoreCase(name, "host")) {
      if (authority.empty()) authority = value;
      continue;
    }
    if (ForbiddenInHttp2(name)) continue;
    fields.emplace_back(name, value);
  }
  out->Add(":method", line.substr(0, sp1));
  out->Add(":scheme", scheme);
  out->Add(":authority", authority);
  out->Add(":path", line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (te_trailers) out->Add("te", "trailers");
  for (const auto& [name, value] : fields) out->Add(name, value);
  return true;
}

}  // namespace edge::l7
