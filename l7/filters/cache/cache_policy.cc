#include "l7/filters/cache/cache_policy.h"

#include <algorithm>

namespace edge::l7 {
namespace {

constexpr int64_t kMaxDelta = 2147483648;  // RFC 9111 §1.2.2: larger values become this

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// delta-seconds: 1*DIGIT; anything else is nullopt.
std::optional<int64_t> DeltaSeconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = std::min(kMaxDelta, n * 10 + (c - '0'));
  }
  return n;
}

// A seconds directive seen twice keeps the smaller; an unreadable one counts as 0.
void SetSeconds(std::optional<int64_t>* slot, std::string_view value, bool has_value) {
  std::optional<int64_t> v = has_value ? DeltaSeconds(value) : std::nullopt;
  const int64_t seconds = v.value_or(0);
  *slot = slot->has_value() ? std::min(**slot, seconds) : seconds;
}

}  // namespace

void ParseCacheControl(std::string_view value, CacheDirectives* out) {
  size_t pos = 0;
  while (pos <= value.size()) {
    // One directive up to the next comma outside a quoted string.
    size_t end = pos;
    bool quoted = false;
    while (end < value.size()) {
      const char c = value[end];
      if (quoted && c == '\\') {
        end += 2;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) break;
      ++end;
    }
    std::string_view item = Trim(value.substr(pos, std::min(end, value.size()) - pos));
    pos = end + 1;
    if (item.empty()) continue;
    std::string_view name = item, arg;
    bool has_arg = false;
    if (size_t eq = item.find('='); eq != std::string_view::npos) {
      name = Trim(item.substr(0, eq));
      arg = Trim(item.substr(eq + 1));
      has_arg = true;
    }
    using http::EqualsIgnoreCase;
    if (EqualsIgnoreCase(name, "no-store")) {
      out->no_store = true;
    } else if (EqualsIgnoreCase(name, "no-cache")) {
      out->no_cache = true;
    } else if (EqualsIgnoreCase(name, "private")) {
      out->private_ = true;
    } else if (EqualsIgnoreCase(name, "public")) {
      out->public_ = true;
    } else if (EqualsIgnoreCase(name, "must-revalidate")) {
      out->must_revalidate = true;
    } else if (EqualsIgnoreCase(name, "proxy-revalidate")) {
      out->proxy_revalidate = true;
    } else if (EqualsIgnoreCase(name, "only-if-cached")) {
      out->only_if_cached = true;
    } else if (EqualsIgnoreCase(name, "max-age")) {
      SetSeconds(&out->max_age, arg, has_arg);
    } else if (EqualsIgnoreCase(name, "s-maxage")) {
      SetSeconds(&out->s_maxage, arg, has_arg);
    } else if (EqualsIgnoreCase(name, "min-fresh")) {
      SetSeconds(&out->min_fresh, arg, has_arg);
    } else if (EqualsIgnoreCase(name, "stale-while-revalidate")) {
      SetSeconds(&out->stale_while_revalidate, arg, has_arg);
    } else if (EqualsIgnoreCase(name, "stale-if-error")) {
      SetSeconds(&out->stale_if_error, arg, has_arg);
    } else if (EqualsIgnoreCase(name, "max-stale")) {
      if (!has_arg) {
        out->max_stale_any = true;
      } else {
        SetSeconds(&out->max_stale, arg, true);
      }
    }
  }
}

CacheDirectives DirectivesOf(const http::HttpHeaders& headers, bool is_request) {
  CacheDirectives d;
  bool any = false;
  for (const http::HttpHeader& h : headers) {
    if (http::EqualsIgnoreCase(h.name, "cache-control")) {
      ParseCacheControl(h.value, &d);
      any = true;
    }
  }
  if (!any && is_request) {
    for (const http::HttpHeader& h : headers) {
      if (http::EqualsIgnoreCase(h.name, "pragma") &&
          Trim(h.value).find("no-cache") != std::string_view::npos) {
        d.no_cache = true;
      }
    }
  }
  return d;
}

bool IsStorableStatus(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 410:
      return true;
    default:
      return false;
  }
}

const char* WhyNotStorable(const StorabilityInput& in) {
  const CacheDirectives& req = *in.request;
  const CacheDirectives& resp = *in.response;
  if (!IsStorableStatus(in.status)) return "status";
  if (req.no_store) return "request no-store";
  if (resp.no_store) return "no-store";
  if (resp.private_) return "private";
  if (in.vary_star) return "vary *";
  if (in.credentials && !resp.public_ && !resp.s_maxage && !resp.must_revalidate) {
    return "credentials";
  }
  if (in.set_cookie && !in.allow_set_cookie) return "set-cookie";
  if (!resp.s_maxage && !resp.max_age && !in.has_expires) return "no explicit freshness";
  return nullptr;
}

int64_t CurrentAge(const ResponseTimes& t, int64_t now) {
  const int64_t apparent_age = std::max<int64_t>(0, t.response_time - t.date_value);
  const int64_t response_delay = std::max<int64_t>(0, t.response_time - t.request_time);
  const int64_t corrected_age_value = t.age_value + response_delay;
  const int64_t corrected_initial_age = std::max(apparent_age, corrected_age_value);
  const int64_t resident_time = std::max<int64_t>(0, now - t.response_time);
  return corrected_initial_age + resident_time;
}

int64_t FreshnessLifetime(const CacheDirectives& response, bool has_expires,
                          std::optional<int64_t> expires, int64_t date_value) {
  if (response.s_maxage) return *response.s_maxage;
  if (response.max_age) return *response.max_age;
  if (has_expires) return expires ? std::max<int64_t>(0, *expires - date_value) : 0;
  return 0;
}

ServeVerdict Evaluate(const CacheDirectives& request, const CacheDirectives& response,
                      int64_t lifetime, int64_t age) {
  if (request.no_cache) return ServeVerdict::kRefused;
  if (request.max_age && age > *request.max_age) return ServeVerdict::kRefused;
  if (response.no_cache) return ServeVerdict::kStale;  // stored, but validated before every use
  const int64_t fresh_left = lifetime - age;
  if (fresh_left > 0) {
    if (request.min_fresh && fresh_left < *request.min_fresh) return ServeVerdict::kRefused;
    return ServeVerdict::kFresh;
  }
  // Stale. A client may accept it with max-stale, unless the response forbids serving it stale
  // (s-maxage implies proxy-revalidate for a shared cache, §5.2.2.10).
  const bool may_serve_stale =
      !response.must_revalidate && !response.proxy_revalidate && !response.s_maxage;
  if (may_serve_stale &&
      (request.max_stale_any || (request.max_stale && -fresh_left <= *request.max_stale))) {
    return ServeVerdict::kFresh;
  }
  return ServeVerdict::kStale;
}

bool MayServeStale(const CacheDirectives& response, int64_t staleness,
                   std::optional<int64_t> window) {
  if (!window || response.no_cache || response.must_revalidate || response.proxy_revalidate ||
      response.s_maxage) {
    return false;
  }
  return staleness >= 0 && staleness <= *window;
}

bool NoneMatchHits(std::string_view if_none_match, std::string_view etag) {
  if (etag.empty()) return Trim(if_none_match) == "*";
  auto opaque = [](std::string_view tag) {
    tag = Trim(tag);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  const std::string_view want = opaque(etag);
  size_t pos = 0;
  while (pos <= if_none_match.size()) {
    size_t comma = if_none_match.find(',', pos);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view tag = Trim(if_none_match.substr(pos, comma - pos));
    if (tag == "*") return true;
    if (!tag.empty() && opaque(tag) == want) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace edge::l7
