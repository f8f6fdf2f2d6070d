#pragma once
// Arrays of named tables ([[auth]], [[rate_limit]], [[concurrency_limit]], ...): each table has a
// unique `name` that other tables refer to. The shared rules for those names, and the walk over
// such an array with error contexts that say which table is meant.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/config/errors.h"
#include "common/config/toml.h"

namespace edge::config {

constexpr size_t kMaxNameLength = 64;

// 1..kMaxNameLength characters of A-Z a-z 0-9 _ - .
bool IsValidName(std::string_view name);

// How errors about the index-th table of an array name it: `kind "name"` when the table has a
// valid name, else `kind[index]` (decided before reading, so unknown-key errors get it too).
std::string NamedTableContext(std::string_view kind, size_t index, const toml::table& table);

// Calls `each(table, context)` for every table of document[key], in order. `context` names the
// table in error messages: `key "name"` once it has a valid name, else `key[i]`. An element
// that is not a table is recorded and skipped. Returns false (recorded in `errors`) when
// document[key] is present but not an array; true otherwise, also when it is absent.
bool ForEachNamedTable(const toml::table& document, std::string_view key, ConfigErrors& errors,
                       const std::function<void(const toml::table&, const std::string&)>& each);

}  // namespace edge::config
