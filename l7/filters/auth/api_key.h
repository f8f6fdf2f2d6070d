#pragma once
// API keys: the store of a provider's keys and the lookup of a presented key.
//
// Keys are configured as the hex SHA-256 of the key, never the key itself, so a leaked config
// does not leak credentials. A presented key is hashed, the hash is looked up, and the stored
// hash is then compared with CRYPTO_memcmp. The hash-table probe depends only on the SHA-256 of
// the presented key, which tells an attacker nothing about a valid key (finding a key whose hash
// shares a prefix with a stored hash is a preimage search), and the final comparison is constant
// time.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"

namespace edge::l7 {

using Sha256Digest = std::array<uint8_t, 32>;

// Longer presented keys are refused without hashing.
inline constexpr size_t kMaxApiKeyBytes = 512;

struct ApiKeyEntry {
  std::string consumer;
  Sha256Digest sha256{};
  std::vector<std::string> scopes;
};

Sha256Digest Sha256(std::string_view bytes);
// Exactly 64 hex digits (either case).
std::optional<Sha256Digest> ParseSha256Hex(std::string_view hex);
std::string Sha256Hex(const Sha256Digest& digest);

class ApiKeyStore {
 public:
  // Refuses a hash that is already present (two consumers cannot share a key).
  absl::Status Add(ApiKeyEntry entry);
  // The entry whose key is `presented`, or null (also for empty or over-long keys).
  const ApiKeyEntry* Lookup(std::string_view presented) const;
  size_t size() const { return entries_.size(); }

 private:
  struct DigestHash {
    size_t operator()(const Sha256Digest& d) const {
      size_t h;
      static_assert(sizeof(h) <= sizeof(Sha256Digest));
      __builtin_memcpy(&h, d.data(), sizeof(h));  // already uniformly distributed
      return h;
    }
  };
  std::vector<ApiKeyEntry> entries_;
  std::unordered_map<Sha256Digest, size_t, DigestHash> by_hash_;
};

// Query parameters (the part after '?', '&'-separated "name=value" pairs) are matched on their
// percent-decoded name ('+' is a space), since that is the name a backend reads: "api%5Fkey" is
// "api_key". A pair whose name has a malformed %-escape matches nothing.

// The value of query parameter `name`, percent-decoded. nullopt when absent or when its value has
// a malformed %-escape. The first occurrence wins (the auth filter refuses a second one first:
// CountQueryParameter).
std::optional<std::string> QueryParameter(std::string_view query, std::string_view name);

// How many pairs of `query` are named `name`.
size_t CountQueryParameter(std::string_view query, std::string_view name);

// `query` without any pair named `name` and without empty pairs ("a&&b" is "a&b"); the other
// pairs unchanged, in order.
std::string QueryWithout(std::string_view query, std::string_view name);

}  // namespace edge::l7
