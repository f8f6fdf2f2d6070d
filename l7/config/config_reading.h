#pragma once
// What the readers of gateway.toml's tables share (gateway_config.cc reads [gw7] and [[route]],
// upstream_config.cc reads [[upstream]]): limits, names, contexts and positions for messages.
// Internal to l7/config.

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/config/table_reader.h"
#include "common/config/toml.h"

namespace edge::l7::config_internal {

// Durations stay within a day so that every timeout fits any millisecond timer wheel.
inline constexpr absl::Duration kMinDuration = absl::Milliseconds(1);
inline constexpr absl::Duration kMaxDuration = absl::Hours(24);

// RFC 9110 token (tchar*): what a method or a header field name may be made of.
bool IsToken(std::string_view s);
std::string Lower(std::string_view s);

// Where each named thing and each reference came from, for cross-table messages.
struct Origin {
  std::string context;
  toml::source_position name{};
  toml::source_position upstream{};
  toml::source_position auth{};
  toml::source_position rate_limit{};
  toml::source_position concurrency_limit{};
  toml::source_position cache{};
};

// Reads the required `name` (config::IsValidName) and records where it came from.
bool ReadName(config::TableReader& reader, std::string* name, Origin* origin);

}  // namespace edge::l7::config_internal
