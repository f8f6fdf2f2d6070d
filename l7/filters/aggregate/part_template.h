#pragma once
// The target of one aggregation part: a path template such as
// "/reviews?product={id}&page={query.page}" filled per request.
//
// Placeholders: "{NAME}" takes the route's path_template capture NAME, "{query.NAME}" the client's
// query parameter NAME. Anything else in braces is refused at load. Every value is percent-decoded
// (a malformed escape refuses the request) and percent-encoded again with only RFC 3986 unreserved
// characters left bare, so a value never adds a path segment, a query parameter, a fragment or a
// header line: "../x" becomes "..%2Fx", "a&b=c" becomes "a%26b%3Dc", CR LF become %0D%0A. A value
// that would form a whole path segment "." or ".." (dot-segments an upstream resolves) is refused,
// and so is a missing query parameter: the part could not ask for what the client meant.
// A query value is decoded as a form value ('+' is a space, http::DecodeQueryComponent), a path
// capture as a path segment ('+' is a plus).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "l7/router/path_captures.h"

namespace edge::l7 {

struct PartTemplate {
  enum class Kind { kLiteral, kCapture, kQuery };
  struct Piece {
    Kind kind;
    std::string text;  // the literal, or the capture / query parameter name
    bool in_query;     // after the template's '?'
  };
  std::vector<Piece> pieces;
};

// Parses `text` (must start with '/', visible ASCII, no '#'); `captures` are the route's
// path_template capture names. The error says what is wrong, for `gw7 --check`.
absl::StatusOr<PartTemplate> ParsePartTemplate(std::string_view text,
                                               const std::vector<std::string>& captures);

// The route's capture names come from l7/router/path_captures.h (TemplateCaptureNames).

struct PartTarget {
  std::string path;   // what goes on the request line, percent-encoded
  std::string query;  // without '?', empty if none
};

// Fills the template for one request. `params` are the route's captures as the router gives them
// (still percent-encoded), `query` the client's raw query. An error is the client's (400).
absl::StatusOr<PartTarget> FillPartTemplate(
    const PartTemplate& part, const std::vector<std::pair<std::string, std::string>>& params,
    std::string_view query);

}  // namespace edge::l7
