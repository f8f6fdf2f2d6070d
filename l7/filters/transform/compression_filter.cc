#include "l7/filters/transform/compression_filter.h"

#include "l7/filters/transform/accept_encoding.h"
#include "l7/filters/transform/body_encoders.h"
#include "l7/filters/transform/field_list.h"
#include "l7/server/gateway_stats.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {
namespace {

// Counts what passes through an encoder into the gateway's counters (which outlive every
// request: they belong to the server).
class CountingEncoder final : public ResponseBodyEncoder {
 public:
  CountingEncoder(std::unique_ptr<ResponseBodyEncoder> inner, GatewayStats* stats)
      : inner_(std::move(inner)), stats_(stats) {}
  void Encode(std::string_view data, std::string* out) override {
    const size_t before = out->size();
    inner_->Encode(data, out);
    stats_->compression_bytes_in += data.size();
    stats_->compression_bytes_out += out->size() - before;
  }
  void Finish(std::string* out) override {
    const size_t before = out->size();
    inner_->Finish(out);
    stats_->compression_bytes_out += out->size() - before;
  }

 private:
  std::unique_ptr<ResponseBodyEncoder> inner_;
  GatewayStats* stats_;
};

// Whether a comma-separated list field of `headers` named `name` has the element `element`
// (case-insensitive; parameters after '=' are part of an element, so "no-transform" is exact).
bool ListHas(const http::HttpHeaders& headers, std::string_view name, std::string_view element) {
  for (const http::HttpHeader& h : headers) {
    if (!http::EqualsIgnoreCase(h.name, name)) continue;
    for (std::string_view e : SplitList(h.value, ',')) {
      if (http::EqualsIgnoreCase(TrimOws(e), element)) return true;
    }
  }
  return false;
}

}  // namespace

void CompressionFilter::OnResponseHead(FilterContext& ctx, const http::HttpResponse& head) {
  if (ctx.response_encoder != nullptr) return;
  if (head.status < 200 || head.status == 204 || head.status == 304 || head.status == 206) return;
  const http::HttpHeader* type = head.headers.Find("content-type");
  if (type == nullptr || !config_.Compressible(type->value)) return;
  // gRPC compresses its messages itself and its clients do not undo a Content-Encoding, whatever
  // "application/*" says.
  if (type->value.size() >= 16 &&
      http::EqualsIgnoreCase(type->value.substr(0, 16), "application/grpc")) {
    return;
  }
  if (head.headers.Find("content-encoding") != nullptr) return;
  if (head.headers.Find("content-range") != nullptr) return;
  if (ListHas(head.headers, "cache-control", "no-transform")) return;
  if (!ListHas(head.headers, "vary", "accept-encoding") && !ListHas(head.headers, "vary", "*")) {
    ctx.response_headers.emplace_back("Vary", "Accept-Encoding");
  }
  if (head.body.kind == http::BodyKind::kNone || ctx.request.method() == "HEAD") return;
  if (head.body.kind == http::BodyKind::kContentLength &&
      (head.body.length == 0 || head.body.length < config_.min_bytes)) {
    return;
  }
  // Every Accept-Encoding field: one list split over several lines is still one list.
  std::string accept;
  if (ctx.stream != nullptr) {
    for (const http::HttpHeader& h : ctx.stream->http_request().headers) {
      if (!http::EqualsIgnoreCase(h.name, "accept-encoding")) continue;
      if (!accept.empty()) accept.push_back(',');
      accept.append(h.value);
    }
  } else if (auto v = ctx.request.header("accept-encoding")) {
    accept.assign(*v);
  }
  const ContentCoding coding = ChooseContentCoding(accept, config_.brotli);
  const uint64_t size_hint =
      head.body.kind == http::BodyKind::kContentLength ? head.body.length : 0;
  if (coding == ContentCoding::kIdentity) return;
  std::unique_ptr<ResponseBodyEncoder> encoder = coding == ContentCoding::kBrotli
                                                     ? MakeBrotliEncoder(5, size_hint)
                                                     : MakeGzipEncoder(6, size_hint);
  if (encoder == nullptr) return;  // no memory for the compressor: identity is still right
  ctx.response_headers.emplace_back("Content-Encoding",
                                    coding == ContentCoding::kBrotli ? "br" : "gzip");
  if (const http::HttpHeader* etag = head.headers.Find("etag");
      etag != nullptr && !etag->value.starts_with("W/")) {
    ctx.response_remove_headers.emplace_back("ETag");
    ctx.response_headers.emplace_back("ETag", "W/" + std::string(etag->value));
  }
  if (ctx.stream != nullptr) {
    GatewayStats& stats = ctx.stream->services().stats();
    ++(coding == ContentCoding::kBrotli ? stats.compressed_br : stats.compressed_gzip);
    encoder = std::make_unique<CountingEncoder>(std::move(encoder), &stats);
  }
  ctx.response_encoder = std::move(encoder);
}

}  // namespace edge::l7
