#include "l7/observe/latency_sketch.h"

#include <algorithm>
#include <cmath>

namespace edge::l7 {
namespace {

constexpr double kGamma =
    (1 + LatencySketch::kRelativeAccuracy) / (1 - LatencySketch::kRelativeAccuracy);
const double kLogGamma = std::log(kGamma);

}  // namespace

int LatencySketch::IndexOf(double micros) {
  if (!(micros > 1.0)) return 0;  // also NaN
  const double index = std::ceil(std::log(micros) / kLogGamma);
  return index >= kMaxIndex ? kMaxIndex : static_cast<int>(index);
}

double LatencySketch::ValueOf(int index) {
  if (index <= 0) return 1.0;
  // The middle (in relative terms) of (gamma^(i-1), gamma^i]: at most alpha from any value in it.
  return 2.0 * std::pow(kGamma, index) / (kGamma + 1.0);
}

void LatencySketch::AddIndex(int index) {
  index = std::clamp(index, 0, kMaxIndex);
  if (counts_.empty()) {
    offset_ = index;
    counts_.assign(1, 0);
  } else if (index < offset_) {
    counts_.insert(counts_.begin(), static_cast<size_t>(offset_ - index), 0);
    offset_ = index;
  } else if (index >= offset_ + static_cast<int>(counts_.size())) {
    counts_.resize(static_cast<size_t>(index - offset_ + 1), 0);
  }
  ++counts_[static_cast<size_t>(index - offset_)];
  ++count_;
}

void LatencySketch::Merge(const LatencySketch& other) {
  if (other.count_ == 0) return;
  if (count_ == 0) {
    *this = other;
    return;
  }
  const int low = std::min(offset_, other.offset_);
  const int high = std::max(offset_ + static_cast<int>(counts_.size()),
                            other.offset_ + static_cast<int>(other.counts_.size()));
  if (low < offset_) {
    counts_.insert(counts_.begin(), static_cast<size_t>(offset_ - low), 0);
    offset_ = low;
  }
  counts_.resize(static_cast<size_t>(high - offset_), 0);
  for (size_t i = 0; i < other.counts_.size(); ++i) {
    counts_[static_cast<size_t>(other.offset_ - offset_) + i] += other.counts_[i];
  }
  count_ += other.count_;
}

void LatencySketch::Clear() {
  counts_.clear();
  offset_ = 0;
  count_ = 0;
}

double LatencySketch::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > rank) return ValueOf(offset_ + static_cast<int>(i));
  }
  return ValueOf(offset_ + static_cast<int>(counts_.size()) - 1);
}

}  // namespace edge::l7
