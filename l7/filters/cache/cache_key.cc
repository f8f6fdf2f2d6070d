#include "l7/filters/cache/cache_key.h"

#include <algorithm>

namespace edge::l7 {
namespace {

void AppendPart(std::string* key, std::string_view part) {
  key->append(std::to_string(part.size()));
  key->push_back(':');
  key->append(part);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

// Every value of field `name`, joined; nullopt when it also comes in another spelling.
std::optional<std::string> FieldValues(const FilterContext& ctx, std::string_view name) {
  std::string joined;
  size_t exact = 0;
  if (ctx.stream != nullptr) {
    for (const http::HttpHeader& h : ctx.stream->http_request().headers) {
      if (!http::EqualsIgnoreCase(h.name, name)) continue;
      if (exact++ > 0) joined.append(", ");
      joined.append(h.value);
    }
  } else if (auto v = ctx.request.header(name)) {
    exact = 1;
    joined.assign(*v);
  }
  if (ctx.request.header_count(name) != exact) return std::nullopt;
  // "present and empty" differs from "absent".
  return exact == 0 ? std::string("\x01") : "=" + joined;
}

}  // namespace

std::optional<std::string> PrimaryCacheKey(const CacheConfig& config, const FilterContext& ctx) {
  std::string key;
  key.reserve(128);
  AppendPart(&key, ctx.request.route_name());
  const bool tls = ctx.stream != nullptr && ctx.stream->client_tls();
  AppendPart(&key, tls ? "https" : "http");
  if (ctx.stream != nullptr) {
    AppendPart(&key, Lower(ctx.stream->http_request().authority));
    AppendPart(&key, ctx.stream->upstream_path());
  } else {
    AppendPart(&key, ctx.request.host());
    AppendPart(&key, ctx.request.path());
  }
  AppendPart(&key,
             ctx.upstream_query ? std::string_view(*ctx.upstream_query) : ctx.request.query());
  for (const CacheKeyExtra& extra : config.key) {
    if (extra.kind == CacheKeyExtra::Kind::kConsumer) {
      AppendPart(&key, ctx.identity.authenticated ? "c=" + ctx.identity.consumer : "-");
      continue;
    }
    std::optional<std::string> values = FieldValues(ctx, extra.header);
    if (!values) return std::nullopt;
    AppendPart(&key, *values);
  }
  return key;
}

std::optional<std::string> VariantCacheKey(std::string_view primary,
                                           const std::vector<std::string>& vary,
                                           const FilterContext& ctx) {
  std::string key(primary);
  key.append("|vary");
  for (const std::string& name : vary) {
    std::optional<std::string> values = FieldValues(ctx, name);
    if (!values) return std::nullopt;
    AppendPart(&key, name);
    AppendPart(&key, *values);
  }
  return key;
}

bool ParseVary(std::string_view value, std::vector<std::string>* out) {
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    pos = comma + 1;
    if (item.empty()) continue;
    if (item == "*") return false;
    std::string name = Lower(item);
    if (std::find(out->begin(), out->end(), name) == out->end()) out->push_back(std::move(name));
  }
  std::sort(out->begin(), out->end());
  return true;
}

}  // namespace edge::l7
