#pragma once
// The cache key: what makes two requests the same resource to the upstream, and nothing less.
//
// The primary key is built from what the upstream will see, not from what the client wrote:
// the route (two routes may send one path to different upstreams or with different rewrites),
// the scheme the client used (upstreams see it in X-Forwarded-Proto), the authority in lower
// case (host names are case-insensitive; the port stays), the path after normalisation and
// rewrites (what the proxy sends: "/a/../b" and "/b" are one resource, "/B" is another), and the
// query byte for byte after filters changed it (the order of parameters and their encoding are
// kept: upstreams disagree on "?a=1&a=2", so reordering could make one key serve two resources).
// Then the [[cache]]'s extras. Each part is length-prefixed so that no part can spill into
// another.
//
// Request fields (key extras, Vary) are read with every field of that name joined by ", ". A
// request that also carries the field in another spelling ("Accept_Encoding", which some
// backends read as "Accept-Encoding") cannot be keyed safely: nullopt, and the request bypasses
// the cache.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "l7/filters/cache/cache_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

std::optional<std::string> PrimaryCacheKey(const CacheConfig& config, const FilterContext& ctx);
// The key of one variant: the primary key plus the request's values of each `vary` field.
std::optional<std::string> VariantCacheKey(std::string_view primary,
                                           const std::vector<std::string>& vary,
                                           const FilterContext& ctx);
// The fields of a Vary header value, lower case, appended to `out`; false for "*".
bool ParseVary(std::string_view value, std::vector<std::string>* out);

}  // namespace edge::l7
