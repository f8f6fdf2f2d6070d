#include "l7/router/router.h"

#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_map>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

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

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void LowerInPlace(std::string& s) {
  for (char& c : s) c = ToLower(c);
}

// `literal` is already lower case.
bool EqualsFolded(std::string_view literal, std::string_view s) {
  if (literal.size() != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (ToLower(s[i]) != literal[i]) return false;
  }
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix, bool fold) {
  if (s.size() < prefix.size()) return false;
  if (!fold) return s.starts_with(prefix);
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (ToLower(s[i]) != ToLower(prefix[i])) return false;
  }
  return true;
}

// A route prepared for matching.
struct CompiledRoute {
  int index = 0;
  const RouteConfig* config = nullptr;
  int constraints = 0;  // methods list (1) + header matches
  bool fold = false;    // compares case-insensitively; its literals are stored lower case
  std::vector<TemplateSegment> segments;
  int literal_segments = 0;
  std::unique_ptr<RE2> regex;
};

// The routes sharing one host pattern, by path kind, each list already in precedence order.
// Case-folding routes sit in the *_folded maps under lower-case keys, looked up with the
// lower-cased path.
struct HostGroup {
  StringMap exact;  // path -> routes
  StringMap exact_folded;
  StringMap prefixes;  // prefix -> routes
  StringMap prefixes_folded;
  // Templates by segment count; within one count, in precedence order.
  std::unordered_map<size_t, std::vector<int>> templates;
  std::vector<int> regexes;
  std::vector<int> any;
};

// One routing table: the routes as configured, or all of them case-folded (Router::folded_).
struct RoutingTable {
  std::vector<CompiledRoute> routes;
  std::unordered_map<std::string, HostGroup, StringHash, std::equal_to<>> exact_hosts;
  // ".example.com" for "*.example.com", longest suffix first.
  std::vector<std::pair<std::string, HostGroup>> wildcard_hosts;
  HostGroup any_host;
  bool folds = false;  // some route folds case: matching needs the lower-cased path
};

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
  // A route with a CORS policy takes OPTIONS: its CorsFilter answers preflights and refuses any
  // other OPTIONS the route's methods do not allow.
  if (route.cors && method == "OPTIONS") return true;
  for (const std::string& m : route.methods) {
    if (m == method) return true;
    // HEAD is GET without the body (RFC 9110 9.3.2): a route that serves GET serves HEAD.
    if (method == "HEAD" && m == "GET") return true;
  }
  return false;
}

// The request as the matcher sees it.
struct Request {
  std::string_view path;
  std::string_view folded_path;  // lower-cased path; set when the table folds
  std::string_view method;
  absl::FunctionRef<std::optional<std::string_view>(std::string_view)> header;
};

// The outcome of matching one request against one table.
struct Decision {
  const CompiledRoute* winner = nullptr;
  Segments captures;  // the winner's template captures (views into the path)
  bool hit = false;   // some route of the deciding level matched path and headers
  // The routes of the deciding level that matched all but the method (for 405's Allow).
  absl::InlinedVector<int, 8> refused;
};

// Walks the specificity levels of one host group (router.h, precedence 2) until one decides.
class GroupMatcher {
 public:
  GroupMatcher(const RoutingTable& table, const Request& request, Decision* decision)
      : table_(table), request_(request), decision_(*decision) {}

  // True when the group decided the request: a winner, or a level whose routes all refused the
  // method (405; never falls through to a less specific level or host group).
  bool Run(const HostGroup& g) {
    const std::string_view path = request_.path;
    if (!g.exact.empty() || !g.exact_folded.empty()) {
      if (ExactLevel(g, path.size())) return true;
      // Trailing slash: "/status/" is the exact route "/status" (unless that ends with '/').
      if (path.size() > 1 && path.back() == '/' && path[path.size() - 2] != '/' &&
          ExactLevel(g, path.size() - 1)) {
        return true;
      }
    }
    if (!g.templates.empty()) {
      SplitSegments(path, &segments_);
      if (TemplateLevels(g, segments_.size(), false)) return true;
      if (segments_.size() > 1 && segments_.back().empty() &&
          TemplateLevels(g, segments_.size() - 1, true)) {
        return true;
      }
    }
    if (!g.prefixes.empty() || !g.prefixes_folded.empty()) {
      // The prefixes that can match end at a segment boundary of the path: the whole path, or
      // just before or just after a '/'. Trying those lengths from the longest down finds the
      // longest matching prefix with one hash lookup per candidate, whatever the number of
      // routes.
      size_t last = std::string_view::npos;
      auto try_length = [&](size_t length) {
        if (length == 0 || length == last) return false;
        last = length;
        return OfferMerged(Find(g.prefixes, path.substr(0, length)),
                           FindFolded(g.prefixes_folded, length)) ||
               decision_.hit;
      };
      if (try_length(path.size())) return true;
      for (size_t i = path.size(); i-- > 0;) {
        if (path[i] != '/') continue;
        if (try_length(i + 1) || try_length(i)) return true;
      }
    }
    if (!g.regexes.empty()) {
      for (int r : g.regexes) {
        if (RE2::FullMatch(path, *Route(r).regex) && Offer(r, kNoCaptures)) return true;
      }
      if (decision_.hit) return true;
    }
    for (int r : g.any) {
      if (Offer(r, kNoCaptures)) return true;
    }
    return decision_.hit;
  }

 private:
  static inline const Segments kNoCaptures;

  const CompiledRoute& Route(int r) const { return table_.routes[static_cast<size_t>(r)]; }

  static const std::vector<int>* Find(const StringMap& map, std::string_view key) {
    if (map.empty()) return nullptr;
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }
  const std::vector<int>* FindFolded(const StringMap& map, size_t length) const {
    if (map.empty()) return nullptr;
    return Find(map, request_.folded_path.substr(0, length));
  }

  // Offers route r at the current level; true when it wins.
  bool Offer(int r, const Segments& captures) {
    const CompiledRoute& route = Route(r);
    if (!HeadersMatch(*route.config, request_.header)) return false;
    decision_.hit = true;
    if (!MethodMatches(*route.config, request_.method)) {
      decision_.refused.push_back(r);
      return false;
    }
    decision_.winner = &route;
    decision_.captures = captures;
    return true;
  }

  // Offers the routes of two lists (each in precedence order) merged into precedence order.
  bool OfferMerged(const std::vector<int>* a, const std::vector<int>* b) {
    size_t i = 0;
    size_t j = 0;
    const size_t na = a == nullptr ? 0 : a->size();
    const size_t nb = b == nullptr ? 0 : b->size();
    while (i < na || j < nb) {
      int r;
      if (j == nb) {
        r = (*a)[i++];
      } else if (i == na) {
        r = (*b)[j++];
      } else {
        const CompiledRoute& x = Route((*a)[i]);
        const CompiledRoute& y = Route((*b)[j]);
        const bool x_first =
            x.constraints != y.constraints ? x.constraints > y.constraints : x.index < y.index;
        r = x_first ? (*a)[i++] : (*b)[j++];
      }
      if (Offer(r, kNoCaptures)) return true;
    }
    return false;
  }

  // The exact routes for the first `length` bytes of the path.
  bool ExactLevel(const HostGroup& g, size_t length) {
    return OfferMerged(Find(g.exact, request_.path.substr(0, length)),
                       FindFolded(g.exact_folded, length)) ||
           decision_.hit;
  }

  // The templates of `count` segments against the first `count` segments of the path; each
  // number of literal segments is a level. `trailing`: the path has one more, empty, segment,
  // which a template ending with '/' does not absorb.
  bool TemplateLevels(const HostGroup& g, size_t count, bool trailing) {
    auto it = g.templates.find(count);
    if (it == g.templates.end()) return false;
    int level = -1;
    for (int r : it->second) {
      const CompiledRoute& route = Route(r);
      if (route.literal_segments != level) {
        if (decision_.hit) return true;
        level = route.literal_segments;
      }
      const std::vector<TemplateSegment>& t = route.segments;
      if (trailing && !t.back().capture && t.back().text.empty()) continue;
      bool ok = true;
      for (size_t i = 0; ok && i < t.size(); ++i) {
        if (t[i].capture) {
          ok = !segments_[i].empty();
        } else {
          ok = route.fold ? EqualsFolded(t[i].text, segments_[i]) : t[i].text == segments_[i];
        }
      }
      if (ok && Offer(r, segments_)) return true;
    }
    return decision_.hit;
  }

  const RoutingTable& table_;
  const Request& request_;
  Decision& decision_;
  Segments segments_;
};

// Matches `request` against `table`; `host` is lower case without a trailing dot.
void Decide(const RoutingTable& table, std::string_view host, const Request& request,
            Decision* decision) {
  // The host groups that apply, most specific first.
  const HostGroup* groups[2 + 16];
  size_t group_count = 0;
  if (auto it = table.exact_hosts.find(host); it != table.exact_hosts.end()) {
    groups[group_count++] = &it->second;
  }
  for (const auto& [suffix, group] : table.wildcard_hosts) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) {
      groups[group_count++] = &group;
      if (group_count == 17) break;  // bounded: deeper wildcards than this are not useful
    }
  }
  groups[group_count++] = &table.any_host;
  GroupMatcher matcher(table, request, decision);
  for (size_t g = 0; g < group_count; ++g) {
    if (matcher.Run(*groups[g])) return;
  }
}

std::string UpstreamPath(const RouteConfig& route, std::string_view path) {
  const bool fold = route.case_insensitive;
  if (!route.strip_prefix.empty()) {
    const std::string& strip = route.strip_prefix;
    if (StartsWith(path, strip, fold) &&
        (path.size() == strip.size() || path[strip.size()] == '/')) {
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
    if (!StartsWith(path, base, fold)) return std::string(path);
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
  for (StringMap* map :
       {&group.exact, &group.exact_folded, &group.prefixes, &group.prefixes_folded}) {
    for (auto& [key, list] : *map) SortByConstraints(list, routes);
  }
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

// Compiles `configs` into `table`; fold_all folds every route (else only case_insensitive ones).
absl::Status Compile(const std::vector<RouteConfig>& configs, bool fold_all, RoutingTable* table) {
  table->routes.resize(configs.size());
  for (size_t i = 0; i < configs.size(); ++i) {
    const RouteConfig& config = configs[i];
    CompiledRoute& route = table->routes[i];
    route.index = static_cast<int>(i);
    route.config = &config;
    route.constraints = (config.methods.empty() ? 0 : 1) + static_cast<int>(config.headers.size());
    route.fold = fold_all || config.case_insensitive;
    table->folds = table->folds || route.fold;
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

    HostGroup* group = &table->any_host;
    if (config.host.starts_with("*.")) {
      if (config.host.size() < 3 || IsUpper(config.host)) {
        return invalid("host must be lower case \"*.suffix\"");
      }
      const std::string suffix = config.host.substr(1);
      auto it = std::find_if(table->wildcard_hosts.begin(), table->wildcard_hosts.end(),
                             [&](const auto& entry) { return entry.first == suffix; });
      if (it == table->wildcard_hosts.end()) {
        table->wildcard_hosts.emplace_back(suffix, HostGroup{});
        it = table->wildcard_hosts.end() - 1;
      }
      group = &it->second;
    } else if (!config.host.empty()) {
      if (IsUpper(config.host)) return invalid("host must be lower case");
      group = &table->exact_hosts[config.host];
    }

    std::string key = config.path;
    if (route.fold) LowerInPlace(key);
    switch (config.path_kind) {
      case PathMatch::kAny:
        group->any.push_back(route.index);
        break;
      case PathMatch::kExact:
        if (!config.path.starts_with('/')) return invalid("path must start with '/'");
        (route.fold ? group->exact_folded : group->exact)[key].push_back(route.index);
        break;
      case PathMatch::kPrefix:
        if (!config.path.starts_with('/')) return invalid("path_prefix must start with '/'");
        (route.fold ? group->prefixes_folded : group->prefixes)[key].push_back(route.index);
        break;
      case PathMatch::kTemplate: {
        if (absl::Status s = ValidatePathTemplate(config.path); !s.ok()) {
          return invalid(std::string(s.message()));
        }
        route.segments = ParseTemplate(config.path);
        for (TemplateSegment& s : route.segments) {
          route.literal_segments += !s.capture;
          if (route.fold && !s.capture) LowerInPlace(s.text);
        }
        group->templates[route.segments.size()].push_back(route.index);
        break;
      }
      case PathMatch::kRegex: {
        RE2::Options options;
        options.set_log_errors(false);
        options.set_case_sensitive(!route.fold);
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
  std::stable_sort(table->wildcard_hosts.begin(), table->wildcard_hosts.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  for (auto& [host, group] : table->exact_hosts) SortGroup(group, table->routes);
  for (auto& [suffix, group] : table->wildcard_hosts) SortGroup(group, table->routes);
  SortGroup(table->any_host, table->routes);
  return absl::OkStatus();
}

// True when the folded decision involves a route with auth: its winner, or for a 405 one of
// the routes of the deciding level.
bool InvolvesAuth(const RoutingTable& table, const Decision& d) {
  if (d.winner != nullptr) return !d.winner->config->auth.empty();
  return std::any_of(d.refused.begin(), d.refused.end(), [&](int r) {
    return !table.routes[static_cast<size_t>(r)].config->auth.empty();
  });
}

}  // namespace

struct Router::Index : RoutingTable {};

Router::Router() : index_(std::make_unique<Index>()) {}
Router::~Router() = default;

absl::StatusOr<std::unique_ptr<Router>> Router::Build(std::vector<RouteConfig> routes) {
  std::unique_ptr<Router> router(new Router());
  router->routes_ = std::move(routes);
  RETURN_IF_ERROR(Compile(router->routes_, false, router->index_.get()));
  const bool protect =
      std::any_of(router->routes_.begin(), router->routes_.end(),
                  [](const RouteConfig& r) { return !r.auth.empty() && !r.case_insensitive; });
  if (protect) {
    router->folded_ = std::make_unique<Index>();
    RETURN_IF_ERROR(Compile(router->routes_, true, router->folded_.get()));
  }
  return router;
}

RouteMatch Router::Match(
    std::string_view host, std::string_view path, std::string_view method,
    absl::FunctionRef<std::optional<std::string_view>(std::string_view)> header) const {
  // Host names compare case-insensitively (RFC 9110 4.2.3); an absolute FQDN's trailing dot
  // names the same host.
  std::string lowered;
  if (IsUpper(host)) {
    lowered.assign(host);
    LowerInPlace(lowered);
    host = lowered;
  }
  if (host.ends_with('.')) host.remove_suffix(1);

  const bool check_case = folded_ != nullptr && IsUpper(path);
  Request request{path, path, method, header};
  // Per thread, so that folding does not allocate once the buffer has grown.
  thread_local std::string folded_path;
  if ((index_->folds || check_case) && IsUpper(path)) {
    folded_path.assign(path);
    LowerInPlace(folded_path);
    request.folded_path = folded_path;
  }

  Decision d;
  Decide(*index_, host, request, &d);
  RouteMatch result;
  if (check_case) {
    Decision f;
    Decide(*folded_, host, request, &f);
    const bool same = f.winner != nullptr
                          ? d.winner != nullptr && d.winner->index == f.winner->index
                          : d.winner == nullptr && d.hit;
    if (!same && InvolvesAuth(*folded_, f)) {
      result.outcome = RouteMatch::kCaseMismatch;
      return result;
    }
  }

  if (d.winner != nullptr) {
    const CompiledRoute& winner = *d.winner;
    const RouteConfig& config = *winner.config;
    result.outcome = RouteMatch::kMatched;
    result.route = &config;
    result.route_index = winner.index;
    result.upstream_path = UpstreamPath(config, path);
    if (!d.captures.empty()) {
      for (size_t i = 0; i < winner.segments.size(); ++i) {
        if (winner.segments[i].capture) {
          result.params.emplace_back(winner.segments[i].text, std::string(d.captures[i]));
        }
      }
    }
    return result;
  }
  if (!d.hit) return result;

  // 405: the union of the methods of the deciding level's routes.
  std::set<std::string> allowed;
  for (int r : d.refused) {
    for (const std::string& m : routes_[static_cast<size_t>(r)].methods) {
      allowed.insert(m);
      if (m == "GET") allowed.insert("HEAD");
    }
  }
  result.outcome = RouteMatch::kMethodNotAllowed;
  for (const std::string& m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += m;
  }
  return result;
}

}  // namespace edge::l7
