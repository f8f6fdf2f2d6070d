// RelayConnection's mode = "tls_passthrough" (relay_connection.h): the client's ClientHello is
// read (not consumed: the bytes are forwarded first) to pick the pool by SNI before connecting.
// Whether they then go in clear or inside lb4's own TLS session is the chosen pool's [pool.tls]
// (StartRelay).

#include "common/log.h"
#include "common/uring/event_loop.h"
#include "l4/relay/relay_connection.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

void RelayConnection::StartSniff() {
  state_ = State::kSniffing;
  hello_ = std::make_unique<Hello>();
  hello_->parser.emplace(listener_->config.max_client_hello);
  worker_->loop().timers().Schedule(&timer_, start_ns_ + listener_->handshake_timeout_ns);
}

// A receive of ClientHello bytes (one ring buffer at a time, NextReceive): appended to hello_,
// since a hello may need several reads and the bytes must stay contiguous until they are
// forwarded; the buffer goes back at once.
void RelayConnection::OnSniff(const Buffer& buffer) {
  WorkerStats& stats = worker_->stats();
  stats.bytes_from_clients.Add(buffer.len);
  bytes_[kClient] += buffer.len;
  const size_t before = hello_->bytes.size();
  hello_->bytes.append(buffer.data, buffer.len);
  socket(kClient).ReleaseBuffer(buffer);
  tls::ClientHelloParser& parser = *hello_->parser;
  switch (parser.Feed(std::string_view(hello_->bytes).substr(before))) {
    case tls::ClientHelloParser::Result::kNeedMore:
      return;  // the socket receives again
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
  Connect();
}

}  // namespace edge::l4
