#include "l7/filters/cache/cache_filter.h"

#include <ctime>

#include "absl/strings/str_format.h"
#include "common/http/hop_by_hop.h"
#include "l7/filters/cache/cache_key.h"
#include "l7/filters/cache/cache_refresh.h"
#include "l7/filters/cache/http_date.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {
namespace {

int64_t WallClock() { return static_cast<int64_t>(std::time(nullptr)); }

bool IsUnsafe(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "DELETE" || method == "PATCH";
}

// Fields a stored response does not keep: hop-by-hop ones, framing (the codec frames what it
// sends), Age (recomputed on every hit) and gw7's own.
bool KeepField(std::string_view name) {
  using http::EqualsIgnoreCase;
  return !http::IsHopByHopField(name) && !EqualsIgnoreCase(name, "content-length") &&
         !EqualsIgnoreCase(name, "transfer-encoding") && !EqualsIgnoreCase(name, "age") &&
         !EqualsIgnoreCase(name, "x-request-id") && !EqualsIgnoreCase(name, "cache-status");
}

// The fields a 304 carries from the stored response (RFC 9110 §15.4.5).
bool NotModifiedField(std::string_view name) {
  using http::EqualsIgnoreCase;
  return EqualsIgnoreCase(name, "cache-control") || EqualsIgnoreCase(name, "content-location") ||
         EqualsIgnoreCase(name, "date") || EqualsIgnoreCase(name, "etag") ||
         EqualsIgnoreCase(name, "expires") || EqualsIgnoreCase(name, "vary") ||
         EqualsIgnoreCase(name, "last-modified");
}

std::optional<int64_t> NonNegativeInt(std::string_view v) {
  if (v.empty() || v.size() > 12) return std::nullopt;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

// The times and lifetime of a response received at `now`.
void Stamp(const http::HttpHeaders& headers, int64_t request_time, int64_t now,
           const CacheDirectives& d, CachedResponse* out) {
  out->times.request_time = request_time;
  out->times.response_time = now;
  std::optional<int64_t> date;
  if (const http::HttpHeader* h = headers.Find("date")) date = ParseHttpDate(h->value);
  out->times.date_value = date.value_or(now);
  out->times.age_value = 0;
  if (const http::HttpHeader* h = headers.Find("age")) {
    out->times.age_value = NonNegativeInt(h->value).value_or(0);
  }
  const http::HttpHeader* expires = headers.Find("expires");
  out->lifetime = FreshnessLifetime(d, expires != nullptr,
                                    expires ? ParseHttpDate(expires->value) : std::nullopt,
                                    out->times.date_value);
  out->directives = d;
  out->etag.clear();
  if (const http::HttpHeader* h = headers.Find("etag")) out->etag.assign(h->value);
  out->last_modified.reset();
  if (const http::HttpHeader* h = headers.Find("last-modified")) {
    out->last_modified = ParseHttpDate(h->value);
  }
}

}  // namespace

size_t CachedResponse::bytes() const {
  size_t n = sizeof(CachedResponse) + reason.size() + body.size() + etag.size();
  for (const std::string& v : vary) n += v.size() + sizeof(std::string);
  for (const auto& [name, value] : headers)
    n += name.size() + value.size() + 2 * sizeof(std::string);
  return n;
}

CacheFilter::CacheFilter(std::shared_ptr<Cache> cache, bool allow_set_cookie, int64_t (*clock)())
    : cache_(std::move(cache)),
      allow_set_cookie_(allow_set_cookie),
      clock_(clock != nullptr ? clock : &WallClock) {}

int64_t CacheFilter::Now() const { return clock_(); }

FilterStatus CacheFilter::OnRequest(FilterContext& ctx, Resumer* resumer) {
  CacheCounters& counters = cache_->counters;
  const std::string_view method = ctx.request.method();
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    if (IsUnsafe(method)) {
      if (auto key = PrimaryCacheKey(cache_->config, ctx)) {
        Pending& p = pending_[&ctx];
        p.primary_key = std::move(*key);
        p.unsafe = true;
      }
    }
    counters.bypass.fetch_add(1, std::memory_order_relaxed);
    return FilterStatus::kContinue;
  }
  // A body or a range changes what the upstream answers in ways the key does not hold.
  const bool has_body = ctx.stream != nullptr
                            ? !ctx.stream->request_body_complete() ||
                                  ctx.request.header("content-length").value_or("0") != "0" ||
                                  ctx.request.header("transfer-encoding").has_value()
                            : false;
  std::optional<std::string> primary = PrimaryCacheKey(cache_->config, ctx);
  if (has_body || ctx.request.header_count("range") > 0 || !primary ||
      (ctx.stream != nullptr && ctx.stream->upgrade_requested())) {
    counters.bypass.fetch_add(1, std::memory_order_relaxed);
    ctx.report.cache = "bypass";
    ctx.response_headers.emplace_back("Cache-Status", "gw7; fwd=bypass");
    return FilterStatus::kContinue;
  }
  // Run again after waiting for a leader (coalescing): look up once more, then go upstream
  // without waiting again.
  std::unique_ptr<CoalesceWaiter> waited;
  if (auto it = pending_.find(&ctx); it != pending_.end() && it->second.waiter != nullptr) {
    waited = std::move(it->second.waiter);
  }
  CacheDirectives request_cc = ctx.stream != nullptr
                                   ? DirectivesOf(ctx.stream->http_request().headers, true)
                                   : CacheDirectives{};
  if (ctx.stream == nullptr) {
    if (auto v = ctx.request.header("cache-control")) ParseCacheControl(*v, &request_cc);
  }
  const int64_t now = Now();

  // Look up: the primary key holds either the response or, for a URL that varies, the list of
  // fields its variants differ in.
  std::shared_ptr<const CachedResponse> found =
      std::static_pointer_cast<const CachedResponse>(cache_->store.Get(*primary));
  std::string variant_key = *primary;
  if (found && found->vary_index) {
    std::optional<std::string> v = VariantCacheKey(*primary, found->vary, ctx);
    if (!v) {
      counters.bypass.fetch_add(1, std::memory_order_relaxed);
      ctx.report.cache = "bypass";
      ctx.response_headers.emplace_back("Cache-Status", "gw7; fwd=bypass");
      if (waited) pending_[&ctx].waiter = std::move(waited);
      return FilterStatus::kContinue;
    }
    variant_key = std::move(*v);
    found = std::static_pointer_cast<const CachedResponse>(cache_->store.Get(variant_key));
    if (found && found->vary_index) found.reset();
  }
  // gw7's own background refresh of this key (cache_refresh.h) always goes upstream.
  bool refresh = false;
  if (auto it = cache_->refreshing.find(variant_key); it != cache_->refreshing.end()) {
    refresh = ctx.stream != nullptr && it->second->stream() == ctx.stream;
  }

  std::string_view fwd = "miss";
  if (found && !refresh) {
    const int64_t age = CurrentAge(found->times, now);
    const ServeVerdict verdict = Evaluate(request_cc, found->directives, found->lifetime, age);
    if (verdict == ServeVerdict::kFresh && ctx.stream != nullptr) {
      (waited ? counters.coalesced : counters.hits).fetch_add(1, std::memory_order_relaxed);
      ctx.report.cache = "hit";
      ctx.response_headers.emplace_back("Cache-Status",
                                        absl::StrFormat("gw7; hit; ttl=%d", found->lifetime - age));
      if (waited) pending_[&ctx].waiter = std::move(waited);  // freed at OnEnd, not in its call
      return Serve(ctx, *found, age, ClientNotModified(ctx, *found));
    }
    // Stale but within stale-while-revalidate: answer now, refresh in the background.
    if (verdict == ServeVerdict::kStale && ctx.stream != nullptr &&
        MayServeStale(found->directives, age - found->lifetime,
                      found->directives.stale_while_revalidate)) {
      counters.stale_while_revalidate.fetch_add(1, std::memory_order_relaxed);
      ctx.report.cache = "stale_hit";
      if (BackgroundRefresh::Start(ctx, this, cache_, variant_key)) {
        counters.refreshes.fetch_add(1, std::memory_order_relaxed);
      }
      ctx.response_headers.emplace_back(
          "Cache-Status", absl::StrFormat("gw7; hit; ttl=%d; detail=stale-while-revalidate",
                                          found->lifetime - age));
      if (waited) pending_[&ctx].waiter = std::move(waited);
      return Serve(ctx, *found, age, ClientNotModified(ctx, *found));
    }
    fwd = verdict == ServeVerdict::kRefused ? "request" : "stale";
    if (!waited) counters.stale.fetch_add(1, std::memory_order_relaxed);
    ctx.report.cache = "stale";
  } else if (found) {
    fwd = "stale";
    ctx.report.cache = "stale";
  } else if (!waited && !refresh) {
    counters.misses.fetch_add(1, std::memory_order_relaxed);
    ctx.report.cache = "miss";
  }
  if (request_cc.only_if_cached && !refresh) {
    ctx.response_headers.emplace_back("Cache-Status", absl::StrFormat("gw7; fwd=%s", fwd));
    ctx.error_kind = "cache_only_if_cached";
    if (waited) pending_[&ctx].waiter = std::move(waited);
    return ctx.Reject(504, "not_cached", "only-if-cached and no usable stored response");
  }
  Pending& p = pending_[&ctx];
  p.waiter = std::move(waited);
  // Coalescing: one request per key goes upstream at a time; the others wait for what it stores
  // (not a request that refuses stored responses: it wants its own).
  const bool may_coalesce = !head && !refresh && p.waiter == nullptr && ctx.stream != nullptr &&
                            cache_->config.coalesce_timeout_ns > 0 && fwd != "request";
  if (may_coalesce) {
    auto [it, leader] = cache_->in_flight.try_emplace(variant_key);
    if (leader) {
      p.leader_key = variant_key;
    } else {
      StreamServices& services = ctx.stream->services();
      p.waiter =
          std::make_unique<CoalesceWaiter>(cache_, variant_key, resumer, &services.timers(),
                                           services.now_ns() + cache_->config.coalesce_timeout_ns);
      it->second.push_back(p.waiter.get());
      return FilterStatus::kSuspend;
    }
  }
  p.primary_key = std::move(*primary);
  p.variant_key = std::move(variant_key);
  p.head_request = head;
  p.request_directives = request_cc;
  p.credentials = ctx.request.header_count("authorization") > 0 ||
                  (ctx.identity.authenticated && !cache_->config.keyed_by_consumer());
  p.storable_request = !head;
  p.request_time = now;
  p.cache_status = absl::StrFormat("gw7; fwd=%s", fwd);
  p.stale = found;
  if (found && (!found->etag.empty() || found->last_modified)) {
    // Validate the stored response with its own validators (replacing the client's): a 304 is
    // then about our copy, which answers the client (TakeOverResponse).
    p.revalidating = true;
    for (std::string_view name :
         {"if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range"}) {
      ctx.upstream_remove_headers.emplace_back(name);
    }
    if (!found->etag.empty()) ctx.upstream_add_headers.emplace_back("If-None-Match", found->etag);
    if (found->last_modified) {
      ctx.upstream_add_headers.emplace_back("If-Modified-Since",
                                            FormatHttpDate(*found->last_modified));
    }
  } else if (found &&
             (ctx.request.header("if-none-match") || ctx.request.header("if-modified-since"))) {
    // Only the client's own validators go upstream: a 304 then answers exactly what the client
    // asked, and may also refresh the stored copy (see OnResponseHead).
    p.client_validators = true;
  }
  return FilterStatus::kContinue;
}

bool CacheFilter::ClientNotModified(const FilterContext& ctx, const CachedResponse& stored) {
  if (auto inm = ctx.request.header("if-none-match")) return NoneMatchHits(*inm, stored.etag);
  if (auto ims = ctx.request.header("if-modified-since")) {
    std::optional<int64_t> since = ParseHttpDate(*ims);
    return since && stored.last_modified && *stored.last_modified <= *since;
  }
  return false;
}

bool CacheFilter::TakeOverResponse(FilterContext& ctx, const http::HttpResponse& head) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end() || it->second.unsafe || it->second.stale == nullptr) return false;
  Pending& p = it->second;
  CacheCounters& counters = cache_->counters;
  const int64_t now = Now();
  if (head.status == 304 && p.revalidating) {
    // Our stored response is still good (RFC 9111 §4.3.4): refresh it, answer with it.
    std::shared_ptr<CachedResponse> refreshed = Refreshed(*p.stale, head, now, p.request_time);
    p.replacement = refreshed;
    p.replacement_status = p.cache_status + "; fwd-status=304";
    if (!DirectivesOf(head.headers, false).no_store) {
      Store(p, std::move(refreshed));
      counters.revalidations.fetch_add(1, std::memory_order_relaxed);
      ctx.report.cache = "revalidated";
      p.replacement_status.append("; stored");
    }
    ReleaseWaiters(ctx, p);
    return true;
  }
  if (head.status < 500) return false;
  // stale-if-error: the response's own window, or the client's (RFC 5861 §4), the longer.
  std::optional<int64_t> window = p.stale->directives.stale_if_error;
  if (p.request_directives.stale_if_error) {
    window = std::max(window.value_or(0), *p.request_directives.stale_if_error);
  }
  const int64_t staleness =
      std::max<int64_t>(0, CurrentAge(p.stale->times, now) - p.stale->lifetime);
  if (!MayServeStale(p.stale->directives, staleness, window)) return false;
  counters.stale_if_error.fetch_add(1, std::memory_order_relaxed);
  ctx.report.cache = "stale_hit";
  p.replacement = p.stale;
  p.replacement_status =
      absl::StrFormat("gw7; fwd=stale; fwd-status=%d; detail=stale-if-error", head.status);
  ReleaseWaiters(ctx, p);
  return true;
}

void CacheFilter::ReplaceResponse(FilterContext& ctx) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end() || it->second.replacement == nullptr) {
    ctx.stream->SendLocal(502, "the upstream response could not be used");
    return;
  }
  // Kept here: Serve may end the request (and OnEnd drops the Pending) before it returns.
  std::shared_ptr<const CachedResponse> answer = it->second.replacement;
  ctx.response_headers.emplace_back("Cache-Status", std::move(it->second.replacement_status));
  const int64_t age = CurrentAge(answer->times, Now());
  Serve(ctx, *answer, age, ClientNotModified(ctx, *answer));
}

void CacheFilter::ReleaseWaiters(FilterContext& ctx, Pending& p) {
  if (p.leader_key.empty()) return;
  auto it = cache_->in_flight.find(p.leader_key);
  p.leader_key.clear();
  if (it == cache_->in_flight.end()) return;
  std::vector<CoalesceWaiter*> waiters = std::move(it->second);
  cache_->in_flight.erase(it);
  const int64_t now = ctx.stream != nullptr ? ctx.stream->services().now_ns() : 0;
  for (CoalesceWaiter* w : waiters) w->Wake(now);
}

CoalesceWaiter::CoalesceWaiter(std::shared_ptr<Cache> cache, std::string key, Resumer* resumer,
                               uring::TimerWheel* timers, int64_t deadline_ns)
    : cache_(std::move(cache)),
      key_(std::move(key)),
      resumer_(resumer),
      timers_(timers),
      timer_(&CoalesceWaiter::Fire, this) {
  timers_->Schedule(&timer_, deadline_ns);
}

void CoalesceWaiter::Wake(int64_t now_ns) {
  listed_ = false;
  timers_->Schedule(&timer_, now_ns);
}

void CoalesceWaiter::Fire(void* self) {
  auto* w = static_cast<CoalesceWaiter*>(self);
  if (w->listed_) {  // coalesce_timeout: stop waiting for the leader
    w->listed_ = false;
    auto it = w->cache_->in_flight.find(w->key_);
    if (it != w->cache_->in_flight.end()) std::erase(it->second, w);
  }
  // The cache filter runs again; the request may end within this call, and this waiter with it.
  w->resumer_->Resume(FilterStatus::kRespond);
}

FilterStatus CacheFilter::Serve(FilterContext& ctx, const CachedResponse& hit, int64_t age,
                                bool not_modified) {
  http::HttpResponse head;
  head.status = not_modified ? 304 : hit.status;
  head.reason = not_modified ? std::string_view("Not Modified") : std::string_view(hit.reason);
  for (const auto& [name, value] : hit.headers) {
    if (not_modified && !NotModifiedField(name)) continue;
    head.headers.Add(name, value);
  }
  const std::string age_text = std::to_string(age);
  head.headers.Add("Age", age_text);
  const bool send_body = !not_modified && ctx.request.method() != "HEAD";
  const std::string length = std::to_string(hit.body.size());
  if (!not_modified && hit.status != 204 && hit.status != 304) {
    head.headers.Add("Content-Length", length);
  }
  if (send_body && !hit.body.empty()) {
    head.body = {http::BodyKind::kContentLength, hit.body.size()};
  } else {
    head.body = {http::BodyKind::kNone, 0};
  }
  if (send_body) cache_->counters.hit_bytes.fetch_add(hit.body.size(), std::memory_order_relaxed);
  FilterStream* stream = ctx.stream;
  stream->BeginOutputBatch();
  stream->SendHead(head);
  if (send_body && !hit.body.empty()) stream->SendData(hit.body);
  // May end the request and start the next one: nothing of ctx after this.
  stream->SendEnd(nullptr);
  stream->EndOutputBatch();
  return FilterStatus::kRespond;
}

std::shared_ptr<CachedResponse> CacheFilter::Refreshed(const CachedResponse& old,
                                                       const http::HttpResponse& head, int64_t now,
                                                       int64_t request_time) const {
  auto fresh = std::make_shared<CachedResponse>(old);
  // RFC 9111 §3.2: the 304's fields replace the stored ones of the same name.
  for (const http::HttpHeader& h : head.headers) {
    if (!KeepField(h.name)) continue;
    std::erase_if(fresh->headers,
                  [&](const auto& f) { return http::EqualsIgnoreCase(f.first, h.name); });
  }
  for (const http::HttpHeader& h : head.headers) {
    if (KeepField(h.name)) fresh->headers.emplace_back(std::string(h.name), std::string(h.value));
  }
  http::HttpHeaders merged;
  for (const auto& [name, value] : fresh->headers) merged.Add(name, value);
  Stamp(merged, request_time, now, DirectivesOf(merged, false), fresh.get());
  return fresh;
}

void CacheFilter::OnResponseHead(FilterContext& ctx, const http::HttpResponse& head) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  CacheCounters& counters = cache_->counters;
  if (p.unsafe) {
    if (head.status >= 200 && head.status < 400 && cache_->store.Erase(p.primary_key)) {
      counters.invalidations.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  const int64_t now = Now();
  std::string status = p.cache_status;
  absl::StrAppendFormat(&status, "; fwd-status=%d", head.status);
  if (head.status == 304 && p.stale != nullptr && p.client_validators) {
    // Our stored copy is the one the client validated if the validators agree (§4.3.4).
    const http::HttpHeader* etag = head.headers.Find("etag");
    const bool same = etag != nullptr ? etag->value == p.stale->etag && !p.stale->etag.empty()
                                      : p.stale->etag.empty();
    if (same && !DirectivesOf(head.headers, false).no_store) {
      std::shared_ptr<CachedResponse> refreshed = Refreshed(*p.stale, head, now, p.request_time);
      Store(p, std::move(refreshed));
      counters.revalidations.fetch_add(1, std::memory_order_relaxed);
      status.append("; stored");
    }
    ctx.response_headers.emplace_back("Cache-Status", std::move(status));
    return;
  }
  const CacheDirectives response_cc = DirectivesOf(head.headers, false);
  std::vector<std::string> vary;
  bool vary_star = false;
  for (const http::HttpHeader& h : head.headers) {
    if (http::EqualsIgnoreCase(h.name, "vary") && !ParseVary(h.value, &vary)) vary_star = true;
  }
  StorabilityInput in;
  in.status = head.status;
  in.request = &p.request_directives;
  in.response = &response_cc;
  in.has_expires = head.headers.Find("expires") != nullptr;
  in.credentials = p.credentials;
  in.set_cookie = head.headers.Find("set-cookie") != nullptr;
  in.allow_set_cookie = allow_set_cookie_;
  in.vary_star = vary_star;
  const char* why_not = p.storable_request ? WhyNotStorable(in) : "head request";
  if (why_not == nullptr && head.body.kind == http::BodyKind::kContentLength &&
      head.body.length > cache_->config.max_object_bytes) {
    why_not = "too large";
  }
  if (why_not == nullptr && !vary.empty()) {
    std::optional<std::string> v = VariantCacheKey(p.primary_key, vary, ctx);
    if (!v) {
      why_not = "vary field spelling";
    } else {
      p.variant_key = std::move(*v);
    }
  } else if (why_not == nullptr) {
    p.variant_key = p.primary_key;
  }
  if (why_not != nullptr) {
    ReleaseWaiters(ctx, p);  // nothing will be stored for them
    counters.not_stored.fetch_add(1, std::memory_order_relaxed);
    ctx.response_headers.emplace_back("Cache-Status", std::move(status));
    return;
  }
  auto building = std::make_shared<CachedResponse>();
  building->status = head.status;
  building->reason.assign(head.reason);
  building->vary = std::move(vary);
  for (const http::HttpHeader& h : head.headers) {
    if (KeepField(h.name))
      building->headers.emplace_back(std::string(h.name), std::string(h.value));
  }
  Stamp(head.headers, p.request_time, now, response_cc, building.get());
  if (head.body.kind == http::BodyKind::kContentLength) {
    p.expected_length = head.body.length;
    building->body.reserve(head.body.length);
  } else if (head.body.kind == http::BodyKind::kNone) {
    p.expected_length = 0;
  }
  p.building = std::move(building);
  status.append("; stored");
  ctx.response_headers.emplace_back("Cache-Status", std::move(status));
}

void CacheFilter::OnResponseData(FilterContext& ctx, std::string_view data) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end() || it->second.building == nullptr) return;
  Pending& p = it->second;
  if (p.building->body.size() + data.size() > cache_->config.max_object_bytes) {
    p.building.reset();  // passed through, not stored
    cache_->counters.not_stored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  p.building->body.append(data);
}

void CacheFilter::OnResponseEnd(FilterContext& ctx, const http::HttpHeaders* /*trailers*/) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end() || it->second.building == nullptr) return;
  Pending& p = it->second;
  std::shared_ptr<CachedResponse> response = std::move(p.building);
  if (p.expected_length && response->body.size() != *p.expected_length) return;
  Store(p, std::move(response));
  ReleaseWaiters(ctx, p);
}

void CacheFilter::Store(const Pending& p, std::shared_ptr<CachedResponse> response) {
  if (p.variant_key != p.primary_key) {
    auto index = std::make_shared<CachedResponse>();
    index->vary_index = true;
    index->vary = response->vary;
    cache_->store.Insert(p.primary_key, std::move(index));
  } else {
    response->vary.clear();
  }
  if (cache_->store.Insert(p.variant_key, std::move(response))) {
    cache_->counters.stores.fetch_add(1, std::memory_order_relaxed);
  }
}

void CacheFilter::OnEnd(FilterContext& ctx) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end()) return;
  ReleaseWaiters(ctx, it->second);  // a leader that failed or stored: its waiters go on
  pending_.erase(it);
}

}  // namespace edge::l7
