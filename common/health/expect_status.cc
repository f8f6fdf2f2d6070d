#include "common/health/expect_status.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace edge::health {

namespace {

constexpr int kLowest = 100;
constexpr int kHighest = 599;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view Strip(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A three-digit code in 100..599, nothing else (no sign, no spaces, no "+200").
bool ParseCode(std::string_view text, int* code) {
  if (text.size() != 3 || !std::all_of(text.begin(), text.end(), IsDigit)) return false;
  *code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
  return *code >= kLowest && *code <= kHighest;
}

// "2xx" / "2XX": the class digit, or 0.
int ParseClass(std::string_view text) {
  if (text.size() != 3 || text[0] < '1' || text[0] > '5') return 0;
  for (char c : text.substr(1)) {
    if (c != 'x' && c != 'X') return 0;
  }
  return text[0] - '0';
}

}  // namespace

absl::StatusOr<ExpectStatus> ExpectStatus::Parse(std::string_view text) {
  std::vector<Range> ranges;
  size_t begin = 0;
  for (;;) {
    const size_t comma = text.find(',', begin);
    std::string_view item = Strip(
        text.substr(begin, comma == std::string_view::npos ? text.size() - begin : comma - begin));
    const std::string shown(item);
    if (item.empty()) {
      return absl::InvalidArgumentError(
          "expected a list of codes, classes or ranges like \"2xx\", \"200-399\" or "
          "\"200,204\", got an empty item");
    }
    Range r{};
    if (const int klass = ParseClass(item); klass != 0) {
      r.low = klass * 100;
      r.high = r.low + 99;
    } else if (size_t dash = item.find('-'); dash != std::string_view::npos) {
      if (!ParseCode(Strip(item.substr(0, dash)), &r.low) ||
          !ParseCode(Strip(item.substr(dash + 1)), &r.high)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("\"%s\": a range is two codes in 100..599, e.g. \"200-399\"", shown));
      }
      if (r.low > r.high) {
        return absl::InvalidArgumentError(
            absl::StrFormat("\"%s\": the range's low end is above its high end", shown));
      }
    } else if (ParseCode(item, &r.low)) {
      r.high = r.low;
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "\"%s\": expected a code (\"200\"), a class (\"2xx\") or a range (\"200-399\"), codes "
          "in 100..599",
          shown));
    }
    ranges.push_back(r);
    if (comma == std::string_view::npos) break;
    begin = comma + 1;
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.low < b.low; });
  // Merge overlapping and adjacent ranges so that ToString is canonical.
  std::vector<Range> merged;
  for (const Range& r : ranges) {
    if (!merged.empty() && r.low <= merged.back().high + 1) {
      merged.back().high = std::max(merged.back().high, r.high);
    } else {
      merged.push_back(r);
    }
  }
  if (merged.back().high < 200) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "\"%s\" matches only 1xx, which never ends a check (a final status is 200..599)",
        std::string(text)));
  }
  return ExpectStatus(std::move(merged));
}

bool ExpectStatus::Matches(int status) const {
  if (status < 200) return false;
  for (const Range& r : ranges_) {
    if (status >= r.low && status <= r.high) return true;
  }
  return false;
}

std::string ExpectStatus::ToString() const {
  std::string out;
  for (const Range& r : ranges_) {
    if (!out.empty()) out += ',';
    if (r.low == r.high) {
      absl::StrAppendFormat(&out, "%d", r.low);
    } else {
      absl::StrAppendFormat(&out, "%d-%d", r.low, r.high);
    }
  }
  return out;
}

}  // namespace edge::health
