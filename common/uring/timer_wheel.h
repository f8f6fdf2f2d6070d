#pragma once
// TimerWheel: all of a thread's timeouts (connect, idle, handshake, header) in one hashed wheel,
// instead of one kernel timeout per operation. Arming, re-arming and cancelling are O(1) list
// operations; the event loop sleeps until the next tick at most.
//
// Resolution is one tick (default 10 ms): a timer fires no earlier than its deadline and at most
// about one tick late. Deadlines beyond the wheel's span are parked in the farthest slot and
// re-slotted when reached, so any duration works.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edge::uring {

class TimerWheel;

// Embed a Timer in the object that owns the timeout. A Timer must be cancelled (or have fired)
// before it is destroyed; the destructor cancels it.
class Timer {
 public:
  using Callback = void (*)(void* context);
  Timer(Callback callback, void* context) : callback_(callback), context_(context) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  bool armed() const { return wheel_ != nullptr; }
  int64_t deadline_ns() const { return deadline_ns_; }

 private:
  friend class TimerWheel;
  Callback callback_;
  void* context_;
  TimerWheel* wheel_ = nullptr;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  int64_t deadline_ns_ = 0;
  unsigned slot_ = 0;
};

class TimerWheel {
 public:
  // `slots` is rounded up to a multiple of 64.
  explicit TimerWheel(int64_t now_ns, int64_t tick_ns = 10'000'000, unsigned slots = 512);
  ~TimerWheel();

  // Arms (or re-arms) `timer` to fire at `deadline_ns` (CLOCK_MONOTONIC).
  void Schedule(Timer* timer, int64_t deadline_ns);
  void Cancel(Timer* timer);

  // Fires every timer whose deadline is <= now_ns. Callbacks may schedule or cancel any timer.
  void Advance(int64_t now_ns);

  // Nanoseconds until the next tick that has work, or -1 when no timer is armed.
  int64_t NextTimeoutNs(int64_t now_ns) const;
  size_t armed_count() const { return armed_; }

 private:
  void Link(Timer* timer, unsigned slot);
  void Unlink(Timer* timer);

  int64_t tick_ns_;
  int64_t current_tick_;  // ticks [.., current_tick_) have been processed
  std::vector<Timer*> slots_;
  std::vector<uint64_t> occupied_;  // one bit per slot: non-empty. NextTimeoutNs scans words.
  size_t armed_ = 0;
};

// CLOCK_MONOTONIC in nanoseconds.
int64_t MonotonicNowNs();

}  // namespace edge::uring
