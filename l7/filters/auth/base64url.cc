#include "l7/filters/auth/base64url.h"

#include <array>
#include <cstdint>

namespace edge::l7 {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  // A length of 1 mod 4 cannot come from any byte string.
  if (text.size() % 4 == 1) return std::nullopt;
  const size_t whole = text.size() / 4;  // groups of 4 characters: 3 bytes each
  const size_t tail = text.size() % 4;   // 0, 2 or 3 characters: 0, 1 or 2 bytes
  std::string out(whole * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  char* o = out.data();
  // Four characters at a time into a pre-sized string: every JWT check decodes three parts.
  for (size_t g = 0; g < whole; ++g, in += 4, o += 3) {
    const int8_t a = kDecode[in[0]], b = kDecode[in[1]], c = kDecode[in[2]], d = kDecode[in[3]];
    if ((a | b | c | d) < 0) return std::nullopt;  // -1 marks a character outside the alphabet
    const uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                       (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    o[0] = static_cast<char>((v >> 16) & 0xff);
    o[1] = static_cast<char>((v >> 8) & 0xff);
    o[2] = static_cast<char>(v & 0xff);
  }
  if (tail != 0) {
    uint32_t acc = 0;
    for (size_t i = 0; i < tail; ++i) {
      const int8_t v = kDecode[in[i]];
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<uint32_t>(v);
    }
    // Leftover bits (2 or 4) must be zero: otherwise several encodings decode to the same bytes.
    const int bits = static_cast<int>(tail) * 6 % 8;
    if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    acc >>= bits;
    for (size_t i = tail - 1; i > 0; --i) {
      o[i - 1] = static_cast<char>(acc & 0xff);
      acc >>= 8;
    }
  }
  return out;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : bytes) {
    acc = (acc << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace edge::l7
