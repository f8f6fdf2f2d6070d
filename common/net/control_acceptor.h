#pragma once
// ControlAcceptor: a thread that accepts connections on a listening socket and hands each one,
// with send/receive timeouts set, to a handler, one at a time, with blocking I/O. For control
// endpoints (the admin address, lb4's handover socket): they must never share a data-path ring,
// and a client that stalls is dropped at the timeout instead of holding the thread.

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"

namespace edge::net {

class ControlAcceptor {
 public:
  // Gets each accepted connection (closed by the acceptor once the handler returns). Returns
  // false to stop accepting: the thread ends after that connection.
  using Handler = std::function<bool(int fd)>;

  // Takes ownership of `listen_fd`. `thread_name` is at most 15 characters.
  static absl::StatusOr<std::unique_ptr<ControlAcceptor>> Start(int listen_fd,
                                                                const char* thread_name,
                                                                int io_timeout_ms, Handler handler);
  ~ControlAcceptor();  // wakes and joins the thread, closes the listening socket

 private:
  ControlAcceptor() = default;
  void Serve();

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: wakes the poll() at shutdown
  const char* thread_name_ = "";
  int io_timeout_ms_ = 0;
  Handler handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace edge::net
