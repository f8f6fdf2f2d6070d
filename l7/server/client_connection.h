#pragma once
// ClientConnection: one client's TCP connection to gw7: its socket (a StreamSocket,
// common/uring/stream_socket.h, which does the I/O), the codec that reads requests from it and
// writes responses to it (behind the ServerCodec interface, l7/codec/codec.h;
// every connection starts with Http1Codec, which reads the PROXY header), and the request streams
// on it (l7/stream/request_stream.h). Routing, filters and proxying are the streams' and their
// filters' business; this class moves bytes and keeps time.
//
// An idle keep-alive connection holds only this object (about 1 KiB; README.md has the measured
// figure): what a request needs comes from the loop (GatewayServer) while bytes are due and goes
// back when the connection is idle again:
// - Receive buffers: the socket receives one recv at a time (single_shot): one that expects
//   little (the next request head, or nothing) names no buffer; the kernel picks one from the
//   loop's provided buffer ring (client_buffers()) when bytes arrive, and it goes back to the ring
//   as soon as the codec has copied them (nothing points into it afterwards). The ring being
//   empty (-ENOBUFS) is not an error (counted): the next receive uses the socket's own 32 KiB
//   buffer, as do receives that follow a full one, inside a body or a tunnel, or with a head
//   begun (WantsLargeReceive; that buffer is freed at the next small receive).
// - Request streams: taken from the loop's pool (TakeStream) for a request and given back
//   (GiveStream) when the connection is idle, or when a stream a suspended filter held is
//   released; HTTP/1 uses one (stream_), a codec with concurrent streams takes more
//   (more_streams_). A stream is never deleted while its code may be on the stack.
// - Byte buffers (the socket's send queue, the codec's input and head copy): lent by the loop's
//   StringPool (common/uring/string_pool.h) when bytes come, returned once the connection is idle
//   with nothing queued. In steady state a keep-alive connection allocates nothing per request.
//
// Memory per connection is bounded: the receive buffers are fixed; the codec reads only while it
// wants input (backpressure towards the upstream, pipelined requests bounded), and a response
// producer pauses while more than kHighWater waits for the client.
//
// Timers: idle_timeout between requests, header_timeout while a head arrives (408), send_timeout
// while output waits for the client, a bounded linger after the last response, idle_timeout in a
// tunnel.
//
// After a relayed 101 (the codec's EncodeUpgrade), the connection is an opaque byte tunnel to the
// upstream connection (client_connection_tunnel.cc).
//
// Lifetime: owned by itself. Close() closes the socket; the object deletes itself once the socket
// is released (its last io_uring operation has completed), and not while a filter holds its
// stream suspended.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/net/address.h"
#include "common/uring/end_of_pass.h"
#include "common/uring/stream_socket.h"
#include "common/uring/timer_wheel.h"
#include "l7/codec/http1_codec.h"
#include "l7/codec/http2_codec.h"
#include "l7/stream/request_stream.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class GatewayServer;

class ClientConnection final : public ServerCodecCallbacks,
                               public StreamOwner,
                               public UpstreamLink::Owner,
                               private uring::StreamSocket::Handler {
 public:
  static constexpr size_t kHighWater = Http1Codec::kHighWater;
  static constexpr size_t kLowWater = Http1Codec::kLowWater;

  ClientConnection(GatewayServer* server, int fd, const net::SocketAddress& peer);
  void Start();
  // Instead of Start(), over max_connections: answers 503 (Retry-After: 1, Connection: close)
  // without reading a request, then closes.
  void Refuse();
  bool refused() const { return refused_; }
  // Drain: an idle connection closes now, a busy one after its current response.
  void OnDrain();
  // Closes at once (drain timeout, shutdown).
  void Abort();
  // Process shutdown, after the loop has stopped for good: frees the connection now.
  void DestroyAfterLoop();

  // ServerCodecCallbacks
  void Write(std::string_view data) override;
  size_t output_queued() const override { return socket_.queued(); }
  void BeginBatch() override { ++batch_depth_; }
  void EndBatch() override;
  void ReadMore() override;
  StreamDecoder* NewStream(StreamId id) override;
  void OnHeadBegun() override;
  void OnHeadEnded() override;
  void OnIdle() override;
  void CloseAfterFlush() override;
  void CloseNow() override { Close(); }
  void StartTunnel(UpstreamLink* link, std::string_view from_upstream,
                   std::string from_client) override;
  void StartHttp2(const StreamConnectionInfo& info, std::string input) override;

  // StreamOwner
  void OnStreamReleased(RequestStream* stream) override;

  // UpstreamLink::Owner: the tunnel's upstream connection.
  void OnUpstreamConnected(UpstreamLink*, int) override {}
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override;
  void OnUpstreamClosed(UpstreamLink* c, int error) override;
  void OnUpstreamSendDrained(UpstreamLink* c) override;

 private:
  enum class State : uint8_t {
    kOpen,    // the codec reads requests and writes responses
    kTunnel,  // after a relayed 101: bytes are copied both ways, opaque
    kDone,    // the last response is flushing; closing after it
    kLinger,  // write side shut; reading until EOF so the client gets our last bytes
    kClosed,
  };

  ~ClientConnection() override;

  // uring::StreamSocket::Handler
  void OnSocketConnected(int) override {}  // adopted: connected from the start
  void OnSocketData(std::string_view data) override;
  void OnSocketEnd(int error) override;
  void OnSocketSendDrained() override {}  // OnSocketSent does the work
  void OnSocketReleased() override;
  bool WantsLargeReceive() override;
  void OnSocketSent() override;
  void OnSocketRingEmpty() override;

  static void TimerThunk(void* self) { static_cast<ClientConnection*>(self)->OnTimer(); }
  static void SendTimerThunk(void* self) { static_cast<ClientConnection*>(self)->OnSendTimeout(); }
  static void FlushThunk(void* self) { static_cast<ClientConnection*>(self)->FlushOut(); }
  void OnTimer();
  void OnSendTimeout();

  // Reads while WantRead(), pauses the socket's receiving otherwise.
  void UpdateReading();
  bool WantRead() const;
  // Sends at the end of the loop's pass (end_of_pass.h): what every completion of the pass wrote
  // (HTTP/2: many streams' responses) leaves in one send; until then the socket is corked.
  void FlushAtEndOfPass();
  void FlushOut();
  void Close();
  void MaybeDestroy();
  bool AnyStreamHeld() const;
  // The streams no request uses go back to the server's pool (see the top of this file).
  void GiveBackStreams();
  void EnterLinger();
  void RestartIdleTimer();
  // Between requests with nothing queued: the send queue's buffers and the codec's input go
  // back to the server's StringPool.
  void ReleaseIdleBuffers();

  // The tunnel (client_connection_tunnel.cc).
  void TunnelFromClient(std::string_view data);
  void TunnelToClient(std::string_view data);
  void TunnelClientEof();
  void OnTunnelTimer();

  GatewayServer* server_;
  net::SocketAddress peer_;
  uring::StreamSocket socket_;
  int batch_depth_ = 0;  // Write() only queues; the outermost EndBatch flushes
  bool socket_released_ = false;
  bool refused_ = false;  // Refuse(): over max_connections
  State state_ = State::kOpen;
  enum class TimerKind : uint8_t {
    kNone,
    kIdle,
    kHeader,
    kLinger,
    kTunnel
  } timer_kind_ = TimerKind::kNone;  // what timer_ is armed for
  uring::Timer timer_;               // idle, header, linger, tunnel
  uring::EndOfPassTask flush_task_{&FlushThunk, this};
  // send_timeout, in every state: armed while output waits for the client. A send that moves
  // bytes only records the time (no wheel operation per send); the timer, when it fires, re-arms
  // itself for the last progress + send_timeout or closes.
  uring::Timer send_timer_;
  int64_t send_progress_ns_ = 0;
  UpstreamLink* tunnel_ = nullptr;  // the tunnel's upstream connection
  int64_t tunnel_activity_ns_ = 0;  // the last byte through the tunnel, either way
  // The first stream (HTTP/1's only one) and further concurrent ones; see the top of this file.
  std::unique_ptr<RequestStream> stream_;
  std::vector<std::unique_ptr<RequestStream>> more_streams_;
  Http1Codec http1_;
  std::unique_ptr<Http2Codec> http2_;  // after the HTTP/2 preface (or ALPN h2)
  ServerCodec* codec_;                 // the codec in charge: &http1_, or http2_
};

}  // namespace edge::l7
