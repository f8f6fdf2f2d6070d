#include "common/uring/timer_wheel.h"

#include <time.h>

#include <cassert>

namespace edge::uring {

int64_t MonotonicNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->Cancel(this);
}

TimerWheel::TimerWheel(int64_t now_ns, int64_t tick_ns, unsigned slots)
    : tick_ns_(tick_ns),
      current_tick_(now_ns / tick_ns),
      slots_((slots + 63) / 64 * 64, nullptr),
      occupied_(slots_.size() / 64, 0) {}

TimerWheel::~TimerWheel() {
  for (Timer*& head : slots_) {
    while (head != nullptr) Unlink(head);
  }
}

void TimerWheel::Link(Timer* timer, unsigned slot) {
  timer->prev_ = nullptr;
  timer->next_ = slots_[slot];
  if (slots_[slot] != nullptr) slots_[slot]->prev_ = timer;
  slots_[slot] = timer;
  occupied_[slot / 64] |= uint64_t{1} << (slot % 64);
  timer->slot_ = slot;
  timer->wheel_ = this;
  ++armed_;
}

void TimerWheel::Unlink(Timer* timer) {
  assert(timer->wheel_ == this);
  if (timer->prev_ != nullptr) {
    timer->prev_->next_ = timer->next_;
  } else {
    slots_[timer->slot_] = timer->next_;
    if (timer->next_ == nullptr)
      occupied_[timer->slot_ / 64] &= ~(uint64_t{1} << (timer->slot_ % 64));
  }
  if (timer->next_ != nullptr) timer->next_->prev_ = timer->prev_;
  timer->prev_ = timer->next_ = nullptr;
  timer->wheel_ = nullptr;
  --armed_;
}

void TimerWheel::Schedule(Timer* timer, int64_t deadline_ns) {
  if (timer->wheel_ != nullptr) Unlink(timer);
  timer->deadline_ns_ = deadline_ns;
  int64_t tick = (deadline_ns + tick_ns_ - 1) / tick_ns_;
  if (tick < current_tick_) tick = current_tick_;
  // Never further than slots-2 ahead, so a timer re-slotted while its slot is being processed
  // cannot land back in that same slot.
  int64_t span = static_cast<int64_t>(slots_.size()) - 2;
  if (tick - current_tick_ > span) tick = current_tick_ + span;  // parked; re-slotted on expiry
  Link(timer, static_cast<unsigned>(tick % static_cast<int64_t>(slots_.size())));
}

void TimerWheel::Cancel(Timer* timer) {
  if (timer->wheel_ == this) Unlink(timer);
}

void TimerWheel::Advance(int64_t now_ns) {
  int64_t target = now_ns / tick_ns_;
  while (current_tick_ <= target) {
    unsigned slot = static_cast<unsigned>(current_tick_ % static_cast<int64_t>(slots_.size()));
    ++current_tick_;  // from here on, Schedule() places timers in later slots only
    // Take one timer at a time from the live list: a callback may cancel, re-arm or destroy any
    // other timer, including ones still waiting in this slot.
    while (Timer* t = slots_[slot]) {
      Unlink(t);
      if (t->deadline_ns_ > now_ns) {
        Schedule(t, t->deadline_ns_);  // parked far timer
      } else {
        t->callback_(t->context_);
      }
    }
  }
}

int64_t TimerWheel::NextTimeoutNs(int64_t now_ns) const {
  if (armed_ == 0) return -1;
  // First occupied slot at or after the current one, wrapping: a few word scans, not a slot walk.
  const size_t n = slots_.size();
  const size_t start = static_cast<size_t>(current_tick_ % static_cast<int64_t>(n));
  size_t distance = n;
  for (size_t step = 0; step <= n; step += 64) {
    size_t pos = (start + step) % n;
    size_t word = pos / 64;
    uint64_t bits = occupied_[word] & (~uint64_t{0} << (pos % 64));
    if (bits != 0) {
      size_t found = word * 64 + static_cast<size_t>(__builtin_ctzll(bits));
      distance = (found + n - start) % n;
      break;
    }
    // Continue from the start of the next word.
    step -= pos % 64;
  }
  int64_t wait = (current_tick_ + static_cast<int64_t>(distance)) * tick_ns_ - now_ns;
  return wait < 0 ? 0 : wait;
}

}  // namespace edge::uring
