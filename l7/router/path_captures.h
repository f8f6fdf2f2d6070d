#pragma once
// The captures of a route's path_template ("/accounts/{id}/balance") in a request path the router
// matched with it: the filter needs the values ({path.id}) and the config check the names.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::l7 {

// The names a template captures, in order ("/a/{x}/{y}" -> {"x", "y"}).
std::vector<std::string> TemplateCaptureNames(std::string_view path_template);

// Segment by segment; a capture takes its segment as it is (the path is already normalised).
// Captures the path lacks (it cannot, once routed) are left out.
std::vector<std::pair<std::string, std::string>> PathCaptures(std::string_view path_template,
                                                              std::string_view path);

}  // namespace edge::l7
