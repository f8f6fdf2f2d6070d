#include "common/config/named_tables.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace edge::config {

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

std::string NamedTableContext(std::string_view kind, size_t index, const toml::table& table) {
  if (const auto* name = table.get_as<std::string>("name"); name && IsValidName(name->get())) {
    return absl::StrFormat("%s %s", kind, Quote(name->get()));
  }
  return absl::StrFormat("%s[%d]", kind, index);
}

bool ForEachNamedTable(const toml::table& document, std::string_view key, ConfigErrors& errors,
                       const std::function<void(const toml::table&, const std::string&)>& each) {
  const toml::node* node = document.get(key);
  if (node == nullptr) return true;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    errors.Add(*node, "", key, absl::StrFormat("must be an array of tables ([[%s]])", key));
    return false;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = (*array)[i].as_table();
    if (table == nullptr) {
      errors.Add((*array)[i], "", absl::StrFormat("%s[%d]", key, i), "must be a table");
      continue;
    }
    each(*table, NamedTableContext(key, i, *table));
  }
  return true;
}

}  // namespace edge::config
