#include "common/uring/end_of_pass.h"

namespace edge::uring {

void EndOfPassTask::Unschedule() {
  if (prev_ == nullptr) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

EndOfPassQueue::~EndOfPassQueue() {
  while (!empty()) head_.next_->Unschedule();
  head_.prev_ = head_.next_ = nullptr;  // the sentinel's destructor then does nothing
}

void EndOfPassQueue::Schedule(EndOfPassTask* task) {
  if (task->scheduled()) return;
  task->prev_ = head_.prev_;
  task->next_ = &head_;
  head_.prev_->next_ = task;
  head_.prev_ = task;
}

void EndOfPassQueue::RunAll() {
  while (!empty()) {
    EndOfPassTask* task = head_.next_;
    task->Unschedule();  // before the callback: it may schedule the task again, or delete it
    task->callback_(task->context_);
  }
}

}  // namespace edge::uring
