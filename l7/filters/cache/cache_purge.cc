#include "l7/filters/cache/cache_purge.h"

#include <vector>

#include "absl/strings/str_format.h"
#include "common/http/message.h"
#include "common/http/percent.h"
#include "common/metrics/prometheus.h"

namespace edge::l7 {
namespace {

// The next "LEN:VALUE" part of a key (cache_key.cc), or nullopt when malformed.
std::optional<std::string_view> NextPart(std::string_view* key) {
  size_t colon = key->find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return std::nullopt;
  size_t len = 0;
  for (char c : key->substr(0, colon)) {
    if (c < '0' || c > '9') return std::nullopt;
    len = len * 10 + static_cast<size_t>(c - '0');
  }
  if (key->size() - colon - 1 < len) return std::nullopt;
  std::string_view part = key->substr(colon + 1, len);
  key->remove_prefix(colon + 1 + len);
  return part;
}

PurgeAnswer Error(int status, std::string_view message) {
  return {status, absl::StrFormat("{\"error\":\"%s\"}\n", metrics::JsonEscape(message))};
}

}  // namespace

int PurgeAuthorized(const Cache& cache, std::optional<std::string_view> authorization) {
  const std::string& token = cache.config.purge_token;
  if (token.empty()) return 403;
  if (!authorization || authorization->size() < 7) return 401;
  std::string_view scheme = authorization->substr(0, 7);
  if (!http::EqualsIgnoreCase(scheme, "bearer ")) return 401;
  std::string_view given = authorization->substr(7);
  // Constant time in the token's contents (its length is no secret worth the trouble).
  if (given.size() != token.size()) return 401;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  }
  return diff == 0 ? 0 : 401;
}

bool IsCachePurgePath(std::string_view path) { return path.starts_with("/cache/"); }

bool CacheKeyMatches(std::string_view key, std::string_view host, std::string_view path,
                     bool prefix) {
  std::optional<std::string_view> route = NextPart(&key);
  std::optional<std::string_view> scheme = NextPart(&key);
  std::optional<std::string_view> authority = NextPart(&key);
  std::optional<std::string_view> key_path = NextPart(&key);
  if (!route || !scheme || !authority || !key_path) return false;
  if (!host.empty()) {
    std::string_view name = *authority;
    if (name != host) {
      // "host:port" and "[v6]:port" match their host.
      size_t colon = name.rfind(':');
      if (colon == std::string_view::npos || name.find(']', colon) != std::string_view::npos ||
          name.substr(0, colon) != host) {
        return false;
      }
    }
  }
  return prefix ? key_path->starts_with(path) : *key_path == path;
}

PurgeAnswer HandleCachePurge(const CacheRegistry* registry, std::string_view method,
                             std::string_view path, std::string_view query,
                             std::optional<std::string_view> authorization, bool admin_authorized) {
  // /cache/NAME/purge (POST) or /cache/NAME (PURGE).
  std::string_view rest = path.substr(std::string_view("/cache/").size());
  std::string_view name = rest.substr(0, rest.find('/'));
  std::string_view tail = rest.substr(name.size());
  const bool post = method == "POST" && tail == "/purge";
  const bool purge = method == "PURGE" && (tail.empty() || tail == "/purge");
  if (!post && !purge) {
    return Error(method == "POST" || method == "PURGE" ? 404 : 405,
                 "use POST /cache/NAME/purge?path=...|prefix=...|all=1");
  }
  const Cache* cache = nullptr;
  if (registry != nullptr) {
    auto it = registry->caches.find(name);
    if (it != registry->caches.end()) cache = it->second.get();
  }
  if (cache == nullptr) return Error(404, absl::StrFormat("no cache named \"%s\"", name));
  if (int refused = admin_authorized ? 0 : PurgeAuthorized(*cache, authorization); refused != 0) {
    return Error(refused, refused == 403 ? "purging this cache is not enabled (purge_token_file)"
                                         : "a valid Authorization: Bearer token is required");
  }
  std::optional<std::string> host, exact, prefix;
  bool all = false;
  while (!query.empty()) {
    std::string_view item = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), item.size() + 1));
    std::string_view key = item.substr(0, item.find('='));
    std::string_view raw = item.size() > key.size() ? item.substr(key.size() + 1) : "";
    std::optional<std::string> value = http::DecodeQueryComponent(raw);
    if (!value) return Error(400, "a broken percent-escape in the query");
    if (key == "host") {
      host = std::move(value);
    } else if (key == "path") {
      exact = std::move(value);
    } else if (key == "prefix") {
      prefix = std::move(value);
    } else if (key == "all") {
      all = *value == "1" || *value == "true";
    } else if (!key.empty()) {
      return Error(400, absl::StrFormat("unknown parameter \"%s\" (path, prefix, host, all)", key));
    }
  }
  if ((exact.has_value() + prefix.has_value() + all) != 1) {
    return Error(400, "give exactly one of path=, prefix= or all=1");
  }
  const std::string& match = exact ? *exact : prefix ? *prefix : std::string();
  if (!all && (match.empty() || match[0] != '/')) return Error(400, "the path must start with '/'");
  Cache* mutable_cache = const_cast<Cache*>(cache);
  const std::string host_name = host.value_or("");
  size_t n = mutable_cache->store.EraseIf([&](std::string_view key) {
    return CacheKeyMatches(key, host_name, match, /*prefix=*/!exact.has_value());
  });
  mutable_cache->counters.purged.fetch_add(n, std::memory_order_relaxed);
  return {200, absl::StrFormat("{\"cache\":\"%s\",\"purged\":%d}\n", metrics::JsonEscape(name), n)};
}

}  // namespace edge::l7
