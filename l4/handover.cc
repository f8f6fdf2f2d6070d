#include "l4/handover.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l4 {

namespace {

constexpr int kTimeoutMs = 5000;

absl::StatusOr<sockaddr_un> UnixAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrFormat("handover socket path \"%s\": 1 to %d bytes",
                                                      path,
                                                      static_cast<int>(sizeof(addr.sun_path) - 1)));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

void SetTimeouts(int fd) {
  timeval tv{kTimeoutMs / 1000, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool SendMessage(int fd, const std::string& text, int attached_fd) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (attached_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &attached_fd, sizeof(int));
  }
  return sendmsg(fd, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
}

// Receives one message; *attached is the fd that came with it, or -1.
bool ReceiveMessage(int fd, std::string* text, int* attached) {
  char buf[256];
  iovec iov{buf, sizeof(buf)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  *attached = -1;
  if (n <= 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*attached < 0) {
        *attached = received;
      } else {
        close(received);  // the protocol sends one per message: drop extras
      }
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    if (*attached >= 0) close(*attached);
    return false;
  }
  text->assign(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HandoverServer>> HandoverServer::Start(
    const std::string& path, Lb4Server* server, std::function<void()> on_handed_over) {
  auto addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  std::unique_ptr<HandoverServer> hs(new HandoverServer());
  hs->path_ = path;
  hs->server_ = server;
  hs->on_handed_over_ = std::move(on_handed_over);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("handover: socket: %s", strerror(errno)));
  }
  unlink(path.c_str());  // the previous process's socket, or a stale one
  if (bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0 || listen(fd, 4) != 0) {
    int err = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrFormat("handover: cannot serve %s: %s", path, strerror(err)));
  }
  chmod(path.c_str(), 0600);
  auto acceptor = net::ControlAcceptor::Start(fd, "handover", kTimeoutMs, [s = hs.get()](int c) {
    if (!s->HandOver(c)) return true;  // that one failed: keep serving, wait for another
    s->on_handed_over_();
    return false;  // one handover per process: it drains and exits now
  });
  if (!acceptor.ok()) return acceptor.status();
  hs->acceptor_ = std::move(*acceptor);
  return hs;
}

bool HandoverServer::HandOver(int conn) {
  auto sockets = server_->DupListenSockets();
  LOG_INFO("handover: a new lb4 asks for the listening sockets; sending %d",
           static_cast<int>(sockets.size()));
  bool ok = true;
  for (auto& [bind, fd] : sockets) {
    ok = ok && SendMessage(conn, absl::StrFormat("LISTEN %s", bind.ToString()), fd);
    close(fd);  // the receiver holds its own reference now
  }
  ok = ok && SendMessage(conn, absl::StrFormat("END %d", static_cast<int>(sockets.size())), -1);
  std::string reply;
  int extra = -1;
  ok = ok && ReceiveMessage(conn, &reply, &extra) && reply == "READY";
  if (extra >= 0) close(extra);
  if (!ok) {
    LOG_WARN("handover: the new lb4 did not confirm; keeping on serving");
    return false;
  }
  LOG_INFO("handover: the new lb4 accepts on the sockets; draining");
  return true;
}

absl::StatusOr<Takeover> RequestTakeover(const std::string& path) {
  auto addr = UnixAddress(path);
  if (!addr.ok()) return addr.status();
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrFormat("handover: socket: %s", strerror(errno)));
  if (connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    int err = errno;
    close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return absl::NotFoundError(absl::StrFormat("no lb4 serves %s", path));
    }
    return absl::UnavailableError(absl::StrFormat("handover: connect %s: %s", path, strerror(err)));
  }
  SetTimeouts(fd);
  Takeover takeover;
  takeover.connection = fd;
  auto fail = [&takeover](const std::string& why) {
    for (auto& [bind, s] : takeover.sockets) close(s);
    close(takeover.connection);
    return absl::UnavailableError("handover: " + why);
  };
  for (;;) {
    std::string text;
    int attached = -1;
    if (!ReceiveMessage(fd, &text, &attached)) return fail("the running lb4 stopped answering");
    if (text.rfind("LISTEN ", 0) == 0 && attached >= 0) {
      auto bind = net::SocketAddress::Parse(text.substr(7));
      if (!bind.ok()) {
        close(attached);
        return fail("bad LISTEN message");
      }
      takeover.sockets.emplace_back(*bind, attached);
      continue;
    }
    if (attached >= 0) close(attached);
    if (text == absl::StrFormat("END %d", static_cast<int>(takeover.sockets.size()))) break;
    return fail("unexpected message \"" + text + "\"");
  }
  return takeover;
}

void ConfirmTakeover(Takeover& takeover) {
  if (takeover.connection < 0) return;
  SendMessage(takeover.connection, "READY", -1);
  close(takeover.connection);
  takeover.connection = -1;
}

}  // namespace edge::l4
