#pragma once
// The TLS part of a RelayConnection (relay_connection.h), allocated only for a connection with
// TLS on a side, so that a plain relay does not carry it. Private to l4/relay.

#include <openssl/ssl.h>

#include <string>

#include "common/net/address.h"
#include "common/tls/transport.h"
#include "l4/balancer/backend.h"

namespace edge::l4 {

struct RelayTls {
  // transport[s]: the TLS session with side s (client: mode = "tls"; backend: [pool.tls]);
  // inactive for a plain side.
  tls::Transport transport[2];
  bool close_notified[2] = {false, false};           // a close_notify was queued towards side s
  PassiveFailure retry_why = PassiveFailure::kNone;  // kBackendRetry: why, for passive health
  const char* retry_what = "";
};

// A PROXY v2 header carrying what the client's handshake negotiated (ALPN, SNI, TLS version,
// cipher, client certificate CN) as TLVs.
std::string EncodeProxyV2WithTls(SSL* ssl, const net::SocketAddress& client,
                                 const net::SocketAddress& local);

}  // namespace edge::l4
