#pragma once
// H2ConnectionPool: the HTTP/2 connections of one upstream server ([[upstream]] protocol = "h2c"
// or "h2"), shared by every request to that server. A new request's stream goes on the first
// connection with room (the server's SETTINGS_MAX_CONCURRENT_STREAMS, or kProvisionalStreams
// until its SETTINGS arrive); with none, on a new connection while there are fewer than
// max_connections; else it waits here, in order, until a stream ends somewhere (the request's own
// request_timeout bounds the wait). Connections stay open while the server keeps them; an idle
// one beyond the first is closed.
//
// The pool owns its connections and the streams waiting; a connection owns its open streams.
// The pool lives as long as its config generation, which every request using it holds.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "l7/upstream/h2_upstream_connection.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class H2ConnectionPool {
 public:
  // Opens the link of a new connection: a TCP connect (h2c) or TLS over it (h2).
  using LinkOpener = std::function<absl::StatusOr<UpstreamLink*>(
      UpstreamConnector& connector, const net::SocketAddress& server, UpstreamLink::Owner* owner)>;

  // `opener` null: the connector's TCP link as it is (h2c).
  H2ConnectionPool(const net::SocketAddress& server, std::string key, uint32_t max_connections,
                   uint64_t max_header_bytes, LinkOpener opener = nullptr);
  ~H2ConnectionPool();  // closes every connection (no request holds a stream by then)
  H2ConnectionPool(const H2ConnectionPool&) = delete;
  H2ConnectionPool& operator=(const H2ConnectionPool&) = delete;

  // A stream for a request with these fields (see H2Fields); its events go to `owner`;
  // `no_body`: the request ends with its HEADERS. An error when no connection exists and a new
  // one cannot even be started (nothing was made).
  absl::StatusOr<H2UpstreamStream*> Open(UpstreamConnector& connector, H2Fields fields,
                                         bool no_body, H2StreamOwner* owner);
  // Closes every connection (reload: the server left the config). Open streams fail.
  void CloseAll();

  const net::SocketAddress& server() const { return server_; }
  const std::string& key() const { return key_; }
  size_t connections() const;  // live ones
  size_t waiting() const { return waiting_.size(); }
  uint64_t connections_opened() const { return opened_; }

 private:
  friend class H2UpstreamConnection;
  friend class H2UpstreamStream;

  // A connection has room again (a stream ended, SETTINGS arrived): waiting streams go on.
  void OnRoom();
  // A connection died (`was_up`: it had spoken HTTP/2); it is freed outside its own callbacks.
  void OnConnectionDead(bool was_up);
  // A stream that waits here gives up.
  void Forget(H2UpstreamStream* stream);
  // Places `stream` on a connection with room, or a new one; false: it has to wait.
  bool Place(H2UpstreamStream* stream, absl::Status* error);
  void CollectDead();

  net::SocketAddress server_;
  std::string key_;
  uint32_t max_connections_;
  uint64_t max_header_bytes_;
  LinkOpener opener_;
  UpstreamConnector* connector_ = nullptr;  // the last one given to Open (the process's)
  std::vector<std::unique_ptr<H2UpstreamConnection>> connections_;
  std::deque<H2UpstreamStream*> waiting_;
  uint64_t opened_ = 0;
  int busy_ = 0;  // inside a connection's callbacks: dead connections are not freed now
  bool placing_ = false;
};

}  // namespace edge::l7
