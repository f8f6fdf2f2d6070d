#include "common/uring/compat.h"

#include <sys/mman.h>

#include <cerrno>

namespace edge::uring {

io_uring_buf_ring* SetupBufRing(io_uring* ring, unsigned entries, int bgid, int* err) {
  size_t bytes = entries * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *err = -errno;
    return nullptr;
  }
  auto* br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg = {};
  reg.ring_addr = reinterpret_cast<unsigned long>(br);
  reg.ring_entries = entries;
  reg.bgid = static_cast<__u16>(bgid);
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret != 0) {
    munmap(mem, bytes);
    *err = ret;
    return nullptr;
  }
  io_uring_buf_ring_init(br);
  return br;
}

void FreeBufRing(io_uring* ring, io_uring_buf_ring* br, unsigned entries, int bgid) {
  io_uring_unregister_buf_ring(ring, bgid);
  munmap(br, entries * sizeof(io_uring_buf));
}

}  // namespace edge::uring
