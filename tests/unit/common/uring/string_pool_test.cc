// StringPool: buffers lent to connections while they hold bytes and taken back when they go
// idle. Checks that a loan keeps the borrower's bytes, that a return leaves the borrower holding
// nothing, and that what the pool keeps is bounded (large buffers and buffers beyond kMaxFree
// are freed, not kept).

#include "common/uring/string_pool.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::uring {
namespace {

std::string WithCapacity(size_t n) {
  std::string s;
  s.reserve(n);
  return s;
}

TEST(StringPoolTest, ReturnTakesTheStorageAndLendGivesItBack) {
  StringPool pool;
  std::string a = WithCapacity(1000);
  a = "bytes";
  const char* storage = a.data();
  pool.Return(&a);
  EXPECT_TRUE(a.empty());
  EXPECT_LE(a.capacity(), 15u);  // holds nothing of its own any more
  EXPECT_EQ(pool.free_count(), 1u);
  std::string b;
  pool.Lend(&b);
  EXPECT_EQ(b.data(), storage);
  EXPECT_TRUE(b.empty());  // the old bytes are gone
  EXPECT_EQ(pool.free_count(), 0u);
}

TEST(StringPoolTest, LendKeepsTheBorrowersBytes) {
  StringPool pool;
  std::string spare = WithCapacity(500);
  pool.Return(&spare);
  std::string s = "GET /";  // in the string's own bytes
  pool.Lend(&s);
  EXPECT_EQ(s, "GET /");
  EXPECT_GE(s.capacity(), 500u);
}

TEST(StringPoolTest, LendLeavesAStringWithStorageAlone) {
  StringPool pool;
  std::string spare = WithCapacity(500);
  pool.Return(&spare);
  std::string s = WithCapacity(100);
  const char* storage = s.data();
  pool.Lend(&s);
  EXPECT_EQ(s.data(), storage);
  EXPECT_EQ(pool.free_count(), 1u);
}

TEST(StringPoolTest, LendFromAnEmptyPoolIsANoOp) {
  StringPool pool;
  std::string s;
  pool.Lend(&s);
  EXPECT_LE(s.capacity(), 15u);
  s.append(100, 'x');  // allocates its own, as without a pool
  EXPECT_EQ(s.size(), 100u);
}

TEST(StringPoolTest, NothingToReturnWithoutStorage) {
  StringPool pool;
  std::string s = "short";
  pool.Return(&s);
  EXPECT_EQ(pool.free_count(), 0u);
  EXPECT_TRUE(s.empty());
}

TEST(StringPoolTest, LargeBuffersAreFreedNotKept) {
  StringPool pool;
  std::string big = WithCapacity(StringPool::kMaxCapacity + 1);
  pool.Return(&big);
  EXPECT_EQ(pool.free_count(), 0u);
  EXPECT_LE(big.capacity(), 15u);
}

TEST(StringPoolTest, KeepsAtMostMaxFree) {
  StringPool pool;
  for (size_t i = 0; i < StringPool::kMaxFree + 10; ++i) {
    std::string s = WithCapacity(64);
    pool.Return(&s);
    EXPECT_LE(s.capacity(), 15u);
  }
  EXPECT_EQ(pool.free_count(), StringPool::kMaxFree);
}

}  // namespace
}  // namespace edge::uring
