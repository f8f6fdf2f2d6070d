#pragma once
// Helpers for the common/http tests: result printing and the prefix/split checks every parser
// test applies.

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <string_view>

#include "common/http/message.h"

namespace edge::http {

inline std::ostream& operator<<(std::ostream& os, const ParseResult& r) {
  switch (r.status) {
    case ParseStatus::kNeedMore:
      return os << "NeedMore";
    case ParseStatus::kComplete:
      return os << "Complete(" << r.consumed << ")";
    case ParseStatus::kError:
      return os << "Error(" << r.error.status << ", " << r.error.reason << ")";
  }
  return os;
}

inline bool operator==(const ParseResult& a, const ParseResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.error == b.error;
}

// Printable form of raw bytes for failure messages.
inline std::string Escaped(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace edge::http
