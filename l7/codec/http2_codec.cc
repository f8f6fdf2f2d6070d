#include "l7/codec/http2_codec.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "absl/time/time.h"
#include "common/http/hop_by_hop.h"
#include "common/http/request_parser.h"
#include "common/log.h"
#include "l7/codec/http2_stream.h"
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

}  // namespace

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
  // x-request-id entry of the table, so the name goes as an index. One entry goes in at first and
  // then every kRequestIdReindexNs (the table's older entries age out as Date changes), never
  // more: nghttp2's deflater chains entries by name hash in 128 buckets, x-request-id shares its
  // bucket with :status, and with an entry every 256th response the table held ~50 of them, which
  // every response's :status lookup walked (perf: ~48 hops per response, 3% of gw7's CPU).
  const int64_t now = services_->now_ns();
  if (request_id_indexed_ && now - request_id_indexed_ns_ < kRequestIdReindexNs) {
    return NGHTTP2_NV_FLAG_NO_INDEX;
  }
  request_id_indexed_ = true;
  request_id_indexed_ns_ = now;
  return NGHTTP2_NV_FLAG_NONE;
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
