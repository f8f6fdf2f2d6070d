#include "l7/stream/grpc_status.h"

#include <limits>

namespace edge::l7 {

bool IsGrpcContentType(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size() ||
      !http::EqualsIgnoreCase(content_type.substr(0, kGrpc.size()), kGrpc)) {
    return false;
  }
  if (content_type.size() == kGrpc.size()) return true;
  const char next = content_type[kGrpc.size()];
  return next == '+' || next == ';';
}

bool IsGrpcRequest(const http::HttpHeaders& headers) {
  const http::HttpHeader* h = headers.Find("content-type");
  return h != nullptr && IsGrpcContentType(h->value);
}

GrpcCode GrpcCodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 401:
      return GrpcCode::kUnauthenticated;
    case 403:
      return GrpcCode::kPermissionDenied;
    case 404:
    case 405:
      return GrpcCode::kUnimplemented;
    case 408:
    case 504:
      return GrpcCode::kDeadlineExceeded;
    case 413:
    case 429:
    case 431:
      return GrpcCode::kResourceExhausted;
    case 502:
    case 503:
      return GrpcCode::kUnavailable;
    default:
      return http_status >= 400 && http_status < 500 ? GrpcCode::kInternal : GrpcCode::kUnknown;
  }
}

std::string GrpcMessageEncode(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '%') {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<int64_t> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  int64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  int64_t unit_ns = 0;
  switch (value.back()) {
    case 'H':
      unit_ns = 3600LL * 1'000'000'000;
      break;
    case 'M':
      unit_ns = 60LL * 1'000'000'000;
      break;
    case 'S':
      unit_ns = 1'000'000'000;
      break;
    case 'm':
      unit_ns = 1'000'000;
      break;
    case 'u':
      unit_ns = 1'000;
      break;
    case 'n':
      unit_ns = 1;
      break;
    default:
      return std::nullopt;
  }
  if (n > std::numeric_limits<int64_t>::max() / unit_ns) return std::numeric_limits<int64_t>::max();
  return n * unit_ns;
}

}  // namespace edge::l7
