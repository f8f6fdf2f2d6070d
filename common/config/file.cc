#include "common/config/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/config/toml.h"

namespace edge::config {
namespace {

absl::Status CannotRead(const std::string& path, std::string_view reason) {
  return absl::InvalidArgumentError(absl::StrFormat("cannot read %s: %s", path, reason));
}

}  // namespace

absl::StatusOr<std::string> ReadConfigFile(const std::string& path) {
  if (path.empty()) return CannotRead("\"\"", "empty path");
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return CannotRead(path, std::strerror(errno));

  std::string text;
  char chunk[16384];
  absl::Status status = absl::OkStatus();
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      status = CannotRead(path, std::strerror(errno));  // EISDIR for a directory
      break;
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxConfigBytes) {
      status = CannotRead(path, absl::StrFormat("larger than %d bytes", kMaxConfigBytes));
      break;
    }
    text.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!status.ok()) return status;
  return text;
}

}  // namespace edge::config
