#pragma once
// TableReader: typed, strict reading of one TOML table of a config file.
//
// Every key a table may hold is declared up front; any other key is an error at that key's
// position ("unknown key; did you mean ...? (allowed: ...)"), so a typo is never silently
// ignored. Each Read* call checks the type and range of one key and records a positioned error in
// a shared ConfigErrors instead of failing fast, so that one pass reports every mistake:
//
//   config::ConfigErrors errors(path);
//   config::TableReader pool(table, errors, "pool \"gateways\"",
//                            {"name", "balance", "connect_timeout"});
//   pool.ReadEnum("balance", &options.kind, {{"maglev", BalanceKind::kMaglev}, ...});
//   pool.ReadDuration("connect_timeout", &timeout, absl::Milliseconds(1), absl::Hours(1));
//   return errors.ToStatus();
//
// Read* contract: an absent key returns false and leaves *out alone (so it keeps its default);
// a present key of the wrong type or out of range records an error, returns false and leaves *out
// alone; otherwise *out is set and the result is true.

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/config/errors.h"
#include "common/config/toml.h"
#include "common/net/address.h"

namespace edge::config {

// One spelling of an enum in a config file.
template <typename E>
struct EnumValue {
  std::string_view name;
  E value;
};

// "string", "integer", "float", "boolean", "date", "time", "date-time", "table", "array".
std::string_view TypeName(const toml::node& node);

class TableReader {
 public:
  // `context` prefixes every error (`pool "gateways"`, `lb4`; may be empty). `allowed` lists every
  // key the table may hold; its strings must outlive the reader (string literals). `key_prefix` is
  // put before keys in messages, for sub-tables reported in their parent's context ("health.").
  // Reports unknown keys immediately.
  TableReader(const toml::table& table, ConfigErrors& errors, std::string context,
              std::initializer_list<std::string_view> allowed, std::string key_prefix = "");

  const toml::table& table() const { return table_; }
  ConfigErrors& errors() const { return errors_; }
  const std::string& context() const { return context_; }
  // Changes the context of later errors, e.g. from `pool[1]` to `pool "gateways"` once the name
  // has been read.
  void set_context(std::string context) { context_ = std::move(context); }
  // The key as shown in messages: key_prefix + key.
  std::string DisplayKey(std::string_view key) const;

  bool Has(std::string_view key) const { return table_.get(key) != nullptr; }
  // The raw node, or nullptr when absent.
  const toml::node* Get(std::string_view key) const;
  // Where `key` is in the file, or the table's own position when it is absent: for messages
  // that relate two places of the file.
  toml::source_position PositionOf(std::string_view key) const;

  // Records "missing required key" at the table's position when `key` is absent; returns whether
  // it is present.
  bool Require(std::string_view key);

  bool ReadString(std::string_view key, std::string* out);
  // The required `key` (e.g. "name") holding a name (named_tables.h: 1-64 of A-Z a-z 0-9 _ - .).
  // False (error recorded, *out empty) when absent or malformed.
  bool ReadRequiredName(std::string_view key, std::string* out);
  bool ReadBool(std::string_view key, bool* out);
  // An integer in [min, max] (inclusive), for any integral T.
  template <std::integral T>
  bool ReadInt(std::string_view key, T* out, T min = std::numeric_limits<T>::min(),
               T max = std::numeric_limits<T>::max()) {
    int64_t value = 0;
    if (!ReadInt64(key, &value, ClampToInt64(min), ClampToInt64(max))) return false;
    *out = static_cast<T>(value);
    return true;
  }
  // A duration string (common/config/units.h) in [min, max]. A bare TOML number is refused.
  bool ReadDuration(std::string_view key, absl::Duration* out, absl::Duration min,
                    absl::Duration max);
  // A size: a string such as "16KiB" or a TOML integer counting bytes, in [min, max].
  bool ReadSize(std::string_view key, uint64_t* out, uint64_t min, uint64_t max);
  // "IPv4:port" or "[IPv6]:port" (net::SocketAddress::Parse).
  bool ReadAddress(std::string_view key, net::SocketAddress* out);
  // One of `values` by exact name; otherwise `unknown value "x" (a|b|c)`.
  template <typename E>
  bool ReadEnum(std::string_view key, E* out, std::span<const EnumValue<E>> values) {
    std::vector<std::string_view> names;
    names.reserve(values.size());
    for (const EnumValue<E>& v : values) names.push_back(v.name);
    int index = ReadChoice(key, names);
    if (index < 0) return false;
    *out = values[static_cast<size_t>(index)].value;
    return true;
  }
  template <typename E, size_t N>
  bool ReadEnum(std::string_view key, E* out, const EnumValue<E> (&values)[N]) {
    return ReadEnum(key, out, std::span<const EnumValue<E>>(values, N));
  }
  template <typename E>
  bool ReadEnum(std::string_view key, E* out, std::initializer_list<EnumValue<E>> values) {
    return ReadEnum(key, out, std::span<const EnumValue<E>>(values.begin(), values.size()));
  }
  // An array whose elements are all strings.
  bool ReadStringArray(std::string_view key, std::vector<std::string>* out);

  // A sub-table (`[a.b]`, `b = {...}`), or nullptr when absent or not a table (an error then).
  const toml::table* ReadTable(std::string_view key);
  // An array, or nullptr when absent or not an array (an error then).
  const toml::array* ReadArray(std::string_view key);
  // An array of tables (`[[key]]` or `key = [{...}, ...]`): the tables in order, each with its
  // index in the array (for messages such as `backends[2]`). Elements that are not tables are
  // reported and left out. Empty when absent or not an array (an error then).
  struct IndexedTable {
    size_t index;
    const toml::table* table;
  };
  std::vector<IndexedTable> ReadTables(std::string_view key);

  // Records an error about `key`: at its value when present, else at the table.
  void Error(std::string_view key, std::string_view message);
  // Records an error at `node` (e.g. an array element), reported under `key`.
  void ErrorAt(const toml::node& node, std::string_view key, std::string_view message);

 private:
  bool ReadInt64(std::string_view key, int64_t* out, int64_t min, int64_t max);
  // The index into `names` of the key's string value, or -1 (absent, or an error recorded).
  int ReadChoice(std::string_view key, const std::vector<std::string_view>& names);
  // The key's node (asserting it was declared), or nullptr when absent.
  const toml::node* Lookup(std::string_view key) const;
  void ReportUnknownKeys();

  template <std::integral T>
  static int64_t ClampToInt64(T v) {
    if constexpr (std::is_unsigned_v<T>) {
      return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? std::numeric_limits<int64_t>::max()
                 : static_cast<int64_t>(v);
    } else {
      return static_cast<int64_t>(v);
    }
  }

  const toml::table& table_;
  ConfigErrors& errors_;
  std::string context_;
  std::vector<std::string_view> allowed_;
  std::string key_prefix_;
};

}  // namespace edge::config
