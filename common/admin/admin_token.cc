#include "common/admin/admin_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::admin {

absl::StatusOr<std::string> LoadAdminToken(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("empty file name");
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot read %s: %s", path, std::strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    return absl::InvalidArgumentError(absl::StrFormat("cannot stat %s: %s", path, strerror(e)));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrFormat("%s is not a regular file", path));
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrFormat("%s is %s by others (mode %04o): a secret must not be (chmod o-rw)", path,
                        (st.st_mode & S_IROTH) != 0 ? "readable" : "writable", st.st_mode & 07777));
  }
  // One token and a line end at most; a larger file is not a token file.
  std::string text;
  char buffer[1024];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      close(fd);
      return absl::InvalidArgumentError(absl::StrFormat("cannot read %s: %s", path, strerror(e)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxAdminTokenLength + 2) break;
  }
  close(fd);
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with("\n")) {
    text.pop_back();
  }
  if (text.empty()) return absl::InvalidArgumentError(absl::StrFormat("%s is empty", path));
  if (text.size() > kMaxAdminTokenLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the token is longer than %d characters", path, kMaxAdminTokenLength));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: the token must be one line of visible ASCII characters without spaces "
          "(byte %d is 0x%02x)",
          path, i + 1, c));
    }
  }
  if (text.size() < kMinAdminTokenLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the token has %d characters, at least %d are needed", path,
                        text.size(), kMinAdminTokenLength));
  }
  return text;
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
