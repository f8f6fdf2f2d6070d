#pragma once
// AdminServer: the small HTTP/1.1 server behind lb4's and gw7's admin address (GET /healthz,
// /metrics, /status). It runs on a thread of its own with blocking sockets, one request per
// connection, so it never touches a data-path ring and a slow admin client cannot stall traffic.
// Requests are parsed with the project's strict parser; a request with a body is refused (413).
// With a path-only handler anything but GET/HEAD is refused (405); a request handler sees the
// method, the query, the peer and the Authorization field and decides (runtime control, see
// common/admin/runtime_control.h).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "common/net/control_acceptor.h"

namespace edge::admin {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // More fields (Allow, WWW-Authenticate); never Content-Length, Connection or
  // Transfer-Encoding (the writer owns the framing).
  std::vector<std::pair<std::string, std::string>> headers;
};

// One admin request as a handler sees it; the views live as long as the call.
struct AdminRequest {
  std::string_view method;  // as received ("GET", "POST", ...)
  bool head = false;        // a HEAD: the answer is sent without its body
  std::string_view path;    // still percent-encoded, without the query
  std::string_view query;   // after "?", without it
  net::SocketAddress peer;  // the client's address (invalid if it could not be read)
  std::optional<std::string_view> authorization;  // the Authorization field, if any
};

// Called on the admin thread with the request path (no query). Return status 404 for unknown paths.
using AdminHandler = std::function<AdminResponse(std::string_view path)>;
// Called on the admin thread for every well-formed request, whatever its method.
using AdminRequestHandler = std::function<AdminResponse(const AdminRequest& request)>;

// 405 with `Allow: <allow>` and a JSON error body.
AdminResponse MethodNotAllowed(std::string_view allow, std::string_view message);

class AdminServer {
 public:
  // Binds `address` (port 0 picks one: see address()) and starts serving.
  // Read-only pages: GET and HEAD go to `handler`, other methods get 405.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const net::SocketAddress& address,
                                                            AdminHandler handler);
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const net::SocketAddress& address,
                                                            AdminRequestHandler handler);
  // Destruction stops the thread and closes the socket.

  net::SocketAddress address() const { return bound_; }

 private:
  AdminServer() = default;
  void HandleConnection(int fd);

  net::SocketAddress bound_;
  AdminRequestHandler handler_;
  std::unique_ptr<net::ControlAcceptor> acceptor_;  // last: its thread uses the members above
};

}  // namespace edge::admin
