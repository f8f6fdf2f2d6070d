#pragma once
// TcpListener: one listening socket of one worker (SO_REUSEPORT gives every worker its own), with
// a multishot accept that hands each new client to the worker.

#include <memory>

#include "common/uring/completion.h"
#include "common/uring/timer_wheel.h"
#include "l4/protection/source_table.h"

namespace edge::l4 {

class Worker;
struct ListenerRuntime;

class TcpListener final : public uring::IoHandler {
 public:
  TcpListener(Worker* worker, int fd, std::shared_ptr<const ListenerRuntime> runtime);
  ~TcpListener() override;

  void Arm();
  // A reload kept this socket: new connections use the new listener config and pool.
  void set_runtime(std::shared_ptr<const ListenerRuntime> runtime) {
    runtime_ = std::move(runtime);
  }
  const ListenerRuntime& runtime() const { return *runtime_; }
  // The worker's per-source table for this listener (null without per-source limits).
  void set_source_table(std::shared_ptr<SourceTable> table) { source_table_ = std::move(table); }
  // Stops accepting: cancels the accept and closes the socket once it has completed.
  void Close();
  bool closed() const { return fd_ < 0 && !armed_; }
  int fd() const { return closing_ ? -1 : fd_; }

  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;

 private:
  static constexpr int kMaxSwept = 256;
  void SweepAndClose();
  static void RetryThunk(void* self) { static_cast<TcpListener*>(self)->Arm(); }

  Worker* worker_;
  int fd_;
  std::shared_ptr<const ListenerRuntime> runtime_;
  std::shared_ptr<SourceTable> source_table_;
  bool armed_ = false;
  bool closing_ = false;
  uring::Timer retry_timer_;  // after EMFILE/ENFILE, accept again a little later
};

}  // namespace edge::l4
