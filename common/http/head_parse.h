#pragma once
// Building blocks shared by the request, response and trailer parsers (internal to common/http):
// the field-section grammar, the HTTP-version token, the framing fields (Content-Length,
// Transfer-Encoding, Connection) and the bookkeeping that keeps incremental parsing linear.
//
// Functions that scan bytes take `p` by reference and advance it on success. They return kNeedMore
// when the bytes end before a verdict is certain, which never happens after an error would have
// been reported: every check is decided by the bytes before the point where it is made, so a
// verdict on a prefix is either "need more" or the verdict on the whole.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/http/message.h"

namespace edge::http::internal {

enum class Step : uint8_t { kOk, kNeedMore, kError };

inline Step Fail(HttpError* error, uint16_t status, std::string_view reason) {
  *error = {status, reason};
  return Step::kError;
}

// The first byte in [p, end) that is not a field-value byte (VCHAR, obs-text, SP, HTAB), or end.
const char* ScanFieldChars(const char* p, const char* end);
// The first byte in [p, end) that is not VCHAR (0x21..0x7E), or end.
const char* ScanVchars(const char* p, const char* end);

// Field lines (RFC 9112 5) from `p`, which is at the start of a line, through the empty line that
// ends the section; appended to `out`. Strict: a field name is a non-empty token directly followed
// by ":" (whitespace before the colon: 400); OWS around the value is dropped; a value holds only
// VCHAR, obs-text, SP and HTAB (NUL, DEL and every other control: 400); lines end in CRLF (bare LF
// or bare CR: 400); a line starting with SP or HTAB (obs-fold, or whitespace after the start
// line) is 400. More than `max_fields` lines: 431. All errors carry these request statuses; the
// response parser turns them into 502.
Step ParseFieldSection(const char*& p, const char* end, size_t max_fields, HttpHeaders* out,
                       HttpError* error);

// "HTTP/" DIGIT "." DIGIT (8 bytes; "http/1.1", "HTTP/1.10" or "HTTP/1" are 400). Does not judge
// the numbers: the caller decides which versions it supports.
Step ParseVersionToken(const char*& p, const char* end, int* major, int* minor, HttpError* error);

// Content-Length = 1*DIGIT, fitting in uint64_t. No sign, no "0x", no inner whitespace, no list
// ("5,5" is refused even though RFC 9110 8.6 lets a recipient accept identical repeats).
bool ParseContentLength(std::string_view value, uint64_t* length);

// Splits a #rule list value (RFC 9110 5.6.1) on commas, trims OWS and calls fn(element) for
// each non-empty element; stops and returns false as soon as fn returns false.
template <typename Fn>
bool ForEachListElement(std::string_view value, Fn fn) {
  size_t i = 0;
  while (i <= value.size()) {
    size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) comma = value.size();
    size_t b = i, e = comma;
    while (b < e && (value[b] == ' ' || value[b] == '\t')) ++b;
    while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t')) --e;
    if (e > b && !fn(value.substr(b, e - b))) return false;
    i = comma + 1;
  }
  return true;
}

// True when s is a non-empty token.
bool IsToken(std::string_view s);

// The framing- and connection-relevant fields of a header section, found in one pass.
struct KnownFields {
  uint32_t host_count = 0;
  uint32_t content_length_count = 0;
  uint32_t transfer_encoding_count = 0;
  uint32_t connection_count = 0;
  uint32_t expect_count = 0;
  uint32_t upgrade_count = 0;
  std::string_view host;            // first Host value
  std::string_view content_length;  // first Content-Length value
  std::string_view expect;          // first Expect value
};
void CollectKnownFields(const HttpHeaders& headers, KnownFields* out);

// The combined Transfer-Encoding list of a message (all its Transfer-Encoding fields in order).
enum class TransferCoding : uint8_t {
  kChunked,      // exactly one coding, "chunked" (any case)
  kUnsupported,  // well-formed, but holds a coding other than chunked ("gzip, chunked", "identity")
  kInvalid,      // empty, not a list of tokens, or chunked more than once
};
TransferCoding ClassifyTransferEncoding(const HttpHeaders& headers);

// The Connection options that decide persistence.
struct ConnectionOptions {
  bool valid = true;  // false: an element is not a token
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
};
ConnectionOptions ParseConnectionOptions(const HttpHeaders& headers);

// Whether every Upgrade field is a non-empty list of protocols, `token ["/" token]` (RFC 9110
// 7.8), with at least one protocol in all. Anything else cannot be forwarded unambiguously.
bool IsValidUpgrade(const HttpHeaders& headers);

// Keeps an incremental head parser linear in the bytes received. The stateless parse is complete
// and early (it refuses a bad byte as soon as it is seen), but rerunning it on every new piece
// would cost O(n^2) for a head that trickles in. So the wrapper reruns it only when its verdict may
// have changed in a way that matters: when an empty line ("\n\r\n", or "\n\n" which the parse
// then refuses) appears in bytes not searched yet, when the head limit is exceeded, or when the
// buffer has doubled since the last parse (so junk is still refused early). Total work is linear.
class HeadProgress {
 public:
  // Whether to run the stateless parse on `data` (the whole message so far) now.
  bool ShouldParse(std::string_view data, size_t max_header_bytes);
  // The stateless parse of `size` bytes said kNeedMore.
  void ParsedNeedMore(size_t size) {
    parsed_size_ = size;
    searched_ = size;
  }
  void Reset() { *this = HeadProgress(); }

 private:
  size_t parsed_size_ = 0;  // buffer size at the last parse; 0: not parsed yet
  size_t searched_ = 0;     // bytes already searched for an empty line
};

}  // namespace edge::http::internal
