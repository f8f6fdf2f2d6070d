#pragma once
// Per-line sampling for access logs: keep a fraction `rate` (0..1) of the lines.
//
// KeepKey() decides from a key the caller already has (a trace id): every process that samples
// the same trace at the same rate keeps or drops it alike, so a sampled trace's lines are all
// there, across gw7 instances and upstreams that sample the same way. Keep() is for lines with no
// such key (lb4's connections): a cheap per-sampler PRNG, not for security.

#include <cstdint>

namespace edge::log {

class Sampler {
 public:
  explicit Sampler(uint64_t seed) : state_(seed | 1) {}

  // rate >= 1 keeps every line, rate <= 0 none (NaN none).
  bool Keep(double rate) {
    if (rate >= 1.0) return true;
    if (!(rate > 0.0)) return false;
    // xorshift64*: enough randomness for sampling, a few instructions.
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return KeepKey(rate, state_ * 0x2545F4914F6CDD1DULL);
  }

  // Keeps the line when the top 53 bits of `key` (uniformly distributed: a random trace id's
  // bits) fall below rate * 2^53.
  static bool KeepKey(double rate, uint64_t key) {
    if (rate >= 1.0) return true;
    if (!(rate > 0.0)) return false;
    constexpr double kScale = 9007199254740992.0;  // 2^53
    return static_cast<double>(key >> 11) < rate * kScale;
  }

 private:
  uint64_t state_;
};

}  // namespace edge::log
