#include "common/admin/admin_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
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

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const net::SocketAddress& address,
                                                                AdminHandler handler) {
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
  server->listen_fd_ = *fd;
  server->bound_ = net::LocalAddress(*fd);
  server->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  server->handler_ = std::move(handler);
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

AdminServer::~AdminServer() {
  stop_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t unused = write(wake_fd_, &one, sizeof(one));
    (void)unused;
  }
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void AdminServer::Serve() {
  pthread_setname_np(pthread_self(), "admin");
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int ready = poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      LOG_ERROR("admin: poll: %s", strerror(errno));
      return;
    }
    if (stop_.load()) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client went away, or out of descriptors: try the next one
    timeval tv{kIoTimeoutMs / 1000, (kIoTimeoutMs % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    HandleConnection(fd);
    close(fd);
  }
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
  if (request.method != http::Method::kGet && request.method != http::Method::kHead) {
    http::HttpHeader allow[] = {{"Allow", "GET, HEAD"}, {"Content-Type", "application/json"}};
    (void)http::AppendResponse(
        405, allow, http::JsonErrorBody(405, "admin endpoints are read-only"), options, &out);
    SendAll(fd, out);
    return;
  }
  AdminResponse response = handler_(std::string_view(request.path.data(), request.path.size()));
  http::HttpHeader headers[] = {{"Content-Type", response.content_type},
                                {"Cache-Control", "no-store"}};
  absl::Status status =
      http::AppendResponse(response.status, headers, response.body, options, &out);
  if (!status.ok()) out = http::ErrorResponse(500, std::string(status.message()));
  SendAll(fd, out);
}

}  // namespace edge::admin
