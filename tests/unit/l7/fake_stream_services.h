#pragma once
// Test doubles for gw7's request path without sockets: StreamServices with a manual clock, an
// UpstreamConnector whose links record what the proxy sends and let the test play the server.

#include <cerrno>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "l7/config/gateway_config.h"
#include "l7/server/gateway_runtime.h"
#include "l7/stream/stream_services.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7::testing {

// One upstream connection as the proxy sees it; the test answers through owner().
class FakeLink final : public UpstreamLink {
 public:
  explicit FakeLink(const net::SocketAddress& server, Owner* owner)
      : server_(server), owner_(owner) {}
  void set_owner(Owner* owner) override { owner_ = owner; }
  void Send(std::string_view data) override {
    if (!closed_) sent.append(data);
  }
  void Cork() override {}
  void Uncork() override {}
  size_t queued() const override { return queued_bytes; }
  void PauseRead() override { paused = true; }
  void ResumeRead() override { paused = false; }
  void ShutdownWrite() override { write_shut = true; }
  void Close() override {
    closed_ = true;
    owner_ = nullptr;
  }
  void CloseIdle() override { Close(); }
  bool connected() const override { return connected_; }
  bool closed() const override { return closed_; }
  void CountRequest() override { ++requests; }
  const net::SocketAddress& server() const override { return server_; }

  Owner* owner() const { return owner_; }
  // Plays the server: the connect completes, bytes arrive, the server closes.
  void Connected(int error = 0) {
    connected_ = error == 0;
    if (owner_ != nullptr) owner_->OnUpstreamConnected(this, error);
  }
  void Respond(std::string_view bytes) {
    if (owner_ != nullptr) owner_->OnUpstreamData(this, bytes);
  }
  void ServerClosed(int error = 0) {
    closed_ = true;
    Owner* o = owner_;
    owner_ = nullptr;
    if (o != nullptr) o->OnUpstreamClosed(this, error);
  }

  std::string sent;
  size_t queued_bytes = 0;
  bool paused = false;
  bool write_shut = false;
  int requests = 0;

 private:
  net::SocketAddress server_;
  Owner* owner_;
  bool connected_ = false;
  bool closed_ = false;
};

class FakeConnector final : public UpstreamConnector {
 public:
  absl::StatusOr<UpstreamLink*> Connect(const net::SocketAddress& server,
                                        UpstreamLink::Owner* owner) override {
    if (refuse) return absl::UnavailableError("refused by the test");
    links.push_back(std::make_unique<FakeLink>(server, owner));
    return links.back().get();
  }
  bool refuse = false;
  std::vector<std::unique_ptr<FakeLink>> links;
};

// Builds the runtime from a gateway.toml text (the test fails on a bad one).
class FakeServices final : public StreamServices {
 public:
  explicit FakeServices(std::string_view toml) : ids_(42) {
    auto config = ParseGatewayConfig(toml, "test.toml");
    if (!config.ok()) {
      error = config.status();
      return;
    }
    auto rt = BuildGatewayRuntime(std::move(*config), FilterEnvironment{}, nullptr);
    if (!rt.ok()) {
      error = rt.status();
      return;
    }
    runtime_ = std::move(*rt);
  }
  int64_t now_ns() const override { return now_; }
  uring::TimerWheel& timers() override { return wheel_; }
  GatewayStats& stats() override { return stats_; }
  RequestIdGenerator& request_ids() override { return ids_; }
  const std::shared_ptr<GatewayRuntime>& runtime() const override { return runtime_; }
  UpstreamConnector& upstream_connector() override { return connector; }

  // Moves the clock, firing due timers.
  void Advance(int64_t ns) {
    now_ += ns;
    wheel_.Advance(now_);
  }
  uint64_t errors(std::string_view kind) const {
    auto it = stats_.errors.find(kind);
    return it == stats_.errors.end() ? 0 : it->second;
  }

  absl::Status error;
  FakeConnector connector;

 private:
  int64_t now_ = 1'000'000'000;
  uring::TimerWheel wheel_{1'000'000'000};
  GatewayStats stats_;
  RequestIdGenerator ids_;
  std::shared_ptr<GatewayRuntime> runtime_;
};

}  // namespace edge::l7::testing
