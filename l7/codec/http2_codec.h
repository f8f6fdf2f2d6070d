#pragma once
// Http2Codec: HTTP/2 (RFC 9113) on one client connection, behind the codec interface (codec.h),
// on nghttp2's server session. Each HTTP/2 stream becomes one request stream; many run at once.
//
// How a connection gets here: it starts with Http1Codec (which reads the PROXY header), and when
// [gw7] http2 is on, the connection preface (h2c with prior knowledge) or a trusted proxy's ALPN
// TLV "h2" (lb4 terminated TLS and agreed h2) hands the connection over (ServerCodecCallbacks::
// StartHttp2) with the bytes read so far.
//
// Requests are held to RFC 9113 8.2/8.3 by nghttp2's HTTP messaging checks (connection-specific
// fields, uppercase names, missing, duplicate or unknown pseudo-headers, TE other than
// "trailers", a body that does not match content-length: RST_STREAM PROTOCOL_ERROR) and here: a
// Host that names another authority than :authority, a head beyond max_header_bytes or
// max_headers (431), a body beyond max_body_bytes (413 or RST_STREAM).
//
// A stream whose response bytes wait longer than send_timeout for a window the client does not
// open is reset (RST_STREAM CANCEL, kind="h2_send_timeout") and its upstream released.
//
// Memory per connection is bounded by flow control: the windows advertised (kStreamWindow per
// stream, kConnectionWindow per connection) are reopened (WINDOW_UPDATE) only as the request
// stream takes body bytes, and it takes them only as fast as its upstream does; response bytes
// wait in the stream's buffer (the producer pauses above kHighWater) and are framed only while
// the connection's output is below kHighWater.
//
// Protections (RFC 9113 10.5, the 2023-2024 CVEs), each ending in GOAWAY or RST_STREAM and a
// counted error (gw7_errors_total{kind="h2_..."}): max_concurrent_streams (nghttp2: RST_STREAM
// REFUSED_STREAM before our SETTINGS are acknowledged, GOAWAY PROTOCOL_ERROR after), rapid reset (a
// token bucket of client resets here -> GOAWAY ENHANCE_YOUR_CALM; nghttp2's own looser one answers
// INTERNAL_ERROR), CONTINUATION floods (nghttp2's max_continuations -> GOAWAY), SETTINGS/PING
// floods of a peer that reads no ACKs (nghttp2's max_outbound_ack; GOAWAY ENHANCE_YOUR_CALM sent
// here, kind="h2_ack_flood"), and, counted here
// because nghttp2 1.52 has no limit for them, floods of frames that carry no request work (PING,
// SETTINGS, PRIORITY, empty DATA; not WINDOW_UPDATE, which a fast download sends legitimately)
// beyond kMaxControlFramesPerSecond -> GOAWAY
// ENHANCE_YOUR_CALM.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "l7/codec/codec.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {

class Http2Codec final : public ServerCodec {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  static constexpr int32_t kStreamWindow = 64 * 1024;
  static constexpr int32_t kConnectionWindow = 1024 * 1024;
  static constexpr uint32_t kHpackTableSize = 4096;
  static constexpr uint32_t kMaxControlFramesPerSecond = 1000;
  // Client stream resets: a burst of this many, then this many per second (rapid reset).
  static constexpr double kResetBurst = 200;
  static constexpr double kResetRate = 50;

  // `info` is what the connection learnt before (client address, TLS from the PROXY header).
  Http2Codec(StreamServices* services, ServerCodecCallbacks* callbacks,
             const StreamConnectionInfo& info);
  ~Http2Codec() override;
  Http2Codec(const Http2Codec&) = delete;
  Http2Codec& operator=(const Http2Codec&) = delete;

  // Sends our SETTINGS and takes the bytes read so far (beginning with the client's preface).
  void Start(std::string_view input, bool draining);

  // ServerCodec
  void OnData(std::string_view data) override;
  void OnEof() override;
  bool WantsInput() const override;
  bool ExpectsMuchInput() const override { return true; }
  void OnOutputDrained(bool below_low_water) override;
  void Drain() override;
  bool Idle() const override;
  void OnConnectionClosed() override;

  size_t open_streams() const { return open_streams_; }

 private:
  class Stream;
  friend class Stream;

  // nghttp2 callbacks (user_data is the codec).
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user_data);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int OnDataChunkRecv(nghttp2_session*, uint8_t flags, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int OnInvalidFrameRecv(nghttp2_session*, const nghttp2_frame* frame, int lib_error_code,
                                void* user_data);

  Stream* FindStream(int32_t id) const;
  Stream* NewStreamObject(int32_t id);
  void ReleaseStream(Stream* s);
  // A frame that asks for work but carries no request: counted against the flood limit.
  bool CountControlFrame();
  // nghttp2 flags for the X-Request-Id field of the next response.
  uint8_t RequestIdFlags();
  // A stream the client reset: counted against the rapid-reset bucket.
  bool CountReset();
  // Frames what nghttp2 has queued while the connection's output is below kHighWater; closes the
  // connection when the session is over (GOAWAY sent, or the peer's).
  void Flush();
  // Flush now, or at the end of the current batch (a stream's Begin/EndBatch, or the callbacks of
  // one OnData): a response's head, body and end produced together leave as HEADERS and one DATA
  // frame with END_STREAM (not a third, empty one), framed by one pass over nghttp2's queue.
  void FlushSoon();
  void BeginBatch();
  void EndBatch();
  void Fail(std::string_view kind);  // a fatal session error: counted, connection closed

  StreamServices* services_;
  ServerCodecCallbacks* callbacks_;
  StreamConnectionInfo info_;
  nghttp2_session* session_ = nullptr;
  bool closed_ = false;
  bool in_flush_ = false;
  int batch_depth_ = 0;
  bool flush_wanted_ = false;  // a FlushSoon inside the batch
  bool draining_ = false;
  size_t open_streams_ = 0;
  std::vector<std::unique_ptr<Stream>> free_streams_;  // reused for later streams
  // When an X-Request-Id field last went into the HPACK table (RequestIdFlags), if ever.
  bool request_id_indexed_ = false;
  int64_t request_id_indexed_ns_ = 0;
  static constexpr int64_t kRequestIdReindexNs = 10'000'000'000;
  int64_t flood_window_start_ns_ = 0;
  uint32_t flood_count_ = 0;
  bool flooded_ = false;  // the flood is reported: a slow read spanning two windows counts once
  double reset_tokens_ = kResetBurst;  // the rapid-reset bucket
  int64_t reset_at_ns_ = 0;
};

}  // namespace edge::l7
