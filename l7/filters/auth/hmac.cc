#include "l7/filters/auth/hmac.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <array>
#include <cstdint>

namespace edge::l7 {
namespace {

struct MacFree {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};

// Keyed contexts of one thread. Keys are told apart by serial, never by address: a context keyed
// with a freed key's secret must not serve a later key that happens to live at the same place.
class HmacContexts {
 public:
  ~HmacContexts() {
    for (Slot& s : slots_) EVP_MAC_CTX_free(s.ctx);
  }

  // A context ready for update, keyed with key's secret and md; null on failure.
  EVP_MAC_CTX* Get(const JwtKey& key, const EVP_MD* md) {
    for (Slot& s : slots_) {
      if (s.ctx != nullptr && s.serial == key.serial() && s.md == md) {
        if (EVP_MAC_init(s.ctx, nullptr, 0, nullptr) == 1) return s.ctx;  // the same key again
        Drop(s);
        return nullptr;
      }
    }
    Slot& s = slots_[next_];
    next_ = (next_ + 1) % slots_.size();
    Drop(s);
    if (mac_ == nullptr) mac_.reset(EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr));
    if (mac_ == nullptr) return nullptr;
    s.ctx = EVP_MAC_CTX_new(mac_.get());
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                               OSSL_MAC_PARAM_DIGEST, const_cast<char*>(EVP_MD_get0_name(md)), 0),
                           OSSL_PARAM_construct_end()};
    const std::string_view secret = key.secret();
    if (s.ctx == nullptr ||
        EVP_MAC_init(s.ctx, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     params) != 1) {
      Drop(s);
      return nullptr;
    }
    s.serial = key.serial();
    s.md = md;
    return s.ctx;
  }

  void Forget(EVP_MAC_CTX* ctx) {
    for (Slot& s : slots_) {
      if (s.ctx == ctx) Drop(s);
    }
  }

 private:
  struct Slot {
    uint64_t serial = 0;
    const EVP_MD* md = nullptr;
    EVP_MAC_CTX* ctx = nullptr;
  };
  static void Drop(Slot& s) {
    EVP_MAC_CTX_free(s.ctx);
    s = Slot();
  }

  std::unique_ptr<EVP_MAC, MacFree> mac_;
  std::array<Slot, 4> slots_;
  size_t next_ = 0;
};

}  // namespace

size_t ComputeHmac(const JwtKey& key, const EVP_MD* md, std::string_view input,
                   unsigned char* out) {
  thread_local HmacContexts contexts;
  EVP_MAC_CTX* ctx = contexts.Get(key, md);
  size_t length = 0;
  if (ctx == nullptr ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
          1 ||
      EVP_MAC_final(ctx, out, &length, EVP_MAX_MD_SIZE) != 1) {
    if (ctx != nullptr) contexts.Forget(ctx);
    ERR_clear_error();
    return 0;
  }
  return length;
}

}  // namespace edge::l7
