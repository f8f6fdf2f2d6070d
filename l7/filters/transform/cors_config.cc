#include "l7/filters/transform/cors_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/http/chars.h"

namespace edge::l7 {
namespace {

bool IsToken(std::string_view s) {
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), http::internal::IsTchar);
}

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

}  // namespace

bool ReadCorsConfig(config::TableReader& route, CorsConfig* out) {
  const toml::table* table = route.ReadTable("cors");
  if (table == nullptr) return false;
  config::TableReader r(
      *table, route.errors(), route.context(),
      {"origins", "methods", "headers", "expose_headers", "credentials", "max_age"}, "cors.");
  CorsConfig c;
  r.ReadBool("credentials", &c.credentials);
  std::vector<std::string> origins;
  if (r.Require("origins") && r.ReadStringArray("origins", &origins)) {
    if (origins.empty()) r.Error("origins", "must list at least one origin (or \"*\")");
    for (const std::string& text : origins) {
      if (text == "*") {
        c.any_origin = true;
        continue;
      }
      if (text == "null") {
        r.Error("origins",
                "\"null\" cannot be allowed: sandboxed iframes and file: pages of any site send "
                "Origin: null");
        continue;
      }
      std::optional<CorsOrigin> o = ParseOrigin(text, /*allow_wildcard=*/true);
      if (!o) {
        r.Error("origins", absl::StrFormat("%s is not an origin: scheme://host[:port] without a "
                                           "path or trailing slash, e.g. "
                                           "\"https://shop.example.com\" or "
                                           "\"https://*.example.com\"",
                                           config::Quote(text)));
        continue;
      }
      c.origins.push_back(std::move(*o));
    }
    if (c.any_origin && origins.size() > 1) {
      r.Error("origins", "\"*\" allows every origin; list it alone or list origins");
    }
    if (c.any_origin && c.credentials) {
      r.Error("origins",
              "\"*\" with credentials = true is refused: any site could read responses made "
              "with the user's cookies (list the origins)");
    }
  }
  std::vector<std::string> methods;
  if (r.ReadStringArray("methods", &methods)) {
    for (const std::string& m : methods) {
      if (!IsToken(m)) {
        r.Error("methods", absl::StrFormat("not a method: %s", config::Quote(m)));
      } else {
        c.methods.push_back(absl::StrFormat("%s", m));
      }
    }
    if (methods.empty()) r.Error("methods", "must list at least one method");
  } else {
    c.methods = {"GET", "HEAD", "POST"};
  }
  std::vector<std::string> headers;
  if (r.ReadStringArray("headers", &headers)) {
    for (const std::string& h : headers) {
      if (h == "*") {
        c.any_header = true;
      } else if (!IsToken(h)) {
        r.Error("headers", absl::StrFormat("not a header name: %s", config::Quote(h)));
      } else {
        c.headers.push_back(LowerCopy(h));
      }
    }
    if (c.any_header && c.credentials) {
      r.Error("headers", "\"*\" with credentials = true is refused (list the headers)");
    }
  }
  std::vector<std::string> expose;
  if (r.ReadStringArray("expose_headers", &expose)) {
    for (const std::string& h : expose) {
      if (!IsToken(h)) {
        r.Error("expose_headers", absl::StrFormat("not a header name: %s", config::Quote(h)));
      } else {
        c.expose_headers.push_back(h);
      }
    }
  }
  absl::Duration max_age;
  if (r.ReadDuration("max_age", &max_age, absl::ZeroDuration(), absl::Hours(24))) {
    c.max_age = max_age;
  }
  *out = std::move(c);
  return true;
}

}  // namespace edge::l7
