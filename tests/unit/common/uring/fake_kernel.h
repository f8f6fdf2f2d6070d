#pragma once
// FakeKernel: the kernel side of one EventLoop's ring, played by a unit test.
//
// The code under test prepares SQEs as it always does (Ring::GetSqe, io_uring_prep_*). Take()
// removes them before the kernel runs them (each is turned into a NOP whose completion nobody
// sees) and hands copies to the test, which answers each one with the completion it chooses:
// short sends, -ENOBUFS, -ECANCELED, resets, EOF, data into a provided buffer, in any order and
// in any state. Those are the completions a real socket produces rarely or only under load, and
// the ones whose handling decides whether a connection leaks, hangs or loses bytes.
//
// Completions are delivered by calling the handler's OnCompletion directly, as EventLoop::Run
// would. The test must not run the loop while a FakeKernel is in use.

#include <liburing.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/uring/buffer_ring.h"
#include "common/uring/completion.h"
#include "common/uring/event_loop.h"

namespace edge::uring::testing {

// One SQE taken from the ring, with what the test needs to answer it.
struct TakenSqe {
  io_uring_sqe sqe;
  IoHandler* handler() const { return HandlerOf(sqe.user_data); }
  uint8_t op() const { return OpOf(sqe.user_data); }
  uint8_t opcode() const { return sqe.opcode; }
  bool multishot() const;
  bool buffer_select() const { return (sqe.flags & IOSQE_BUFFER_SELECT) != 0; }
  bool poll_first() const { return (sqe.ioprio & IORING_RECVSEND_POLL_FIRST) != 0; }
  // A send's bytes (what addr/len point to).
  std::string_view send_data() const;
};

class FakeKernel {
 public:
  // Submits what the loop queued for itself so far (its wakeup read) to the real kernel; every
  // later SQE is the test's to answer.
  explicit FakeKernel(EventLoop* loop);

  // Every SQE queued since the last call, in order; none reaches the kernel.
  std::vector<TakenSqe> Take();
  // Take(), expecting exactly one SQE with this opcode for `handler`: the others are kept for
  // later calls. Fails the test (and returns a zeroed SQE) when there is not exactly one.
  TakenSqe TakeOne(IoHandler* handler, uint8_t opcode);
  // The same for any handler's SQE with this opcode (a test with one connection); a cancel or
  // close submitted with kIgnoredUserData needs TakeOne(nullptr, opcode).
  TakenSqe TakeOne(uint8_t opcode) { return TakeMatching(nullptr, opcode, true); }
  // SQEs taken but not yet handed out by TakeOne or TakeFirst.
  const std::vector<TakenSqe>& backlog() const { return backlog_; }
  // For tests with several handlers or several SQEs of one kind in flight (a client connection
  // and its upstream, both directions of a relay): the oldest SQE not yet handed out (backlog
  // first, then those queued since) that `match` accepts; the others stay in the backlog.
  // nullopt when there is none.
  std::optional<TakenSqe> TakeFirst(const std::function<bool(const TakenSqe&)>& match);
  // The same with this opcode; fails the test (and returns a zeroed SQE) when there is none.
  TakenSqe TakeFirst(uint8_t opcode);
  // Answers every SQE not yet handed out, and those their completions queue, until none is left:
  // NOPs (a close) with 0, the others with `error` (what a socket reports once shut down).
  // Cancels submitted with kIgnoredUserData are dropped. The handlers must be gone afterwards.
  void CompleteAll(int32_t error);

  // Delivers one completion of `taken`.
  static void Complete(const TakenSqe& taken, int32_t res, uint32_t flags = 0);
  // Answers a receive with `data`: into the SQE's own buffer, or, for IOSQE_BUFFER_SELECT, into
  // the next buffer of `buffers` in ring order, as the kernel picks it (IORING_CQE_F_BUFFER and
  // the buffer id in the flags). `more` sets IORING_CQE_F_MORE (the multishot stays armed).
  // Returns false, delivering nothing, when the ring has no free buffer.
  bool CompleteRecv(const TakenSqe& taken, std::string_view data,
                    ProvidedBufferRing* buffers = nullptr, bool more = false);
  // Buffers of `buffers` the fake kernel could still pick.
  unsigned FreeBuffers(const ProvidedBufferRing* buffers) const;

 private:
  void ReapNops();
  TakenSqe TakeMatching(IoHandler* handler, uint8_t opcode, bool any_handler);

  Ring* ring_;
  std::vector<TakenSqe> backlog_;
  std::map<const ProvidedBufferRing*, uint16_t> heads_;  // the kernel's head per buffer ring
};

// A connection handler under a fake kernel still calls a few plain syscalls on its socket
// (setsockopt, getpeername, shutdown): this is a real accepted TCP socket on loopback for it.
// *peer is the other end; the caller owns both.
int AcceptedLoopbackSocket(int* peer);

// Runs `body` on a thread of its own and waits: a loop's ring, and the stream layer's per-thread
// state, belong to the thread that made them, and must not leak from one test into the next.
void OnOwnThread(const std::function<void()>& body);

}  // namespace edge::uring::testing
