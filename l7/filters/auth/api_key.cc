#include "l7/filters/auth/api_key.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/str_format.h"
#include "common/http/percent.h"

namespace edge::l7 {
namespace {

// Calls fn(pair, name_matches) for each '&'-separated pair of `query`; stops when fn returns
// false.
template <typename Fn>
void ForEachPair(std::string_view query, std::string_view name, Fn fn) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::string_view key = pair.substr(0, pair.find('='));
    bool matches = key == name;
    if (!matches && key.find_first_of("%+") != std::string_view::npos) {
      std::optional<std::string> decoded = http::DecodeQueryComponent(key);
      matches = decoded.has_value() && *decoded == name;
    }
    if (!fn(pair, matches)) return;
  }
}

}  // namespace

Sha256Digest Sha256(std::string_view bytes) {
  Sha256Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return digest;
}

std::optional<Sha256Digest> ParseSha256Hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Sha256Digest digest;
  for (size_t i = 0; i < 32; ++i) {
    int hi = http::HexDigitValue(hex[2 * i]);
    int lo = http::HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    digest[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return digest;
}

std::string Sha256Hex(const Sha256Digest& digest) {
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) out += absl::StrFormat("%02x", b);
  return out;
}

absl::Status ApiKeyStore::Add(ApiKeyEntry entry) {
  if (by_hash_.count(entry.sha256) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the key of consumer \"%s\" is already used by consumer \"%s\"",
                        entry.consumer, entries_[by_hash_[entry.sha256]].consumer));
  }
  by_hash_.emplace(entry.sha256, entries_.size());
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

const ApiKeyEntry* ApiKeyStore::Lookup(std::string_view presented) const {
  if (presented.empty() || presented.size() > kMaxApiKeyBytes) return nullptr;
  const Sha256Digest digest = Sha256(presented);
  auto it = by_hash_.find(digest);
  if (it == by_hash_.end()) return nullptr;
  const ApiKeyEntry& entry = entries_[it->second];
  if (CRYPTO_memcmp(entry.sha256.data(), digest.data(), digest.size()) != 0) return nullptr;
  return &entry;
}

std::optional<std::string> QueryParameter(std::string_view query, std::string_view name) {
  std::optional<std::string> value;
  ForEachPair(query, name, [&](std::string_view pair, bool matches) {
    if (!matches) return true;
    size_t eq = pair.find('=');
    value = eq == std::string_view::npos ? std::optional<std::string>(std::string())
                                         : http::DecodeQueryComponent(pair.substr(eq + 1));
    return false;
  });
  return value;
}

size_t CountQueryParameter(std::string_view query, std::string_view name) {
  size_t n = 0;
  ForEachPair(query, name, [&](std::string_view, bool matches) {
    n += matches ? 1 : 0;
    return true;
  });
  return n;
}

std::string QueryWithout(std::string_view query, std::string_view name) {
  std::string out;
  ForEachPair(query, name, [&](std::string_view pair, bool matches) {
    if (matches || pair.empty()) return true;  // an empty pair carries nothing
    if (!out.empty()) out.push_back('&');
    out.append(pair);
    return true;
  });
  return out;
}

}  // namespace edge::l7
