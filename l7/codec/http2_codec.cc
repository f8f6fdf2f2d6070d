#include "l7/codec/http2_codec.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "absl/time/time.h"
#include "common/http/hop_by_hop.h"
#include "common/http/request_parser.h"
#include "common/log.h"
#include "l7/codec/http1_response_writer.h"
#include "l7/server/request_id.h"

namespace edge::l7 {

namespace {

// Rapid reset (CVE-2023-44487): each stream a client opens and resets at once has started a
// request. A token bucket of client resets here (GOAWAY ENHANCE_YOUR_CALM); nghttp2's own one
// (which answers INTERNAL_ERROR) stays as a looser backstop.
constexpr uint64_t kLibraryResetBurst = 1000;
constexpr uint64_t kLibraryResetRate = 100;
constexpr size_t kMaxContinuations = 8;
constexpr size_t kMaxOutboundAck = 1000;
constexpr size_t kMaxSettingsEntries = 32;

std::string ErrorKind(std::string_view prefix, uint32_t code) {
  std::string kind(prefix);
  for (const char* p = nghttp2_http2_strerror(code); *p != '\0'; ++p) {
    kind.push_back(*p >= 'A' && *p <= 'Z' ? static_cast<char>(*p + 32) : *p);
  }
  return kind;
}

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

// A field block being received: the bytes, and where each name and value sits in them (views
// are made once the block is complete, since the buffer may move while it grows).
struct FieldBlock {
  struct Span {
    uint32_t name_at, name_len, value_at, value_len;
  };
  std::string bytes;
  std::vector<Span> spans;
  bool too_large = false;

  void Clear() {
    bytes.clear();
    spans.clear();
    too_large = false;
  }
  void Add(std::string_view name, std::string_view value) {
    Span s{static_cast<uint32_t>(bytes.size()), static_cast<uint32_t>(name.size()), 0,
           static_cast<uint32_t>(value.size())};
    bytes.append(name);
    s.value_at = static_cast<uint32_t>(bytes.size());
    bytes.append(value);
    spans.push_back(s);
  }
  std::string_view name(const Span& s) const { return {bytes.data() + s.name_at, s.name_len}; }
  std::string_view value(const Span& s) const { return {bytes.data() + s.value_at, s.value_len}; }
};

// ASCII upper-case letters to lower case, eight bytes at a time (other bytes unchanged): the
// names of every relayed response field (an HTTP/1 origin's are capitalised).
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

// The response's fields for nghttp2: names lower-cased (HTTP/2 requires it), bytes kept in
// `bytes` and pointed to by `nva` once complete.
struct OutFields {
  struct Span {
    uint32_t at, name_len, value_len;
    uint8_t flags;
  };
  std::string bytes;
  std::vector<Span> spans;
  std::vector<nghttp2_nv> nva;

  void Clear() {
    bytes.clear();
    spans.clear();
    nva.clear();
  }
  // `flags`: NGHTTP2_NV_FLAG_NO_INDEX for a value unique to one response (X-Request-Id): indexed
  // in the HPACK table it would only evict useful entries, and each later field of that name
  // would walk all of them in nghttp2's encoder (one hash chain per name).
  void Add(std::string_view name, std::string_view value, uint8_t flags = NGHTTP2_NV_FLAG_NONE) {
    const size_t at = bytes.size();
    bytes.append(name);
    bytes.append(value);
    LowerAscii(bytes.data() + at, name.size());
    spans.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(name.size()),
                     static_cast<uint32_t>(value.size()), flags});
  }
  bool empty() const { return spans.empty(); }
  // `flags` are added to every field's.
  const nghttp2_nv* Build(uint8_t flags = NGHTTP2_NV_FLAG_NONE) {
    nva.clear();
    uint8_t* base = reinterpret_cast<uint8_t*>(bytes.data());
    for (const Span& s : spans) {
      nva.push_back({base + s.at, base + s.at + s.name_len, s.name_len, s.value_len,
                     static_cast<uint8_t>(s.flags | flags)});
    }
    return nva.data();
  }
};

}  // namespace

// One HTTP/2 stream: the request as received (head, body, trailers) and the response on its way
// out. Reused for later streams of the connection.
class Http2Codec::Stream final : public CodecStream {
 public:
  explicit Stream(Http2Codec* codec) : codec_(codec), send_timer_(&OnSendTimer, this) {}

  void Open(int32_t id) {
    id_ = id;
    in_use_ = true;
    decoder_ = nullptr;
    head_.Clear();
    trailer_block_.Clear();
    in_trailers_ = false;
    remote_ended_ = false;
    end_delivered_ = false;
    body_accepted_ = false;
    body_failed_ = false;
    body_received_ = 0;
    pending_in_.clear();
    request_.Clear();
    trailers_.Clear();
    head_request_ = false;
    out_.clear();
    out_at_ = 0;
    out_end_ = false;
    response_submitted_ = false;
    status_ = 0;
    response_trailers_.Clear();
    has_response_trailers_ = false;
    drained_notice_ = false;
    eof_sent_ = false;
    head_deferred_ = false;
  }

  // CodecStream
  void EncodeHead(const http::HttpResponse& head,
                  const std::vector<std::pair<std::string, std::string>>* extra_fields,
                  std::string_view request_id) override;
  void EncodeData(std::string_view data) override;
  void EncodeEnd(const http::HttpHeaders* trailers) override;
  void EncodeLocal(int status, const std::vector<http::HttpHeader>& fields, std::string_view body,
                   bool close_connection) override;
  void EncodeUpgrade(const http::HttpResponse&,
                     const std::vector<std::pair<std::string, std::string>>*, std::string_view,
                     UpstreamLink*, std::string_view) override {
    Reset();  // HTTP/2 requests never ask for an upgrade (upgrade stays false)
  }
  void Reset() override;
  void AcceptBody() override { body_accepted_ = true; }
  void ReadBody() override {
    // Only a reopened window has to be framed (a body-less request comes here too, once per
    // upstream send that drains).
    if (Deliver()) codec_->FlushSoon();
    codec_->callbacks_->ReadMore();
  }
  bool body_complete() const override { return remote_ended_ && pending_in_.empty(); }
  size_t output_queued() const override {
    return (out_.size() - out_at_) + codec_->callbacks_->output_queued();
  }
  void BeginBatch() override { codec_->BeginBatch(); }
  void EndBatch() override { codec_->EndBatch(); }

  // Codec side.
  void OnHeader(std::string_view name, std::string_view value);
  // The request head is complete (END_HEADERS): checks it and hands it to a request stream.
  void OnRequestHead(bool end_stream);
  void OnTrailers();
  void OnData(std::string_view data);
  void OnRemoteEnd();
  // Passes buffered body bytes to the request stream as far as it takes them now, reopening the
  // flow-control windows by as much (returns whether it did: a WINDOW_UPDATE may be due).
  bool Deliver();
  // The client reset the stream or the connection is gone.
  void OnClosed();
  void BeginTrailers() { in_trailers_ = true; }
  bool remote_ended() const { return remote_ended_; }
  // The stream is gone (closed or the connection is): its send timer goes too.
  void StopSendTimer() { codec_->services_->timers().Cancel(&send_timer_); }
  void NotifyDrained() {
    drained_notice_ = false;
    if (decoder_ != nullptr) decoder_->OnOutputDrained();
  }
  ssize_t Read(uint8_t* buf, size_t length, uint32_t* data_flags);

  int32_t id_ = 0;
  bool in_use_ = false;
  bool drained_notice_ = false;  // output fell below the low-water mark during a flush

 private:
  void Submit(OutFields& fields, bool with_body);
  void Complete(int status);  // the request stream is done with this stream
  void RefuseHead(int status, std::string_view message);
  // A stream error on the request (RFC 9113 8.1.1 "malformed").
  void Malformed(std::string_view why);
  // send_timeout per stream: a response whose bytes wait for a window the client never opens
  // would hold the stream, its buffer and its upstream connection for as long as the client
  // likes (the connection's own send timer sees nothing: no byte is queued on the socket).
  static void OnSendTimer(void* self) { static_cast<Stream*>(self)->CheckSendProgress(); }
  void CheckSendProgress();
  bool output_pending() const { return out_at_ < out_.size() || (out_end_ && !eof_sent_); }

  Http2Codec* codec_;
  StreamDecoder* decoder_ = nullptr;
  FieldBlock head_;
  FieldBlock trailer_block_;
  bool in_trailers_ = false;
  bool remote_ended_ = false;
  bool end_delivered_ = false;
  bool body_accepted_ = false;
  bool body_failed_ = false;
  uint64_t body_received_ = 0;
  std::string pending_in_;
  http::HttpRequest request_;
  http::HttpHeaders trailers_;
  bool head_request_ = false;
  // The response: body bytes not yet framed (from out_at_), whether the end has come.
  std::string out_;
  size_t out_at_ = 0;
  bool out_end_ = false;
  bool response_submitted_ = false;
  bool head_deferred_ = false;  // EncodeHead of a body-less head, submitted at the end
  int status_ = 0;
  OutFields response_fields_;
  OutFields response_trailers_;
  bool has_response_trailers_ = false;
  bool eof_sent_ = false;  // the response's last DATA frame (END_STREAM or trailers) is framed
  uring::Timer send_timer_;
  int64_t send_progress_ns_ = 0;  // the last time response bytes were framed
};

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
  EncodeLocal(status, fields, ErrorBodyWithRequestId(status, message, request_id), false);
  codec_->services_->stats().CountResponse("", status);
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
                         http::EqualsIgnoreCase(f.name, "x-request-id") ? codec_->RequestIdFlags()
                                                                        : NGHTTP2_NV_FLAG_NONE);
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

// ---- the connection ----

Http2Codec::Http2Codec(StreamServices* services, ServerCodecCallbacks* callbacks,
                       const StreamConnectionInfo& info)
    : services_(services), callbacks_(callbacks), info_(info) {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &OnDataChunkRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &OnFrameSend);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, &OnInvalidFrameRecv);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // Windows reopen only as request streams take body bytes (the bound on buffering).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, kHpackTableSize);
  nghttp2_option_set_stream_reset_rate_limit(opt, kLibraryResetBurst, kLibraryResetRate);
  nghttp2_option_set_max_continuations(opt, kMaxContinuations);
  nghttp2_option_set_max_outbound_ack(opt, kMaxOutboundAck);
  nghttp2_option_set_max_settings(opt, kMaxSettingsEntries);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
}

Http2Codec::~Http2Codec() { nghttp2_session_del(session_); }

void Http2Codec::Start(std::string_view input, bool draining) {
  const GatewayConfig& config = services_->runtime()->config;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, config.http2_limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<uint32_t>(config.limits.max_header_bytes)},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, kHpackTableSize},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  ++services_->stats().h2_connections;
  callbacks_->OnIdle();
  if (draining) Drain();
  if (!input.empty()) {
    OnData(input);
  } else {
    Flush();
  }
}

void Http2Codec::OnData(std::string_view data) {
  if (closed_) return;
  // What the callbacks answer at once (a local response, a window update) is framed once, below.
  ++batch_depth_;
  const ssize_t n = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  --batch_depth_;
  if (n < 0) {
    // Fatal errors that nghttp2 answers with no GOAWAY of its own (a bad preface, ...).
    if (n == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
      Fail("h2_bad_preface");
    } else if (n == NGHTTP2_ERR_FLOODED) {
      // The peer sends SETTINGS/PING faster than it reads our ACKs (nghttp2's max_outbound_ack).
      nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
      Flush();
      Fail("h2_ack_flood");
    } else {
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      Flush();
      Fail(ErrorKind("h2_", NGHTTP2_PROTOCOL_ERROR));
    }
    return;
  }
  Flush();
}

void Http2Codec::OnEof() {
  // The client sends nothing more: no new stream can come; what is open finishes first.
  if (closed_) return;
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  if (open_streams_ == 0) {
    Flush();
    callbacks_->CloseAfterFlush();
    closed_ = true;
  }
}

bool Http2Codec::WantsInput() const {
  return !closed_ && callbacks_->output_queued() < kHighWater &&
         nghttp2_session_want_read(session_) != 0;
}

void Http2Codec::OnOutputDrained(bool /*below_low_water*/) { Flush(); }

void Http2Codec::Drain() {
  if (draining_ || closed_) return;
  draining_ = true;
  // Streams up to the last one processed finish; the client opens new ones elsewhere.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  Flush();
}

bool Http2Codec::Idle() const { return open_streams_ == 0 && callbacks_->output_queued() == 0; }

void Http2Codec::OnConnectionClosed() {
  closed_ = true;
  for (const std::unique_ptr<Stream>& s : free_streams_) {
    s->StopSendTimer();
    if (s->in_use_) s->OnClosed();
  }
}

Http2Codec::Stream* Http2Codec::FindStream(int32_t id) const {
  return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, id));
}

Http2Codec::Stream* Http2Codec::NewStreamObject(int32_t id) {
  Stream* s = nullptr;
  for (const std::unique_ptr<Stream>& candidate : free_streams_) {
    if (!candidate->in_use_) {
      s = candidate.get();
      break;
    }
  }
  if (s == nullptr) {
    free_streams_.push_back(std::make_unique<Stream>(this));
    s = free_streams_.back().get();
  }
  s->Open(id);
  nghttp2_session_set_stream_user_data(session_, id, s);
  ++open_streams_;
  return s;
}

void Http2Codec::ReleaseStream(Stream* s) {
  s->StopSendTimer();
  s->OnClosed();
  s->in_use_ = false;
  --open_streams_;
  if (open_streams_ == 0 && !closed_) callbacks_->OnIdle();
}

uint8_t Http2Codec::RequestIdFlags() {
  // Unindexed (its value is unique): nghttp2 then looks the name up alone, and finds the newest
  // x-request-id entry of the table, so the name goes as an index. The first response and every
  // 256th put one entry in (each such lookup walks all x-request-id entries, hence not more often).
  return request_ids_sent_++ % 256 == 0 ? NGHTTP2_NV_FLAG_NONE : NGHTTP2_NV_FLAG_NO_INDEX;
}

bool Http2Codec::CountControlFrame() {
  if (flooded_) return false;  // told once per connection; GOAWAY is queued
  const int64_t now = services_->now_ns();
  if (now - flood_window_start_ns_ >= 1'000'000'000) {
    flood_window_start_ns_ = now;
    flood_count_ = 0;
  }
  if (++flood_count_ <= kMaxControlFramesPerSecond) return true;
  if (flood_count_ > kMaxControlFramesPerSecond + 1) return false;  // told once; GOAWAY is queued
  flooded_ = true;
  services_->stats().CountError("h2_flood");
  LOG_INFO("%s: HTTP/2 flood of control or empty frames; GOAWAY", info_.client.ToString());
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  return false;
}

bool Http2Codec::CountReset() {
  const int64_t now = services_->now_ns();
  reset_tokens_ = std::min(
      kResetBurst, reset_tokens_ + static_cast<double>(now - reset_at_ns_) * kResetRate / 1e9);
  reset_at_ns_ = now;
  if (reset_tokens_ >= 1) {
    reset_tokens_ -= 1;
    return true;
  }
  services_->stats().CountError("h2_rapid_reset");
  LOG_INFO("%s: HTTP/2 streams reset faster than %g/s; GOAWAY", info_.client.ToString(),
           kResetRate);
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  return false;
}

void Http2Codec::BeginBatch() {
  ++batch_depth_;
  callbacks_->BeginBatch();
}

void Http2Codec::EndBatch() {
  if (--batch_depth_ == 0 && flush_wanted_) Flush();
  callbacks_->EndBatch();
}

void Http2Codec::FlushSoon() {
  if (batch_depth_ > 0) {
    flush_wanted_ = true;
  } else {
    Flush();
  }
}

void Http2Codec::Flush() {
  flush_wanted_ = false;
  if (in_flush_ || closed_) return;
  in_flush_ = true;
  callbacks_->BeginBatch();
  while (callbacks_->output_queued() < kHighWater) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      callbacks_->EndBatch();
      in_flush_ = false;
      Fail("h2_internal");
      return;
    }
    if (n == 0) break;
    callbacks_->Write(
        std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
  }
  callbacks_->EndBatch();
  in_flush_ = false;
  if (closed_) return;
  // Producers paused above kHighWater go on (outside nghttp2's callbacks: they may submit).
  for (const std::unique_ptr<Stream>& s : free_streams_) {
    if (s->in_use_ && s->drained_notice_) s->NotifyDrained();
    if (closed_) return;
  }
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    closed_ = true;
    callbacks_->CloseAfterFlush();
  }
}

void Http2Codec::Fail(std::string_view kind) {
  services_->stats().CountError(kind);
  LOG_DEBUG("%s: HTTP/2 connection error (%s)", info_.client.ToString(), kind);
  closed_ = true;
  callbacks_->CloseAfterFlush();
}

// ---- nghttp2 callbacks ----

int Http2Codec::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    self->NewStreamObject(frame->hd.stream_id);
    self->callbacks_->OnHeadEnded();  // no idle timer while a stream is open
  } else if (Stream* s = self->FindStream(frame->hd.stream_id)) {
    s->BeginTrailers();  // a second HEADERS: the trailer section
  }
  return 0;
}

int Http2Codec::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                         size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                         void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  Stream* s = self->FindStream(frame->hd.stream_id);
  if (s == nullptr) return 0;
  s->OnHeader({reinterpret_cast<const char*>(name), namelen},
              {reinterpret_cast<const char*>(value), valuelen});
  return 0;
}

int Http2Codec::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Stream* s = self->FindStream(frame->hd.stream_id);
      if (s == nullptr) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->OnRequestHead(end_stream);
      } else {
        s->OnTrailers();
        if (end_stream) s->OnRemoteEnd();
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (frame->hd.length == 0 && !end_stream && !self->CountControlFrame()) return 0;
      if (end_stream) {
        if (Stream* s = self->FindStream(frame->hd.stream_id)) s->OnRemoteEnd();
      }
      return 0;
    }
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) self->CountControlFrame();
      return 0;
    case NGHTTP2_PRIORITY:
      self->CountControlFrame();
      return 0;
    case NGHTTP2_RST_STREAM:
      self->CountReset();
      return 0;
    default:
      return 0;
  }
}

int Http2Codec::OnDataChunkRecv(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                size_t len, void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  Stream* s = self->FindStream(stream_id);
  if (s == nullptr) {
    nghttp2_session_consume(self->session_, stream_id, len);
    return 0;
  }
  s->OnData({reinterpret_cast<const char*>(data), len});
  return 0;
}

int Http2Codec::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                              void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  Stream* s = self->FindStream(stream_id);
  if (s == nullptr) return 0;
  if (error_code != NGHTTP2_NO_ERROR) self->services_->stats().CountError("h2_stream_reset");
  self->ReleaseStream(s);
  return 0;
}

int Http2Codec::OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  switch (frame->hd.type) {
    case NGHTTP2_GOAWAY:
      if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
        self->services_->stats().CountError(ErrorKind("h2_goaway_", frame->goaway.error_code));
      }
      break;
    case NGHTTP2_RST_STREAM:
      self->services_->stats().CountError(ErrorKind("h2_rst_", frame->rst_stream.error_code));
      break;
    default:
      Stream* s = self->FindStream(frame->hd.stream_id);
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 && s != nullptr && !s->remote_ended() &&
          nghttp2_session_get_stream_remote_close(self->session_, frame->hd.stream_id) == 0) {
        // The response is complete before the request: the client stops sending (RFC 9113 8.1).
        nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_NO_ERROR);
      }
      break;
  }
  return 0;
}

int Http2Codec::OnInvalidFrameRecv(nghttp2_session*, const nghttp2_frame*, int lib_error_code,
                                   void* user_data) {
  auto* self = static_cast<Http2Codec*>(user_data);
  self->services_->stats().CountError(lib_error_code == NGHTTP2_ERR_HTTP_HEADER ||
                                              lib_error_code == NGHTTP2_ERR_HTTP_MESSAGING
                                          ? "h2_malformed"
                                          : "h2_invalid_frame");
  return 0;
}

}  // namespace edge::l7
