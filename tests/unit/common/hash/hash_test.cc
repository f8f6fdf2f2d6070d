#include "common/hash/hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace edge::hash {
namespace {

// The sanity buffer of xxHash's own tests (xsum_sanity_check.c): byte i is the top byte of
// PRIME32 * PRIME64^i.
std::string SanityBuffer(size_t size) {
  std::string buf(size, '\0');
  uint64_t gen = 2654435761ULL;
  for (size_t i = 0; i < size; ++i) {
    buf[i] = static_cast<char>(gen >> 56);
    gen *= 11400714785074694797ULL;
  }
  return buf;
}

struct Vector {
  size_t length;
  uint64_t seed0;         // seed 0
  uint64_t seed_prime32;  // seed 2654435761
};

// Published by xxHash (lengths 0, 1, 14, 222 appear in its sanity check) and checked against the
// reference libxxhash 0.8.1; the lengths cover every path: < 4, 4..7, 8..31, the 32-byte stripes,
// and every tail. If these change, every Maglev table in the field changes: never edit them.
constexpr Vector kVectors[] = {
    {0, 0xef46db3751d8e999ULL, 0xac75fda2929b17efULL},
    {1, 0xe934a84adb052768ULL, 0x5014607643a9b4c3ULL},
    {3, 0xff7e1959cb50794aULL, 0xaa8584e83660f7d1ULL},
    {4, 0x9136a0dca57457eeULL, 0xcaab286bd8e9fdb5ULL},
    {7, 0x6c83909a9f01ed25ULL, 0xf98d03b1ad6f9293ULL},
    {8, 0xcdbcf538e71d1348ULL, 0xfe0c047a5353cdacULL},
    {14, 0x8282dcc4994e35c8ULL, 0xc3bd6bf63deb6df0ULL},
    {31, 0x299b39a290e6d783ULL, 0xda673d5feb5c1d79ULL},
    {32, 0x18b216492bb44b70ULL, 0xb3f33bdf93ade409ULL},
    {33, 0x55c8dc3e578f5b59ULL, 0xe92c292f64bc3071ULL},
    {63, 0xa9efbe0fa0f3f4e7ULL, 0x6c911fadb05b6fc2ULL},
    {64, 0xef558f8acac2b5cdULL, 0xb5eeba99264cc44fULL},
    {100, 0x4bfe019cd91d9ea4ULL, 0x4853706dc9625caeULL},
    {222, 0xb641ae8cb691c174ULL, 0x20cb8ab7ae10c14aULL},
};

TEST(Hash64, MatchesXxHash64SanityVectors) {
  const std::string buf = SanityBuffer(256);
  for (const Vector& v : kVectors) {
    EXPECT_EQ(Hash64(buf.data(), v.length, 0), v.seed0) << "length " << v.length;
    EXPECT_EQ(Hash64(buf.data(), v.length, 2654435761ULL), v.seed_prime32) << "length " << v.length;
  }
}

TEST(Hash64, MatchesXxHash64OfStrings) {
  EXPECT_EQ(Hash64("", 0), 0xef46db3751d8e999ULL);
  EXPECT_EQ(Hash64("a", 0), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(Hash64("abc", 0), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(Hash64("abc", 1), 0xbea9ca8199328908ULL);
  EXPECT_EQ(Hash64("Nobody inspects the spammish repetition", 0), 0xfbcea83c8a378bf1ULL);
  EXPECT_EQ(
      Hash64("12345678901234567890123456789012345678901234567890123456789012345678901234567890", 0),
      0xe04a477f19ee145dULL);
}

TEST(Hash64, DoesNotDependOnAlignment) {
  const std::string buf = SanityBuffer(256);
  std::string shifted = "x" + buf;
  for (const Vector& v : kVectors) {
    EXPECT_EQ(Hash64(shifted.data() + 1, v.length, 0), v.seed0) << "length " << v.length;
  }
}

TEST(Hash64, SeedAndEveryByteMatter) {
  EXPECT_NE(Hash64("10.0.0.1:80", 0), Hash64("10.0.0.1:80", 1));
  EXPECT_NE(Hash64("10.0.0.1:80", 0), Hash64("10.0.0.1:81", 0));
  EXPECT_NE(Hash64("10.0.0.1:80", 0), Hash64("10.0.0.1:8", 0));
}

TEST(IsPrime, SmallNumbers) {
  std::vector<uint64_t> primes;
  for (uint64_t n = 0; n < 60; ++n) {
    if (IsPrime(n)) primes.push_back(n);
  }
  EXPECT_EQ(primes, (std::vector<uint64_t>{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47,
                                           53, 59}));
}

TEST(IsPrime, TableSizesAndLargeNumbers) {
  EXPECT_TRUE(IsPrime(65537));
  EXPECT_TRUE(IsPrime(655373));
  EXPECT_FALSE(IsPrime(65536));
  EXPECT_FALSE(IsPrime(65539 * 65537ULL));
  EXPECT_TRUE(IsPrime(18446744073709551557ULL));   // largest 64-bit prime
  EXPECT_FALSE(IsPrime(18446744073709551615ULL));  // 2^64 - 1
  EXPECT_FALSE(IsPrime(3215031751ULL));            // strong pseudoprime to bases 2, 3, 5, 7
  EXPECT_FALSE(IsPrime(3825123056546413051ULL));   // strong pseudoprime to bases 2..23
  EXPECT_FALSE(IsPrime(561));                      // Carmichael
  EXPECT_TRUE(IsPrime(1000000007));
}

}  // namespace
}  // namespace edge::hash
