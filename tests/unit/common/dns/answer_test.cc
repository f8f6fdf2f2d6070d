#include "common/dns/answer.h"

#include <gtest/gtest.h>

namespace edge::dns {
namespace {

net::SocketAddress A(const char* text) { return *net::SocketAddress::Parse(text); }
net::SocketAddress Ip(const char* ip) { return *net::SocketAddress::ParseIp(ip, 0); }

TEST(Normalize, SortsAndMergesDuplicates) {
  auto out = Normalize({{A("127.0.0.3:80"), 1}, {A("127.0.0.2:80"), 2}, {A("127.0.0.3:80"), 4}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (Endpoint{A("127.0.0.2:80"), 2}));
  EXPECT_EQ(out[1], (Endpoint{A("127.0.0.3:80"), 5}));
  auto capped = Normalize({{A("127.0.0.3:80"), 9000}, {A("127.0.0.3:80"), 9000}});
  EXPECT_EQ(capped[0].weight, kMaxEndpointWeight);
}

TEST(EndpointsFromSrv, LowestPriorityGroupWithPortsAndWeights) {
  std::vector<SrvRecord> records = {
      {"a.internal", 9001, 10, 30}, {"b.internal", 9002, 10, 10}, {"c.internal", 9003, 20, 50}};
  std::map<std::string, std::vector<net::SocketAddress>> addresses = {
      {"a.internal", {Ip("127.0.0.5")}},
      {"b.internal", {Ip("127.0.0.6"), Ip("127.0.0.7")}},
      {"c.internal", {Ip("127.0.0.8")}}};
  auto out = EndpointsFromSrv(records, addresses);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], (Endpoint{A("127.0.0.5:9001"), 30}));
  EXPECT_EQ(out[1], (Endpoint{A("127.0.0.6:9002"), 10}));
  EXPECT_EQ(out[2], (Endpoint{A("127.0.0.7:9002"), 10}));
}

TEST(EndpointsFromSrv, UnresolvedGroupFallsBackToTheNextPriority) {
  std::vector<SrvRecord> records = {{"a.internal", 9001, 0, 5}, {"c.internal", 9003, 1, 5}};
  std::map<std::string, std::vector<net::SocketAddress>> addresses = {
      {"c.internal", {Ip("127.0.0.8")}}};
  auto out = EndpointsFromSrv(records, addresses);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].address, A("127.0.0.8:9003"));
}

TEST(EndpointsFromSrv, ZeroWeightsAndScaling) {
  std::map<std::string, std::vector<net::SocketAddress>> addresses = {
      {"a.internal", {Ip("127.0.0.5")}}, {"b.internal", {Ip("127.0.0.6")}}};
  // All zero: equal.
  auto zero = EndpointsFromSrv({{"a.internal", 1, 0, 0}, {"b.internal", 2, 0, 0}}, addresses);
  EXPECT_EQ(zero[0].weight, 1u);
  EXPECT_EQ(zero[1].weight, 1u);
  // Above the config's maximum: scaled, ratio kept, never 0.
  auto big = EndpointsFromSrv({{"a.internal", 1, 0, 65535}, {"b.internal", 2, 0, 1}}, addresses);
  EXPECT_EQ(big[0].weight, kMaxEndpointWeight);
  EXPECT_EQ(big[1].weight, 1u);
  auto half =
      EndpointsFromSrv({{"a.internal", 1, 0, 60000}, {"b.internal", 2, 0, 30000}}, addresses);
  EXPECT_EQ(half[0].weight, 10000u);
  EXPECT_EQ(half[1].weight, 5000u);
}

TEST(EndpointsFromSrv, NothingResolvedIsEmpty) {
  EXPECT_TRUE(EndpointsFromSrv({{"a.internal", 1, 0, 1}}, {}).empty());
  EXPECT_TRUE(EndpointsFromSrv({}, {}).empty());
  // Port 0 cannot be connected to: such a record is skipped.
  EXPECT_TRUE(
      EndpointsFromSrv({{"a.internal", 0, 0, 1}}, {{"a.internal", {Ip("127.0.0.5")}}}).empty());
}

TEST(Diff, AddedRemovedReweighted) {
  std::vector<Endpoint> before = {
      {A("127.0.0.2:80"), 1}, {A("127.0.0.3:80"), 1}, {A("127.0.0.4:80"), 1}};
  std::vector<Endpoint> after = {
      {A("127.0.0.3:80"), 3}, {A("127.0.0.4:80"), 1}, {A("127.0.0.5:80"), 1}};
  EndpointDiff d = Diff(before, after);
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].address, A("127.0.0.5:80"));
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].address, A("127.0.0.2:80"));
  ASSERT_EQ(d.reweighted.size(), 1u);
  EXPECT_EQ(d.reweighted[0], (Endpoint{A("127.0.0.3:80"), 3}));
  EXPECT_EQ(DescribeDiff(d), "+127.0.0.5:80 -127.0.0.2:80 ~127.0.0.3:80(w=3)");
  EXPECT_TRUE(Diff(after, after).empty());
  EXPECT_EQ(Diff({}, after).added.size(), 3u);
}

}  // namespace
}  // namespace edge::dns
