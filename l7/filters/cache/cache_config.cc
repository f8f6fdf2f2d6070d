#include "l7/filters/cache/cache_config.h"

#include <fstream>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/named_tables.h"
#include "common/config/table_reader.h"
#include "common/http/chars.h"

namespace edge::l7 {
namespace {

using config::ConfigErrors;
using config::ForEachNamedTable;
using config::IsValidName;
using config::kMaxNameLength;
using config::Quote;
using config::TableReader;

constexpr uint64_t kMinBytes = 64 * 1024;
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;
constexpr size_t kMaxKeyExtras = 16;

bool IsFieldName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' ||
                    c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' ||
                    c == '`' || c == '|' || c == '~';
    if (!ok) return false;
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

void ReadKey(TableReader& r, CacheConfig* cache) {
  const toml::array* array = r.ReadArray("key");
  if (array == nullptr) return;
  if (array->size() > kMaxKeyExtras) {
    r.Error("key", absl::StrFormat("at most %d extras", kMaxKeyExtras));
    return;
  }
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) {
      r.ErrorAt(element, "key", "must be strings (\"header:NAME\" or \"consumer\")");
      continue;
    }
    const std::string& text = value->get();
    CacheKeyExtra extra;
    if (text == "consumer") {
      extra.kind = CacheKeyExtra::Kind::kConsumer;
    } else if (text.starts_with("header:") && IsFieldName(text.substr(7))) {
      extra.header = Lower(text.substr(7));
      if (extra.header.find('_') != std::string::npos) {
        r.ErrorAt(element, "key",
                  absl::StrFormat("%s: write the field with '-' (a backend may read '_' as '-')",
                                  Quote(text)));
        continue;
      }
    } else {
      r.ErrorAt(element, "key",
                absl::StrFormat("unknown key extra %s (header:NAME | consumer)", Quote(text)));
      continue;
    }
    for (const CacheKeyExtra& other : cache->key) {
      if (other == extra) r.ErrorAt(element, "key", absl::StrFormat("%s twice", Quote(text)));
    }
    cache->key.push_back(std::move(extra));
  }
}

// The first line of `path`, trimmed: at least 16 characters, so that a guessable token is refused.
absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrFormat("cannot read %s", Quote(path)));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  size_t start = line.find_first_not_of(" \t");
  line = start == std::string::npos ? std::string() : line.substr(start);
  if (line.size() < 16) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the token must have at least 16 characters", Quote(path)));
  }
  for (char c : line) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: the token must be printable ASCII without spaces", Quote(path)));
    }
  }
  return line;
}

}  // namespace

absl::StatusOr<std::vector<CacheConfig>> ParseCacheConfigs(const toml::table& document,
                                                           const std::string& path) {
  ConfigErrors errors(path);
  std::vector<CacheConfig> out;
  ForEachNamedTable(
      document, "cache", errors, [&](const toml::table& table, const std::string& context) {
        TableReader r(table, errors, context,
                      {"name", "max_bytes", "max_object_bytes", "key", "coalesce_timeout",
                       "purge_token_file"});
        CacheConfig cache;
        if (r.Require("name") && r.ReadString("name", &cache.name) && !IsValidName(cache.name)) {
          r.Error("name", absl::StrFormat("must be 1-%d characters of A-Z a-z 0-9 _ - ., got %s",
                                          kMaxNameLength, Quote(cache.name)));
        }
        for (const CacheConfig& other : out) {
          if (!cache.name.empty() && other.name == cache.name) {
            r.Error("name", absl::StrFormat("duplicate [[cache]] name %s", Quote(cache.name)));
          }
        }
        if (r.Require("max_bytes")) r.ReadSize("max_bytes", &cache.max_bytes, kMinBytes, kMaxBytes);
        if (r.ReadSize("max_object_bytes", &cache.max_object_bytes, 1, kMaxBytes) &&
            cache.max_bytes != 0 && cache.max_object_bytes > cache.max_bytes) {
          r.Error("max_object_bytes", "must not exceed max_bytes");
        }
        if (!r.Has("max_object_bytes") && cache.max_bytes != 0) {
          cache.max_object_bytes = std::min(cache.max_object_bytes, cache.max_bytes / 4);
        }
        ReadKey(r, &cache);
        absl::Duration coalesce = absl::Nanoseconds(cache.coalesce_timeout_ns);
        if (r.ReadDuration("coalesce_timeout", &coalesce, absl::ZeroDuration(), absl::Minutes(1))) {
          cache.coalesce_timeout_ns = absl::ToInt64Nanoseconds(coalesce);
        }
        std::string token_file;
        if (r.ReadString("purge_token_file", &token_file)) {
          absl::StatusOr<std::string> token = ReadToken(token_file);
          if (!token.ok()) {
            r.Error("purge_token_file", std::string(token.status().message()));
          } else {
            cache.purge_token = *std::move(token);
          }
        }
        out.push_back(std::move(cache));
      });
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace edge::l7
