#pragma once
// QueryRedactor: replaces the values of secret query parameters (`[gw7.access_log] redact`) in a
// request target before it is logged, so that API keys and tokens sent in URLs never reach a log.
//
// Redaction must hold against any spelling that some upstream or framework would still read as
// the secret parameter, so names are compared loosely (redacting too much is harmless, too little
// leaks a credential). A parameter name matches a configured one when, after
//   - percent-decoding, repeated (up to 4 times: "api%255Fkey" -> "api%5Fkey" -> "api_key"), and
//     '+' read as a space (form encoding),
//   - cutting at a NUL byte (C string handling) and at '[' (PHP/Rack arrays: "api_key[]"),
//   - trimming spaces and tabs, ASCII case folding ("API_KEY"),
//   - treating '-', '.', ' ' and '_' as one character (PHP turns ' ' and '.' into '_'),
// both are equal. Every occurrence is redacted (repeated parameters), and parameters are split at
// '&', ';' (old form encoding) and '?' (a second '?', in case a server splits there). Path
// parameters (";name=value" after a path segment) are redacted too. The name is logged as sent;
// the value becomes "REDACTED" (an empty value stays empty: nothing to hide).

#include <string>
#include <string_view>
#include <vector>

namespace edge::l7 {

class QueryRedactor {
 public:
  static constexpr std::string_view kReplacement = "REDACTED";

  QueryRedactor() = default;
  explicit QueryRedactor(const std::vector<std::string>& names);

  bool empty() const { return names_.empty(); }
  // The target with every matching parameter's value replaced; unchanged when nothing matches
  // (or the list is empty).
  std::string Redact(std::string_view target) const;

  // The comparison form of a parameter name (exposed for tests).
  static std::string Normalize(std::string_view raw_name);

 private:
  bool Matches(std::string_view raw_name) const;
  // Appends `params` (the text between the separators) redacted.
  void RedactParams(std::string_view params, std::string_view separators, std::string* out) const;

  std::vector<std::string> names_;  // normalised
};

}  // namespace edge::l7
