#include "common/net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edge::net {

SocketAddress::SocketAddress() {
  std::memset(&storage_, 0, sizeof(storage_));
  storage_.sa.sa_family = AF_UNSPEC;
}

absl::StatusOr<SocketAddress> SocketAddress::ParseIp(std::string_view ip, uint16_t port) {
  SocketAddress out;
  std::string text(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return out;
  }
  std::memset(&out.storage_, 0, sizeof(out.storage_));
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return out;
  }
  return absl::InvalidArgumentError(absl::StrFormat("not an IP address: \"%s\"", ip));
}

absl::StatusOr<SocketAddress> SocketAddress::Parse(std::string_view text) {
  std::string_view host, port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrFormat("bad address \"%s\": want \"[IPv6]:port\"", text));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("bad address \"%s\": not IPv6 in []", text));
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrFormat("bad address \"%s\": want \"IPv4:port\" or \"[IPv6]:port\"", text));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string_view::npos ||
      !absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat("bad port in \"%s\": want 0-65535", text));
  }
  auto parsed = ParseIp(host, static_cast<uint16_t>(port));
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bad address \"%s\": %s", text, parsed.status().message()));
  }
  if (!text.empty() && text.front() != '[' && !parsed->is_v4()) {
    return absl::InvalidArgumentError(absl::StrFormat("bad address \"%s\": IPv6 needs []", text));
  }
  return parsed;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress out;
  if (sa == nullptr) return out;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in6));
  }
  return out;
}

SocketAddress SocketAddress::FromBytes(std::string_view ip_bytes, uint16_t port) {
  SocketAddress out;
  if (ip_bytes.size() == 4) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    std::memcpy(&v4->sin_addr, ip_bytes.data(), 4);
  } else if (ip_bytes.size() == 16) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    std::memcpy(&v6->sin6_addr, ip_bytes.data(), 16);
  }
  return out;
}

uint16_t SocketAddress::port() const {
  if (storage_.sa.sa_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.sa.sa_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (storage_.sa.sa_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  } else if (storage_.sa.sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

socklen_t SocketAddress::length() const {
  if (storage_.sa.sa_family == AF_INET) return sizeof(sockaddr_in);
  if (storage_.sa.sa_family == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

std::string_view SocketAddress::IpBytes() const {
  if (storage_.sa.sa_family == AF_INET) {
    return {
        reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr),
        4};
  }
  if (storage_.sa.sa_family == AF_INET6) {
    return {
        reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr),
        16};
  }
  return {};
}

namespace {

// Dotted quad of a v4 address into `out` (at least 15 bytes); returns the end. inet_ntop goes
// through sprintf, which cost more than the rest of a proxied request's header work: the client
// address is written several times per request (X-Forwarded-For, Forwarded, the access record).
char* FormatV4(const uint8_t* b, char* out) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *out++ = '.';
    const unsigned v = b[i];
    if (v >= 100) *out++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *out++ = static_cast<char>('0' + v / 10 % 10);
    *out++ = static_cast<char>('0' + v % 10);
  }
  return out;
}

}  // namespace

std::string SocketAddress::IpString() const {
  std::string_view bytes = IpBytes();
  if (bytes.empty()) return "unspec";
  if (is_v4()) {
    char buf[16];
    return std::string(buf, FormatV4(reinterpret_cast<const uint8_t*>(bytes.data()), buf));
  }
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(storage_.sa.sa_family, bytes.data(), buf, sizeof(buf));
  return buf;
}

std::string SocketAddress::ToString() const {
  if (!valid()) return "unspec";
  if (is_v4()) {
    char buf[32];
    char* end = FormatV4(reinterpret_cast<const uint8_t*>(IpBytes().data()), buf);
    *end++ = ':';
    end = absl::numbers_internal::FastIntToBuffer(static_cast<uint32_t>(port()), end);
    return std::string(buf, end);
  }
  return absl::StrCat("[", IpString(), "]:", port());
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  return a.family() == b.family() && a.port() == b.port() && a.IpBytes() == b.IpBytes();
}

}  // namespace edge::net
