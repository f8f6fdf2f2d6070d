#include "l7/router/path_normalizer.h"

#include <array>
#include <cstring>

#include "common/http/percent.h"

namespace edge::l7 {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Bytes that stand for themselves in a path and never need a change: unreserved, the
// sub-delims but ';', ':', '@' and '/'. '%' and ';' are not here: they send a path to the slow
// pass.
constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<size_t>(c)] =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }
  for (char c : std::string_view("-._~!$&'()*+,=:@/")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}
constexpr std::array<bool, 256> kPlain = MakePlainTable();

bool IsDotSegment(std::string_view segment) { return segment == "." || segment == ".."; }

// True when `path` (starting with '/') is already normal: plain bytes only, no dot segment and,
// when merging, no empty segment but a trailing one.
bool AlreadyNormal(std::string_view path, bool merge_slashes) {
  size_t segment_start = 1;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i < path.size()) {
      const unsigned char c = static_cast<unsigned char>(path[i]);
      if (!kPlain[c]) return false;
      if (c != '/') continue;
      if (merge_slashes && i == segment_start) return false;  // "//"
    }
    if (IsDotSegment(path.substr(segment_start, i - segment_start))) return false;
    segment_start = i + 1;
  }
  return true;
}

// Steps 1-3 of the header comment and the "%3B" half of step 6, into *out.
PathRefusal Decode(std::string_view path, const PathNormalization& options, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->clear();
  out->reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    if (c == '%') {
      const int hi = i + 2 < path.size() ? http::HexDigitValue(path[i + 1]) : -1;
      const int lo = hi >= 0 ? http::HexDigitValue(path[i + 2]) : -1;
      if (lo < 0) return PathRefusal::kBadPath;
      i += 2;
      const unsigned char v = static_cast<unsigned char>(hi * 16 + lo);
      if (v == 0) return PathRefusal::kBadPath;
      if (IsUnreserved(v)) {
        out->push_back(static_cast<char>(v));
        continue;
      }
      if ((v == '/' || v == '\\') && options.escaped_slashes == EscapedSlashes::kReject) {
        return PathRefusal::kEscapedSlash;
      }
      // Decoding "%3B" would make a parameter that the client hid from a reject policy; keeping
      // it encoded leaves a servlet container free to decode it after its own stripping.
      if (v == ';') return PathRefusal::kPathParameter;
      out->push_back('%');
      out->push_back(kHex[v >> 4]);
      out->push_back(kHex[v & 15]);
    } else if (c == '\\') {
      return PathRefusal::kBackslash;
    } else if (c == ';') {
      if (options.path_parameters == PathParameters::kReject) return PathRefusal::kPathParameter;
      out->push_back(';');
    } else if (kPlain[c]) {
      out->push_back(static_cast<char>(c));
    } else {
      return PathRefusal::kBadPath;
    }
  }
  return PathRefusal::kNone;
}

// Steps 4-6 on the decoded path in *s (starting with '/'), in place: the output never gets
// ahead of the input.
PathRefusal Segments(const PathNormalization& options, std::string* s) {
  const bool strip = options.path_parameters == PathParameters::kStrip;
  const size_t n = s->size();
  char* data = s->data();
  size_t w = 0;
  size_t r = 0;
  while (r < n) {  // data[r] == '/'
    const size_t start = r + 1;
    size_t end = start;
    while (end < n && data[end] != '/') ++end;
    std::string_view segment(data + start, end - start);
    if (strip) segment = segment.substr(0, segment.find(';'));
    if (IsDotSegment(segment)) return PathRefusal::kDotSegment;
    const bool last = end == n;
    r = end;
    if (segment.empty() && options.merge_slashes) {
      // An empty segment is dropped; a trailing one stays as the trailing '/' unless the output
      // already ends with one.
      if (last && (w == 0 || data[w - 1] != '/')) data[w++] = '/';
      continue;
    }
    data[w++] = '/';
    std::memmove(data + w, segment.data(), segment.size());
    w += segment.size();
  }
  s->resize(w);
  return PathRefusal::kNone;
}

}  // namespace

std::string_view RefusalKind(PathRefusal refusal) {
  switch (refusal) {
    case PathRefusal::kNone:
      return "";
    case PathRefusal::kBadPath:
      return "bad_path";
    case PathRefusal::kEscapedSlash:
      return "escaped_slash";
    case PathRefusal::kBackslash:
      return "backslash";
    case PathRefusal::kDotSegment:
      return "dot_segment";
    case PathRefusal::kPathParameter:
      return "path_parameter";
  }
  return "bad_path";
}

std::string_view RefusalMessage(PathRefusal refusal) {
  switch (refusal) {
    case PathRefusal::kNone:
      return "";
    case PathRefusal::kBadPath:
      return "malformed percent-encoding or forbidden byte in the request path";
    case PathRefusal::kEscapedSlash:
      return "encoded slash or backslash in the request path";
    case PathRefusal::kBackslash:
      return "backslash in the request path";
    case PathRefusal::kDotSegment:
      return "dot segment in the request path";
    case PathRefusal::kPathParameter:
      return "';' path parameter in the request path";
  }
  return "bad request path";
}

PathRefusal NormalizePath(std::string_view path, const PathNormalization& options,
                          std::string* buffer, std::string_view* out) {
  if (path.empty()) {
    *out = path;
    return PathRefusal::kNone;
  }
  if (path.front() != '/') return PathRefusal::kBadPath;
  if (AlreadyNormal(path, options.merge_slashes)) {
    *out = path;
    return PathRefusal::kNone;
  }
  if (PathRefusal r = Decode(path, options, buffer); r != PathRefusal::kNone) return r;
  if (PathRefusal r = Segments(options, buffer); r != PathRefusal::kNone) return r;
  *out = *buffer;
  return PathRefusal::kNone;
}

}  // namespace edge::l7
