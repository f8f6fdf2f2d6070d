#include "l7/filters/aggregate/part_exchange.h"

#include "common/http/chars.h"
#include "common/log.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {
namespace {

// Client fields a part does not get: they would make the upstream answer something the merge
// cannot use (an encoded body, a range, a 304) or name another host.
bool KeptFromParts(std::string_view name) {
  return http::EqualsIgnoreCase(name, "host") || http::EqualsIgnoreCase(name, "accept-encoding") ||
         http::EqualsIgnoreCase(name, "range") || http::EqualsIgnoreCase(name, "if-range") ||
         http::EqualsIgnoreCase(name, "if-match") ||
         http::EqualsIgnoreCase(name, "if-none-match") ||
         http::EqualsIgnoreCase(name, "if-modified-since") ||
         http::EqualsIgnoreCase(name, "if-unmodified-since");
}

}  // namespace

PartExchange::PartExchange(Owner* owner, const LimitsConfig& limits)
    : owner_(owner), exchange_(limits), timer_(&TimerThunk, this) {}

void PartExchange::Start(const ProxyFilter* proxy, const AggregatePartConfig& config,
                         PartTarget target, FilterStream& client, const FilterContext& client_ctx,
                         uint64_t max_bytes, int64_t deadline_ns) {
  client_ = &client;
  max_bytes_ = max_bytes;
  result_ = PartResult{PartOutcome::kOk, {}};
  done_ = false;
  body_delivered_ = false;
  too_large_ = false;
  path_ = std::move(target.path);

  const http::HttpRequest& from = client.http_request();
  request_.Clear();
  request_.method_name = config.method;
  request_.method = http::MethodFromName(config.method);
  request_.target = path_;
  request_.path = path_;
  request_.version = http::HttpVersion::kHttp11;
  request_.body = {http::BodyKind::kNone, 0};
  for (const http::HttpHeader& h : from.headers) {
    if (!KeptFromParts(h.name)) request_.headers.Add(h.name, h.value);
  }

  ctx_.emplace(client_ctx.request, this);
  ctx_->identity = client_ctx.identity;
  ctx_->upstream_remove_headers = client_ctx.upstream_remove_headers;
  ctx_->upstream_add_headers = client_ctx.upstream_add_headers;
  ctx_->upstream_query = std::move(target.query);  // empty: none (never the client's)

  if (deadline_ns != 0) client.services().timers().Schedule(&timer_, deadline_ns);
  exchange_active_ = true;
  exchange_.Start(proxy, *ctx_);
  // The exchange reads the fields only while it writes the head, in Start; they point into the
  // client's buffers, which may move later (the codec relocates only its own request's views).
  request_.headers.Clear();
}

void PartExchange::ReadRequestBody() {
  if (body_delivered_ || responder_ == nullptr) return;
  body_delivered_ = true;
  responder_->OnRequestEnd(nullptr);
}

void PartExchange::SendHead(const http::HttpResponse& head) {
  if (head.status < 200 || head.status > 299) {
    result_.outcome = PartOutcome::kError;
    LOG_INFO("request %s: aggregate part %s answered %d", request_id(), path_, head.status);
  }
}

void PartExchange::SendData(std::string_view data) {
  if (result_.outcome != PartOutcome::kOk) return;  // a non-2xx body, or past the limit
  if (result_.body.size() + data.size() > max_bytes_) {
    result_.outcome = PartOutcome::kTooLarge;
    std::string().swap(result_.body);
    too_large_ = true;
    LOG_INFO("request %s: aggregate part %s: body over %d bytes", request_id(), path_, max_bytes_);
    client_->services().timers().Schedule(&timer_, client_->services().now_ns());
    return;
  }
  result_.body.append(data);
}

void PartExchange::SendEnd(const http::HttpHeaders* /*trailers*/) { Done(result_.outcome); }

void PartExchange::SendLocal(int status, std::string_view /*message*/) {
  // The exchange's own answer: 504 when the upstream did not answer in time, else 502/503.
  Done(status == 504 ? PartOutcome::kTimeout : PartOutcome::kError);
}

void PartExchange::SendUpgrade(const http::HttpResponse& /*head*/, UpstreamLink* link,
                               std::string_view /*first_bytes*/) {
  // Parts never ask for an upgrade (upgrade_requested() is false); an upstream's unasked 101 is
  // a broken answer, and the link is ours to close.
  link->Close();
  Done(PartOutcome::kError);
}

void PartExchange::Reset() { Done(PartOutcome::kError); }

void PartExchange::OnTimer() {
  if (done_) return;
  Cancel(too_large_ ? PartOutcome::kTooLarge : PartOutcome::kTimeout);
  owner_->OnPartDone();
}

void PartExchange::Cancel(PartOutcome outcome) {
  if (done_) return;
  if (exchange_active_) {
    exchange_active_ = false;
    exchange_.OnStreamReset();
  }
  client_->services().timers().Cancel(&timer_);
  result_.outcome = outcome;
  std::string().swap(result_.body);
  done_ = true;
}

void PartExchange::Done(PartOutcome outcome) {
  exchange_active_ = false;
  if (done_) return;
  client_->services().timers().Cancel(&timer_);
  if (result_.outcome == PartOutcome::kOk) result_.outcome = outcome;  // the first failure
  done_ = true;
  owner_->OnPartDone();  // may end the aggregation and start the next request: nothing after
}

}  // namespace edge::l7
