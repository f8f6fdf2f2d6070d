#pragma once
// Runtime control on an admin port: drain, enable and re-weight one server of a group (an lb4
// pool's backend, a gw7 upstream's server) without a config change, in the shape operators know
// from HAProxy's runtime API (`set server p/s state drain|ready`, `set weight p/s N`) and Envoy's
// admin (POST only, JSON answers):
//
//   POST /backends/{pool}/{server}/drain             lb4 (prefix "/backends")
//   POST /backends/{pool}/{server}/enable
//   POST /backends/{pool}/{server}/weight?value=N
//   POST /upstreams/{upstream}/{server}/...          gw7 (prefix "/upstreams")
//
// {server} is the address as /status shows it ("127.0.0.1:8001", "[::1]:8001"); segments may be
// percent-encoded. Answers (JSON): 200 with the server's state after the change; 405 (Allow: POST)
// for any other method; 401/403 per common/admin/admin_token.h; 404 for an unknown pool, server,
// action or a path of another shape; 400 for a bad or missing weight or an unexpected query.
// Weights go from 1 to the config's maximum: weight 0 is refused (400), since draining is its own
// action and keeps the weight for when the server is enabled again.
//
// This file holds what lb4 and gw7 share: the path grammar and the order of the checks (method,
// then access, then the path, then the program's own lookup) with the log line for each refusal.
// The change itself and its log line are the program's (ControlEndpoint::apply).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/admin/admin_server.h"

namespace edge::admin {

enum class ControlAction { kDrain, kEnable, kWeight };

// "drain", "enable", "weight".
const char* ControlActionName(ControlAction action);

struct ControlCommand {
  std::string group;   // pool or upstream name, decoded
  std::string server;  // the server's address text, decoded
  ControlAction action = ControlAction::kDrain;
  uint32_t weight = 0;  // kWeight only: 1..max_weight
};

// True when `path` is `prefix` or lies under it ("/backends", "/backends/..."): such a path is
// answered by the control rules only, never as a read page.
bool IsControlPath(std::string_view prefix, std::string_view path);

// Parses "{prefix}/{group}/{server}/{action}" and its query. NotFound for any other shape or an
// unknown action; InvalidArgument for a bad percent-escape, a weight that is missing, not a
// number or outside 1..max_weight, or a query parameter the action does not take.
absl::StatusOr<ControlCommand> ParseControlCommand(std::string_view prefix, std::string_view path,
                                                   std::string_view query, uint32_t max_weight);

struct ControlEndpoint {
  std::string prefix;       // "/backends" or "/upstreams"
  uint32_t max_weight = 1;  // the config's own limit for weights
  std::string program;      // "lb4", "gw7": for the log lines
  // The admin token in force (nullopt: none configured). Asked once per control request.
  std::function<std::optional<std::string>()> token;
  // Applies an authorised, well-formed command: 200 with the JSON state, or 404 (unknown group
  // or server). Logs the change with `request.peer`.
  std::function<AdminResponse(const ControlCommand& command, const AdminRequest& request)> apply;
};

// Serves one admin request: control paths by the rules above, anything else as a read page
// (GET and HEAD to `read`, other methods 405).
AdminResponse ServeAdminRequest(const AdminRequest& request, const ControlEndpoint& control,
                                const AdminHandler& read);

// A JSON error answer: {"error":{"status":...,"reason":...,"message":...}}.
AdminResponse JsonError(int status, std::string_view message);

}  // namespace edge::admin
