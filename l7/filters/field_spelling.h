#pragma once
// Field names as the upstream may read them. HTTP compares field names case-insensitively, and
// many backends also merge '_' with '-': CGI, WSGI, PHP and Rack turn both "X-Consumer" and
// "X_Consumer" into HTTP_X_CONSUMER. So a name gw7 strips, or a credential it counts, must be
// recognised in every such spelling, not only in its exact case-folded form.

#include <string_view>

namespace edge::l7 {

// The folded form of one name character: ASCII lower case, '_' as '-'.
inline char FoldFieldChar(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c + ('a' - 'A'));
  return c == '_' ? '-' : c;
}

// Whether `a` and `b` name the same field for a backend that merges case and '_' / '-'.
inline bool SameFieldSpelling(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (FoldFieldChar(a[i]) != FoldFieldChar(b[i])) return false;
  }
  return true;
}

}  // namespace edge::l7
