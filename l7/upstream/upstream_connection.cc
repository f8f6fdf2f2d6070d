#include "l7/upstream/upstream_connection.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <unordered_set>

#include "common/net/socket.h"

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

absl::StatusOr<UpstreamConnection*> UpstreamConnection::Connect(uring::EventLoop* loop,
                                                                const net::SocketAddress& server,
                                                                Owner* owner) {
  auto fd = net::NewTcpSocket(server);
  if (!fd.ok()) return fd.status();
  auto* c = new UpstreamConnection(loop, *fd, server, owner);
  io_uring_sqe* sqe = loop->ring().GetSqe();
  io_uring_prep_connect(sqe, c->fd_, c->server_.sockaddr_ptr(), c->server_.length());
  io_uring_sqe_set_data64(sqe, uring::UserData(c, kOpConnect));
  ++c->inflight_;
  return c;
}

UpstreamConnection::UpstreamConnection(uring::EventLoop* loop, int fd,
                                       const net::SocketAddress& server, Owner* owner)
    : loop_(loop),
      fd_(fd),
      server_(server),
      owner_(owner),
      recv_buffer_(new char[kRecvBufferSize]) {}

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
  io_uring_prep_recv(sqe, fd_, recv_buffer_.get(), kRecvBufferSize, 0);
  // Unless the last receive filled the buffer, the answer is still to come: wait for data
  // before trying, instead of a receive that fails with EAGAIN and then waits.
  if (!last_recv_full_) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpRecv));
  recv_armed_ = true;
  ++inflight_;
}

void UpstreamConnection::PauseRead() { read_paused_ = true; }

void UpstreamConnection::ResumeRead() {
  if (!read_paused_) return;
  read_paused_ = false;
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

void UpstreamConnection::OnCompletion(uint8_t op, int32_t res, uint32_t) {
  --inflight_;
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
      recv_armed_ = false;
      last_recv_full_ = res == static_cast<int32_t>(kRecvBufferSize);
      if (closing_) break;
      if (res > 0 && owner_ != nullptr) {
        owner_->OnUpstreamData(this, std::string_view(recv_buffer_.get(), res));
        ArmRecv();
      } else if (res == -EINTR || res == -EAGAIN) {
        ArmRecv();
      } else {
        // EOF or an error; while idle in a pool, unexpected bytes also end the connection.
        Fail(res > 0 ? 0 : res);
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
