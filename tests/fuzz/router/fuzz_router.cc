// Fuzz target: gw7's path normalisation and routing (l7/router/path_normalizer.h, router.h)
// against a model of how a lenient backend reads the ORIGINAL request path. The property is the
// one issue 11 is about: routing sees what the upstream will act on. With a protected prefix
// route ("/admin", auth) and a "/" catch-all, whenever the backend's reading of the path falls
// inside "/admin", gw7 must have refused the request (400 from the normaliser, 404, 405) or routed
// it to the protected route; anything else aborts. The same for a host-bound protected route, to
// cover host normalisation (case, trailing dot).
//
// Input: byte 0 selects the options (bit 0: escaped_slashes = keep, bit 1: merge_slashes =
// false, bit 2: path_parameters = strip, bit 3: the backend folds case); the rest is the path,
// optionally followed by '\n' and the host.
//
// The backend model, for the options the gateway is configured for (an upstream that gives "%2F"
// or "//" a meaning is what escaped_slashes = keep and merge_slashes = false exist for, so the
// model then keeps them): ";..." dropped from every segment (servlet containers), every escape
// decoded once (but %2F/%5C under "keep"), '\' read as '/', slashes merged (unless not merging),
// "." and ".." resolved, ASCII case folded (bit 3).
//
// Also checked: normalising is idempotent, and the backend reads the forwarded (normalised) path
// exactly as it reads the original.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "l7/config/gateway_config.h"
#include "l7/router/path_normalizer.h"
#include "l7/router/router.h"

namespace {

using edge::l7::EscapedSlashes;
using edge::l7::PathMatch;
using edge::l7::PathNormalization;
using edge::l7::PathParameters;
using edge::l7::PathRefusal;
using edge::l7::RouteConfig;
using edge::l7::RouteMatch;
using edge::l7::Router;

void Check(bool condition) {
  if (!condition) std::abort();
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// How the backend reads `path` (see the header comment).
std::string BackendReading(std::string_view path, const PathNormalization& options, bool fold) {
  const bool keep = options.escaped_slashes == EscapedSlashes::kKeep;
  // Split on '/' (and '\'), then per segment: drop ";...", decode.
  std::vector<std::string> segments;
  std::string current;
  bool in_params = false;
  bool started = false;
  auto flush = [&] {
    if (started) segments.push_back(current);
    current.clear();
    in_params = false;
    started = true;
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '/' || c == '\\') {
      flush();
      continue;
    }
    if (c == ';') in_params = true;
    if (in_params) continue;
    if (c == '%' && i + 2 < path.size() && Hex(path[i + 1]) >= 0 && Hex(path[i + 2]) >= 0) {
      const char v = static_cast<char>(Hex(path[i + 1]) * 16 + Hex(path[i + 2]));
      i += 2;
      if (keep && (v == '/' || v == '\\')) {
        current += v == '/' ? "%2F" : "%5C";  // kept as data, in one spelling
      } else if (v == '/' || v == '\\') {
        flush();  // decoded after splitting would hide it; the lenient reading splits
      } else {
        current += v;
      }
      continue;
    }
    current += c;
  }
  flush();
  std::vector<std::string> out;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& s = segments[i];
    const bool last = i + 1 == segments.size();
    if (s == ".") {
      if (last) out.emplace_back();
      continue;
    }
    if (s == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
      continue;
    }
    if (s.empty() && options.merge_slashes && !last) continue;
    if (s.empty() && options.merge_slashes && last && !out.empty() && out.back().empty()) continue;
    out.push_back(s);
  }
  std::string reading;
  for (const std::string& s : out) {
    reading += '/';
    reading += s;
  }
  if (reading.empty()) reading.push_back('/');
  if (fold) {
    for (char& c : reading) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return reading;
}

bool Inside(std::string_view reading, std::string_view prefix) {
  return reading == prefix || (reading.starts_with(prefix) && reading.size() > prefix.size() &&
                               reading[prefix.size()] == '/');
}

std::string LowerHost(std::string_view host) {
  std::string h(host);
  for (char& c : h) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

const Router& TheRouter() {
  static const std::unique_ptr<Router> router = [] {
    auto route = [](std::string name, std::string host, PathMatch kind, std::string path,
                    std::string auth) {
      RouteConfig r;
      r.name = std::move(name);
      r.host = std::move(host);
      r.path_kind = kind;
      r.path = std::move(path);
      r.auth = std::move(auth);
      r.upstream.assign(1, 'u');
      return r;
    };
    auto built = Router::Build({
        route("admin", "", PathMatch::kPrefix, "/admin", "users"),
        route("internal", "api.example.com", PathMatch::kPrefix, "/internal", "users"),
        route("public-catalog", "", PathMatch::kTemplate, "/catalog/{id}", ""),
        route("all", "", PathMatch::kPrefix, "/", ""),
    });
    Check(built.ok());
    return *std::move(built);
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string_view host = "www.example.com";
  if (size_t nl = rest.find('\n'); nl != std::string_view::npos) {
    host = rest.substr(nl + 1);
    rest = rest.substr(0, nl);
  }
  const std::string_view path = rest;
  PathNormalization options;
  if (flags & 1) options.escaped_slashes = EscapedSlashes::kKeep;
  if (flags & 2) options.merge_slashes = false;
  if (flags & 4) options.path_parameters = PathParameters::kStrip;
  const bool fold = (flags & 8) != 0;

  std::string buffer;
  std::string_view normalised;
  const PathRefusal refusal = edge::l7::NormalizePath(path, options, &buffer, &normalised);
  if (refusal != PathRefusal::kNone) return 0;  // 400: refused, whatever the backend reads
  if (path.empty()) return 0;                   // asterisk-form: no path to route

  // Idempotent, and meaning-preserving for the backend.
  std::string again_buffer;
  std::string_view again;
  Check(edge::l7::NormalizePath(normalised, options, &again_buffer, &again) == PathRefusal::kNone);
  Check(again == normalised);
  const std::string reading = BackendReading(path, options, fold);
  Check(BackendReading(normalised, options, fold) == reading);

  auto no_headers = [](std::string_view) { return std::optional<std::string_view>(); };
  const RouteMatch m = TheRouter().Match(host, normalised, "GET", no_headers);
  const std::string routed = m.outcome == RouteMatch::kMatched ? m.route->name : std::string();
  if (Inside(reading, "/admin")) {
    Check(m.outcome != RouteMatch::kMatched || routed == "admin");
  }
  if (LowerHost(host) == "api.example.com" && Inside(reading, "/internal")) {
    Check(m.outcome != RouteMatch::kMatched || routed == "internal");
  }
  if (m.outcome == RouteMatch::kMatched) {
    Check(m.upstream_path == normalised);  // no rewrite configured: forwarded as normalised
  }
  return 0;
}
