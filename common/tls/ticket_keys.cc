#include "common/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/rand.h>

#include <cstring>
#include <ctime>

namespace edge::tls {
namespace {

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int ExData() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int TicketThunk(SSL* ssl, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ExData()));
  if (keys == nullptr) return -1;
  int r = keys->Callback(name, iv, cipher, mac, enc);
  // TLS 1.3 clients use a ticket once (RFC 8446 C.4; OpenSSL's client marks it spent): without a
  // new ticket on each resumed handshake, every other connection would be a full handshake.
  // Asking OpenSSL to renew makes it send one.
  if (!enc && r == 1 && SSL_version(ssl) == TLS1_3_VERSION) r = 2;
  return r;
}

// AES-256-CBC fetched once: EVP_aes_256_cbc() is a legacy handle that OpenSSL 3 resolves to its
// provider implementation again (a locked lookup) at every init, i.e. once per ticket.
const EVP_CIPHER* TicketCipher() {
  static EVP_CIPHER* const fetched = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return fetched != nullptr ? fetched : EVP_aes_256_cbc();
}

bool SetUp(const TicketKeys::Key& key, const unsigned char* iv, EVP_CIPHER_CTX* cipher,
           EVP_MAC_CTX* mac, int enc) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(key.hmac.data()),
                                        key.hmac.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return false;
  return enc ? EVP_EncryptInit_ex(cipher, TicketCipher(), nullptr, key.aes.data(), iv) == 1
             : EVP_DecryptInit_ex(cipher, TicketCipher(), nullptr, key.aes.data(), iv) == 1;
}

}  // namespace

TicketKeys::TicketKeys(int64_t rotation_ns, int64_t (*now_ns)())
    : rotation_ns_(rotation_ns), now_ns_(now_ns != nullptr ? now_ns : &MonotonicNs) {
  absl::MutexLock lock(&mu_);
  keys_.push_front(MakeKey(now_ns_()));
}

TicketKeys::Key TicketKeys::MakeKey(int64_t now) {
  Key key;
  RAND_bytes(key.name.data(), static_cast<int>(key.name.size()));
  RAND_bytes(key.aes.data(), static_cast<int>(key.aes.size()));
  RAND_bytes(key.hmac.data(), static_cast<int>(key.hmac.size()));
  key.created_ns = now;
  return key;
}

void TicketKeys::RotateIfDue(int64_t now) {
  if (now - keys_.front().created_ns < rotation_ns_) return;
  keys_.push_front(MakeKey(now));
  while (keys_.size() > kKeep) keys_.pop_back();
  ++rotations_;
}

int TicketKeys::Callback(unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                         EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  absl::MutexLock lock(&mu_);
  RotateIfDue(now_ns_());
  if (enc) {
    const Key& key = keys_.front();
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    return SetUp(key, iv, cipher, mac, 1) ? 1 : -1;
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(name, keys_[i].name.data(), keys_[i].name.size()) != 0) continue;
    if (!SetUp(keys_[i], iv, cipher, mac, 0)) return -1;
    return i == 0 ? 1 : 2;
  }
  return 0;
}

void TicketKeys::Install(SSL_CTX* ctx) {
  SSL_CTX_set_ex_data(ctx, ExData(), this);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &TicketThunk);
}

size_t TicketKeys::rotations() const {
  absl::MutexLock lock(&mu_);
  return rotations_;
}

}  // namespace edge::tls
