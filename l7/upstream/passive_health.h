#pragma once
// Passive health of one upstream server: after `passive_failures` consecutive failed requests
// (connect errors, resets, bad responses, timeouts) the server is ejected for `ejection_time`,
// during which the balancer skips it. A success resets the count. While every server of an
// upstream is ejected the gateway answers 503 rather than hammering servers that just failed.

#include <cstdint>

namespace edge::l7 {

class PassiveHealth {
 public:
  PassiveHealth(int max_failures, int64_t ejection_ns)
      : max_failures_(max_failures), ejection_ns_(ejection_ns) {}

  // Records one request's outcome at `now_ns`. Returns true when this failure ejected the server.
  bool Record(bool success, int64_t now_ns);
  bool ejected(int64_t now_ns) const { return now_ns < ejected_until_ns_; }
  int consecutive_failures() const { return consecutive_failures_; }
  uint64_t ejections() const { return ejections_; }
  int64_t ejected_until_ns() const { return ejected_until_ns_; }
  // Takes over another instance's state (not its limits): a reload keeps a server's history.
  void InheritState(const PassiveHealth& old) {
    consecutive_failures_ = old.consecutive_failures_;
    ejected_until_ns_ = old.ejected_until_ns_;
    ejections_ = old.ejections_;
  }

 private:
  int max_failures_;  // <= 0: never eject
  int64_t ejection_ns_;
  int consecutive_failures_ = 0;
  int64_t ejected_until_ns_ = 0;
  uint64_t ejections_ = 0;
};

}  // namespace edge::l7
