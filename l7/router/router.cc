#include "l7/router/router.h"

#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"

namespace edge::l7 {
namespace {

// Path segments as views into the request path; inline so that matching does not allocate for
// ordinary paths.
using Segments = absl::InlinedVector<std::string_view, 16>;

// Heterogeneous lookup: find a std::string key by std::string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, std::vector<int>, StringHash, std::equal_to<>>;

// One segment of a path template: a literal to compare, or a capture of one non-empty segment.
struct TemplateSegment {
  bool capture = false;
  std::string text;  // the literal, or the capture's name
};

std::vector<TemplateSegment> ParseTemplate(std::string_view path_template) {
  std::vector<TemplateSegment> segments;
  std::string_view rest = path_template.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view s = rest.substr(0, slash);
    if (s.size() >= 2 && s.front() == '{') {
      segments.push_back({true, std::string(s.substr(1, s.size() - 2))});
    } else {
      segments.push_back({false, std::string(s)});
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return segments;
}

// Splits "/a/b/" into {"a", "b", ""} (the leading '/' is dropped) into `out`, reusing its memory.
// The request path always starts with '/' when it comes from the parser (origin-form); a path
// that does not is compared as is after the first character.
void SplitSegments(std::string_view path, Segments* out) {
  out->clear();
  std::string_view rest = path.empty() ? path : path.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    out->push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
}

bool IsUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// A route prepared for matching.
struct CompiledRoute {
  int index = 0;
  const RouteConfig* config = nullptr;
  int constraints = 0;  // methods list (1) + header matches
  std::vector<TemplateSegment> segments;
  int literal_segments = 0;
  std::unique_ptr<RE2> regex;
};

// The routes sharing one host pattern, by path kind, each list already in precedence order.
struct HostGroup {
  StringMap exact;     // path -> routes
  StringMap prefixes;  // prefix -> routes
  // Templates by segment count; within one count, in precedence order.
  std::unordered_map<size_t, std::vector<int>> templates;
  std::vector<int> regexes;
  std::vector<int> any;
};

}  // namespace

struct Router::Index {
  std::vector<CompiledRoute> routes;
  std::unordered_map<std::string, HostGroup, StringHash, std::equal_to<>> exact_hosts;
  // ".example.com" for "*.example.com", longest suffix first.
  std::vector<std::pair<std::string, HostGroup>> wildcard_hosts;
  HostGroup any_host;
};

namespace {

// Visits the routes of `group` that match `path`, most specific first, until `visit` returns
// true. `visit(route_index, captures)` gets the template captures (segment values) when the
// route is a template.
template <typename Visit>
bool VisitPathMatches(const std::vector<CompiledRoute>& routes, const HostGroup& group,
                      std::string_view path, Segments& segments, Visit&& visit) {
  static const Segments kNoCaptures;
  if (!group.exact.empty()) {
    if (auto it = group.exact.find(path); it != group.exact.end()) {
      for (int r : it->second) {
        if (visit(r, kNoCaptures)) return true;
      }
    }
  }
  if (!group.templates.empty()) {
    SplitSegments(path, &segments);
    if (auto it = group.templates.find(segments.size()); it != group.templates.end()) {
      for (int r : it->second) {
        const std::vector<TemplateSegment>& t = routes[static_cast<size_t>(r)].segments;
        bool ok = true;
        for (size_t i = 0; ok && i < t.size(); ++i) {
          ok = t[i].capture ? !segments[i].empty() : t[i].text == segments[i];
        }
        if (ok && visit(r, segments)) return true;
      }
    }
  }
  if (!group.prefixes.empty()) {
    // The prefixes that can match end at a segment boundary of the path: the whole path, or just
    // before or just after a '/'. Trying those lengths from the longest down finds the longest
    // matching prefix with one hash lookup per candidate, whatever the number of routes.
    size_t last = std::string_view::npos;
    auto try_length = [&](size_t length) {
      if (length == 0 || length == last) return false;
      last = length;
      auto it = group.prefixes.find(path.substr(0, length));
      if (it == group.prefixes.end()) return false;
      for (int r : it->second) {
        if (visit(r, kNoCaptures)) return true;
      }
      return false;
    };
    if (try_length(path.size())) return true;
    for (size_t i = path.size(); i-- > 0;) {
      if (path[i] != '/') continue;
      if (try_length(i + 1) || try_length(i)) return true;
    }
  }
  for (int r : group.regexes) {
    if (RE2::FullMatch(path, *routes[static_cast<size_t>(r)].regex) && visit(r, kNoCaptures)) {
      return true;
    }
  }
  for (int r : group.any) {
    if (visit(r, kNoCaptures)) return true;
  }
  return false;
}

bool HeadersMatch(const RouteConfig& route,
                  absl::FunctionRef<std::optional<std::string_view>(std::string_view)> header) {
  for (const HeaderMatch& m : route.headers) {
    std::optional<std::string_view> value = header(m.name);
    if (!value) return false;
    if (m.value && *value != *m.value) return false;
  }
  return true;
}

bool MethodMatches(const RouteConfig& route, std::string_view method) {
  if (route.methods.empty()) return true;
  for (const std::string& m : route.methods) {
    if (m == method) return true;
    // HEAD is GET without the body (RFC 9110 9.3.2): a route that serves GET serves HEAD.
    if (method == "HEAD" && m == "GET") return true;
  }
  return false;
}

std::string UpstreamPath(const RouteConfig& route, std::string_view path) {
  if (!route.strip_prefix.empty()) {
    const std::string& strip = route.strip_prefix;
    if (path.starts_with(strip) && (path.size() == strip.size() || path[strip.size()] == '/')) {
      std::string out(path.substr(strip.size()));
      return out.empty() ? std::string("/") : out;
    }
    return std::string(path);
  }
  if (!route.prefix_rewrite.empty() && route.path_kind == PathMatch::kPrefix) {
    // Work on the prefix without its trailing '/', so that the rest starts with '/' (or is empty)
    // and "/api/" -> "/v2" maps "/api/x" to "/v2/x", not "/v2x".
    std::string_view base = route.path;
    if (base.ends_with('/')) base.remove_suffix(1);
    if (!path.starts_with(base)) return std::string(path);
    const std::string_view rest = path.substr(base.size());
    if (rest.empty()) return route.prefix_rewrite;
    std::string_view rewrite = route.prefix_rewrite;
    if (rewrite.ends_with('/')) rewrite.remove_suffix(1);
    std::string out;
    out.reserve(rewrite.size() + rest.size());
    out.append(rewrite);
    out.append(rest);
    return out;
  }
  return std::string(path);
}

// Precedence inside one list: more constraints first, then config order.
void SortByConstraints(std::vector<int>& list, const std::vector<CompiledRoute>& routes) {
  std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
    const CompiledRoute& ra = routes[static_cast<size_t>(a)];
    const CompiledRoute& rb = routes[static_cast<size_t>(b)];
    if (ra.constraints != rb.constraints) return ra.constraints > rb.constraints;
    return a < b;
  });
}

void SortGroup(HostGroup& group, const std::vector<CompiledRoute>& routes) {
  for (auto& [path, list] : group.exact) SortByConstraints(list, routes);
  for (auto& [prefix, list] : group.prefixes) SortByConstraints(list, routes);
  for (auto& [count, list] : group.templates) {
    SortByConstraints(list, routes);
    std::stable_sort(list.begin(), list.end(), [&](int a, int b) {
      return routes[static_cast<size_t>(a)].literal_segments >
             routes[static_cast<size_t>(b)].literal_segments;
    });
  }
  SortByConstraints(group.regexes, routes);
  SortByConstraints(group.any, routes);
}

}  // namespace

Router::Router() : index_(std::make_unique<Index>()) {}
Router::~Router() = default;

absl::StatusOr<std::unique_ptr<Router>> Router::Build(std::vector<RouteConfig> routes) {
  std::unique_ptr<Router> router(new Router());
  router->routes_ = std::move(routes);
  Index& index = *router->index_;
  index.routes.resize(router->routes_.size());
  for (size_t i = 0; i < router->routes_.size(); ++i) {
    const RouteConfig& config = router->routes_[i];
    CompiledRoute& route = index.routes[i];
    route.index = static_cast<int>(i);
    route.config = &config;
    route.constraints = (config.methods.empty() ? 0 : 1) + static_cast<int>(config.headers.size());
    auto invalid = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrFormat("route %d (\"%s\"): %s", i, config.name, why));
    };
    for (const std::string& m : config.methods) {
      if (m.empty()) return invalid("empty method");
    }
    for (const HeaderMatch& h : config.headers) {
      if (h.name.empty() || IsUpper(h.name)) return invalid("header names must be lower case");
    }

    HostGroup* group = &index.any_host;
    if (config.host.starts_with("*.")) {
      if (config.host.size() < 3 || IsUpper(config.host)) {
        return invalid("host must be lower case \"*.suffix\"");
      }
      const std::string suffix = config.host.substr(1);
      auto it = std::find_if(index.wildcard_hosts.begin(), index.wildcard_hosts.end(),
                             [&](const auto& entry) { return entry.first == suffix; });
      if (it == index.wildcard_hosts.end()) {
        index.wildcard_hosts.emplace_back(suffix, HostGroup{});
        it = index.wildcard_hosts.end() - 1;
      }
      group = &it->second;
    } else if (!config.host.empty()) {
      if (IsUpper(config.host)) return invalid("host must be lower case");
      group = &index.exact_hosts[config.host];
    }

    switch (config.path_kind) {
      case PathMatch::kAny:
        group->any.push_back(route.index);
        break;
      case PathMatch::kExact:
        if (!config.path.starts_with('/')) return invalid("path must start with '/'");
        group->exact[config.path].push_back(route.index);
        break;
      case PathMatch::kPrefix:
        if (!config.path.starts_with('/')) return invalid("path_prefix must start with '/'");
        group->prefixes[config.path].push_back(route.index);
        break;
      case PathMatch::kTemplate: {
        if (absl::Status s = ValidatePathTemplate(config.path); !s.ok()) {
          return invalid(std::string(s.message()));
        }
        route.segments = ParseTemplate(config.path);
        for (const TemplateSegment& s : route.segments) route.literal_segments += !s.capture;
        group->templates[route.segments.size()].push_back(route.index);
        break;
      }
      case PathMatch::kRegex: {
        RE2::Options options;
        options.set_log_errors(false);
        route.regex = std::make_unique<RE2>(config.path, options);
        if (!route.regex->ok()) {
          return invalid(absl::StrFormat("path_regex: %s", route.regex->error()));
        }
        group->regexes.push_back(route.index);
        break;
      }
    }
  }
  // A longer suffix is more specific: "*.eu.example.com" before "*.example.com".
  std::stable_sort(index.wildcard_hosts.begin(), index.wildcard_hosts.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (auto& [host, group] : index.exact_hosts) SortGroup(group, index.routes);
  for (auto& [suffix, group] : index.wildcard_hosts) SortGroup(group, index.routes);
  SortGroup(index.any_host, index.routes);
  return router;
}

RouteMatch Router::Match(
    std::string_view host, std::string_view path, std::string_view method,
    absl::FunctionRef<std::optional<std::string_view>(std::string_view)> header) const {
  const Index& index = *index_;
  // Host names compare case-insensitively (RFC 9110 4.2.3); an absolute FQDN's trailing dot
  // names the same host.
  std::string lowered;
  if (IsUpper(host)) {
    lowered.assign(host);
    for (char& c : lowered) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    host = lowered;
  }
  if (host.ends_with('.')) host.remove_suffix(1);

  // The host groups that apply, most specific first.
  const HostGroup* groups[2 + 16];
  size_t group_count = 0;
  if (auto it = index.exact_hosts.find(host); it != index.exact_hosts.end()) {
    groups[group_count++] = &it->second;
  }
  for (const auto& [suffix, group] : index.wildcard_hosts) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) {
      groups[group_count++] = &group;
      if (group_count == 17) break;  // bounded: deeper wildcards than this are not useful
    }
  }
  groups[group_count++] = &index.any_host;

  RouteMatch result;
  Segments segments;
  const CompiledRoute* winner = nullptr;
  const Segments* winner_captures = nullptr;
  Segments captures_copy;
  bool method_mismatch = false;
  auto visit = [&](int r, const Segments& captures) {
    const CompiledRoute& route = index.routes[static_cast<size_t>(r)];
    if (!HeadersMatch(*route.config, header)) return false;
    if (!MethodMatches(*route.config, method)) {
      method_mismatch = true;
      return false;
    }
    winner = &route;
    if (!captures.empty()) {
      captures_copy = captures;
      winner_captures = &captures_copy;
    }
    return true;
  };
  for (size_t g = 0; g < group_count && winner == nullptr; ++g) {
    VisitPathMatches(index.routes, *groups[g], path, segments, visit);
  }

  if (winner != nullptr) {
    const RouteConfig& config = *winner->config;
    result.outcome = RouteMatch::kMatched;
    result.route = &config;
    result.route_index = winner->index;
    result.upstream_path = UpstreamPath(config, path);
    if (winner_captures != nullptr) {
      for (size_t i = 0; i < winner->segments.size(); ++i) {
        if (winner->segments[i].capture) {
          result.params.emplace_back(winner->segments[i].text, std::string((*winner_captures)[i]));
        }
      }
    }
    return result;
  }
  if (!method_mismatch) return result;

  // 405: the union of the methods of every route that matched all but the method.
  std::set<std::string> allowed;
  auto collect = [&](int r, const Segments&) {
    const RouteConfig& config = *index.routes[static_cast<size_t>(r)].config;
    if (HeadersMatch(config, header)) {
      for (const std::string& m : config.methods) {
        allowed.insert(m);
        if (m == "GET") allowed.insert("HEAD");
      }
    }
    return false;
  };
  for (size_t g = 0; g < group_count; ++g) {
    VisitPathMatches(index.routes, *groups[g], path, segments, collect);
  }
  result.outcome = RouteMatch::kMethodNotAllowed;
  for (const std::string& m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += m;
  }
  return result;
}

}  // namespace edge::l7
