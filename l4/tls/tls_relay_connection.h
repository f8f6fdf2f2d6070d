#pragma once
// TlsRelayConnection: one client connection relayed to one backend, on one worker, with TLS on
// at least one side: the client's TLS terminated here (mode = "tls"), TLS to the backend
// ([pool.tls]), or both. A mode = "tcp" listener whose pool has [pool.tls] uses it with a plain
// client (HAProxy's `mode tcp` + `server ... ssl`); plain on both sides is RelayConnection's
// zero-copy path, not this one.
//
// TLS runs in user space (no kTLS here): each TLS side is a tls::Transport (OpenSSL on memory
// BIOs), and this class moves bytes between those and the sockets with io_uring. A recv lands in
// a buffer of the worker's provided ring, is copied into OpenSSL (or, from a plain side,
// encrypted straight out of it) and the buffer goes straight back, so an idle connection holds no
// receive buffer; OpenSSL's own buffers are released when idle too (SSL_MODE_RELEASE_BUFFERS).
//
// Sequence: with a TLS client, its handshake (within handshake_timeout; a failure is counted by
// reason and closes the connection) -> connect to a backend of the pool (BackendConnector:
// retries as for tcp) -> PROXY header (v2 carries ALPN, SNI, TLS version and client certificate
// CN as TLVs when the client spoke TLS) -> relay both ways, decrypting what comes from a TLS side
// and encrypting what goes to one.
//
// With [pool.tls], after the connect (and the PROXY header, which goes first in clear, as HAProxy
// sends it) comes a client handshake with the backend within connect_timeout, offering that
// backend's last session. A failed handshake (certificate not verified, wrong name, backend
// closed, timeout) is a failed connect: counted, passed to passive health, and the next backend
// is tried once nothing is in flight on the failed one's socket. The client is not read until
// the relay begins.
//
// Output per direction is two strings: one being sent (at most one send in flight; it is never
// appended to, so its bytes stay put) and one collecting what comes next. A side is read only
// while the output towards the other side is below kHighWater, which bounds memory per
// connection and gives backpressure both ways.
//
// Half-close: a side's close_notify or FIN becomes, once everything before it is flushed, a
// close_notify (if the other side is TLS) and shutdown(SHUT_WR) towards the other side, whose
// direction keeps flowing. Both done: the connection ends.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/net/address.h"
#include "common/tls/transport.h"
#include "common/uring/completion.h"
#include "common/uring/timer_wheel.h"
#include "l4/backend_connector.h"
#include "l4/protection/source_table.h"

namespace edge::l4 {

class Worker;
struct ListenerRuntime;
struct Backend;
struct Pool;

// Why a handshake failed: the index of WorkerStats::tls_handshake_failures.
enum class TlsFailure : uint8_t {
  kTimeout,         // not complete within handshake_timeout
  kClientClosed,    // FIN or reset before the handshake completed
  kVersion,         // not TLS, or a version below min_version
  kNoSharedCipher,  // no cipher, group or signature algorithm in common
  kClientCert,      // mTLS: no certificate or one that does not verify
  kProtocol,        // any other protocol error (garbage, bad messages)
};
inline constexpr size_t kTlsFailureKinds = 6;
// "timeout", "client_closed", "version", "no_shared_cipher", "client_cert", "protocol".
const char* TlsFailureName(TlsFailure failure);

class TlsRelayConnection final : public uring::IoHandler {
 public:
  explicit TlsRelayConnection(Worker* worker);
  ~TlsRelayConnection() override;

  // Takes ownership of the accepted `client_fd` and starts: the client's handshake on a mode =
  // "tls" listener, else the connect to a backend.
  // `peer`: the client's address when the caller already looked it up (protection), else null.
  void Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
             const net::SocketAddress* peer = nullptr);
  // Ends the connection now: both sockets are closed.
  void Abort(const char* reason);
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  const Backend* backend() const { return connector_.backend(); }

  TlsRelayConnection* prev = nullptr;
  TlsRelayConnection* next = nullptr;
  SourceTicket source;  // per-source limits: released by the worker when the connection ends

  static constexpr int kClient = 0;
  static constexpr int kBackend = 1;
  static constexpr size_t kHighWater = 64 * 1024;
  static constexpr size_t kKeptOutput = 4096;  // output capacity an idle connection may keep

 private:
  enum Op : uint8_t {
    kConnect = 1,
    kRecvClient = 2,
    kRecvBackend = 3,
    kSendClient = 4,
    kSendBackend = 5
  };
  enum class State : uint8_t {
    kIdle,
    kHandshaking,         // with the client
    kConnecting,          // to a backend
    kBackendHandshaking,  // [pool.tls]: with the backend
    kBackendRetry,        // that failed: waiting for its socket's operations, then the next one
    kRelaying,
    kClosing,
  };
  // Bytes going to one side.
  struct Output {
    std::string inflight;  // being sent; never appended to while a send is in flight
    size_t offset = 0;     // inflight[offset..] not yet sent
    std::string queued;    // what comes next
    bool sending = false;
    size_t size() const { return inflight.size() - offset + queued.size(); }
  };

  void ArmRecv(int side);
  void ArmFallbackRecv(int side);
  void MaybeArmRecv(int side);
  void OnRecv(int side, int32_t res, uint32_t flags);
  void OnBytes(int from, const char* data, size_t len);  // received from side `from`
  // Plaintext for side `to`: encrypted if that side is TLS. False: aborted.
  bool Deliver(int to, const char* data, size_t len);
  // Decrypts what TLS side `from` sent and delivers it to the other side. False: the connection
  // is no longer relaying (aborted, or ended by this close_notify).
  bool Decrypt(int from);
  void Flush(int side);  // side `side`'s TLS output (if any) into out_[side], and send
  void ContinueHandshake();
  void HandshakeFailed(TlsFailure failure, const char* reason);
  void StartBackendTls();
  void ContinueBackendHandshake();
  void BackendTlsFailed(PassiveFailure why, const char* what);
  void MaybeRetryBackend();
  void StartRelay();
  void ConnectFailed();
  void TrySend(int to);
  void OnSend(int to, int32_t res);
  void Eof(int from);  // side `from` ended its stream (FIN or close_notify)
  void MaybeShut();
  void Connect();
  void OnConnect(int32_t res);
  void QueueProxyHeader();
  void MaybeFinish();
  void Finish();
  void OnTimer();
  static void TimerThunk(void* self) { static_cast<TlsRelayConnection*>(self)->OnTimer(); }
  void WriteConnectionLog();  // [lb4.access_log], at Finish while tls_ still holds the sessions

  Worker* worker_;
  std::shared_ptr<const ListenerRuntime> listener_;
  Pool* pool_ = nullptr;
  BackendConnector connector_;
  Backend* backend_ = nullptr;  // connector_'s backend once connected (it holds the reference)
  int fd_[2] = {-1, -1};
  State state_ = State::kIdle;
  // tls_[s]: the TLS session with side s (client: mode = "tls"; backend: [pool.tls]); inactive
  // for a plain side.
  tls::Transport tls_[2];
  PassiveFailure retry_why_ = PassiveFailure::kNone;  // kBackendRetry: why, for passive health
  const char* retry_what_ = "";
  Output out_[2];  // out_[s]: bytes to send to side s
  bool recv_armed_[2] = {false, false};
  // A plain recv's own buffer, used when the worker's buffer ring is empty (-ENOBUFS): waiting
  // for ring buffers instead could stall when every one is held by relays waiting on each other.
  std::unique_ptr<char[]> fallback_[2];
  bool eof_[2] = {false, false};   // side s ended its stream (FIN or close_notify)
  bool shut_[2] = {false, false};  // we ended our stream to side s
  uint32_t pending_ops_ = 0;
  int64_t start_ns_ = 0;
  int64_t last_activity_ns_ = 0;
  net::SocketAddress client_address_;
  uring::Timer timer_;
  // For the connection log: bytes received from each side, the first reason the connection
  // ended (static strings), which side ended its stream first (-1: none).
  uint64_t bytes_[2] = {0, 0};
  const char* close_reason_ = nullptr;
  int first_eof_ = -1;
};

}  // namespace edge::l4
