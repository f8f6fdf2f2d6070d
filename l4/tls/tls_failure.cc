#include "l4/tls/tls_failure.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace edge::l4 {

const char* TlsFailureName(TlsFailure failure) {
  switch (failure) {
    case TlsFailure::kTimeout:
      return "timeout";
    case TlsFailure::kClientClosed:
      return "client_closed";
    case TlsFailure::kVersion:
      return "version";
    case TlsFailure::kNoSharedCipher:
      return "no_shared_cipher";
    case TlsFailure::kClientCert:
      return "client_cert";
    case TlsFailure::kProtocol:
      return "protocol";
  }
  return "unknown";
}

TlsFailure ClassifyTlsFailure() {
  unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) != ERR_LIB_SSL) return TlsFailure::kProtocol;
  switch (ERR_GET_REASON(e)) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
      return TlsFailure::kVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      return TlsFailure::kNoSharedCipher;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return TlsFailure::kClientCert;
    default:
      return TlsFailure::kProtocol;
  }
}

}  // namespace edge::l4
