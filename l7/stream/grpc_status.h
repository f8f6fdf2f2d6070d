#pragma once
// gRPC over HTTP/2 as gw7 sees it (the gRPC "PROTOCOL-HTTP2" spec): which requests are gRPC,
// their grpc-timeout, and what gw7's own refusals become for a gRPC client, which reads the
// grpc-status of a response and not its HTTP status: a "trailers-only" response (HTTP 200 whose
// single header block carries grpc-status and grpc-message).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/http/message.h"

namespace edge::l7 {

// grpc-status codes gw7 produces.
enum class GrpcCode : int {
  kOk = 0,
  kUnknown = 2,
  kDeadlineExceeded = 4,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

// content-type application/grpc, or application/grpc+proto, application/grpc;... .
bool IsGrpcContentType(std::string_view content_type);
bool IsGrpcRequest(const http::HttpHeaders& headers);

// The grpc-status for gw7's own answer `http_status`: 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404/405 UNIMPLEMENTED, 408/504 DEADLINE_EXCEEDED, 413/429/431
// RESOURCE_EXHAUSTED, 502/503 UNAVAILABLE, other 4xx INTERNAL, other UNKNOWN.
GrpcCode GrpcCodeForHttpStatus(int http_status);

// grpc-message is percent-encoded (the spec: bytes outside 0x20-0x7E, and '%').
std::string GrpcMessageEncode(std::string_view message);

// grpc-timeout "1-8 digits + unit" (H M S m u n) in nanoseconds; nullopt when malformed.
std::optional<int64_t> ParseGrpcTimeout(std::string_view value);

}  // namespace edge::l7
