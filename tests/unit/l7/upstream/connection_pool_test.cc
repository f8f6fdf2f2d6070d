#include "l7/upstream/connection_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::l7 {
namespace {

class FakeConnection : public IdleConnection {
 public:
  void CloseIdle() override { ++closed; }
  int closed = 0;
};

TEST(ConnectionPoolTest, EmptyPoolHasNothingToGive) {
  ConnectionPool pool(4);
  EXPECT_EQ(pool.Take(), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST(ConnectionPoolTest, TakesTheMostRecentlyReturnedFirst) {
  ConnectionPool pool(4);
  FakeConnection a, b;
  pool.Put(&a);
  pool.Put(&b);
  EXPECT_TRUE(a.idle());
  EXPECT_EQ(pool.Take(), &b);
  EXPECT_FALSE(b.idle());
  EXPECT_EQ(pool.Take(), &a);
  EXPECT_EQ(pool.Take(), nullptr);
  EXPECT_EQ(pool.reused(), 2u);
  EXPECT_EQ(a.closed + b.closed, 0);
}

TEST(ConnectionPoolTest, ClosesWhatDoesNotFit) {
  ConnectionPool pool(2);
  FakeConnection c[3];
  for (auto& x : c) pool.Put(&x);
  EXPECT_EQ(pool.idle_count(), 2u);
  EXPECT_EQ(c[0].closed, 0);
  EXPECT_EQ(c[1].closed, 0);
  EXPECT_EQ(c[2].closed, 1);
  EXPECT_FALSE(c[2].idle());
}

TEST(ConnectionPoolTest, ZeroSizeMeansNoKeepAlive) {
  ConnectionPool pool(0);
  FakeConnection a;
  pool.Put(&a);
  EXPECT_EQ(a.closed, 1);
  EXPECT_EQ(pool.Take(), nullptr);
}

TEST(ConnectionPoolTest, RemoveForgetsADeadConnection) {
  ConnectionPool pool(4);
  FakeConnection a, b, stranger;
  pool.Put(&a);
  pool.Put(&b);
  pool.Remove(&a);
  EXPECT_FALSE(a.idle());
  pool.Remove(&stranger);  // not ours: no-op
  EXPECT_EQ(pool.idle_count(), 1u);
  EXPECT_EQ(pool.Take(), &b);
  EXPECT_EQ(pool.Take(), nullptr);
}

TEST(ConnectionPoolTest, DestructionClosesIdleConnections) {
  FakeConnection a, b;
  {
    ConnectionPool pool(4);
    pool.Put(&a);
    pool.Put(&b);
  }
  EXPECT_EQ(a.closed, 1);
  EXPECT_EQ(b.closed, 1);
  EXPECT_FALSE(a.idle());
}

TEST(ConnectionPoolTest, ConnectionsAreNotSharedBetweenPools) {
  ConnectionPool p1(4), p2(4);
  FakeConnection a;
  p1.Put(&a);
  EXPECT_EQ(a.pool(), &p1);
  p2.Remove(&a);
  EXPECT_EQ(p1.idle_count(), 1u);
  EXPECT_EQ(p1.Take(), &a);
}

}  // namespace
}  // namespace edge::l7
