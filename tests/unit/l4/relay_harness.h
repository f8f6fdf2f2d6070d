#pragma once
// What the fake-kernel tests of RelayConnection share (relay_connection_test.cc for the plain
// path, relay_tls_test.cc for TLS): a real Worker set up on the test's thread from a config, one
// client accepted on it (a real loopback socket), and the fake kernel
// (tests/unit/common/uring/fake_kernel.h) with helpers to find the relay's operations.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "l4/config.h"
#include "l4/runtime.h"
#include "l4/worker.h"
#include "tests/unit/common/uring/fake_kernel.h"

namespace edge::l4::testing {

using uring::testing::FakeKernel;
using uring::testing::TakenSqe;

inline bool IsSend(const TakenSqe& t) {
  return t.opcode() == IORING_OP_SEND || t.opcode() == IORING_OP_SENDMSG;
}

// The bytes of a send or a sendmsg (several queued buffers at once), as the kernel would read
// them: the vectors are the relay's, valid while the operation is in flight.
inline std::string SentBytes(const TakenSqe& t) {
  if (t.opcode() == IORING_OP_SEND) return std::string(t.send_data());
  const auto* msg = reinterpret_cast<const msghdr*>(t.sqe.addr);
  std::string out;
  for (size_t i = 0; i < msg->msg_iovlen; ++i) {
    out.append(static_cast<const char*>(msg->msg_iov[i].iov_base), msg->msg_iov[i].iov_len);
  }
  return out;
}

// One worker without a loop thread and one client accepted on its first listener: the relay's
// first operation (the connect to a backend) waits in the fake kernel.
class RelayHarness {
 public:
  explicit RelayHarness(const char* config_text) {
    auto config = ParseLb4Config(config_text, "edge.toml");
    EXPECT_TRUE(config.ok()) << config.status();
    auto runtime = BuildRuntime(*config);
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *runtime;
    worker_ = std::make_unique<Worker>(0, runtime_, &shared_, std::vector<ListenSocket>{});
    EXPECT_TRUE(worker_->SetupOnCallingThread().ok());
    kernel_ = std::make_unique<FakeKernel>(&worker_->loop());
    client_fd_ = uring::testing::AcceptedLoopbackSocket(&peer_);
    worker_->OnAccepted(client_fd_, runtime_->listeners[0], nullptr);
  }
  ~RelayHarness() {
    worker_.reset();
    close(peer_);
  }

  Worker& worker() { return *worker_; }
  FakeKernel& kernel() { return *kernel_; }
  uring::ProvidedBufferRing* ring() { return &worker_->buffers(); }
  int64_t live() { return worker_->live_connections(); }
  bool IsClient(const TakenSqe& t) const { return t.sqe.fd == client_fd_; }

  // The oldest SQE with this opcode not yet answered (the fake kernel keeps the others).
  TakenSqe Next(uint8_t opcode) { return kernel_->TakeFirst(opcode); }
  // The receive armed on the client's socket (or the backend's), if any.
  std::optional<TakenSqe> FindRecv(bool client) {
    return kernel_->TakeFirst([this, client](const TakenSqe& t) {
      return t.opcode() == IORING_OP_RECV && IsClient(t) == client;
    });
  }
  TakenSqe TakeRecv(bool client) {
    std::optional<TakenSqe> recv = FindRecv(client);
    EXPECT_TRUE(recv.has_value()) << "no receive armed on the " << (client ? "client" : "backend");
    return recv.value_or(TakenSqe{});
  }
  // The oldest send (or sendmsg) to the client (or the backend), if any.
  std::optional<TakenSqe> FindSend(bool client) {
    return kernel_->TakeFirst(
        [this, client](const TakenSqe& t) { return IsSend(t) && IsClient(t) == client; });
  }
  // Every SQE still unanswered completes as after shutdown(); the connection must be gone then.
  void FinishAll() { kernel_->CompleteAll(-ECANCELED); }

 private:
  SharedCounters shared_;
  std::shared_ptr<const Runtime> runtime_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<FakeKernel> kernel_;
  int peer_ = -1;
  int client_fd_ = -1;
};

}  // namespace edge::l4::testing
