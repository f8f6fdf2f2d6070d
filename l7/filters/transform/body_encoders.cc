#include "l7/filters/transform/body_encoders.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace edge::l7 {
namespace {

constexpr size_t kOutStep = 16 * 1024;

// The smallest power-of-two exponent in [lo, hi] whose window holds `size` bytes (hi when the
// size is unknown).
int WindowBits(uint64_t size, int lo, int hi) {
  if (size == 0) return hi;
  int bits = lo;
  while (bits < hi && (uint64_t{1} << bits) < size) ++bits;
  return bits;
}

class GzipEncoder final : public ResponseBodyEncoder {
 public:
  bool Init(int level, uint64_t size_hint) {
    std::memset(&z_, 0, sizeof(z_));
    // windowBits + 16: a gzip wrapper (header and CRC-32 trailer), not raw zlib. zlib's state is
    // about 2^(windowBits+2) + 2^(memLevel+9) bytes: both shrink for a small body.
    const int bits = WindowBits(size_hint, 9, 15);
    const int mem_level = std::max(1, bits - 7);
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, bits + 16, mem_level, Z_DEFAULT_STRATEGY) == Z_OK;
    return ok_;
  }
  ~GzipEncoder() override {
    if (ok_) deflateEnd(&z_);
  }
  void Encode(std::string_view data, std::string* out) override {
    if (data.empty()) return;
    Run(data, Z_SYNC_FLUSH, out);
  }
  void Finish(std::string* out) override { Run({}, Z_FINISH, out); }

 private:
  void Run(std::string_view data, int flush, std::string* out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    while (true) {
      const size_t at = out->size();
      out->resize(at + kOutStep);
      z_.next_out = reinterpret_cast<Bytef*>(out->data() + at);
      z_.avail_out = static_cast<uInt>(kOutStep);
      const int rc = deflate(&z_, flush);
      out->resize(at + kOutStep - z_.avail_out);
      if (rc == Z_STREAM_END || rc == Z_STREAM_ERROR || rc == Z_BUF_ERROR) return;
      // Done when deflate left room in the output: all input taken and flushed.
      if (z_.avail_out != 0 && z_.avail_in == 0) return;
    }
  }

  z_stream z_;
  bool ok_ = false;
};

class BrotliEncoder final : public ResponseBodyEncoder {
 public:
  bool Init(int quality, uint64_t size_hint) {
    state_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
    if (state_ == nullptr) return false;
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(quality));
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN,
                              static_cast<uint32_t>(WindowBits(size_hint, 10, 16)));
    if (size_hint > 0 && size_hint < (uint64_t{1} << 30)) {
      BrotliEncoderSetParameter(state_, BROTLI_PARAM_SIZE_HINT, static_cast<uint32_t>(size_hint));
    }
    return true;
  }
  ~BrotliEncoder() override {
    if (state_ != nullptr) BrotliEncoderDestroyInstance(state_);
  }
  void Encode(std::string_view data, std::string* out) override {
    if (data.empty()) return;
    Run(data, BROTLI_OPERATION_FLUSH, out);
  }
  void Finish(std::string* out) override { Run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  void Run(std::string_view data, BrotliEncoderOperation op, std::string* out) {
    size_t avail_in = data.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(data.data());
    while (true) {
      size_t avail_out = 0;
      if (!BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, nullptr,
                                       nullptr)) {
        return;
      }
      size_t size = 0;
      const uint8_t* produced = BrotliEncoderTakeOutput(state_, &size);
      if (size > 0) out->append(reinterpret_cast<const char*>(produced), size);
      if (avail_in == 0 && !BrotliEncoderHasMoreOutput(state_) &&
          (op != BROTLI_OPERATION_FINISH || BrotliEncoderIsFinished(state_))) {
        return;
      }
    }
  }

  BrotliEncoderState* state_ = nullptr;
};

}  // namespace

std::unique_ptr<ResponseBodyEncoder> MakeGzipEncoder(int level, uint64_t size_hint) {
  auto e = std::make_unique<GzipEncoder>();
  if (!e->Init(level, size_hint)) return nullptr;
  return e;
}

std::unique_ptr<ResponseBodyEncoder> MakeBrotliEncoder(int quality, uint64_t size_hint) {
  auto e = std::make_unique<BrotliEncoder>();
  if (!e->Init(quality, size_hint)) return nullptr;
  return e;
}

}  // namespace edge::l7
