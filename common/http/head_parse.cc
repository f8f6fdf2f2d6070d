#include "common/http/head_parse.h"

#include <cstring>

#include "common/http/chars.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace edge::http::internal {

const char* ScanFieldChars(const char* p, const char* end) {
#if defined(__SSE2__)
  // 16 bytes at a time: a byte is bad when it is below 0x20 (unsigned) but not HTAB, or DEL.
  // Unsigned "< 0x20" is a signed compare after flipping the top bit.
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i ctl_bound = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i ctl = _mm_cmplt_epi8(_mm_xor_si128(v, flip), ctl_bound);
    __m128i bad =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), ctl), _mm_cmpeq_epi8(v, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && Is(kFieldChar, *p)) ++p;
  return p;
}

const char* ScanVchars(const char* p, const char* end) {
#if defined(__SSE2__)
  // A byte is bad when it is below 0x21 as a signed byte (controls, SP and 0x80..0xFF), or DEL.
  const __m128i low = _mm_set1_epi8(0x21);
  const __m128i del = _mm_set1_epi8(0x7F);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, low), _mm_cmpeq_epi8(v, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && Is(kVchar, *p)) ++p;
  return p;
}

Step ParseFieldSection(const char*& pos, const char* end, size_t max_fields, HttpHeaders* out,
                       HttpError* error) {
  const char* p = pos;
  for (;;) {
    if (p == end) return Step::kNeedMore;
    char c = *p;
    if (c == '\r') {
      if (p + 1 == end) return Step::kNeedMore;
      if (p[1] != '\n') return Fail(error, 400, "bare CR in header section");
      pos = p + 2;
      return Step::kOk;
    }
    if (c == '\n') return Fail(error, 400, "bare LF line ending");
    if (IsOws(c)) return Fail(error, 400, "obs-fold or whitespace at the start of a field line");
    if (out->size() >= max_fields) return Fail(error, 431, "too many header fields");

    const char* name = p;
    while (p < end && IsTchar(*p)) ++p;
    if (p == end) return Step::kNeedMore;
    if (*p != ':') {
      if (IsOws(*p)) return Fail(error, 400, "whitespace between field name and colon");
      if (*p == '\r' || *p == '\n') return Fail(error, 400, "field line without a colon");
      return Fail(error, 400, "invalid character in field name");
    }
    if (p == name) return Fail(error, 400, "empty field name");
    std::string_view field_name(name, static_cast<size_t>(p - name));
    ++p;
    while (p < end && IsOws(*p)) ++p;
    const char* value = p;
    p = ScanFieldChars(p, end);
    if (p == end) return Step::kNeedMore;
    if (*p == '\r') {
      if (p + 1 == end) return Step::kNeedMore;
      if (p[1] != '\n') return Fail(error, 400, "bare CR in field value");
    } else if (*p == '\n') {
      return Fail(error, 400, "bare LF line ending");
    } else {
      return Fail(error, 400, "control character in field value");
    }
    const char* value_end = p;
    while (value_end > value && IsOws(value_end[-1])) --value_end;
    out->Add(field_name, std::string_view(value, static_cast<size_t>(value_end - value)));
    p += 2;
  }
}

Step ParseVersionToken(const char*& p, const char* end, int* major, int* minor, HttpError* error) {
  static constexpr char kPattern[] = "HTTP/D.D";
  if (end - p >= 8 && std::memcmp(p, "HTTP/1.1", 8) == 0) {
    *major = 1;
    *minor = 1;
    p += 8;
    return Step::kOk;
  }
  for (int i = 0; i < 8; ++i) {
    if (p + i == end) return Step::kNeedMore;
    char c = p[i];
    bool ok = kPattern[i] == 'D' ? IsDigit(c) : c == kPattern[i];
    if (!ok) return Fail(error, 400, "invalid HTTP version");
  }
  *major = p[5] - '0';
  *minor = p[7] - '0';
  p += 8;
  return Step::kOk;
}

bool ParseContentLength(std::string_view value, uint64_t* length) {
  if (value.empty()) return false;
  uint64_t n = 0;
  for (char c : value) {
    if (!IsDigit(c)) return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  *length = n;
  return true;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

namespace {

// `name` equals `lower` (already lowercase, same length) ignoring ASCII case.
bool NameIs(std::string_view name, std::string_view lower) {
  for (size_t i = 0; i < lower.size(); ++i) {
    if (ToLower(name[i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace

void CollectKnownFields(const HttpHeaders& headers, KnownFields* out) {
  *out = KnownFields();
  for (const HttpHeader& h : headers) {
    std::string_view n = h.name;
    switch (n.size()) {
      case 4:
        if (NameIs(n, "host") && out->host_count++ == 0) out->host = h.value;
        break;
      case 6:
        if (NameIs(n, "expect") && out->expect_count++ == 0) out->expect = h.value;
        break;
      case 7:
        if (NameIs(n, "upgrade")) ++out->upgrade_count;
        break;
      case 10:
        if (NameIs(n, "connection")) ++out->connection_count;
        break;
      case 14:
        if (NameIs(n, "content-length") && out->content_length_count++ == 0) {
          out->content_length = h.value;
        }
        break;
      case 17:
        if (NameIs(n, "transfer-encoding")) ++out->transfer_encoding_count;
        break;
      default:
        break;
    }
  }
}

TransferCoding ClassifyTransferEncoding(const HttpHeaders& headers) {
  size_t codings = 0;
  size_t chunked = 0;
  bool valid = true;
  for (const HttpHeader& h : headers) {
    if (!EqualsIgnoreCase(h.name, "transfer-encoding")) continue;
    valid = valid && ForEachListElement(h.value, [&](std::string_view coding) {
              if (!IsToken(coding)) return false;  // parameters, quotes, stray bytes
              ++codings;
              if (EqualsIgnoreCase(coding, "chunked")) ++chunked;
              return true;
            });
  }
  if (!valid || codings == 0 || chunked > 1) return TransferCoding::kInvalid;
  if (codings != chunked) return TransferCoding::kUnsupported;
  return TransferCoding::kChunked;
}

ConnectionOptions ParseConnectionOptions(const HttpHeaders& headers) {
  ConnectionOptions o;
  for (const HttpHeader& h : headers) {
    if (!EqualsIgnoreCase(h.name, "connection")) continue;
    o.valid = o.valid && ForEachListElement(h.value, [&o](std::string_view option) {
                if (!IsToken(option)) return false;
                if (EqualsIgnoreCase(option, "close")) o.close = true;
                if (EqualsIgnoreCase(option, "keep-alive")) o.keep_alive = true;
                if (EqualsIgnoreCase(option, "upgrade")) o.upgrade = true;
                return true;
              });
  }
  return o;
}

bool IsValidUpgrade(const HttpHeaders& headers) {
  size_t protocols = 0;
  bool valid = true;
  for (const HttpHeader& h : headers) {
    if (!EqualsIgnoreCase(h.name, "upgrade")) continue;
    valid =
        valid && ForEachListElement(h.value, [&](std::string_view protocol) {
          size_t slash = protocol.find('/');
          if (slash == std::string_view::npos) {
            if (!IsToken(protocol)) return false;
          } else if (!IsToken(protocol.substr(0, slash)) || !IsToken(protocol.substr(slash + 1))) {
            return false;
          }
          ++protocols;
          return true;
        });
  }
  return valid && protocols > 0;
}

bool HeadProgress::ShouldParse(std::string_view data, size_t max_header_bytes) {
  size_t size = data.size();
  if (parsed_size_ == 0 || size < parsed_size_) return true;  // first call, or a new message
  if (size > max_header_bytes || size / 2 >= parsed_size_) return true;
  // An empty line can only end at a '\n' preceded by "\n" or "\n\r"; resume two bytes back so a
  // pattern split across pieces is seen.
  size_t i = searched_ >= 2 ? searched_ - 2 : 0;
  searched_ = size;
  while (i < size) {
    const void* hit = std::memchr(data.data() + i, '\n', size - i);
    if (hit == nullptr) break;
    i = static_cast<size_t>(static_cast<const char*>(hit) - data.data()) + 1;
    if (i < size && data[i] == '\n') return true;
    if (i + 1 < size && data[i] == '\r' && data[i + 1] == '\n') return true;
  }
  return false;
}

}  // namespace edge::http::internal
