#pragma once
// A route's `request_headers = { set = {...}, add = {...}, remove = [...] }` and
// `response_headers = { ... }` (README "Header transforms"), read and checked at load.
//
//   set     replaces: every field of that name the client (request) or the upstream (response)
//           sent is removed and this value goes out instead
//   add     appends a field, keeping any of the same name
//   remove  removes every field of that name
//
// Refused at load, with file:line:col: names that are not tokens; values with CR, LF, NUL or other
// controls (they would split the head); hop-by-hop fields (Connection, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Connection: they describe one connection, and gw7 writes its
// own); the fields that frame or route a message (Host and Content-Length on requests;
// Content-Length, Content-Encoding on responses: changing them would break the body's framing or
// meaning); the fields gw7 itself owns (X-Request-Id, and on requests X-Forwarded-For, Forwarded,
// X-Forwarded-Proto, Expect); one name twice across set/add/remove (in any case).

#include <string>
#include <utility>
#include <vector>

#include "common/config/table_reader.h"

namespace edge::l7 {

struct HeaderEdits {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
};

enum class HeaderDirection { kRequest, kResponse };

// Why gw7 refuses to let a route's `direction` edit touch the field `name`, or "" when it may.
std::string_view HeaderEditRefusal(HeaderDirection direction, std::string_view name);

// Reads `key` (request_headers | response_headers) of a route table into *out; errors go to the
// reader's ConfigErrors. Absent: *out stays empty.
void ReadHeaderEdits(config::TableReader& route, std::string_view key, HeaderDirection direction,
                     HeaderEdits* out);

}  // namespace edge::l7
