// RelayConnection's bulk flows (relay_connection.h, "Bulk flows"): a plain direction that filled
// a whole ring buffer moves to a pipe, and the worker thread splices socket -> pipe -> socket.

#include <fcntl.h>

#include <cerrno>

#include "common/net/socket.h"
#include "common/net/splice_pipe.h"
#include "common/uring/event_loop.h"
#include "l4/relay/relay_connection.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
constexpr int Other(int side) { return side ^ 1; }
// Pipe fills per Pump before it waits for a poll: other connections get their turn.
constexpr int kMaxPumpRounds = 4;
}  // namespace

// The flow from `side` filled a whole buffer: move it to a pipe if one is available. Its recv is
// cancelled; Pump starts once what is queued has been sent (NextReceive).
void RelayConnection::StartSplice(int side) {
  Flow& flow = flow_[side];
  flow.pipe_size = worker_->AcquirePipe(flow.pipe);
  if (flow.pipe_size == 0) {
    flow.no_splice = true;
    return;
  }
  if (!flow_[Other(side)].splice) {  // the first spliced direction: splice must not block
    net::SetNonBlocking(socket(kClient).fd());
    net::SetNonBlocking(socket(kBackend).fd());
  }
  flow.splice = true;
  socket(side).CancelReceive();
}

// Moves the bytes of the spliced flow from `from`: pipe -> destination first, then (pipe empty)
// source -> pipe, until a splice would block, which arms a single-shot poll for it. Synchronous
// non-blocking splices (see the header for why not IORING_OP_SPLICE).
void RelayConnection::Pump(int from) {
  Flow& flow = flow_[from];
  const int to = Other(from);
  bool drained = false;  // the last fill took less than the pipe holds: the source is empty
  for (int round = 0; state_ == State::kRelaying; ++round) {
    if (flow.piped > 0) {
      if (flow.poll_out) return;
      ssize_t n = SpliceOnce(flow.pipe[0], flow.piped, to, /*out=*/true);
      if (n < 0) return;
      flow.piped -= static_cast<uint32_t>(n);
      last_activity_ns_ = worker_->loop().now_ns();
      if (flow.piped > 0) {  // the destination's send buffer is full
        ArmPoll(to, true);
        return;
      }
    }
    if (flow.eof) {
      RelayEof(from);
      MaybeFinish();
      return;
    }
    if (flow.poll_in) return;
    if (drained || round >= kMaxPumpRounds) {
      ArmPoll(from, false);
      return;
    }
    ssize_t n = SpliceOnce(flow.pipe[1], flow.pipe_size, from, /*out=*/false);
    if (n < 0) return;
    if (n == 0) {
      flow.eof = true;
      if (first_fin_ < 0) first_fin_ = from;
      continue;  // the pipe is empty: RelayEof at the top
    }
    flow.piped = static_cast<uint32_t>(n);
    CountReceived(from, static_cast<uint64_t>(n));
    drained = static_cast<size_t>(n) < flow.pipe_size;
  }
}

// One splice between `side`'s socket and `pipe_end` (to the socket when `out`, else from it) of
// at most `len` bytes. Would it block, the poll for `side` is armed; on an error the connection
// ends. -1 in both cases, else the bytes moved (0: EOF from the socket).
ssize_t RelayConnection::SpliceOnce(int pipe_end, size_t len, int side, bool out) {
  for (;;) {
    const int fd = socket(side).fd();
    ssize_t n =
        out ? splice(pipe_end, nullptr, fd, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
            : splice(fd, nullptr, pipe_end, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      ArmPoll(side, out);
    } else {
      SocketError(side, out, errno);
    }
    return -1;
  }
}

// A single-shot poll: `side` readable (out false) or writable (out true) for a spliced flow.
void RelayConnection::ArmPoll(int side, bool out) {
  socket(side).Poll(out);
  if (out) {
    flow_[Other(side)].poll_out = true;
  } else {
    flow_[side].poll_in = true;
  }
}

void RelayConnection::OnPoll(int side, bool out) {
  int from = out ? Other(side) : side;
  Flow& flow = flow_[from];
  (out ? flow.poll_out : flow.poll_in) = false;
  // Errors and hang-ups are reported by the splice that follows.
  if (state_ == State::kRelaying) Pump(from);
  MaybeFinish();
}

}  // namespace edge::l4
