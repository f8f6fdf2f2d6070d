#pragma once
// InternalCodec: the codec of a request gw7 makes to itself, with no client behind it (a cache's
// background refresh, l7/filters/cache/cache_refresh.h). The request stream runs as for a client
// (routing, the route's filters from StreamConnectionInfo::first_filter on, the proxy), and
// whatever response it produces is discarded: what the request was for happens on the way (the
// cache filter stores the response). The owner hears the final status once.
//
// The request has no body, so body pacing is trivial; nothing is ever queued; an upgrade is never
// asked for (the owner sends no Upgrade field), so EncodeUpgrade is a broken invariant.

#include "l7/codec/codec.h"

namespace edge::l7 {

class InternalCodec final : public CodecStream {
 public:
  // `done(context, status)` is called once the stream is over (status 0: reset), after the stream
  // heard OnStreamComplete / OnReset. The stream object must outlive that call stack: the owner
  // frees it later, not from inside `done`.
  using DoneCallback = void (*)(void* context, int status);
  InternalCodec(StreamDecoder* stream, DoneCallback done, void* context)
      : stream_(stream), done_(done), context_(context) {}

  void EncodeHead(const http::HttpResponse& head,
                  const std::vector<std::pair<std::string, std::string>>* /*extra_fields*/,
                  std::string_view /*request_id*/) override {
    status_ = head.status;
  }
  void EncodeData(std::string_view /*data*/) override {}
  void EncodeEnd(const http::HttpHeaders* /*trailers*/) override { Complete(status_); }
  void EncodeLocal(int status, const std::vector<http::HttpHeader>& /*fields*/,
                   std::string_view /*body*/, bool /*close_connection*/) override {
    Complete(status);
  }
  void EncodeUpgrade(const http::HttpResponse& head,
                     const std::vector<std::pair<std::string, std::string>>* extra_fields,
                     std::string_view request_id, UpstreamLink* link,
                     std::string_view first_bytes) override;
  void Reset() override;
  void AcceptBody() override {}
  void ReadBody() override {}
  bool body_complete() const override { return true; }
  size_t output_queued() const override { return 0; }
  void BeginBatch() override {}
  void EndBatch() override {}

 private:
  void Complete(int status) {
    stream_->OnStreamComplete(status);
    done_(context_, status);
  }

  StreamDecoder* stream_;
  DoneCallback done_;
  void* context_;
  int status_ = 0;
};

}  // namespace edge::l7
