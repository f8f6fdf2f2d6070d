#pragma once
// CompressionFilter: a route's `compress` (compression_config.h; README "Compression"). Early in
// the chain, so the filters after it (a cache store) see the body as the upstream sent it and a
// cache hit is compressed on its way out like an upstream response.
//
// On the response head, a body is compressed (gzip, or br when offered and preferred) when all of
// these hold: the Content-Type is one of the route's types; the response has a body (not 1xx, 204,
// 304, not to a HEAD, not empty, not gRPC); it is no range (206 or Content-Range); it has no
// Content-Encoding (never encoded twice); Cache-Control has no no-transform; a Content-Length, when
// given, is at least compress_min_bytes; and the client's Accept-Encoding (accept_encoding.h)
// accepts the coding. Whenever the type qualifies, `Vary: Accept-Encoding` is added (unless the
// upstream's Vary has it or "*"), also when this client gets identity, so that a shared cache keeps
// the variants apart.
//
// Compressing: Content-Encoding is added, Content-Length dropped (the codec frames: chunked on
// HTTP/1.1, DATA frames on HTTP/2), the body streamed through a ResponseBodyEncoder. A strong ETag
// becomes weak (W/"x"), as nginx does: the compressed bytes differ from the ones the strong
// validator names, yet If-None-Match (weak comparison) keeps working for the same content.

#include "l7/filters/filter.h"
#include "l7/filters/transform/compression_config.h"

namespace edge::l7 {

class CompressionFilter final : public Filter {
 public:
  explicit CompressionFilter(CompressionConfig config) : config_(std::move(config)) {}
  std::string_view name() const override { return "compress"; }
  FilterStatus OnRequest(FilterContext& /*ctx*/, Resumer* /*resumer*/) override {
    return FilterStatus::kContinue;
  }
  void OnResponseHead(FilterContext& ctx, const http::HttpResponse& head) override;

 private:
  CompressionConfig config_;
};

}  // namespace edge::l7
