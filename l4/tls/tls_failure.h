#pragma once
// Why a client's TLS handshake with lb4 failed: the index of WorkerStats::tls_handshake_failures
// and the `reason` label of its metric.

#include <cstddef>
#include <cstdint>

namespace edge::l4 {

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
// The failure of the handshake that just failed, from OpenSSL's error queue.
TlsFailure ClassifyTlsFailure();

}  // namespace edge::l4
