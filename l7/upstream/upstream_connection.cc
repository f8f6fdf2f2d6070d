#include "l7/upstream/upstream_connection.h"

namespace edge::l7 {

absl::StatusOr<UpstreamConnection*> UpstreamConnection::Connect(
    uring::EventLoop* loop, const net::SocketAddress& server, Owner* owner,
    uring::ProvidedBufferRing* buffers) {
  auto* c = new UpstreamConnection(loop, server, owner, buffers);
  if (absl::Status s = c->socket_.Connect(server); !s.ok()) {
    delete c;  // nothing was submitted
    return s;
  }
  return c;
}

UpstreamLink::Owner* UpstreamConnection::Detach() {
  Owner* owner = owner_;
  owner_ = nullptr;
  if (pool() != nullptr) pool()->Remove(this);
  return owner;
}

void UpstreamConnection::Close() {
  if (socket_.closed()) return;
  Detach();
  socket_.Close();
}

void UpstreamConnection::Ended(int error) {
  if (Owner* owner = Detach()) owner->OnUpstreamClosed(this, error);
}

void UpstreamConnection::OnSocketConnected(int error) {
  if (error < 0) {
    if (Owner* owner = Detach()) owner->OnUpstreamConnected(this, error);
    return;
  }
  if (owner_ != nullptr) owner_->OnUpstreamConnected(this, 0);
}

void UpstreamConnection::OnSocketData(std::string_view data) {
  if (owner_ == nullptr) {
    Close();  // unexpected bytes on an idle pooled connection: it is no longer usable
    return;
  }
  owner_->OnUpstreamData(this, data);
}

void UpstreamConnection::OnSocketSendDrained() {
  if (owner_ != nullptr) owner_->OnUpstreamSendDrained(this);
}

}  // namespace edge::l7
