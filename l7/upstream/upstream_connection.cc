#include "l7/upstream/upstream_connection.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>

#include "common/net/socket.h"
#include "common/uring/compat.h"

namespace edge::l7 {
namespace {
thread_local bool loop_stopped = false;
// Closed connections still waiting for their last completions. When the loop stops those never
// come, so LoopStopped() deletes them (otherwise they leak at exit, e.g. after drain_timeout).
thread_local std::unordered_set<UpstreamConnection*>* closing_set = nullptr;
}  // namespace

void UpstreamConnection::LoopStopped() {
  loop_stopped = true;
  if (closing_set == nullptr) return;
  auto* doomed = closing_set;
  closing_set = nullptr;
  for (UpstreamConnection* c : *doomed) delete c;
  delete doomed;
}

absl::StatusOr<UpstreamConnection*> UpstreamConnection::Connect(
    uring::EventLoop* loop, const net::SocketAddress& server, Owner* owner,
    uring::ProvidedBufferRing* buffers) {
  auto fd = net::NewTcpSocket(server);
  if (!fd.ok()) return fd.status();
  auto* c = new UpstreamConnection(loop, *fd, server, owner, buffers);
  io_uring_sqe* sqe = loop->ring().GetSqe();
  io_uring_prep_connect(sqe, c->fd_, c->server_.sockaddr_ptr(), c->server_.length());
  io_uring_sqe_set_data64(sqe, uring::UserData(c, kOpConnect));
  ++c->inflight_;
  return c;
}

UpstreamConnection::UpstreamConnection(uring::EventLoop* loop, int fd,
                                       const net::SocketAddress& server, Owner* owner,
                                       uring::ProvidedBufferRing* buffers)
    : loop_(loop), fd_(fd), server_(server), owner_(owner), buffers_(buffers) {}

UpstreamConnection::~UpstreamConnection() {
  if (closing_set != nullptr) closing_set->erase(this);
  if (fd_ >= 0) close(fd_);
}

void UpstreamConnection::Send(std::string_view data) {
  if (closing_ || shutdown_write_ || data.empty()) return;
  pending_.append(data);
  if (connected_ && !corked_) FlushSend();
}

void UpstreamConnection::Uncork() {
  corked_ = false;
  if (connected_) FlushSend();
}

void UpstreamConnection::ShutdownWrite() {
  shutdown_write_ = true;
  if (connected_) FlushSend();
}

void UpstreamConnection::FlushSend() {
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
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpSend));
  send_armed_ = true;
  ++inflight_;
}

void UpstreamConnection::ArmRecv() {
  if (recv_armed_ || closing_ || read_paused_ || !connected_) return;
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  multishot_ = buffers_ != nullptr && !ring_empty_;
  if (multishot_) {
    // Capped: one arming takes at most kMultishotCap from the ring, so what arrives between a
    // PauseRead and its cancel (held) stays small however much the socket holds.
    multishot_capped_ = uring::RecvCapSupported();
    uring::PrepRecvMultishotCapped(sqe, fd_, kMultishotCap);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = static_cast<uint16_t>(buffers_->group_id());
  } else {
    if (recv_buffer_ == nullptr) recv_buffer_.reset(new char[kRecvBufferSize]);
    io_uring_prep_recv(sqe, fd_, recv_buffer_.get(), kRecvBufferSize, 0);
  }
  ring_empty_ = false;
  // Unless the last receive filled the buffer, the answer is still to come: wait for data
  // before trying, instead of a receive that fails with EAGAIN and then waits.
  if (!last_recv_full_) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpRecv));
  recv_armed_ = true;
  ++inflight_;
}

void UpstreamConnection::PauseRead() {
  if (read_paused_) return;
  read_paused_ = true;
  if (recv_armed_ && multishot_) {
    // Ends the multishot recv (its last completion says -ECANCELED); what arrives before that
    // is held.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_cancel64(sqe, uring::UserData(this, kOpRecv), 0);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  }
}

void UpstreamConnection::ResumeRead() {
  if (!read_paused_) return;
  read_paused_ = false;
  if (!held_.empty() && !held_posted_ && !closing_) {
    // Handed over from the loop, not from inside the owner's call.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpHeld));
    held_posted_ = true;
    ++inflight_;
    return;
  }
  ArmRecv();
}

void UpstreamConnection::Close() {
  if (closing_) return;
  closing_ = true;
  owner_ = nullptr;
  if (pool() != nullptr) pool()->Remove(this);
  // shutdown() completes any pending recv/send at once; the last completion deletes us. A NOP
  // makes sure there is a last completion even when nothing is in flight.
  if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  if (loop_stopped) {
    delete this;
    return;
  }
  if (closing_set == nullptr) closing_set = new std::unordered_set<UpstreamConnection*>();
  closing_set->insert(this);
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpClose));
  ++inflight_;
}

void UpstreamConnection::Fail(int error) {
  Owner* owner = owner_;
  Close();
  if (owner != nullptr) owner->OnUpstreamClosed(this, error);
}

void UpstreamConnection::Deliver(std::string_view data) {
  if (owner_ == nullptr) {
    Fail(0);  // unexpected bytes on an idle pooled connection: it is no longer usable
  } else if (read_paused_) {
    held_.append(data);
  } else {
    owner_->OnUpstreamData(this, data);
  }
}

void UpstreamConnection::OnRecv(int32_t res, uint32_t flags) {
  const bool more = multishot_ && (flags & IORING_CQE_F_MORE) != 0;
  if (!more) recv_armed_ = false;
  const bool buffer = (flags & IORING_CQE_F_BUFFER) != 0;
  const uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  if (buffer) buffers_->Taken();
  if (res > 0) {
    const char* data = buffer ? buffers_->Data(bid) : recv_buffer_.get();
    last_recv_full_ = !buffer && res == static_cast<int32_t>(kRecvBufferSize);
    if (!closing_) Deliver(std::string_view(data, static_cast<size_t>(res)));
    if (buffer) buffers_->Recycle(bid);                        // the owner copied what it keeps
    if (!buffer && buffers_ != nullptr) recv_buffer_.reset();  // a fallback's: not kept idle
    if (!closing_ && !more) ArmRecv();
    return;
  }
  if (buffer) buffers_->Recycle(bid);
  if (!buffer && buffers_ != nullptr) recv_buffer_.reset();
  if (closing_) return;
  if (res == 0 && !held_.empty()) {
    // The server finished while we held its last bytes (paused): they go first, the end after.
    eof_held_ = true;
    return;
  }
  if (res == -EINVAL && multishot_ && multishot_capped_) {
    uring::RecvCapRefused();  // a kernel older than 6.17: arm again without the cap
    ArmRecv();
  } else if (res == -ENOBUFS) {
    ring_empty_ = true;  // every ring buffer is out: one recv into our own, then the ring again
    ArmRecv();
  } else if (res == -EINTR || res == -EAGAIN || res == -ECANCELED) {
    ArmRecv();  // -ECANCELED: PauseRead's cancel; ArmRecv waits for ResumeRead
  } else {
    Fail(res);  // EOF (0) or an error
  }
}

void UpstreamConnection::OnCompletion(uint8_t op, int32_t res, uint32_t flags) {
  // A multishot recv stays in flight until a completion without IORING_CQE_F_MORE.
  if (!(op == kOpRecv && multishot_ && (flags & IORING_CQE_F_MORE) != 0)) --inflight_;
  switch (op) {
    case kOpConnect:
      if (closing_) break;
      if (res < 0) {
        Owner* owner = owner_;
        Close();
        if (owner != nullptr) owner->OnUpstreamConnected(this, res);
        break;
      }
      connected_ = true;
      if (owner_ != nullptr) owner_->OnUpstreamConnected(this, 0);
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
      if (!held_.empty() && !read_paused_) {
        std::string held;
        held.swap(held_);
        Deliver(held);
      }
      if (closing_) break;
      if (eof_held_ && held_.empty()) {
        Fail(0);  // the server's end, after its last bytes
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
      FlushSend();
      if (!send_armed_ && owner_ != nullptr) owner_->OnUpstreamSendDrained(this);
      break;
    case kOpClose:
      close_submitted_ = true;
      break;
  }
  if (closing_ && close_submitted_ && inflight_ == 0) delete this;
}

}  // namespace edge::l7
