#include "common/uring/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/uring/compat.h"

namespace edge::uring {

absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> ProvidedBufferRing::Create(
    Ring* ring, int group_id, unsigned count, uint32_t size, unsigned initial) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("buffer count %u: must be a power of two from 1 to 32768", count));
  }
  if (size == 0) return absl::InvalidArgumentError("buffer size must be > 0");
  std::unique_ptr<ProvidedBufferRing> out(new ProvidedBufferRing());
  out->ring_ = ring;
  out->count_ = count;
  out->size_ = size;
  out->group_id_ = group_id;
  out->mask_ = io_uring_buf_ring_mask(count);
  out->bytes_ = static_cast<size_t>(count) * size;
  void* mem =
      mmap(nullptr, out->bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "cannot map %u receive buffers of %u bytes: %s", count, size, strerror(errno)));
  }
  out->base_ = static_cast<char*>(mem);
  int err = 0;
  out->br_ = SetupBufRing(ring->raw(), count, group_id, &err);
  if (out->br_ == nullptr) {
    return absl::UnavailableError(
        absl::StrFormat("io_uring: cannot register provided buffer ring: %s", strerror(-err)));
  }
  out->Provide(initial == 0 ? 1 : initial);
  return out;
}

void ProvidedBufferRing::Provide(unsigned n) {
  if (n > count_ - provided_) n = count_ - provided_;
  for (unsigned i = 0; i < n; ++i) {
    unsigned bid = provided_ + i;
    io_uring_buf_ring_add(br_, Data(static_cast<uint16_t>(bid)), size_,
                          static_cast<unsigned short>(bid), mask_, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br_, static_cast<int>(n));
  provided_ += n;
}

ProvidedBufferRing::~ProvidedBufferRing() {
  if (br_ != nullptr) FreeBufRing(ring_->raw(), br_, count_, group_id_);
  if (base_ != nullptr) munmap(base_, bytes_);
}

void ProvidedBufferRing::Recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, Data(bid), size_, bid, mask_, 0);
  io_uring_buf_ring_advance(br_, 1);
  --outstanding_;
}

}  // namespace edge::uring
