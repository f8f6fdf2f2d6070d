#pragma once
// Reading a config file into memory, with errors a user can act on.

#include <string>

#include "absl/status/statusor.h"

namespace edge::config {

// Reads the whole file at `path` (a regular file, pipe or anything else open(2)+read(2) accept).
// Fails with "cannot read PATH: REASON" (strerror text) when it cannot be opened or read, and with
// "cannot read PATH: larger than N bytes" beyond kMaxConfigBytes (common/config/toml.h), so that a
// device such as /dev/zero does not exhaust memory. Every failure is InvalidArgument, like every
// other config error, so callers map one code to exit status 2.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path);

}  // namespace edge::config
