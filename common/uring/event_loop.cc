#include "common/uring/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::uring {

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const RingOptions& options) {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  auto ring = Ring::Create(options);
  if (!ring.ok()) return ring.status();
  loop->ring_ = std::move(*ring);
  loop->wakeup_fd_ = eventfd(0, EFD_CLOEXEC);
  if (loop->wakeup_fd_ < 0) {
    return absl::InternalError(absl::StrFormat("eventfd: %s", strerror(errno)));
  }
  loop->now_ns_ = MonotonicNowNs();
  loop->ArmWakeup();
  return loop;
}

EventLoop::~EventLoop() {
  // The ring is torn down first (unique_ptr order is reverse of declaration: ring_ is first, so
  // reset explicitly) so no read is in flight into wakeup_value_ when the fd closes.
  ring_.reset();
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
}

void EventLoop::ArmWakeup() {
  io_uring_sqe* sqe = ring_->GetSqe();
  io_uring_prep_read(sqe, wakeup_fd_, &wakeup_value_, sizeof(wakeup_value_), 0);
  io_uring_sqe_set_data64(sqe, UserData(this, 0));
}

void EventLoop::OnCompletion(uint8_t, int32_t, uint32_t) {
  if (!stop_.load(std::memory_order_relaxed)) ArmWakeup();
}

void EventLoop::Stop() {
  stop_.store(true);
  uint64_t one = 1;
  ssize_t unused = write(wakeup_fd_, &one, sizeof(one));
  (void)unused;
}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(task));
  }
  has_posted_.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t unused = write(wakeup_fd_, &one, sizeof(one));
  (void)unused;
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    tasks.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (auto& task : tasks) task();
}

void EventLoop::RunAtEndOfPass(EndOfPassTask* task) {
  end_of_pass_.Schedule(task);
  if (!in_pass_) end_of_pass_.RunAll();
}

absl::Status EventLoop::Run() {
  io_uring* raw = ring_->raw();
  while (!stop_.load(std::memory_order_relaxed)) {
    int64_t timeout = timers_.NextTimeoutNs(now_ns_);
    int ret = ring_->SubmitAndWait(timeout);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
      return absl::InternalError(absl::StrFormat("io_uring_enter: %s", strerror(-ret)));
    }
    now_ns_ = MonotonicNowNs();
    in_pass_ = true;
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(raw, head, cqe) {
      ++seen;
      uint64_t data = cqe->user_data;
      if (data == kIgnoredUserData) continue;
      HandlerOf(data)->OnCompletion(OpOf(data), cqe->res, cqe->flags);
    }
    io_uring_cq_advance(raw, seen);
    ring_->OnPass(seen, now_ns_);
    timers_.Advance(now_ns_);
    if (has_posted_.load(std::memory_order_acquire)) RunPosted();
    end_of_pass_.RunAll();
    in_pass_ = false;
  }
  in_pass_ = true;
  if (has_posted_.load(std::memory_order_acquire)) RunPosted();
  end_of_pass_.RunAll();
  in_pass_ = false;
  // Whatever the last handlers queued (closes, cancels) still reaches the kernel.
  ring_->Submit();
  return absl::OkStatus();
}

}  // namespace edge::uring
