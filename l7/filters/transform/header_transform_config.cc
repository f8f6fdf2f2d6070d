#include "l7/filters/transform/header_transform_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/http/chars.h"
#include "common/http/hop_by_hop.h"
#include "common/http/message.h"

namespace edge::l7 {
namespace {

bool IsFieldName(std::string_view s) {
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), http::internal::IsTchar);
}

// Visible ASCII with inner spaces and tabs: nothing that ends a line or a head.
bool IsFieldValue(std::string_view s) {
  if (s.size() > 4096) return false;
  if (!s.empty() &&
      (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u != 0x7f) || u == '\t';
  });
}

bool Is(std::string_view a, std::string_view b) { return http::EqualsIgnoreCase(a, b); }

}  // namespace

std::string_view HeaderEditRefusal(HeaderDirection direction, std::string_view name) {
  if (http::IsHopByHopField(name)) {
    return "is hop-by-hop (it describes one connection; gw7 writes its own)";
  }
  if (Is(name, "content-length")) return "frames the body; gw7 writes its own";
  if (Is(name, "x-request-id")) return "is gw7's own (the request id)";
  if (direction == HeaderDirection::kRequest) {
    if (Is(name, "host")) return "routes the request; use the route's host and rewrites instead";
    if (Is(name, "expect")) return "is gw7's own (100-continue is handled per hop)";
    if (Is(name, "x-forwarded-for") || Is(name, "forwarded") || Is(name, "x-forwarded-proto")) {
      return "is gw7's own (it says who the client is; see trusted_proxies)";
    }
  } else {
    if (Is(name, "content-encoding")) return "says how the body is encoded; use compress instead";
  }
  return "";
}

void ReadHeaderEdits(config::TableReader& route, std::string_view key, HeaderDirection direction,
                     HeaderEdits* out) {
  const toml::table* table = route.ReadTable(key);
  if (table == nullptr) return;
  config::TableReader r(*table, route.errors(), route.context(), {"set", "add", "remove"},
                        absl::StrFormat("%s.", key));
  std::vector<std::string> seen;  // lower case, across set/add/remove
  auto check_name = [&](const toml::node& node, std::string_view display, std::string_view name) {
    if (!IsFieldName(name)) {
      route.errors().Add(node, route.context(), display,
                         absl::StrFormat("not a valid header name: %s", config::Quote(name)));
      return false;
    }
    if (std::string_view why = HeaderEditRefusal(direction, name); !why.empty()) {
      route.errors().Add(node, route.context(), display,
                         absl::StrFormat("%s %s", config::Quote(name), why));
      return false;
    }
    std::string lower(name);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (std::find(seen.begin(), seen.end(), lower) != seen.end()) {
      route.errors().Add(node, route.context(), display,
                         absl::StrFormat("%s is named twice in %s (set, add and remove each take "
                                         "a name once, in any case)",
                                         config::Quote(name), key));
      return false;
    }
    seen.push_back(std::move(lower));
    return true;
  };
  auto read_pairs = [&](std::string_view sub,
                        std::vector<std::pair<std::string, std::string>>* pairs) {
    const toml::table* t = r.ReadTable(sub);
    if (t == nullptr) return;
    for (const auto& [name, node] : *t) {
      const std::string display =
          absl::StrFormat("%s.%s.%s", key, sub, std::string_view(name.str()));
      const auto* value = node.as_string();
      if (value == nullptr) {
        route.errors().Add(node, route.context(), display,
                           absl::StrFormat("expected a string, got %s", config::TypeName(node)));
        continue;
      }
      if (!check_name(node, display, name.str())) continue;
      if (!IsFieldValue(value->get())) {
        route.errors().Add(node, route.context(), display,
                           absl::StrFormat("must be printable ASCII (no CR, LF, NUL or other "
                                           "control characters) without leading or trailing "
                                           "blanks, at most 4096 bytes, got %s",
                                           config::Quote(value->get())));
        continue;
      }
      pairs->emplace_back(std::string(name.str()), value->get());
    }
  };
  read_pairs("set", &out->set);
  read_pairs("add", &out->add);
  if (const toml::array* remove = r.ReadArray("remove")) {
    const std::string display = absl::StrFormat("%s.remove", key);
    for (const toml::node& node : *remove) {
      const auto* name = node.as_string();
      if (name == nullptr) {
        route.errors().Add(node, route.context(), display,
                           absl::StrFormat("expected a string, got %s", config::TypeName(node)));
        continue;
      }
      if (check_name(node, display, name->get())) out->remove.push_back(name->get());
    }
  }
}

}  // namespace edge::l7
