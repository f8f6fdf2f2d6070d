#pragma once
// HMAC for JWT signatures (HS256/384/512), fast on the request path.
//
// OpenSSL 3's one-shot HMAC() fetches the algorithm and schedules the key on every call: 1.2 us
// per token, more than the rest of a JWT check. A context keyed once and re-initialised per token
// costs 0.3 us. Each thread keeps a few such contexts for the (key, digest) pairs it used last; a
// gateway loop verifies against few keys, so they are nearly always warm.

#include <openssl/evp.h>

#include <cstddef>
#include <string_view>

#include "l7/filters/auth/jwks.h"

namespace edge::l7 {

// The HMAC of `input` with `key`'s secret and digest `md` (EVP_sha256() ...), written to `out`
// (EVP_MAX_MD_SIZE bytes); returns its length, or 0 when OpenSSL failed.
size_t ComputeHmac(const JwtKey& key, const EVP_MD* md, std::string_view input, unsigned char* out);

}  // namespace edge::l7
