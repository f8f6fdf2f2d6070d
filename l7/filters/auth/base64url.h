#pragma once
// Strict base64url (RFC 4648 section 5) as JOSE uses it (RFC 7515 section 2): no padding, no
// whitespace, no other alphabet, and canonical only (the unused low bits of the last character
// must be zero), so that one byte string has exactly one encoding and a token cannot be altered
// without changing its signature input.

#include <optional>
#include <string>
#include <string_view>

namespace edge::l7 {

// The decoded bytes, or nullopt when `text` is not canonical unpadded base64url.
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace edge::l7
