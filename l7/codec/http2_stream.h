#pragma once
// Http2Codec::Stream: one HTTP/2 stream of an Http2Codec (http2_codec.h), the codec's half of a
// request (CodecStream): the request as received (head, body, trailers) and the response on its
// way out through nghttp2. The connection, its protections and the nghttp2 callbacks stay in
// http2_codec.cc.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "l7/codec/http2_codec.h"

namespace edge::l7 {
namespace http2_internal {

// ASCII upper-case letters to lower case, eight bytes at a time (other bytes unchanged): the
// names of every relayed response field (an HTTP/1 origin's are capitalised).
void LowerAscii(char* p, size_t n);

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

}  // namespace http2_internal

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
  void Submit(http2_internal::OutFields& fields, bool with_body);
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
  http2_internal::FieldBlock head_;
  http2_internal::FieldBlock trailer_block_;
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
  http2_internal::OutFields response_fields_;
  http2_internal::OutFields response_trailers_;
  bool has_response_trailers_ = false;
  bool eof_sent_ = false;  // the response's last DATA frame (END_STREAM or trailers) is framed
  uring::Timer send_timer_;
  int64_t send_progress_ns_ = 0;  // the last time response bytes were framed
};

}  // namespace edge::l7
