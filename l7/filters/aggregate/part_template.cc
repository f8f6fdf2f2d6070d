#include "l7/filters/aggregate/part_template.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_format.h"
#include "common/http/percent.h"

namespace edge::l7 {
namespace {

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// A path capture's value: '+' is itself there (not a space, as in a query).
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = http::HexDigitValue(s[i + 1]), lo = http::HexDigitValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

void AppendPercentEncoded(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : s) {
    if (IsUnreserved(c)) {
      out->push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out->push_back('%');
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 15]);
    }
  }
}

// The first raw value of `name` in a query "a=1&b=2" (a parameter without '=' has an empty value).
std::optional<std::string_view> QueryParameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool HasDotSegment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

bool IsPlaceholderName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!IsUnreserved(c) || c == '~') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<PartTemplate> ParsePartTemplate(std::string_view text,
                                               const std::vector<std::string>& captures) {
  if (text.empty() || text.front() != '/') {
    return absl::InvalidArgumentError("must start with '/'");
  }
  if (text.size() > 4096) return absl::InvalidArgumentError("longer than 4096 bytes");
  PartTemplate out;
  bool in_query = false;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) out.pieces.push_back({PartTemplate::Kind::kLiteral, literal, in_query});
    literal.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c <= ' ' || c >= 0x7f || c == '#' || c == '}') {
      return absl::InvalidArgumentError(absl::StrFormat(
          "byte %d is not allowed (visible ASCII only, no '#', braces only around a placeholder)",
          i));
    }
    if (c == '?') {
      if (in_query) return absl::InvalidArgumentError("has a second '?'");
      flush();
      out.pieces.push_back({PartTemplate::Kind::kLiteral, "?", false});
      in_query = true;
      continue;
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    const size_t end = text.find('}', i);
    if (end == std::string_view::npos) return absl::InvalidArgumentError("has an unclosed '{'");
    const std::string_view name = text.substr(i + 1, end - i - 1);
    flush();
    if (name.starts_with("query.") && IsPlaceholderName(name.substr(6))) {
      out.pieces.push_back({PartTemplate::Kind::kQuery, std::string(name.substr(6)), in_query});
    } else if (std::find(captures.begin(), captures.end(), name) != captures.end()) {
      out.pieces.push_back({PartTemplate::Kind::kCapture, std::string(name), in_query});
    } else {
      std::string known;
      for (const std::string& n : captures) known += (known.empty() ? "" : ", ") + n;
      return absl::InvalidArgumentError(absl::StrFormat(
          "unknown placeholder {%s} (the route's captures: %s; a query parameter is "
          "{query.NAME})",
          name, known.empty() ? "none" : known));
    }
    i = end;
  }
  flush();
  return out;
}

absl::StatusOr<PartTarget> FillPartTemplate(
    const PartTemplate& part, const std::vector<std::pair<std::string, std::string>>& params,
    std::string_view query) {
  PartTarget target;
  std::string* out = &target.path;
  for (const PartTemplate::Piece& p : part.pieces) {
    if (p.kind == PartTemplate::Kind::kLiteral) {
      if (p.text == "?") {
        out = &target.query;
        continue;
      }
      out->append(p.text);
      continue;
    }
    std::optional<std::string_view> raw;
    if (p.kind == PartTemplate::Kind::kCapture) {
      for (const auto& [name, value] : params) {
        if (name == p.text) raw = value;
      }
    } else {
      raw = QueryParameter(query, p.text);
    }
    if (!raw) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the request has no %s %s",
          p.kind == PartTemplate::Kind::kQuery ? "query parameter" : "capture", p.text));
    }
    std::optional<std::string> value = p.kind == PartTemplate::Kind::kQuery
                                           ? http::DecodeQueryComponent(*raw)
                                           : PercentDecode(*raw);
    if (!value) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s has a malformed percent-escape", p.text));
    }
    AppendPercentEncoded(*value, out);
  }
  if (HasDotSegment(target.path)) {
    return absl::InvalidArgumentError("the part's path would have a \".\" or \"..\" segment");
  }
  return target;
}

}  // namespace edge::l7
