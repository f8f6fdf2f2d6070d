#include "l7/server/path_check.h"

namespace edge::l7 {
namespace {

// Counts the dots of a segment made only of "." or "%2e"; -1 when it has anything else.
int DotsOnly(std::string_view segment) {
  int dots = 0;
  size_t i = 0;
  while (i < segment.size()) {
    if (segment[i] == '.') {
      ++i;
    } else if (segment.size() - i >= 3 && segment[i] == '%' && segment[i + 1] == '2' &&
               (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
      i += 3;
    } else {
      return -1;
    }
    ++dots;
  }
  return dots;
}

}  // namespace

bool PathHasNoDotSegments(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    int dots = DotsOnly(path.substr(start, slash - start));
    if (dots == 1 || dots == 2) return false;
    start = slash + 1;
  }
  return true;
}

}  // namespace edge::l7
