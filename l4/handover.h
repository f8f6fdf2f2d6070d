#pragma once
// Zero-downtime restart and binary upgrade: a new lb4 takes over the listening sockets of the
// running one through a unix socket (SCM_RIGHTS), so the accept queues carry on and not one
// connection is refused. The old process then stops accepting, drains and exits.
//
//   lb4 -c edge.toml --handover /run/lb4.sock     # first start: serves the handover socket
//   lb4 -c edge.toml --handover /run/lb4.sock     # later, new binary: takes over, old one drains
//
// Protocol (SOCK_SEQPACKET, one message each): old -> new: "LISTEN <bind address>" with one
// socket attached, repeated; then "END <count>". new -> old: "READY" once its workers accept.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/net/control_acceptor.h"
#include "l4/server.h"

namespace edge::l4 {

class HandoverServer {
 public:
  // Serves `path` (a stale socket file there is replaced). On a completed handover it calls
  // `on_handed_over` once, from its own thread.
  static absl::StatusOr<std::unique_ptr<HandoverServer>> Start(
      const std::string& path, Lb4Server* server, std::function<void()> on_handed_over);

 private:
  HandoverServer() = default;
  bool HandOver(int connection);

  std::string path_;
  Lb4Server* server_ = nullptr;
  std::function<void()> on_handed_over_;
  std::unique_ptr<net::ControlAcceptor> acceptor_;  // last: its thread uses the members above
};

struct Takeover {
  int connection = -1;  // to the old process; ConfirmTakeover() answers on it
  Lb4Server::InheritedSockets sockets;
};

// Asks the lb4 serving `path` for its listening sockets. NotFound when no lb4 serves it (start
// normally); another error when one does but the exchange failed.
absl::StatusOr<Takeover> RequestTakeover(const std::string& path);
// Tells the old process that this one accepts on the sockets now; closes the connection.
void ConfirmTakeover(Takeover& takeover);

}  // namespace edge::l4
