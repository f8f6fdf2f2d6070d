#include "l7/codec/http1_response_writer.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "common/http/chars.h"
#include "common/http/hop_by_hop.h"

namespace edge::l7 {

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

namespace {

bool IsFieldValueByte(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= 0x20 || c == '\t') && u != 0x7f;
}

}  // namespace

bool IsSafeExtraField(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!http::internal::IsTchar(c)) return false;
  }
  // Eight bytes at a time: a word with no byte below 0x20 and none equal to 0x7f is fine as it
  // is; one that may have (the test can flag a good byte next to a bad one) is checked byte by
  // byte. Every request carries one such field at least (traceparent, 55 bytes).
  constexpr uint64_t kOnes = 0x0101010101010101, kHigh = 0x8080808080808080;
  const char* p = value.data();
  const char* end = p + value.size();
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
    const uint64_t x = w ^ (kOnes * 0x7f);
    const uint64_t del = (x - kOnes) & ~x & kHigh;
    if ((below_space | del) != 0) {
      for (int i = 0; i < 8; ++i) {
        if (!IsFieldValueByte(p[i])) return false;
      }
    }
  }
  for (; p < end; ++p) {
    if (!IsFieldValueByte(*p)) return false;
  }
  return true;
}

ClientFraming ChooseClientFraming(const http::HttpResponse& response,
                                  http::HttpVersion client_version) {
  switch (response.body.kind) {
    case http::BodyKind::kNone:
      return ClientFraming::kNone;
    case http::BodyKind::kContentLength:
      return response.body.length == 0 ? ClientFraming::kNone : ClientFraming::kContentLength;
    case http::BodyKind::kChunked:
    case http::BodyKind::kUntilClose:
      return client_version == http::HttpVersion::kHttp11 ? ClientFraming::kChunked
                                                          : ClientFraming::kUntilClose;
  }
  return ClientFraming::kNone;
}

void AppendClientResponseHead(const http::HttpResponse& response,
                              const ClientResponseOptions& options, std::string* out) {
  out->append("HTTP/1.1 ");
  out->append(std::to_string(response.status));  // three digits: no allocation
  out->push_back(' ');
  out->append(response.reason);
  out->append("\r\n");
  http::HopByHopFilter hop(response.headers);
  for (const http::HttpHeader& h : response.headers) {
    if (options.upgrade && http::EqualsIgnoreCase(h.name, "upgrade")) {
      AppendField(out, h.name, h.value);
      continue;
    }
    if (hop.IsHopByHop(h.name) || http::EqualsIgnoreCase(h.name, "x-request-id")) continue;
    // Content-Length stays only where it still describes what the client gets.
    if (http::EqualsIgnoreCase(h.name, "content-length") &&
        options.framing != ClientFraming::kContentLength &&
        options.framing != ClientFraming::kNone) {
      continue;
    }
    out->append(h.name);
    out->append(": ");
    out->append(h.value);
    out->append("\r\n");
  }
  if (options.extra_headers != nullptr) {
    for (const auto& [name, value] : *options.extra_headers) {
      if (!IsSafeExtraField(name, value) || http::IsHopByHopField(name) ||
          http::EqualsIgnoreCase(name, "content-length")) {
        continue;
      }
      AppendField(out, name, value);
    }
  }
  if (!options.request_id.empty()) AppendField(out, "X-Request-Id", options.request_id);
  if (options.framing == ClientFraming::kChunked) out->append("Transfer-Encoding: chunked\r\n");
  if (options.upgrade) {
    out->append("Connection: Upgrade\r\n");
  } else if (!options.keep_alive || options.framing == ClientFraming::kUntilClose) {
    out->append("Connection: close\r\n");
  } else if (options.client_version == http::HttpVersion::kHttp10) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
}

void AppendChunk(std::string_view data, std::string* out) {
  char digits[16];
  auto end = std::to_chars(digits, digits + sizeof(digits), data.size(), 16).ptr;
  out->append(digits, static_cast<size_t>(end - digits));
  out->append("\r\n");
  out->append(data);
  out->append("\r\n");
}

void AppendClientLastChunk(const http::HttpHeaders& trailers,
                           const http::HttpHeaders& response_headers, std::string* out) {
  out->append("0\r\n");
  http::HopByHopFilter hop(response_headers);
  for (const http::HttpHeader& t : trailers) {
    if (http::IsForbiddenTrailerField(t.name) || hop.IsHopByHop(t.name) ||
        http::EqualsIgnoreCase(t.name, "x-request-id")) {
      continue;
    }
    AppendField(out, t.name, t.value);
  }
  out->append("\r\n");
}

}  // namespace edge::l7
