#include "l7/observe/query_redactor.h"

#include <algorithm>

#include "common/http/percent.h"

namespace edge::l7 {
namespace {

// One round of percent-decoding ('+' is a space); broken escapes stay as they are.
std::string DecodeOnce(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = http::HexDigitValue(s[i + 1]), lo = http::HexDigitValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi << 4 | lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

}  // namespace

std::string QueryRedactor::Normalize(std::string_view raw_name) {
  std::string name(raw_name);
  for (int round = 0; round < 4; ++round) {
    std::string decoded = DecodeOnce(name);
    if (decoded == name) break;
    name = std::move(decoded);
  }
  name = name.substr(0, name.find('\0'));
  name = name.substr(0, name.find('['));
  const size_t begin = name.find_first_not_of(" \t");
  const size_t end = name.find_last_not_of(" \t");
  name = begin == std::string::npos ? std::string() : name.substr(begin, end - begin + 1);
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == '.' || c == ' ') c = '_';
  }
  return name;
}

QueryRedactor::QueryRedactor(const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    std::string normalized = Normalize(n);
    if (!normalized.empty() &&
        std::find(names_.begin(), names_.end(), normalized) == names_.end()) {
      names_.push_back(std::move(normalized));
    }
  }
}

bool QueryRedactor::Matches(std::string_view raw_name) const {
  if (raw_name.empty()) return false;
  const std::string name = Normalize(raw_name);
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

void QueryRedactor::RedactParams(std::string_view params, std::string_view separators,
                                 std::string* out) const {
  size_t start = 0;
  for (;;) {
    size_t end = params.find_first_of(separators, start);
    const std::string_view param =
        params.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && eq + 1 < param.size() && Matches(param.substr(0, eq))) {
      out->append(param.substr(0, eq + 1));
      out->append(kReplacement);
    } else {
      out->append(param);
    }
    if (end == std::string_view::npos) return;
    out->push_back(params[end]);
    start = end + 1;
  }
}

std::string QueryRedactor::Redact(std::string_view target) const {
  if (names_.empty()) return std::string(target);
  std::string out;
  out.reserve(target.size() + 16);
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  // Path parameters: each segment's text after its first ';'.
  size_t seg_start = 0;
  for (;;) {
    const size_t slash = path.find('/', seg_start);
    const std::string_view segment = path.substr(
        seg_start, slash == std::string_view::npos ? std::string_view::npos : slash - seg_start);
    const size_t semi = segment.find(';');
    if (semi == std::string_view::npos) {
      out.append(segment);
    } else {
      out.append(segment.substr(0, semi + 1));
      RedactParams(segment.substr(semi + 1), ";", &out);
    }
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    seg_start = slash + 1;
  }
  if (q != std::string_view::npos) {
    out.push_back('?');
    RedactParams(target.substr(q + 1), "&;?", &out);
  }
  return out;
}

}  // namespace edge::l7
