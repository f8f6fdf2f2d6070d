// Fuzzes the ClientHello parser (common/tls/client_hello.h).
//
// Checked on every input:
//  - feeding the input in two pieces (at two data-dependent points) or byte by byte gives the same
//    verdict and the same extracted fields as feeding it whole;
//  - a completed hello covers at most the input, the input cut one byte before its end needs more,
//    and the SNI is a lowercase host name without a trailing dot;
//  - a refusal has a reason and a message.
// Any violation aborts, which libFuzzer reports as a crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/tls/client_hello.h"

using edge::tls::ClientHelloParser;
using edge::tls::HelloError;

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_client_hello: %s\n", what);
    std::abort();
  }
}

bool Same(const ClientHelloParser& a, const ClientHelloParser& b) {
  if (a.result() != b.result() || a.error() != b.error()) return false;
  if (a.result() != ClientHelloParser::Result::kDone) return true;
  return a.info().sni == b.info().sni && a.info().alpn == b.info().alpn &&
         a.info().supported_versions == b.info().supported_versions &&
         a.info().record_bytes == b.info().record_bytes &&
         a.info().legacy_version == b.info().legacy_version;
}

// Small limit sometimes, so that the oversized path is reached with small inputs.
size_t LimitFor(std::string_view input) {
  return !input.empty() && (static_cast<uint8_t>(input.back()) & 1)
             ? 512
             : ClientHelloParser::kDefaultMaxHelloBytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t limit = LimitFor(input);
  ClientHelloParser whole(limit);
  whole.Feed(input);
  if (whole.result() == ClientHelloParser::Result::kError) {
    Check(whole.error() != HelloError::kNone && !whole.error_message().empty(),
          "refusal without a reason");
  }
  if (whole.result() == ClientHelloParser::Result::kDone) {
    const auto& info = whole.info();
    Check(info.record_bytes > 5 && info.record_bytes <= size, "record_bytes out of range");
    for (char c : info.sni) Check(!(c >= 'A' && c <= 'Z'), "SNI not lowercased");
    Check(info.sni.empty() || info.sni.back() != '.', "SNI with a trailing dot");
    for (const auto& p : info.alpn) Check(!p.empty() && p.size() < 256, "bad ALPN entry");
    ClientHelloParser cut(limit);
    Check(cut.Feed(input.substr(0, info.record_bytes - 1)) == ClientHelloParser::Result::kNeedMore,
          "hello minus its last byte does not need more");
  }
  for (size_t split :
       {size / 2, size > 0 ? (static_cast<size_t>(data[0]) * 131) % (size + 1) : 0}) {
    ClientHelloParser two(limit);
    two.Feed(input.substr(0, split));
    two.Feed(input.substr(split));
    Check(Same(two, whole), "two pieces differ from the whole");
  }
  if (size <= 4096) {
    ClientHelloParser bytes(limit);
    for (size_t i = 0; i < size; ++i) bytes.Feed(input.substr(i, 1));
    Check(Same(bytes, whole), "byte by byte differs from the whole");
  }
  return 0;
}
