#pragma once
// ProvidedBufferRing: a pool of equal-sized receive buffers handed to the kernel as a provided
// buffer ring (one buffer group). Multishot recv picks a buffer per completion; the owner forwards
// that buffer as-is and gives it back with Recycle() once it has been sent, so relayed bytes are
// never copied in user space. Memory is fixed at creation: count x size, whatever the peers do.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/uring/ring.h"

namespace edge::uring {

class ProvidedBufferRing {
 public:
  // `count` is a power of two <= 32768; `size` > 0. Buffer memory is reserved but pages are only
  // touched as the kernel fills them.
  static absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> Create(Ring* ring, int group_id,
                                                                    unsigned count, uint32_t size);
  ~ProvidedBufferRing();

  int group_id() const { return group_id_; }
  uint32_t buffer_size() const { return size_; }
  unsigned count() const { return count_; }
  // Buffers currently owned by user space (received, not yet recycled).
  unsigned outstanding() const { return outstanding_; }

  char* Data(uint16_t bid) const { return base_ + static_cast<size_t>(bid) * size_; }
  // Records that the kernel handed out buffer `bid` (call once per CQE with IORING_CQE_F_BUFFER).
  void Taken() { ++outstanding_; }
  // Returns buffer `bid` to the kernel.
  void Recycle(uint16_t bid);

 private:
  ProvidedBufferRing() = default;
  Ring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* base_ = nullptr;
  size_t bytes_ = 0;
  unsigned count_ = 0;
  uint32_t size_ = 0;
  int group_id_ = 0;
  int mask_ = 0;
  unsigned outstanding_ = 0;
};

}  // namespace edge::uring
