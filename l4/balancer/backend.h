#pragma once
// Backend: one server of a pool as every worker sees it. Shared by all workers of lb4 (held by
// shared_ptr in the pool); only the atomics change after construction.

#include <atomic>
#include <cstdint>
#include <string>

#include "common/net/address.h"

namespace edge::l4 {

struct Backend {
  Backend(net::SocketAddress addr, uint32_t w) : address(addr), key(addr.ToString()), weight(w) {}

  const net::SocketAddress address;
  const std::string key;   // stable identity ("127.0.0.1:8001"); Maglev orders backends by it
  const uint32_t weight;   // >= 1
  std::atomic<int64_t> active{0};     // live relayed connections, all workers (least_conn)
  std::atomic<bool> healthy{true};    // health checks (issue 3) clear it; balancers skip it
  std::atomic<bool> removed{false};   // a reload dropped it: its connections drain, then end
  std::atomic<uint64_t> connect_failures{0};
};

}  // namespace edge::l4
