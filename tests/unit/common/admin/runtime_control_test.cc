#include "common/admin/runtime_control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::admin {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<ControlCommand> Parse(std::string_view path, std::string_view query = "") {
  return ParseControlCommand("/backends", path, query, 10000);
}

TEST(IsControlPath, MatchesThePrefixAsAWholeSegment) {
  EXPECT_TRUE(IsControlPath("/backends", "/backends"));
  EXPECT_TRUE(IsControlPath("/backends", "/backends/"));
  EXPECT_TRUE(IsControlPath("/backends", "/backends/p/s/drain"));
  EXPECT_FALSE(IsControlPath("/backends", "/backendsx"));
  EXPECT_FALSE(IsControlPath("/backends", "/status"));
  EXPECT_FALSE(IsControlPath("/backends", "/"));
}

TEST(ParseControlCommand, ReadsTheThreeActions) {
  auto drain = Parse("/backends/gateways/127.0.0.1:8001/drain");
  ASSERT_TRUE(drain.ok()) << drain.status();
  EXPECT_EQ(drain->group, "gateways");
  EXPECT_EQ(drain->server, "127.0.0.1:8001");
  EXPECT_EQ(drain->action, ControlAction::kDrain);

  auto enable = Parse("/backends/gateways/127.0.0.1:8001/enable");
  ASSERT_TRUE(enable.ok()) << enable.status();
  EXPECT_EQ(enable->action, ControlAction::kEnable);

  auto weight = Parse("/backends/gateways/127.0.0.1:8001/weight", "value=250");
  ASSERT_TRUE(weight.ok()) << weight.status();
  EXPECT_EQ(weight->action, ControlAction::kWeight);
  EXPECT_EQ(weight->weight, 250u);
  EXPECT_EQ(std::string(ControlActionName(weight->action)), "weight");
}

TEST(ParseControlCommand, DecodesPercentEscapes) {
  auto v6 = Parse("/backends/my%2Dpool/%5B%3A%3A1%5D%3A8001/drain");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->group, "my-pool");
  EXPECT_EQ(v6->server, "[::1]:8001");
  auto raw = Parse("/backends/p/[::1]:8001/enable");
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_EQ(raw->server, "[::1]:8001");
  for (const char* bad : {"/backends/p/%zz/drain", "/backends/p/%4/drain", "/backends/p/%/drain",
                          "/backends/p%00/s/drain", "/backends/p/s%0a/drain"}) {
    auto r = Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ParseControlCommand, OtherShapesAndActionsAreNotFound) {
  for (const char* path :
       {"/backends", "/backends/", "/backends/p", "/backends/p/s", "/backends/p/s/",
        "/backends//s/drain", "/backends/p//drain", "/backends/p/s/drain/x", "/backends/p/s/DRAIN",
        "/backends/p/s/stop", "/status"}) {
    auto r = Parse(path);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << path;
  }
  EXPECT_THAT(std::string(Parse("/backends/p/s/stop").status().message()),
              HasSubstr("unknown action \"stop\": drain, enable or weight"));
}

TEST(ParseControlCommand, RefusesBadWeightsAndUnexpectedQueries) {
  const std::string path = "/backends/p/127.0.0.1:1/weight";
  for (const char* query :
       {"", "value=", "value=0", "value=-1", "value=10001", "value=1.5", "value=abc", "value= 5",
        "value=5&x=1", "weight=5", "value=99999999999", "value=4294967297"}) {
    auto r = Parse(path, query);
    ASSERT_FALSE(r.ok()) << query;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << query;
  }
  EXPECT_THAT(std::string(Parse(path, "value=0").status().message()), HasSubstr("use drain"));
  EXPECT_THAT(std::string(Parse(path, "value=10001").status().message()),
              HasSubstr("from 1 to 10000"));
  auto edge = Parse(path, "value=10000");
  ASSERT_TRUE(edge.ok());
  EXPECT_EQ(edge->weight, 10000u);
  auto r = Parse("/backends/p/s/drain", "now=1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

// ServeAdminRequest: the order of the checks and what each answer looks like.
class ServeTest : public ::testing::Test {
 protected:
  ServeTest() {
    control_.prefix = "/backends";
    control_.max_weight = 100;
    control_.program = "lb4";
    control_.token = [this] { return token_; };
    control_.apply = [this](const ControlCommand& command, const AdminRequest&) {
      applied_.push_back(command);
      return command.group == "p" ? JsonError(200, "applied") : JsonError(404, "no pool");
    };
    read_ = [this](std::string_view path) {
      reads_.emplace_back(path);
      AdminResponse r;
      r.body = "page";
      return r;
    };
  }

  AdminResponse Serve(std::string_view method, std::string_view path, std::string_view query = "",
                      std::optional<std::string_view> authorization = std::nullopt,
                      const char* peer = "127.0.0.1") {
    AdminRequest request;
    request.method = method;
    request.path = path;
    request.query = query;
    request.peer = *net::SocketAddress::ParseIp(peer, 5555);
    request.authorization = authorization;
    return ServeAdminRequest(request, control_, read_);
  }

  static std::string Header(const AdminResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  ControlEndpoint control_;
  AdminHandler read_;
  std::optional<std::string> token_;
  std::vector<ControlCommand> applied_;
  std::vector<std::string> reads_;
};

TEST_F(ServeTest, ReadPagesAnswerGetAndHeadOnly) {
  EXPECT_EQ(Serve("GET", "/status").status, 200);
  EXPECT_EQ(Serve("HEAD", "/metrics").status, 200);
  AdminResponse post = Serve("POST", "/status");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(Header(post, "Allow"), "GET, HEAD");
  EXPECT_EQ(reads_, (std::vector<std::string>{"/status", "/metrics"}));
}

TEST_F(ServeTest, ControlPathsAnswerPostOnly) {
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE"}) {
    AdminResponse r = Serve(method, "/backends/p/s/drain");
    EXPECT_EQ(r.status, 405) << method;
    EXPECT_EQ(Header(r, "Allow"), "POST");
  }
  EXPECT_TRUE(applied_.empty());
  EXPECT_TRUE(reads_.empty());
  EXPECT_EQ(Serve("POST", "/backends/p/s/drain").status, 200);
  ASSERT_EQ(applied_.size(), 1u);
  EXPECT_EQ(Serve("POST", "/backends/other/s/drain").status, 404);  // the program's lookup
}

TEST_F(ServeTest, WithoutATokenOnlyLoopbackPeersAreServed) {
  AdminResponse far = Serve("POST", "/backends/p/s/drain", "", std::nullopt, "192.0.2.7");
  EXPECT_EQ(far.status, 403);
  EXPECT_THAT(far.body, HasSubstr("not from loopback"));
  EXPECT_EQ(Serve("POST", "/backends/p/s/drain", "", std::nullopt, "::1").status, 200);
  EXPECT_EQ(applied_.size(), 1u);
  // Reading is not state-changing: any peer may.
  EXPECT_EQ(Serve("GET", "/status", "", std::nullopt, "192.0.2.7").status, 200);
}

TEST_F(ServeTest, AConfiguredTokenIsCheckedBeforeThePathIsLookedAt) {
  token_ = "0123456789abcdef0123";
  AdminResponse missing = Serve("POST", "/backends/p/s/drain");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(Header(missing, "WWW-Authenticate"), "Bearer realm=\"lb4 admin\"");
  EXPECT_EQ(Serve("POST", "/backends/p/s/drain", "", "Bearer wrong-wrong-wrong-wrong").status, 403);
  // An unknown pool or a bad weight stays hidden from whoever has no token.
  EXPECT_EQ(Serve("POST", "/backends/nope/s/drain", "", std::nullopt).status, 401);
  EXPECT_EQ(Serve("POST", "/backends/p/s/weight", "value=0", std::nullopt).status, 401);
  EXPECT_TRUE(applied_.empty());
  const std::string bearer = "Bearer " + *token_;
  EXPECT_EQ(Serve("POST", "/backends/p/s/weight", "value=7", bearer, "192.0.2.7").status, 200);
  ASSERT_EQ(applied_.size(), 1u);
  EXPECT_EQ(applied_[0].weight, 7u);
  EXPECT_EQ(Serve("POST", "/backends/p/s/weight", "value=101", bearer).status, 400);
  EXPECT_EQ(Serve("POST", "/backends/p/s/halt", "", bearer).status, 404);
  EXPECT_EQ(Serve("POST", "/backends", "", bearer).status, 404);
  EXPECT_EQ(applied_.size(), 1u);
}

}  // namespace
}  // namespace edge::admin
