#include "l7/filters/auth/auth_filter.h"

#include <ctime>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l7 {
namespace {

// Appends `text` as the inside of an HTTP quoted-string.
void AppendQuoted(std::string* out, std::string_view text) {
  out->push_back('"');
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const std::string& s : scopes) {
    if (!out.empty()) out.push_back(' ');
    out += s;
  }
  return out;
}

}  // namespace

UnixClock SystemUnixClock() {
  return [] { return static_cast<int64_t>(std::time(nullptr)); };
}

std::string AuthChallenge(std::string_view scheme, std::string_view realm, std::string_view error,
                          std::string_view description, std::string_view scope) {
  std::string out(scheme);
  out += " realm=";
  AppendQuoted(&out, realm);
  out += ", error=";
  AppendQuoted(&out, error);
  if (!description.empty()) {
    out += ", error_description=";
    AppendQuoted(&out, description);
  }
  if (!scope.empty()) {
    out += ", scope=";
    AppendQuoted(&out, scope);
  }
  return out;
}

bool IsSafeHeaderValue(std::string_view value) {
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

AuthFilter::AuthFilter(std::shared_ptr<const AuthProvider> provider, UnixClock clock)
    : provider_(std::move(provider)), clock_(std::move(clock)) {}

FilterStatus AuthFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  const AuthProviderConfig& cfg = provider_->config();
  if (std::string_view place = DuplicateCredential(*provider_, ctx.request); !place.empty()) {
    // gw7 would check one credential and the upstream might act on the other.
    LOG_DEBUG("auth %s: route %s: %s: 400 two credentials (%s)", cfg.name, ctx.request.route_name(),
              ctx.request.client_address().IpString(), place);
    ctx.error_kind = "duplicate_credential";
    ctx.report.auth = "duplicate";
    return ctx.Reject(400, "duplicate_credential",
                      absl::StrFormat("more than one credential (%s)", place));
  }
  AuthResult result = provider_->Authenticate(ctx.request, clock_());
  if (result.outcome != AuthResult::Outcome::kOk) {
    LOG_DEBUG("auth %s: route %s: %s: 401 %s", cfg.name, ctx.request.route_name(),
              ctx.request.client_address().IpString(), result.reason);
    ctx.response_headers.emplace_back(
        "WWW-Authenticate",
        AuthChallenge(provider_->scheme(), cfg.name, "invalid_token", result.reason));
    ctx.report.auth = result.outcome == AuthResult::Outcome::kMissing ? "missing" : "invalid";
    return ctx.Reject(401, "unauthorized", result.reason);
  }
  ctx.identity = std::move(result.identity);
  ctx.report.auth = "ok";

  // Identity headers. Whatever the client sent under these names never reaches the upstream:
  // the server strips every provider's identity fields from every request (trusted_headers.h).
  if (!cfg.consumer_header.empty() && !ctx.identity.consumer.empty() &&
      IsSafeHeaderValue(ctx.identity.consumer)) {
    ctx.upstream_add_headers.emplace_back(cfg.consumer_header, ctx.identity.consumer);
  }
  if (!cfg.scopes_header.empty()) {
    std::string scopes = JoinScopes(ctx.identity.scopes);
    if (!scopes.empty() && IsSafeHeaderValue(scopes)) {
      ctx.upstream_add_headers.emplace_back(cfg.scopes_header, std::move(scopes));
    }
  }
  for (const auto& [claim, header] : cfg.claims_to_headers) {
    for (const auto& [name, value] : ctx.identity.claims) {
      if (name != claim) continue;
      // A claim value is attacker-influenced text in a signed token; never let it split a header.
      if (IsSafeHeaderValue(value)) ctx.upstream_add_headers.emplace_back(header, value);
      break;
    }
  }
  if (!cfg.forward_credential) {
    if (!provider_->credential_header().empty()) {
      ctx.upstream_remove_headers.emplace_back(provider_->credential_header());
    } else if (!cfg.api_key.query.empty()) {
      ctx.upstream_query = QueryWithout(ctx.request.query(), cfg.api_key.query);
    }
  }
  return FilterStatus::kContinue;
}

bool HasTwoCredentials(std::string_view authorization) {
  bool quoted = false;
  for (size_t i = 0; i < authorization.size(); ++i) {
    char c = authorization[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      return true;
    }
  }
  return false;
}

std::string_view DuplicateCredential(const AuthProvider& provider, const RequestView& request) {
  const AuthProviderConfig& cfg = provider.config();
  if (cfg.type == AuthType::kJwt) {
    if (request.header_count("Authorization") > 1) return "two Authorization fields";
    auto value = request.header("Authorization");
    if (value && HasTwoCredentials(*value)) return "two credentials in Authorization";
    return {};
  }
  if (!cfg.api_key.query.empty()) {
    if (CountQueryParameter(request.query(), cfg.api_key.query) > 1) {
      return "two API-key query parameters";
    }
    return {};
  }
  if (request.header_count(cfg.api_key.header) > 1) return "two API-key fields";
  return {};
}

}  // namespace edge::l7
