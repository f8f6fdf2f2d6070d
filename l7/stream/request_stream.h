#pragma once
// RequestStream: one request on its way through gw7, between the codec that parsed it and the
// filter that answers it (DESIGN.md "gw7's request pipeline"; Envoy's ActiveStream).
//
// It owns the per-request state: the request as filters see it (RequestView: normalised path and
// host), the request id, the route and the config generation it was routed by, the FilterContext.
// It runs the route's chain in order; a filter may continue, stop (the stream answers with the
// filter's refusal), suspend (the stream waits for Resume, reading nothing meanwhile) or respond
// (the proxy, the last filter of every route, and later a cache, an aggregation...). The response
// a filter produces goes back through the filters before it (in reverse order) to the codec.
//
// Guarantees: every filter of the chain gets OnEnd exactly once per request that reached the chain,
// however it ends (response complete, client gone, upstream failure, a refusal), never while a
// filter holds the request suspended. A client that goes away while a filter holds the request
// leaves the stream held until Resume; then the stream ends and tells its owner (OnStreamReleased).
//
// Lifetime: the owner (the connection) holds one stream per concurrent request, taken from the
// loop's pool (GatewayServer::TakeStream) and given back once neither active nor held, so a
// keep-alive connection allocates nothing per request here (the responder's state is kept too,
// see ResponderState) and an idle one holds no stream.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "l7/codec/codec.h"
#include "l7/filters/filter.h"
#include "l7/observe/access_record.h"
#include "l7/server/gateway_runtime.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {

class RequestStream;

// The stream's owner, told when a stream held by a suspended filter is finally released.
class StreamOwner {
 public:
  virtual ~StreamOwner() = default;
  virtual void OnStreamReleased(RequestStream* stream) = 0;
};

class RequestStream final : public StreamDecoder,
                            public RequestView,
                            public FilterStream,
                            public Resumer {
 public:
  RequestStream(StreamServices* services, StreamOwner* owner);
  ~RequestStream() override;
  RequestStream(const RequestStream&) = delete;
  RequestStream& operator=(const RequestStream&) = delete;

  // A filter holds the request suspended (the stream object must stay).
  bool held() const { return suspended_; }
  // Between DecodeHead and the request's end.
  bool active() const { return active_; }
  // A pooled stream changes hands between requests (neither active nor held).
  void set_owner(StreamOwner* owner) { owner_ = owner; }

  // StreamDecoder
  void DecodeHead(StreamId id, const http::HttpRequest& request, const StreamConnectionInfo& info,
                  CodecStream* codec) override;
  void DecodeData(std::string_view data) override;
  void DecodeEnd(const http::HttpHeaders* trailers) override;
  void DecodeError(int status, std::string_view reason) override;
  bool WantsData() const override;
  void OnOutputDrained() override;
  void OnReset() override;
  void OnStreamComplete(int status) override;

  // RequestView
  std::string_view method() const override { return request_->method_name; }
  std::string_view path() const override { return path_; }  // normalised
  std::string_view query() const override { return request_->query; }
  std::string_view host() const override { return host_; }
  std::optional<std::string_view> header(std::string_view name) const override;
  size_t header_count(std::string_view name) const override;
  const net::SocketAddress& client_address() const override { return info_.client; }
  std::string_view route_name() const override;

  // FilterStream
  const http::HttpRequest& http_request() const override { return *request_; }
  std::string_view request_id() const override { return request_id_; }
  std::string_view upstream_path() const override { return upstream_path_; }
  const std::vector<std::pair<std::string, std::string>>& path_params() const override {
    return path_params_;
  }
  bool client_tls() const override { return info_.tls; }
  bool upgrade_requested() const override { return upgrade_; }
  bool request_body_complete() const override { return codec_->body_complete(); }
  StreamServices& services() override { return *services_; }
  void SetResponder(Responder* responder) override { responder_ = responder; }
  std::unique_ptr<ResponderState>& responder_state() override { return responder_state_; }
  void AcceptRequestBody() override { codec_->AcceptBody(); }
  void ReadRequestBody() override { codec_->ReadBody(); }
  void SendHead(const http::HttpResponse& head) override;
  void SendData(std::string_view data) override;
  void SendEnd(const http::HttpHeaders* trailers) override;
  void SendLocal(int status, std::string_view message) override;
  void SendUpgrade(const http::HttpResponse& head, UpstreamLink* link,
                   std::string_view first_bytes) override;
  void Reset() override;
  size_t response_queued() const override { return codec_->output_queued(); }
  void BeginOutputBatch() override { codec_->BeginBatch(); }
  void EndOutputBatch() override { codec_->EndBatch(); }

  // Resumer
  void Resume(FilterStatus status) override;

 private:
  void RunFilters(size_t from);
  // gw7's own answer: `body`, or without one a JSON error body with `message` and the request id
  // (`message` must name nothing internal). `close_connection`: see CodecStream::EncodeLocal.
  void LocalResponse(int status, std::string_view message, bool close_connection,
                     const std::vector<std::pair<std::string, std::string>>* extra = nullptr,
                     std::string_view content_type = "application/json",
                     std::string_view body = {});
  // LocalResponse to a gRPC request: HTTP 200 trailers-only with the matching grpc-status.
  void GrpcLocalResponse(int status, std::string_view message, bool close_connection,
                         const std::vector<std::pair<std::string, std::string>>* extra);
  void AnswerStop();  // with the stopping filter's ctx.stop_*
  // The filters a response passes back through: those before the one that answered.
  template <typename Fn>
  void ForEachResponseFilter(Fn&& fn);
  // Whether a filter has taken the response being sent over (asking them first if none has):
  // Filter::TakeOverResponse. Then Replace, once that response is over, lets it answer.
  bool TakenOver(const http::HttpResponse& head);
  void Replace();
  // The head the codec gets when filters removed fields (ctx.response_remove_headers) or encode
  // the body (ctx.response_encoder): a copy in edited_head_ without those fields and, when
  // encoded, without Content-Length.
  const http::HttpResponse& EditedHead(const http::HttpResponse& head);
  void SendEncoded();  // encoded_ to the filters before the encoder and to the codec
  void EndFilters();   // every filter's OnEnd, then the context goes
  // The request's traceparent (l7/observe/traceparent.h): kept or created, logged, and sent
  // upstream with gw7's span as the parent.
  void DecideTraceContext();
  // The access record, once per request, to the services' observer (before the context goes).
  void Report(int status, RequestEnd end);
  void Finish();  // the request is over: per-request state cleared

  StreamServices* services_;
  StreamOwner* owner_;
  CodecStream* codec_ = nullptr;
  const http::HttpRequest* request_ = nullptr;
  StreamConnectionInfo info_;
  bool active_ = false;
  bool suspended_ = false;
  bool reset_ = false;             // the client went away while a filter held the request
  bool upgrade_ = false;           // the request may go upstream as an upgrade request
  bool response_started_ = false;  // bytes of a response reached the codec
  std::string host_;
  // The normalised request path: a view of request_->path when it needed no change, else of
  // path_buffer_ (kept so that its capacity is reused).
  std::string_view path_;
  std::string path_buffer_;
  std::string request_id_;
  std::shared_ptr<GatewayRuntime> runtime_;
  RouteRuntime* route_ = nullptr;
  std::string upstream_path_;
  std::vector<std::pair<std::string, std::string>> path_params_;
  std::optional<FilterContext> ctx_;
  size_t filter_index_ = 0;     // the next filter to run after a Resume
  size_t responder_index_ = 0;  // the filter that answered (or refused); those before it see it
  // The filter that took the response in progress over (Filter::TakeOverResponse), if any.
  static constexpr size_t kNoReplacer = static_cast<size_t>(-1);
  size_t replacer_index_ = kNoReplacer;
  Responder* responder_ = nullptr;
  std::unique_ptr<ResponderState> responder_state_;
  // The filter whose OnResponseHead installed ctx.response_encoder (ResponseBodyEncoder), if any.
  static constexpr size_t kNoEncoder = static_cast<size_t>(-1);
  size_t encoder_index_ = kNoEncoder;
  http::HttpResponse edited_head_;  // see EditedHead (capacity kept from request to request)
  std::string encoded_;             // one piece of an encoded body

  // For the access record (strings keep their capacity from request to request).
  int64_t start_ns_ = 0;                          // the loop's clock when the head was complete
  int64_t start_unix_ns_ = 0;                     // the wall clock then
  int64_t filters_ns_ = 0;                        // head complete -> the answering filter began
  uint64_t bytes_in_ = 0;                         // request body bytes
  uint64_t bytes_out_ = 0;                        // response body bytes
  RequestEnd end_hint_ = RequestEnd::kCompleted;  // why it ends, when gw7 knows better
  bool reported_ = false;
  int status_sent_ = 0;  // the response's status once its head went to the codec
  std::string trace_id_;
  std::string span_id_;
  std::string traceparent_out_;
  std::string upstream_server_text_;
};

// A response to no request (Http1Codec::SendConnectionResponse: over max_connections,
// header_timeout, a head that does not parse; Http2Codec's heads refused before a stream):
// reported to the access log like a request, with what is known (no method, no route).
void ReportConnectionResponse(StreamServices* services, const net::SocketAddress& client,
                              int status, RequestEnd end, std::string_view request_id,
                              uint64_t bytes_in, uint64_t bytes_out);

}  // namespace edge::l7
