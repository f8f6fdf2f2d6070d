#include "common/uring/stream_socket.h"

#include <liburing.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/net/socket.h"
#include "common/uring/compat.h"

namespace edge::uring {
namespace {
thread_local bool loop_stopped = false;
// Drained keep_buffers send queues, for the next socket with buffers to send (bounded: a burst
// of many busy sockets does not stay allocated).
constexpr size_t kMaxSpareQueues = 256;
}  // namespace

// Closed sockets still waiting for their last completions. When the loop stops those never
// come, so LoopStopped() releases them (otherwise their owners leak at exit, e.g. after a drain).
// Each socket knows its place in the vector, so joining and leaving allocate nothing (lb4 closes
// two sockets per relayed connection); the vector is the thread's and goes with it.
std::vector<StreamSocket*>& StreamSocket::ClosingSockets() {
  thread_local std::vector<StreamSocket*> closing;
  return closing;
}

void StreamSocket::JoinClosing() {
  std::vector<StreamSocket*>& closing = ClosingSockets();
  closing_index_ = static_cast<uint32_t>(closing.size());
  closing.push_back(this);
}

void StreamSocket::LeaveClosing() {
  if (closing_index_ == kNotClosing) return;
  std::vector<StreamSocket*>& closing = ClosingSockets();
  if (closing_index_ >= closing.size() || closing[closing_index_] != this) {
    // Destroyed on another thread than the one that closed it (after that loop's end): the
    // vector is not this one's.
    closing_index_ = kNotClosing;
    return;
  }
  StreamSocket* last = closing.back();
  closing[closing_index_] = last;
  last->closing_index_ = closing_index_;
  closing.pop_back();
  closing_index_ = kNotClosing;
}

std::vector<std::unique_ptr<StreamSocket::BufferQueue>>& StreamSocket::SpareQueues() {
  thread_local std::vector<std::unique_ptr<BufferQueue>> spare;
  return spare;
}

std::unique_ptr<StreamSocket::BufferQueue> StreamSocket::TakeQueue() {
  auto& spare = SpareQueues();
  if (spare.empty()) return std::make_unique<BufferQueue>();
  std::unique_ptr<BufferQueue> q = std::move(spare.back());
  spare.pop_back();
  return q;
}

void StreamSocket::ReturnQueue(std::unique_ptr<BufferQueue> queue) {
  auto& spare = SpareQueues();
  if (spare.size() < kMaxSpareQueues) spare.push_back(std::move(queue));
}

void StreamSocket::LoopStopped() {
  loop_stopped = true;
  std::vector<StreamSocket*> doomed;
  doomed.swap(ClosingSockets());
  for (StreamSocket* s : doomed) {
    s->closing_index_ = kNotClosing;  // a release may delete its socket
    s->ReleaseNow();
  }
}

StreamSocket::~StreamSocket() {
  LeaveClosing();
  if (fd_ >= 0) close(fd_);
  // Only a socket never released can still hold buffers; the ring may be gone already, so only
  // the allocations are freed (lb4 destroys its relays at exit).
  if (chunks_ != nullptr) {
    for (size_t i = chunks_->head; i < chunks_->queue.size(); ++i) delete[] chunks_->queue[i].heap;
  }
}

void StreamSocket::Start(int fd) {
  if (released_) {  // used before: everything but the storage starts over
    pending_.clear();
    sending_.clear();
    sent_ = 0;
    held_.reset();
    inflight_ = 0;
    connected_ = connecting_ = recv_armed_ = multishot_ = multishot_capped_ = false;
    eof_held_ = ring_empty_ = held_posted_ = last_recv_full_ = try_recv_now_ = false;
    read_eof_ = send_armed_ = read_paused_ = corked_ = shutdown_write_ = write_shut_ = false;
    closing_ = close_submitted_ = released_ = recv_cancelled_ = send_failed_ = false;
  }
  fd_ = fd;
}

absl::Status StreamSocket::Connect(const net::SocketAddress& peer) {
  auto fd = net::NewTcpSocket(peer);
  if (!fd.ok()) return fd.status();
  Start(*fd);
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_connect(sqe, fd_, peer.sockaddr_ptr(), peer.length());
  io_uring_sqe_set_data64(sqe, UserData(this, kOpConnect));
  ++inflight_;
  connecting_ = true;
  return absl::OkStatus();
}

void StreamSocket::Adopt(int fd) {
  Start(fd);
  connected_ = true;
  try_recv_now_ = true;
  ArmRecv();
}

void StreamSocket::Send(std::string_view data) {
  if (closing_ || shutdown_write_ || data.empty()) return;
  if (keep_buffers_) {  // one queue: the bytes become a buffer of their own
    char* copy = new char[data.size()];
    std::memcpy(copy, data.data(), data.size());
    SendBuffer(Buffer{copy, static_cast<uint32_t>(data.size()), -1, copy});
    return;
  }
  if (send_buffers_ != nullptr) send_buffers_->Lend(&pending_);
  pending_.append(data);
  if (connected_ && !corked_) FlushSend();
}

void StreamSocket::SendBuffer(const Buffer& buffer) {
  if (closing_ || shutdown_write_) {
    ReleaseBuffer(buffer);
    return;
  }
  if (chunks_ == nullptr) chunks_ = TakeQueue();
  chunks_->queue.push_back(buffer);
  chunks_->bytes += buffer.len;
  if (connected_ && !corked_) FlushSend();
}

void StreamSocket::ReleaseBuffer(const Buffer& buffer) {
  if (buffer.bid >= 0) {
    buffers_->Recycle(static_cast<uint16_t>(buffer.bid));
  } else {
    delete[] buffer.heap;
  }
}

void StreamSocket::DropBuffers() {
  if (chunks_ == nullptr) return;
  BufferQueue& q = *chunks_;
  for (size_t i = q.head; i < q.queue.size(); ++i) ReleaseBuffer(q.queue[i]);
  q.queue.clear();
  q.head = 0;
  q.bytes = 0;
  ReturnQueue(std::move(chunks_));
}

// One buffer with send, several with sendmsg (up to the vector's size).
void StreamSocket::FlushBuffers() {
  BufferQueue& q = *chunks_;
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  size_t n = q.queue.size() - q.head;
  // The last bytes before a shutdown wait for its FIN (HoldLastSend).
  const int flags = shutdown_write_ && n <= kMaxSendIov ? MSG_NOSIGNAL | MSG_MORE : MSG_NOSIGNAL;
  if (flags & MSG_MORE) loop_->ring().ReturnAtFirstCompletion();
  if (n == 1) {
    const Buffer& b = q.queue[q.head];
    io_uring_prep_send(sqe, fd_, b.data, b.len, flags);
  } else {
    if (n > kMaxSendIov) n = kMaxSendIov;
    for (size_t i = 0; i < n; ++i) {
      const Buffer& b = q.queue[q.head + i];
      q.iov[i].iov_base = b.data;
      q.iov[i].iov_len = b.len;
    }
    std::memset(&q.msg, 0, sizeof(q.msg));
    q.msg.msg_iov = q.iov;
    q.msg.msg_iovlen = n;
    io_uring_prep_sendmsg(sqe, fd_, &q.msg, flags);
  }
  io_uring_sqe_set_data64(sqe, UserData(this, kOpSend));
  send_sqe_ = loop_->ring().LastSqePosition();
  send_armed_ = true;
  ++inflight_;
}

// `n` bytes of the queue's head left: whole buffers go back, a partial one moves on.
void StreamSocket::OnBuffersSent(size_t n) {
  BufferQueue& q = *chunks_;
  q.bytes -= n;
  while (n > 0 && q.head < q.queue.size()) {
    Buffer& b = q.queue[q.head];
    if (n < b.len) {
      b.data += n;
      b.len -= static_cast<uint32_t>(n);
      break;
    }
    n -= b.len;
    ReleaseBuffer(b);
    ++q.head;
  }
  if (q.head == q.queue.size()) {
    q.queue.clear();
    q.head = 0;
    ReturnQueue(std::move(chunks_));  // an idle connection holds none
  }
}

void StreamSocket::Uncork() {
  corked_ = false;
  if (connected_) FlushSend();
}

void StreamSocket::ReturnIdleBuffers() {
  if (send_buffers_ == nullptr || send_armed_ || queued() != 0) return;
  send_buffers_->Return(&pending_);
  send_buffers_->Return(&sending_);
  sent_ = 0;
}

void StreamSocket::ShutdownWrite() {
  if (shutdown_write_) return;
  shutdown_write_ = true;
  if (!connected_) return;
  if (send_armed_) {
    HoldLastSend();
  } else {
    FlushSend();
  }
}

// The shutdown waits for the send in flight. When that send takes everything queued and the ring
// has not submitted it yet (the bytes and their end came in one pass, as a response that arrived
// with its FIN), MSG_MORE keeps its bytes in the kernel until the shutdown, which sends them with
// the FIN in one segment (tcp_send_fin tacks the FIN onto unsent data): one segment, one wake-up
// of the peer and one ACK fewer than data and then a FIN. Later sends set it themselves.
void StreamSocket::HoldLastSend() {
  Ring& ring = loop_->ring();
  if (!ring.Queued(send_sqe_)) return;
  io_uring_sqe* sqe = ring.SqeAt(send_sqe_);
  if (sqe->user_data != UserData(this, kOpSend)) return;
  if (chunks_ != nullptr) {
    const size_t in_send = sqe->opcode == IORING_OP_SEND ? 1 : chunks_->msg.msg_iovlen;
    if (in_send != chunks_->queue.size() - chunks_->head) return;
  } else if (!pending_.empty()) {
    return;
  }
  sqe->msg_flags |= MSG_MORE;
  ring.ReturnAtFirstCompletion();  // the send completes as it is submitted: the FIN at once
}

void StreamSocket::FlushSend() {
  if (send_armed_ || closing_) return;
  if (chunks_ != nullptr && chunks_->head < chunks_->queue.size()) {
    FlushBuffers();
    return;
  }
  if (sent_ == sending_.size()) {
    if (pending_.empty()) {
      if (shutdown_write_ && !write_shut_) {
        write_shut_ = true;
        shutdown(fd_, SHUT_WR);
      }
      return;
    }
    sending_.clear();
    sending_.swap(pending_);
    sent_ = 0;
  }
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  const int flags = shutdown_write_ ? MSG_NOSIGNAL | MSG_MORE : MSG_NOSIGNAL;  // (HoldLastSend)
  if (shutdown_write_) loop_->ring().ReturnAtFirstCompletion();
  io_uring_prep_send(sqe, fd_, sending_.data() + sent_, sending_.size() - sent_, flags);
  io_uring_sqe_set_data64(sqe, UserData(this, kOpSend));
  send_sqe_ = loop_->ring().LastSqePosition();
  send_armed_ = true;
  ++inflight_;
}

void StreamSocket::ArmRecv() {
  if (recv_armed_ || closing_ || read_paused_ || !connected_ || read_eof_) return;
  if (keep_buffers_) {
    ArmKeptRecv();
    return;
  }
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  multishot_ = !single_shot_ && buffers_ != nullptr && !ring_empty_;
  if (multishot_) {
    // Capped: one arming takes at most kMultishotCap from the ring, so what arrives between a
    // PauseRead and its cancel (held) stays small however much the socket holds.
    multishot_capped_ = RecvCapSupported();
    PrepRecvMultishotCapped(sqe, fd_, kMultishotCap);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = static_cast<uint16_t>(buffers_->group_id());
  } else if (buffers_ != nullptr && !ring_empty_ && !last_recv_full_ &&
             !handler_->WantsLargeReceive()) {
    // Single-shot, little expected: the kernel picks a ring buffer once bytes arrive.
    recv_buffer_.reset();  // no receive uses it now: an idle socket does not keep 32 KiB
    io_uring_prep_recv(sqe, fd_, nullptr, buffers_->buffer_size(), 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = static_cast<uint16_t>(buffers_->group_id());
  } else {
    if (recv_buffer_ == nullptr) recv_buffer_.reset(new char[kRecvBufferSize]);
    io_uring_prep_recv(sqe, fd_, recv_buffer_.get(), kRecvBufferSize, 0);
  }
  ring_empty_ = false;
  // Unless the last receive filled the buffer, the next bytes are still to come: wait for data
  // before trying, instead of a receive that fails with EAGAIN and then waits.
  if (!last_recv_full_ && !try_recv_now_) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  try_recv_now_ = false;
  io_uring_sqe_set_data64(sqe, UserData(this, kOpRecv));
  recv_armed_ = true;
  ++inflight_;
}

// keep_buffers: the handler says how (its backpressure); no POLL_FIRST, since a relay arms again
// mostly while its peer is still sending.
void StreamSocket::ArmKeptRecv() {
  const ReceiveMode how = handler_->NextReceive();
  if (how == ReceiveMode::kNone) return;
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  multishot_ = false;
  if (ring_empty_) {
    // The ring ran dry: one receive into an allocation of ours, handed over like a ring buffer,
    // rather than waiting for other connections to give buffers back (full-duplex peers could
    // each wait for the other). At most one per socket at a time: memory stays bounded.
    recv_buffer_.reset(new char[buffers_->buffer_size()]);
    io_uring_prep_recv(sqe, fd_, recv_buffer_.get(), buffers_->buffer_size(), 0);
  } else {
    if (how == ReceiveMode::kStream) {
      multishot_ = true;
      multishot_capped_ = RecvCapSupported();
      PrepRecvMultishotCapped(sqe, fd_, multishot_cap_);
    } else {
      io_uring_prep_recv(sqe, fd_, nullptr, buffers_->buffer_size(), 0);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = static_cast<uint16_t>(buffers_->group_id());
  }
  ring_empty_ = false;
  io_uring_sqe_set_data64(sqe, UserData(this, kOpRecv));
  recv_armed_ = true;
  recv_cancelled_ = false;
  ++inflight_;
}

void StreamSocket::Receive() { ArmRecv(); }

void StreamSocket::CancelReceive() {
  if (!recv_armed_ || !multishot_ || recv_cancelled_) return;
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_cancel64(sqe, UserData(this, kOpRecv), 0);
  io_uring_sqe_set_data64(sqe, kIgnoredUserData);
  recv_cancelled_ = true;
}

void StreamSocket::Poll(bool out) {
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_poll_add(sqe, fd_, out ? POLLOUT : POLLIN);
  io_uring_sqe_set_data64(sqe, UserData(this, out ? kOpPollOut : kOpPollIn));
  ++inflight_;
}

void StreamSocket::PauseRead() {
  if (read_paused_) return;
  read_paused_ = true;
  if (recv_armed_ && multishot_) {
    // Ends the multishot recv (its last completion says -ECANCELED); what arrives before that
    // is held.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_cancel64(sqe, UserData(this, kOpRecv), 0);
    io_uring_sqe_set_data64(sqe, kIgnoredUserData);
  }
}

void StreamSocket::ResumeRead() {
  if (!read_paused_) return;
  read_paused_ = false;
  if (has_held() && !held_posted_ && !closing_) {
    // Handed over from the loop, not from inside the handler's call.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, UserData(this, kOpHeld));
    held_posted_ = true;
    ++inflight_;
    return;
  }
  ArmRecv();
}

void StreamSocket::Close() {
  if (closing_) return;
  closing_ = true;
  // shutdown() completes any pending recv/send/poll at once; the last completion releases us. A
  // NOP makes sure there is a last completion even when nothing is in flight. With nothing in
  // flight there is nothing to wake, and the close at the release does the rest (a relay that
  // ended cleanly, both ways shut, saves two syscalls per connection).
  if (fd_ >= 0 && inflight_ > 0) shutdown(fd_, SHUT_RDWR);
  if (connecting_ && !loop_stopped) {
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_cancel64(sqe, UserData(this, kOpConnect), 0);
    io_uring_sqe_set_data64(sqe, kIgnoredUserData);
  }
  if (loop_stopped) {
    ReleaseNow();
    return;
  }
  JoinClosing();
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, UserData(this, kOpClose));
  ++inflight_;
}

void StreamSocket::Fail(int error) {
  Close();
  handler_->OnSocketEnd(error);
}

void StreamSocket::Deliver(std::string_view data) {
  if (read_paused_) {
    if (held_ == nullptr) held_ = std::make_unique<std::string>();
    held_->append(data);
  } else {
    handler_->OnSocketData(data);
  }
}

void StreamSocket::OnRecv(int32_t res, uint32_t flags) {
  const bool more = multishot_ && (flags & IORING_CQE_F_MORE) != 0;
  if (!more) recv_armed_ = false;
  const bool buffer = (flags & IORING_CQE_F_BUFFER) != 0;
  const uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  if (buffer) buffers_->Taken();
  // A multishot socket's own buffer is only the -ENOBUFS fallback: not kept idle. A single-shot
  // one keeps it while large receives follow (ArmRecv frees it).
  const bool drop_own = !buffer && buffers_ != nullptr && !single_shot_;
  if (res > 0 && keep_buffers_) {
    Buffer kept{buffer ? buffers_->Data(bid) : recv_buffer_.get(), static_cast<uint32_t>(res),
                buffer ? static_cast<int32_t>(bid) : -1, nullptr};
    if (!buffer) kept.heap = recv_buffer_.release();
    if (closing_) {
      ReleaseBuffer(kept);
      return;
    }
    handler_->OnSocketBuffer(kept);
    if (!closing_ && !more) ArmRecv();
    return;
  }
  if (res > 0) {
    const char* data = buffer ? buffers_->Data(bid) : recv_buffer_.get();
    const size_t capacity = buffer ? buffers_->buffer_size() : kRecvBufferSize;
    // A multishot receive fills ring buffers one after another: only a fallback's full buffer
    // says more is waiting.
    last_recv_full_ = (!buffer || single_shot_) && static_cast<size_t>(res) == capacity;
    if (!closing_) Deliver(std::string_view(data, static_cast<size_t>(res)));
    if (buffer) buffers_->Recycle(bid);  // the handler copied what it keeps
    if (drop_own) recv_buffer_.reset();
    if (!closing_ && !more) ArmRecv();
    return;
  }
  if (buffer) buffers_->Recycle(bid);
  if (drop_own) recv_buffer_.reset();
  if (closing_) return;
  if (res == 0 && has_held()) {
    // The peer finished while we held its last bytes (paused): they go first, the end after.
    eof_held_ = true;
    return;
  }
  if (res == -EINVAL && multishot_ && multishot_capped_) {
    RecvCapRefused();  // a kernel older than 6.17: arm again without the cap
    ArmRecv();
  } else if (res == -ENOBUFS) {
    ring_empty_ = true;  // every ring buffer is out: one recv into our own, then the ring again
    handler_->OnSocketRingEmpty();
    if (!closing_) ArmRecv();
  } else if (res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
    ArmRecv();  // -ECANCELED: PauseRead's cancel; ArmRecv waits for ResumeRead
  } else if (res == 0) {
    PeerEnded();
  } else {
    Fail(res);
  }
}

void StreamSocket::PeerEnded() {
  if (!half_close_) {
    Fail(0);
    return;
  }
  read_eof_ = true;  // reading ends; sending goes on until the handler closes
  handler_->OnSocketEnd(0);
}

void StreamSocket::OnCompletion(uint8_t op, int32_t res, uint32_t flags) {
  // A multishot recv stays in flight until a completion without IORING_CQE_F_MORE.
  if (!(op == kOpRecv && multishot_ && (flags & IORING_CQE_F_MORE) != 0)) --inflight_;
  switch (op) {
    case kOpConnect:
      connecting_ = false;
      if (closing_) break;
      if (res < 0) {
        Close();
        handler_->OnSocketConnected(res);
        break;
      }
      connected_ = true;
      handler_->OnSocketConnected(0);
      if (!closing_) {
        ArmRecv();
        FlushSend();
      }
      break;
    case kOpRecv:
      OnRecv(res, flags);
      break;
    case kOpHeld:
      held_posted_ = false;
      if (closing_) break;
      if (has_held() && !read_paused_) {
        std::unique_ptr<std::string> held = std::move(held_);
        Deliver(*held);
      }
      if (closing_) break;
      if (eof_held_ && !has_held()) {
        eof_held_ = false;
        PeerEnded();  // the peer's end, after its last bytes
      } else {
        ArmRecv();
      }
      break;
    case kOpSend:
      send_armed_ = false;
      if (closing_) break;
      if (res < 0) {
        if (res == -EINTR || res == -EAGAIN) {
          FlushSend();
        } else {
          send_failed_ = true;
          Fail(res);
        }
        break;
      }
      if (keep_buffers_) {
        OnBuffersSent(static_cast<size_t>(res));
      } else {
        sent_ += static_cast<size_t>(res);
      }
      if (!corked_) FlushSend();  // corked: what was queued since leaves at Uncork()
      handler_->OnSocketSent();
      if (!closing_ && !send_armed_ && queued() == 0) handler_->OnSocketSendDrained();
      break;
    case kOpClose:
      close_submitted_ = true;
      break;
    case kOpPollIn:
    case kOpPollOut:
      if (!closing_) handler_->OnSocketPoll(op == kOpPollOut);
      break;
  }
  MaybeRelease();  // last: the handler may free the socket's owner
}

void StreamSocket::MaybeRelease() {
  if (closing_ && close_submitted_ && inflight_ == 0 && !released_) {
    LeaveClosing();
    if (fd_ >= 0) {  // the kernel is done with it: closed from the ring, no syscall of its own
      io_uring_sqe* sqe = loop_->ring().GetSqe();
      io_uring_prep_close(sqe, fd_);
      io_uring_sqe_set_data64(sqe, kIgnoredUserData);
      fd_ = -1;
    }
    DropBuffers();
    released_ = true;
    handler_->OnSocketReleased();
  }
}

void StreamSocket::ReleaseNow() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  DropBuffers();
  released_ = true;
  handler_->OnSocketReleased();
}

}  // namespace edge::uring
