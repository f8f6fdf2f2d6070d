#include "l7/config/config_reading.h"

#include <algorithm>
#include <string>

namespace edge::l7::config_internal {
namespace {

using config::TableReader;

// RFC 9110 tchar: what a method or a header field name may be made of.
bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

bool IsToken(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), IsTchar);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool ReadName(TableReader& reader, std::string* name, Origin* origin) {
  origin->context = reader.context();
  origin->name = reader.PositionOf("name");
  return reader.ReadRequiredName("name", name);
}

}  // namespace edge::l7::config_internal
