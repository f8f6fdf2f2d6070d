// ClientConnection, the tunnel after a protocol upgrade: once the upstream has answered an upgrade
// request with 101 and the 101 has been relayed, the two connections carry another protocol
// (WebSocket, ...) that gw7 does not parse. Bytes are copied as they come, each direction with
// the same backpressure as a body (the reader pauses while the other side has more than
// kHighWater queued); the client's EOF is passed on as a half-close, the upstream's EOF ends the
// tunnel once its last bytes have reached the client; idle_timeout without a byte either way
// closes both. The upstream connection is never returned to its pool.
#include <cstring>

#include "absl/time/time.h"
#include "common/log.h"
#include "l7/server/client_connection.h"
#include "l7/server/gateway_server.h"

namespace edge::l7 {

void ClientConnection::StartTunnel(size_t head_bytes) {
  KeepResponseHead(head_bytes);
  response_head_done_ = true;
  response_status_ = response_.status;
  const int64_t now = server_->loop().now_ns();
  UpstreamRuntime* up = route_->upstream;
  server_->stats().ObserveLatency(up->config->name,
                                  static_cast<double>(now - attempt_start_ns_) / 1e9);
  EndAttempt(true);
  server_->loop().timers().Cancel(&request_timer_);
  for (auto& f : route_->filters) f->OnResponse(*filter_ctx_, response_.status);

  ClientResponseOptions options;
  options.upgrade = true;
  options.client_version = request_.version;
  options.request_id = request_id_;
  options.extra_headers = &filter_ctx_->response_headers;
  std::string head;
  AppendClientResponseHead(response_, options, &head);
  Write(head);
  response_started_ = true;
  server_->stats().CountResponse(route_name(), response_.status);

  // The upstream connection now speaks another protocol: it ends with the tunnel.
  pool_server_ = nullptr;
  close_after_response_ = true;
  state_ = State::kTunnel;
  tunnel_activity_ns_ = now;
  timer_kind_ = TimerKind::kTunnel;
  server_->loop().timers().Schedule(
      &timer_, now + absl::ToInt64Nanoseconds(server_->runtime()->config.limits.idle_timeout));
  // Bytes that came right behind the 101, and those the client sent after its request.
  if (!up_in_.empty()) {
    TunnelToClient(up_in_);
    up_in_.clear();
  }
  TunnelFromClient();
  if (read_eof_) TunnelClientEof();
  if (state_ != State::kClosed) ArmRecv();
}

void ClientConnection::TunnelFromClient() {
  if (in_.empty()) return;
  tunnel_activity_ns_ = server_->loop().now_ns();
  if (upstream_ != nullptr) upstream_->Send(in_);
  in_.clear();
}

void ClientConnection::TunnelToClient(std::string_view data) {
  tunnel_activity_ns_ = server_->loop().now_ns();
  Write(data);
  if (upstream_ != nullptr && out_queued() > kHighWater) upstream_->PauseRead();
}

void ClientConnection::TunnelClientEof() {
  // The client sends no more: pass the half-close on and keep relaying the upstream's bytes
  // until it closes too (or idle_timeout).
  if (upstream_ == nullptr) {
    Close();
    return;
  }
  upstream_->ShutdownWrite();
}

void ClientConnection::TunnelUpstreamClosed(int error) {
  if (error != 0) {
    // A reset may have lost bytes in flight: the client must not take the stream for complete.
    server_->stats().CountError("tunnel_upstream_reset");
    LOG_INFO("request %s: the upstream reset the tunnel (%s)", request_id_, strerror(-error));
    Close();
    return;
  }
  FinishAfterFlush();  // what the upstream sent reaches the client, then the connection ends
}

void ClientConnection::OnTunnelTimer() {
  const int64_t timeout = absl::ToInt64Nanoseconds(server_->runtime()->config.limits.idle_timeout);
  const int64_t now = server_->loop().now_ns();
  if (now - tunnel_activity_ns_ < timeout) {
    // Bytes moved since the timer was set: wait for the rest of the idle period.
    timer_kind_ = TimerKind::kTunnel;
    server_->loop().timers().Schedule(&timer_, tunnel_activity_ns_ + timeout);
    return;
  }
  server_->stats().CountError("tunnel_idle");
  Close();
}

}  // namespace edge::l7
