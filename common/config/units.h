#pragma once
// Durations and sizes as written in config files.
//
// Durations: one or more <integer><unit> parts with units h, m, s, ms in that order, each at most
// once: "500ms", "2s", "5m", "1h", "1m30s", "90s". No fractions ("1.5s": write "1500ms"), no sign,
// no spaces, no other units. A bare number is refused: a duration always says its unit. "0s"
// parses (to zero); whether zero is allowed is the caller's rule. Resolution is 1ms; the total
// must fit in int64 milliseconds.
//
// Sizes: an integer optionally followed by a binary unit: B, KiB, MiB, GiB, TiB ("16KiB", "10MiB",
// "512B"). A bare integer ("16384") means bytes. Decimal or ambiguous units (KB, K, kb, MB) are
// refused rather than guessed. No sign, no spaces, no fractions. The total must fit in uint64.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace edge::config {

// Errors are InvalidArgument with a message such as
// `invalid duration "5": missing unit (h, m, s, ms), e.g. "500ms", "2s", "5m"`.
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);
absl::StatusOr<uint64_t> ParseSize(std::string_view text);

// The inverse, for messages and status pages: the shortest exact spelling in the same syntax
// ("1m30s", "500ms", "0s"; "16KiB", "1000B"). Sub-millisecond parts of a duration are dropped;
// infinite durations print as "inf".
std::string DurationToString(absl::Duration duration);
std::string SizeToString(uint64_t bytes);

}  // namespace edge::config
