#pragma once
// Backend: one server of a pool as every worker sees it. Shared by all workers of lb4 (held by
// shared_ptr in the pool); only the atomics (and the last check, behind its mutex) change after
// construction.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/net/address.h"

namespace edge::l4 {

// Why a relayed connection counted against its backend (passive health, see Backend).
enum class PassiveFailure : uint8_t {
  kNone,
  kConnectRefused,  // ECONNREFUSED
  kConnectTimeout,  // connect_timeout passed
  kConnectError,    // any other connect error (unreachable, ...)
  kReset,           // the backend reset an established connection
};

// "connect refused", "connect timeout", "connect error", "reset by the backend", "none".
const char* PassiveFailureText(PassiveFailure failure);

// The outcome of one active health check (l4/health), as /status shows it.
struct CheckResult {
  bool ok = false;
  std::string detail;   // "HTTP 200", "connect refused", "timeout after 500ms", ...
  absl::Time at;        // when it completed (wall clock)
  absl::Duration took;  // from the connect to the verdict
};

struct Backend {
  Backend(net::SocketAddress addr, uint32_t w) : address(addr), key(addr.ToString()), weight(w) {}

  const net::SocketAddress address;
  const std::string key;  // stable identity ("127.0.0.1:8001"); Maglev orders backends by it
  // >= 1: the weight in force, the config's unless runtime control set one (admin_weight). A
  // reload may change it (the Backend object stays, with its connections); maglev and
  // round_robin read it when they are built, least_conn and random_two at every pick.
  std::atomic<uint32_t> weight;
  // --- Runtime control (POST /backends/...; l4/runtime_control.h). Written by the admin
  // thread under Lb4Server's control mutex, read by the workers (relaxed) and /status. ---
  // Drained: no new connections (the balancers skip it like an unhealthy backend), live ones
  // go on. Independent of health: enable clears it, health never does.
  std::atomic<bool> admin_drained{false};
  // A weight set at run time (then also in `weight`); 0: none, the config's weight applies.
  std::atomic<uint32_t> admin_weight{0};
  std::atomic<int64_t> active{0};  // live relayed connections, all workers (least_conn)
  // May receive new connections: check_up && !ejected. Written by the health checker only (it
  // owns both halves); the balancers skip a backend while it is false. Live connections to an
  // unhealthy backend are never cut by health.
  std::atomic<bool> healthy{true};
  std::atomic<bool> removed{false};       // a reload dropped it: its connections drain, then end
  std::atomic<int64_t> removed_at_ns{0};  // CLOCK_MONOTONIC of that reload
  std::atomic<uint64_t> connect_failures{0};

  // --- Health (l4/health/health_checker.h). Written by the health thread unless noted. ---
  // Active checks' verdict. A backend starts up (and stays up with check = "none"): it takes
  // `fall` failed checks to take it out, so a restart of lb4 never starts with an empty pool.
  std::atomic<bool> check_up{true};
  std::atomic<bool> ejected{false};          // passive ejection in force
  std::atomic<int64_t> ejected_until_ns{0};  // CLOCK_MONOTONIC end of the ejection
  std::atomic<int64_t> ejection_ns{0};       // length of the ejection in force (or the last)
  std::atomic<uint64_t> checks_ok{0};
  std::atomic<uint64_t> checks_failed{0};
  std::atomic<uint64_t> ejections{0};
  // Written by the workers: connect failures and resets since the last successful connect.
  // The health thread compares it with passive_failures and clears it on an ejection.
  std::atomic<uint32_t> consecutive_failures{0};
  std::atomic<PassiveFailure> last_failure{PassiveFailure::kNone};

  // Worker side of passive health. Cheap: a success writes only when there were failures.
  void RecordFailure(PassiveFailure why) {
    last_failure.store(why, std::memory_order_relaxed);
    consecutive_failures.fetch_add(1, std::memory_order_relaxed);
  }
  void RecordConnectSuccess() {
    if (consecutive_failures.load(std::memory_order_relaxed) != 0) {
      consecutive_failures.store(0, std::memory_order_relaxed);
    }
  }

  // The last active check (ok false, at absl::InfinitePast() before the first one).
  CheckResult last_check() const {
    std::lock_guard<std::mutex> lock(check_mu_);
    return last_check_;
  }
  void set_last_check(CheckResult result) {
    std::lock_guard<std::mutex> lock(check_mu_);
    last_check_ = std::move(result);
  }

 private:
  mutable std::mutex check_mu_;
  CheckResult last_check_{false, "", absl::InfinitePast(), absl::ZeroDuration()};
};

inline const char* PassiveFailureText(PassiveFailure failure) {
  switch (failure) {
    case PassiveFailure::kNone:
      return "none";
    case PassiveFailure::kConnectRefused:
      return "connect refused";
    case PassiveFailure::kConnectTimeout:
      return "connect timeout";
    case PassiveFailure::kConnectError:
      return "connect error";
    case PassiveFailure::kReset:
      return "reset by the backend";
  }
  return "unknown";
}

}  // namespace edge::l4
