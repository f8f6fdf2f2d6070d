#pragma once
// Incremental decoder of the chunked transfer coding (RFC 9112 7.1), for request bodies and backend
// responses. Strict: anything the grammar does not allow is refused, never skipped over.
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-size   = 1*HEXDIG          last-chunk = 1*("0") [ chunk-ext ] CRLF
//   chunk-ext    = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ),  ext-val = token /
//   quoted-string
//
// Decisions:
//  - Chunk sizes: hex digits only: no sign, no "0x", no whitespace before them, none after them
//    unless a ";" follows (that BWS is the grammar's). Leading zeros are fine. A size that does not
//    fit in 64 bits: 400; one that takes the body past max_body_bytes: 413 (checked before any of
//    its data is returned).
//  - Extensions are parsed per the grammar above (quoted strings with quoted-pairs included) and
//    discarded: gw7 never forwards them. The chunk-size line, extensions and CRLF included, is at
//    most max_chunk_line_bytes: 400 beyond.
//  - Lines end in CRLF only; a bare CR or LF is 400, and so is anything but CRLF right after a
//    chunk's data.
//  - The trailer section is parsed like a header section (head_parse.h): strict field lines, at
//    most max_trailers fields and max_trailer_bytes bytes (both 431). The fields are returned, not
//    merged: the caller decides what, if anything, to forward (RFC 9110 6.5).
//  Error statuses are request statuses (400, 413, 431); for a backend response the caller answers
//  502 instead.
//
// Use: feed Decode() the unconsumed bytes of the body; it returns how many it consumed and at most
// one piece of chunk data, a view into that input (zero-copy; see message.h). Drop `consumed` bytes
// and call again, with more bytes when it says kNeedMore. Framing bytes are consumed as soon as
// they are seen (the decoder keeps its place in between), except for the trailer section, which
// stays in the caller's buffer until it is complete, so that trailers() can point into it.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/http/head_parse.h"
#include "common/http/message.h"

namespace edge::http {

struct ChunkedLimits {
  uint64_t max_body_bytes = 10 * 1024 * 1024;  // sum of chunk sizes: 413 beyond
  size_t max_chunk_line_bytes = 256;           // a chunk-size line with extensions and CRLF: 400
  size_t max_trailer_bytes = 8 * 1024;         // trailer section including its final CRLF: 431
  size_t max_trailers = 32;                    // trailer fields: 431
};

enum class ChunkedStatus : uint8_t {
  kNeedMore,  // all of the input's framing was consumed; call again with more bytes
  kData,      // `data` is decoded body bytes: forward them, drop `consumed`, call again
  kDone,      // the body (and its trailer section) ended after `consumed` bytes
  kError,     // refused: `error`; the connection must be closed
};

struct ChunkedResult {
  ChunkedStatus status = ChunkedStatus::kNeedMore;
  size_t consumed = 0;    // bytes of the input used, up to the end of `data` when there is some
  std::string_view data;  // kData: a view into the input
  HttpError error;        // kError
};

class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(const ChunkedLimits& limits = ChunkedLimits()) : limits_(limits) {}

  ChunkedResult Decode(std::string_view input);

  // After kDone: the trailer fields, views into the input of the call that returned kDone.
  const HttpHeaders& trailers() const { return trailers_; }
  uint64_t body_bytes() const { return body_bytes_; }  // chunk data bytes announced so far
  bool done() const { return state_ == State::kDone; }
  void Reset();  // for the next body; keeps the trailer vector's capacity

 private:
  enum class State : uint8_t {
    kSizeFirst,       // expecting the first hex digit of a chunk size
    kSize,            // in the hex digits
    kBwsBeforeSemi,   // BWS after the size or an extension: only ";" may follow
    kBwsAfterSemi,    // after ";": BWS, then an extension name
    kExtName,         // in an extension name
    kBwsAfterName,    // BWS after a name: "=" or ";" may follow
    kBwsAfterEquals,  // after "=": BWS, then a token or a quoted string
    kExtToken,        // in a token value
    kExtQuoted,       // in a quoted-string value
    kExtQuotedPair,   // after a backslash in a quoted string
    kAfterQuoted,     // after the closing quote
    kSizeLf,          // after the size line's CR
    kData,            // in chunk data, data_left_ bytes to go
    kDataCr,          // expecting the CR after chunk data
    kDataLf,          // expecting the LF after chunk data
    kTrailer,         // the trailer section (parsed as a block)
    kDone,
    kError,
  };

  ChunkedResult Error(size_t consumed, uint16_t status, std::string_view reason);

  ChunkedLimits limits_;
  State state_ = State::kSizeFirst;
  uint64_t chunk_size_ = 0;  // the size being read
  uint64_t data_left_ = 0;   // in kData
  uint64_t body_bytes_ = 0;
  size_t line_bytes_ = 0;                    // bytes of the current chunk-size line so far
  internal::HeadProgress trailer_progress_;  // kTrailer
  HttpHeaders trailers_;
  HttpError error_;  // kError: repeated on every later call
};

}  // namespace edge::http
