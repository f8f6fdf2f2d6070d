#include "l7/router/path_captures.h"

namespace edge::l7 {
namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  for (size_t at; (at = path.find('/')) != std::string_view::npos; path.remove_prefix(at + 1)) {
    out.push_back(path.substr(0, at));
  }
  out.push_back(path);
  return out;
}

bool IsCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

std::vector<std::string> TemplateCaptureNames(std::string_view path_template) {
  std::vector<std::string> names;
  for (std::string_view segment : Segments(path_template)) {
    if (IsCapture(segment)) names.emplace_back(segment.substr(1, segment.size() - 2));
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> PathCaptures(std::string_view path_template,
                                                              std::string_view path) {
  std::vector<std::pair<std::string, std::string>> captures;
  std::vector<std::string_view> segments = Segments(path);
  size_t i = 0;
  for (std::string_view t : Segments(path_template)) {
    if (i == segments.size()) break;
    if (IsCapture(t)) captures.emplace_back(t.substr(1, t.size() - 2), segments[i]);
    ++i;
  }
  return captures;
}

}  // namespace edge::l7
