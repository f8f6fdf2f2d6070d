#pragma once
// TicketKeys: the keys that encrypt TLS session tickets, shared by every worker of a listener (one
// SSL_CTX serves all workers), so a ticket issued on one worker resumes on any other.
//
// Keys rotate: a new key becomes the encrypting one every `rotation`; tickets made with the
// previous kKeep - 1 keys still decrypt (and are renewed with the current key), so a ticket lives
// between (kKeep - 1) and kKeep rotations. Keys are random, never written anywhere. A reload
// hands the object on to the listener's new context, so neither the keys nor their schedule
// restart.

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <array>
#include <cstdint>
#include <deque>

#include "absl/synchronization/mutex.h"

namespace edge::tls {

class TicketKeys {
 public:
  static constexpr size_t kKeep = 3;
  struct Key {
    std::array<uint8_t, 16> name;
    std::array<uint8_t, 32> aes;   // AES-256-CBC
    std::array<uint8_t, 32> hmac;  // HMAC-SHA256
    int64_t created_ns;
  };

  // `now_ns` is a clock for tests; by default the monotonic clock.
  explicit TicketKeys(int64_t rotation_ns, int64_t (*now_ns)() = nullptr);

  // The SSL_CTX_set_tlsext_ticket_key_evp_cb contract: encrypt (enc = 1) fills name/iv and sets
  // up the contexts with the current key (returns 1); decrypt finds the key by name: 1 = ok,
  // 2 = ok but renew the ticket (an older key), 0 = unknown key (full handshake).
  int Callback(unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX* cipher,
               EVP_MAC_CTX* mac, int enc);

  // Installs this object as `ctx`'s ticket key callback (it must outlive `ctx`).
  void Install(SSL_CTX* ctx);

  size_t rotations() const;
  int64_t rotation_ns() const { return rotation_ns_; }

 private:
  void RotateIfDue(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Key MakeKey(int64_t now);

  const int64_t rotation_ns_;
  int64_t (*now_ns_)();
  mutable absl::Mutex mu_;
  std::deque<Key> keys_ ABSL_GUARDED_BY(mu_);  // front: the current key
  size_t rotations_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace edge::tls
