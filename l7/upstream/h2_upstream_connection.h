#pragma once
// H2UpstreamConnection: one HTTP/2 connection from gw7 to an upstream server (h2c with prior
// knowledge; h2 when its link is TLS with ALPN "h2"), on nghttp2's client session over an
// UpstreamLink (the io_uring TCP connection, or a fake in tests). Unlike an HTTP/1.1 connection
// it is shared: many requests each have a stream on it at once (H2UpstreamStream), up to the
// server's SETTINGS_MAX_CONCURRENT_STREAMS; the per-server H2ConnectionPool decides which
// connection a new request goes on, opens another or makes it wait (h2_connection_pool.h).
//
// Memory is bounded both ways by flow control:
//  - request body: bytes a request sends wait in its stream (queued()) until the server's windows
//    let them go; the request reads its client only while queued() is below kHighWater and hears
//    OnH2SendDrained when it falls to kLowWater;
//  - response body: windows are reopened (WINDOW_UPDATE) only for bytes the request has passed
//    on, and not while it has paused (its client reads slowly): a server can send a stream at
//    most kStreamWindow beyond what the client took, and kConnectionWindow over all streams.
//
// Events go to each stream's owner on the loop thread, also from inside nghttp2's callbacks: an
// owner may Cancel, send, pause or open a new stream (on another connection: this one is marked
// dead before it tells anyone that it failed) from them, never destroy the pool.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/http/message.h"
#include "common/http/response_parser.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class H2ConnectionPool;
class H2UpstreamConnection;

// A field block as bytes and spans: request fields to send (pseudo-header fields first, names
// lower case), or a response's fields as received.
struct H2Fields {
  struct Span {
    uint32_t name_at, name_len, value_at, value_len;
  };
  std::string bytes;
  std::vector<Span> spans;

  void Clear() {
    bytes.clear();
    spans.clear();
  }
  // Adds a field; the name lower-cased (HTTP/2 requires it).
  void Add(std::string_view name, std::string_view value);
  std::string_view name(const Span& s) const { return {bytes.data() + s.name_at, s.name_len}; }
  std::string_view value(const Span& s) const { return {bytes.data() + s.value_at, s.value_len}; }
  // For nghttp2: views into `bytes` (valid while the block is unchanged).
  std::vector<nghttp2_nv> Build() const;
};

// What a request hears of its stream.
class H2StreamOwner {
 public:
  virtual ~H2StreamOwner() = default;
  // The response head (final status; 1xx are skipped). `head` and its views stay valid until
  // OnH2End / OnH2Failed / Cancel.
  virtual void OnH2Head(const http::HttpResponse& head) = 0;
  // Response body bytes, valid during the call.
  virtual void OnH2Data(std::string_view data) = 0;
  // The response is complete; `trailers` (may be null) valid during the call. The stream is no
  // longer the owner's (no Cancel, no event after).
  virtual void OnH2End(const http::HttpHeaders* trailers) = 0;
  // The stream ended without a complete response: the connection failed or could not be made,
  // the server reset the stream, or its response was invalid. `kind` is a gw7_errors_total kind,
  // `detail` for the log (it may name the server). `unprocessed`: the server has certainly not
  // acted on the request (no connection, REFUSED_STREAM, beyond a GOAWAY's last stream): a retry
  // is safe whatever the method. The stream is no longer the owner's.
  virtual void OnH2Failed(std::string_view kind, std::string detail, bool unprocessed) = 0;
  // The request body queued in the stream fell to kLowWater: the request may read more.
  virtual void OnH2SendDrained() = 0;
};

// One request's stream: on a connection, or waiting in the pool for room on one.
class H2UpstreamStream {
 public:
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;

  // Request body bytes (sent as DATA as the windows allow).
  void SendData(std::string_view data);
  // The request's end, with trailers (may be null; forbidden fields skipped).
  void SendEnd(const http::HttpHeaders* trailers);
  // Request body bytes not yet sent.
  size_t queued() const { return out_.size() - out_at_; }
  // Response backpressure (see the top).
  void PauseRead() { paused_ = true; }
  void ResumeRead();
  // The request gives the stream up (client gone, a timeout, a failed attempt): RST_STREAM
  // CANCEL if it is open. No event follows; the object goes away.
  void Cancel();
  // Whether its connection is established (for the request's connect timeout).
  bool connected() const;
  const std::string& server_key() const;

 private:
  friend class H2UpstreamConnection;
  friend class H2ConnectionPool;
  H2UpstreamStream(H2ConnectionPool* pool, H2Fields fields, H2StreamOwner* owner)
      : pool_(pool), fields_(std::move(fields)), owner_(owner) {}

  ssize_t Read(uint8_t* buf, size_t length, uint32_t* data_flags);

  H2ConnectionPool* pool_;
  H2UpstreamConnection* connection_ = nullptr;  // null while waiting in the pool
  int32_t id_ = -1;                             // once submitted
  H2Fields fields_;
  H2StreamOwner* owner_;
  std::string out_;
  size_t out_at_ = 0;
  bool local_end_ = false;     // SendEnd called
  bool local_closed_ = false;  // END_STREAM submitted
  bool deferred_ = false;      // the data provider is waiting for bytes
  bool drained_notice_ = false;
  bool paused_ = false;
  size_t unconsumed_ = 0;  // received while paused, windows not yet reopened
  H2Fields trailers_out_;
  bool has_trailers_out_ = false;
  // The response as received.
  H2Fields head_block_;
  H2Fields trailer_block_;
  bool in_trailers_ = false;
  bool block_too_large_ = false;
  bool head_done_ = false;
  http::HttpResponse head_;
  http::HttpHeaders trailers_;
};

class H2UpstreamConnection final : public UpstreamLink::Owner {
 public:
  static constexpr int32_t kStreamWindow = 256 * 1024;
  static constexpr int32_t kConnectionWindow = 16 * 1024 * 1024;
  // Streams given to a connection before the server's SETTINGS say how many it takes.
  static constexpr uint32_t kProvisionalStreams = 8;
  // Framed output queued on the link beyond which nghttp2 is asked for no more.
  static constexpr size_t kOutputHighWater = 256 * 1024;

  H2UpstreamConnection(H2ConnectionPool* pool, uint64_t max_header_bytes);
  ~H2UpstreamConnection() override;
  H2UpstreamConnection(const H2UpstreamConnection&) = delete;
  H2UpstreamConnection& operator=(const H2UpstreamConnection&) = delete;

  // Takes the link (connecting or connected): SETTINGS and the preface go out once it is.
  void Start(UpstreamLink* link);
  // Opens `stream` here: HEADERS submitted once the server's SETTINGS have come (so that its
  // SETTINGS_MAX_CONCURRENT_STREAMS is known); nghttp2 holds it back while that limit is reached.
  void Attach(H2UpstreamStream* stream);
  // How many more streams this connection takes now (0 once it is dead or going away).
  uint32_t Room() const;
  bool dead() const { return dead_; }
  bool connected() const { return link_ != nullptr && link_->connected(); }
  size_t streams() const { return streams_.size() + unsent_.size(); }
  // Closes the link; every open stream fails (`kind`, `detail`).
  void Close(std::string_view kind, const std::string& detail, bool unprocessed);

  // UpstreamLink::Owner
  void OnUpstreamConnected(UpstreamLink* c, int error) override;
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override;
  void OnUpstreamClosed(UpstreamLink* c, int error) override;
  void OnUpstreamSendDrained(UpstreamLink* c) override;

 private:
  friend class H2UpstreamStream;

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user_data);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data);
  static int OnDataChunkRecv(nghttp2_session*, uint8_t flags, int32_t stream_id,
                             const uint8_t* data, size_t len, void* user_data);
  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                           void* user_data);

  H2UpstreamStream* Find(int32_t id) const;
  void OnResponseHeaders(H2UpstreamStream* s, bool end_stream);
  // Ends a stream whose response has completed or failed: its owner is told (once), and the
  // stream is reset when the request side is still open.
  void FinishStream(H2UpstreamStream* s);
  void FailStream(H2UpstreamStream* s, std::string_view kind, std::string detail, bool unprocessed);
  // Frames what nghttp2 has to send while the link's queue is short; closes the connection when
  // the session is over.
  void Flush();
  void Detach(H2UpstreamStream* s);  // cancelled by its owner
  void Consume(int32_t id, size_t n);
  void Submit(H2UpstreamStream* s);

  H2ConnectionPool* pool_;
  uint64_t max_header_bytes_;
  nghttp2_session* session_ = nullptr;
  UpstreamLink* link_ = nullptr;
  std::unordered_map<int32_t, H2UpstreamStream*> streams_;
  std::vector<H2UpstreamStream*> unsent_;  // attached before the server's SETTINGS came
  bool settings_received_ = false;
  bool connected_once_ = false;  // the server's SETTINGS came: it speaks HTTP/2 to us
  bool goaway_ = false;
  bool dead_ = false;
  int in_session_ = 0;  // inside nghttp2_session_mem_recv / mem_send
  bool flush_wanted_ = false;
};

}  // namespace edge::l7
