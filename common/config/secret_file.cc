#include "common/config/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::config {

absl::StatusOr<std::string> LoadSecretFile(const std::string& path, const SecretRules& rules) {
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
  // One secret and a line end at most; a larger file is not a secret file.
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
    if (text.size() > rules.max_length + 2) break;
  }
  close(fd);
  if (text.ends_with("\r\n")) {
    text.resize(text.size() - 2);
  } else if (text.ends_with("\n")) {
    text.pop_back();
  }
  if (text.empty()) return absl::InvalidArgumentError(absl::StrFormat("%s is empty", path));
  if (text.size() > rules.max_length) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: the %s is longer than %d characters",
                                                      path, rules.what, rules.max_length));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: the %s must be one line of visible ASCII characters without spaces "
                          "(byte %d is 0x%02x)",
                          path, rules.what, i + 1, c));
    }
  }
  if (text.size() < rules.min_length) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the %s has %d characters, at least %d are needed", path, rules.what,
                        text.size(), rules.min_length));
  }
  return text;
}

}  // namespace edge::config
