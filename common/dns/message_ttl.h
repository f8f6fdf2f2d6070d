#pragma once
// The TTL of a DNS response: the smallest TTL of its answer records. c-ares 1.18 parses SRV
// records without their TTLs (ares_parse_srv_reply), so this reads them from the raw message that
// c-ares has already accepted. The bytes still come from the network: the walk is bounds-checked
// and anything malformed is an error, never a read past the end.

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace edge::dns {

// InvalidArgument when the message is truncated or malformed; NotFound when it has no answer
// record.
absl::StatusOr<uint32_t> MinAnswerTtl(std::span<const uint8_t> message);

}  // namespace edge::dns
