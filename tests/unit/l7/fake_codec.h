#pragma once
// The codec's half of a request stream for tests that drive RequestStream without sockets: it
// records what the stream encodes and ends the stream as a real codec does.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/request_parser.h"
#include "common/http/response_parser.h"
#include "l7/stream/request_stream.h"

namespace edge::l7::testing {

class FakeCodec final : public CodecStream {
 public:
  explicit FakeCodec(StreamDecoder* stream) : stream_(stream) {}
  void EncodeHead(const http::HttpResponse& head,
                  const std::vector<std::pair<std::string, std::string>>* extra,
                  std::string_view request_id) override {
    head_status = head.status;
    head_body = head.body.kind;
    head_fields.clear();
    for (const auto& f : head.headers) head_fields.emplace_back(f.name, f.value);
    extra_fields = extra != nullptr ? *extra : extra_fields;
    id = std::string(request_id);
  }
  void EncodeData(std::string_view data) override { body.append(data); }
  void EncodeEnd(const http::HttpHeaders*) override {
    ended = true;
    stream_->OnStreamComplete(head_status);
  }
  void EncodeLocal(int status, const std::vector<http::HttpHeader>& fields,
                   std::string_view local_body, bool close) override {
    local_status = status;
    for (const auto& f : fields) local_fields.emplace_back(f.name, f.value);
    body.assign(local_body);
    close_connection = close;
    stream_->OnStreamComplete(status);
  }
  void EncodeUpgrade(const http::HttpResponse& head,
                     const std::vector<std::pair<std::string, std::string>>*, std::string_view,
                     UpstreamLink*, std::string_view) override {
    head_status = head.status;
    upgraded = true;
  }
  void Reset() override {
    ++resets;
    stream_->OnReset();
  }
  void AcceptBody() override { body_accepted = true; }
  void ReadBody() override { ++read_body_calls; }
  bool body_complete() const override { return body_done; }
  size_t output_queued() const override { return queued; }
  void BeginBatch() override {}
  void EndBatch() override {}

  int head_status = 0;
  int local_status = 0;
  bool ended = false;
  bool upgraded = false;
  bool close_connection = false;
  bool body_accepted = false;
  bool body_done = true;
  int resets = 0;
  int read_body_calls = 0;
  size_t queued = 0;
  std::string body;
  std::string id;
  std::vector<std::pair<std::string, std::string>> extra_fields;
  std::vector<std::pair<std::string, std::string>> local_fields;
  std::vector<std::pair<std::string, std::string>> head_fields;  // the head as encoded
  http::BodyKind head_body = http::BodyKind::kNone;

 private:
  StreamDecoder* stream_;
};

// The connection side that owns a stream; counts the releases.
class FakeStreamOwner final : public StreamOwner {
 public:
  void OnStreamReleased(RequestStream*) override { ++released; }
  int released = 0;
};

// Parses `head` into *request (its views point into *text, which keeps a copy) and gives it to
// `stream` as a request from 192.0.2.7:5555; whether it parsed.
inline bool DecodeRequest(RequestStream& stream, CodecStream* codec, std::string_view head,
                          std::string* text, http::HttpRequest* request) {
  text->assign(head);
  http::HttpLimits limits;
  if (http::ParseRequestHead(*text, limits, request).status != http::ParseStatus::kComplete) {
    return false;
  }
  StreamConnectionInfo info;
  info.client = net::SocketAddress::Parse("192.0.2.7:5555").value();
  stream.DecodeHead(1, *request, info, codec);
  return true;
}

}  // namespace edge::l7::testing
