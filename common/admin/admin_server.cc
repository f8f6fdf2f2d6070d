#include "common/admin/admin_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/http/request_parser.h"
#include "common/http/response_writer.h"
#include "common/log.h"
#include "common/net/socket.h"

namespace edge::admin {

namespace {
constexpr size_t kMaxRequestBytes = 8192;
constexpr int kIoTimeoutMs = 2000;  // a client that stalls longer is dropped

void SendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}
}  // namespace

AdminResponse MethodNotAllowed(std::string_view allow, std::string_view message) {
  AdminResponse r;
  r.status = 405;
  r.content_type = "application/json";
  r.body = http::JsonErrorBody(405, message);
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const net::SocketAddress& address,
                                                                AdminHandler handler) {
  return Start(address, [handler = std::move(handler)](const AdminRequest& request) {
    if (request.method != "GET" && request.method != "HEAD") {
      return MethodNotAllowed("GET, HEAD", "admin endpoints are read-only");
    }
    return handler(request.path);
  });
}

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const net::SocketAddress& address,
                                                                AdminRequestHandler handler) {
  std::unique_ptr<AdminServer> server(new AdminServer());
  net::ListenOptions options;
  // SO_REUSEPORT lets a new lb4 taking over from a running one (handover) bind the same admin
  // address while the old one drains.
  options.reuse_port = true;
  options.backlog = 64;
  auto fd = net::ListenTcp(address, options);
  if (!fd.ok()) {
    return absl::UnavailableError(absl::StrFormat("admin: %s", fd.status().message()));
  }
  server->bound_ = net::LocalAddress(*fd);
  server->handler_ = std::move(handler);
  auto acceptor =
      net::ControlAcceptor::Start(*fd, "admin", kIoTimeoutMs, [s = server.get()](int c) {
        s->HandleConnection(c);
        return true;
      });
  if (!acceptor.ok()) return acceptor.status();
  server->acceptor_ = std::move(*acceptor);
  return server;
}

void AdminServer::HandleConnection(int fd) {
  std::string buffer;
  http::HttpLimits limits;
  limits.max_header_bytes = kMaxRequestBytes;
  limits.max_target_bytes = 2048;
  limits.max_body_bytes = 0;
  http::HttpRequest request;
  http::ParseResult result;
  char chunk[2048];
  for (;;) {
    result = http::ParseRequestHead(buffer, limits, &request);
    if (!result.need_more()) break;
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed or timed out before a whole head: nothing to answer
    buffer.append(chunk, static_cast<size_t>(n));
  }
  if (result.error_status()) {
    SendAll(fd, http::ErrorResponse(result.error));
    return;
  }
  http::ResponseOptions options;
  options.keep_alive = false;
  options.head_request = request.method == http::Method::kHead;
  std::string out;
  AdminRequest view;
  view.method = request.method_name;
  view.head = request.method == http::Method::kHead;
  view.path = request.path;
  view.query = request.query;
  view.peer = net::PeerAddress(fd);
  if (const http::HttpHeader* authorization = request.headers.Find("authorization")) {
    view.authorization = authorization->value;
  }
  AdminResponse response = handler_(view);
  std::vector<http::HttpHeader> headers = {{"Content-Type", response.content_type},
                                           {"Cache-Control", "no-store"}};
  for (const auto& [name, value] : response.headers) headers.push_back({name, value});
  absl::Status status =
      http::AppendResponse(response.status, headers, response.body, options, &out);
  if (!status.ok()) out = http::ErrorResponse(500, std::string(status.message()));
  SendAll(fd, out);
}

}  // namespace edge::admin
