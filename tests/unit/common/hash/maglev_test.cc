#include "common/hash/maglev.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/hash/hash.h"

namespace edge::hash {
namespace {

using ::testing::Each;
using ::testing::Eq;
using ::testing::HasSubstr;

// n backends "10.<i/256>.<i%256>.1:8000" with weight weight_of(i).
template <typename WeightOf>
std::vector<MaglevBackend> MakeBackends(int n, WeightOf weight_of) {
  std::vector<MaglevBackend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({absl::StrFormat("10.%d.%d.1:8000", i / 256, i % 256), weight_of(i)});
  }
  return out;
}
std::vector<MaglevBackend> MakeBackends(int n) {
  return MakeBackends(n, [](int) { return 1u; });
}

MaglevTable BuildOrDie(const std::vector<MaglevBackend>& backends, uint32_t size) {
  auto table = MaglevTable::Build(backends, size);
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? *std::move(table) : MaglevTable();
}

// The key owning each slot: comparable across tables built from different lists.
std::vector<std::string> SlotKeys(const MaglevTable& t) {
  std::vector<std::string> keys;
  keys.reserve(t.slots().size());
  for (int32_t i : t.slots()) keys.push_back(t.backends()[i].key);
  return keys;
}

uint32_t NextPrimeAtLeast(uint32_t n) {
  while (!IsPrime(n)) ++n;
  return n;
}

// Every backend's slot count is within one slot of its exact weighted share, which is within 1%
// of that share whenever the share is 100 slots or more (always so when table_size >= 100 x
// backends with equal weights).
void ExpectWeightedShares(const MaglevTable& t) {
  double total_weight = 0;
  for (const auto& b : t.backends()) total_weight += b.weight;
  const std::vector<uint32_t> counts = t.SlotCounts();
  uint64_t sum = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double ideal = t.table_size() * t.backends()[i].weight / total_weight;
    EXPECT_LT(std::abs(counts[i] - ideal), 1.0) << t.backends()[i].key;
    if (ideal >= 100) {
      EXPECT_LE(std::abs(counts[i] - ideal), 0.01 * ideal) << t.backends()[i].key;
    }
    sum += counts[i];
  }
  EXPECT_EQ(sum, t.table_size());
}

TEST(MaglevTable, EmptyPoolLooksUpNothing) {
  MaglevTable t = BuildOrDie({}, 65537);
  EXPECT_EQ(t.table_size(), 65537u);
  EXPECT_TRUE(t.slots().empty());
  EXPECT_EQ(t.Lookup(0), -1);
  EXPECT_EQ(t.Lookup(~0ULL), -1);
  EXPECT_EQ(t.LookupSkipping(42, [](int32_t) { return true; }), -1);
  EXPECT_EQ(MaglevTable().Lookup(7), -1);
}

TEST(MaglevTable, OneBackendOwnsEverySlot) {
  MaglevTable t = BuildOrDie({{"10.0.0.1:80", 3}}, 65537);
  EXPECT_THAT(t.slots(), Each(Eq(0)));
  for (uint64_t h : {0ULL, 1ULL, 0x8000000000000000ULL, ~0ULL}) EXPECT_EQ(t.Lookup(h), 0);
}

TEST(MaglevTable, RefusesBadInput) {
  const auto three = MakeBackends(3);
  for (uint32_t size : {0u, 1u, 4u, 65536u, 65535u}) {
    auto t = MaglevTable::Build(three, size);
    ASSERT_FALSE(t.ok()) << size;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("not prime"));
  }
  auto too_small = MaglevTable::Build(MakeBackends(8), 7);
  ASSERT_FALSE(too_small.ok());
  EXPECT_THAT(too_small.status().message(),
              HasSubstr("table_size 7 is smaller than the number of backends (8)"));
  auto too_big = MaglevTable::Build(three, NextPrimeAtLeast(kMaxMaglevTableSize));
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.status().message(), HasSubstr("larger than the maximum"));

  auto zero = MaglevTable::Build(std::vector<MaglevBackend>{{"a:1", 1}, {"b:1", 0}}, 13);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(zero.status().message(), HasSubstr("\"b:1\": weight must be >= 1"));

  auto dup = MaglevTable::Build(std::vector<MaglevBackend>{{"a:1", 1}, {"b:1", 1}, {"a:1", 2}}, 13);
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("\"a:1\" appears more than once"));
}

TEST(MaglevTable, TableAsSmallAsThePool) {
  MaglevTable t = BuildOrDie(MakeBackends(7), 7);
  std::vector<int32_t> sorted = t.slots();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6}));
  MaglevTable two = BuildOrDie(MakeBackends(2), 2);
  EXPECT_THAT(two.SlotCounts(), Each(Eq(1u)));
}

TEST(MaglevTable, EqualSharesWithinOnePercent) {
  for (int n : {2, 3, 10, 100, 655}) {
    SCOPED_TRACE(n);
    ExpectWeightedShares(BuildOrDie(MakeBackends(n), 65537));
  }
  // The tightest tables allowed by the 100 x backends rule.
  for (int n : {10, 50, 1000}) {
    SCOPED_TRACE(n);
    ExpectWeightedShares(BuildOrDie(MakeBackends(n), NextPrimeAtLeast(100 * n)));
  }
}

TEST(MaglevTable, WeightedSharesWithinOnePercent) {
  ExpectWeightedShares(BuildOrDie(MakeBackends(10, [](int i) { return i + 1u; }), 65537));
  ExpectWeightedShares(BuildOrDie(MakeBackends(100, [](int i) { return 1u + i % 7; }), 65537));
  ExpectWeightedShares(BuildOrDie(MakeBackends(5, [](int i) { return 1u + i * 10; }), 1009));
}

TEST(MaglevTable, WeightSkew) {
  // Three light backends and a 1000x heavy one: shares follow the weights, lights keep theirs.
  auto backends = MakeBackends(4, [](int i) { return i == 2 ? 1000u : 1u; });
  MaglevTable t = BuildOrDie(backends, 65537);
  ExpectWeightedShares(t);
  const auto counts = t.SlotCounts();
  EXPECT_GT(counts[2], 65000u);
  EXPECT_GE(counts[0], 65u);

  // A share below one slot still gets one slot: every configured backend gets some traffic.
  auto extreme = MakeBackends(10, [](int i) { return i == 0 ? 4000000000u : 1u; });
  MaglevTable e = BuildOrDie(extreme, 101);
  const auto ecounts = e.SlotCounts();
  EXPECT_EQ(ecounts[0], 92u);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(ecounts[i], 1u) << i;
}

TEST(MaglevTable, RemovingOneBackendRemapsLittle) {
  for (int n : {5, 10, 100, 1000}) {
    const auto all = MakeBackends(n);
    const auto before = SlotKeys(BuildOrDie(all, 65537));
    for (int removed : {0, n / 2, n - 1}) {
      auto rest = all;
      rest.erase(rest.begin() + removed);
      const auto after = SlotKeys(BuildOrDie(rest, 65537));
      size_t moved = 0;
      for (size_t s = 0; s < before.size(); ++s) moved += before[s] != after[s];
      const double fraction = static_cast<double>(moved) / before.size();
      EXPECT_LE(fraction, 1.0 / n + 0.02) << n << " backends, removed " << removed;
      // The removed backend's slots must all move; nothing else needs to.
      EXPECT_GE(moved, 65537u / n) << n;
    }
  }
}

TEST(MaglevTable, RemovingOneWeightedBackendRemapsLittle) {
  const auto all = MakeBackends(20, [](int i) { return 1u + i % 4; });
  const auto before = SlotKeys(BuildOrDie(all, 65537));
  auto rest = all;
  rest.erase(rest.begin() + 3);  // weight 4 of a total of 50
  const auto after = SlotKeys(BuildOrDie(rest, 65537));
  size_t moved = 0;
  for (size_t s = 0; s < before.size(); ++s) moved += before[s] != after[s];
  EXPECT_LE(static_cast<double>(moved) / before.size(), 4.0 / 50 + 0.02);
}

TEST(MaglevTable, BuildsAreIdenticalWhateverTheConfigOrder) {
  const auto backends = MakeBackends(100, [](int i) { return 1u + i % 3; });
  const MaglevTable a = BuildOrDie(backends, 65537);
  const MaglevTable b = BuildOrDie(backends, 65537);
  EXPECT_EQ(a.slots(), b.slots());

  auto shuffled = backends;
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const MaglevTable c = BuildOrDie(shuffled, 65537);
  EXPECT_EQ(SlotKeys(a), SlotKeys(c));
  // Indexes refer to the caller's list, whatever its order.
  for (size_t s = 0; s < c.slots().size(); s += 997) {
    EXPECT_EQ(shuffled[c.slots()[s]].key, backends[a.slots()[s]].key);
  }
}

// Locks the table across builds, compilers and machines: every lb4 of a tier must compute exactly
// this. A change here re-shuffles every client of every deployment; do it only on purpose.
TEST(MaglevTable, GoldenTable) {
  const MaglevTable equal = BuildOrDie(MakeBackends(10), 65537);
  std::string keys;
  for (const auto& k : SlotKeys(equal)) keys += k + ",";
  EXPECT_EQ(Hash64(keys, 0), 0xabb5742824a12c3fULL);
  EXPECT_EQ(equal.Lookup(0), 2);
  EXPECT_EQ(equal.Lookup(Hash64("198.51.100.7", 0)), 1);

  const MaglevTable weighted = BuildOrDie(MakeBackends(10, [](int i) { return i + 1u; }), 65537);
  keys.clear();
  for (const auto& k : SlotKeys(weighted)) keys += k + ",";
  EXPECT_EQ(Hash64(keys, 0), 0x01055e02522dd30bULL);
}

TEST(MaglevTable, LookupUsesTheWholeHashRange) {
  MaglevTable t = BuildOrDie(MakeBackends(3), 7);
  EXPECT_EQ(t.SlotOf(0), 0u);
  EXPECT_EQ(t.SlotOf(~0ULL), 6u);
  EXPECT_EQ(t.SlotOf(0x8000000000000000ULL), 3u);
}

TEST(MaglevTable, LookupSkippingMovesOnlyTheRejectedBackendsHashes) {
  const MaglevTable t = BuildOrDie(MakeBackends(10), 65537);
  const int32_t down = 4;
  std::vector<int> moved_to(10, 0);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t h = rng();
    const int32_t first = t.Lookup(h);
    const int32_t skipped = t.LookupSkipping(h, [&](int32_t b) { return b != down; });
    ASSERT_NE(skipped, down);
    ASSERT_GE(skipped, 0);
    if (first != down) {
      EXPECT_EQ(skipped, first);  // everyone else keeps their backend
    } else {
      // The owner of the next slot not owned by `down`.
      uint32_t s = t.SlotOf(h);
      while (t.slots()[s] == down) s = (s + 1) % t.table_size();
      EXPECT_EQ(skipped, t.slots()[s]);
      ++moved_to[skipped];
    }
  }
  // The moved load spreads over all the others rather than landing on one neighbour.
  for (int b = 0; b < 10; ++b) {
    if (b != down) {
      EXPECT_GT(moved_to[b], 500) << b;
    }
  }
}

TEST(MaglevTable, LookupSkippingRejectingEverythingIsMinusOne) {
  const MaglevTable t = BuildOrDie(MakeBackends(5), 101);
  int calls = 0;
  EXPECT_EQ(t.LookupSkipping(12345,
                             [&](int32_t) {
                               ++calls;
                               return false;
                             }),
            -1);
  EXPECT_LE(calls, 101);
  EXPECT_EQ(t.LookupSkipping(12345, [](int32_t b) { return b == 3; }), 3);
}

}  // namespace
}  // namespace edge::hash
