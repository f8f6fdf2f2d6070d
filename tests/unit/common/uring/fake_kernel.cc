#include "tests/unit/common/uring/fake_kernel.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace edge::uring::testing {

bool TakenSqe::multishot() const {
  switch (sqe.opcode) {
    case IORING_OP_RECV:
      return (sqe.ioprio & IORING_RECV_MULTISHOT) != 0;
    case IORING_OP_ACCEPT:
      return (sqe.ioprio & IORING_ACCEPT_MULTISHOT) != 0;
    default:
      return false;
  }
}

std::string_view TakenSqe::send_data() const {
  return std::string_view(reinterpret_cast<const char*>(sqe.addr), sqe.len);
}

FakeKernel::FakeKernel(EventLoop* loop) : ring_(&loop->ring()) { ring_->Submit(); }

void FakeKernel::ReapNops() {
  io_uring* r = ring_->raw();
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(r, &cqe) == 0 && cqe != nullptr) {
    EXPECT_EQ(cqe->user_data, kIgnoredUserData) << "a real operation reached the kernel";
    io_uring_cqe_seen(r, cqe);
  }
}

std::vector<TakenSqe> FakeKernel::Take() {
  io_uring* r = ring_->raw();
  io_uring_sq* sq = &r->sq;
  std::vector<TakenSqe> out;
  for (unsigned i = sq->sqe_head; i != sq->sqe_tail; ++i) {
    io_uring_sqe* sqe = &sq->sqes[i & sq->ring_mask];
    out.push_back(TakenSqe{*sqe});
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, kIgnoredUserData);
  }
  // The NOPs move the kernel's SQ head, so GetSqe keeps finding room.
  if (!out.empty()) {
    io_uring_submit_and_wait(r, static_cast<unsigned>(out.size()));
    ReapNops();
  }
  return out;
}

TakenSqe FakeKernel::TakeOne(IoHandler* handler, uint8_t opcode) {
  return TakeMatching(handler, opcode, false);
}

TakenSqe FakeKernel::TakeMatching(IoHandler* handler, uint8_t opcode, bool any_handler) {
  for (TakenSqe& t : Take()) backlog_.push_back(t);
  auto match = [&](const TakenSqe& t) {
    const bool handler_matches =
        any_handler ? t.sqe.user_data != kIgnoredUserData : t.handler() == handler;
    return handler_matches && t.opcode() == opcode;
  };
  const auto n = std::count_if(backlog_.begin(), backlog_.end(), match);
  EXPECT_EQ(n, 1) << "SQEs with opcode " << int{opcode} << " for the handler";
  if (n != 1) return TakenSqe{};
  auto it = std::find_if(backlog_.begin(), backlog_.end(), match);
  TakenSqe found = *it;
  backlog_.erase(it);
  return found;
}

std::optional<TakenSqe> FakeKernel::TakeFirst(const std::function<bool(const TakenSqe&)>& match) {
  for (TakenSqe& t : Take()) backlog_.push_back(t);
  auto it = std::find_if(backlog_.begin(), backlog_.end(), match);
  if (it == backlog_.end()) return std::nullopt;
  TakenSqe found = *it;
  backlog_.erase(it);
  return found;
}

TakenSqe FakeKernel::TakeFirst(uint8_t opcode) {
  std::optional<TakenSqe> t =
      TakeFirst([opcode](const TakenSqe& sqe) { return sqe.opcode() == opcode; });
  EXPECT_TRUE(t.has_value()) << "no SQE with opcode " << int{opcode};
  return t.value_or(TakenSqe{});
}

void FakeKernel::CompleteAll(int32_t error) {
  for (int round = 0; round < 10; ++round) {
    for (TakenSqe& t : Take()) backlog_.push_back(t);
    if (backlog_.empty()) return;
    std::vector<TakenSqe> left;
    left.swap(backlog_);
    for (const TakenSqe& t : left) {
      if (t.sqe.user_data == kIgnoredUserData) continue;
      Complete(t, t.opcode() == IORING_OP_NOP ? 0 : error);
    }
  }
  ADD_FAILURE() << "operations keep coming after 10 rounds of answers";
}

void FakeKernel::Complete(const TakenSqe& taken, int32_t res, uint32_t flags) {
  taken.handler()->OnCompletion(taken.op(), res, flags);
}

unsigned FakeKernel::FreeBuffers(const ProvidedBufferRing* buffers) const {
  const io_uring_buf_ring* br = buffers->raw();
  const uint16_t tail = io_uring_smp_load_acquire(&br->tail);
  auto it = heads_.find(buffers);
  const uint16_t head = it == heads_.end() ? 0 : it->second;
  return static_cast<uint16_t>(tail - head);
}

bool FakeKernel::CompleteRecv(const TakenSqe& taken, std::string_view data,
                              ProvidedBufferRing* buffers, bool more) {
  uint32_t flags = more ? IORING_CQE_F_MORE : 0;
  if (taken.buffer_select()) {
    EXPECT_NE(buffers, nullptr) << "a buffer-select receive needs the ring";
    if (buffers == nullptr || FreeBuffers(buffers) == 0) return false;
    EXPECT_EQ(taken.sqe.buf_group, buffers->group_id());
    uint16_t& head = heads_[buffers];
    const io_uring_buf& buf = buffers->raw()->bufs[head & (buffers->count() - 1)];
    ++head;
    EXPECT_LE(data.size(), buf.len) << "more bytes than one provided buffer holds";
    std::memcpy(reinterpret_cast<char*>(buf.addr), data.data(),
                std::min<size_t>(data.size(), buf.len));
    flags |= IORING_CQE_F_BUFFER | (static_cast<uint32_t>(buf.bid) << IORING_CQE_BUFFER_SHIFT);
  } else {
    EXPECT_LE(data.size(), taken.sqe.len) << "more bytes than the receive's buffer holds";
    std::memcpy(reinterpret_cast<char*>(taken.sqe.addr), data.data(),
                std::min<size_t>(data.size(), taken.sqe.len));
  }
  Complete(taken, static_cast<int32_t>(data.size()), flags);
  return true;
}

int AcceptedLoopbackSocket(int* peer) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(listen(listener, 1), 0);
  EXPECT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len), 0);
  *peer = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(connect(*peer, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const int accepted = accept(listener, nullptr, nullptr);
  close(listener);
  return accepted;
}

void OnOwnThread(const std::function<void()>& body) { std::thread(body).join(); }

}  // namespace edge::uring::testing
