#pragma once
// HTTP-date (RFC 9110 §5.6.7) to and from seconds since the epoch, for Date, Expires,
// Last-Modified and If-Modified-Since.
//
// Accepts the preferred IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and the two obsolete forms
// recipients must still read: RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime
// ("Sun Nov  6 08:49:37 1994"). Anything else is invalid: the caching rules treat an invalid
// Expires as already expired and an invalid Date as absent, never as a guess.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edge::l7 {

std::optional<int64_t> ParseHttpDate(std::string_view text);
// IMF-fixdate of `seconds` (UTC).
std::string FormatHttpDate(int64_t seconds);

}  // namespace edge::l7
