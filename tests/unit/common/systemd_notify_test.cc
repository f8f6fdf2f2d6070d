// sd_notify without libsystemd: $NOTIFY_SOCKET parsing and the datagrams, received on sockets
// this test owns (a path and an abstract name).
#include "common/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace edge::systemd {
namespace {

// A bound unix datagram socket that receives what Notify() sends.
class Receiver {
 public:
  explicit Receiver(const std::string& name) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto a = ParseNotifySocket(name);
    EXPECT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(bind(fd_, reinterpret_cast<const sockaddr*>(&a->address), a->length), 0)
        << strerror(errno);
    if (name[0] == '/') path_ = name;
  }
  ~Receiver() {
    close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }
  // The next datagram; the sender has already sent it, so a blocking read returns at once.
  std::string Next() {
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  std::string path_;
};

class NotifyTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("NOTIFY_SOCKET"); }
};

TEST(ParseNotifySocketTest, AcceptsPathsAndAbstractNames) {
  auto path = ParseNotifySocket("/run/systemd/notify");
  ASSERT_TRUE(path.ok());
  EXPECT_STREQ(path->address.sun_path, "/run/systemd/notify");
  EXPECT_EQ(path->length, offsetof(sockaddr_un, sun_path) + 20);  // with its NUL

  auto abstract = ParseNotifySocket("@edge/notify");
  ASSERT_TRUE(abstract.ok());
  EXPECT_EQ(abstract->address.sun_path[0], '\0');
  EXPECT_EQ(std::string(abstract->address.sun_path + 1, 11), "edge/notify");
  EXPECT_EQ(abstract->length, offsetof(sockaddr_un, sun_path) + 12);  // no NUL after the name
}

TEST(ParseNotifySocketTest, RefusesWhatIsNotAUnixSocketName) {
  EXPECT_FALSE(ParseNotifySocket("").ok());
  EXPECT_FALSE(ParseNotifySocket("@").ok());
  EXPECT_FALSE(ParseNotifySocket("run/notify").ok());
  EXPECT_FALSE(ParseNotifySocket("vsock:2:1234").ok());
  EXPECT_FALSE(ParseNotifySocket("/" + std::string(sizeof(sockaddr_un::sun_path), 'x')).ok());
  EXPECT_TRUE(ParseNotifySocket("/" + std::string(sizeof(sockaddr_un::sun_path) - 2, 'x')).ok());
  EXPECT_TRUE(ParseNotifySocket("@" + std::string(sizeof(sockaddr_un::sun_path) - 1, 'x')).ok());
}

TEST_F(NotifyTest, WithoutNotifySocketNothingIsSent) {
  unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(Notify("READY=1").ok());
  setenv("NOTIFY_SOCKET", "", 1);
  EXPECT_TRUE(Notify("READY=1").ok());
}

TEST_F(NotifyTest, SendsToAPath) {
  char dir[] = "/tmp/edge-notify-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/notify";
  {
    Receiver r(path);
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    ASSERT_TRUE(Notify("READY=1\nSTATUS=up\n").ok());
    EXPECT_EQ(r.Next(), "READY=1\nSTATUS=up\n");
  }
  rmdir(dir);
}

TEST_F(NotifyTest, SendsToAnAbstractName) {
  const std::string name = absl::StrFormat("@edge-notify-test-%d-%p", getpid(), this);
  Receiver r(name);
  setenv("NOTIFY_SOCKET", name.c_str(), 1);
  NotifyReady("serving\n2 listeners");
  EXPECT_EQ(r.Next(), "READY=1\nSTATUS=serving 2 listeners\n");
  NotifyReloading("reloading");
  const std::string reloading = r.Next();
  EXPECT_TRUE(reloading.starts_with("RELOADING=1\nMONOTONIC_USEC=")) << reloading;
  EXPECT_TRUE(reloading.ends_with("\nSTATUS=reloading\n")) << reloading;
  NotifyStopping("draining");
  EXPECT_EQ(r.Next(), "STOPPING=1\nSTATUS=draining\n");
}

TEST_F(NotifyTest, ReportsAnUnreachableSocket) {
  setenv("NOTIFY_SOCKET", "/nonexistent-dir-for-edge/notify", 1);
  absl::Status s = Notify("READY=1\n");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir-for-edge/notify"), std::string::npos);
  setenv("NOTIFY_SOCKET", "relative", 1);
  EXPECT_FALSE(Notify("READY=1\n").ok());
}

}  // namespace
}  // namespace edge::systemd
