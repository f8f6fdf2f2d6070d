#include "l7/filters/soap/path_captures.h"

#include "l7/filters/transform/field_list.h"

namespace edge::l7 {
namespace {

bool IsCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

std::vector<std::string> TemplateCaptureNames(std::string_view path_template) {
  std::vector<std::string> names;
  for (std::string_view segment : SplitList(path_template, '/')) {
    if (IsCapture(segment)) names.emplace_back(segment.substr(1, segment.size() - 2));
  }
  return names;
}

std::vector<std::pair<std::string, std::string>> PathCaptures(std::string_view path_template,
                                                              std::string_view path) {
  std::vector<std::pair<std::string, std::string>> captures;
  std::vector<std::string_view> segments = SplitList(path, '/');
  size_t i = 0;
  for (std::string_view t : SplitList(path_template, '/')) {
    if (i == segments.size()) break;
    if (IsCapture(t)) captures.emplace_back(t.substr(1, t.size() - 2), segments[i]);
    ++i;
  }
  return captures;
}

}  // namespace edge::l7
