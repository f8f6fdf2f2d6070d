#pragma once
// Who may change state through an admin port (runtime control: drain, enable, weight), for lb4
// and gw7 alike.
//
//   - With an admin token configured (`admin_token_file`), every state-changing request must carry
//     `Authorization: Bearer <token>`, from loopback too: a token that is configured is always
//     checked. No or a malformed Authorization field: 401 (with `WWW-Authenticate: Bearer`); a
//     token that does not match: 403.
//   - Without a token, only loopback peers (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) may change
//     state; anyone else gets 403. An admin port bound to a routable address can then still be
//     read (/metrics, /status), never steered.
//
// The token file is read when the config is loaded (start, --check and every reload) and must be
// a regular file, not readable or writable by others (mode o-rwx), holding one token of 16 to
// 4096 visible ASCII characters (no spaces), optionally followed by one line end. Anything else is
// a config error, so a typo or a leaked permission never leaves the port open by accident.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/config/table_reader.h"
#include "common/net/address.h"

namespace edge::admin {

inline constexpr size_t kMinAdminTokenLength = 16;
inline constexpr size_t kMaxAdminTokenLength = 4096;

// Reads and checks the token file (see above). InvalidArgument with a message that names the
// problem (not the token) when it fails.
absl::StatusOr<std::string> LoadAdminToken(const std::string& path);

// The `admin_token_file` key of [lb4] or [gw7]: when present, its path into *file and the token
// read from it into *token; a bad file is an error on that key.
void ReadAdminTokenFile(config::TableReader& r, std::string* file,
                        std::optional<std::string>* token);

// Equality in time independent of where the inputs differ and of their lengths (both sides are
// hashed first, then the digests compared with CRYPTO_memcmp).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. An invalid address is not loopback.
bool IsLoopback(const net::SocketAddress& peer);

enum class ControlAccess {
  kAllowed,
  kMissingToken,  // a token is configured, the request has no (or no Bearer) Authorization: 401
  kWrongToken,    // a Bearer token that does not match: 403
  kNotLoopback,   // no token configured and the peer is not loopback: 403
};

// The rule above. `token`: the configured token, or nullopt. `authorization`: the request's
// Authorization field value, or nullopt when absent.
ControlAccess CheckControlAccess(const std::optional<std::string>& token,
                                 std::optional<std::string_view> authorization,
                                 const net::SocketAddress& peer);

// The HTTP status for a refusal (401 or 403; 200 for kAllowed) and a short reason for the answer
// and the log ("missing bearer token", "wrong token", "not from loopback and no admin token").
int ControlAccessStatus(ControlAccess access);
const char* ControlAccessReason(ControlAccess access);

}  // namespace edge::admin
