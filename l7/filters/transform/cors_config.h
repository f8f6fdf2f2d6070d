#pragma once
// A route's `cors = { origins, methods, headers, expose_headers, credentials, max_age }` (README
// "CORS"), read and checked at load.
//
// Refused at load: no origins; an origin that is not "scheme://host[:port]" (cors_origin.h) or is
// "null"; "*" with other origins; "*" (origins or headers) with credentials = true (the Fetch
// standard ignores wildcards on credentialed requests, and echoing any origin with credentials
// would let every site read the user's data); methods that are not tokens; header names that are
// not tokens; max_age outside 0s..24h.

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/config/table_reader.h"
#include "l7/filters/transform/cors_origin.h"

namespace edge::l7 {

struct CorsConfig {
  bool any_origin = false;          // origins = ["*"]
  std::vector<CorsOrigin> origins;  // exact, or "*.suffix" patterns
  // Upper case as configured; default GET, HEAD, POST (what a browser sends without preflight).
  std::vector<std::string> methods;
  std::vector<std::string> headers;  // request headers a preflight may ask for, lower case
  bool any_header = false;           // headers = ["*"]: whatever the preflight asks for
  std::vector<std::string> expose_headers;
  bool credentials = false;
  std::optional<absl::Duration> max_age;
};

// Reads `cors` of a route table; false (and *out untouched) when absent.
bool ReadCorsConfig(config::TableReader& route, CorsConfig* out);

}  // namespace edge::l7
