#pragma once
// The seam between the wire and gw7's request path (DESIGN.md "gw7's request pipeline"): a codec
// turns a client connection's bytes into requests, one stream per request, and each stream's
// response back into bytes. Http1Codec (http1_codec.h) is the one codec today; HTTP/2 comes behind
// the same two interfaces, with many streams on one connection, without a change to the request
// stream (l7/stream/) or the filters.
//
//   connection (socket I/O) -> codec -> StreamDecoder (RequestStream: filters, last the proxy)
//   connection (socket I/O) <- codec <- CodecStream (the stream's response, its body flow)
//
// Wire matters stay in the codec: framing (Content-Length, chunked, until close), trailers on the
// wire, persistence (keep-alive, Connection: close), HTTP/1 pipelining order, Expect:
// 100-continue, the PROXY header, the 101 into a tunnel. The stream sees parsed messages only.
//
// Threading: one loop thread; every call and callback happens on it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/message.h"
#include "common/http/request_parser.h"
#include "common/http/response_parser.h"
#include "common/net/address.h"

namespace edge::l7 {

class UpstreamLink;
class Filter;          // l7/filters/filter.h
struct FilterContext;  // l7/filters/filter.h

// Identifies a stream on its connection (HTTP/1: one after the other; HTTP/2: concurrent).
using StreamId = uint32_t;

// What the codec learnt about the connection a request came on.
struct StreamConnectionInfo {
  net::SocketAddress client;  // the PROXY header's source from a trusted proxy, else the peer
  bool tls = false;           // the PROXY header says the client spoke TLS
  bool draining = false;      // the connection ends after this request
  std::string_view protocol = "HTTP/1.1";  // for the access log: "HTTP/1.1" | "HTTP/2"
  // gw7's own request (InternalCodec: a cache's background refresh) runs the route's chain from
  // this filter on; null for a client's request (the whole chain). `admitted_as` is the context of
  // the client request it is made for (valid during DecodeHead): what the filters before
  // first_filter established (identity, upstream fields and query) is copied from it.
  const Filter* first_filter = nullptr;
  const FilterContext* admitted_as = nullptr;
};

// The codec's half of one stream: what the request stream calls to answer and to pace the body.
class CodecStream {
 public:
  virtual ~CodecStream() = default;
  // The response head. `head` and what it points into stay valid until EncodeEnd / Reset; the
  // codec adds `extra_fields` (unsafe ones skipped) and X-Request-Id: `request_id`.
  virtual void EncodeHead(const http::HttpResponse& head,
                          const std::vector<std::pair<std::string, std::string>>* extra_fields,
                          std::string_view request_id) = 0;
  virtual void EncodeData(std::string_view data) = 0;
  // Ends the response (trailers may be null) and the stream: the codec tells the stream
  // OnStreamComplete, then may start the next one before returning.
  virtual void EncodeEnd(const http::HttpHeaders* trailers) = 0;
  // A whole response gw7 makes itself (`fields` in order, then `body`). `close_connection`: HTTP/1
  // ends the connection after it (the client caused an error that leaves the stream of bytes in
  // doubt). Ends the stream like EncodeEnd.
  virtual void EncodeLocal(int status, const std::vector<http::HttpHeader>& fields,
                           std::string_view body, bool close_connection) = 0;
  // A 101 head (as EncodeHead), after which the connection is a byte tunnel to `link`, starting
  // with `first_bytes` from it. Ends the stream like EncodeEnd. HTTP/1 only.
  virtual void EncodeUpgrade(const http::HttpResponse& head,
                             const std::vector<std::pair<std::string, std::string>>* extra_fields,
                             std::string_view request_id, UpstreamLink* link,
                             std::string_view first_bytes) = 0;
  // The response cannot be completed: the client must not take it for complete. Ends the stream.
  virtual void Reset() = 0;
  // The stream will read its body: HTTP/1 sends 100 Continue to a client that expects it.
  virtual void AcceptBody() = 0;
  // Decodes the body bytes that have arrived and hands them to the stream now.
  virtual void ReadBody() = 0;
  virtual bool body_complete() const = 0;
  // Response bytes queued for the client (all of the connection's, for HTTP/1).
  virtual size_t output_queued() const = 0;
  // Output between these leaves in one write.
  virtual void BeginBatch() = 0;
  virtual void EndBatch() = 0;
};

// The stream's half, what the codec calls (RequestStream implements it).
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // A request head. `request` stays valid until the stream completes. The stream answers through
  // `codec` (now or later).
  virtual void DecodeHead(StreamId id, const http::HttpRequest& request,
                          const StreamConnectionInfo& info, CodecStream* codec) = 0;
  // Body bytes (de-chunked), its end with the trailers (may be null), or a malformed body
  // (`status` and `reason` for the answer).
  virtual void DecodeData(std::string_view data) = 0;
  virtual void DecodeEnd(const http::HttpHeaders* trailers) = 0;
  virtual void DecodeError(int status, std::string_view reason) = 0;
  // Whether the stream takes body bytes now (false: the codec leaves them in the socket).
  virtual bool WantsData() const = 0;
  // Queued output has drained below the low-water mark.
  virtual void OnOutputDrained() = 0;
  // The connection is gone (or the stream reset): end the request, however far it got.
  virtual void OnReset() = 0;
  // The codec has finished with the stream (after EncodeEnd / EncodeLocal / EncodeUpgrade /
  // Reset): the request is over.
  virtual void OnStreamComplete(int status) = 0;
};

// What a codec needs from the client connection it runs on (ClientConnection implements it).
class ServerCodecCallbacks {
 public:
  virtual ~ServerCodecCallbacks() = default;
  // Queues bytes for the client (sent at once unless inside a batch).
  virtual void Write(std::string_view data) = 0;
  virtual size_t output_queued() const = 0;
  virtual void BeginBatch() = 0;
  virtual void EndBatch() = 0;
  // Re-arms the socket read if the codec wants input now (WantsInput).
  virtual void ReadMore() = 0;
  // The stream object for a new request (the connection owns its streams).
  virtual StreamDecoder* NewStream(StreamId id) = 0;
  // Timers of the connection: the first bytes of a request head arrived (header_timeout starts);
  // a head is complete or an answer is being sent (it stops); the connection waits for the next
  // request (idle_timeout).
  virtual void OnHeadBegun() = 0;
  virtual void OnHeadEnded() = 0;
  virtual void OnIdle() = 0;
  // No more requests: flush what is queued, then close.
  virtual void CloseAfterFlush() = 0;
  // Close now: a stream was reset and the client must see the response broken off.
  virtual void CloseNow() = 0;
  // The connection becomes a byte tunnel between the client and `link` (after a relayed 101):
  // `from_upstream` goes to the client first, `from_client` (read behind the request) upstream.
  virtual void StartTunnel(UpstreamLink* link, std::string_view from_upstream,
                           std::string from_client) = 0;
  // The connection speaks HTTP/2 from here on (Http1Codec saw the connection preface, or the
  // PROXY header's ALPN said "h2"): an Http2Codec takes over with what `info` says about the
  // client and the bytes read so far (`input`, from the preface on).
  virtual void StartHttp2(const StreamConnectionInfo& info, std::string input) = 0;
};

// A codec as its connection drives it.
class ServerCodec {
 public:
  virtual ~ServerCodec() = default;
  // Bytes from the client.
  virtual void OnData(std::string_view data) = 0;
  // The client closed its sending side.
  virtual void OnEof() = 0;
  // Whether the codec wants bytes from the socket now (its backpressure).
  virtual bool WantsInput() const = 0;
  // Whether the next receive should use a large buffer (a body is due, or bytes are buffered).
  virtual bool ExpectsMuchInput() const = 0;
  // Some queued output was sent (`below_low_water`: down to the low-water mark, so paused
  // producers may go on); requests waiting behind earlier answers proceed.
  virtual void OnOutputDrained(bool below_low_water) = 0;
  // Graceful drain: finish what is in progress, take no new request.
  virtual void Drain() = 0;
  // Whether the connection is between requests with nothing buffered (a drain closes it now).
  virtual bool Idle() const = 0;
  // The connection is Idle() with nothing queued: buffers kept only for speed may go back to
  // the loop (StreamServices::string_pool).
  virtual void ReleaseIdleBuffers() {}
  // The connection is closing: every stream is reset.
  virtual void OnConnectionClosed() = 0;
};

}  // namespace edge::l7
