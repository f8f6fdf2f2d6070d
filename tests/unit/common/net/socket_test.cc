// The socket set-up helpers: what every accepted connection relies on without a syscall of its own.

#include "common/net/socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace edge::net {
namespace {

int NoDelay(int fd) {
  int value = -1;
  socklen_t len = sizeof(value);
  EXPECT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &len), 0);
  return value;
}

// lb4 and gw7 set no TCP_NODELAY on accepted sockets: the listener's is copied into each one.
TEST(ListenTcp, AcceptedSocketsInheritTcpNoDelay) {
  for (const char* bind : {"127.0.0.1:0", "[::1]:0"}) {
    auto address = SocketAddress::Parse(bind);
    ASSERT_TRUE(address.ok());
    auto listener = ListenTcp(*address, ListenOptions{});
    if (!listener.ok() && !address->is_v4()) continue;  // no IPv6 on this machine
    ASSERT_TRUE(listener.ok()) << listener.status();
    EXPECT_NE(NoDelay(*listener), 0);
    SocketAddress bound = LocalAddress(*listener);
    auto client = NewTcpSocket(bound);
    ASSERT_TRUE(client.ok());
    EXPECT_NE(NoDelay(*client), 0) << "outgoing sockets set it themselves";
    ASSERT_EQ(connect(*client, bound.sockaddr_ptr(), bound.length()), 0);
    int accepted = accept(*listener, nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    EXPECT_NE(NoDelay(accepted), 0) << bind;
    close(accepted);
    close(*client);
    close(*listener);
  }
}

}  // namespace
}  // namespace edge::net
