#pragma once
// Ring: one io_uring instance, created and used by a single thread (SINGLE_ISSUER | DEFER_TASKRUN).
// Probes the kernel at creation and fails with one clear message when a feature we rely on is
// missing, instead of misbehaving later.

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/uring/batch_wait.h"

namespace edge::uring {

struct RingOptions {
  unsigned sq_entries = 1024;
  unsigned cq_entries = 8192;  // several times the SQ: multishot ops post many CQEs per SQE
  // Batch waiting (kernels with IORING_FEAT_MIN_TIMEOUT; ignored elsewhere): a wait returns at
  // wait_batch completions, or min_wait_usec after the first one. Fewer wakeups under load, at
  // the price of up to min_wait_usec of added latency per event. 0 = never batch. With
  // adaptive_batch, only while completions come fast enough to fill a batch in that time
  // (batch_wait.h); light traffic then returns at the first.
  unsigned wait_batch = 32;
  unsigned min_wait_usec = 0;
  bool adaptive_batch = false;
};

class Ring {
 public:
  // Must be called on the thread that will use the ring.
  static absl::StatusOr<std::unique_ptr<Ring>> Create(const RingOptions& options);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  // Returns a free SQE. When the SQ is full it submits what is queued first, so it never fails
  // while the kernel accepts submissions.
  io_uring_sqe* GetSqe();
  // Where the SQE GetSqe returned last sits in the submission queue. Until the ring submits it
  // (Queued), the code that prepared it may still change it through SqeAt: a send that learns,
  // in the same pass, that a shutdown follows it.
  unsigned LastSqePosition() const { return ring_.sq.sqe_tail - 1; }
  bool Queued(unsigned position) const {
    return position - ring_.sq.sqe_head < ring_.sq.sqe_tail - ring_.sq.sqe_head;
  }
  io_uring_sqe* SqeAt(unsigned position) { return &ring_.sq.sqes[position & ring_.sq.ring_mask]; }

  // Submits queued SQEs and waits for at least one CQE or until `timeout_ns` (<0: no limit).
  // Returns 0, -ETIME on timeout, -EINTR, or another negative errno.
  int SubmitAndWait(int64_t timeout_ns);
  int Submit();
  // Tells the batch policy what a pass of the loop handled (see batch_wait.h).
  void OnPass(unsigned completions, int64_t now_ns) { batch_.OnPass(completions, now_ns); }
  // A bulk flow starts (+1) or ends (-1): while any is open, waits are short (batch_wait.h).
  void HoldShortWaits(int delta) { batch_.HoldShortWaits(delta); }
  int short_holds() const { return batch_.short_holds(); }
  // The next wait returns at the first completion, without holding it back for a batch: bytes
  // held in the kernel until that completion is handled (StreamSocket::HoldLastSend) go out now.
  void ReturnAtFirstCompletion() { no_batch_once_ = true; }

  io_uring* raw() { return &ring_; }

 private:
  Ring() = default;
  io_uring ring_{};
  bool initialised_ = false;
  bool no_batch_once_ = false;
  unsigned wait_batch_ = 1;
  BatchWait batch_{0, 1, false};  // never batches unless the kernel can and options ask for it
};

}  // namespace edge::uring
