#include "l7/codec/http1_codec.h"

#include "absl/strings/str_format.h"
#include "common/http/response_writer.h"
#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "common/uring/string_pool.h"
#include "l7/server/http_limits.h"
#include "l7/server/request_id.h"
#include "l7/stream/request_stream.h"

namespace edge::l7 {
namespace {

// A response head's or a chunk's framing on its way to the connection's output (which copies
// it): one buffer per thread, emptied, its capacity kept, so that no connection holds one.
std::string& Scratch() {
  thread_local std::string scratch;
  scratch.clear();
  return scratch;
}

}  // namespace

Http1Codec::Http1Codec(StreamServices* services, ServerCodecCallbacks* callbacks,
                       const net::SocketAddress& peer)
    : services_(services),
      callbacks_(callbacks),
      peer_(peer),
      head_parser_(RequestLimits(services->runtime()->config.limits)) {
  info_.client = peer;
}

void Http1Codec::Start(bool expect_proxy_header, bool draining) {
  state_ = expect_proxy_header ? State::kProxyHeader : State::kHead;
  draining_ = draining;
  http2_ = services_->runtime()->config.http2;
}

// ---- input ----

void Http1Codec::OnData(std::string_view data) {
  if (uring::StringPool* pool = services_->string_pool()) pool->Lend(&in_);
  in_.append(data);
  Process();
}

void Http1Codec::OnEof() {
  eof_ = true;
  switch (state_) {
    case State::kProxyHeader:
      callbacks_->CloseNow();
      break;
    case State::kHead:
      Process();  // answers what is complete, refuses a partial head, then closes
      break;
    case State::kStream:
      if (!body_complete_) {
        services_->stats().CountError("client_closed");
        callbacks_->CloseNow();
      }
      break;
    default:
      break;
  }
}

bool Http1Codec::WantsInput() const {
  switch (state_) {
    case State::kProxyHeader:
    case State::kHead:
      return in_.size() < kHighWater;
    case State::kStream:
      if (!stream_->WantsData()) return false;
      if (!body_complete_) return true;
      return in_.size() < kLowWater && !eof_;  // the next requests, read ahead, bounded
    default:
      return false;
  }
}

bool Http1Codec::ExpectsMuchInput() const {
  return !in_.empty() || (state_ == State::kStream && !body_complete_);
}

bool Http1Codec::Idle() const {
  return (state_ == State::kHead || state_ == State::kProxyHeader) && in_.empty() &&
         callbacks_->output_queued() == 0;
}

void Http1Codec::ReleaseIdleBuffers() {
  // Between requests nothing points into head_ (request_ is parsed anew) and in_ is empty.
  uring::StringPool* pool = services_->string_pool();
  if (pool == nullptr || !Idle()) return;
  pool->Return(&in_);
  pool->Return(&head_);
  chunked_.reset();
}

std::string Http1Codec::TakeInput() {
  std::string out;
  out.swap(in_);
  return out;
}

void Http1Codec::OnOutputDrained(bool below_low_water) {
  if (state_ == State::kStream && below_low_water) stream_->OnOutputDrained();
  // Pipelined requests waited for the answers before them to drain.
  if (state_ == State::kHead && (!in_.empty() || eof_)) Process();
}

void Http1Codec::OnConnectionClosed() {
  const State was = state_;
  state_ = State::kClosed;
  // The tunnel's stream (kFinished after a 101) lasts as long as the connection, too.
  if ((was == State::kStream || was == State::kFinished) && stream_ != nullptr) {
    StreamDecoder* s = stream_;
    stream_ = nullptr;
    s->OnReset();
  }
}

void Http1Codec::Process() {
  if (in_process_) return;  // the running loop below picks up the new state
  in_process_ = true;
  ProcessLoop();
  in_process_ = false;
}

void Http1Codec::ProcessLoop() {
  for (;;) {
    if (state_ == State::kProxyHeader) {
      ProcessProxyHeader();
      if (state_ == State::kProxyHeader) return;
      continue;
    }
    if (state_ == State::kStream) {
      if (body_accepted_) FeedBody();
      return;
    }
    if (state_ != State::kHead) return;
    if (http2_ && next_stream_id_ == 1 && SwitchToHttp2()) return;
    // Pipelined requests wait while earlier answers are still queued beyond the high-water mark.
    if (callbacks_->output_queued() > kHighWater) return;
    if (in_.empty()) {
      if (eof_) {
        state_ = State::kFinished;
        callbacks_->CloseAfterFlush();
      }
      return;
    }
    callbacks_->OnHeadBegun();
    http::ParseResult r = head_parser_.Parse(in_, &request_);
    if (r.need_more()) {
      if (eof_) {
        services_->stats().CountError("incomplete_head");
        request_.Clear();
        SendConnectionResponse(400, "the connection ended inside a request head", {}, nullptr);
      }
      return;
    }
    if (r.error_status()) {
      services_->stats().CountError(
          r.error.status == 400 ? "bad_request" : absl::StrFormat("http_%d", r.error.status));
      LOG_DEBUG("%s: refused request: %d %s", peer_.ToString(), r.error.status, r.error.reason);
      request_.Clear();
      SendConnectionResponse(r.error.status, r.error.reason, {}, nullptr);
      return;
    }
    StartRequest(r.consumed);
  }
}

bool Http1Codec::SwitchToHttp2() {
  // RFC 9113 3.4: a client with prior knowledge (or one that agreed h2 by ALPN) begins with this.
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  if (!alpn_h2_ && !in_.starts_with(kPreface)) {
    // Part of the preface: wait for the rest (as for a request head) unless the client is done.
    if (!in_.empty() && in_.size() < kPreface.size() && kPreface.starts_with(in_) && !eof_) {
      callbacks_->OnHeadBegun();
      return true;
    }
    return false;
  }
  state_ = State::kFinished;
  callbacks_->OnHeadEnded();
  callbacks_->StartHttp2(info_, TakeInput());  // this codec is done
  return true;
}

bool Http1Codec::PeerIsTrustedProxy() const {
  return net::AnyContains(services_->runtime()->config.trusted_proxies, peer_);
}

void Http1Codec::ProcessProxyHeader() {
  const bool trusted = PeerIsTrustedProxy();
  const bool required =
      services_->runtime()->config.proxy_protocol == ProxyProtocolPolicy::kRequired;
  net::ProxyDecodeResult r = net::DecodeProxyHeader(in_);
  if (r.status == net::ProxyDecodeStatus::kNotProxy) {
    if (required) {
      RejectConnection(400, "proxy_missing", "no PROXY header from a trusted proxy");
      return;
    }
    state_ = State::kHead;
    return;
  }
  if (!trusted) {
    // A PROXY header (or the start of one) from a peer that may not send one: someone is trying
    // to choose the client address gw7 reports. Refused even when incomplete.
    if (r.status == net::ProxyDecodeStatus::kNeedMore && in_.size() < 6) return;
    RejectConnection(400, "proxy_untrusted", "PROXY header from an untrusted peer");
    return;
  }
  switch (r.status) {
    case net::ProxyDecodeStatus::kNeedMore:
      return;
    case net::ProxyDecodeStatus::kInvalid:
      RejectConnection(400, "proxy_invalid", absl::StrFormat("invalid PROXY header: %s", r.error));
      return;
    default:
      break;
  }
  if (r.header.has_addresses()) info_.client = r.header.source;
  if (const net::ProxyTlv* alpn = r.header.FindTlv(net::kPp2TypeAlpn))
    alpn_h2_ = alpn->value == "h2";
  if (const net::ProxyTlv* ssl = r.header.FindTlv(net::kPp2TypeSsl)) {
    auto info = net::ParseProxySslTlv(ssl->value);
    info_.tls = info.ok() && (info->client & net::kPp2ClientSsl) != 0;
  }
  ++services_->stats().proxy_headers;
  in_.erase(0, r.consumed);
  state_ = State::kHead;
}

void Http1Codec::RejectConnection(int status, std::string_view kind, std::string_view reason) {
  services_->stats().CountError(kind);
  LOG_INFO("%s: %s", peer_.ToString(), reason);
  SendConnectionResponse(status, reason, {}, nullptr);
}

void Http1Codec::StartRequest(size_t head_bytes) {
  // The views of request_ must outlive in_'s changes: they move with the head's bytes.
  if (uring::StringPool* pool = services_->string_pool()) pool->Lend(&head_);
  head_.assign(in_, 0, head_bytes);
  request_.Relocate({in_.data(), head_bytes, head_.data()});
  in_.erase(0, head_bytes);
  head_parser_.Reset();
  callbacks_->OnHeadEnded();
  have_request_ = true;
  body_accepted_ = false;
  response_head_ = nullptr;
  state_ = State::kStream;  // the body belongs to this request
  close_after_response_ = !request_.keep_alive || draining_ || services_->draining();
  switch (request_.body.kind) {
    case http::BodyKind::kContentLength:
      body_left_ = request_.body.length;
      body_complete_ = body_left_ == 0;
      break;
    case http::BodyKind::kChunked:
      if (chunked_ == nullptr) {
        chunked_ = std::make_unique<http::ChunkedDecoder>(
            RequestChunkedLimits(services_->runtime()->config.limits));
      } else {
        *chunked_ = http::ChunkedDecoder(RequestChunkedLimits(services_->runtime()->config.limits));
      }
      body_complete_ = false;
      break;
    default:
      body_left_ = 0;
      body_complete_ = true;
      break;
  }
  info_.draining = draining_;
  stream_ = callbacks_->NewStream(next_stream_id_);
  stream_->DecodeHead(next_stream_id_++, request_, info_, this);
}

void Http1Codec::AcceptBody() {
  body_accepted_ = true;
  // The client waits for our word before it sends the body; one that sent it already gets none.
  if (request_.expect_continue && !body_complete_ && in_.empty()) {
    callbacks_->Write(http::kContinueResponse);
  }
}

void Http1Codec::ReadBody() {
  if (state_ == State::kClosed) return;
  Process();
  callbacks_->ReadMore();
}

void Http1Codec::FeedBody() {
  StreamDecoder* stream = stream_;
  while (!body_complete_ && !in_.empty() && state_ == State::kStream && stream_ == stream) {
    if (request_.body.kind == http::BodyKind::kContentLength) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(body_left_, in_.size()));
      body_left_ -= n;
      body_complete_ = body_left_ == 0;
      stream->DecodeData(std::string_view(in_).substr(0, n));
      in_.erase(0, n);
      if (body_complete_ && state_ == State::kStream && stream_ == stream) {
        stream->DecodeEnd(nullptr);
      }
      continue;
    }
    http::ChunkedResult r = chunked_->Decode(in_);
    switch (r.status) {
      case http::ChunkedStatus::kData:
        stream->DecodeData(r.data);
        in_.erase(0, r.consumed);
        break;
      case http::ChunkedStatus::kNeedMore:
        in_.erase(0, r.consumed);
        return;
      case http::ChunkedStatus::kDone:
        body_complete_ = true;
        stream->DecodeEnd(&chunked_->trailers());  // they point into in_: before erasing
        in_.erase(0, r.consumed);
        break;
      case http::ChunkedStatus::kError:
        services_->stats().CountError("bad_request_body");
        stream->DecodeError(r.error.status, r.error.reason);
        return;
    }
  }
}

// ---- output ----

void Http1Codec::EncodeHead(const http::HttpResponse& head,
                            const std::vector<std::pair<std::string, std::string>>* extra_fields,
                            std::string_view request_id) {
  if (state_ != State::kStream) return;
  response_head_ = &head;
  response_status_ = head.status;
  framing_ = ChooseClientFraming(head, request_.version);
  if (!body_complete_ || draining_ || services_->draining() ||
      framing_ == ClientFraming::kUntilClose) {
    close_after_response_ = true;
  }
  ClientResponseOptions options;
  options.framing = framing_;
  options.keep_alive = !close_after_response_;
  options.client_version = request_.version;
  options.request_id = request_id;
  options.extra_headers = extra_fields;
  std::string& scratch = Scratch();
  AppendClientResponseHead(head, options, &scratch);
  callbacks_->Write(scratch);
}

void Http1Codec::EncodeData(std::string_view data) {
  if (state_ != State::kStream || data.empty()) return;
  if (framing_ == ClientFraming::kChunked) {
    std::string& scratch = Scratch();
    AppendChunk(data, &scratch);
    callbacks_->Write(scratch);
  } else {
    callbacks_->Write(data);
  }
}

void Http1Codec::EncodeEnd(const http::HttpHeaders* trailers) {
  if (state_ != State::kStream) return;
  if (framing_ == ClientFraming::kChunked) {
    if (trailers != nullptr && !trailers->empty()) {
      std::string& scratch = Scratch();
      AppendClientLastChunk(*trailers, response_head_->headers, &scratch);
      callbacks_->Write(scratch);
    } else {
      callbacks_->Write(kLastChunk);
    }
  }
  CompleteStream(response_status_);
}

void Http1Codec::EncodeLocal(int status, const std::vector<http::HttpHeader>& fields,
                             std::string_view body, bool close_connection) {
  if (state_ != State::kStream) return;
  callbacks_->OnHeadEnded();
  if (close_connection || !body_complete_) close_after_response_ = true;
  http::ResponseOptions options;
  options.keep_alive = !close_after_response_;
  options.head_request = request_.method == http::Method::kHead;
  options.client_version = request_.version;
  std::string text;
  if (!http::AppendResponse(status, fields, body, options, &text).ok()) {
    close_after_response_ = true;
    text = http::ErrorResponse(500, "a filter produced an invalid response");
  }
  callbacks_->Write(text);
  CompleteStream(status);
}

void Http1Codec::EncodeUpgrade(const http::HttpResponse& head,
                               const std::vector<std::pair<std::string, std::string>>* extra_fields,
                               std::string_view request_id, UpstreamLink* link,
                               std::string_view first_bytes) {
  if (state_ != State::kStream) return;
  ClientResponseOptions options;
  options.upgrade = true;
  options.client_version = request_.version;
  options.request_id = request_id;
  options.extra_headers = extra_fields;
  std::string& scratch = Scratch();
  AppendClientResponseHead(head, options, &scratch);
  callbacks_->Write(scratch);
  // The stream stays until the connection closes (OnConnectionClosed resets it).
  state_ = State::kFinished;
  close_after_response_ = true;
  callbacks_->StartTunnel(link, first_bytes, TakeInput());
}

void Http1Codec::Reset() {
  if (state_ != State::kStream) return;
  callbacks_->CloseNow();
}

void Http1Codec::CompleteStream(int status) {
  StreamDecoder* stream = stream_;
  stream_ = nullptr;
  state_ = State::kHead;
  have_request_ = false;
  response_head_ = nullptr;
  stream->OnStreamComplete(status);
  if (close_after_response_) {
    state_ = State::kFinished;
    callbacks_->CloseAfterFlush();
    return;
  }
  callbacks_->OnIdle();
  Process();  // pipelined requests (a no-op when called from inside Process)
  callbacks_->ReadMore();
}

void Http1Codec::SendConnectionResponse(
    int status, std::string_view message, std::string_view request_id,
    const std::vector<std::pair<std::string, std::string>>* extra) {
  if (state_ == State::kClosed || state_ == State::kFinished) return;
  callbacks_->OnHeadEnded();
  // Every answer carries a request id, as the client's error report and the log line's key.
  std::string assigned;
  if (request_id.empty()) {
    services_->request_ids().AssignNext(&assigned);
    request_id = assigned;
  }
  std::vector<http::HttpHeader> fields;
  fields.push_back({"Content-Type", "application/json"});
  if (!request_id.empty()) fields.push_back({"X-Request-Id", request_id});
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) {
      if (IsSafeExtraField(name, value)) fields.push_back({name, value});
    }
  }
  http::ResponseOptions options;
  options.keep_alive = false;
  std::string text;
  if (!http::AppendResponse(status, fields, ErrorBodyWithRequestId(status, message, request_id),
                            options, &text)
           .ok()) {
    text = http::ErrorResponse(500, "an invalid response");
  }
  callbacks_->Write(text);
  services_->stats().CountResponse("", status);
  const RequestEnd end = status == 408   ? RequestEnd::kTimeout
                         : status == 503 ? RequestEnd::kRefused
                                         : RequestEnd::kClientError;
  ReportConnectionResponse(services_, info_.client, status, end, request_id, in_.size(),
                           text.size());
  state_ = State::kFinished;
  callbacks_->CloseAfterFlush();
}

}  // namespace edge::l7
