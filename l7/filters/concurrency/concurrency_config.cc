#include "l7/filters/concurrency/concurrency_config.h"

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/named_tables.h"
#include "common/config/table_reader.h"

namespace edge::l7 {
namespace {

using config::ConfigErrors;
using config::ForEachNamedTable;
using config::IsValidName;
using config::kMaxNameLength;
using config::Quote;
using config::TableReader;

constexpr uint64_t kMaxInFlight = 1'000'000;

constexpr config::EnumValue<ConcurrencyKeyKind> kKeys[] = {
    {"route", ConcurrencyKeyKind::kRoute},
    {"consumer", ConcurrencyKeyKind::kConsumer},
};

}  // namespace

absl::StatusOr<std::vector<ConcurrencyLimitConfig>> ParseConcurrencyLimitConfigs(
    const toml::table& document, const std::string& path) {
  ConfigErrors errors(path);
  std::vector<ConcurrencyLimitConfig> out;
  ForEachNamedTable(
      document, "concurrency_limit", errors,
      [&](const toml::table& table, const std::string& context) {
        TableReader r(table, errors, context, {"name", "key", "max_in_flight"});
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
      });
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace edge::l7
