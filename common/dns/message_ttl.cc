#include "common/dns/message_ttl.h"

#include <algorithm>

namespace edge::dns {

namespace {

constexpr size_t kHeaderBytes = 12;

uint16_t Read16(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>((m[at] << 8) | m[at + 1]);
}

// Moves *at past a (possibly compressed) name. False when it runs off the message or uses the
// reserved label types.
bool SkipName(std::span<const uint8_t> m, size_t* at) {
  for (int labels = 0; labels < 128; ++labels) {
    if (*at >= m.size()) return false;
    const uint8_t len = m[*at];
    if ((len & 0xC0) == 0xC0) {  // a pointer ends the name
      if (*at + 2 > m.size()) return false;
      *at += 2;
      return true;
    }
    if ((len & 0xC0) != 0) return false;  // 0x40 / 0x80: not defined
    *at += 1;
    if (len == 0) return true;
    *at += len;
  }
  return false;
}

}  // namespace

absl::StatusOr<uint32_t> MinAnswerTtl(std::span<const uint8_t> m) {
  if (m.size() < kHeaderBytes) return absl::InvalidArgumentError("DNS message shorter than 12");
  const uint16_t questions = Read16(m, 4);
  const uint16_t answers = Read16(m, 6);
  size_t at = kHeaderBytes;
  for (uint16_t i = 0; i < questions; ++i) {
    if (!SkipName(m, &at) || at + 4 > m.size()) {
      return absl::InvalidArgumentError("DNS message: truncated question");
    }
    at += 4;  // type, class
  }
  if (answers == 0) return absl::NotFoundError("DNS message has no answer records");
  uint32_t ttl = UINT32_MAX;
  for (uint16_t i = 0; i < answers; ++i) {
    if (!SkipName(m, &at) || at + 10 > m.size()) {
      return absl::InvalidArgumentError("DNS message: truncated answer record");
    }
    // RFC 2181 8: a TTL with the top bit set is treated as 0.
    uint32_t record_ttl = (uint32_t{Read16(m, at + 4)} << 16) | Read16(m, at + 6);
    if (record_ttl & 0x80000000u) record_ttl = 0;
    ttl = std::min(ttl, record_ttl);
    const size_t rdlength = Read16(m, at + 8);
    at += 10;
    if (at + rdlength > m.size()) return absl::InvalidArgumentError("DNS message: truncated rdata");
    at += rdlength;
  }
  return ttl;
}

}  // namespace edge::dns
