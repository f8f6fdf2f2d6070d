#pragma once
// Transport: one TLS session run over memory BIOs, for a proxy that does its own socket I/O
// (io_uring). Ciphertext received from the peer is fed in and plaintext read out; plaintext
// written is encrypted into an output the caller takes and sends. The SSL given to Attach
// decides the role: ServerContext::NewSsl (accept state) for clients of lb4, ClientContext::NewSsl
// (connect state) towards backends; everything else is the same for both.
//
// It holds no socket and no buffer of its own beyond OpenSSL's two BIOs. A memory BIO never
// blocks: a write takes everything (or fails, out of memory), and an empty read BIO means "wait
// for more", not EOF. Errors stay on OpenSSL's error queue for the caller to classify or log
// (OpenSslErrors()); each call clears the queue first, so what is there is this call's.

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace edge::tls {

class Transport {
 public:
  enum class Result : uint8_t {
    kOk,        // the handshake is complete; Read: bytes were read
    kWantRead,  // more ciphertext from the peer is needed
    kClosed,    // Read: the peer sent close_notify, no more plaintext follows
    kError,     // protocol error, failed verification, out of memory: see the error queue
  };

  Transport() = default;
  ~Transport() { Reset(); }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Takes `ssl`, a new SSL from a context (null: the context was out of memory), and gives it
  // memory BIOs. False when something could not be allocated; nothing is held then.
  bool Attach(SSL* ssl);
  // Frees the session (and its BIOs). `keep_resumable`: once the handshake is complete, the
  // session stays resumable however the connection ended (OpenSSL marks the session of an SSL
  // freed without a close_notify sent as not resumable; with TLS 1.3 that is the one its last
  // ticket came in, the one a ClientContext keeps for the next connection).
  void Reset(bool keep_resumable = false);
  bool active() const { return ssl_ != nullptr; }
  SSL* ssl() const { return ssl_; }  // for what the handshake negotiated (ALPN, SNI, version)

  // Ciphertext received from the peer. False: out of memory.
  bool Feed(const char* data, size_t len);
  // Runs the handshake as far as the fed bytes allow; its messages go to the output.
  Result Handshake();
  // Decrypts at most `size` bytes into `buf`: kOk with *n > 0, else why nothing was read.
  Result Read(char* buf, size_t size, size_t* n);
  // Encrypts all `len` (> 0) bytes of plaintext into the output, in as many records as they
  // need (a recv buffer may exceed one). False: out of memory.
  bool Write(const char* data, size_t len);
  // Queues a close_notify in the output.
  void Shutdown();
  // Appends what waits to be sent (records, alerts, tickets) to *out and empties the output.
  void TakeOutput(std::string* out);
  // Moves at most `size` bytes of what waits to be sent into `buf` (which the caller then owns
  // the bytes of, e.g. a queued send); returns how many.
  size_t TakeOutput(char* buf, size_t size);
  // What waits to be sent, left in place: for a best-effort send just before a close, or to be
  // handed to a send that copies it (then DropOutput()).
  std::string_view PeekOutput() const;
  // Empties the output (after its bytes were sent or copied from PeekOutput).
  void DropOutput();
  // Why a handshake with a server failed, for the log: the certificate's verify error if there
  // was one, else OpenSSL's error queue (then cleared).
  std::string HandshakeFailure();

 private:
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
};

}  // namespace edge::tls
