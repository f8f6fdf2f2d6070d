#include "common/uring/ring.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/uring/compat.h"

namespace edge::uring {

absl::StatusOr<std::unique_ptr<Ring>> Ring::Create(const RingOptions& options) {
  std::unique_ptr<Ring> ring(new Ring());
  io_uring_params params = {};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                 IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
  params.cq_entries = options.cq_entries;
  int ret = io_uring_queue_init_params(options.sq_entries, &ring->ring_, &params);
  if (ret < 0) {
    return absl::UnavailableError(absl::StrFormat(
        "io_uring setup failed: %s (need Linux >= 6.1 with io_uring enabled: SINGLE_ISSUER, "
        "DEFER_TASKRUN; check /proc/sys/kernel/io_uring_disabled)",
        strerror(-ret)));
  }
  ring->initialised_ = true;

  // Every feature the data path uses. A kernel that has DEFER_TASKRUN has all of these, but a
  // distribution may disable single opcodes, so check each one by name.
  io_uring_probe* probe = io_uring_get_probe_ring(&ring->ring_);
  if (probe == nullptr) return absl::UnavailableError("io_uring: cannot probe opcodes");
  struct {
    int op;
    const char* name;
  } const needed[] = {{IORING_OP_ACCEPT, "accept"},       {IORING_OP_RECV, "recv"},
                      {IORING_OP_SEND, "send"},           {IORING_OP_SENDMSG, "sendmsg"},
                      {IORING_OP_CONNECT, "connect"},     {IORING_OP_CLOSE, "close"},
                      {IORING_OP_ASYNC_CANCEL, "cancel"}, {IORING_OP_READ, "read"}};
  for (const auto& n : needed) {
    if (!io_uring_opcode_supported(probe, n.op)) {
      io_uring_free_probe(probe);
      return absl::UnavailableError(absl::StrFormat("io_uring: kernel lacks opcode %s", n.name));
    }
  }
  io_uring_free_probe(probe);
  if (!(params.features & IORING_FEAT_EXT_ARG)) {
    return absl::UnavailableError("io_uring: kernel lacks IORING_FEAT_EXT_ARG (wait timeouts)");
  }
  // The ring fd is only used by this thread: registering it saves an fdget per io_uring_enter.
  io_uring_register_ring_fd(&ring->ring_);
  if (options.min_wait_usec > 0 && (params.features & kFeatMinTimeout)) {
    ring->wait_batch_ = options.wait_batch > 1 ? options.wait_batch : 2;
    ring->batch_ = BatchWait(options.min_wait_usec, ring->wait_batch_, options.adaptive_batch);
  }
  return ring;
}

Ring::~Ring() {
  if (initialised_) io_uring_queue_exit(&ring_);
}

io_uring_sqe* Ring::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

int Ring::Submit() { return io_uring_submit(&ring_); }

int Ring::SubmitAndWait(int64_t timeout_ns) {
  io_uring_cqe* cqe = nullptr;
  int ret;
  const bool batch = !no_batch_once_;
  no_batch_once_ = false;
  if (const unsigned min_wait_usec = batch_.min_wait_usec(); batch && min_wait_usec > 0) {
    // Always pass a timeout: without one the kernel ends the wait when the min-wait expires,
    // events or not, and an idle loop would wake every min_wait_usec (measured: an idle lb4
    // worker used 30% of a core, over 10,000 wakeups a second). With one, the kernel goes back
    // to sleep until the first event.
    constexpr int64_t kNoTimerWaitNs = int64_t{3600} * 1000000000;
    if (timeout_ns < 0) timeout_ns = kNoTimerWaitNs;
    __kernel_timespec ts;
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    ret = SubmitAndWaitMinTimeout(&ring_, wait_batch_, &ts, min_wait_usec);
  } else if (timeout_ns < 0) {
    ret = io_uring_submit_and_wait(&ring_, 1);
  } else {
    __kernel_timespec ts;
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
  }
  return ret < 0 ? ret : 0;
}

}  // namespace edge::uring
