#pragma once
// Secrets kept in files of their own (admin tokens, Redis passwords): read when the config is
// loaded (start, --check and every reload), so a bad file is a config error, never a surprise at
// the first use.
//
// The file must be a regular file, not readable or writable by others (mode o-rwx), holding one
// line of visible ASCII characters (no spaces) between the given lengths, optionally followed by
// one line end. Messages name the problem and the path, never the secret.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace edge::config {

struct SecretRules {
  std::string_view what = "secret";  // in messages: "the token has 5 characters, ..."
  size_t min_length = 1;
  size_t max_length = 4096;
};

// The secret in `path`, or InvalidArgument saying why the file does not hold one.
absl::StatusOr<std::string> LoadSecretFile(const std::string& path, const SecretRules& rules);

}  // namespace edge::config
