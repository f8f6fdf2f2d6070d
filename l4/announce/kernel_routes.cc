#include "l4/announce/kernel_routes.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l4 {
namespace {

// One RTM_NEWROUTE / RTM_DELROUTE: header, rtmsg, then RTA_DST, RTA_TABLE, RTA_OIF.
struct RouteRequest {
  nlmsghdr header;
  rtmsg route;
  char attributes[64];
};

void AddAttribute(RouteRequest* request, uint16_t type, const void* data, size_t length) {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(request) +
                                        NLMSG_ALIGN(request->header.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(length));
  std::memcpy(RTA_DATA(rta), data, length);
  request->header.nlmsg_len = NLMSG_ALIGN(request->header.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

std::string ErrnoText(int error) { return strerror(error); }

// A non-persistent TUN device named `name`, up: its descriptor, or -1 with errno set. The device
// lives as long as the descriptor.
int MakeTun(const std::string& name) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
  int error = 0;
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    error = errno;
  } else {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
      error = errno;
    } else {
      ifr.ifr_flags = IFF_UP;
      if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) error = errno;
      close(s);
    }
  }
  if (error != 0) {
    close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

}  // namespace

absl::StatusOr<KernelRoutes> KernelRoutes::Open(uint32_t table) {
  if (table == 0) return absl::InvalidArgumentError("announce: routing table 0");
  std::string device = absl::StrFormat("lb4-%d", getpid());
  const int tun = MakeTun(device);
  if (tun < 0) {
    LOG_WARN("announce: no TUN device (%s): routes go through lo, and stay if lb4 is killed",
             ErrnoText(errno));
    device = "lo";
  }
  const unsigned index = if_nametoindex(device.c_str());
  if (index == 0) {
    const int error = errno;
    if (tun >= 0) close(tun);
    return absl::FailedPreconditionError(
        absl::StrFormat("announce: no interface %s: %s", device, ErrnoText(error)));
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    const int error = errno;
    if (tun >= 0) close(tun);
    return absl::InternalError(absl::StrFormat("announce: rtnetlink socket: %s", ErrnoText(error)));
  }
  // A kernel that does not answer must not hang lb4's start or its drain.
  timeval timeout{.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    const int error = errno;
    close(fd);
    if (tun >= 0) close(tun);
    return absl::InternalError(absl::StrFormat("announce: rtnetlink bind: %s", ErrnoText(error)));
  }
  return KernelRoutes(fd, table, static_cast<int>(index), tun, std::move(device));
}

KernelRoutes::KernelRoutes(KernelRoutes&& other) noexcept
    : fd_(other.fd_),
      table_(other.table_),
      device_index_(other.device_index_),
      seq_(other.seq_),
      tun_fd_(other.tun_fd_),
      device_(std::move(other.device_)) {
  other.fd_ = -1;
  other.tun_fd_ = -1;
}

KernelRoutes& KernelRoutes::operator=(KernelRoutes&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    if (tun_fd_ >= 0) close(tun_fd_);
    fd_ = other.fd_;
    table_ = other.table_;
    device_index_ = other.device_index_;
    seq_ = other.seq_;
    tun_fd_ = other.tun_fd_;
    device_ = std::move(other.device_);
    other.fd_ = -1;
    other.tun_fd_ = -1;
  }
  return *this;
}

KernelRoutes::~KernelRoutes() {
  if (fd_ >= 0) close(fd_);
  if (tun_fd_ >= 0) close(tun_fd_);
}

absl::Status KernelRoutes::Add(const net::SocketAddress& address) {
  // Not NLM_F_REPLACE: during a --handover two lb4s (two devices) each hold their own route for
  // the VIP, and neither may take the other's away; an identical route (EEXIST) is this one.
  absl::Status status = Request(RTM_NEWROUTE, NLM_F_CREATE, address);
  return absl::IsAlreadyExists(status) ? absl::OkStatus() : status;
}

absl::Status KernelRoutes::Delete(const net::SocketAddress& address) {
  absl::Status status = Request(RTM_DELROUTE, 0, address);
  return absl::IsNotFound(status) ? absl::OkStatus() : status;
}

absl::Status KernelRoutes::Request(uint16_t type, uint16_t flags,
                                   const net::SocketAddress& address) {
  const std::string_view ip = address.IpBytes();
  if (ip.empty()) return absl::InvalidArgumentError("announce: not an IP address");
  RouteRequest request{};
  request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  request.header.nlmsg_type = type;
  request.header.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
  request.header.nlmsg_seq = ++seq_;
  request.route.rtm_family = static_cast<unsigned char>(address.family());
  request.route.rtm_dst_len = static_cast<unsigned char>(ip.size() * 8);
  // Tables above 255 only fit RTA_TABLE; rtm_table then says "see the attribute".
  request.route.rtm_table = table_ < 256 ? static_cast<unsigned char>(table_)
                                         : static_cast<unsigned char>(RT_TABLE_UNSPEC);
  request.route.rtm_protocol = RTPROT_STATIC;
  request.route.rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
  request.route.rtm_type = RTN_UNICAST;
  AddAttribute(&request, RTA_DST, ip.data(), ip.size());
  AddAttribute(&request, RTA_TABLE, &table_, sizeof(table_));
  const uint32_t oif = static_cast<uint32_t>(device_index_);  // the TUN device or lo
  AddAttribute(&request, RTA_OIF, &oif, sizeof(oif));

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const char* what = type == RTM_NEWROUTE ? "add" : "delete";
  if (sendto(fd_, &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
             sizeof(kernel)) < 0) {
    return absl::InternalError(absl::StrFormat("announce: %s route %s/%d table %d: send: %s", what,
                                               address.IpString(), ip.size() * 8, table_,
                                               ErrnoText(errno)));
  }
  // The acknowledgement: an NLMSG_ERROR with our sequence number (error 0 is success). Anything
  // else on the socket (an earlier request's late answer) is skipped.
  alignas(nlmsghdr) char buffer[8192];
  for (;;) {
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::DeadlineExceededError(
          absl::StrFormat("announce: %s route %s/%d table %d: no answer from the kernel: %s", what,
                          address.IpString(), ip.size() * 8, table_, ErrnoText(errno)));
    }
    int length = static_cast<int>(n);
    // NLMSG_OK compares the u32 nlmsg_len with the signed length it is documented to take (an
    // unsigned one would wrap in NLMSG_NEXT after a last message padded past the end).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, length);
         h = NLMSG_NEXT(h, length)) {
#pragma GCC diagnostic pop
      if (h->nlmsg_seq != seq_ || h->nlmsg_type != NLMSG_ERROR) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
        return absl::InternalError("announce: truncated netlink answer");
      }
      const int error = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
      if (error == 0) return absl::OkStatus();
      const std::string message =
          absl::StrFormat("announce: %s route %s/%d table %d: %s", what, address.IpString(),
                          ip.size() * 8, table_, ErrnoText(error));
      if (error == ESRCH) return absl::NotFoundError(message);
      if (error == EEXIST) return absl::AlreadyExistsError(message);
      return absl::InternalError(message);
    }
  }
}

}  // namespace edge::l4
