#pragma once
// The RFC 9111 rules of gw7's shared cache, apart from any I/O so that each can be tested alone:
// Cache-Control parsing, whether a response may be stored, how long it stays fresh, its age, and
// whether a stored response may answer a request.
//
// What is deliberately conservative (a shared cache in front of APIs must never serve what it
// should not):
//   - no heuristic freshness: a response is stored only with s-maxage, max-age or Expires;
//   - a malformed or repeated max-age/s-maxage counts as its smallest value (0 when unreadable);
//   - qualified no-cache="F" and private="F" act as their unqualified forms;
//   - a request that carried credentials (Authorization, or an identity gw7's auth established
//     while the key does not include the consumer) is stored only when the response says a
//     shared cache may (public, s-maxage or must-revalidate; RFC 9111 §3.5);
//   - Set-Cookie responses are stored only when the route allows it (cache_set_cookie).

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/http/message.h"

namespace edge::l7 {

// The directives of one or more Cache-Control field lines (request or response).
struct CacheDirectives {
  bool no_store = false;
  bool no_cache = false;
  bool private_ = false;
  bool public_ = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool only_if_cached = false;
  bool max_stale_any = false;  // request max-stale without a value
  std::optional<int64_t> max_age;
  std::optional<int64_t> s_maxage;
  std::optional<int64_t> max_stale;
  std::optional<int64_t> min_fresh;
  // RFC 5861: how long past its freshness a response may be served while it is refreshed in the
  // background (response only), or when the upstream fails (response or request).
  std::optional<int64_t> stale_while_revalidate;
  std::optional<int64_t> stale_if_error;
};

// Adds the directives of one Cache-Control field value to `out`. Unknown directives are ignored
// (RFC 9111 §5.2.3); malformed ones are read as conservatively as the rules above say.
void ParseCacheControl(std::string_view value, CacheDirectives* out);
// Every Cache-Control line of `headers`; with none, a request's "Pragma: no-cache" counts as
// no-cache (RFC 9111 §5.4).
CacheDirectives DirectivesOf(const http::HttpHeaders& headers, bool is_request);

// Whether a status may be stored at all (explicit freshness is still needed): the codes RFC 9110
// defines as heuristically cacheable, less 206 (gw7 stores no partial content) and 405/414/501
// (errors an attacker can provoke at will).
bool IsStorableStatus(int status);

struct StorabilityInput {
  int status = 0;
  const CacheDirectives* request = nullptr;
  const CacheDirectives* response = nullptr;
  bool has_expires = false;  // an Expires field is present (valid or not)
  bool credentials = false;  // see the header comment
  bool set_cookie = false;
  bool allow_set_cookie = false;
  bool vary_star = false;
};
// Null when the response may be stored, else why not (for logs and tests).
const char* WhyNotStorable(const StorabilityInput& in);

// When and how a response was received, in seconds since the epoch (RFC 9111 §4.2.3).
struct ResponseTimes {
  int64_t request_time = 0;   // when the request went upstream
  int64_t response_time = 0;  // when the response head came back
  int64_t date_value = 0;     // its Date, or response_time without a valid one
  int64_t age_value = 0;      // its Age, 0 without a valid one
};
int64_t CurrentAge(const ResponseTimes& t, int64_t now);

// Seconds the response is fresh for (§4.2.1): s-maxage, else max-age, else Expires - Date
// (an invalid Expires: 0). `expires` is the parsed Expires, if valid.
int64_t FreshnessLifetime(const CacheDirectives& response, bool has_expires,
                          std::optional<int64_t> expires, int64_t date_value);

enum class ServeVerdict {
  kFresh,    // answer from the cache
  kStale,    // must go upstream (stale, or a directive requires validation)
  kRefused,  // the request refuses what is stored (e.g. max-age=0, no-cache)
};
// Whether a stored response of `lifetime` and `age` may answer a request with `request`
// directives (§4.2, §5.2.1, §5.2.2: no-cache and must-revalidate on either side).
ServeVerdict Evaluate(const CacheDirectives& request, const CacheDirectives& response,
                      int64_t lifetime, int64_t age);

// Whether a stored response `staleness` seconds past its lifetime may be served stale within
// `window` seconds (a stale-while-revalidate or stale-if-error value): never when the response
// forbids it (no-cache, must-revalidate, proxy-revalidate, s-maxage: RFC 9111 §4.2.4).
bool MayServeStale(const CacheDirectives& response, int64_t staleness,
                   std::optional<int64_t> window);

// If-None-Match (weak comparison, §13.1.2) against a stored ETag; "*" matches any.
bool NoneMatchHits(std::string_view if_none_match, std::string_view etag);

}  // namespace edge::l7
