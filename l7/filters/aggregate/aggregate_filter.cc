#include "l7/filters/aggregate/aggregate_filter.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "l7/filters/aggregate/part_merge.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {

FilterStatus AggregateFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  std::unique_ptr<ResponderState>& slot = ctx.stream->responder_state();
  auto* exchange = dynamic_cast<AggregateExchange*>(slot.get());
  if (exchange == nullptr) {
    slot = std::make_unique<AggregateExchange>(runtime_->config.limits);
    exchange = static_cast<AggregateExchange*>(slot.get());
  }
  exchange->Start(this, ctx);
  return FilterStatus::kRespond;
}

void AggregateExchange::Start(const AggregateFilter* filter, FilterContext& ctx) {
  filter_ = filter;
  stream_ = ctx.stream;
  const AggregateConfig& config = filter->config();
  ctx.report.upstream = config.upstreams;
  StreamServices& services = stream_->services();
  stream_->SetResponder(this);
  stream_->AcceptRequestBody();

  // The query as it would go upstream: a credential a filter removed from it (api_key in the
  // query) is no value a part may take.
  const std::string_view query = ctx.upstream_query ? *ctx.upstream_query : ctx.request.query();
  std::vector<PartTarget> targets;
  targets.reserve(config.parts.size());
  for (const AggregatePartConfig& part : config.parts) {
    absl::StatusOr<PartTarget> t = FillPartTemplate(part.target, stream_->path_params(), query);
    if (!t.ok()) {
      services.stats().CountError("aggregate_bad_value");
      LOG_DEBUG("request %s: aggregate part %s: %s", stream_->request_id(), part.name,
                t.status().message());
      stream_->SendLocal(400, absl::StrFormat("part %s: %s", part.name, t.status().message()));
      return;
    }
    targets.push_back(std::move(*t));
  }

  while (parts_.size() < config.parts.size()) {
    parts_.push_back(std::make_unique<PartExchange>(this, limits_));
  }
  const int64_t now = services.now_ns();
  active_ = true;
  starting_ = true;
  services.timers().Schedule(&deadline_, now + absl::ToInt64Nanoseconds(config.timeout));
  for (size_t i = 0; i < config.parts.size(); ++i) {
    const AggregatePartConfig& part = config.parts[i];
    const int64_t part_deadline =
        part.timeout == absl::InfiniteDuration() ? 0 : now + absl::ToInt64Nanoseconds(part.timeout);
    parts_[i]->Start(filter->part_proxy(i), part, std::move(targets[i]), *stream_, ctx,
                     config.max_part_bytes, part_deadline);
  }
  starting_ = false;
  // The client's body (parts carry none) is read and dropped.
  stream_->ReadRequestBody();
  if (active_) OnPartDone();  // parts may all have ended already (no server for any)
}

void AggregateExchange::OnPartDone() {
  if (!active_ || starting_) return;
  const AggregateConfig& config = filter_->config();
  bool all_done = true;
  std::optional<size_t> failed_required;
  for (size_t i = 0; i < config.parts.size(); ++i) {
    PartExchange& p = *parts_[i];
    if (!p.done()) {
      all_done = false;
    } else if (config.parts[i].required && p.result().outcome != PartOutcome::kOk &&
               !failed_required) {
      failed_required = i;
    }
  }
  if (!all_done && !failed_required) return;
  // A failed required part decides the answer: the others are not waited for.
  CancelParts(PartOutcome::kCancelled);
  Answer(failed_required);
}

void AggregateExchange::OnDeadline() {
  if (!active_) return;
  CancelParts(PartOutcome::kTimeout);
  Answer(std::nullopt);
}

void AggregateExchange::CancelParts(PartOutcome outcome) {
  const size_t n = filter_ != nullptr ? filter_->config().parts.size() : 0;
  for (size_t i = 0; i < n && i < parts_.size(); ++i) parts_[i]->Cancel(outcome);
}

void AggregateExchange::OnStreamReset() {
  if (!active_) return;
  active_ = false;
  stream_->services().timers().Cancel(&deadline_);
  CancelParts(PartOutcome::kCancelled);
}

void AggregateExchange::Answer(std::optional<size_t> failed_required) {
  active_ = false;
  StreamServices& services = stream_->services();
  services.timers().Cancel(&deadline_);
  const AggregateConfig& config = filter_->config();
  results_.resize(config.parts.size());
  for (size_t i = 0; i < config.parts.size(); ++i) results_[i] = std::move(parts_[i]->result());
  MergedAnswer merged =
      failed_required
          ? MergedAnswer{502, RequiredPartFailureBody(config.parts[*failed_required].name,
                                                      results_[*failed_required].outcome,
                                                      stream_->request_id())}
          : MergeParts(config, &results_, stream_->request_id());
  for (size_t i = 0; i < config.parts.size(); ++i) {
    services.stats().CountAggregatePart(filter_->route_name(),
                                        static_cast<size_t>(results_[i].outcome));
    if (results_[i].outcome != PartOutcome::kOk) {
      LOG_INFO("request %s: aggregate part %s: %s%s", stream_->request_id(), config.parts[i].name,
               PartOutcomeName(results_[i].outcome),
               config.parts[i].required ? " (required: 502)" : "");
    }
  }
  body_ = std::move(merged.body);
  http::HttpResponse head;
  head.status = static_cast<uint16_t>(merged.status);
  head.headers.Add("Content-Type", "application/json");
  const std::string length = std::to_string(body_.size());
  head.headers.Add("Content-Length", length);
  // HEAD: the same head, no body (as the cache answers it).
  const bool send_body = stream_->http_request().method != http::Method::kHead;
  head.body = {send_body ? http::BodyKind::kContentLength : http::BodyKind::kNone,
               send_body ? body_.size() : 0};
  FilterStream* stream = stream_;
  stream->BeginOutputBatch();
  stream->SendHead(head);
  if (send_body) stream->SendData(body_);
  // May end the request and start the next one in this object: nothing of it after.
  stream->SendEnd(nullptr);
  stream->EndOutputBatch();
}

}  // namespace edge::l7
