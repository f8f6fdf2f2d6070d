#include "common/admin/admin_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>

#include "absl/strings/str_format.h"
#include "common/config/secret_file.h"

namespace edge::admin {

absl::StatusOr<std::string> LoadAdminToken(const std::string& path) {
  return config::LoadSecretFile(
      path,
      {.what = "token", .min_length = kMinAdminTokenLength, .max_length = kMaxAdminTokenLength});
}

void ReadAdminTokenFile(config::TableReader& r, std::string* file,
                        std::optional<std::string>* token) {
  if (!r.ReadString("admin_token_file", file)) return;
  absl::StatusOr<std::string> loaded = LoadAdminToken(*file);
  if (loaded.ok()) {
    *token = *std::move(loaded);
  } else {
    r.Error("admin_token_file", std::string(loaded.status().message()));
  }
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

bool IsLoopback(const net::SocketAddress& peer) {
  std::string_view ip = peer.IpBytes();
  if (ip.size() == 4) return static_cast<unsigned char>(ip[0]) == 127;
  if (ip.size() != 16) return false;
  static constexpr unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.data(), kLoopback6, 16) == 0) return true;
  return std::memcmp(ip.data(), kMappedPrefix, 12) == 0 &&
         static_cast<unsigned char>(ip[12]) == 127;
}

ControlAccess CheckControlAccess(const std::optional<std::string>& token,
                                 std::optional<std::string_view> authorization,
                                 const net::SocketAddress& peer) {
  if (!token.has_value())
    return IsLoopback(peer) ? ControlAccess::kAllowed : ControlAccess::kNotLoopback;
  if (!authorization.has_value()) return ControlAccess::kMissingToken;
  // "Bearer" is case-insensitive (RFC 9110 11.1); one or more spaces before the token.
  std::string_view value = *authorization;
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() || value[kScheme.size()] != ' ') {
    return ControlAccess::kMissingToken;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if ((value[i] | 0x20) != kScheme[i]) return ControlAccess::kMissingToken;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty()) return ControlAccess::kMissingToken;
  return ConstantTimeEquals(*token, value) ? ControlAccess::kAllowed : ControlAccess::kWrongToken;
}

int ControlAccessStatus(ControlAccess access) {
  switch (access) {
    case ControlAccess::kAllowed:
      return 200;
    case ControlAccess::kMissingToken:
      return 401;
    case ControlAccess::kWrongToken:
    case ControlAccess::kNotLoopback:
      return 403;
  }
  return 403;
}

const char* ControlAccessReason(ControlAccess access) {
  switch (access) {
    case ControlAccess::kAllowed:
      return "allowed";
    case ControlAccess::kMissingToken:
      return "missing bearer token";
    case ControlAccess::kWrongToken:
      return "wrong token";
    case ControlAccess::kNotLoopback:
      return "not from loopback and no admin token configured";
  }
  return "refused";
}

}  // namespace edge::admin
