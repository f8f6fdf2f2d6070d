#pragma once
// Deterministic hashing for anything that must agree across processes and machines: the Maglev
// table, which lb4 instances behind ECMP must compute identically, and the client hash that indexes
// it. absl::Hash and std::hash are seeded per process (or may change between releases), so they
// cannot be used for this; Hash64 is xxHash64, a published function with published test vectors.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace edge::hash {

// xxHash64 of `size` bytes at `data` with `seed`. Identical on every machine, build and run
// (independent of endianness: input words are read as little-endian).
uint64_t Hash64(const void* data, size_t size, uint64_t seed);
inline uint64_t Hash64(std::string_view data, uint64_t seed) {
  return Hash64(data.data(), data.size(), seed);
}

// True when n is prime. Exact for every 64-bit n (deterministic Miller-Rabin).
bool IsPrime(uint64_t n);

}  // namespace edge::hash
