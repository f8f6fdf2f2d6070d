#include "common/uring/stream_socket.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>

#include "common/net/socket.h"
#include "common/uring/compat.h"

namespace edge::uring {
namespace {
thread_local bool loop_stopped = false;
// Closed sockets still waiting for their last completions. When the loop stops those never
// come, so LoopStopped() releases them (otherwise their owners leak at exit, e.g. after a drain).
// Made by the first Close() and freed when the last closing socket leaves it, so that a thread
// that ends (lb4's health thread, a test's) leaves nothing behind.
thread_local std::unordered_set<StreamSocket*>* closing_set = nullptr;

void LeaveClosingSet(StreamSocket* socket) {
  if (closing_set == nullptr) return;
  closing_set->erase(socket);
  if (closing_set->empty()) {
    delete closing_set;
    closing_set = nullptr;
  }
}
}  // namespace

void StreamSocket::LoopStopped() {
  loop_stopped = true;
  if (closing_set == nullptr) return;
  auto* doomed = closing_set;
  closing_set = nullptr;  // a release deletes its socket, which then finds no set to leave
  for (StreamSocket* s : *doomed) {
    s->released_ = true;
    s->handler_->OnSocketReleased();
  }
  delete doomed;
}

StreamSocket::~StreamSocket() {
  LeaveClosingSet(this);
  if (fd_ >= 0) close(fd_);
}

absl::Status StreamSocket::Connect(const net::SocketAddress& peer) {
  auto fd = net::NewTcpSocket(peer);
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_connect(sqe, fd_, peer.sockaddr_ptr(), peer.length());
  io_uring_sqe_set_data64(sqe, UserData(this, kOpConnect));
  ++inflight_;
  connecting_ = true;
  return absl::OkStatus();
}

void StreamSocket::Adopt(int fd) {
  fd_ = fd;
  connected_ = true;
  try_recv_now_ = true;
  ArmRecv();
}

void StreamSocket::Send(std::string_view data) {
  if (closing_ || shutdown_write_ || data.empty()) return;
  if (send_buffers_ != nullptr) send_buffers_->Lend(&pending_);
  pending_.append(data);
  if (connected_ && !corked_) FlushSend();
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
  shutdown_write_ = true;
  if (connected_) FlushSend();
}

void StreamSocket::FlushSend() {
  if (send_armed_ || closing_) return;
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
  io_uring_prep_send(sqe, fd_, sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, UserData(this, kOpSend));
  send_armed_ = true;
  ++inflight_;
}

void StreamSocket::ArmRecv() {
  if (recv_armed_ || closing_ || read_paused_ || !connected_ || read_eof_) return;
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
  // shutdown() completes any pending recv/send at once; the last completion releases us. A NOP
  // makes sure there is a last completion even when nothing is in flight.
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  if (connecting_ && !loop_stopped) {
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_cancel64(sqe, UserData(this, kOpConnect), 0);
    io_uring_sqe_set_data64(sqe, kIgnoredUserData);
  }
  if (loop_stopped) {
    released_ = true;
    handler_->OnSocketReleased();
    return;
  }
  if (closing_set == nullptr) closing_set = new std::unordered_set<StreamSocket*>();
  closing_set->insert(this);
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
          Fail(res);
        }
        break;
      }
      sent_ += static_cast<size_t>(res);
      if (!corked_) FlushSend();  // corked: what was queued since leaves at Uncork()
      handler_->OnSocketSent();
      if (!closing_ && !send_armed_ && queued() == 0) handler_->OnSocketSendDrained();
      break;
    case kOpClose:
      close_submitted_ = true;
      break;
  }
  MaybeRelease();  // last: the handler may free the socket's owner
}

void StreamSocket::MaybeRelease() {
  if (closing_ && close_submitted_ && inflight_ == 0 && !released_) {
    released_ = true;
    LeaveClosingSet(this);
    handler_->OnSocketReleased();
  }
}

}  // namespace edge::uring
