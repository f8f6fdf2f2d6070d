#pragma once
// Dot segments in a request path. The parser leaves the path as received (request_parser.h) and
// the router matches it undecoded (router.h), so "/public/../admin" would match the route for
// "/public" while the backend, normalising, serves "/admin". gw7 refuses such paths (400) rather
// than guess which reading the backend will take. A segment "." or "..", literal or with its dots
// percent-encoded ("%2e", "%2E"), is refused; dots inside a segment ("/a..b", "/.well-known") are
// fine.

#include <string_view>

namespace edge::l7 {

// True when no segment of `path` is a dot segment, encoded or not.
bool PathHasNoDotSegments(std::string_view path);

}  // namespace edge::l7
