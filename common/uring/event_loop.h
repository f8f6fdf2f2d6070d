#pragma once
// EventLoop: one per thread. Owns the ring and the timer wheel, dispatches completions to their
// IoHandlers (see completion.h) and runs closures posted from other threads.
//
// Loop iteration: submit everything queued and wait for >= 1 CQE or the next timer tick, drain all
// CQEs in one batch and advance the CQ once, fire due timers, run posted closures, then the
// end-of-pass tasks (end_of_pass.h).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "common/uring/completion.h"
#include "common/uring/end_of_pass.h"
#include "common/uring/ring.h"
#include "common/uring/timer_wheel.h"

namespace edge::uring {

class EventLoop : private IoHandler {
 public:
  // Creates the ring; must be called on the thread that runs the loop.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(const RingOptions& options);
  ~EventLoop() override;

  Ring& ring() { return *ring_; }
  TimerWheel& timers() { return timers_; }
  // Monotonic time cached at the last wakeup: cheap, and what timeouts should be measured from.
  int64_t now_ns() const { return now_ns_; }

  // Runs until Stop(). Returns an error only when the ring itself fails.
  absl::Status Run();
  // Thread-safe: makes Run() return after the current iteration.
  void Stop();
  // Thread-safe: runs `task` on the loop's thread soon.
  void Post(std::function<void()> task);
  // Loop thread only: runs `task` once at the end of this pass (at once if the loop is not
  // running, e.g. in unit tests that drive handlers by hand, so nothing is left unsent).
  void RunAtEndOfPass(EndOfPassTask* task);

 private:
  EventLoop() = default;
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;  // the wakeup eventfd
  void ArmWakeup();
  void RunPosted();

  std::unique_ptr<Ring> ring_;
  TimerWheel timers_{MonotonicNowNs()};
  int64_t now_ns_ = 0;
  int wakeup_fd_ = -1;
  uint64_t wakeup_value_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> has_posted_{false};
  EndOfPassQueue end_of_pass_;
  bool in_pass_ = false;  // Run() is handling a pass: end-of-pass tasks wait for its end
};

}  // namespace edge::uring
