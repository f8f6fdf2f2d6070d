#include "common/config/units.h"

#include <limits>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"

namespace edge::config {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

// In the order they must appear in a duration.
constexpr Unit kDurationUnits[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
constexpr Unit kSizeUnits[] = {
    {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}};

constexpr std::string_view kDurationHint =
    "(h, m, s, ms), e.g. \"500ms\", \"2s\", \"5m\", \"1m30s\"";
constexpr std::string_view kSizeHint =
    "(B, KiB, MiB, GiB, TiB), e.g. \"512B\", \"16KiB\", \"10MiB\"";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

absl::Status Invalid(std::string_view what, std::string_view text, std::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid %s %s: %s", what, Quote(text), reason));
}

// Reads the digits at text[*pos...] into *value. False on overflow of `limit`.
bool ReadNumber(std::string_view text, size_t* pos, uint64_t limit, uint64_t* value) {
  uint64_t v = 0;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    const uint64_t digit = static_cast<uint64_t>(text[*pos] - '0');
    if (v > (limit - digit) / 10) return false;
    v = v * 10 + digit;
    ++*pos;
  }
  *value = v;
  return true;
}

// A sign, a fraction or whitespace: say so rather than "unexpected character".
std::string Unexpected(std::string_view text, size_t pos, std::string_view smaller_unit_example) {
  const char c = text[pos];
  if (c == '-' && pos == 0) return "must not be negative";
  if (c == '+' && pos == 0) return "no sign allowed";
  if (c == '.' || c == ',') {
    return absl::StrFormat("fractions are not allowed; use a smaller unit, e.g. %s",
                           smaller_unit_example);
  }
  if (c == ' ' || c == '\t') return "no spaces allowed";
  return absl::StrFormat("unexpected character %s at offset %d", Quote(text.substr(pos, 1)), pos);
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  constexpr std::string_view kWhat = "duration";
  if (text.empty())
    return Invalid(kWhat, text,
                   absl::StrFormat("empty; want a number and a unit %s", kDurationHint));
  constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t total_ms = 0;
  size_t next_unit = 0;  // index into kDurationUnits: units must come in order, each once
  size_t pos = 0;
  while (pos < text.size()) {
    if (!IsDigit(text[pos])) return Invalid(kWhat, text, Unexpected(text, pos, "\"1500ms\""));
    uint64_t value = 0;
    if (!ReadNumber(text, &pos, kLimit, &value)) return Invalid(kWhat, text, "too large");
    const size_t unit_start = pos;
    while (pos < text.size() && IsLetter(text[pos])) ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit.empty()) {
      if (pos < text.size()) return Invalid(kWhat, text, Unexpected(text, pos, "\"1500ms\""));
      return Invalid(kWhat, text, absl::StrFormat("missing unit %s", kDurationHint));
    }
    size_t index = 0;
    while (index < std::size(kDurationUnits) && kDurationUnits[index].name != unit) ++index;
    if (index == std::size(kDurationUnits)) {
      return Invalid(kWhat, text,
                     absl::StrFormat("unknown unit %s %s", Quote(unit), kDurationHint));
    }
    if (index < next_unit) {
      return Invalid(kWhat, text, "units must appear in the order h, m, s, ms, each at most once");
    }
    next_unit = index + 1;
    const uint64_t factor = kDurationUnits[index].factor;
    if (value > kLimit / factor || total_ms > kLimit - value * factor) {
      return Invalid(kWhat, text, "too large");
    }
    total_ms += value * factor;
  }
  return absl::Milliseconds(static_cast<int64_t>(total_ms));
}

absl::StatusOr<uint64_t> ParseSize(std::string_view text) {
  constexpr std::string_view kWhat = "size";
  if (text.empty())
    return Invalid(kWhat, text, absl::StrFormat("empty; want a number and a unit %s", kSizeHint));
  constexpr uint64_t kLimit = std::numeric_limits<uint64_t>::max();
  size_t pos = 0;
  if (!IsDigit(text[0])) return Invalid(kWhat, text, Unexpected(text, 0, "\"1536KiB\""));
  uint64_t value = 0;
  if (!ReadNumber(text, &pos, kLimit, &value)) return Invalid(kWhat, text, "too large");
  const std::string_view unit = text.substr(pos);
  if (unit.empty()) return value;  // a bare integer is a number of bytes
  if (!IsLetter(unit[0])) return Invalid(kWhat, text, Unexpected(text, pos, "\"1536KiB\""));
  for (const Unit& u : kSizeUnits) {
    if (u.name != unit) continue;
    if (value > kLimit / u.factor) return Invalid(kWhat, text, "too large");
    return value * u.factor;
  }
  return Invalid(kWhat, text, absl::StrFormat("unknown unit %s %s", Quote(unit), kSizeHint));
}

std::string DurationToString(absl::Duration duration) {
  if (duration == absl::InfiniteDuration()) return "inf";
  if (duration == -absl::InfiniteDuration()) return "-inf";
  std::string out;
  if (duration < absl::ZeroDuration()) {
    out = "-";
    duration = -duration;
  }
  int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms == 0) return out + "0s";
  for (const Unit& u : kDurationUnits) {
    const int64_t factor = static_cast<int64_t>(u.factor);
    if (ms >= factor) {
      out += absl::StrFormat("%d%s", ms / factor, u.name);
      ms %= factor;
    }
  }
  return out;
}

std::string SizeToString(uint64_t bytes) {
  for (size_t i = std::size(kSizeUnits); i-- > 1;) {
    if (bytes != 0 && bytes % kSizeUnits[i].factor == 0) {
      return absl::StrFormat("%d%s", bytes / kSizeUnits[i].factor, kSizeUnits[i].name);
    }
  }
  return absl::StrFormat("%dB", bytes);
}

}  // namespace edge::config
