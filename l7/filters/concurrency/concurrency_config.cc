#include "l7/filters/concurrency/concurrency_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/table_reader.h"

namespace edge::l7 {
namespace {

using config::ConfigErrors;
using config::Quote;
using config::TableReader;

constexpr size_t kMaxNameLength = 64;
constexpr uint64_t kMaxInFlight = 1'000'000;

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

constexpr config::EnumValue<ConcurrencyKeyKind> kKeys[] = {
    {"route", ConcurrencyKeyKind::kRoute},
    {"consumer", ConcurrencyKeyKind::kConsumer},
};

}  // namespace

absl::StatusOr<std::vector<ConcurrencyLimitConfig>> ParseConcurrencyLimitConfigs(
    const toml::table& document, const std::string& path) {
  ConfigErrors errors(path);
  std::vector<ConcurrencyLimitConfig> out;
  const toml::node* node = document.get("concurrency_limit");
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    errors.Add(*node, "", "concurrency_limit",
               "must be an array of tables ([[concurrency_limit]])");
    return errors.ToStatus();
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* table = (*array)[i].as_table();
    if (table == nullptr) {
      errors.Add((*array)[i], "", absl::StrFormat("concurrency_limit[%d]", i), "must be a table");
      continue;
    }
    std::string context = absl::StrFormat("concurrency_limit[%d]", i);
    if (const auto* name = table->get_as<std::string>("name"); name && IsValidName(name->get())) {
      context = absl::StrFormat("concurrency_limit %s", Quote(name->get()));
    }
    TableReader r(*table, errors, context, {"name", "key", "max_in_flight"});
    ConcurrencyLimitConfig limit;
    if (r.Require("name") && r.ReadString("name", &limit.name) && !IsValidName(limit.name)) {
      r.Error("name", absl::StrFormat("must be 1-%d characters of A-Z a-z 0-9 _ - ., got %s",
                                      kMaxNameLength, Quote(limit.name)));
    }
    for (const ConcurrencyLimitConfig& other : out) {
      if (!limit.name.empty() && other.name == limit.name) {
        r.Error("name",
                absl::StrFormat("duplicate [[concurrency_limit]] name %s", Quote(limit.name)));
      }
    }
    if (r.Require("key")) r.ReadEnum("key", &limit.key, kKeys);
    if (r.Require("max_in_flight")) {
      r.ReadInt("max_in_flight", &limit.max_in_flight, uint64_t{1}, kMaxInFlight);
    }
    out.push_back(std::move(limit));
  }
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace edge::l7
