#include "l7/report/access_log_scanner.h"

#include <charconv>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edge::l7::report {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

class Scanner {
 public:
  Scanner(std::string_view s, std::string* scratch) : s_(s), scratch_(scratch) {}

  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool Eat(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    SkipSpace();
    return i_ == s_.size();
  }
  char Peek() {
    SkipSpace();
    return i_ < s_.size() ? s_[i_] : '\0';
  }

  // A JSON string; *out views the line or (escaped) the scratch buffer.
  bool String(std::string_view* out) {
    if (!Eat('"')) return false;
    const size_t start = i_;
    i_ = PlainRunEnd(i_);
    while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\') {
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '"') {
      *out = s_.substr(start, i_ - start);
      ++i_;
      return true;
    }
    // Escapes: decode from the start into the scratch buffer (appended, so earlier views into
    // it stay valid: the buffer was reserved by the caller).
    const size_t from = scratch_->size();
    scratch_->append(s_.substr(start, i_ - start));
    while (i_ < s_.size() && s_[i_] != '"') {
      const char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        scratch_->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          scratch_->push_back(e);
          break;
        case 'b':
          scratch_->push_back('\b');
          break;
        case 'f':
          scratch_->push_back('\f');
          break;
        case 'n':
          scratch_->push_back('\n');
          break;
        case 'r':
          scratch_->push_back('\r');
          break;
        case 't':
          scratch_->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            uint32_t lo;
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
            i_ += 2;
            if (!Hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          AppendUtf8(cp);
          break;
        }
        default:
          return false;
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    *out = std::string_view(*scratch_).substr(from);
    return true;
  }

  // A JSON number as int64 (a fraction or exponent is truncated toward zero).
  bool Number(int64_t* out) {
    SkipSpace();
    const size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    while (i_ < s_.size() && ((s_[i_] >= '0' && s_[i_] <= '9') || s_[i_] == '.' || s_[i_] == 'e' ||
                              s_[i_] == 'E' || s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
    }
    if (i_ == start) return false;
    const std::string_view text = s_.substr(start, i_ - start);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) {
      *out = v;
      return true;
    }
    double d = 0;
    auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (dec != std::errc() || dend != text.data() + text.size() || !(d > -9e18 && d < 9e18)) {
      return false;
    }
    *out = static_cast<int64_t>(d);
    return true;
  }

  // The first index from `i` whose byte may end a plain string run ('"', '\\' or a control
  // character), 16 bytes at a time: string values (ids, paths) are most of a line's bytes.
  size_t PlainRunEnd(size_t i) const {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    while (i + 16 <= s_.size()) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s_.data() + i));
      // Control bytes: unsigned v < 0x20, i.e. min(v, 0x1f) == v.
      const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
      const __m128i hit = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
      const int mask = _mm_movemask_epi8(hit);
      if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      i += 16;
    }
#endif
    return i;
  }

  bool Literal(std::string_view word) {
    SkipSpace();
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

 private:
  bool Hex4(uint32_t* out) {
    if (i_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    *out = v;
    return true;
  }
  void AppendUtf8(uint32_t cp) {
    std::string& o = *scratch_;
    if (cp < 0x80) {
      o.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      o.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      o.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      o.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      o.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      o.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string* scratch_;
};

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view t) {
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || !Digits(t, 0, 4, &y) || t[4] != '-' || !Digits(t, 5, 2, &mo) ||
      t[7] != '-' || !Digits(t, 8, 2, &d) || t[10] != 'T' || !Digits(t, 11, 2, &h) ||
      t[13] != ':' || !Digits(t, 14, 2, &mi) || t[16] != ':' || !Digits(t, 17, 2, &s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  size_t i = 19;
  int64_t micros = 0;
  if (t[i] == '.') {
    ++i;
    int digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (digits < 6) micros = micros * 10 + (t[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int k = digits; k < 6; ++k) micros *= 10;
  }
  if (i + 1 != t.size() || t[i] != 'Z') return std::nullopt;
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60'000'000LL + s * 1'000'000LL + micros;
}

bool ParseLogRow(std::string_view line, LogRow* row, std::string* scratch) {
  scratch->clear();
  scratch->reserve(line.size());  // decoded strings never outgrow the line: views stay valid
  *row = LogRow{};
  Scanner sc(line, scratch);
  if (!sc.Eat('{')) return false;
  bool have_time = false;
  if (sc.Peek() == '}') return false;
  for (;;) {
    std::string_view key;
    if (!sc.String(&key) || !sc.Eat(':')) return false;
    const char c = sc.Peek();
    std::string_view str;
    int64_t num = 0;
    bool is_string = false, is_number = false;
    if (c == '"') {
      if (!sc.String(&str)) return false;
      is_string = true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (!sc.Number(&num)) return false;
      is_number = true;
    } else if (!sc.Literal("null") && !sc.Literal("true") && !sc.Literal("false")) {
      return false;  // objects, arrays, garbage
    }
    if (key == "time") {
      if (!is_string) return false;
      auto t = ParseTimestamp(str);
      if (!t) return false;
      row->time_us = *t;
      have_time = true;
    } else if (key == "consumer") {
      if (is_string) row->consumer = str;
    } else if (key == "route") {
      if (is_string) row->route = str;
    } else if (key == "status") {
      if (is_number && num >= 0 && num <= 999) row->status = static_cast<int>(num);
    } else if (key == "duration_us") {
      if (is_number && num >= 0) row->duration_us = num;
    } else if (key == "bytes_in") {
      if (is_number && num >= 0) row->bytes_in = num;
    } else if (key == "bytes_out") {
      if (is_number && num >= 0) row->bytes_out = num;
    } else if (key == "rate_limit") {
      row->rate_limited = is_string && str == "limited";
    } else if (key == "end") {
      row->refused = is_string && str == "refused";
    }
    if (sc.Eat(',')) continue;
    if (sc.Eat('}')) break;
    return false;
  }
  return have_time && sc.AtEnd();
}

}  // namespace edge::l7::report
