#include "l7/upstream/h2_connection_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_format.h"

namespace edge::l7 {

H2ConnectionPool::H2ConnectionPool(const net::SocketAddress& server, std::string key,
                                   uint32_t max_connections, uint64_t max_header_bytes,
                                   LinkOpener opener)
    : server_(server),
      key_(std::move(key)),
      max_connections_(std::max<uint32_t>(1, max_connections)),
      max_header_bytes_(max_header_bytes),
      opener_(std::move(opener)) {}

H2ConnectionPool::~H2ConnectionPool() {
  for (H2UpstreamStream* s : waiting_) delete s;
  waiting_.clear();
  ++busy_;  // no re-placing while everything goes
  for (auto& c : connections_) c->Close("upstream_closed", "gateway configuration retired", true);
  connections_.clear();
}

size_t H2ConnectionPool::connections() const {
  size_t n = 0;
  for (const auto& c : connections_) n += c->dead() ? 0 : 1;
  return n;
}

void H2ConnectionPool::CollectDead() {
  if (busy_ > 0) return;
  std::erase_if(connections_,
                [](const std::unique_ptr<H2UpstreamConnection>& c) { return c->dead(); });
}

absl::StatusOr<H2UpstreamStream*> H2ConnectionPool::Open(UpstreamConnector& connector,
                                                         H2Fields fields, bool no_body,
                                                         H2StreamOwner* owner) {
  connector_ = &connector;
  CollectDead();
  auto* stream = new H2UpstreamStream(this, std::move(fields), owner);
  stream->local_end_ = no_body;
  absl::Status error;
  if (!waiting_.empty() || !Place(stream, &error)) {
    if (!error.ok() && connections() == 0) {
      delete stream;
      return error;
    }
    waiting_.push_back(stream);  // room comes when a stream ends (or a connection is made)
  }
  return stream;
}

bool H2ConnectionPool::Place(H2UpstreamStream* stream, absl::Status* error) {
  // The busiest connection with room first: requests gather on few connections, and idle ones
  // can be closed.
  H2UpstreamConnection* best = nullptr;
  for (auto& c : connections_) {
    if (c->Room() == 0) continue;
    if (best == nullptr || c->streams() > best->streams()) best = c.get();
  }
  if (best == nullptr && connections() < max_connections_ && connector_ != nullptr) {
    auto connection = std::make_unique<H2UpstreamConnection>(this, max_header_bytes_);
    absl::StatusOr<UpstreamLink*> link = opener_ ? opener_(*connector_, server_, connection.get())
                                                 : connector_->Connect(server_, connection.get());
    if (!link.ok()) {
      *error = absl::UnavailableError(
          absl::StrFormat("cannot connect to %s: %s", key_, link.status().message()));
      return false;
    }
    ++opened_;
    best = connection.get();
    connections_.push_back(std::move(connection));
    best->Start(*link);
  }
  if (best == nullptr) return false;
  best->Attach(stream);
  return true;
}

void H2ConnectionPool::OnRoom() {
  if (placing_) return;
  placing_ = true;
  absl::Status error;
  while (!waiting_.empty()) {
    H2UpstreamStream* s = waiting_.front();
    waiting_.pop_front();
    if (!Place(s, &error)) {
      waiting_.push_front(s);
      break;
    }
  }
  placing_ = false;
  // An idle connection beyond the first is not kept: load that needed it has gone.
  size_t idle_seen = 0;
  for (auto& c : connections_) {
    if (c->dead() || c->streams() > 0 || !c->connected()) continue;
    if (++idle_seen > 1 && busy_ == 0) c->Close("upstream_closed", "idle", true);
  }
}

void H2ConnectionPool::OnConnectionDead(bool was_up) {
  // A connection that worked and ended (GOAWAY, idle close by the server): waiting streams may
  // open one in its place. One that never came up: the server is not reachable now, so the
  // streams waiting for it fail at once (their requests try another server) instead of
  // reconnecting in a loop until their timeouts.
  if (waiting_.empty()) return;
  if (was_up) OnRoom();
  if (!was_up || (connections() == 0 && !waiting_.empty())) {
    std::deque<H2UpstreamStream*> failed;
    failed.swap(waiting_);
    for (H2UpstreamStream* s : failed) {
      H2StreamOwner* owner = s->owner_;
      delete s;
      if (owner != nullptr) {
        owner->OnH2Failed("connect_failed", absl::StrFormat("no connection to %s", key_), true);
      }
    }
  }
}

void H2ConnectionPool::Forget(H2UpstreamStream* stream) {
  auto it = std::find(waiting_.begin(), waiting_.end(), stream);
  if (it != waiting_.end()) waiting_.erase(it);
  delete stream;
}

void H2ConnectionPool::CloseAll() {
  ++busy_;
  for (auto& c : connections_) c->Close("upstream_closed", "server removed", true);
  --busy_;
}

}  // namespace edge::l7
