// ClientConnection, the tunnel after a protocol upgrade: once the upstream has answered an upgrade
// request with 101 and the codec has relayed the 101 (ProxyExchange::StartTunnel ->
// Http1Codec::EncodeUpgrade -> StartTunnel), the client connection and the upstream connection
// carry another protocol (WebSocket, ...) that gw7 does not parse. Bytes are copied as they come,
// each direction with the same backpressure as a body (the reader pauses while the other side has
// more than kHighWater queued); the client's EOF is passed on as a half-close, the upstream's EOF
// ends the tunnel once its last bytes have reached the client; idle_timeout without a byte either
// way closes both. The upstream connection is never returned to its pool.
#include <cstring>

#include "absl/time/time.h"
#include "common/log.h"
#include "l7/server/client_connection.h"
#include "l7/server/gateway_server.h"

namespace edge::l7 {

void ClientConnection::StartTunnel(UpstreamLink* link, std::string_view from_upstream,
                                   std::string from_client) {
  tunnel_ = link;
  tunnel_->set_owner(this);
  state_ = State::kTunnel;
  const int64_t now = server_->loop().now_ns();
  tunnel_activity_ns_ = now;
  timer_kind_ = TimerKind::kTunnel;
  server_->loop().timers().Schedule(
      &timer_, now + absl::ToInt64Nanoseconds(server_->runtime()->config.limits.idle_timeout));
  // Bytes that came right behind the 101, and those the client sent after its request.
  if (!from_upstream.empty()) TunnelToClient(from_upstream);
  if (!from_client.empty()) TunnelFromClient(from_client);
  if (socket_.peer_ended()) TunnelClientEof();
  if (state_ != State::kClosed) UpdateReading();
}

void ClientConnection::TunnelFromClient(std::string_view data) {
  tunnel_activity_ns_ = server_->loop().now_ns();
  if (tunnel_ != nullptr) tunnel_->Send(data);
}

void ClientConnection::TunnelToClient(std::string_view data) {
  tunnel_activity_ns_ = server_->loop().now_ns();
  Write(data);
  if (tunnel_ != nullptr && output_queued() > kHighWater) tunnel_->PauseRead();
}

void ClientConnection::TunnelClientEof() {
  // The client sends no more: pass the half-close on and keep relaying the upstream's bytes
  // until it closes too (or idle_timeout).
  if (tunnel_ == nullptr) {
    Close();
    return;
  }
  tunnel_->ShutdownWrite();
}

void ClientConnection::OnUpstreamData(UpstreamLink* c, std::string_view data) {
  if (c != tunnel_) return;
  BeginBatch();
  TunnelToClient(data);
  EndBatch();
}

void ClientConnection::OnUpstreamSendDrained(UpstreamLink* c) {
  if (c != tunnel_) return;
  if (state_ != State::kClosed) UpdateReading();
}

void ClientConnection::OnUpstreamClosed(UpstreamLink* c, int error) {
  if (c != tunnel_) return;
  tunnel_ = nullptr;
  if (error != 0) {
    // A reset may have lost bytes in flight: the client must not take the stream for complete.
    server_->stats().CountError("tunnel_upstream_reset");
    LOG_INFO("request %s: the upstream reset the tunnel (%s)",
             stream_ != nullptr ? stream_->request_id() : std::string_view(), strerror(-error));
    Close();
    return;
  }
  CloseAfterFlush();  // what the upstream sent reaches the client, then the connection ends
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
