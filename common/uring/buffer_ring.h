#pragma once
// ProvidedBufferRing: a pool of equal-sized receive buffers handed to the kernel as a provided
// buffer ring (one buffer group). Multishot recv picks a buffer per completion; the owner forwards
// that buffer as-is and gives it back with Recycle() once it has been sent, so relayed bytes are
// never copied in user space. Memory is bounded at creation: count x size, whatever the peers do.
//
// Buffers are handed to the kernel lazily: `initial` at first, more in batches when fewer than a
// batch are left free, up to `count`. The kernel takes buffers in ring order, so every provided
// buffer gets touched in turn; providing only what the load needs keeps the resident set small
// (an idle lb4 with thousands of quiet connections uses a few hundred buffers, not `count`).

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/uring/ring.h"

namespace edge::uring {

class ProvidedBufferRing {
 public:
  // `count` is a power of two <= 32768; `size` > 0; `initial` (clamped to count) buffers are
  // provided at once. Buffer memory is reserved, pages are only touched as the kernel fills them.
  static absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> Create(Ring* ring, int group_id,
                                                                    unsigned count, uint32_t size,
                                                                    unsigned initial = 256);
  ~ProvidedBufferRing();

  int group_id() const { return group_id_; }
  uint32_t buffer_size() const { return size_; }
  unsigned count() const { return count_; }
  // Buffers handed to the kernel so far (grows up to count()).
  unsigned provided() const { return provided_; }
  // Buffers currently owned by user space (received, not yet recycled).
  unsigned outstanding() const { return outstanding_; }

  char* Data(uint16_t bid) const { return base_ + static_cast<size_t>(bid) * size_; }
  // Records that the kernel handed out buffer `bid` (call once per CQE with IORING_CQE_F_BUFFER).
  void Taken() {
    ++outstanding_;
    if (provided_ - outstanding_ < kGrowBatch && provided_ < count_) Grow();
  }
  // Returns buffer `bid` to the kernel.
  void Recycle(uint16_t bid);
  // The shared ring itself (a unit test's fake kernel picks buffers from it).
  const io_uring_buf_ring* raw() const { return br_; }

 private:
  static constexpr unsigned kGrowBatch = 64;
  ProvidedBufferRing() = default;
  void Provide(unsigned n);
  void Grow() { Provide(kGrowBatch); }
  Ring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  unsigned count_ = 0;
  uint32_t size_ = 0;
  int group_id_ = 0;
  int mask_ = 0;
  unsigned outstanding_ = 0;
  unsigned provided_ = 0;
};

}  // namespace edge::uring
