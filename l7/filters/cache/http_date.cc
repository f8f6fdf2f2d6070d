#include "l7/filters/cache/http_date.h"

#include <array>

#include "absl/strings/str_format.h"

namespace edge::l7 {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Thu", "Fri", "Sat", "Sun",
                                                   "Mon", "Tue", "Wed"};  // 1970-01-01 = Thu

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Literal(std::string_view s, size_t* pos, std::string_view lit) {
  if (s.substr(*pos, lit.size()) != lit) return false;
  *pos += lit.size();
  return true;
}

bool Month(std::string_view s, size_t* pos, int* out) {
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (s.substr(*pos, 3) == kMonths[i]) {
      *pos += 3;
      *out = static_cast<int>(i) + 1;
      return true;
    }
  }
  return false;
}

// "HH:MM:SS"
bool Clock(std::string_view s, size_t* pos, int* h, int* m, int* sec) {
  return Digits(s, pos, 2, h) && Literal(s, pos, ":") && Digits(s, pos, 2, m) &&
         Literal(s, pos, ":") && Digits(s, pos, 2, sec);
}

std::optional<int64_t> Assemble(int year, int month, int day, int h, int m, int s) {
  if (day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return std::nullopt;
  return DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
         h * 3600 + m * 60 + s;
}

}  // namespace

std::optional<int64_t> ParseHttpDate(std::string_view t) {
  int day = 0, month = 0, year = 0, h = 0, m = 0, s = 0;
  size_t pos = 0;
  const size_t comma = t.find(',');
  if (comma == 3) {  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    pos = 4;
    if (Literal(t, &pos, " ") && Digits(t, &pos, 2, &day) && Literal(t, &pos, " ") &&
        Month(t, &pos, &month) && Literal(t, &pos, " ") && Digits(t, &pos, 4, &year) &&
        Literal(t, &pos, " ") && Clock(t, &pos, &h, &m, &s) && Literal(t, &pos, " GMT") &&
        pos == t.size()) {
      return Assemble(year, month, day, h, m, s);
    }
    return std::nullopt;
  }
  if (comma != std::string_view::npos) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    pos = comma + 1;
    if (Literal(t, &pos, " ") && Digits(t, &pos, 2, &day) && Literal(t, &pos, "-") &&
        Month(t, &pos, &month) && Literal(t, &pos, "-") && Digits(t, &pos, 2, &year) &&
        Literal(t, &pos, " ") && Clock(t, &pos, &h, &m, &s) && Literal(t, &pos, " GMT") &&
        pos == t.size()) {
      // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
      year += year < 70 ? 2000 : 1900;
      return Assemble(year, month, day, h, m, s);
    }
    return std::nullopt;
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  pos = 3;
  if (t.size() != 24 || !Literal(t, &pos, " ") || !Month(t, &pos, &month) ||
      !Literal(t, &pos, " ")) {
    return std::nullopt;
  }
  if (t[pos] == ' ') {
    ++pos;
    if (!Digits(t, &pos, 1, &day)) return std::nullopt;
  } else if (!Digits(t, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (Literal(t, &pos, " ") && Clock(t, &pos, &h, &m, &s) && Literal(t, &pos, " ") &&
      Digits(t, &pos, 4, &year) && pos == t.size()) {
    return Assemble(year, month, day, h, m, s);
  }
  return std::nullopt;
}

std::string FormatHttpDate(int64_t seconds) {
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const int64_t rem = seconds - days * 86400;
  const std::string_view weekday = kDays[static_cast<size_t>(((days % 7) + 7) % 7)];
  // civil_from_days (Hinnant).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  return absl::StrFormat("%s, %02u %s %04d %02d:%02d:%02d GMT", weekday, d, kMonths[m - 1], y,
                         rem / 3600, (rem / 60) % 60, rem % 60);
}

}  // namespace edge::l7
