#pragma once
// lb4's connection log ([lb4.access_log]): one JSON line per finished client connection,
// written by the process's LineSink thread (a full queue drops and counts lines; workers never
// wait on the disk). Sampled per connection at `sample`.
//
//   {"time":"2026-12-02T17:02:44.123456Z","listener":"web","mode":"tls","client":"10.0.0.7:51234",
//    "pool":"gateways","backend":"127.0.0.1:8001","bytes_in":517,"bytes_out":3120,
//    "duration_us":51234,"close":"client closed","tls_version":"TLSv1.3",
//    "tls_cipher":"TLS_AES_128_GCM_SHA256","sni":"api.example.com","alpn":"http/1.1",
//    "tls_resumed":false}
// time: when the connection was accepted. bytes_in: received from the client (ciphertext for
// tls), bytes_out: received from the backend (what is relayed to the client). close: why it
// ended (the first reason: "client closed", "backend closed", "idle timeout", a connect
// failure...). tls_*: mode = "tls" after a completed handshake, else null; sni: the client's
// server name (tls and tls_passthrough).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/log/line_sink.h"
#include "common/net/address.h"

namespace edge::l4 {

struct ConnectionRecord {
  int64_t start_unix_ns = 0;
  int64_t duration_ns = 0;
  std::string_view listener;
  std::string_view mode;  // tcp | tls | tls_passthrough
  const net::SocketAddress* client = nullptr;
  std::string_view pool;
  std::string_view backend;  // "" when no backend was connected
  uint64_t bytes_from_client = 0;
  uint64_t bytes_from_backend = 0;
  std::string_view close;
  std::string_view tls_version, tls_cipher, sni, alpn;
  std::optional<bool> tls_resumed;
};

std::string FormatConnectionRecord(const ConnectionRecord& record);

// Queues the record's line on `sink` when a per-thread sampler keeps it at `sample`. Any worker
// thread; `sink` may be null (log off).
void LogConnection(log::LineSink* sink, double sample, const ConnectionRecord& record);

// The wall clock now, in ns since the epoch (records carry it; the loops' clocks are monotonic).
int64_t WallClockNs();

}  // namespace edge::l4
