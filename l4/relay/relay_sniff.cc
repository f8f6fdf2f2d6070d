// RelayConnection's mode = "tls_passthrough" (relay_connection.h): the client's ClientHello is
// read (not consumed: the bytes are forwarded first) to pick the pool by SNI before connecting.
// Whether they then go in clear or inside lb4's own TLS session is the chosen pool's [pool.tls]
// (StartRelay).

#include <liburing.h>

#include "common/log.h"
#include "common/uring/event_loop.h"
#include "l4/relay/relay_connection.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
// One read of ClientHello bytes: most hellos arrive whole in the first one.
constexpr size_t kSniffReadSize = 4096;
}  // namespace

void RelayConnection::StartSniff() {
  state_ = State::kSniffing;
  hello_ = std::make_unique<Hello>();
  hello_->parser.emplace(listener_->config.max_client_hello);
  worker_->loop().timers().Schedule(&timer_, start_ns_ + listener_->handshake_timeout_ns);
  ArmSniff();
}

// A plain recv appending to hello_ (the provided ring's buffers are for the relay; a hello may
// need several reads, and the bytes must stay contiguous until they are forwarded).
void RelayConnection::ArmSniff() {
  hello_->bytes.resize(hello_->size + kSniffReadSize);
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_recv(sqe, fd_[kClient], hello_->bytes.data() + hello_->size, kSniffReadSize, 0);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kSniff));
  ++pending_ops_;
}

void RelayConnection::OnSniff(int32_t res) {
  --pending_ops_;
  if (state_ != State::kSniffing) {
    MaybeFinish();
    return;
  }
  WorkerStats& stats = worker_->stats();
  if (res <= 0) {
    if (res == 0) {
      stats.hello_eof.Add(1);
      Abort("client closed before its ClientHello was complete");
    } else {
      stats.errors.Add(1);
      Abort("client socket error before its ClientHello");
    }
    return;
  }
  stats.bytes_from_clients.Add(static_cast<uint64_t>(res));
  bytes_[kClient] += static_cast<uint64_t>(res);
  tls::ClientHelloParser& parser = *hello_->parser;
  auto result =
      parser.Feed(std::string_view(hello_->bytes.data() + hello_->size, static_cast<size_t>(res)));
  hello_->size += static_cast<size_t>(res);
  hello_->bytes.resize(hello_->size);
  switch (result) {
    case tls::ClientHelloParser::Result::kNeedMore:
      ArmSniff();
      return;
    case tls::ClientHelloParser::Result::kError:
      stats.hello_refused[static_cast<size_t>(parser.error())].Add(1);
      LOG_DEBUG("ClientHello refused (%s): %s", tls::HelloErrorName(parser.error()),
                parser.error_message());
      Abort("bad ClientHello");
      return;
    case tls::ClientHelloParser::Result::kDone:
      break;
  }
  const std::string& sni = parser.info().sni;
  Pool* routed = sni.empty() ? nullptr : listener_->routes.Find(sni);
  (routed != nullptr ? stats.hello_routed : stats.hello_default_pool).Add(1);
  if (routed != nullptr) pool_ = routed;
  if (listener_->access_log_sample > 0) sni_ = sni;
  connector_.Reset(pool_, &client_address_);
  hello_->parser.reset();
  worker_->loop().timers().Cancel(&timer_);
  state_ = State::kConnecting;
  Connect();
}

}  // namespace edge::l4
