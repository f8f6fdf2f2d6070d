#include "l7/codec/http2_stream.h"

#include <algorithm>
#include <cstring>

#include "absl/time/time.h"
#include "common/http/hop_by_hop.h"
#include "common/log.h"
#include "l7/codec/http1_response_writer.h"
#include "l7/server/request_id.h"
#include "l7/stream/request_stream.h"

namespace edge::l7 {
namespace http2_internal {

void LowerAscii(char* p, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    const uint64_t low7 = w & (kOnes * 0x7f);
    const uint64_t at_least_a = low7 + kOnes * (0x80 - 'A');              // bit 7: byte >= 'A'
    const uint64_t above_z = low7 + kOnes * (0x7f - 'Z');                 // bit 7: byte > 'Z'
    const uint64_t upper = (at_least_a ^ above_z) & ~w & (kOnes * 0x80);  // and ASCII
    w |= upper >> 2;                                                      // 0x80 >> 2 = 0x20
    std::memcpy(p + i, &w, 8);
  }
  for (; i < n; ++i) {
    if (p[i] >= 'A' && p[i] <= 'Z') p[i] = static_cast<char>(p[i] + 32);
  }
}

}  // namespace http2_internal

namespace {

// The three digits of :status (100-999; the parsers and filters produce no others).
std::string_view StatusText(int status, char (&out)[3]) {
  out[0] = static_cast<char>('0' + status / 100 % 10);
  out[1] = static_cast<char>('0' + status / 10 % 10);
  out[2] = static_cast<char>('0' + status % 10);
  return {out, 3};
}

// Fields HTTP/2 forbids in a message (RFC 9113 8.2.2), dropped from relayed responses.
bool IsConnectionSpecific(std::string_view name) {
  return http::EqualsIgnoreCase(name, "connection") || http::EqualsIgnoreCase(name, "keep-alive") ||
         http::EqualsIgnoreCase(name, "proxy-connection") ||
         http::EqualsIgnoreCase(name, "transfer-encoding") ||
         http::EqualsIgnoreCase(name, "upgrade") || http::EqualsIgnoreCase(name, "te");
}

}  // namespace

using http2_internal::FieldBlock;
using http2_internal::OutFields;

// ---- the request ----

void Http2Codec::Stream::OnHeader(std::string_view name, std::string_view value) {
  FieldBlock& block = in_trailers_ ? trailer_block_ : head_;
  if (block.too_large) return;
  const LimitsConfig& limits = codec_->services_->runtime()->config.limits;
  // The HPACK-decoded size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 6.5.2).
  if (block.bytes.size() + name.size() + value.size() + 32 * (block.spans.size() + 1) >
          limits.max_header_bytes ||
      block.spans.size() >= 100 + 4) {
    block.too_large = true;
    return;
  }
  block.Add(name, value);
}

void Http2Codec::Stream::OnRequestHead(bool end_stream) {
  remote_ended_ = end_stream;
  if (head_.too_large) {
    codec_->services_->stats().CountError("h2_header_too_large");
    RefuseHead(431, "request header fields too large");
    return;
  }
  // nghttp2 has checked the pseudo-header fields (present once each, known, before the others),
  // the names (lower case), connection-specific fields and TE (RFC 9113 8.2, 8.3).
  std::string_view method, scheme, authority, path, host;
  bool has_host = false;
  size_t regular = 0;
  for (const FieldBlock::Span& s : head_.spans) {
    const std::string_view name = head_.name(s);
    const std::string_view value = head_.value(s);
    if (name == ":method") {
      method = value;
    } else if (name == ":scheme") {
      scheme = value;
    } else if (name == ":authority") {
      authority = value;
    } else if (name == ":path") {
      path = value;
    } else if (!name.empty() && name[0] == ':') {
      Malformed("unknown pseudo-header field");
      return;
    } else {
      ++regular;
      if (name == "host") {
        if (has_host && value != host) {
          Malformed("two different Host fields");
          return;
        }
        has_host = true;
        host = value;
      }
    }
  }
  if (regular > 100) {
    codec_->services_->stats().CountError("h2_header_too_large");
    RefuseHead(431, "too many request header fields");
    return;
  }
  // Host and :authority must name the same authority (RFC 9113 8.3.1).
  if (has_host && !authority.empty() && host != authority) {
    Malformed("Host differs from :authority");
    return;
  }
  request_.method_name = method;
  request_.method = http::MethodFromName(method);
  request_.version = http::HttpVersion::kHttp11;
  request_.authority = !authority.empty() ? authority : host;
  request_.target = path;
  request_.target_form = path == "*"                                 ? http::TargetForm::kAsterisk
                         : request_.method == http::Method::kConnect ? http::TargetForm::kAuthority
                                                                     : http::TargetForm::kOrigin;
  if (request_.target_form == http::TargetForm::kOrigin) {
    const size_t q = path.find('?');
    request_.path = path.substr(0, q);
    request_.query = q == std::string_view::npos ? std::string_view() : path.substr(q + 1);
  }
  request_.keep_alive = true;
  request_.expect_continue = false;
  request_.upgrade = false;
  std::string_view content_length;
  for (const FieldBlock::Span& s : head_.spans) {
    const std::string_view name = head_.name(s);
    if (name[0] == ':') continue;
    if (name == "content-length") content_length = head_.value(s);
    request_.headers.Add(name, head_.value(s));
  }
  const LimitsConfig& limits = codec_->services_->runtime()->config.limits;
  if (end_stream) {
    request_.body = {http::BodyKind::kNone, 0};
  } else if (!content_length.empty()) {
    // nghttp2 has checked that it is a number and will check the body against it.
    uint64_t length = 0;
    for (char c : content_length) length = length * 10 + static_cast<uint64_t>(c - '0');
    if (length > limits.max_body_bytes) {
      codec_->services_->stats().CountError("http_413");
      RefuseHead(413, "request body too large");
      return;
    }
    request_.body = {http::BodyKind::kContentLength, length};
  } else {
    // Its length unknown: upstream as chunked, which carries trailers too.
    request_.body = {http::BodyKind::kChunked, 0};
  }
  head_request_ = request_.method == http::Method::kHead;
  StreamConnectionInfo info = codec_->info_;
  info.draining = codec_->draining_;
  info.protocol = "HTTP/2";
  decoder_ = codec_->callbacks_->NewStream(static_cast<StreamId>(id_));
  decoder_->DecodeHead(static_cast<StreamId>(id_), request_, info, this);
  if (decoder_ != nullptr && remote_ended_ && !end_delivered_) {
    end_delivered_ = true;
    if (request_.body.kind != http::BodyKind::kNone) decoder_->DecodeEnd(nullptr);
  }
}

void Http2Codec::Stream::OnTrailers() {
  if (trailer_block_.too_large) {
    codec_->services_->stats().CountError("h2_header_too_large");
    Malformed("trailer section too large");
    return;
  }
  trailers_.Clear();
  for (const FieldBlock::Span& s : trailer_block_.spans) {
    trailers_.Add(trailer_block_.name(s), trailer_block_.value(s));
  }
}

void Http2Codec::Stream::OnData(std::string_view data) {
  body_received_ += data.size();
  if (decoder_ == nullptr || body_failed_) {
    // Nobody reads it (answered already, or refused): the window reopens at once.
    nghttp2_session_consume(codec_->session_, id_, data.size());
    return;
  }
  if (body_received_ > codec_->services_->runtime()->config.limits.max_body_bytes) {
    body_failed_ = true;
    codec_->services_->stats().CountError("http_413");
    nghttp2_session_consume(codec_->session_, id_, data.size() + pending_in_.size());
    pending_in_.clear();
    decoder_->DecodeError(413, "request body too large");
    return;
  }
  // Bounded by the stream's flow-control window: more than kStreamWindow cannot arrive unread.
  pending_in_.append(data);
  Deliver();
}

void Http2Codec::Stream::OnRemoteEnd() {
  remote_ended_ = true;
  Deliver();
}

bool Http2Codec::Stream::Deliver() {
  if (decoder_ == nullptr || body_failed_) return false;
  bool consumed = false;
  if (!pending_in_.empty() && body_accepted_ && decoder_->WantsData()) {
    std::string chunk;
    chunk.swap(pending_in_);
    StreamDecoder* d = decoder_;
    d->DecodeData(chunk);
    nghttp2_session_consume(codec_->session_, id_, chunk.size());
    consumed = true;
    if (decoder_ != d) return true;  // the request ended meanwhile
    if (pending_in_.empty()) {       // keep the buffer's capacity for the next bytes
      chunk.clear();
      pending_in_.swap(chunk);
    }
  }
  if (remote_ended_ && pending_in_.empty() && !end_delivered_ && body_accepted_) {
    end_delivered_ = true;
    decoder_->DecodeEnd(trailer_block_.spans.empty() ? nullptr : &trailers_);
  }
  return consumed;
}

void Http2Codec::Stream::OnClosed() {
  if (decoder_ != nullptr) {
    StreamDecoder* d = decoder_;
    decoder_ = nullptr;
    d->OnReset();
  }
}

void Http2Codec::Stream::Malformed(std::string_view why) {
  codec_->services_->stats().CountError("h2_malformed");
  LOG_DEBUG("%s: HTTP/2 stream %d: %s", codec_->info_.client.ToString(), id_, why);
  nghttp2_submit_rst_stream(codec_->session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_PROTOCOL_ERROR);
  OnClosed();
}

void Http2Codec::Stream::RefuseHead(int status, std::string_view message) {
  std::string request_id;
  codec_->services_->request_ids().AssignNext(&request_id);
  const std::vector<http::HttpHeader> fields = {{"content-type", "application/json"},
                                                {"x-request-id", request_id}};
  const std::string body = ErrorBodyWithRequestId(status, message, request_id);
  EncodeLocal(status, fields, body, false);
  codec_->services_->stats().CountResponse("", status);
  // No request stream saw it: logged as an answer to no request (the bytes: the bodies).
  ReportConnectionResponse(codec_->services_, codec_->info_.client, status,
                           RequestEnd::kClientError, request_id, 0, body.size());
}

// ---- the response ----

void Http2Codec::Stream::Submit(OutFields& fields, bool with_body) {
  // nghttp2 points into `fields` instead of copying them: they stay as they are until the stream
  // ends (EncodeHead and EncodeLocal submit once per stream; the object is reused only after the
  // stream is closed, and a HEADERS frame of a closed stream is dropped unread).
  const nghttp2_nv* nva =
      fields.Build(NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE);
  const size_t n = fields.nva.size();
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source* source, void*) -> ssize_t {
    return static_cast<Stream*>(source->ptr)->Read(buf, length, data_flags);
  };
  response_submitted_ = true;
  // Without a body the HEADERS frame ends the stream: a gRPC trailers-only response must be one
  // frame (a client reads grpc-status from it only if it carries END_STREAM).
  if (nghttp2_submit_response(codec_->session_, id_, nva, n, with_body ? &provider : nullptr) !=
      0) {
    nghttp2_submit_rst_stream(codec_->session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  send_progress_ns_ = codec_->services_->now_ns();
  codec_->services_->timers().Schedule(
      &send_timer_,
      send_progress_ns_ +
          absl::ToInt64Nanoseconds(codec_->services_->runtime()->config.limits.send_timeout));
}

void Http2Codec::Stream::CheckSendProgress() {
  if (!in_use_) return;
  const int64_t timeout =
      absl::ToInt64Nanoseconds(codec_->services_->runtime()->config.limits.send_timeout);
  const int64_t now = codec_->services_->now_ns();
  if (!output_pending()) {
    // Waiting for the producer (the upstream), not the client: the upstream's timeouts apply.
    send_progress_ns_ = now;
    codec_->services_->timers().Schedule(&send_timer_, now + timeout);
    return;
  }
  if (now < send_progress_ns_ + timeout) {
    codec_->services_->timers().Schedule(&send_timer_, send_progress_ns_ + timeout);
    return;
  }
  codec_->services_->stats().CountError("h2_send_timeout");
  LOG_DEBUG("%s: HTTP/2 stream %d: no window for %d response bytes within send_timeout; reset",
            codec_->info_.client.ToString(), id_, static_cast<int>(out_.size() - out_at_));
  nghttp2_submit_rst_stream(codec_->session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
  OnClosed();  // the request stream ends now: its upstream connection is released
  codec_->FlushSoon();
}

void Http2Codec::Stream::EncodeHead(
    const http::HttpResponse& head,
    const std::vector<std::pair<std::string, std::string>>* extra_fields,
    std::string_view request_id) {
  if (decoder_ == nullptr || response_submitted_) return;
  if (head.informational()) return;  // 1xx are not relayed (no Expect, no upgrade on HTTP/2)
  status_ = head.status;
  response_fields_.Clear();
  char status[3];
  response_fields_.Add(":status", StatusText(head.status, status));
  for (const http::HttpHeader& h : head.headers) {
    if (IsConnectionSpecific(h.name) || http::EqualsIgnoreCase(h.name, "x-request-id")) continue;
    response_fields_.Add(h.name, h.value);
  }
  if (extra_fields != nullptr) {
    for (const auto& [name, value] : *extra_fields) {
      if (IsSafeExtraField(name, value)) response_fields_.Add(name, value);
    }
  }
  if (!request_id.empty()) {
    response_fields_.Add("x-request-id", request_id, codec_->RequestIdFlags());
  }
  if (head.body.kind == http::BodyKind::kNone) {
    // A head that says no body comes (an HTTP/2 upstream's HEADERS with END_STREAM, a 204): it
    // waits for the end (or unexpected data), so that it can end the stream itself, as a gRPC
    // trailers-only response must (a client reads grpc-status only from a HEADERS frame with
    // END_STREAM).
    head_deferred_ = true;
    return;
  }
  Submit(response_fields_, true);
  codec_->FlushSoon();
}

void Http2Codec::Stream::EncodeData(std::string_view data) {
  if (decoder_ != nullptr && head_deferred_ && !data.empty() && !head_request_) {
    head_deferred_ = false;
    Submit(response_fields_, true);
  }
  if (decoder_ == nullptr || !response_submitted_ || head_request_ || data.empty()) return;
  out_.append(data);
  nghttp2_session_resume_data(codec_->session_, id_);
  codec_->FlushSoon();
}

void Http2Codec::Stream::EncodeEnd(const http::HttpHeaders* trailers) {
  if (decoder_ == nullptr) return;
  if (trailers != nullptr && !trailers->empty() && !head_request_) {
    response_trailers_.Clear();
    for (const http::HttpHeader& t : *trailers) {
      if (IsConnectionSpecific(t.name) || http::IsForbiddenTrailerField(t.name)) continue;
      response_trailers_.Add(t.name, t.value);
    }
    has_response_trailers_ = !response_trailers_.empty();
  }
  out_end_ = true;
  if (head_deferred_) {
    head_deferred_ = false;
    Submit(response_fields_, !out_.empty() || has_response_trailers_);
  } else if (response_submitted_) {
    nghttp2_session_resume_data(codec_->session_, id_);
  }
  Complete(status_);
  codec_->FlushSoon();
}

void Http2Codec::Stream::EncodeLocal(int status, const std::vector<http::HttpHeader>& fields,
                                     std::string_view body, bool /*close_connection*/) {
  // close_connection is an HTTP/1 matter (a byte stream in doubt); an HTTP/2 stream ends alone.
  if (response_submitted_ || !in_use_) return;
  status_ = status;
  response_fields_.Clear();
  char text[3];
  response_fields_.Add(":status", StatusText(status, text));
  for (const http::HttpHeader& f : fields) {
    if (IsConnectionSpecific(f.name)) continue;
    response_fields_.Add(f.name, f.value,
                         http::EqualsIgnoreCase(f.name, "x-request-id")
                             ? codec_->RequestIdFlags()
                             : static_cast<uint8_t>(NGHTTP2_NV_FLAG_NONE));
  }
  response_fields_.Add("content-length", std::to_string(body.size()));
  if (!head_request_) out_.assign(body);
  out_end_ = true;
  Submit(response_fields_, !out_.empty());
  Complete(status);
  codec_->FlushSoon();
}

void Http2Codec::Stream::Reset() {
  nghttp2_submit_rst_stream(codec_->session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
  OnClosed();
  codec_->FlushSoon();
}

void Http2Codec::Stream::Complete(int status) {
  if (decoder_ == nullptr) return;
  StreamDecoder* d = decoder_;
  decoder_ = nullptr;
  // Body bytes nobody will read: their window reopens.
  nghttp2_session_consume(codec_->session_, id_, pending_in_.size());
  pending_in_.clear();
  d->OnStreamComplete(status);
}

ssize_t Http2Codec::Stream::Read(uint8_t* buf, size_t length, uint32_t* data_flags) {
  const size_t before = out_.size() - out_at_;
  const size_t n = std::min(length, before);
  std::memcpy(buf, out_.data() + out_at_, n);
  out_at_ += n;
  if (out_at_ == out_.size()) {
    out_.clear();
    out_at_ = 0;
  }
  const size_t after = out_.size() - out_at_;
  if (before > kLowWater && after <= kLowWater) drained_notice_ = true;
  if (n > 0) send_progress_ns_ = codec_->services_->now_ns();
  if (after == 0 && out_end_) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    eof_sent_ = true;
    if (has_response_trailers_) {
      has_response_trailers_ = false;
      const nghttp2_nv* nva = response_trailers_.Build();
      if (nghttp2_submit_trailer(codec_->session_, id_, nva, response_trailers_.nva.size()) == 0) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

}  // namespace edge::l7
