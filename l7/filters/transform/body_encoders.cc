#include "l7/filters/transform/body_encoders.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <cstring>

namespace edge::l7 {
namespace {

constexpr size_t kOutStep = 16 * 1024;

class GzipEncoder final : public ResponseBodyEncoder {
 public:
  bool Init(int level) {
    std::memset(&z_, 0, sizeof(z_));
    // windowBits 15 + 16: a gzip wrapper (header and CRC-32 trailer), not raw zlib.
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
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
  bool Init(int quality) {
    state_ = BrotliEncoderCreateInstance(nullptr, nullptr, nullptr);
    if (state_ == nullptr) return false;
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(quality));
    BrotliEncoderSetParameter(state_, BROTLI_PARAM_LGWIN, 18);
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

std::unique_ptr<ResponseBodyEncoder> MakeGzipEncoder(int level) {
  auto e = std::make_unique<GzipEncoder>();
  if (!e->Init(level)) return nullptr;
  return e;
}

std::unique_ptr<ResponseBodyEncoder> MakeBrotliEncoder(int quality) {
  auto e = std::make_unique<BrotliEncoder>();
  if (!e->Init(quality)) return nullptr;
  return e;
}

}  // namespace edge::l7
