// Fuzz target: the request fields the transform filters parse from clients. The whole input is
// an Origin (ParseOrigin, both as a request's and as a configured pattern) and an Accept-Encoding
// value (ChooseContentCoding, ParseQValue). No crash; a parsed origin keeps ParseOrigin's
// promises (lower case, a port for http/https, matches itself), and q-values stay in 0..1000.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "l7/filters/transform/accept_encoding.h"
#include "l7/filters/transform/cors_origin.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edge::l7;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (bool pattern : {false, true}) {
    if (auto o = ParseOrigin(input, pattern)) {
      for (char c : o->scheme + o->host) Check(!(c >= 'A' && c <= 'Z'));
      if (o->scheme == "http" || o->scheme == "https") Check(o->port != 0);
      Check(!o->host.empty());
      if (!o->host.starts_with("*.")) {
        Check(OriginMatches(*o, *o));
      } else {
        Check(pattern);
      }
    }
  }
  const ContentCoding c = ChooseContentCoding(input, true);
  Check(c == ContentCoding::kIdentity || c == ContentCoding::kGzip || c == ContentCoding::kBrotli);
  Check(ChooseContentCoding(input, false) != ContentCoding::kBrotli);
  const int q = ParseQValue(input);
  Check(q >= -1 && q <= 1000);
  return 0;
}
