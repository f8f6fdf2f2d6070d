#pragma once
// Types shared by the HTTP/1.1 codec in common/http: header fields, parse results, body framing,
// limits. Types only (plus a few tiny helpers), so that every other header here can include it.
//
// Zero-copy: everything the parsers return (HttpHeader, the views in HttpRequest/HttpResponse,
// decoded chunk data) points into the caller's receive buffer. Those bytes must stay where they
// are, unmodified, until the caller is done with the message; moving or compacting the buffer
// invalidates every view taken from it.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace edge::http {

enum class HttpVersion : uint8_t { kHttp10, kHttp11 };

// A field line: name and value with surrounding whitespace removed, both views into the buffer.
struct HttpHeader {
  std::string_view name;
  std::string_view value;
};

// ASCII case-insensitive equality (field names, coding names, Connection options). Inline: the
// gateway asks it for every field of every message, and most answers come from the sizes.
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const unsigned char x = static_cast<unsigned char>(a[i]);
    const unsigned char y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    // Equal apart from case only if they differ in bit 0x20 and are letters.
    const unsigned char lower = x | 0x20;
    if (lower != (y | 0x20) || static_cast<unsigned char>(lower - 'a') > 'z' - 'a') return false;
  }
  return true;
}

// Where a parsed message's views point when its bytes are copied: a view inside
// [from, from + size) moves to the same offset from `to`; any other view (the parsers' own
// literals) stays. A caller that moves a parsed head out of its receive buffer relocates the
// message instead of parsing the copy again.
struct ViewRelocation {
  const char* from;
  size_t size;
  const char* to;

  std::string_view operator()(std::string_view v) const {
    const auto begin = reinterpret_cast<uintptr_t>(from);
    const auto at = reinterpret_cast<uintptr_t>(v.data());
    if (v.data() == nullptr || at < begin || at - begin > size || at - begin + v.size() > size) {
      return v;
    }
    return std::string_view(to + (at - begin), v.size());
  }
};

// The field lines of one header (or trailer) section, in the order received; repeated names are
// kept as separate entries. Clear() keeps the vector's capacity, so a long-lived message object
// reused for every request on a connection parses without allocating once it has grown.
class HttpHeaders {
 public:
  void Clear() { fields_.clear(); }
  void Add(std::string_view name, std::string_view value) { fields_.push_back({name, value}); }
  void Reserve(size_t n) { fields_.reserve(n); }
  void Relocate(const ViewRelocation& move) {
    for (HttpHeader& h : fields_) {
      h.name = move(h.name);
      h.value = move(h.value);
    }
  }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const HttpHeader& operator[](size_t i) const { return fields_[i]; }
  std::vector<HttpHeader>::const_iterator begin() const { return fields_.begin(); }
  std::vector<HttpHeader>::const_iterator end() const { return fields_.end(); }

  // The first field with this name (case-insensitive), or nullptr.
  const HttpHeader* Find(std::string_view name) const;
  // Its value, or `fallback` when absent.
  std::string_view Get(std::string_view name, std::string_view fallback = {}) const;
  // How many fields have this name (case-insensitive).
  size_t Count(std::string_view name) const;

 private:
  std::vector<HttpHeader> fields_;
};

// Why a message was refused: the HTTP status to answer with (requests: 400, 413, 414, 417, 431,
// 501, 505; responses from backends: always 502) and a short fixed reason for logs and error
// bodies. `reason` points at a string literal: it never dangles and never allocates.
struct HttpError {
  uint16_t status = 0;
  std::string_view reason;

  friend bool operator==(const HttpError&, const HttpError&) = default;
};

enum class ParseStatus : uint8_t {
  kNeedMore,  // every byte so far is valid; call again with more (the same bytes plus what came)
  kComplete,  // a whole head was parsed; `consumed` bytes of the buffer belong to it
  kError,     // refused; `error` says why. The connection cannot be resynchronised: close it
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  size_t consumed =
      0;            // kComplete: the head's size, from the buffer's start through its blank line
  HttpError error;  // kError only

  static ParseResult NeedMore() { return {}; }
  static ParseResult Complete(size_t n) { return {ParseStatus::kComplete, n, {}}; }
  static ParseResult Error(uint16_t status, std::string_view reason) {
    return {ParseStatus::kError, 0, {status, reason}};
  }
  bool complete() const { return status == ParseStatus::kComplete; }
  bool need_more() const { return status == ParseStatus::kNeedMore; }
  bool error_status() const { return status == ParseStatus::kError; }
};

// How the body after a head is delimited.
enum class BodyKind : uint8_t {
  kNone,           // no body: the next message starts right after the head
  kContentLength,  // exactly `length` bytes (length may be 0)
  kChunked,        // chunked coding: feed it to a ChunkedDecoder
  kUntilClose,     // responses only: everything until the backend closes the connection
};

struct BodyFraming {
  BodyKind kind = BodyKind::kNone;
  uint64_t length = 0;  // kContentLength only

  friend bool operator==(const BodyFraming&, const BodyFraming&) = default;
};

// Parser limits. Defaults match DESIGN.md's gw7 defaults.
struct HttpLimits {
  // Bytes of the whole head: the start line, every field line, every CRLF, the blank line and an
  // ignored leading CRLF. Requests: larger is 431; responses: 502.
  size_t max_header_bytes = 16 * 1024;
  // Bytes of the request-target. Longer is 414 (whatever max_header_bytes says: 431 wins only
  // when the head limit is reached first, i.e. when max_target_bytes >= max_header_bytes).
  size_t max_target_bytes = 8 * 1024;
  // Number of field lines. More is 431 (responses: 502).
  size_t max_headers = 100;
  // A Content-Length above this is refused at the head: 413 (responses: 502). Chunked bodies are
  // limited by the ChunkedDecoder, which takes its own limit.
  uint64_t max_body_bytes = 10 * 1024 * 1024;
};

inline constexpr uint64_t kUnlimitedBody = std::numeric_limits<uint64_t>::max();

}  // namespace edge::http
