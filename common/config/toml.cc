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

// A character that toml++ must not see, with the reason to give.
struct UnsafeCharacter {
  size_t offset = std::string_view::npos;
  std::string reason;
};

// The code points for which toml++ 3.3.0's is_non_ascii_horizontal_whitespace() reaches
// TOML_UNREACHABLE instead of returning false (its generated lookup lacks these blocks).
bool TomlppMisclassifies(char32_t c) {
  return (c >= 0xA1 && c <= 0x499) || (c >= 0x2C5E && c <= 0x2FFF) ||
         (c >= 0x3001 && c <= 0x3057) || (c >= 0xFB26 && c <= 0xFEFE);
}

// Decodes the well-formed UTF-8 sequence of at most 3 bytes at text[i] (all code points up to
// U+FFFF), setting *length; 0 for anything else (toml++'s reader reports malformed UTF-8 itself).
char32_t DecodeUpTo3Bytes(std::string_view text, size_t i, size_t* length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const auto continuation = [&](size_t k) {
    return i + k < text.size() && (byte(k) & 0xC0) == 0x80;
  };
  *length = 1;
  if ((byte(0) & 0xE0) == 0xC0 && continuation(1)) {
    *length = 2;
    return (char32_t{byte(0) & 0x1Fu} << 6) | (byte(1) & 0x3Fu);
  }
  if ((byte(0) & 0xF0) == 0xE0 && continuation(1) && continuation(2)) {
    *length = 3;
    return (char32_t{byte(0) & 0x0Fu} << 12) | (char32_t{byte(1) & 0x3Fu} << 6) | (byte(2) & 0x3Fu);
  }
  return 0;
}

// toml++ 3.3.0 (Debian 12) has undefined behaviour in is_non_ascii_horizontal_whitespace(): for
// the code points of TomlppMisclassifies() (most of U+00A1..U+0499: Latin-1, Greek, Cyrillic; CJK
// punctuation; ...) it reaches TOML_UNREACHABLE (upstream marzer/tomlplusplus#190, #295; fixed
// after 3.3.0). Found by tests/fuzz/config. The parser asks that question about characters
// outside strings and comments, about the character after a backslash in a multi-line string,
// and, while it scans ahead over an invalid value such as `1"x`, about characters that look like
// string contents. So before toml++ sees the text we refuse:
//   - any non-ASCII character outside strings and comments (never valid TOML 1.0 anyway);
//   - a non-ASCII character right after a backslash (and its whitespace) in a basic string;
//   - the misclassified code points inside strings; "\uXXXX" escapes write them safely.
// Comments are never scanned that way (the scan stops at '#'), so they may hold anything.
// This mirrors TOML's lexical states just enough to tell strings and comments apart.
UnsafeCharacter FindUnsafeCharacter(std::string_view text) {
  enum class State { kNormal, kComment, kBasic, kLiteral, kMultiBasic, kMultiLiteral };
  auto quote_run = [&](size_t i, char quote) {
    size_t n = 0;
    while (i + n < text.size() && text[i + n] == quote) ++n;
    return n;
  };
  auto after_backslash = [](size_t at) {
    return UnsafeCharacter{
        at, "non-ASCII character after a backslash in a string (write it as \\uXXXX)"};
  };
  State state = State::kNormal;
  size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // toml++ skips a UTF-8 BOM
  while (i < text.size()) {
    const char c = text[i];
    if (state == State::kNormal) {
      if (!IsAscii(c)) return {i, "non-ASCII character outside a string or comment"};
      if (c == '#') {
        state = State::kComment;
      } else if (c == '"' || c == '\'') {
        if (quote_run(i, c) >= 3) {
          state = c == '"' ? State::kMultiBasic : State::kMultiLiteral;
          i += 3;
          continue;
        }
        state = c == '"' ? State::kBasic : State::kLiteral;
      }
      ++i;
      continue;
    }
    if (state == State::kComment) {
      if (c == '\n') state = State::kNormal;
      ++i;
      continue;
    }
    // Inside a string of some kind.
    if (!IsAscii(c)) {
      size_t length = 1;
      const char32_t code_point = DecodeUpTo3Bytes(text, i, &length);
      if (TomlppMisclassifies(code_point)) {
        return {i, absl::StrFormat("character U+%04X is not accepted in a string because of a "
                                   "toml++ 3.3.0 bug; write it as \\u%04X in a \"...\" string",
                                   static_cast<uint32_t>(code_point),
                                   static_cast<uint32_t>(code_point))};
      }
      i += length;
      continue;
    }
    const bool basic = state == State::kBasic || state == State::kMultiBasic;
    const bool multi = state == State::kMultiBasic || state == State::kMultiLiteral;
    const char quote = basic ? '"' : '\'';
    if (basic && c == '\\') {
      size_t j = i + 1;
      if (multi) {  // a line-ending backslash: toml++ skips the whitespace that follows
        while (j < text.size() &&
               (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n')) {
          ++j;
        }
      }
      if (j < text.size() && !IsAscii(text[j])) return after_backslash(j);
      i = j > i + 1 ? j : i + 2;  // after whitespace, look at the next character normally
      continue;
    }
    if (c == quote) {
      if (!multi) {
        state = State::kNormal;
        ++i;
        continue;
      }
      const size_t run = quote_run(i, quote);
      if (run >= 3) state = State::kNormal;  // up to two more quotes belong to the string
      i += run;
      continue;
    }
    if (c == '\n' && !multi) state = State::kNormal;  // an unterminated string: toml++ says so
    ++i;
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
