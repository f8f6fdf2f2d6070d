#pragma once
// GatewayListener: gw7's listening socket, accepting with one multishot accept on the loop.

#include "common/uring/completion.h"
#include "common/uring/timer_wheel.h"

namespace edge::l7 {

class GatewayServer;

class GatewayListener final : public uring::IoHandler {
 public:
  GatewayListener(GatewayServer* server, int fd);
  ~GatewayListener() override;
  void Arm();
  // Stops accepting (drain). The socket closes once the accept is cancelled.
  void Close();
  int fd() const { return fd_; }

 private:
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  static void RetryThunk(void* self) { static_cast<GatewayListener*>(self)->Arm(); }

  GatewayServer* server_;
  int fd_;
  bool armed_ = false;
  bool closing_ = false;
  uring::Timer retry_timer_;
};

}  // namespace edge::l7
