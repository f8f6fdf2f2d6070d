#include "common/net/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::net {
namespace {

// The text as shown in an error: control and non-ASCII bytes, quotes and backslashes escaped, so
// that a hostile value cannot forge log lines.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += absl::StrFormat("\\x%02x", u);
    } else {
      out += c;
    }
  }
  return out;
}

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid CIDR \"%s\": %s", Printable(text), why));
}

// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), or empty.
std::string_view MappedV4(std::string_view ip16) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (ip16.size() != 16 || std::memcmp(ip16.data(), kPrefix, 12) != 0) return {};
  return ip16.substr(12);
}

// True when the first `bits` bits of a and b agree.
bool PrefixEqual(const uint8_t* a, const uint8_t* b, int bits) {
  const int bytes = bits / 8;
  if (std::memcmp(a, b, static_cast<size_t>(bytes)) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

}  // namespace

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  if (text.size() > 64) return Invalid(text.substr(0, 64), "too long");
  const size_t slash = text.find('/');
  const std::string ip(text.substr(0, slash));
  // inet_pton reads a C string: a NUL inside would cut the text short and accept "1.2.3.4\0junk".
  if (ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) {
    return Invalid(text, "not an IPv4 or IPv6 address");
  }
  Cidr cidr;
  if (ip.find(':') == std::string::npos) {
    in_addr v4;
    if (inet_pton(AF_INET, ip.c_str(), &v4) != 1) {
      return Invalid(text, "not an IPv4 or IPv6 address");
    }
    cidr.is_v4 = true;
    std::memcpy(cidr.network.data(), &v4, 4);
  } else {
    in6_addr v6;
    if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) {
      return Invalid(text, "not an IPv4 or IPv6 address");
    }
    cidr.is_v4 = false;
    std::memcpy(cidr.network.data(), &v6, 16);
  }
  const int max_bits = cidr.is_v4 ? 32 : 128;
  cidr.prefix_length = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    int length = -1;
    const bool digits_only = !digits.empty() && digits.size() <= 3 &&
                             digits.find_first_not_of("0123456789") == std::string_view::npos &&
                             !(digits.size() > 1 && digits[0] == '0');
    if (digits_only) std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (length < 0 || length > max_bits) {
      return Invalid(text, absl::StrFormat("prefix length must be 0-%d for %s", max_bits,
                                           cidr.is_v4 ? "IPv4" : "IPv6"));
    }
    cidr.prefix_length = length;
  }
  // Host bits must be zero: "10.0.0.1/8" is more likely a mistake than a way to write 10.0.0.0/8.
  for (int bit = cidr.prefix_length; bit < max_bits; ++bit) {
    if (cidr.network[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) {
      Cidr masked = cidr;
      for (int b = cidr.prefix_length; b < max_bits; ++b) {
        masked.network[static_cast<size_t>(b / 8)] &= static_cast<uint8_t>(~(0x80 >> (b % 8)));
      }
      return Invalid(text,
                     absl::StrFormat("host bits are set (did you mean %s?)", masked.ToString()));
    }
  }
  return cidr;
}

bool Cidr::Contains(const SocketAddress& a) const {
  if (!a.valid()) return false;
  std::string_view ip = a.IpBytes();
  if (is_v4 && !a.is_v4()) ip = MappedV4(ip);
  if (ip.size() != (is_v4 ? 4u : 16u)) return false;
  return PrefixEqual(reinterpret_cast<const uint8_t*>(ip.data()), network.data(), prefix_length);
}

bool AnyContains(const std::vector<Cidr>& networks, const SocketAddress& a) {
  for (const Cidr& network : networks) {
    if (network.Contains(a)) return true;
  }
  return false;
}

std::string Cidr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4 ? AF_INET : AF_INET6, network.data(), buf, sizeof(buf));
  return absl::StrFormat("%s/%d", buf, prefix_length);
}

}  // namespace edge::net
