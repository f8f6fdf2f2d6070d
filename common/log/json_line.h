#pragma once
// JsonLine: one flat JSON object on one line, written field by field into a string (the access
// and connection logs). Keys are the caller's literals (not escaped); string values are escaped
// so that the line stays one valid JSON line whatever a client sent: quotes, backslashes and
// control characters are escaped, and bytes that are not well-formed UTF-8 become U+FFFD (a log
// reader must never be handed invalid JSON or a raw newline by a client).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edge::log {

// Appends `s` escaped for a JSON string literal (without the quotes).
void AppendJsonEscaped(std::string* out, std::string_view s);

class JsonLine {
 public:
  explicit JsonLine(std::string* out) : out_(out) { out_->push_back('{'); }
  // Continues an object the caller has begun in *out (its '{' written; `first`: no field yet).
  JsonLine(std::string* out, bool first) : out_(out), first_(first) {}

  JsonLine& String(std::string_view key, std::string_view value);
  // An empty value is written as null: "no consumer", "no upstream".
  JsonLine& StringOrNull(std::string_view key, std::string_view value);
  JsonLine& Int(std::string_view key, int64_t value);
  JsonLine& OptionalInt(std::string_view key, std::optional<int64_t> value);  // null when absent
  JsonLine& Bool(std::string_view key, bool value);
  JsonLine& Null(std::string_view key);
  // Ends the object (no newline: the sink adds it).
  void Finish() { out_->push_back('}'); }

 private:
  void Key(std::string_view key);

  std::string* out_;
  bool first_ = true;
};

}  // namespace edge::log
