#include "common/health/check_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/units.h"

namespace edge::health {

namespace {

constexpr config::EnumValue<CheckKind> kCheckKinds[] = {
    {"tcp", CheckKind::kTcp}, {"http", CheckKind::kHttp}, {"none", CheckKind::kNone}};

// Every duration of a check fits a millisecond timer and a day.
constexpr absl::Duration kMinDuration = absl::Milliseconds(1);
constexpr absl::Duration kMaxDuration = absl::Hours(24);

// `small_key` must not exceed `big_key`; the message names the key that was written (both may
// have been, or only one next to the other's default).
void CheckNotAbove(config::TableReader& r, std::string_view small_key, absl::Duration small,
                   std::string_view big_key, absl::Duration big) {
  if (small <= big) return;
  const std::string s = config::DurationToString(small);
  const std::string b = config::DurationToString(big);
  if (r.Has(small_key)) {
    r.Error(small_key, absl::StrFormat("must not exceed %s (%s%s), got \"%s\"", big_key, b,
                                       r.Has(big_key) ? "" : ", the default", s));
  } else {
    r.Error(big_key,
            absl::StrFormat("must be at least %s (%s, the default), got \"%s\"", small_key, s, b));
  }
}

// Reads a duration key; true when it is absent or valid.
bool ReadOptionalDuration(config::TableReader& r, std::string_view key, absl::Duration* out) {
  return !r.Has(key) || r.ReadDuration(key, out, kMinDuration, kMaxDuration);
}

}  // namespace

std::string_view CheckKindName(CheckKind kind) {
  for (const auto& v : kCheckKinds) {
    if (v.value == kind) return v.name;
  }
  return "?";
}

void ReadActiveCheck(config::TableReader& r, ActiveCheckConfig* out) {
  if (r.Has("check")) r.ReadEnum("check", &out->check, kCheckKinds);
  std::string path;
  if (r.Has("path") && r.ReadString("path", &path)) {
    bool ok = !path.empty() && path.front() == '/';
    for (char c : path) ok = ok && c > 0x20 && c < 0x7f;  // it goes into a request line
    if (ok) {
      out->path = std::move(path);
    } else {
      r.Error("path", absl::StrFormat("must start with '/' and hold only visible ASCII, got %s",
                                      config::Quote(path)));
    }
  }
  if (r.Has("port")) r.ReadInt("port", &out->port, uint16_t{1}, uint16_t{65535});
  const bool interval_ok = ReadOptionalDuration(r, "interval", &out->interval);
  const bool timeout_ok = ReadOptionalDuration(r, "timeout", &out->timeout);
  if (interval_ok && timeout_ok)
    CheckNotAbove(r, "timeout", out->timeout, "interval", out->interval);
  if (r.Has("rise")) r.ReadInt("rise", &out->rise, 1, kMaxRiseFall);
  if (r.Has("fall")) r.ReadInt("fall", &out->fall, 1, kMaxRiseFall);
  std::string expect;
  if (r.Has("expect_status") && r.ReadString("expect_status", &expect)) {
    absl::StatusOr<ExpectStatus> parsed = ExpectStatus::Parse(expect);
    if (parsed.ok()) {
      out->expect_status = *std::move(parsed);
    } else {
      r.Error("expect_status", std::string(parsed.status().message()));
    }
  }
}

void ReadEjection(config::TableReader& r, EjectionConfig* out, bool cap_follows_base) {
  if (r.Has("passive_failures")) {
    r.ReadInt("passive_failures", &out->passive_failures, 0, kMaxPassiveFailures);
  }
  const bool base_ok = ReadOptionalDuration(r, "ejection_time", &out->ejection_time);
  const bool cap_ok = ReadOptionalDuration(r, "max_ejection_time", &out->max_ejection_time);
  if (base_ok && cap_follows_base && !r.Has("max_ejection_time")) {
    out->max_ejection_time = std::max(out->max_ejection_time, out->ejection_time);
  }
  if (base_ok && cap_ok && out->max_ejection_time < out->ejection_time) {
    const std::string base = config::DurationToString(out->ejection_time);
    const std::string cap = config::DurationToString(out->max_ejection_time);
    if (r.Has("max_ejection_time")) {
      r.Error("max_ejection_time",
              absl::StrFormat("must be at least ejection_time (%s%s), got \"%s\"", base,
                              r.Has("ejection_time") ? "" : ", the default", cap));
    } else {
      r.Error("ejection_time",
              absl::StrFormat("must not exceed max_ejection_time (%s, the default), got \"%s\"",
                              cap, base));
    }
  }
  if (r.Has("max_ejection_percent")) {
    r.ReadInt("max_ejection_percent", &out->max_ejection_percent, 0, 100);
  }
}

}  // namespace edge::health
