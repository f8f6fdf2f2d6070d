#include "l7/filters/soap/soap_filter.h"

#include <rapidjson/document.h>

#include "absl/strings/str_format.h"
#include "common/log.h"
#include "l7/filters/auth/api_key.h"
#include "l7/filters/transform/field_list.h"
#include "l7/router/path_captures.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {
namespace {

// Fields of the client's request that describe its own body or ask for an encoding gw7 could not
// read back.
constexpr std::string_view kReplacedFields[] = {"content-type", "content-encoding", "soapaction",
                                                "accept-encoding"};

// A JSON body field by its dotted path ("from.account"): its text when it is a string, a number
// (parsed as text, so "10.50" keeps its digits) or a boolean.
std::optional<std::string> BodyField(const rapidjson::Value& root, std::string_view path) {
  const rapidjson::Value* v = &root;
  for (std::string_view step : SplitList(path, '.')) {
    if (!v->IsObject()) return std::nullopt;
    auto it = v->FindMember(rapidjson::Value(
        rapidjson::StringRef(step.data(), static_cast<rapidjson::SizeType>(step.size()))));
    if (it == v->MemberEnd()) return std::nullopt;
    v = &it->value;
  }
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsBool()) return std::string(v->GetBool() ? "true" : "false");
  return std::nullopt;
}

void Count(FilterContext& ctx, SoapOutcome outcome) {
  if (ctx.stream != nullptr) {
    ctx.stream->services().stats().CountSoapTranslation(ctx.request.route_name(),
                                                        static_cast<size_t>(outcome));
  }
}

std::string_view RequestId(const FilterContext& ctx) {
  return ctx.stream != nullptr ? ctx.stream->request_id() : std::string_view("-");
}

}  // namespace

SoapFilter::SoapFilter(std::shared_ptr<const SoapConfig> config, std::string path_template)
    : config_(std::move(config)),
      path_template_(std::move(path_template)),
      request_fields_(SoapRequestFields(config_->version, config_->action)) {
  for (const TemplatePart& part : config_->envelope.parts()) {
    uses_body_ |= part.placeholder && part.placeholder->source == PlaceholderSource::kBody;
  }
}

FilterStatus SoapFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  ctx.upstream_rewriter = this;
  for (std::string_view name : kReplacedFields) ctx.upstream_remove_headers.emplace_back(name);
  for (const auto& field : request_fields_) ctx.upstream_add_headers.push_back(field);
  return FilterStatus::kContinue;
}

absl::Status SoapFilter::Rewrite(FilterContext& ctx, std::string_view client_body,
                                 UpstreamRewrite* out) const {
  auto refuse = [&](std::string message) {
    Count(ctx, SoapOutcome::kBadRequest);
    LOG_INFO("request %s: route \"%s\": not translated to SOAP: %s", RequestId(ctx),
             ctx.request.route_name(), message);
    return absl::InvalidArgumentError(message);
  };
  rapidjson::Document body;
  if (uses_body_) {
    // Iterative: a deeply nested body cannot exhaust the stack. Numbers as text: no rounding.
    body.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(
        client_body.data(), client_body.size());
    if (body.HasParseError() || !body.IsObject()) {
      return refuse("the request body must be a JSON object");
    }
  }
  const std::vector<std::pair<std::string, std::string>> captures =
      PathCaptures(path_template_, ctx.request.path());
  std::string filled;
  absl::Status s = config_->envelope.Fill(
      [&](const Placeholder& p) -> std::optional<std::string> {
        switch (p.source) {
          case PlaceholderSource::kPath:
            for (const auto& [name, value] : captures) {
              if (name == p.name) return value;
            }
            return std::nullopt;
          case PlaceholderSource::kQuery:
            return QueryParameter(ctx.request.query(), p.name);
          case PlaceholderSource::kBody:
            return BodyField(body, p.name);
        }
        return std::nullopt;
      },
      &filled);
  if (!s.ok()) return refuse(std::string(s.message()));
  out->path = config_->path;
  out->query.clear();
  out->body.clear();
  AppendEnvelope(config_->version, config_->wss ? &*config_->wss : nullptr, filled, &out->body);
  return absl::OkStatus();
}

bool SoapFilter::TakeOverResponse(FilterContext& ctx, const http::HttpResponse& head) {
  // An upstream's response has a first-byte time; gw7's own answer for a failed upstream has not.
  if (!ctx.report.upstream_first_byte_ns) return false;
  Pending& p = pending_[&ctx];
  p.status = head.status;
  p.body.clear();
  p.too_large = false;
  return true;
}

void SoapFilter::OnTakenOverData(FilterContext& ctx, std::string_view data) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end() || it->second.too_large) return;
  Pending& p = it->second;
  if (p.body.size() + data.size() > config_->response.limits.max_bytes) {
    p.too_large = true;
    std::string().swap(p.body);
    return;
  }
  p.body.append(data);
}

void SoapFilter::ReplaceResponse(FilterContext& ctx) {
  auto it = pending_.find(&ctx);
  if (it == pending_.end()) {
    ctx.stream->SendLocal(502, "the SOAP service's answer could not be used");
    return;
  }
  SoapAnswer answer =
      it->second.too_large
          ? UnusableAnswer(SoapOutcome::kTooLarge,
                           absl::StrFormat("body over the limit of %d bytes",
                                           config_->response.limits.max_bytes))
          : TranslateSoapResponse(it->second.status, it->second.body, config_->response);
  pending_.erase(it);
  Count(ctx, answer.outcome);
  if (answer.outcome != SoapOutcome::kOk) {
    LOG_INFO("request %s: route \"%s\": SOAP answer %s: %s", RequestId(ctx),
             ctx.request.route_name(), SoapOutcomeName(answer.outcome), answer.detail);
  }
  // Kept here: SendEnd may end the request, and the next one may run in this context's place.
  const std::string json = std::move(answer.json);
  const std::string length = std::to_string(json.size());
  http::HttpResponse head;
  head.status = static_cast<uint16_t>(answer.status);
  head.headers.Add("Content-Type", "application/json");
  head.headers.Add("Content-Length", length);
  head.body = {http::BodyKind::kContentLength, json.size()};
  FilterStream* stream = ctx.stream;
  stream->BeginOutputBatch();
  stream->SendHead(head);
  stream->SendData(json);
  stream->SendEnd(nullptr);
  stream->EndOutputBatch();
}

void SoapFilter::OnEnd(FilterContext& ctx) { pending_.erase(&ctx); }

}  // namespace edge::l7
