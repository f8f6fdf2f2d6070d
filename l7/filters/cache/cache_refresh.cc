#include "l7/filters/cache/cache_refresh.h"

#include "common/http/hop_by_hop.h"
#include "common/log.h"

namespace edge::l7 {
namespace {

// Fields of the client request the refresh does not restate.
bool LeaveOut(std::string_view name) {
  using http::EqualsIgnoreCase;
  return http::IsHopByHopField(name) || EqualsIgnoreCase(name, "host") ||
         EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "expect") || EqualsIgnoreCase(name, "upgrade") ||
         EqualsIgnoreCase(name, "x-request-id") || EqualsIgnoreCase(name, "cache-control") ||
         EqualsIgnoreCase(name, "pragma") || EqualsIgnoreCase(name, "range") ||
         (name.size() > 3 && EqualsIgnoreCase(name.substr(0, 3), "if-"));
}

}  // namespace

BackgroundRefresh::BackgroundRefresh(StreamServices* services, std::shared_ptr<Cache> cache,
                                     std::string key)
    : cache_(std::move(cache)),
      key_(std::move(key)),
      services_(services),
      stream_(services, this),
      codec_(&stream_, &BackgroundRefresh::Done, this),
      free_timer_(&BackgroundRefresh::Free, this) {}

bool BackgroundRefresh::Start(const FilterContext& ctx, const Filter* cache_filter,
                              const std::shared_ptr<Cache>& cache, const std::string& key) {
  if (ctx.stream == nullptr || cache->refreshing.contains(key)) return false;
  const http::HttpRequest& client = ctx.stream->http_request();
  auto* r = new BackgroundRefresh(&ctx.stream->services(), cache, key);
  // A GET even for a HEAD: only a GET's response can be stored.
  std::string& t = r->text_;
  t.reserve(256);
  t.append("GET ").append(client.target).append(" HTTP/1.1\r\nHost: ");
  t.append(client.authority).append("\r\n");
  for (const http::HttpHeader& h : client.headers) {
    if (LeaveOut(h.name)) continue;
    t.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  t.append("\r\n");
  http::HttpLimits limits;
  limits.max_header_bytes = t.size() + 1;
  limits.max_target_bytes = t.size() + 1;
  limits.max_headers = client.headers.size() + 1;
  if (http::ParseRequestHead(t, limits, &r->request_).status != http::ParseStatus::kComplete) {
    LOG_DEBUG("cache \"%s\": request %s cannot be restated for a refresh", cache->config.name,
              ctx.stream->request_id());
    delete r;
    return false;
  }
  cache->refreshing.emplace(key, r);
  StreamConnectionInfo info;
  info.client = ctx.request.client_address();
  info.tls = ctx.stream->client_tls();
  info.first_filter = cache_filter;
  info.admitted_as = &ctx;  // the identity and upstream changes auth made: the same key, the same
                            // request upstream
  r->stream_.DecodeHead(0, r->request_, info, &r->codec_);
  return true;
}

void BackgroundRefresh::Done(void* self, int /*status*/) {
  static_cast<BackgroundRefresh*>(self)->Finished();
}

void BackgroundRefresh::OnStreamReleased(RequestStream* /*stream*/) { Finished(); }

void BackgroundRefresh::Finished() {
  if (finished_) return;
  finished_ = true;
  auto it = cache_->refreshing.find(key_);
  if (it != cache_->refreshing.end() && it->second == this) cache_->refreshing.erase(it);
  services_->timers().Schedule(&free_timer_, services_->now_ns());
}

void BackgroundRefresh::Free(void* self) { delete static_cast<BackgroundRefresh*>(self); }

}  // namespace edge::l7
