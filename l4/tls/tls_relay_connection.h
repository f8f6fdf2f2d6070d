#pragma once
// TlsTerminateConnection: one client connection whose TLS lb4 terminates (mode = "tls"), relayed
// as plaintext to one backend, on one worker.
//
// TLS runs in user space (no kTLS here): OpenSSL reads and writes memory BIOs, and this class
// moves bytes between those BIOs and the sockets with io_uring. A client recv lands in a buffer of
// the worker's provided ring, is copied into the read BIO and the buffer goes straight back, so an
// idle connection holds no receive buffer; OpenSSL's own buffers are released when idle too
// (SSL_MODE_RELEASE_BUFFERS).
//
// Sequence: handshake (within handshake_timeout; a failure is counted by reason and closes the
// connection) -> connect to a backend of the pool (BackendConnector: retries as for tcp) -> PROXY
// header (v2 carries ALPN, SNI, TLS version and client certificate CN as TLVs) -> relay both
// ways: client ciphertext -> SSL_read -> backend; backend bytes -> SSL_write -> client.
//
// With [pool.tls] the backend side is TLS too, through a second SSL with its own memory BIOs:
// after the connect (and the PROXY header, which goes first in clear, as HAProxy sends it) comes
// a client handshake with the backend within connect_timeout, offering that backend's last
// session. A failed handshake (certificate not verified, wrong name, backend closed, timeout) is a
// failed connect: counted, passed to passive health, and the next backend is tried once nothing
// is in flight on the failed one's socket. Relaying then decrypts and re-encrypts both ways.
//
// Output per direction is two strings: one being sent (at most one send in flight; it is never
// appended to, so its bytes stay put) and one collecting what comes next. A side is read only
// while the output towards the other side is below kHighWater, which bounds memory per
// connection and gives backpressure both ways.
//
// Half-close: a client close_notify or FIN becomes shutdown(backend, SHUT_WR) once flushed; a
// backend FIN becomes close_notify + shutdown(client, SHUT_WR). Both done: the connection ends.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/net/address.h"
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

class TlsTerminateConnection final : public uring::IoHandler {
 public:
  explicit TlsTerminateConnection(Worker* worker);
  ~TlsTerminateConnection() override;

  // Takes ownership of the accepted `client_fd` and starts the handshake.
  // `peer`: the client's address when the caller already looked it up (protection), else null.
  void Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
             const net::SocketAddress* peer = nullptr);
  // Ends the connection now: both sockets are closed.
  void Abort(const char* reason);
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  const Backend* backend() const { return connector_.backend(); }

  TlsTerminateConnection* prev = nullptr;
  TlsTerminateConnection* next = nullptr;
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
  void OnClientBytes(const char* data, size_t len);
  void OnBackendBytes(const char* data, size_t len);
  void ContinueHandshake();
  void HandshakeFailed(TlsFailure failure, const char* reason);
  void ReadPlaintext();
  void FlushTls();  // the write BIO's ciphertext into output to the client
  void StartBackendTls();
  void ContinueBackendHandshake();
  void BackendTlsFailed(PassiveFailure why, const char* what);
  void MaybeRetryBackend();
  bool DecryptFromBackend();  // the backend's plaintext into the client's SSL; false: aborted
  void FlushBackendTls();     // the backend SSL's ciphertext into output to the backend
  void StartRelay();
  void ConnectFailed();
  void TrySend(int to);
  void OnSend(int to, int32_t res);
  void ClientEof();
  void BackendEof();
  void MaybeShut();
  void Connect();
  void OnConnect(int32_t res);
  void QueueProxyHeader();
  void MaybeFinish();
  void Finish();
  void OnTimer();
  static void TimerThunk(void* self) { static_cast<TlsTerminateConnection*>(self)->OnTimer(); }
  void WriteConnectionLog();  // [lb4.access_log], at Finish while ssl_ still exists

  Worker* worker_;
  std::shared_ptr<const ListenerRuntime> listener_;
  Pool* pool_ = nullptr;
  BackendConnector connector_;
  Backend* backend_ = nullptr;  // connector_'s backend once connected (it holds the reference)
  int fd_[2] = {-1, -1};
  State state_ = State::kIdle;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;                               // owned by ssl_
  BIO* wbio_ = nullptr;                               // owned by ssl_
  SSL* up_ssl_ = nullptr;                             // [pool.tls]: the session with the backend
  BIO* up_rbio_ = nullptr;                            // owned by up_ssl_
  BIO* up_wbio_ = nullptr;                            // owned by up_ssl_
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
