#pragma once
// Http1Codec: HTTP/1.x on one client connection, behind the codec interface (codec.h).
//
// Requests are answered one at a time and in order: a pipelined request waits in the input
// buffer until the one before it has been answered (and while more than kHighWater of answers
// waits for the client). Parsing is strict (common/http/request_parser.h) and bounded by
// [gw7.limits]; a request the parser refuses is answered (400, 413, 431, ...) and the connection
// ends, since the stream of bytes can no longer be trusted.
//
// Also here, because they are HTTP/1 matters: an optional PROXY header first (from
// trusted_proxies only; proxy_protocol = "required" refuses a connection without one); the
// request body's framing (Content-Length, chunked with trailers) and Expect: 100-continue; the
// client's framing of a response (http1_response_writer.h: Content-Length, chunked, or until
// close for an HTTP/1.0 client); persistence (Connection: close after a refused request, a
// response while the request body is unread, a drain, a close-delimited body; keep-alive for a
// kept HTTP/1.0 client); and the 101 after which the connection is handed over as a tunnel.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/chunked_decoder.h"
#include "common/http/request_parser.h"
#include "common/net/address.h"
#include "l7/codec/codec.h"
#include "l7/codec/http1_response_writer.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {

class Http1Codec final : public ServerCodec, public CodecStream {
 public:
  // Input kept beyond the request being answered (pipelined requests, a body) and output queued
  // for the client beyond which the next request waits.
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;

  // `peer` is the TCP peer (the PROXY header may name another client address); it must outlive
  // the codec (the connection's own).
  Http1Codec(StreamServices* services, ServerCodecCallbacks* callbacks,
             const net::SocketAddress& peer);
  Http1Codec(StreamServices*, ServerCodecCallbacks*, net::SocketAddress&&) = delete;

  // Starts reading: a PROXY header first when [gw7] proxy_protocol allows one.
  void Start(bool expect_proxy_header, bool draining);
  // A response to no request (over max_connections, header_timeout, a refused PROXY header): a
  // JSON error body, then the connection ends. `request_id` may be empty.
  void SendConnectionResponse(int status, std::string_view message, std::string_view request_id,
                              const std::vector<std::pair<std::string, std::string>>* extra);
  // The bytes read behind the request (for the tunnel), taken out of the codec.
  std::string TakeInput();

  // ServerCodec
  void OnData(std::string_view data) override;
  void OnEof() override;
  bool WantsInput() const override;
  bool ExpectsMuchInput() const override;
  void OnOutputDrained(bool below_low_water) override;
  void Drain() override { draining_ = true; }
  bool Idle() const override;
  void ReleaseIdleBuffers() override;
  void OnConnectionClosed() override;

  // CodecStream (the stream being answered)
  void EncodeHead(const http::HttpResponse& head,
                  const std::vector<std::pair<std::string, std::string>>* extra_fields,
                  std::string_view request_id) override;
  void EncodeData(std::string_view data) override;
  void EncodeEnd(const http::HttpHeaders* trailers) override;
  void EncodeLocal(int status, const std::vector<http::HttpHeader>& fields, std::string_view body,
                   bool close_connection) override;
  void EncodeUpgrade(const http::HttpResponse& head,
                     const std::vector<std::pair<std::string, std::string>>* extra_fields,
                     std::string_view request_id, UpstreamLink* link,
                     std::string_view first_bytes) override;
  void Reset() override;
  void AcceptBody() override;
  void ReadBody() override;
  bool body_complete() const override { return body_complete_; }
  size_t output_queued() const override { return callbacks_->output_queued(); }
  void BeginBatch() override { callbacks_->BeginBatch(); }
  void EndBatch() override { callbacks_->EndBatch(); }

 private:
  enum class State : uint8_t {
    kProxyHeader,  // expecting a PROXY header from a trusted proxy
    kHead,         // waiting for a request head
    kStream,       // a request is with its stream (filters, body, response)
    kFinished,     // no more requests: the last response flushes, or the tunnel runs
    kClosed,
  };

  void Process();
  void ProcessLoop();
  void ProcessProxyHeader();
  bool PeerIsTrustedProxy() const;
  void RejectConnection(int status, std::string_view kind, std::string_view reason);
  void StartRequest(size_t head_bytes);
  // Hands the connection to HTTP/2 if it begins with the preface or ALPN said h2 (true: this
  // codec is done, or waits for the rest of the preface).
  bool SwitchToHttp2();
  void FeedBody();
  // The stream has its answer: the next request, or the end of the connection.
  void CompleteStream(int status);

  StreamServices* services_;
  ServerCodecCallbacks* callbacks_;
  const net::SocketAddress& peer_;
  StreamConnectionInfo info_;  // client address, TLS: from the PROXY header
  State state_ = State::kHead;
  bool eof_ = false;
  bool draining_ = false;
  bool in_process_ = false;
  bool http2_ = false;    // [gw7] http2: the connection preface hands over to HTTP/2
  bool alpn_h2_ = false;  // the PROXY header's ALPN TLV is "h2"
  std::string in_;        // received, not yet consumed

  // The current request.
  StreamDecoder* stream_ = nullptr;
  StreamId next_stream_id_ = 1;
  http::RequestHeadParser head_parser_;
  std::string head_;  // the head's bytes; request_ points into them
  http::HttpRequest request_;
  bool have_request_ = false;
  uint64_t body_left_ = 0;  // content-length bytes still to come
  // A chunked body's decoder: made for the first chunked request, kept (with its trailers'
  // capacity) until the connection is idle.
  std::unique_ptr<http::ChunkedDecoder> chunked_;
  bool body_complete_ = true;
  bool body_accepted_ = false;         // the stream reads the body (AcceptBody)
  bool close_after_response_ = false;  // no keep-alive after the current response

  // The response being sent.
  ClientFraming framing_ = ClientFraming::kNone;
  const http::HttpResponse* response_head_ = nullptr;
  int response_status_ = 0;
};

}  // namespace edge::l7
