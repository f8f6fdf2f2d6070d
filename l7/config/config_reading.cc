#include "l7/config/config_reading.h"

#include "absl/strings/str_format.h"
#include "common/config/named_tables.h"

namespace edge::l7::config_internal {
namespace {

using config::IsValidName;
using config::kMaxNameLength;
using config::Quote;
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

std::string ContextFor(std::string_view kind, size_t index, const toml::table& table) {
  if (const auto* name = table.get_as<std::string>("name"); name && IsValidName(name->get())) {
    return absl::StrFormat("%s %s", kind, Quote(name->get()));
  }
  return absl::StrFormat("%s[%d]", kind, index);
}

bool ReadName(TableReader& reader, std::string* name, Origin* origin) {
  origin->context = reader.context();
  origin->name = reader.PositionOf("name");
  if (!reader.Require("name") || !reader.ReadString("name", name)) return false;
  if (!IsValidName(*name)) {
    reader.Error("name", absl::StrFormat("must be 1-%d characters of A-Z a-z 0-9 _ - ., got %s",
                                         kMaxNameLength, Quote(*name)));
    name->clear();
    return false;
  }
  return true;
}

}  // namespace edge::l7::config_internal
