#pragma once
// EndOfPass: work an object wants done once, after every completion of the event loop's current
// pass has been handled (and the due timers and posted closures have run), before the loop
// submits and waits again.
//
// Why: nothing queued on the ring reaches the kernel before the next submit, so doing a send at
// the end of the pass costs no latency, and it gathers what several completions of one pass
// produced for one socket into one send (HTTP/2: the responses of many streams of one client
// connection, which arrive from as many upstream connections) instead of one send each.
//
// Embed an EndOfPassTask in the object (as a Timer). Scheduling an already scheduled task does
// nothing; the destructor unschedules it, so an object may be deleted with its task pending.

namespace edge::uring {

class EndOfPassQueue;

class EndOfPassTask {
 public:
  using Callback = void (*)(void* context);
  EndOfPassTask(Callback callback, void* context) : callback_(callback), context_(context) {}
  ~EndOfPassTask() { Unschedule(); }
  EndOfPassTask(const EndOfPassTask&) = delete;
  EndOfPassTask& operator=(const EndOfPassTask&) = delete;

  bool scheduled() const { return prev_ != nullptr; }
  void Unschedule();

 private:
  friend class EndOfPassQueue;
  Callback callback_;
  void* context_;
  EndOfPassTask* prev_ = nullptr;  // non-null while scheduled (the queue's head node at the front)
  EndOfPassTask* next_ = nullptr;
};

// The loop's list of scheduled tasks, run in the order they were scheduled.
class EndOfPassQueue {
 public:
  EndOfPassQueue() : head_(nullptr, nullptr) { head_.prev_ = head_.next_ = &head_; }
  ~EndOfPassQueue();
  EndOfPassQueue(const EndOfPassQueue&) = delete;
  EndOfPassQueue& operator=(const EndOfPassQueue&) = delete;

  void Schedule(EndOfPassTask* task);
  bool empty() const { return head_.next_ == &head_; }
  // Runs every task, those scheduled by the tasks themselves included.
  void RunAll();

 private:
  EndOfPassTask head_;  // sentinel of a circular list
};

}  // namespace edge::uring
