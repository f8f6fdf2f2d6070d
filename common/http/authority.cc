#include "common/http/authority.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/http/chars.h"

namespace edge::http {

using internal::Is;
using internal::IsDigit;

bool ParseAuthority(std::string_view text, Authority* out) {
  Authority a;
  size_t i = 0;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    std::string_view literal = text.substr(1, close - 1);
    char buf[INET6_ADDRSTRLEN];
    if (literal.empty() || literal.size() >= sizeof(buf)) return false;
    for (char c : literal) {
      if (!internal::IsHex(c) && c != ':' && c != '.') return false;
    }
    std::memcpy(buf, literal.data(), literal.size());
    buf[literal.size()] = '\0';
    in6_addr addr;
    if (inet_pton(AF_INET6, buf, &addr) != 1) return false;
    i = close + 1;
  } else {
    while (i < text.size() && Is(internal::kHostChar, text[i])) ++i;
    if (i == 0) return false;
  }
  a.host = text.substr(0, i);
  if (i < text.size()) {
    if (text[i] != ':') return false;
    std::string_view port = text.substr(i + 1);
    if (port.empty() || port.size() > 5) return false;
    uint32_t n = 0;
    for (char c : port) {
      if (!IsDigit(c)) return false;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n > 65535) return false;
    a.has_port = true;
    a.port = static_cast<uint16_t>(n);
  }
  *out = a;
  return true;
}

}  // namespace edge::http
