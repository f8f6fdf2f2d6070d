#pragma once
// The parser limits gw7 applies, from [gw7.limits]: requests are held to every limit; responses
// from upstreams to the header limits only (their bodies stream, whatever their size).

#include "common/http/chunked_decoder.h"
#include "common/http/message.h"
#include "l7/config/gateway_config.h"

namespace edge::l7 {

inline http::HttpLimits RequestLimits(const LimitsConfig& l) {
  http::HttpLimits limits;
  limits.max_header_bytes = l.max_header_bytes;
  limits.max_target_bytes = l.max_uri_bytes;
  limits.max_body_bytes = l.max_body_bytes;
  return limits;
}

inline http::HttpLimits ResponseLimits(const LimitsConfig& l) {
  http::HttpLimits limits;
  limits.max_header_bytes = l.max_header_bytes;
  limits.max_target_bytes = l.max_uri_bytes;
  limits.max_body_bytes = http::kUnlimitedBody;
  return limits;
}

inline http::ChunkedLimits RequestChunkedLimits(const LimitsConfig& l) {
  http::ChunkedLimits c;
  c.max_body_bytes = l.max_body_bytes;
  return c;
}

inline http::ChunkedLimits ResponseChunkedLimits() {
  http::ChunkedLimits c;
  c.max_body_bytes = http::kUnlimitedBody;
  return c;
}

}  // namespace edge::l7
