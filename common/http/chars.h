#pragma once
// Character classes of RFC 9110/9112 and RFC 3986, as one 256-entry table of bit flags, for the
// HTTP/1.1 parsers (internal to common/http). A byte is classified by a single table load, so the
// parsers' inner loops stay branch-light.

#include <array>
#include <cstdint>

namespace edge::http::internal {

enum CharClass : uint8_t {
  kTchar = 1 << 0,       // token characters (RFC 9110 5.6.2): method, field names, codings
  kVchar = 1 << 1,       // visible ASCII 0x21..0x7E
  kFieldChar = 1 << 2,   // field-value bytes: VCHAR, obs-text 0x80..0xFF, SP, HTAB
  kHexDigit = 1 << 3,    // 0-9 A-F a-f
  kPathChar = 1 << 4,    // RFC 3986 pchar minus pct-encoded, plus "/": unreserved sub-delims : @ /
  kQueryChar = 1 << 5,   // VCHAR except "#" and "%" (see request_parser.h for why not RFC 3986's)
  kHostChar = 1 << 6,    // unreserved: ALPHA DIGIT - . _ ~ (the only host-name bytes we accept)
  kSchemeChar = 1 << 7,  // ALPHA DIGIT + - .
};

constexpr bool IsAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsDigit(int c) { return c >= '0' && c <= '9'; }

constexpr std::array<uint8_t, 256> MakeCharClasses() {
  std::array<uint8_t, 256> t{};
  constexpr const char* kTcharPunct = "!#$%&'*+-.^_`|~";
  constexpr const char* kUnreservedPunct = "-._~";
  constexpr const char* kSubDelims = "!$&'()*+,;=";
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    bool alnum = IsAlpha(c) || IsDigit(c);
    if (alnum) v |= kTchar | kPathChar | kHostChar | kSchemeChar;
    for (const char* s = kTcharPunct; *s; ++s) {
      if (c == *s) v |= kTchar;
    }
    for (const char* s = kUnreservedPunct; *s; ++s) {
      if (c == *s) v |= kPathChar | kHostChar;
    }
    for (const char* s = kSubDelims; *s; ++s) {
      if (c == *s) v |= kPathChar;
    }
    if (c == ':' || c == '@' || c == '/') v |= kPathChar;
    if (c >= 0x21 && c <= 0x7E) {
      v |= kVchar | kFieldChar;
      if (c != '#' && c != '%') v |= kQueryChar;
    }
    if (c >= 0x80 || c == ' ' || c == '\t') v |= kFieldChar;
    if (IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHexDigit;
    if (c == '+' || c == '-' || c == '.') v |= kSchemeChar;
    t[c] = v;
  }
  return t;
}

inline constexpr std::array<uint8_t, 256> kCharClasses = MakeCharClasses();

inline bool Is(uint8_t cls, char c) { return (kCharClasses[static_cast<uint8_t>(c)] & cls) != 0; }
inline bool IsTchar(char c) { return Is(kTchar, c); }
inline bool IsHex(char c) { return Is(kHexDigit, c); }
inline bool IsOws(char c) { return c == ' ' || c == '\t'; }

// Value of a hex digit (the caller checked IsHex).
inline unsigned HexValue(char c) {
  unsigned u = static_cast<uint8_t>(c);
  return u <= '9' ? u - '0' : (u | 0x20) - 'a' + 10;
}

inline char ToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

}  // namespace edge::http::internal
