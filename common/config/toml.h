#pragma once
// The project's one way in to toml++. Include this header, never <toml++/toml.h> directly, so that
// every translation unit sees the same toml++ configuration.
//
// toml++ is Debian's shared build (TOML_HEADER_ONLY=0), compiled with exceptions: only the
// throwing parser is exported, so TOML_EXCEPTIONS stays at its default and ParseToml() below is the
// boundary where toml::parse_error becomes an absl::Status. Nothing else in toml++'s read API that
// we use throws (node::as_*, value<T>(), table::get(), iteration).

#include <toml++/toml.h>

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"

namespace edge::config {

// Inputs larger than this are refused before parsing (a config is a few KiB; this bounds the
// memory and time spent on a hostile or mistaken input such as /dev/zero).
inline constexpr size_t kMaxConfigBytes = 4 << 20;

// Parses a TOML document. `source_name` (usually the file path) prefixes error messages.
// Never throws. A syntax error gives InvalidArgument "SOURCE:LINE:COL: invalid TOML: DESCRIPTION";
// an input over kMaxConfigBytes gives InvalidArgument "SOURCE: ...".
absl::StatusOr<toml::table> ParseToml(std::string_view text, std::string_view source_name);

}  // namespace edge::config
