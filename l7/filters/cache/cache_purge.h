#pragma once
// Purging a cache from gw7's admin port (README "Caching"):
//
//   POST /cache/NAME/purge?path=/v1/products/7     the stored responses of that exact path
//   POST /cache/NAME/purge?prefix=/v1/products/    of every path starting so
//   POST /cache/NAME/purge?all=1                   everything
//   (optionally &host=api.example.com: only that Host; PURGE /cache/NAME?... is the same)
//
// The path is the one gw7 forwards (after the route's strip_prefix), as the cache keys hold it;
// query strings and variants (Vary, key extras) of a matching path all go. Answers JSON
// {"cache": NAME, "purged": N}. Refused with 401 unless the request carries
// "Authorization: Bearer <token>" with the cache's purge_token_file token (403 when the cache has
// none): PurgeAuthorized is the one check, so that a shared admin token can replace it.
// Runs on the loop thread (the store is the loop's).

#include <optional>
#include <string>
#include <string_view>

#include "l7/filters/cache/cache_registry.h"

namespace edge::l7 {

struct PurgeAnswer {
  int status = 200;
  std::string body;  // JSON
};

// Whether `authorization` (the request's Authorization value, if any) may purge `cache`.
// 0 when it may, else the refusal's status (401 wrong or missing, 403 purging not configured).
int PurgeAuthorized(const Cache& cache, std::optional<std::string_view> authorization);

// Whether an admin path is the purge endpoint's (the admin dispatch asks before calling).
bool IsCachePurgePath(std::string_view path);

// Answers one admin purge request. `method` POST (or PURGE), `path` /cache/NAME/purge (or
// /cache/NAME for PURGE), `query` without '?'. `admin_authorized`: the request carried gw7's own
// admin token (admin_token_file), which may purge any cache; otherwise the cache's
// purge_token_file decides.
PurgeAnswer HandleCachePurge(const CacheRegistry* registry, std::string_view method,
                             std::string_view path, std::string_view query,
                             std::optional<std::string_view> authorization,
                             bool admin_authorized = false);

// Whether a cache key (cache_key.h) is for `path` (or, with `prefix`, a path starting with it) on
// `host` (empty: any). Exposed for tests.
bool CacheKeyMatches(std::string_view key, std::string_view host, std::string_view path,
                     bool prefix);

}  // namespace edge::l7
