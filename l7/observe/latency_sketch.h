#pragma once
// LatencySketch: a mergeable quantile sketch for latencies (DDSketch's idea, Masson et al. 2019):
// a value v > 0 goes to bucket ceil(log_gamma(v)), so every value in a bucket is within a
// relative error alpha of the bucket's representative value, whatever the distribution. Two
// sketches merge by adding their bucket counts, so per-slot sketches of a sliding window combine
// into the window's quantiles exactly as if one sketch had seen every value.
//
// Values are microseconds. alpha = 2% (gamma = 1.02/0.98); values below 1 us count as 1 us and
// values above ~1 hour as that, so the bucket range, and the memory, is bounded: the counts
// are one dense array spanning only the buckets seen (a few dozen for a typical route), at most
// kMaxIndex + 1 of them.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edge::l7 {

class LatencySketch {
 public:
  static constexpr double kRelativeAccuracy = 0.02;
  static constexpr int kMaxIndex = 550;  // gamma^550 us ~ 3.6e9 us, an hour

  void Add(double micros) { AddIndex(IndexOf(micros)); }
  // Adds one value whose IndexOf() the caller computed (one log() for several sketches).
  void AddIndex(int index);
  void Merge(const LatencySketch& other);
  void Clear();

  uint64_t count() const { return count_; }
  // The q-quantile (0..1) in microseconds, within kRelativeAccuracy of a value whose rank is
  // q * (count - 1); 0 when empty.
  double Quantile(double q) const;
  // Buckets held now (memory is this times 4 bytes).
  size_t buckets() const { return counts_.size(); }

  static int IndexOf(double micros);
  static double ValueOf(int index);  // the bucket's representative value

 private:
  std::vector<uint32_t> counts_;  // counts_[i] is bucket offset_ + i
  int offset_ = 0;
  uint64_t count_ = 0;
};

}  // namespace edge::l7
