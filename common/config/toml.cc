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
    return absl::InvalidArgumentError(FormatConfigError(source_name, e.source().begin, "", "",
                                                        absl::StrFormat("invalid TOML: %s",
                                                                        e.description())));
  }
}

}  // namespace edge::config
