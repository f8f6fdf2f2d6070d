#include "l7/server/trusted_headers.h"

#include "common/http/chars.h"
#include "l7/filters/field_spelling.h"

namespace edge::l7 {
namespace {

constexpr std::string_view kGatewayFields[] = {
    "X-Consumer",       "X-Scopes",  "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
    "X-Forwarded-Port", "Forwarded", "X-Real-IP",       "X-Request-Id",
};

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && http::internal::IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && http::internal::IsOws(s.back())) s.remove_suffix(1);
  return s;
}

// qdtext and quoted-pair of RFC 9110 5.6.4.
bool IsQdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

// Calls fn(element) for each comma-separated element of an Upgrade value, OWS trimmed.
template <typename Fn>
void ForEachUpgradeProtocol(std::string_view value, Fn fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view element = TrimOws(value.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// "h2c" or "h2c/<version>", any case.
bool IsH2c(std::string_view protocol) {
  std::string_view name = protocol.substr(0, protocol.find('/'));
  return http::EqualsIgnoreCase(TrimOws(name), "h2c");
}

}  // namespace

StrippedFieldSet StrippedFieldSet::WithGatewayFields() {
  StrippedFieldSet set;
  for (std::string_view name : kGatewayFields) set.Add(name);
  return set;
}

void StrippedFieldSet::AddMethodOverrideFields() {
  for (std::string_view name : {"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}) {
    Add(name);
  }
}

void StrippedFieldSet::Add(std::string_view name) {
  if (name.empty() || Contains(name)) return;
  std::string folded(name);
  for (char& c : folded) c = FoldFieldChar(c);
  lengths_ |= uint64_t{1} << LengthBit(folded.size());
  names_.push_back(std::move(folded));
}

bool StrippedFieldSet::Contains(std::string_view name) const {
  if ((lengths_ & (uint64_t{1} << LengthBit(name.size()))) == 0) return false;
  for (const std::string& n : names_) {
    if (n.size() != name.size()) continue;
    size_t i = 0;
    while (i < n.size() && n[i] == FoldFieldChar(name[i])) ++i;
    if (i == n.size()) return true;
  }
  return false;
}

bool IsValidForwardedList(std::string_view value) {
  size_t i = 0;
  const size_t n = value.size();
  auto skip_ows = [&] {
    while (i < n && http::internal::IsOws(value[i])) ++i;
  };
  bool any_pair = false;
  skip_ows();
  while (i < n) {
    if (value[i] == ',' || value[i] == ';') {  // an empty element or an empty pair
      ++i;
      skip_ows();
      continue;
    }
    size_t start = i;
    while (i < n && http::internal::IsTchar(value[i])) ++i;
    if (i == start || i >= n || value[i] != '=') return false;
    ++i;
    if (i < n && value[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        unsigned char c = static_cast<unsigned char>(value[i]);
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\') {
          if (i + 1 >= n) return false;
          unsigned char q = static_cast<unsigned char>(value[i + 1]);
          if (!(q == '\t' || (q >= 0x20 && q != 0x7f))) return false;
          i += 2;
          continue;
        }
        if (!IsQdtext(c)) return false;
        ++i;
      }
      if (!closed) return false;
    } else {
      size_t token = i;
      while (i < n && http::internal::IsTchar(value[i])) ++i;
      if (i == token) return false;
    }
    any_pair = true;
    skip_ows();
    if (i < n && value[i] != ',' && value[i] != ';') return false;
  }
  return any_pair;
}

bool OffersUpgradeOtherThanH2c(const http::HttpHeaders& headers) {
  bool other = false;
  for (const http::HttpHeader& h : headers) {
    if (!http::EqualsIgnoreCase(h.name, "upgrade")) continue;
    ForEachUpgradeProtocol(h.value, [&](std::string_view p) { other = other || !IsH2c(p); });
  }
  return other;
}

void AppendUpgradeWithoutH2c(std::string_view value, std::string* out) {
  bool first = true;
  ForEachUpgradeProtocol(value, [&](std::string_view p) {
    if (IsH2c(p)) return;
    if (!first) out->append(", ");
    out->append(p);
    first = false;
  });
}

}  // namespace edge::l7
