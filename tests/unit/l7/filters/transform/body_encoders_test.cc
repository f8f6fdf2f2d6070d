// The streaming compressors: what they write decodes to the input, every piece is decodable as
// soon as it is written (flushed), and nothing is held back beyond the window.

#include "l7/filters/transform/body_encoders.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace edge::l7 {
namespace {

// Decodes a gzip stream incrementally; Feed returns what the bytes so far decode to.
class Gunzip {
 public:
  Gunzip() { EXPECT_EQ(inflateInit2(&z_, 16 + MAX_WBITS), Z_OK); }
  ~Gunzip() { inflateEnd(&z_); }
  std::string Feed(std::string_view in) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    char buf[16384];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof(buf);
      last_ = inflate(&z_, Z_NO_FLUSH);
      out.append(buf, sizeof(buf) - z_.avail_out);
    } while (z_.avail_out == 0);
    return out;
  }
  bool ended() const { return last_ == Z_STREAM_END; }

 private:
  z_stream z_{};
  int last_ = Z_OK;
};

std::string Text(size_t n) {
  std::string s;
  std::mt19937 rng(7);
  const char* words[] = {"{\"id\":", "\"name\":\"", "widget", "gadget", "\",", "42", "}\n"};
  while (s.size() < n) s += words[rng() % 7];
  s.resize(n);
  return s;
}

TEST(GzipEncoder, EveryPieceDecodesAsSoonAsItIsWritten) {
  auto e = MakeGzipEncoder();
  ASSERT_NE(e, nullptr);
  Gunzip d;
  const std::string body = Text(300000);
  std::string decoded;
  size_t compressed = 0;
  for (size_t at = 0; at < body.size(); at += 7000) {
    std::string out;
    const std::string_view piece = std::string_view(body).substr(at, 7000);
    e->Encode(piece, &out);
    compressed += out.size();
    EXPECT_EQ(d.Feed(out), piece);  // flushed: nothing of the piece is held back
  }
  std::string tail;
  e->Finish(&tail);
  decoded = d.Feed(tail);
  EXPECT_EQ(decoded, "");
  EXPECT_TRUE(d.ended());
  EXPECT_LT(compressed, body.size() / 3);
}

TEST(GzipEncoder, ASizeHintShrinksTheWindowButNotTheResult) {
  for (uint64_t hint : {1u, 600u, 5000u, 40000u}) {
    const std::string body = Text(hint);
    auto e = MakeGzipEncoder(6, hint);
    ASSERT_NE(e, nullptr);
    std::string out;
    e->Encode(body, &out);
    e->Finish(&out);
    Gunzip d;
    EXPECT_EQ(d.Feed(out), body) << hint;
    EXPECT_TRUE(d.ended());
  }
  // A hint that turns out wrong (a shorter window than the body) still round-trips.
  auto e = MakeGzipEncoder(6, 100);
  const std::string body = Text(100000);
  std::string out;
  e->Encode(body, &out);
  e->Finish(&out);
  Gunzip d;
  EXPECT_EQ(d.Feed(out), body);
}

TEST(GzipEncoder, EmptyBodyIsAValidGzipMember) {
  auto e = MakeGzipEncoder();
  std::string out;
  e->Encode("", &out);
  EXPECT_EQ(out, "");
  e->Finish(&out);
  Gunzip d;
  EXPECT_EQ(d.Feed(out), "");
  EXPECT_TRUE(d.ended());
}

TEST(BrotliEncoder, RoundTripsAndFlushesEachPiece) {
  auto e = MakeBrotliEncoder();
  ASSERT_NE(e, nullptr);
  BrotliDecoderState* d = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  const std::string body = Text(200000);
  auto feed = [&](std::string_view in) {
    std::string out;
    size_t avail_in = in.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
    BrotliDecoderResult r;
    do {
      uint8_t buf[16384];
      size_t avail_out = sizeof(buf);
      uint8_t* next_out = buf;
      r = BrotliDecoderDecompressStream(d, &avail_in, &next_in, &avail_out, &next_out, nullptr);
      out.append(reinterpret_cast<char*>(buf), sizeof(buf) - avail_out);
    } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    EXPECT_NE(r, BROTLI_DECODER_RESULT_ERROR);
    return out;
  };
  for (size_t at = 0; at < body.size(); at += 10000) {
    std::string out;
    const std::string_view piece = std::string_view(body).substr(at, 10000);
    e->Encode(piece, &out);
    EXPECT_EQ(feed(out), piece);
  }
  std::string tail;
  e->Finish(&tail);
  EXPECT_EQ(feed(tail), "");
  EXPECT_TRUE(BrotliDecoderIsFinished(d));
  BrotliDecoderDestroyInstance(d);
}

}  // namespace
}  // namespace edge::l7
