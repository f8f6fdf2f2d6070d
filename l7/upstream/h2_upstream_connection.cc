#include "l7/upstream/h2_upstream_connection.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "absl/strings/str_format.h"
#include "common/http/hop_by_hop.h"
#include "common/log.h"
#include "l7/upstream/h2_connection_pool.h"

namespace edge::l7 {
namespace {

// Keeps the pool from freeing dead connections while one of them is on the stack.
class BusyGuard {
 public:
  explicit BusyGuard(int* busy) : busy_(busy) { ++*busy_; }
  ~BusyGuard() { --*busy_; }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;

 private:
  int* busy_;
};

std::string ErrnoText(int error) { return error == 0 ? "closed" : strerror(-error); }

}  // namespace

void H2Fields::Add(std::string_view name, std::string_view value) {
  Span s{static_cast<uint32_t>(bytes.size()), static_cast<uint32_t>(name.size()), 0,
         static_cast<uint32_t>(value.size())};
  for (char c : name) bytes.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
  s.value_at = static_cast<uint32_t>(bytes.size());
  bytes.append(value);
  spans.push_back(s);
}

std::vector<nghttp2_nv> H2Fields::Build() const {
  std::vector<nghttp2_nv> nva;
  nva.reserve(spans.size());
  auto* base = reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data()));
  for (const Span& s : spans) {
    nva.push_back(
        {base + s.name_at, base + s.value_at, s.name_len, s.value_len, NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

// ---- the stream ----

void H2UpstreamStream::SendData(std::string_view data) {
  if (local_end_ || data.empty()) return;
  out_.append(data);
  if (connection_ != nullptr && id_ > 0 && deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
    connection_->Flush();
  }
}

void H2UpstreamStream::SendEnd(const http::HttpHeaders* trailers) {
  if (local_end_) return;
  local_end_ = true;
  if (trailers != nullptr) {
    for (const http::HttpHeader& t : *trailers) {
      if (http::IsForbiddenTrailerField(t.name) || http::EqualsIgnoreCase(t.name, "te") ||
          http::EqualsIgnoreCase(t.name, "connection")) {
        continue;
      }
      trailers_out_.Add(t.name, t.value);
    }
    has_trailers_out_ = !trailers_out_.spans.empty();
  }
  if (connection_ != nullptr && id_ > 0 && deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(connection_->session_, id_);
    connection_->Flush();
  }
}

void H2UpstreamStream::ResumeRead() {
  paused_ = false;
  if (unconsumed_ == 0 || connection_ == nullptr || id_ <= 0) return;
  const size_t n = unconsumed_;
  unconsumed_ = 0;
  connection_->Consume(id_, n);
  connection_->Flush();
}

void H2UpstreamStream::Cancel() {
  owner_ = nullptr;
  if (connection_ == nullptr) {
    pool_->Forget(this);  // deletes this
    return;
  }
  connection_->Detach(this);
}

bool H2UpstreamStream::connected() const {
  return connection_ != nullptr && connection_->connected();
}

const std::string& H2UpstreamStream::server_key() const { return pool_->key(); }

ssize_t H2UpstreamStream::Read(uint8_t* buf, size_t length, uint32_t* data_flags) {
  const size_t before = queued();
  const size_t n = std::min(length, before);
  std::memcpy(buf, out_.data() + out_at_, n);
  out_at_ += n;
  if (out_at_ == out_.size()) {
    out_.clear();
    out_at_ = 0;
  }
  const size_t after = queued();
  if (before > kLowWater && after <= kLowWater) drained_notice_ = true;
  if (after == 0 && local_end_) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    local_closed_ = true;
    if (has_trailers_out_) {
      has_trailers_out_ = false;
      std::vector<nghttp2_nv> nva = trailers_out_.Build();
      if (nghttp2_submit_trailer(connection_->session_, id_, nva.data(), nva.size()) == 0) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return static_cast<ssize_t>(n);
  }
  if (n == 0) {
    deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

// ---- the connection ----

H2UpstreamConnection::H2UpstreamConnection(H2ConnectionPool* pool, uint64_t max_header_bytes)
    : pool_(pool), max_header_bytes_(max_header_bytes) {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &OnDataChunkRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &OnStreamClose);
  nghttp2_option* opt;
  nghttp2_option_new(&opt);
  // Windows reopen only for bytes the requests passed on (the bound on buffering).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(max_header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

H2UpstreamConnection::~H2UpstreamConnection() {
  if (!dead_) Close("upstream_closed", "gateway configuration retired", true);
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void H2UpstreamConnection::Start(UpstreamLink* link) {
  link_ = link;
  Flush();  // queued on the link until it is connected
}

uint32_t H2UpstreamConnection::Room() const {
  if (dead_ || goaway_) return 0;
  uint32_t limit = kProvisionalStreams;
  if (settings_received_) {
    limit = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  }
  const size_t n = streams();
  return n >= limit ? 0 : limit - static_cast<uint32_t>(n);
}

void H2UpstreamConnection::Attach(H2UpstreamStream* s) {
  s->connection_ = this;
  if (!settings_received_) {
    unsent_.push_back(s);
    return;
  }
  Submit(s);
  Flush();
}

void H2UpstreamConnection::Submit(H2UpstreamStream* s) {
  std::vector<nghttp2_nv> nva = s->fields_.Build();
  nghttp2_data_provider provider;
  provider.source.ptr = s;
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source* source, void*) -> ssize_t {
    return static_cast<H2UpstreamStream*>(source->ptr)->Read(buf, length, data_flags);
  };
  // A request without a body (its end already given, nothing queued) ends with its HEADERS.
  const bool no_body = s->local_end_ && s->queued() == 0 && !s->has_trailers_out_;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                            no_body ? nullptr : &provider, s);
  if (id < 0) {
    s->connection_ = nullptr;
    H2StreamOwner* owner = s->owner_;
    delete s;
    if (owner != nullptr) {
      owner->OnH2Failed("upstream_h2_error",
                        absl::StrFormat("HTTP/2 request to %s not submitted: %s", pool_->key(),
                                        nghttp2_strerror(id)),
                        true);
    }
    return;
  }
  if (no_body) s->local_closed_ = true;
  s->id_ = id;
  streams_[id] = s;
}

H2UpstreamStream* H2UpstreamConnection::Find(int32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void H2UpstreamConnection::Consume(int32_t id, size_t n) {
  if (session_ != nullptr && !dead_) nghttp2_session_consume(session_, id, n);
}

void H2UpstreamConnection::Detach(H2UpstreamStream* s) {
  auto unsent = std::find(unsent_.begin(), unsent_.end(), s);
  if (unsent != unsent_.end()) {
    unsent_.erase(unsent);
    delete s;
    return;
  }
  // The owner is gone; the object stays until nghttp2 closes the stream.
  if (dead_ || session_ == nullptr) return;
  if (s->unconsumed_ > 0) {
    Consume(s->id_, s->unconsumed_);
    s->unconsumed_ = 0;
  }
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_CANCEL);
  Flush();
}

void H2UpstreamConnection::Close(std::string_view kind, const std::string& detail,
                                 bool unprocessed) {
  if (dead_) return;
  dead_ = true;
  BusyGuard busy(&pool_->busy_);
  if (link_ != nullptr) {
    UpstreamLink* link = link_;
    link_ = nullptr;
    link->Close();
  }
  std::unordered_map<int32_t, H2UpstreamStream*> streams;
  streams.swap(streams_);
  for (H2UpstreamStream* s : unsent_) streams[-static_cast<int32_t>(streams.size()) - 1] = s;
  unsent_.clear();
  for (auto& [id, s] : streams) {
    H2StreamOwner* owner = s->owner_;
    s->owner_ = nullptr;
    s->connection_ = nullptr;
    // A stream the server has not begun answering may not have reached it at all; only then is a
    // connect failure "unprocessed". Past the head, the response broke off.
    const bool fresh = unprocessed && !s->head_done_;
    delete s;
    if (owner != nullptr) owner->OnH2Failed(kind, detail, fresh);
  }
  pool_->OnConnectionDead(connected_once_);
}

void H2UpstreamConnection::Flush() {
  if (dead_ || link_ == nullptr) return;
  if (in_session_ > 0) {
    flush_wanted_ = true;
    return;
  }
  BusyGuard busy(&pool_->busy_);
  ++in_session_;
  do {
    flush_wanted_ = false;
    while (link_->queued() < kOutputHighWater) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        --in_session_;
        Close("upstream_h2_error",
              absl::StrFormat("HTTP/2 connection to %s failed: %s", pool_->key(),
                              nghttp2_strerror(static_cast<int>(n))),
              false);
        return;
      }
      if (n == 0) break;
      link_->Send(std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
    }
  } while (flush_wanted_);
  --in_session_;
  // Request bodies that drained below the low-water mark: their requests read on (outside
  // nghttp2, since they send).
  std::vector<H2UpstreamStream*> drained;
  for (auto& [id, s] : streams_) {
    if (s->drained_notice_) {
      s->drained_notice_ = false;
      if (s->owner_ != nullptr) drained.push_back(s);
    }
  }
  for (H2UpstreamStream* s : drained) {
    if (streams_.count(s->id_) != 0 && s->owner_ != nullptr) s->owner_->OnH2SendDrained();
    if (dead_) return;
  }
  if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
    Close("upstream_closed", absl::StrFormat("HTTP/2 connection to %s ended", pool_->key()), true);
  }
}

void H2UpstreamConnection::OnUpstreamConnected(UpstreamLink* c, int error) {
  if (c != link_) return;
  BusyGuard busy(&pool_->busy_);
  if (error != 0) {
    link_ = nullptr;  // it closed itself
    Close("connect_failed",
          absl::StrFormat("connecting to %s failed: %s", pool_->key(), ErrnoText(error)), true);
    return;
  }
  Flush();
}

void H2UpstreamConnection::OnUpstreamData(UpstreamLink* c, std::string_view data) {
  if (c != link_ || dead_) return;
  BusyGuard busy(&pool_->busy_);
  ++in_session_;
  const ssize_t n = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  --in_session_;
  if (dead_) return;
  if (n < 0) {
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    Flush();
    Close("upstream_h2_error",
          absl::StrFormat("HTTP/2 connection to %s: %s", pool_->key(),
                          nghttp2_strerror(static_cast<int>(n))),
          false);
    return;
  }
  Flush();
}

void H2UpstreamConnection::OnUpstreamClosed(UpstreamLink* c, int error) {
  if (c != link_) return;
  link_ = nullptr;
  Close(error == 0 ? "upstream_closed" : "upstream_reset",
        absl::StrFormat("HTTP/2 connection to %s closed (%s)", pool_->key(), ErrnoText(error)),
        !connected_once_);
}

void H2UpstreamConnection::OnUpstreamSendDrained(UpstreamLink* c) {
  if (c != link_) return;
  Flush();
}

void H2UpstreamConnection::OnResponseHeaders(H2UpstreamStream* s, bool end_stream) {
  if (s->in_trailers_) {
    s->trailers_.Clear();
    for (const H2Fields::Span& f : s->trailer_block_.spans) {
      s->trailers_.Add(s->trailer_block_.name(f), s->trailer_block_.value(f));
    }
    if (end_stream) FinishStream(s);
    return;
  }
  http::HttpResponse& head = s->head_;
  head.Clear();
  head.version = http::HttpVersion::kHttp11;
  int status = 0;
  std::string_view content_length;
  for (const H2Fields::Span& f : s->head_block_.spans) {
    const std::string_view name = s->head_block_.name(f);
    const std::string_view value = s->head_block_.value(f);
    if (name == ":status") {
      for (char ch : value) status = status * 10 + (ch - '0');
      continue;
    }
    if (name[0] == ':') continue;
    if (name == "content-length") content_length = value;
    head.headers.Add(name, value);
  }
  if (status < 200) {
    // 1xx: gw7 answers Expect itself and relays no interim response; the final head follows.
    s->head_block_.Clear();
    return;
  }
  head.status = static_cast<uint16_t>(status);
  head.keep_alive = true;
  if (end_stream) {
    head.body = {http::BodyKind::kNone, 0};
  } else if (!content_length.empty()) {
    uint64_t length = 0;
    for (char ch : content_length) length = length * 10 + static_cast<uint64_t>(ch - '0');
    head.body = {http::BodyKind::kContentLength, length};
  } else {
    head.body = {http::BodyKind::kChunked, 0};
  }
  s->head_done_ = true;
  s->in_trailers_ = true;  // a later HEADERS is the trailer section
  if (s->owner_ != nullptr) s->owner_->OnH2Head(head);
  if (end_stream && Find(s->id_) == s) FinishStream(s);
}

void H2UpstreamConnection::FinishStream(H2UpstreamStream* s) {
  H2StreamOwner* owner = s->owner_;
  s->owner_ = nullptr;
  if (!s->local_closed_) {
    // The response is complete before the request: the server wants no more of it (RFC 9113
    // 8.1).
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_NO_ERROR);
  }
  if (s->unconsumed_ > 0) {
    Consume(s->id_, s->unconsumed_);
    s->unconsumed_ = 0;
  }
  if (owner != nullptr) owner->OnH2End(s->trailer_block_.spans.empty() ? nullptr : &s->trailers_);
}

void H2UpstreamConnection::FailStream(H2UpstreamStream* s, std::string_view kind,
                                      std::string detail, bool unprocessed) {
  H2StreamOwner* owner = s->owner_;
  s->owner_ = nullptr;
  if (owner != nullptr) owner->OnH2Failed(kind, std::move(detail), unprocessed);
}

// ---- nghttp2 callbacks ----

int H2UpstreamConnection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame,
                                         void* user_data) {
  auto* self = static_cast<H2UpstreamConnection*>(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (H2UpstreamStream* s = self->Find(frame->hd.stream_id)) {
    H2Fields& block = s->in_trailers_ ? s->trailer_block_ : s->head_block_;
    block.Clear();
    s->block_too_large_ = false;
  }
  return 0;
}

int H2UpstreamConnection::OnHeader(nghttp2_session*, const nghttp2_frame* frame,
                                   const uint8_t* name, size_t namelen, const uint8_t* value,
                                   size_t valuelen, uint8_t, void* user_data) {
  auto* self = static_cast<H2UpstreamConnection*>(user_data);
  H2UpstreamStream* s = self->Find(frame->hd.stream_id);
  if (s == nullptr || s->block_too_large_) return 0;
  H2Fields& block = s->in_trailers_ ? s->trailer_block_ : s->head_block_;
  if (block.bytes.size() + namelen + valuelen + 32 * (block.spans.size() + 1) >
      self->max_header_bytes_) {
    s->block_too_large_ = true;
    return 0;
  }
  block.Add({reinterpret_cast<const char*>(name), namelen},
            {reinterpret_cast<const char*>(value), valuelen});
  return 0;
}

int H2UpstreamConnection::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame,
                                      void* user_data) {
  auto* self = static_cast<H2UpstreamConnection*>(user_data);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        const bool first = !self->settings_received_;
        self->settings_received_ = true;
        self->connected_once_ = true;
        if (first) {
          std::vector<H2UpstreamStream*> unsent;
          unsent.swap(self->unsent_);
          for (H2UpstreamStream* s : unsent) self->Submit(s);
        }
        self->pool_->OnRoom();
      }
      return 0;
    case NGHTTP2_GOAWAY:
      // No new stream here; those up to last_stream_id finish, nghttp2 closes the others
      // (REFUSED_STREAM: retried elsewhere).
      self->goaway_ = true;
      return 0;
    case NGHTTP2_HEADERS: {
      H2UpstreamStream* s = self->Find(frame->hd.stream_id);
      if (s == nullptr) return 0;
      if (s->block_too_large_) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id_, NGHTTP2_CANCEL);
        self->FailStream(
            s, "bad_response",
            absl::StrFormat("%s sent a header section over max_header_bytes", self->pool_->key()),
            false);
        return 0;
      }
      self->OnResponseHeaders(s, end_stream);
      return 0;
    }
    case NGHTTP2_DATA:
      if (end_stream) {
        if (H2UpstreamStream* s = self->Find(frame->hd.stream_id)) {
          if (s->owner_ != nullptr && s->head_done_) self->FinishStream(s);
        }
      }
      return 0;
    default:
      return 0;
  }
}

int H2UpstreamConnection::OnDataChunkRecv(nghttp2_session*, uint8_t, int32_t stream_id,
                                          const uint8_t* data, size_t len, void* user_data) {
  auto* self = static_cast<H2UpstreamConnection*>(user_data);
  H2UpstreamStream* s = self->Find(stream_id);
  if (s == nullptr || s->owner_ == nullptr) {
    self->Consume(stream_id, len);  // nobody reads it: the windows reopen at once
    return 0;
  }
  s->owner_->OnH2Data({reinterpret_cast<const char*>(data), len});
  if (self->Find(stream_id) != s) return 0;
  if (s->paused_ && s->owner_ != nullptr) {
    s->unconsumed_ += len;
  } else {
    self->Consume(stream_id, len);
  }
  return 0;
}

int H2UpstreamConnection::OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                        void* user_data) {
  auto* self = static_cast<H2UpstreamConnection*>(user_data);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  H2UpstreamStream* s = it->second;
  self->streams_.erase(it);
  if (s->owner_ != nullptr) {
    const bool refused = error_code == NGHTTP2_REFUSED_STREAM;
    self->FailStream(s, refused ? "upstream_refused_stream" : "upstream_reset",
                     absl::StrFormat("%s reset the HTTP/2 stream (%s)", self->pool_->key(),
                                     nghttp2_http2_strerror(error_code)),
                     refused);
  }
  delete s;
  self->pool_->OnRoom();
  return 0;
}

}  // namespace edge::l7
