#include "l7/stream/request_stream.h"

#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/http/authority.h"
#include "common/http/response_writer.h"
#include "common/log.h"
#include "l7/codec/http1_response_writer.h"
#include "l7/filters/field_spelling.h"
#include "l7/observe/request_observer.h"
#include "l7/observe/traceparent.h"
#include "l7/router/path_normalizer.h"
#include "l7/server/request_id.h"
#include "l7/stream/grpc_status.h"

namespace edge::l7 {

void ReportConnectionResponse(StreamServices* services, const net::SocketAddress& client,
                              int status, RequestEnd end, std::string_view request_id,
                              uint64_t bytes_in, uint64_t bytes_out) {
  RequestObserver* observer = services->request_observer();
  if (observer == nullptr) return;
  AccessRecord r;
  r.start_unix_ns = absl::GetCurrentTimeNanos();
  r.request_id = request_id;
  r.client = client;
  r.status = status;
  r.bytes_in = bytes_in;
  r.bytes_out = bytes_out;
  r.end = end;
  observer->OnRequestEnd(r);
}

RequestStream::RequestStream(StreamServices* services, StreamOwner* owner)
    : services_(services), owner_(owner) {}

RequestStream::~RequestStream() {
  if (responder_ != nullptr) {
    Responder* r = responder_;
    responder_ = nullptr;
    r->OnStreamReset();
  }
  EndFilters();
}

std::optional<std::string_view> RequestStream::header(std::string_view name) const {
  const http::HttpHeader* h = request_->headers.Find(name);
  if (h == nullptr) return std::nullopt;
  return h->value;
}

size_t RequestStream::header_count(std::string_view name) const {
  size_t n = 0;
  for (const http::HttpHeader& h : request_->headers) n += SameFieldSpelling(h.name, name) ? 1 : 0;
  return n;
}

std::string_view RequestStream::route_name() const {
  return route_ != nullptr ? std::string_view(route_->config->name) : std::string_view();
}

void RequestStream::DecodeHead(StreamId /*id*/, const http::HttpRequest& request,
                               const StreamConnectionInfo& info, CodecStream* codec) {
  codec_ = codec;
  request_ = &request;
  info_ = info;
  active_ = true;
  reset_ = false;
  response_started_ = false;
  route_ = nullptr;
  responder_ = nullptr;
  responder_index_ = 0;
  replacer_index_ = kNoReplacer;
  encoder_index_ = kNoEncoder;
  runtime_ = services_->runtime();
  start_ns_ = services_->now_ns();
  start_unix_ns_ = absl::GetCurrentTimeNanos();
  filters_ns_ = 0;
  bytes_in_ = 0;
  bytes_out_ = 0;
  end_hint_ = RequestEnd::kCompleted;
  reported_ = false;
  status_sent_ = 0;
  host_.clear();
  http::Authority authority;
  if (!request.authority.empty() && http::ParseAuthority(request.authority, &authority)) {
    host_.assign(authority.host);
    for (char& c : host_) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (host_.ends_with('.')) host_.pop_back();  // "example.com." names "example.com"
  }
  std::optional<std::string_view> id = header("x-request-id");
  if (id && IsValidRequestId(*id)) {
    request_id_.assign(*id);
  } else {
    services_->request_ids().AssignNext(&request_id_);
  }
  DecideTraceContext();
  // A body would be read as tunnel data by one side and as a request by the other: an upgrade
  // request with a body goes upstream as an ordinary request.
  upgrade_ = request.upgrade && codec->body_complete();
  if (request.method == http::Method::kConnect) {
    end_hint_ = RequestEnd::kClientError;
    LocalResponse(501, "CONNECT is not supported", true);
    return;
  }
  // Route on, filter on and forward the path the upstream will act on (path_normalizer.h).
  path_ = request.path;
  const PathRefusal refusal =
      NormalizePath(request.path, runtime_->config.path_normalization, &path_buffer_, &path_);
  if (refusal != PathRefusal::kNone) {
    services_->stats().CountError(RefusalKind(refusal));
    LOG_DEBUG("%s: %s: %s", info_.client.ToString(), RefusalMessage(refusal), request.path);
    end_hint_ = RequestEnd::kClientError;
    LocalResponse(400, RefusalMessage(refusal), true);
    return;
  }
  RouteMatch m = runtime_->router->Match(
      host_, path_, request.method_name,
      [this](std::string_view name) -> std::optional<std::string_view> { return header(name); });
  if (m.outcome == RouteMatch::kCaseMismatch) {
    services_->stats().CountError("case_mismatch");
    LOG_DEBUG("%s: path %s differs only in case from a route with auth", info_.client.ToString(),
              path_);
    LocalResponse(404, "no route for this request", false);
    return;
  }
  if (m.outcome == RouteMatch::kNotFound) {
    services_->stats().CountError("no_route");  // as Envoy's no_route: scans, stale clients
    LocalResponse(404, "no route for this request", false);
    return;
  }
  if (m.outcome == RouteMatch::kMethodNotAllowed) {
    std::vector<std::pair<std::string, std::string>> allow = {{"Allow", m.allow}};
    LocalResponse(405, "method not allowed on this route", false, &allow);
    return;
  }
  route_ = &runtime_->routes[static_cast<size_t>(m.route_index)];
  upstream_path_ = std::move(m.upstream_path);
  path_params_ = std::move(m.params);
  // gw7's own request (a cache's background refresh) starts at the filter that made it: the
  // filters before it (auth, limits) admitted the client request it was made for.
  size_t first = 0;
  if (info.first_filter != nullptr) {
    const auto& filters = route_->filters;
    while (first < filters.size() && filters[first].get() != info.first_filter) ++first;
    if (first == filters.size()) {  // the route changed meanwhile (a reload)
      LocalResponse(503, "the route changed", false);
      return;
    }
  }
  ctx_.emplace(*this, this);
  if (info.admitted_as != nullptr) {
    ctx_->identity = info.admitted_as->identity;
    ctx_->upstream_remove_headers = info.admitted_as->upstream_remove_headers;
    ctx_->upstream_add_headers = info.admitted_as->upstream_add_headers;
    ctx_->upstream_query = info.admitted_as->upstream_query;
  } else {
    ctx_->upstream_remove_headers.emplace_back("traceparent");
    ctx_->upstream_add_headers.emplace_back("traceparent", traceparent_out_);
  }
  RunFilters(first);
}

void RequestStream::DecideTraceContext() {
  // Two fields are as invalid as twenty: the header is not a list.
  std::string_view fields[2];
  size_t n = 0;
  for (const http::HttpHeader& h : request_->headers) {
    if (!http::EqualsIgnoreCase(h.name, "traceparent")) continue;
    fields[n++] = h.value;
    if (n == std::size(fields)) break;
  }
  const TraceDecision d =
      DecideTrace(std::span<const std::string_view>(fields, n), /*sample_new=*/false);
  // One formatting; the ids are parts of it (the strings keep their capacity across requests).
  d.outgoing.FormatTo(&traceparent_out_);
  trace_id_.assign(traceparent_out_, TraceContext::kTraceIdAt, TraceContext::kTraceIdLength);
  span_id_.assign(traceparent_out_, TraceContext::kParentIdAt, TraceContext::kParentIdLength);
}

void RequestStream::RunFilters(size_t from) {
  const auto& filters = route_->filters;
  for (size_t i = from; i < filters.size(); ++i) {
    responder_index_ = i;
    // Nothing of this request may be touched once a filter has answered: the answer may have
    // ended the request and the next one may already be running in this object.
    switch (filters[i]->OnRequest(*ctx_, this)) {
      case FilterStatus::kContinue:
        continue;
      case FilterStatus::kSuspend:
        filter_index_ = i + 1;
        suspended_ = true;
        return;
      case FilterStatus::kRespond:
        filters_ns_ = services_->now_ns() - start_ns_;
        return;
      case FilterStatus::kStop:
        services_->stats().CountError(ctx_->error_kind.empty()
                                          ? absl::StrFormat("filter_%s", filters[i]->name())
                                          : std::string(ctx_->error_kind));
        filters_ns_ = services_->now_ns() - start_ns_;
        AnswerStop();
        return;
    }
  }
  // Every route ends with the proxy filter, which answers: a chain that runs out is a bug.
  responder_index_ = filters.size();
  LOG_ERROR("route \"%s\": no filter answered request %s", route_name(), request_id_);
  LocalResponse(500, "the request was not answered", false);
}

void RequestStream::AnswerStop() {
  end_hint_ = RequestEnd::kRefused;
  LocalResponse(ctx_->stop_status, "", false, &ctx_->response_headers, ctx_->stop_content_type,
                ctx_->stop_body);
}

void RequestStream::Resume(FilterStatus status) {
  suspended_ = false;
  if (reset_) {
    // The client went away meanwhile: the request ends here, and the stream may go.
    EndFilters();
    Finish();
    owner_->OnStreamReleased(this);  // may destroy this
    return;
  }
  if (!active_) return;
  if (status == FilterStatus::kStop) {
    AnswerStop();
  } else {
    // kRespond: the suspending filter (the one before filter_index_) runs again.
    RunFilters(status == FilterStatus::kRespond ? filter_index_ - 1 : filter_index_);
  }
  // Input waited while the filter held the request: the body (or the next request) goes on.
  if (codec_ != nullptr) codec_->ReadBody();
}

bool RequestStream::WantsData() const {
  if (suspended_) return false;
  if (codec_->body_complete() || responder_ == nullptr) return true;
  return responder_->WantsRequestData();
}

void RequestStream::DecodeData(std::string_view data) {
  bytes_in_ += data.size();
  if (responder_ != nullptr) responder_->OnRequestData(data);
}

void RequestStream::DecodeEnd(const http::HttpHeaders* trailers) {
  if (responder_ != nullptr) responder_->OnRequestEnd(trailers);
}

void RequestStream::DecodeError(int status, std::string_view reason) {
  if (responder_ != nullptr) {
    Responder* r = responder_;
    responder_ = nullptr;
    r->OnRequestError();
  }
  if (!active_) return;
  end_hint_ = RequestEnd::kClientError;
  if (!response_started_) {
    LocalResponse(status, reason, true);
  } else {
    codec_->Reset();
  }
}

void RequestStream::OnOutputDrained() {
  if (responder_ != nullptr) responder_->OnResponseDrained();
}

template <typename Fn>
void RequestStream::ForEachResponseFilter(Fn&& fn) {
  if (!ctx_ || route_ == nullptr) return;
  for (size_t i = responder_index_; i-- > 0;) fn(*route_->filters[i]);
}

bool RequestStream::TakenOver(const http::HttpResponse& head) {
  if (replacer_index_ != kNoReplacer) return true;
  if (!ctx_ || route_ == nullptr) return false;
  for (size_t i = responder_index_; i-- > 0;) {
    if (route_->filters[i]->TakeOverResponse(*ctx_, head)) {
      replacer_index_ = i;
      return true;
    }
  }
  return false;
}

void RequestStream::Replace() {
  // The dropped response is over; its producer touches nothing of the request from here on. The
  // replacing filter answers as a responder, and the filters before it see that answer.
  responder_ = nullptr;
  responder_index_ = replacer_index_;
  replacer_index_ = kNoReplacer;
  route_->filters[responder_index_]->ReplaceResponse(*ctx_);
}

void RequestStream::SendHead(const http::HttpResponse& head) {
  if (TakenOver(head)) return;  // dropped: see Filter::TakeOverResponse
  response_started_ = true;
  status_sent_ = head.status;
  encoder_index_ = kNoEncoder;
  for (size_t i = responder_index_; i-- > 0;) {
    route_->filters[i]->OnResponseHead(*ctx_, head);
    if (encoder_index_ == kNoEncoder && ctx_->response_encoder != nullptr) encoder_index_ = i;
  }
  if (ctx_->response_remove_headers.empty() && encoder_index_ == kNoEncoder) {
    codec_->EncodeHead(head, &ctx_->response_headers, request_id_);
    return;
  }
  codec_->EncodeHead(EditedHead(head), &ctx_->response_headers, request_id_);
}

const http::HttpResponse& RequestStream::EditedHead(const http::HttpResponse& head) {
  // A copy of the head without the removed fields; its views still point where the producer's
  // do, which stay valid until SendEnd / Reset (FilterStream::SendHead), as long as this copy is
  // used.
  const bool encoded = encoder_index_ != kNoEncoder;
  edited_head_.Clear();
  edited_head_.version = head.version;
  edited_head_.status = head.status;
  edited_head_.reason = head.reason;
  edited_head_.keep_alive = head.keep_alive;
  edited_head_.body = head.body;
  if (encoded && head.body.kind == http::BodyKind::kContentLength) {
    // The encoded length is unknown until the end: the codec frames the body (HTTP/1.1 chunked,
    // HTTP/1.0 until close, HTTP/2 DATA frames).
    edited_head_.body = http::BodyFraming{http::BodyKind::kChunked, 0};
  }
  for (const http::HttpHeader& h : head.headers) {
    if (encoded && http::EqualsIgnoreCase(h.name, "content-length")) continue;
    bool removed = false;
    for (const std::string& name : ctx_->response_remove_headers) {
      if (http::EqualsIgnoreCase(h.name, name)) {
        removed = true;
        break;
      }
    }
    if (!removed) edited_head_.headers.Add(h.name, h.value);
  }
  return edited_head_;
}

void RequestStream::SendData(std::string_view data) {
  if (replacer_index_ != kNoReplacer) {
    route_->filters[replacer_index_]->OnTakenOverData(*ctx_, data);
    return;
  }
  if (encoder_index_ == kNoEncoder) {
    bytes_out_ += data.size();
    ForEachResponseFilter([&](Filter& f) { f.OnResponseData(*ctx_, data); });
    codec_->EncodeData(data);
    return;
  }
  // The filters after the encoding one (nearer the responder) see the body as produced; the
  // encoder's own filter too; those before it and the client see it encoded.
  for (size_t i = responder_index_; i-- > encoder_index_;) {
    route_->filters[i]->OnResponseData(*ctx_, data);
  }
  encoded_.clear();
  ctx_->response_encoder->Encode(data, &encoded_);
  SendEncoded();
}

void RequestStream::SendEncoded() {
  if (encoded_.empty()) return;
  bytes_out_ += encoded_.size();
  for (size_t i = encoder_index_; i-- > 0;) route_->filters[i]->OnResponseData(*ctx_, encoded_);
  codec_->EncodeData(encoded_);
}

void RequestStream::SendEnd(const http::HttpHeaders* trailers) {
  if (replacer_index_ != kNoReplacer) return Replace();
  responder_ = nullptr;
  if (encoder_index_ != kNoEncoder) {
    encoded_.clear();
    ctx_->response_encoder->Finish(&encoded_);
    SendEncoded();
    encoder_index_ = kNoEncoder;
  }
  ForEachResponseFilter([&](Filter& f) { f.OnResponseEnd(*ctx_, trailers); });
  codec_->EncodeEnd(trailers);
}

void RequestStream::SendLocal(int status, std::string_view message) {
  http::HttpResponse head;  // what a filter taking it over sees of gw7's own answer
  head.status = static_cast<uint16_t>(status);
  if (TakenOver(head)) return Replace();
  responder_ = nullptr;
  end_hint_ = status == 504 ? RequestEnd::kTimeout : RequestEnd::kUpstreamError;
  LocalResponse(status, message, false);
}

void RequestStream::SendUpgrade(const http::HttpResponse& head, UpstreamLink* link,
                                std::string_view first_bytes) {
  responder_ = nullptr;
  response_started_ = true;
  ForEachResponseFilter([&](Filter& f) { f.OnResponseHead(*ctx_, head); });
  services_->stats().CountResponse(route_name(), head.status);
  Report(head.status, RequestEnd::kCompleted);  // the tunnel's own life is not the request's
  // The request lasts as long as the tunnel: its filters end (a concurrency slot is given back)
  // when the connection closes (OnReset).
  codec_->EncodeUpgrade(head, &ctx_->response_headers, request_id_, link, first_bytes);
}

void RequestStream::Reset() {
  if (replacer_index_ != kNoReplacer) return Replace();  // the dropped body broke off: no matter
  responder_ = nullptr;
  end_hint_ = RequestEnd::kUpstreamError;
  codec_->Reset();
}

void RequestStream::LocalResponse(int status, std::string_view message, bool close_connection,
                                  const std::vector<std::pair<std::string, std::string>>* extra,
                                  std::string_view content_type, std::string_view body) {
  // The filters' fields (RateLimit-*) go on gw7's own answers too (502, 503, 504).
  if (extra == nullptr && ctx_) extra = &ctx_->response_headers;
  if (ctx_ && route_ != nullptr && responder_index_ > 0) {
    http::HttpResponse head;
    head.status = static_cast<uint16_t>(status);
    ForEachResponseFilter([&](Filter& f) { f.OnResponseHead(*ctx_, head); });
    // gw7's own answers are small and written whole: never encoded.
    ctx_->response_encoder.reset();
    encoder_index_ = kNoEncoder;
  }
  if (request_ != nullptr && IsGrpcRequest(request_->headers)) {
    GrpcLocalResponse(status, message, close_connection, extra);
    return;
  }
  std::string body_text =
      body.empty() ? ErrorBodyWithRequestId(status, message, request_id_) : std::string(body);
  std::vector<http::HttpHeader> fields;
  fields.push_back({"Content-Type", content_type});
  if (!request_id_.empty()) fields.push_back({"X-Request-Id", request_id_});
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) {
      if (IsSafeExtraField(name, value)) fields.push_back({name, value});
    }
  }
  response_started_ = true;
  status_sent_ = status;
  bytes_out_ += body_text.size();
  codec_->EncodeLocal(status, fields, body_text, close_connection);
}

void RequestStream::GrpcLocalResponse(
    int status, std::string_view message, bool close_connection,
    const std::vector<std::pair<std::string, std::string>>* extra) {
  // A gRPC client reads grpc-status, not the HTTP status: trailers-only (grpc_status.h).
  char code[4];
  const int grpc = static_cast<int>(GrpcCodeForHttpStatus(status));
  const int len = std::snprintf(code, sizeof(code), "%d", grpc);
  const std::string grpc_message = GrpcMessageEncode(
      message.empty() ? absl::StrFormat("gateway refused the request (HTTP %d)", status)
                      : absl::StrFormat("%s (HTTP %d)", message, status));
  std::vector<http::HttpHeader> fields;
  fields.push_back({"content-type", "application/grpc"});
  fields.push_back({"grpc-status", std::string_view(code, static_cast<size_t>(len))});
  fields.push_back({"grpc-message", grpc_message});
  if (!request_id_.empty()) fields.push_back({"x-request-id", request_id_});
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) {
      if (IsSafeExtraField(name, value)) fields.push_back({name, value});
    }
  }
  response_started_ = true;
  // Counted and logged as the HTTP status the refusal stands for (a 429 is a 4xx in
  // gw7_requests_total even though gRPC makes it a 200 on the wire).
  status_sent_ = status;
  codec_->EncodeLocal(200, fields, {}, close_connection);
}

void RequestStream::OnStreamComplete(int status) {
  // The codec says what went on the wire; a gRPC refusal's own status is what it meant.
  if (status_sent_ != 0) status = status_sent_;
  services_->stats().CountResponse(route_name(), status);
  Report(status, end_hint_);
  EndFilters();
  Finish();
}

void RequestStream::OnReset() {
  if (!active_) return;
  Report(status_sent_, end_hint_ == RequestEnd::kCompleted ? RequestEnd::kClientGone : end_hint_);
  if (responder_ != nullptr) {
    Responder* r = responder_;
    responder_ = nullptr;
    r->OnStreamReset();
  }
  if (suspended_) {
    // A suspended filter still writes into the context when it resumes: the end waits for that.
    reset_ = true;
    return;
  }
  EndFilters();
  Finish();
}

void RequestStream::Report(int status, RequestEnd end) {
  if (reported_) return;
  reported_ = true;
  RequestObserver* observer = services_->request_observer();
  if (observer == nullptr || request_ == nullptr) return;
  AccessRecord r;
  r.start_unix_ns = start_unix_ns_;
  r.request_id = request_id_;
  r.trace_id = trace_id_;
  r.span_id = span_id_;
  r.client = info_.client;
  r.route = route_name();
  r.method = request_->method_name;
  r.host = host_;
  r.target = request_->target;
  r.protocol = info_.protocol;
  r.user_agent = header("user-agent").value_or(std::string_view());
  r.status = status;
  r.bytes_in = bytes_in_;
  r.bytes_out = bytes_out_;
  r.duration_ns = services_->now_ns() - start_ns_;
  r.filters_ns = filters_ns_;
  r.end = end;
  if (ctx_) {
    const RequestReport& rep = ctx_->report;
    r.consumer = ctx_->identity.consumer;
    r.auth = rep.auth;
    r.rate_limit = rep.rate_limit;
    r.cache = rep.cache;
    r.upstream = rep.upstream;
    if (rep.upstream_server.valid()) {
      upstream_server_text_ = rep.upstream_server.ToString();
      r.upstream_server = upstream_server_text_;
    }
    r.upstream_connect_ns = rep.upstream_connect_ns;
    r.upstream_first_byte_ns = rep.upstream_first_byte_ns;
    r.retries = rep.retries;
  }
  observer->OnRequestEnd(r);
}

void RequestStream::EndFilters() {
  if (!ctx_ || suspended_) return;
  if (route_ != nullptr) {
    for (auto& f : route_->filters) f->OnEnd(*ctx_);
  }
  ctx_.reset();
}

void RequestStream::Finish() {
  active_ = false;
  responder_ = nullptr;
  route_ = nullptr;
  request_id_.clear();
  // runtime_ stays until the next request: dropping the last reference to an old generation
  // closes its pools, which is better done outside the response path.
}

}  // namespace edge::l7
