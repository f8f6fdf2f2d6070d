#pragma once
// AdminServer: the small HTTP/1.1 server behind lb4's and gw7's admin address (GET /healthz,
// /metrics, /status). It runs on a thread of its own with blocking sockets, one request per
// connection, so it never touches a data-path ring and a slow admin client cannot stall traffic.
// Requests are parsed with the project's strict parser; anything but GET/HEAD is refused.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "common/net/control_acceptor.h"

namespace edge::admin {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the admin thread with the request path (no query). Return status 404 for unknown paths.
using AdminHandler = std::function<AdminResponse(std::string_view path)>;

// A request that changes something (any method but GET/HEAD, e.g. gw7's POST /cache/NAME/purge),
// without a body. The handler authorizes it itself (`authorization`: the Authorization value).
struct AdminControlRequest {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::optional<std::string_view> authorization;
};
// Without one, such requests get 405.
using AdminControlHandler = std::function<AdminResponse(const AdminControlRequest& request)>;

class AdminServer {
 public:
  // Binds `address` (port 0 picks one: see address()) and starts serving.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const net::SocketAddress& address,
                                                            AdminHandler handler,
                                                            AdminControlHandler control = nullptr);
  // Destruction stops the thread and closes the socket.

  net::SocketAddress address() const { return bound_; }

 private:
  AdminServer() = default;
  void HandleConnection(int fd);

  net::SocketAddress bound_;
  AdminHandler handler_;
  AdminControlHandler control_;
  std::unique_ptr<net::ControlAcceptor> acceptor_;  // last: its thread uses the members above
};

}  // namespace edge::admin
