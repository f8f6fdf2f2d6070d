#include "l7/filters/auth/auth_config.h"

#include <algorithm>
#include <span>

#include "absl/strings/str_format.h"
#include "common/config/errors.h"
#include "common/config/file.h"
#include "common/config/named_tables.h"
#include "common/config/table_reader.h"
#include "common/config/units.h"

namespace edge::l7 {
namespace {

using config::ConfigErrors;
using config::ForEachNamedTable;
using config::IsValidName;
using config::kMaxNameLength;
using config::Quote;
using config::TableReader;

constexpr size_t kMaxKeys = 100000;

// An HTTP field name (RFC 9110 token).
bool IsHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool ReadHeaderName(TableReader& r, std::string_view key, std::string* out, bool allow_empty) {
  std::string value;
  if (!r.ReadString(key, &value)) return false;
  if (value.empty() && allow_empty) {
    out->clear();
    return true;
  }
  if (!IsHeaderName(value)) {
    r.Error(key, absl::StrFormat("not a valid header name: %s", Quote(value)));
    return false;
  }
  *out = value;
  return true;
}

// `keys = [{ consumer, sha256, scopes }]` from `r` into `store`.
void ReadKeys(TableReader& r, ApiKeyStore* store) {
  for (const auto& [index, table] : r.ReadTables("keys")) {
    const std::string context = absl::StrFormat("%s: keys[%d]", r.context(), index);
    TableReader k(*table, r.errors(), context, {"consumer", "sha256", "scopes"});
    ApiKeyEntry entry;
    bool ok = k.Require("consumer") && k.ReadString("consumer", &entry.consumer);
    if (ok && (entry.consumer.empty() || entry.consumer.size() > 256)) {
      k.Error("consumer", "must be 1-256 characters");
      ok = false;
    }
    std::string hex;
    if (k.Require("sha256") && k.ReadString("sha256", &hex)) {
      if (auto digest = ParseSha256Hex(hex)) {
        entry.sha256 = *digest;
      } else {
        k.Error("sha256", "must be the 64 hex digits of the key's SHA-256 (sha256sum of the key)");
        ok = false;
      }
    } else {
      ok = false;
    }
    k.ReadStringArray("scopes", &entry.scopes);
    if (!ok) continue;
    if (store->size() >= kMaxKeys) {
      k.Error("sha256", absl::StrFormat("more than %d keys", kMaxKeys));
      return;
    }
    if (absl::Status added = store->Add(std::move(entry)); !added.ok()) {
      k.Error("sha256", std::string(added.message()));
    }
  }
}

void ReadKeysFile(TableReader& r, ApiKeyStore* store) {
  std::string file;
  if (!r.ReadString("keys_file", &file)) return;
  auto text = config::ReadConfigFile(file);
  if (!text.ok()) {
    r.Error("keys_file", std::string(text.status().message()));
    return;
  }
  auto document = config::ParseToml(*text, file);
  if (!document.ok()) {
    r.Error("keys_file", std::string(document.status().message()));
    return;
  }
  // The file's own errors carry its own path and positions.
  ConfigErrors file_errors(file);
  TableReader root(*document, file_errors, "", {"keys"});
  ReadKeys(root, store);
  if (!file_errors.empty()) r.Error("keys_file", std::string(file_errors.ToStatus().message()));
}

void ReadApiKey(TableReader& r, AuthProviderConfig* auth) {
  ApiKeyProviderConfig& cfg = auth->api_key;
  if (r.Has("header") && r.Has("query")) {
    r.Error("query", "give either header or query, not both");
  }
  ReadHeaderName(r, "header", &cfg.header, false);
  if (r.ReadString("query", &cfg.query)) {
    if (cfg.query.empty() || cfg.query.size() > 128 ||
        cfg.query.find_first_of("&=#? ") != std::string::npos) {
      r.Error("query", absl::StrFormat("not a valid query parameter name: %s", Quote(cfg.query)));
    }
    cfg.header.clear();
  }
  ReadKeys(r, cfg.keys.get());
  ReadKeysFile(r, cfg.keys.get());
  if (!r.Has("keys") && !r.Has("keys_file"))
    r.Error("keys", "an api_key provider needs keys or keys_file");
}

void AddKey(TableReader& r, std::string_view key, absl::StatusOr<JwtKey> loaded, JwtKeySet* set) {
  if (!loaded.ok()) {
    r.Error(key, std::string(loaded.status().message()));
    return;
  }
  if (absl::Status added = set->Add(*std::move(loaded)); !added.ok())
    r.Error(key, std::string(added.message()));
}

void ReadJwt(TableReader& r, AuthProviderConfig* auth) {
  JwtProviderConfig& cfg = auth->jwt;
  std::vector<std::string> algorithms;
  if (r.Require("algorithms") && r.ReadStringArray("algorithms", &algorithms)) {
    if (algorithms.empty())
      r.Error("algorithms", absl::StrFormat("must name at least one of %s", kJwtAlgorithmNames));
    for (const std::string& name : algorithms) {
      auto alg = JwtAlgorithmFromName(name);
      if (!alg) {
        r.Error("algorithms",
                absl::StrFormat("unknown value %s (%s)", Quote(name), kJwtAlgorithmNames));
      } else if (std::find(cfg.validation.algorithms.begin(), cfg.validation.algorithms.end(),
                           *alg) == cfg.validation.algorithms.end()) {
        cfg.validation.algorithms.push_back(*alg);
      }
    }
  }
  r.ReadString("issuer", &cfg.validation.issuer);
  r.ReadString("audience", &cfg.validation.audience);
  absl::Duration leeway = absl::ZeroDuration();
  if (r.ReadDuration("leeway", &leeway, absl::ZeroDuration(), absl::Hours(1))) {
    cfg.validation.leeway_seconds = absl::ToInt64Seconds(leeway);
  }
  r.ReadBool("require_exp", &cfg.validation.require_exp);
  r.ReadString("scopes_claim", &cfg.scopes_claim);
  r.ReadString("consumer_claim", &cfg.consumer_claim);

  std::string file;
  if (r.ReadString("jwks_file", &file)) {
    auto keys = LoadJwksFile(file);
    if (!keys.ok()) {
      r.Error("jwks_file", std::string(keys.status().message()));
    } else {
      for (JwtKey& key : *keys) AddKey(r, "jwks_file", std::move(key), cfg.keys.get());
    }
  }
  if (r.ReadString("hmac_secret_file", &file)) {
    AddKey(r, "hmac_secret_file", LoadHmacSecretFile(file, ""), cfg.keys.get());
  }
  for (const auto& [index, table] : r.ReadTables("public_keys")) {
    TableReader k(*table, r.errors(), absl::StrFormat("%s: public_keys[%d]", r.context(), index),
                  {"kid", "pem"});
    std::string kid, pem;
    k.ReadString("kid", &kid);
    if (!k.Require("pem") || !k.ReadString("pem", &pem)) continue;
    auto key =
        pem.rfind("-----BEGIN", 0) == 0 ? JwtKey::FromPem(pem, kid) : LoadPemKeyFile(pem, kid);
    AddKey(k, "pem", std::move(key), cfg.keys.get());
  }
  if (r.errors().empty() && cfg.keys->empty()) {
    r.Error("algorithms", "a jwt provider needs keys: jwks_file, hmac_secret_file or public_keys");
  }
  // Every allowed algorithm needs a key of its family, or the config says something it cannot do.
  for (JwtAlgorithm alg : cfg.validation.algorithms) {
    bool have = std::any_of(cfg.keys->keys().begin(), cfg.keys->keys().end(),
                            [&](const JwtKey& k) { return k.family() == FamilyOf(alg); });
    if (!have && !cfg.keys->empty()) {
      r.Error("algorithms", absl::StrFormat("%s needs a %s key and none is configured",
                                            JwtAlgorithmName(alg), FamilyName(FamilyOf(alg))));
    }
  }
}

// forward_credential, or the older strip_credential meaning its opposite.
void ReadForwardCredential(TableReader& r, bool* forward) {
  bool strip = false;
  const bool has_strip = r.ReadBool("strip_credential", &strip);
  if (r.ReadBool("forward_credential", forward)) {
    if (has_strip && strip == *forward) {
      r.Error("strip_credential",
              absl::StrFormat("contradicts forward_credential = %s (give forward_credential only)",
                              *forward ? "true" : "false"));
    }
  } else if (has_strip) {
    *forward = !strip;
  }
}

constexpr config::EnumValue<AuthType> kAuthTypes[] = {
    {"api_key", AuthType::kApiKey},
    {"jwt", AuthType::kJwt},
};

// Keys only one type may have.
constexpr std::string_view kApiKeyOnly[] = {"header", "query", "keys", "keys_file"};
constexpr std::string_view kJwtOnly[] = {"algorithms",     "jwks_file",        "hmac_secret_file",
                                         "public_keys",    "issuer",           "audience",
                                         "leeway",         "require_exp",      "scopes_claim",
                                         "consumer_claim", "claims_to_headers"};

}  // namespace

absl::StatusOr<std::vector<AuthProviderConfig>> ParseAuthConfigs(const toml::table& document,
                                                                 const std::string& path) {
  ConfigErrors errors(path);
  std::vector<AuthProviderConfig> out;
  ForEachNamedTable(
      document, "auth", errors, [&](const toml::table& table, const std::string& context) {
        TableReader r(table, errors, context,
                      {"name",
                       "type",
                       "header",
                       "query",
                       "keys",
                       "keys_file",
                       "algorithms",
                       "jwks_file",
                       "hmac_secret_file",
                       "public_keys",
                       "issuer",
                       "audience",
                       "leeway",
                       "require_exp",
                       "scopes_claim",
                       "consumer_claim",
                       "strip_credential",
                       "forward_credential",
                       "consumer_header",
                       "scopes_header",
                       "claims_to_headers"});
        AuthProviderConfig auth;
        if (r.Require("name") && r.ReadString("name", &auth.name) && !IsValidName(auth.name)) {
          r.Error("name", absl::StrFormat("must be 1-%d characters of A-Z a-z 0-9 _ - ., got %s",
                                          kMaxNameLength, Quote(auth.name)));
        }
        for (const AuthProviderConfig& other : out) {
          if (!auth.name.empty() && other.name == auth.name) {
            r.Error("name", absl::StrFormat("duplicate [[auth]] name %s", Quote(auth.name)));
          }
        }
        if (!r.Require("type") || !r.ReadEnum("type", &auth.type, kAuthTypes)) return;
        for (std::string_view key : auth.type == AuthType::kApiKey
                                        ? std::span<const std::string_view>(kJwtOnly)
                                        : std::span<const std::string_view>(kApiKeyOnly)) {
          if (r.Has(key)) {
            r.Error(key, absl::StrFormat("is not a key of type = \"%s\"",
                                         auth.type == AuthType::kApiKey ? "api_key" : "jwt"));
          }
        }
        ReadForwardCredential(r, &auth.forward_credential);
        ReadHeaderName(r, "consumer_header", &auth.consumer_header, true);
        ReadHeaderName(r, "scopes_header", &auth.scopes_header, true);
        if (const toml::table* claims = r.ReadTable("claims_to_headers")) {
          for (const auto& [claim, value] : *claims) {
            const auto* header = value.as_string();
            if (header == nullptr || !IsHeaderName(header->get())) {
              r.ErrorAt(value, "claims_to_headers",
                        absl::StrFormat("%s: must be a header name", Quote(claim.str())));
              continue;
            }
            auth.claims_to_headers.emplace_back(std::string(claim.str()), header->get());
          }
        }
        if (auth.type == AuthType::kApiKey) {
          ReadApiKey(r, &auth);
        } else {
          ReadJwt(r, &auth);
        }
        out.push_back(std::move(auth));
      });
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace edge::l7
