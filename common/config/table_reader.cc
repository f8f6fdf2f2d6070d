#include "common/config/table_reader.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/str_format.h"
#include "common/config/named_tables.h"
#include "common/config/units.h"

namespace edge::config {
namespace {

constexpr size_t kMaxSuggestLength = 64;

// Levenshtein distance, for "did you mean". Both strings are short (checked by the caller).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A key as written by the user: bare keys as they are, anything else quoted and escaped.
std::string ShowKey(std::string_view key) {
  const bool bare = !key.empty() && key.size() <= kMaxSuggestLength &&
                    std::all_of(key.begin(), key.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '_' || c == '-';
                    });
  return bare ? std::string(key) : Quote(key);
}

std::string Join(const std::vector<std::string_view>& names, std::string_view separator) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out.append(separator.data(), separator.size());
    out.append(name.data(), name.size());
  }
  return out;
}

}  // namespace

std::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TableReader::TableReader(const toml::table& table, ConfigErrors& errors, std::string context,
                         std::initializer_list<std::string_view> allowed, std::string key_prefix)
    : table_(table),
      errors_(errors),
      context_(std::move(context)),
      allowed_(allowed),
      key_prefix_(std::move(key_prefix)) {
  ReportUnknownKeys();
}

std::string TableReader::DisplayKey(std::string_view key) const {
  return key_prefix_ + ShowKey(key);
}

void TableReader::ReportUnknownKeys() {
  for (const auto& [key, node] : table_) {
    const std::string_view name = key.str();
    if (std::find(allowed_.begin(), allowed_.end(), name) != allowed_.end()) continue;
    std::string suggestion;
    if (name.size() <= kMaxSuggestLength) {
      size_t best = 3;  // suggest only close matches: at most 2 edits
      for (std::string_view candidate : allowed_) {
        size_t distance = EditDistance(name, candidate);
        if (distance < best && distance < candidate.size()) {
          best = distance;
          suggestion = absl::StrFormat("; did you mean %s?", Quote(candidate));
        }
      }
    }
    errors_.Add(key.source().begin, context_, DisplayKey(name),
                absl::StrFormat("unknown key%s (allowed: %s)", suggestion, Join(allowed_, ", ")));
  }
}

const toml::node* TableReader::Lookup(std::string_view key) const {
  assert(std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end() &&
         "TableReader: reading a key that was not declared as allowed");
  return table_.get(key);
}

const toml::node* TableReader::Get(std::string_view key) const { return Lookup(key); }

toml::source_position TableReader::PositionOf(std::string_view key) const {
  const toml::node* node = Lookup(key);
  return node != nullptr ? node->source().begin : table_.source().begin;
}

bool TableReader::Require(std::string_view key) {
  if (Lookup(key) != nullptr) return true;
  errors_.Add(table_.source().begin, context_, DisplayKey(key), "missing required key");
  return false;
}

void TableReader::Error(std::string_view key, std::string_view message) {
  const toml::node* node = table_.get(key);
  errors_.Add(node != nullptr ? node->source().begin : table_.source().begin, context_,
              DisplayKey(key), message);
}

void TableReader::ErrorAt(const toml::node& node, std::string_view key, std::string_view message) {
  errors_.Add(node, context_, DisplayKey(key), message);
}

bool TableReader::ReadString(std::string_view key, std::string* out) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return false;
  const auto* value = node->as_string();
  if (value == nullptr) {
    ErrorAt(*node, key, absl::StrFormat("expected a string, got %s", TypeName(*node)));
    return false;
  }
  *out = value->get();
  return true;
}

bool TableReader::ReadRequiredName(std::string_view key, std::string* out) {
  if (!Require(key) || !ReadString(key, out)) return false;
  if (!IsValidName(*out)) {
    Error(key, absl::StrFormat("must be 1-%d characters of A-Z a-z 0-9 _ - ., got %s",
                               kMaxNameLength, Quote(*out)));
    out->clear();
    return false;
  }
  return true;
}

bool TableReader::ReadBool(std::string_view key, bool* out) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return false;
  const auto* value = node->as_boolean();
  if (value == nullptr) {
    ErrorAt(*node, key, absl::StrFormat("expected true or false, got %s", TypeName(*node)));
    return false;
  }
  *out = value->get();
  return true;
}

bool TableReader::ReadInt64(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return false;
  const auto* value = node->as_integer();
  if (value == nullptr) {
    ErrorAt(*node, key, absl::StrFormat("expected an integer, got %s", TypeName(*node)));
    return false;
  }
  const int64_t v = value->get();
  if (v < min || v > max) {
    std::string range = max == std::numeric_limits<int64_t>::max()
                            ? absl::StrFormat("at least %d", min)
                            : absl::StrFormat("between %d and %d", min, max);
    ErrorAt(*node, key, absl::StrFormat("must be %s, got %d", range, v));
    return false;
  }
  *out = v;
  return true;
}

bool TableReader::ReadDuration(std::string_view key, absl::Duration* out, absl::Duration min,
                               absl::Duration max) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return false;
  const auto* value = node->as_string();
  if (value == nullptr) {
    ErrorAt(*node, key,
            absl::StrFormat("expected a duration string with a unit such as \"500ms\", \"2s\" or "
                            "\"5m\", got %s",
                            TypeName(*node)));
    return false;
  }
  absl::StatusOr<absl::Duration> parsed = ParseDuration(value->get());
  if (!parsed.ok()) {
    ErrorAt(*node, key, std::string(parsed.status().message()));
    return false;
  }
  if (*parsed < min || *parsed > max) {
    std::string range;
    if (max == absl::InfiniteDuration()) {
      range = min <= absl::Milliseconds(1) ? std::string("greater than 0")
                                           : absl::StrFormat("at least %s", DurationToString(min));
    } else {
      range = absl::StrFormat("between %s and %s", DurationToString(min), DurationToString(max));
    }
    ErrorAt(*node, key, absl::StrFormat("must be %s, got %s", range, Quote(value->get())));
    return false;
  }
  *out = *parsed;
  return true;
}

bool TableReader::ReadSize(std::string_view key, uint64_t* out, uint64_t min, uint64_t max) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return false;
  uint64_t size = 0;
  std::string shown;
  if (const auto* integer = node->as_integer()) {
    if (integer->get() < 0) {
      ErrorAt(*node, key, absl::StrFormat("must not be negative, got %d", integer->get()));
      return false;
    }
    size = static_cast<uint64_t>(integer->get());
    shown = absl::StrFormat("%d", size);
  } else if (const auto* text = node->as_string()) {
    absl::StatusOr<uint64_t> parsed = ParseSize(text->get());
    if (!parsed.ok()) {
      ErrorAt(*node, key, std::string(parsed.status().message()));
      return false;
    }
    size = *parsed;
    shown = Quote(text->get());
  } else {
    ErrorAt(*node, key,
            absl::StrFormat("expected a size such as \"16KiB\" or a number of bytes, got %s",
                            TypeName(*node)));
    return false;
  }
  if (size < min || size > max) {
    ErrorAt(*node, key,
            absl::StrFormat("must be between %s and %s, got %s", SizeToString(min),
                            SizeToString(max), shown));
    return false;
  }
  *out = size;
  return true;
}

bool TableReader::ReadAddress(std::string_view key, net::SocketAddress* out) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return false;
  const auto* value = node->as_string();
  if (value == nullptr) {
    ErrorAt(*node, key,
            absl::StrFormat("expected an address string such as \"127.0.0.1:8080\" or "
                            "\"[::1]:8080\", got %s",
                            TypeName(*node)));
    return false;
  }
  absl::StatusOr<net::SocketAddress> parsed = net::SocketAddress::Parse(value->get());
  if (!parsed.ok()) {
    ErrorAt(*node, key, std::string(parsed.status().message()));
    return false;
  }
  *out = *parsed;
  return true;
}

int TableReader::ReadChoice(std::string_view key, const std::vector<std::string_view>& names) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return -1;
  const auto* value = node->as_string();
  if (value == nullptr) {
    ErrorAt(*node, key,
            absl::StrFormat("expected a string (%s), got %s", Join(names, "|"), TypeName(*node)));
    return -1;
  }
  const std::string& text = value->get();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) return static_cast<int>(i);
  }
  ErrorAt(*node, key, absl::StrFormat("unknown value %s (%s)", Quote(text), Join(names, "|")));
  return -1;
}

bool TableReader::ReadStringArray(std::string_view key, std::vector<std::string>* out) {
  const toml::array* array = ReadArray(key);
  if (array == nullptr) return false;
  std::vector<std::string> values;
  values.reserve(array->size());
  bool ok = true;
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (const auto* text = element.as_string()) {
      values.push_back(text->get());
    } else {
      errors_.Add(element, context_, absl::StrFormat("%s[%d]", DisplayKey(key), i),
                  absl::StrFormat("expected a string, got %s", TypeName(element)));
      ok = false;
    }
  }
  if (!ok) return false;
  *out = std::move(values);
  return true;
}

const toml::table* TableReader::ReadTable(std::string_view key) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return nullptr;
  const toml::table* table = node->as_table();
  if (table == nullptr) {
    ErrorAt(*node, key, absl::StrFormat("expected a table, got %s", TypeName(*node)));
  }
  return table;
}

const toml::array* TableReader::ReadArray(std::string_view key) {
  const toml::node* node = Lookup(key);
  if (node == nullptr) return nullptr;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    ErrorAt(*node, key, absl::StrFormat("expected an array, got %s", TypeName(*node)));
  }
  return array;
}

std::vector<TableReader::IndexedTable> TableReader::ReadTables(std::string_view key) {
  std::vector<IndexedTable> tables;
  const toml::node* node = Lookup(key);
  if (node == nullptr) return tables;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    // At the top level the usual spelling is [[key]]; inside a table, key = [{...}].
    const std::string hint =
        context_.empty() && key_prefix_.empty()
            ? absl::StrFormat("[[%s]] or %s = [{...}]", ShowKey(key), ShowKey(key))
            : absl::StrFormat("%s = [{...}]", ShowKey(key));
    ErrorAt(*node, key,
            absl::StrFormat("expected an array of tables (%s), got %s", hint, TypeName(*node)));
    return tables;
  }
  tables.reserve(array->size());
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::node& element = *array->get(i);
    if (const toml::table* table = element.as_table()) {
      tables.push_back({i, table});
    } else {
      errors_.Add(element, context_, absl::StrFormat("%s[%d]", DisplayKey(key), i),
                  absl::StrFormat("expected a table, got %s", TypeName(element)));
    }
  }
  return tables;
}

}  // namespace edge::config
