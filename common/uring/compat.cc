#include "common/uring/compat.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
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

int SubmitAndWaitMinTimeout(io_uring* ring, unsigned wait_nr, __kernel_timespec* ts,
                            unsigned min_wait_usec) {
  // What liburing's __io_uring_flush_sq does (no SQPOLL here): publish the queued SQEs.
  io_uring_sq* sq = &ring->sq;
  const unsigned tail = sq->sqe_tail;
  if (sq->sqe_head != tail) {
    sq->sqe_head = tail;
    io_uring_smp_store_release(sq->ktail, tail);
  }
  const unsigned to_submit = tail - io_uring_smp_load_acquire(sq->khead);
  io_uring_getevents_arg arg = {};
  arg.sigmask_sz = _NSIG / 8;
  arg.pad = min_wait_usec;  // min_wait_usec in kernels >= 6.12 (the field was padding before)
  arg.ts = reinterpret_cast<uint64_t>(ts);
  unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
  int fd = ring->ring_fd;
  // liburing's internal INT_FLAG_REG_RING: io_uring_register_ring_fd() succeeded.
  constexpr uint8_t kRegisteredRing = 1;
  if (ring->int_flags & kRegisteredRing) {
    flags |= IORING_ENTER_REGISTERED_RING;
    fd = ring->enter_ring_fd;
  }
  long ret = syscall(__NR_io_uring_enter, fd, to_submit, wait_nr, flags, &arg, sizeof(arg));
  return ret < 0 ? -errno : static_cast<int>(ret);
}

namespace {
// Process-wide: every ring runs on the same kernel. Relaxed is enough, a stale read only costs
// one more refused recv on that worker.
std::atomic<bool> recv_cap_supported{true};
}  // namespace

void PrepRecvMultishotCapped(io_uring_sqe* sqe, int fd, unsigned total_bytes) {
  io_uring_prep_recv_multishot(sqe, fd, nullptr, 0, 0);
  // liburing 2.3's io_uring_sqe names the field file_index; 6.17's uapi adds optlen at the same
  // offset.
  if (recv_cap_supported.load(std::memory_order_relaxed)) sqe->file_index = total_bytes;
}

bool RecvCapSupported() { return recv_cap_supported.load(std::memory_order_relaxed); }

void RecvCapRefused() { recv_cap_supported.store(false, std::memory_order_relaxed); }

}  // namespace edge::uring
