#pragma once
// WeightedSchedule: one cycle of backend indexes in which each backend appears in proportion to its
// weight, smoothly interleaved (weights 3 and 1 give A B A A, not A A A B). Round robin walks it
// with a shared counter; random_two draws uniformly from it, which is a weighted draw in O(1).

#include <cstdint>
#include <vector>

#include "l4/balancer/eligible.h"

namespace edge::l4 {

// Longest cycle built; larger weight sums are scaled down to it (each weight at least 1), which
// keeps every share within about (number of backends / kMaxWeightedSchedule) of the configured one.
inline constexpr uint64_t kMaxWeightedSchedule = 1 << 16;

// Weights are first divided by their gcd, so 100/200/300 give a cycle of 6. Empty for an empty
// pool.
std::vector<int32_t> WeightedSchedule(const BackendList& backends);

}  // namespace edge::l4
