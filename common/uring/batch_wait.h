#pragma once
// BatchWait: how long each io_uring wait may hold completions back to return with more of them
// (Linux >= 6.12's min-wait), decided from the completion rate, as NICs moderate interrupts.
//
// Why adaptive: a loop that wakes for every completion pays a sleep and a wake-up (a context
// switch, and in a VM an interrupt-enable exit) per few requests; perf of gw7 under h2load saw
// 0.29 context switches per request and ~9% of its CPU in them, where HAProxy (busier, so rarely
// asleep) had 0.02. Waiting up to max_wait_usec for a batch removed most of that (-30% CPU per
// request) and lowered the load's latency too, because the peers got fuller batches. But a fixed
// wait delays every hop of a request when traffic is light, so the long wait is used only while
// completions come fast enough to bring half a batch within it (then a wait rarely lasts it
// whole); otherwise waits are short (kLightWaitUsec).
//
// Bulk flows are the exception: a direction moving a large transfer (lb4's flows that fill whole
// buffers) has one completion in flight at a time, and each one that waits for a batch is time
// its bytes stand still (measured with lb4 batching like gw7: 1 MiB responses +16% CPU and -20%
// req/s). While any such flow holds the loop (HoldShortWaits), waits stay short.

#include <algorithm>
#include <cstdint>

namespace edge::uring {

class BatchWait {
 public:
  // max_wait_usec: the longest a completion may wait for others (0: never batch); wait_batch:
  // a wait returns as soon as this many completions are ready; adaptive: batch only while the
  // rate fills a batch within max_wait (else: always, as lb4 does with its short default wait).
  BatchWait(unsigned max_wait_usec, unsigned wait_batch, bool adaptive)
      : max_wait_ns_(int64_t{max_wait_usec} * 1000),
        max_wait_usec_(max_wait_usec),
        wait_batch_(wait_batch),
        adaptive_(adaptive),
        batching_(!adaptive && max_wait_usec > 0) {}

  // After each pass of the loop: `completions` handled, at `now_ns` (monotonic).
  void OnPass(unsigned completions, int64_t now_ns) {
    if (!adaptive_) return;
    window_completions_ += completions;
    if (window_start_ns_ == 0) window_start_ns_ = now_ns;
    const int64_t elapsed = now_ns - window_start_ns_;
    if (elapsed < kWindowNs) return;
    // At the last window's rate half a batch comes within max_wait: batch (a wait then rarely
    // lasts the whole max_wait). Off again below half that rate, so a rate near the line does
    // not flip the mode every window.
    const int64_t within_wait = window_completions_ * max_wait_ns_;  // x elapsed
    const int64_t half_batch = int64_t{wait_batch_} * elapsed / 2;   // x elapsed
    if (within_wait >= half_batch) {
      batching_ = max_wait_ns_ > 0;
    } else if (within_wait * 2 < half_batch) {
      batching_ = false;
    }
    window_completions_ = 0;
    window_start_ns_ = now_ns;
  }

  // The min-wait for the next wait: max_wait_usec while batching, else a short one (at most
  // kLightWaitUsec: lb4's fixed default, which alone took ~20% off keep-alive CPU per request
  // while adding at most 20 us per event; returning at the first completion measured worse
  // than both in gw7's l7-h2 load).
  unsigned min_wait_usec() const {
    return batching_ && short_holds_ == 0 ? max_wait_usec_
                                          : std::min(max_wait_usec_, kLightWaitUsec);
  }
  // +1 when a bulk flow starts, -1 when it ends: while any is open, waits are short.
  void HoldShortWaits(int delta) { short_holds_ += delta; }
  int short_holds() const { return short_holds_; }
  bool batching() const { return batching_; }

  static constexpr int64_t kWindowNs = 10'000'000;  // 10 ms: follows a load within a blink
  static constexpr unsigned kLightWaitUsec = 20;

 private:
  int64_t max_wait_ns_;
  unsigned max_wait_usec_;
  unsigned wait_batch_;
  bool adaptive_;
  int64_t window_start_ns_ = 0;
  int64_t window_completions_ = 0;
  int short_holds_ = 0;
  bool batching_;
};

}  // namespace edge::uring
