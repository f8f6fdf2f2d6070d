#pragma once
// KernelRoutes: host routes (a /32 or /128) in one kernel routing table, added and deleted over
// rtnetlink. The table is not one the kernel forwards by (no `ip rule` points at it): it is where
// lb4 tells the machine's routing daemon what to announce (bird2's kernel protocol with `learn`
// imports it; l4/announce/vip_announcer.h decides when).
//
// The routes go through a TUN device of this process ("lb4-PID", up, no addresses, nothing sent
// to it: the table is never used for forwarding). The kernel destroys the device when its last
// file descriptor closes, and with it every route through it: an lb4 that crashes or is killed
// takes its announcement with it, so the routers never keep sending to an lb4 that is gone. Where
// /dev/net/tun cannot be opened the routes go through `lo` instead (said in the log): then a
// killed lb4 leaves them behind until the next lb4 starts (or `ip route flush table N`).
//
// Routes are written with protocol "static" (RTPROT_STATIC): bird2's `learn` skips only routes of
// protocol "kernel" and its own, and `ip route show table N` lists them plainly.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace edge::l4 {

class KernelRoutes {
 public:
  // Opens an rtnetlink socket for `table` (1..2^32-1) and makes the TUN device. Fails when the
  // socket cannot be made or there is neither a TUN device nor `lo`. Writing routes needs
  // CAP_NET_ADMIN: without it Add/Delete fail (EPERM).
  static absl::StatusOr<KernelRoutes> Open(uint32_t table);

  KernelRoutes(KernelRoutes&& other) noexcept;
  KernelRoutes& operator=(KernelRoutes&& other) noexcept;
  KernelRoutes(const KernelRoutes&) = delete;
  KernelRoutes& operator=(const KernelRoutes&) = delete;
  ~KernelRoutes();

  // Adds the host route for `address`'s IP through this device: idempotent. Routes of the same
  // VIP through other devices (another lb4's during a handover) stay. Waits for the kernel's
  // answer (at most 2 s) and returns its error, e.g. "Operation not permitted".
  absl::Status Add(const net::SocketAddress& address);
  // Deletes it (only the route through this device); a route that is not there is success.
  absl::Status Delete(const net::SocketAddress& address);

  uint32_t table() const { return table_; }
  // Later Add/Delete go to `table` (a reload changed [lb4.announce] table): the socket and the
  // device stay; the caller deletes what it had in the old table first.
  void set_table(uint32_t table) { table_ = table; }
  // The device the routes go through: "lb4-PID", or "lo" without TUN.
  const std::string& device() const { return device_; }

 private:
  KernelRoutes(int fd, uint32_t table, int device_index, int tun_fd, std::string device)
      : fd_(fd),
        table_(table),
        device_index_(device_index),
        tun_fd_(tun_fd),
        device_(std::move(device)) {}
  absl::Status Request(uint16_t type, uint16_t flags, const net::SocketAddress& address);

  int fd_ = -1;
  uint32_t table_ = 0;
  int device_index_ = 0;
  uint32_t seq_ = 0;
  int tun_fd_ = -1;  // keeps the TUN device alive; -1 with `lo`
  std::string device_;
};

}  // namespace edge::l4
