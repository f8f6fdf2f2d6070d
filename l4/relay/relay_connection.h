#pragma once
// RelayConnection: one client connection relayed to one backend, both directions, on one worker.
// Each side is a uring::StreamSocket (common/uring/stream_socket.h) in its keep_buffers mode: the
// socket does the receiving, the send queue, half-close, closing and the lifetime (the
// connection ends once both sockets are released); the relay decides what goes where and when.
//
// Data path per direction (client->backend and backend->client): a multishot recv on the source
// socket fills buffers from the worker's provided buffer ring; each filled buffer is queued as-is
// and sent to the other socket (send, or sendmsg when several are queued), at most one send in
// flight; a buffer goes back to the ring when fully sent. No byte is copied in user space.
//
// Backpressure: while a direction's queue is empty its recv is multishot (cheapest when the other
// side keeps up); once data waits, recvs are single-shot, one ring buffer each, and none is armed
// at kHighWaterChunks, so a slow reader stops reads on the other side. A multishot recv is armed
// only on an empty queue and ends by itself after kHighWaterChunks buffers' worth of bytes
// (Linux 6.17+; on older kernels it may pull in one burst of what the socket already held before
// its cancel lands). What bounds memory overall is the worker's buffer ring, fixed at start,
// plus the fallback below.
//
// When the worker's buffer ring runs dry (-ENOBUFS), the socket falls back to one plain recv
// into a buffer of its own instead of waiting: with full-duplex peers, waiting could deadlock
// (every buffer held by flows whose peers wait for the other direction). Progress is guaranteed
// and memory stays bounded: at most one such buffer per direction is being filled at a time.
//
// Backend connects (BackendConnector) go through the backend's socket; a failed attempt (connect
// error or timeout, a failed backend TLS handshake) closes it, and the next backend is tried on
// the same socket object once it is released, so no completion of the old attempt reaches the
// new one.
//
// Bulk flows (splice): when a recv fills a whole ring buffer, the direction is bulk (as HAProxy's
// splice-auto decides) and, if [lb4] splice is on and a pipe is free within max_pipes, it moves
// to splice(2): its recv is cancelled, what was already queued is sent, then the worker thread
// splices socket -> pipe -> socket itself (non-blocking sockets, SPLICE_F_NONBLOCK), and a
// single-shot poll (StreamSocket::Poll) waits for readable input or room in the output only when
// a splice would block. No byte is copied to or from user space, and the kernel forwards page
// references (often whole 64 KiB segments) instead of 16 KiB copies. Splices are done synchronously
// because io_uring's IORING_OP_SPLICE always runs in an io-wq thread (a thread hand-off per chunk).
// Backpressure: the pipe ([lb4] splice_pipe_size) is refilled only once empty; while the output is
// full, only the POLLOUT is armed and the source is not read. Small exchanges (keep-alive requests)
// never fill a buffer and stay on the buffer path; the pipe is closed with the connection.
//
// Half-close: EOF from one side is relayed as shutdown(SHUT_WR) on the other once everything
// received before it is sent; the other direction keeps flowing. The connection ends when both
// directions have ended, or at once on an error or timeout (Abort).
//
// mode = "tls_passthrough": before connecting, the connection reads the client's ClientHello
// (one ring buffer per receive, appended to a buffer of its own and given back, bounded by
// max_client_hello, within handshake_timeout),
// picks the pool by SNI, and sends the bytes read so far to the backend first (after the PROXY
// header, if any); from then on it is the same relay. Nothing is decrypted or altered
// (relay_sniff.cc). If the chosen pool has [pool.tls], those bytes and all that follow travel
// inside lb4's own TLS session to the backend (TLS in TLS), as for a tcp listener with it.
//
// TLS (relay_tls.cc): either side may have a tls::Transport (the client's TLS terminated here,
// mode = "tls"; TLS to the backend, [pool.tls]). Its state (RelayTls) is allocated only for a
// connection that has TLS on a side, so a plain relay carries one null pointer and takes the
// zero-copy path above unchanged. With TLS on either side, both directions go through the
// transports: a recv still lands in a ring buffer, which is fed to OpenSSL (TLS side) or
// encrypted straight out of it (plain side) and goes back to the ring at once; what is to be
// sent (decrypted plaintext, records) is queued as owned buffers on the same queues, with the same
// sends, backpressure and -ENOBUFS fallback. No splice then: the bytes must pass user space.
// Handshakes are states of the connection: the client's (within handshake_timeout) before the
// connect, the backend's (within connect_timeout, after the connect and the PROXY header) before
// the relay; a failed backend handshake is a failed connect and the next backend is tried.
// Half-close with TLS: a close_notify (if the other side is TLS) goes before the FIN.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/address.h"
#include "common/tls/client_hello.h"
#include "common/uring/stream_socket.h"
#include "common/uring/timer_wheel.h"
#include "l4/backend_connector.h"
#include "l4/protection/source_table.h"
#include "l4/tls/tls_failure.h"

namespace edge::l4 {

class Worker;
struct ListenerRuntime;
struct Backend;
struct Pool;
struct RelayTls;
struct ConnectionRecord;

class RelayConnection final {
 public:
  explicit RelayConnection(Worker* worker);
  ~RelayConnection();
  RelayConnection(const RelayConnection&) = delete;
  RelayConnection& operator=(const RelayConnection&) = delete;

  // Takes ownership of the accepted `client_fd` and starts: the ClientHello sniff (passthrough),
  // the client's TLS handshake (mode = "tls") or the connect to a backend.
  // `peer`: the client's address when the caller already looked it up (protection), else null.
  void Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
             const net::SocketAddress* peer = nullptr);
  // Ends the connection now (shutdown, reload drain timeout): both sockets are closed.
  void Abort(const char* reason);

  // The backend this connection is relayed to (null before a connect succeeds or after the end).
  const Backend* backend() const { return connector_.backend(); }

  // Intrusive list of the worker's live connections.
  RelayConnection* prev = nullptr;
  RelayConnection* next = nullptr;
  SourceTicket source;  // per-source limits: released by the worker when the connection ends

  static constexpr int kClient = 0;
  static constexpr int kBackend = 1;
  static constexpr size_t kHighWaterChunks = 8;

 private:
  using Buffer = uring::StreamSocket::Buffer;
  using ReceiveMode = uring::StreamSocket::ReceiveMode;

  enum class State : uint8_t {
    kIdle,
    kSniffing,            // tls_passthrough: reading the ClientHello
    kHandshaking,         // mode = "tls": the client's TLS handshake
    kConnecting,          // to a backend
    kBackendHandshaking,  // [pool.tls]: the TLS handshake with the backend
    kBackendRetry,        // an attempt failed: waiting for its socket's release, then the next one
    kRelaying,
    kClosing,
  };

  // One side's socket, its events passed on to the relay with the side's index.
  struct Side final : uring::StreamSocket::Handler {
    Side(RelayConnection* relay, int index, uring::ProvidedBufferRing* ring);
    void OnSocketConnected(int error) override { relay->OnConnected(error); }
    void OnSocketData(std::string_view) override {}  // keep_buffers: OnSocketBuffer instead
    void OnSocketBuffer(const Buffer& buffer) override { relay->OnBuffer(index, buffer); }
    void OnSocketEnd(int error) override { relay->OnEnd(index, error); }
    void OnSocketSendDrained() override {}
    void OnSocketSent() override { relay->OnSent(index); }
    void OnSocketReleased() override { relay->OnReleased(index); }
    void OnSocketRingEmpty() override;
    ReceiveMode NextReceive() override { return relay->NextReceive(index); }
    void OnSocketPoll(bool out) override { relay->OnPoll(index, out); }

    RelayConnection* const relay;
    const int index;
    uring::StreamSocket socket;
  };

  // What the relay keeps of the bytes received from one side (their buffers wait in the other
  // side's send queue).
  struct Flow {
    bool eof = false;   // the source side sent FIN (or close_notify)
    bool shut = false;  // FIN asked of the destination side (it leaves once the queue is out)
    // Splice (bulk): set once the flow is moved to a pipe, which then carries all its bytes once
    // the queue above has drained; `piped` bytes wait in the pipe.
    bool splice = false;
    bool no_splice = false;  // no pipe was available: stay on buffers
    bool poll_in = false;    // a POLLIN on the source side is in flight
    bool poll_out = false;   // a POLLOUT on the destination side is in flight
    uint32_t piped = 0;
    uint32_t pipe_size = 0;  // the pipe's capacity
    int pipe[2] = {-1, -1};
    void Reset() {
      eof = shut = splice = no_splice = poll_in = poll_out = false;
      piped = pipe_size = 0;
    }
  };

  uring::StreamSocket& socket(int side) { return side_[side].socket; }
  const uring::StreamSocket& socket(int side) const { return side_[side].socket; }

  // The sockets' events.
  void OnConnected(int error);  // the backend's connect
  void OnBuffer(int side, const Buffer& buffer);
  void OnEnd(int side, int error);
  void OnSent(int to);
  void OnReleased(int side);
  ReceiveMode NextReceive(int side);
  void OnPoll(int side, bool out);

  // relay_sniff.cc (tls_passthrough)
  void StartSniff();
  void OnSniff(const Buffer& buffer);
  void Connect();
  // A connect attempt's outcome (BackendConnector): the next step.
  void AfterAttempt(BackendConnector::Outcome outcome);
  void QueueProxyHeader();
  void StartRelay();
  // relay_tls.cc: the handshakes, and bytes through the transports.
  void StartClientTls();
  void ContinueHandshake();
  void HandshakeFailed(TlsFailure failure, const char* reason);
  void StartBackendTls();
  void ContinueBackendHandshake();
  void BackendTlsFailed(PassiveFailure why, const char* what);
  void RetryBackend();  // the failed attempt's socket is released: the next backend
  // No backend could be reached: the connection ends (a TLS client gets a close_notify first).
  void ConnectFailed();
  void StartTlsRelay();  // StartRelay's part for a connection with TLS
  // A receive on a connection with TLS: its bytes (if the state takes them) fed to the side's
  // transport or encrypted towards the other side; the buffer goes back at once.
  void ConsumeTlsBuffer(int side, const Buffer& buffer);
  // The end of a side's stream (0) or its socket's failure before the relay (handshakes).
  void OnTlsEndBeforeRelay(int side, int error);
  void OnTlsBytes(int from, const char* data, size_t len);
  // Plaintext for side `to`: encrypted if that side is TLS, else queued as owned bytes. False:
  // aborted.
  bool Deliver(int to, const char* data, size_t len);
  // Decrypts what TLS side `from` sent and delivers it. False: no longer relaying.
  bool Decrypt(int from);
  // What side `side`'s transport has to send (records, alerts) onto its socket's queue.
  void FlushTls(int side);
  // Side `from` ended its stream (FIN or close_notify): a close_notify towards a TLS other side.
  void TlsEof(int from);
  // A best-effort send of `bytes` to the client right before the end (an alert, a close_notify)
  // if nothing else waits for it.
  void SendLastWords(std::string_view bytes);
  void AddTlsToLog(ConnectionRecord* record, std::string* alpn) const;
  void MaybeArmRecv(int side);
  void RelayEof(int from);
  // A receive from `side` (or a send to it, `send`) failed with errno `error`: counted (a backend
  // reset is a passive health failure) and the connection ends.
  void SocketError(int side, bool send, int error);
  void StartSplice(int side);
  void Pump(int from);
  ssize_t SpliceOnce(int pipe_end, size_t len, int side, bool out);
  void ArmPoll(int side, bool out);
  void CountReceived(int side, uint64_t n);  // bytes from `side`: stats, idle timer
  void CloseSockets();
  void MaybeFinish();
  void Finish();
  void OnTimer();
  static void TimerThunk(void* self) { static_cast<RelayConnection*>(self)->OnTimer(); }
  void WriteConnectionLog();  // [lb4.access_log], at Finish

  Worker* worker_;
  std::shared_ptr<const ListenerRuntime> listener_;
  Pool* pool_ = nullptr;  // listener_'s pool, or the one an SNI route chose (owned by listener_)
  Backend* backend_ = nullptr;  // connector_'s backend once connected (it holds the reference)
  State state_ = State::kIdle;
  bool has_tls_ = false;  // tls_ is set: tested on the hot path, on the first cache lines
  int64_t last_activity_ns_ = 0;
  int64_t start_ns_ = 0;
  Side side_[2];
  Flow flow_[2];  // flow_[s]: received from side s
  net::SocketAddress client_address_;
  // tls_passthrough: the bytes read while looking for the ClientHello and the parser (only while
  // sniffing). Allocated for the sniff and freed once the bytes have been forwarded: a relayed
  // connection does not carry them.
  struct Hello {
    std::string bytes;
    std::optional<tls::ClientHelloParser> parser;
  };
  std::unique_ptr<Hello> hello_;
  // TLS on a side: null for a plain relay (allocated at start, or at the connect once the pool
  // is known). Off the hot fields: the plain path tests has_tls_ instead.
  std::unique_ptr<RelayTls> tls_;
  uring::Timer timer_;
  // For the connection log: bytes received from each side, why the connection ended (the first
  // reason; static strings), which side sent the first FIN (-1: none), the passthrough SNI.
  uint64_t bytes_[2] = {0, 0};
  const char* close_reason_ = nullptr;
  int first_fin_ = -1;
  std::string sni_;
  // Last: used only while connecting, it keeps the relay's hot fields on the first cache lines.
  BackendConnector connector_;
};

}  // namespace edge::l4
