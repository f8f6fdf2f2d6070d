#pragma once
// Splitting HTTP list fields ("a, b;q=0.5") for the transform filters. Header-only: tiny, and
// absl::StrSplit does not take std::string_view with this Abseil build.

#include <string_view>
#include <vector>

namespace edge::l7 {

// `s` without leading and trailing spaces and tabs (HTTP's OWS).
inline std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The pieces of `s` between `sep` characters, each trimmed (empty pieces kept).
inline std::vector<std::string_view> SplitList(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t at = s.find(sep);
    out.push_back(TrimOws(s.substr(0, at)));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

}  // namespace edge::l7
