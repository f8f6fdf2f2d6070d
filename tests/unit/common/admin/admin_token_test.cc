#include "common/admin/admin_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace edge::admin {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "s3cr3t-t0ken-0123456789";

// A file holding `content` with `mode`; removed when the test's object goes.
class TokenFile {
 public:
  TokenFile(const std::string& content, mode_t mode) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/edge_admin_token_" +
            std::to_string(::getpid()) + "_" + std::to_string(counter_++);
    std::ofstream(path_, std::ios::binary) << content;
    chmod(path_.c_str(), mode);
  }
  ~TokenFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

std::string Error(const absl::StatusOr<std::string>& result) {
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(result.status().message());
}

TEST(LoadAdminToken, ReadsOneTokenWithOrWithoutALineEnd) {
  for (const std::string& content :
       {std::string(kToken), std::string(kToken) + "\n", std::string(kToken) + "\r\n"}) {
    TokenFile file(content, 0600);
    auto token = LoadAdminToken(file.path());
    ASSERT_TRUE(token.ok()) << token.status();
    EXPECT_EQ(*token, kToken);
  }
  TokenFile group_readable(kToken, 0640);
  EXPECT_TRUE(LoadAdminToken(group_readable.path()).ok());
}

TEST(LoadAdminToken, RefusesAMissingFileAndADirectory) {
  EXPECT_THAT(Error(LoadAdminToken("/nonexistent/admin.token")),
              HasSubstr("cannot read /nonexistent/admin.token: No such file or directory"));
  EXPECT_THAT(Error(LoadAdminToken("/")), HasSubstr("/ is not a regular file"));
  EXPECT_THAT(Error(LoadAdminToken("")), HasSubstr("empty file name"));
}

TEST(LoadAdminToken, RefusesAFileOthersMayReadOrWrite) {
  TokenFile readable(kToken, 0644);
  EXPECT_THAT(Error(LoadAdminToken(readable.path())),
              HasSubstr("is readable by others (mode 0644)"));
  TokenFile writable(kToken, 0602);
  EXPECT_THAT(Error(LoadAdminToken(writable.path())), HasSubstr("is writable by others"));
}

TEST(LoadAdminToken, RefusesEmptyShortLongAndMultiWordTokens) {
  TokenFile empty("", 0600);
  EXPECT_THAT(Error(LoadAdminToken(empty.path())), HasSubstr("is empty"));
  TokenFile newline_only("\n", 0600);
  EXPECT_THAT(Error(LoadAdminToken(newline_only.path())), HasSubstr("is empty"));
  TokenFile short_token("short\n", 0600);
  EXPECT_THAT(Error(LoadAdminToken(short_token.path())),
              HasSubstr("the token has 5 characters, at least 16 are needed"));
  TokenFile spaced("two words are not a token\n", 0600);
  EXPECT_THAT(Error(LoadAdminToken(spaced.path())),
              HasSubstr("one line of visible ASCII characters without spaces (byte 4 is 0x20)"));
  TokenFile two_lines(std::string(kToken) + "\n" + kToken + "\n", 0600);
  EXPECT_THAT(Error(LoadAdminToken(two_lines.path())), HasSubstr("byte 24 is 0x0a"));
  TokenFile huge(std::string(kMaxAdminTokenLength + 1, 'a'), 0600);
  EXPECT_THAT(Error(LoadAdminToken(huge.path())), HasSubstr("longer than 4096 characters"));
  TokenFile longest(std::string(kMaxAdminTokenLength, 'a') + "\n", 0600);
  EXPECT_TRUE(LoadAdminToken(longest.path()).ok());
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals(kToken, kToken));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals(kToken, "s3cr3t-t0ken-012345678"));    // a prefix
  EXPECT_FALSE(ConstantTimeEquals(kToken, "s3cr3t-t0ken-01234567890"));  // longer
  EXPECT_FALSE(ConstantTimeEquals(kToken, "S3cr3t-t0ken-0123456789"));   // case
  EXPECT_FALSE(ConstantTimeEquals(kToken, ""));
}

net::SocketAddress Ip(const char* ip) {
  auto a = net::SocketAddress::ParseIp(ip, 4242);
  EXPECT_TRUE(a.ok()) << ip;
  return *a;
}

TEST(IsLoopback, KnowsTheLoopbackNetworks) {
  for (const char* ip : {"127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1",
                         "::ffff:127.9.8.7"}) {
    EXPECT_TRUE(IsLoopback(Ip(ip))) << ip;
  }
  for (const char* ip : {"10.0.0.1", "128.0.0.1", "126.255.255.255", "0.0.0.0", "192.168.1.1",
                         "::", "::2", "::ffff:10.0.0.1", "fe80::1", "::127.0.0.1", "2001:db8::1"}) {
    EXPECT_FALSE(IsLoopback(Ip(ip))) << ip;
  }
  EXPECT_FALSE(IsLoopback(net::SocketAddress()));
}

TEST(CheckControlAccess, WithoutATokenOnlyLoopbackMayChangeState) {
  const std::optional<std::string> none;
  EXPECT_EQ(CheckControlAccess(none, std::nullopt, Ip("127.0.0.1")), ControlAccess::kAllowed);
  EXPECT_EQ(CheckControlAccess(none, std::nullopt, Ip("::1")), ControlAccess::kAllowed);
  EXPECT_EQ(CheckControlAccess(none, std::nullopt, Ip("10.1.2.3")), ControlAccess::kNotLoopback);
  // A bearer token proves nothing when none is configured.
  EXPECT_EQ(CheckControlAccess(none, "Bearer anything", Ip("10.1.2.3")),
            ControlAccess::kNotLoopback);
  EXPECT_EQ(ControlAccessStatus(ControlAccess::kNotLoopback), 403);
}

TEST(CheckControlAccess, AConfiguredTokenIsRequiredFromEveryPeer) {
  const std::optional<std::string> token = std::string(kToken);
  const std::string bearer = std::string("Bearer ") + kToken;
  for (const char* ip : {"127.0.0.1", "10.1.2.3"}) {
    EXPECT_EQ(CheckControlAccess(token, bearer, Ip(ip)), ControlAccess::kAllowed) << ip;
    EXPECT_EQ(CheckControlAccess(token, std::nullopt, Ip(ip)), ControlAccess::kMissingToken);
    EXPECT_EQ(CheckControlAccess(token, "Bearer wrong-token-0123456789", Ip(ip)),
              ControlAccess::kWrongToken);
  }
  EXPECT_EQ(CheckControlAccess(token, std::string("bEaReR   ") + kToken, Ip("10.0.0.1")),
            ControlAccess::kAllowed);
  for (const std::string& bad :
       {std::string(kToken), std::string("Basic ") + kToken, std::string("Bearer"),
        std::string("Bearer "), std::string("Bearer\t") + kToken, std::string("Bearerx ") + kToken,
        std::string("")}) {
    EXPECT_EQ(CheckControlAccess(token, bad, Ip("127.0.0.1")), ControlAccess::kMissingToken) << bad;
  }
  EXPECT_EQ(CheckControlAccess(token, bearer + " ", Ip("127.0.0.1")), ControlAccess::kWrongToken);
  EXPECT_EQ(ControlAccessStatus(ControlAccess::kMissingToken), 401);
  EXPECT_EQ(ControlAccessStatus(ControlAccess::kWrongToken), 403);
}

}  // namespace
}  // namespace edge::admin
