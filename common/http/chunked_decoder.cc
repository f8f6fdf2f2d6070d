#include "common/http/chunked_decoder.h"

#include <algorithm>

#include "common/http/chars.h"

namespace edge::http {

using internal::IsOws;
using internal::IsTchar;

void ChunkedDecoder::Reset() {
  HttpHeaders kept = std::move(trailers_);
  kept.Clear();
  *this = ChunkedDecoder(limits_);
  trailers_ = std::move(kept);
}

ChunkedResult ChunkedDecoder::Error(size_t consumed, uint16_t status, std::string_view reason) {
  state_ = State::kError;
  error_ = {status, reason};
  ChunkedResult r;
  r.status = ChunkedStatus::kError;
  r.consumed = consumed;
  r.error = error_;
  return r;
}

namespace {

// qdtext and the second byte of a quoted-pair (RFC 9110 5.6.4), minus what the caller handles.
bool IsQdText(char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E) || static_cast<uint8_t>(c) >= 0x80;
}
bool IsQuotedPairChar(char c) {
  return c == '\t' || c == ' ' || internal::Is(internal::kVchar, c) ||
         static_cast<uint8_t>(c) >= 0x80;
}

}  // namespace

ChunkedResult ChunkedDecoder::Decode(std::string_view input) {
  if (state_ == State::kError) return Error(0, error_.status, error_.reason);
  if (state_ == State::kDone) return {ChunkedStatus::kDone, 0, {}, {}};
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* p = begin;
  auto consumed = [&] { return static_cast<size_t>(p - begin); };

  while (p < end) {
    if (state_ == State::kData) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(data_left_, static_cast<size_t>(end - p)));
      data_left_ -= n;
      if (data_left_ == 0) state_ = State::kDataCr;
      ChunkedResult r;
      r.status = ChunkedStatus::kData;
      r.data = std::string_view(p, n);
      p += n;
      r.consumed = consumed();
      return r;
    }
    if (state_ == State::kTrailer) break;

    const char c = *p;
    if (state_ <= State::kSizeLf) {
      // The chunk-size line, byte by byte.
      if (++line_bytes_ > limits_.max_chunk_line_bytes) {
        return Error(consumed(), 400, "chunk-size line too long");
      }
    }
    switch (state_) {
      case State::kSizeFirst:
      case State::kSize:
        if (internal::IsHex(c)) {
          if (chunk_size_ > (UINT64_MAX >> 4)) return Error(consumed(), 400, "chunk size overflow");
          chunk_size_ = (chunk_size_ << 4) | internal::HexValue(c);
          state_ = State::kSize;
          break;
        }
        if (state_ == State::kSizeFirst) return Error(consumed(), 400, "invalid chunk size");
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == ';') {
          state_ = State::kBwsAfterSemi;
        } else if (IsOws(c)) {
          state_ = State::kBwsBeforeSemi;
        } else {
          return Error(consumed(), 400, "invalid chunk size");
        }
        break;
      case State::kBwsBeforeSemi:
        if (c == ';') {
          state_ = State::kBwsAfterSemi;
        } else if (!IsOws(c)) {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kBwsAfterSemi:
        if (IsTchar(c)) {
          state_ = State::kExtName;
        } else if (!IsOws(c)) {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kExtName:
        if (IsTchar(c)) break;
        if (c == '=') {
          state_ = State::kBwsAfterEquals;
        } else if (c == ';') {
          state_ = State::kBwsAfterSemi;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (IsOws(c)) {
          state_ = State::kBwsAfterName;
        } else {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kBwsAfterName:
        if (c == '=') {
          state_ = State::kBwsAfterEquals;
        } else if (c == ';') {
          state_ = State::kBwsAfterSemi;
        } else if (!IsOws(c)) {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kBwsAfterEquals:
        if (IsTchar(c)) {
          state_ = State::kExtToken;
        } else if (c == '"') {
          state_ = State::kExtQuoted;
        } else if (!IsOws(c)) {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kExtToken:
        if (IsTchar(c)) break;
        [[fallthrough]];
      case State::kAfterQuoted:
        if (c == ';') {
          state_ = State::kBwsAfterSemi;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (IsOws(c)) {
          state_ = State::kBwsBeforeSemi;
        } else {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kExtQuoted:
        if (c == '"') {
          state_ = State::kAfterQuoted;
        } else if (c == '\\') {
          state_ = State::kExtQuotedPair;
        } else if (!IsQdText(c)) {
          return Error(consumed(), 400, "invalid chunk extension");
        }
        break;
      case State::kExtQuotedPair:
        if (!IsQuotedPairChar(c)) return Error(consumed(), 400, "invalid chunk extension");
        state_ = State::kExtQuoted;
        break;
      case State::kSizeLf:
        if (c != '\n') return Error(consumed(), 400, "bare CR in chunk-size line");
        line_bytes_ = 0;
        if (chunk_size_ == 0) {
          state_ = State::kTrailer;
        } else {
          if (chunk_size_ > limits_.max_body_bytes - body_bytes_) {
            return Error(consumed(), 413, "chunked body too large");
          }
          body_bytes_ += chunk_size_;
          data_left_ = chunk_size_;
          chunk_size_ = 0;
          state_ = State::kData;
        }
        break;
      case State::kDataCr:
        if (c != '\r') return Error(consumed(), 400, "chunk data not followed by CRLF");
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return Error(consumed(), 400, "chunk data not followed by CRLF");
        state_ = State::kSizeFirst;
        break;
      case State::kData:
      case State::kTrailer:
      case State::kDone:
      case State::kError:
        break;  // handled above
    }
    ++p;
  }

  if (state_ != State::kTrailer) return {ChunkedStatus::kNeedMore, consumed(), {}, {}};

  // The trailer section: parsed as a block, so that the fields can be views, and like a head that
  // trickles in (HeadProgress) so that the work stays linear. Its bytes stay unconsumed until it
  // is complete.
  std::string_view section(p, static_cast<size_t>(end - p));
  if (!trailer_progress_.ShouldParse(section, limits_.max_trailer_bytes)) {
    return {ChunkedStatus::kNeedMore, consumed(), {}, {}};
  }
  const bool over = section.size() > limits_.max_trailer_bytes;
  const char* q = p;
  const char* limit = over ? p + limits_.max_trailer_bytes : end;
  trailers_.Clear();
  HttpError error;
  switch (internal::ParseFieldSection(q, limit, limits_.max_trailers, &trailers_, &error)) {
    case internal::Step::kOk:
      state_ = State::kDone;
      return {ChunkedStatus::kDone, static_cast<size_t>(q - begin), {}, {}};
    case internal::Step::kError:
      return Error(consumed(), error.status, error.reason);
    case internal::Step::kNeedMore:
      break;
  }
  if (over) return Error(consumed(), 431, "trailer section too large");
  trailer_progress_.ParsedNeedMore(section.size());
  return {ChunkedStatus::kNeedMore, consumed(), {}, {}};
}

}  // namespace edge::http
