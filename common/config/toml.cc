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
namespace {

bool IsAscii(char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; }

// A non-ASCII character that toml++ must not see, with the reason to give.
struct UnsafeCharacter {
  size_t offset = std::string_view::npos;
  std::string_view reason;
};

// toml++ 3.3.0 (Debian 12) has undefined behaviour in is_non_ascii_horizontal_whitespace(): it
// reaches TOML_UNREACHABLE for most code points in U+00A1..U+0499 and U+2C5E..U+3057 (Latin-1,
// Greek, Cyrillic, CJK punctuation, ...); upstream marzer/tomlplusplus#190 and #295, fixed after
// 3.3.0. The parser asks that question only about characters outside strings and comments, and in
// a multi-line basic string about the character after a backslash and the first one after a
// line-ending backslash's whitespace. Outside strings and comments no non-ASCII character is valid
// TOML 1.0 anyway, and one right after a backslash is an invalid escape or a rare corner, so such
// input is refused here, before toml++ sees it. Comments and string contents are not affected.
// This mirrors TOML's lexical states just enough to tell strings and comments apart.
UnsafeCharacter FindUnsafeCharacter(std::string_view text) {
  enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  constexpr std::string_view kOutside = "non-ASCII character outside a string or comment";
  constexpr std::string_view kAfterBackslash =
      "non-ASCII character after a backslash in a string (escape it as \\uXXXX)";
  auto quote_run = [&](size_t i, char quote) {
    size_t n = 0;
    while (i + n < text.size() && text[i + n] == quote) ++n;
    return n;
  };
  State state = State::kNormal;
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // toml++ skips a UTF-8 BOM
  while (i < text.size()) {
    const char c = text[i];
    switch (state) {
      case State::kNormal:
        if (!IsAscii(c)) return {i, kOutside};
        if (c == '#') {
          state = State::kComment;
        } else if (c == '"' || c == '\'') {
          const bool multi = quote_run(i, c) >= 3;
          if (multi) {
            state = c == '"' ? State::kMultiBasic : State::kMultiLiteral;
            i += 3;
            continue;
          }
          state = c == '"' ? State::kBasic : State::kLiteral;
        }
        ++i;
        break;
      case State::kComment:
        if (c == '\n') state = State::kNormal;
        ++i;
        break;
      case State::kBasic:
        if (c == '\\') {
          if (i + 1 < text.size() && !IsAscii(text[i + 1])) return {i + 1, kAfterBackslash};
          i += 2;
          continue;
        }
        if (c == '"' || c == '\n') state = State::kNormal;  // a newline here is a toml++ error
        ++i;
        break;
      case State::kLiteral:
        if (c == '\'' || c == '\n') state = State::kNormal;
        ++i;
        break;
      case State::kMultiBasic:
      case State::kMultiLiteral: {
        const char quote = state == State::kMultiBasic ? '"' : '\'';
        if (state == State::kMultiBasic && c == '\\') {
          size_t j = i + 1;
          while (j < text.size() &&
                 (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
            ++j;
          }
          if (j < text.size() && !IsAscii(text[j])) return {j, kAfterBackslash};
          i = j > i + 1 ? j : i + 2;  // after whitespace, look at the next character normally
          continue;
        }
        if (c == quote) {
          const size_t run = quote_run(i, quote);
          if (run >= 3) state = State::kNormal;  // up to two more quotes belong to the string
          i += run;
          continue;
        }
        ++i;
        break;
      }
    }
  }
  return {};
}

// Line and column (in code points, like toml++) of byte `offset`.
toml::source_position PositionOf(std::string_view text, size_t offset) {
  toml::source_position position{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++position.column;
    }
  }
  return position;
}

}  // namespace

absl::StatusOr<toml::table> ParseToml(std::string_view text, std::string_view source_name) {
  if (text.size() > kMaxConfigBytes) {
    return absl::InvalidArgumentError(FormatConfigError(
        source_name, {}, "", "",
        absl::StrFormat("larger than %d bytes; refusing to parse", kMaxConfigBytes)));
  }
  if (const UnsafeCharacter unsafe = FindUnsafeCharacter(text);
      unsafe.offset != std::string_view::npos) {
    return absl::InvalidArgumentError(
        FormatConfigError(source_name, PositionOf(text, unsafe.offset), "", "",
                          absl::StrFormat("invalid TOML: %s", unsafe.reason)));
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
