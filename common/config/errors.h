#pragma once
// Config errors a user can act on: "FILE:LINE:COL: CONTEXT: KEY: MESSAGE", e.g.
//   conf/edge.toml:14:11: pool "gateways": balance: unknown value "magelv" (maglev|round_robin|...)
// One error per line, whatever bytes the config contained (control characters are escaped).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/config/toml.h"

namespace edge::config {

// `text` in double quotes, with backslash, quote and non-printable bytes escaped (\n, \x01, ...)
// and cut after 64 bytes ("..." marks the cut). For showing config values inside messages.
std::string Quote(std::string_view text);

// Joins the non-empty parts as "SOURCE:LINE:COL: CONTEXT: KEY: MESSAGE". A position with line 0
// (unknown) prints as "SOURCE: ...". Control characters anywhere are escaped.
std::string FormatConfigError(std::string_view source, const toml::source_position& where,
                              std::string_view context, std::string_view key,
                              std::string_view message);

// Collects the errors of one config file so that `--check` reports all of them at once.
// Not thread-safe; one per parse.
class ConfigErrors {
 public:
  // Keeps at most this many messages; later ones are only counted.
  static constexpr size_t kMaxKept = 50;

  explicit ConfigErrors(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }

  // Records an error at `where` (usually a node's or key's source().begin).
  void Add(const toml::source_position& where, std::string_view context, std::string_view key,
           std::string_view message);
  // Records an error about a node, at the start of that node.
  void Add(const toml::node& node, std::string_view context, std::string_view key,
           std::string_view message) {
    Add(node.source().begin, context, key, message);
  }

  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }

  // The formatted messages ordered by position (line, column); errors without a position last.
  std::vector<std::string> Messages() const;

  // OK when empty; otherwise InvalidArgument whose message is Messages() joined by '\n', followed
  // by "(N more errors)" when more than kMaxKept were recorded.
  absl::Status ToStatus() const;

 private:
  struct Entry {
    uint32_t line;
    uint32_t column;
    std::string text;
  };
  std::string source_;
  std::vector<Entry> entries_;
  size_t count_ = 0;
};

}  // namespace edge::config
