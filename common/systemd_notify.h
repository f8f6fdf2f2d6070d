#pragma once
// The systemd service notification protocol (sd_notify(3)), spoken directly: one datagram of
// "KEY=VALUE\n" lines to the unix socket named by $NOTIFY_SOCKET, so that `Type=notify` units
// work without linking libsystemd. Outside systemd (no $NOTIFY_SOCKET) every call does nothing.
//
// What lb4 and gw7 send: READY=1 once they listen; RELOADING=1 with MONOTONIC_USEC= on SIGHUP,
// then READY=1 when the reload is done (applied or refused); STOPPING=1 on SIGTERM/SIGINT. Each
// with a STATUS= line that `systemctl status` shows.

#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace edge::systemd {

struct NotifyAddress {
  sockaddr_un address{};
  socklen_t length = 0;  // of `address`, as sendto() takes it (abstract names are not
                         // NUL-terminated: the length is what delimits them)
};

// Parses a $NOTIFY_SOCKET value: an absolute path ("/run/systemd/notify") or an abstract name
// ("@name", the '@' standing for the leading NUL). Refuses the empty string, relative paths,
// names longer than sun_path, and other schemes (systemd's "vsock:").
absl::StatusOr<NotifyAddress> ParseNotifySocket(std::string_view value);

// Sends `state` (one or more "KEY=VALUE" lines) to $NOTIFY_SOCKET. OkStatus without sending when
// the variable is unset or empty; an error when it is malformed or the send fails.
absl::Status Notify(std::string_view state);

// Notify() for the daemons' state changes; a failure is logged (warn) and otherwise ignored: a
// service manager that cannot be told is no reason to stop serving. `status` becomes STATUS=
// (newlines replaced by spaces).
void NotifyReady(std::string_view status);
void NotifyReloading(std::string_view status);  // RELOADING=1 and MONOTONIC_USEC=<now>
void NotifyStopping(std::string_view status);

}  // namespace edge::systemd
