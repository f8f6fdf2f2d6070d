#pragma once
// KernelRoutes: host routes (a /32 or /128 through `lo`) in one kernel routing table, added and
// deleted over rtnetlink. The table is not one the kernel forwards by (no `ip rule` points at it):
// it is where lb4 tells the machine's routing daemon what to announce (bird2's kernel protocol
// with `learn` imports it; l4/announce/vip_announcer.h decides when).
//
// Routes are written with protocol "static" (RTPROT_STATIC): bird2's `learn` skips only routes of
// protocol "kernel" and its own, and `ip route show table N` lists them plainly.

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/net/address.h"

namespace edge::l4 {

class KernelRoutes {
 public:
  // Opens an rtnetlink socket for `table` (1..2^32-1). Fails when the socket cannot be made or
  // there is no `lo`. Writing routes needs CAP_NET_ADMIN: without it Add/Delete fail (EPERM).
  static absl::StatusOr<KernelRoutes> Open(uint32_t table);

  KernelRoutes(KernelRoutes&& other) noexcept;
  KernelRoutes& operator=(KernelRoutes&& other) noexcept;
  KernelRoutes(const KernelRoutes&) = delete;
  KernelRoutes& operator=(const KernelRoutes&) = delete;
  ~KernelRoutes();

  // Adds (or replaces) the host route for `address`'s IP: idempotent. Waits for the kernel's
  // answer (at most 2 s) and returns its error, e.g. "Operation not permitted".
  absl::Status Add(const net::SocketAddress& address);
  // Deletes it; a route that is not there is success.
  absl::Status Delete(const net::SocketAddress& address);

  uint32_t table() const { return table_; }

 private:
  KernelRoutes(int fd, uint32_t table, int lo_index) : fd_(fd), table_(table), lo_(lo_index) {}
  absl::Status Request(uint16_t type, uint16_t flags, const net::SocketAddress& address);

  int fd_ = -1;
  uint32_t table_ = 0;
  int lo_ = 0;
  uint32_t seq_ = 0;
};

}  // namespace edge::l4
