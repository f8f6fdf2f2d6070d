// Fuzz builds define EDGE_TOML_IMPLEMENTATION to compile toml++'s parser into this file, so that
// it is instrumented for coverage like our own code (the system's libtomlplusplus.so is not); the
// definitions here then take precedence over the shared library's. Normal builds use the library.
#ifdef EDGE_TOML_IMPLEMENTATION
#define TOML_IMPLEMENTATION
#endif
#include "common/config/toml.h"

#include <string>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"

namespace edge::config {

absl::StatusOr<toml::table> ParseToml(std::string_view text, std::string_view source_name) {
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(FormatConfigError(
        source_name, {}, "", "",
        absl::StrFormat("larger than %d bytes; refusing to parse", kMaxConfigBytes)));
  }
  try {
    // Nesting depth is bounded inside toml++ (TOML_MAX_NESTED_VALUES, 256), so this recursion is
    // bounded too; see tests/fuzz/config.
    // With exceptions on, parse_result is the table itself.
    toml::table table = toml::parse(text, std::string_view(source_name));
    return table;
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        FormatConfigError(source_name, e.source().begin, "", "",
                          absl::StrFormat("invalid TOML: %s", e.description())));
  }
}

}  // namespace edge::config
