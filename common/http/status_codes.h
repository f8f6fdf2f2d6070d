#pragma once
// HTTP status codes (RFC 9110 15, plus 429/431 from RFC 6585 and 451 from RFC 7725).

#include <string_view>

namespace edge::http {

// The standard reason phrase for `status` ("Not Found"), or "" for a code without one (an empty
// reason phrase is valid on the wire).
std::string_view ReasonPhrase(int status);

}  // namespace edge::http
