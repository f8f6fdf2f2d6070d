#include "common/systemd_notify.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::systemd {
namespace {

std::string StatusLine(std::string_view status) {
  std::string line = "STATUS=";
  for (char c : status) line.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return line;
}

void NotifyOrWarn(const std::string& state) {
  absl::Status s = Notify(state);
  if (!s.ok()) LOG_WARN("systemd notify: %s", s.message());
}

}  // namespace

absl::StatusOr<NotifyAddress> ParseNotifySocket(std::string_view value) {
  NotifyAddress out;
  out.address.sun_family = AF_UNIX;
  if (value.empty()) return absl::InvalidArgumentError("NOTIFY_SOCKET is empty");
  if (value[0] != '/' && value[0] != '@') {
    return absl::InvalidArgumentError(absl::StrFormat(
        "NOTIFY_SOCKET \"%s\": not an absolute path or an abstract name (@...)", value));
  }
  // A path needs room for its terminating NUL; an abstract name does not have one.
  const size_t room = sizeof(out.address.sun_path) - (value[0] == '/' ? 1 : 0);
  if (value.size() > room || (value[0] == '@' && value.size() < 2)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("NOTIFY_SOCKET \"%s\": bad length %d", value, value.size()));
  }
  std::memcpy(out.address.sun_path, value.data(), value.size());
  if (value[0] == '@') out.address.sun_path[0] = '\0';
  out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() +
                                      (value[0] == '/' ? 1 : 0));
  return out;
}

absl::Status Notify(std::string_view state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr || *env == '\0') return absl::OkStatus();
  auto address = ParseNotifySocket(env);
  if (!address.ok()) return address.status();
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrFormat("socket: %s", strerror(errno)));
  ssize_t n;
  do {
    n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&address->address), address->length);
  } while (n < 0 && errno == EINTR);
  const int error = errno;
  close(fd);
  if (n < 0) {
    return absl::UnavailableError(absl::StrFormat("send to %s: %s", env, strerror(error)));
  }
  if (static_cast<size_t>(n) != state.size()) {
    return absl::UnavailableError(absl::StrFormat("send to %s: short datagram", env));
  }
  return absl::OkStatus();
}

void NotifyReady(std::string_view status) { NotifyOrWarn("READY=1\n" + StatusLine(status) + "\n"); }

void NotifyReloading(std::string_view status) {
  // systemd (>= 253) wants the reload's start time on CLOCK_MONOTONIC, to tell this reload's
  // READY=1 from an earlier one.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  NotifyOrWarn(absl::StrFormat("RELOADING=1\nMONOTONIC_USEC=%d\n%s\n", usec, StatusLine(status)));
}

void NotifyStopping(std::string_view status) {
  NotifyOrWarn("STOPPING=1\n" + StatusLine(status) + "\n");
}

}  // namespace edge::systemd
