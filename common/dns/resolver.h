#pragma once
// Resolver: asynchronous DNS (c-ares) on an io_uring EventLoop, so resolving never blocks the
// loop and needs no thread of its own.
//
// Why on the ring and not on a resolver thread: gw7 is one loop thread by design (no locks on the
// L7 path) and its upstream lists change on that thread; polling c-ares's few UDP/TCP sockets with
// IORING_OP_POLL_ADD and driving c-ares's retransmission timeouts from the loop's timer wheel puts
// DNS on the same thread as everything it changes, with no hand-off and no extra thread per gw7.
// lb4 runs the same Resolver on a discovery thread of its own (like its health checker), since its
// changes are published to the workers as a reload anyway.
//
// How: c-ares reports which sockets it wants to read or write through its socket-state callback;
// each such socket gets a one-shot POLL_ADD (re-armed after every event, replaced through
// POLL_REMOVE when the wanted events change, removed the same way when c-ares closes the socket).
// Readiness and timer expiry both call ares_process_fd(); after every call into c-ares the timer is
// re-armed to ares_timeout().
//
// Threading: everything, including construction and destruction, on the loop's thread.

#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "absl/status/statusor.h"
#include "common/dns/answer.h"
#include "common/dns/dns_config.h"
#include "common/dns/target.h"
#include "common/uring/event_loop.h"
#include "common/uring/timer_wheel.h"

struct ares_channeldata;

namespace edge::dns {

class Resolver {
 public:
  // `done` gets the answer (endpoints never empty), or NotFound (the name does not exist or has
  // no usable record), Unavailable (no DNS server answered: timeouts, refusals, server failure)
  // or InvalidArgument (a malformed answer). It may run before Resolve() returns (an answer from
  // /etc/hosts, an immediate failure), and never after the Resolver is destroyed.
  using Callback = std::function<void(absl::StatusOr<Answer>)>;

  // A c-ares channel using `config` (resolvers, timeout, attempts) on `loop`.
  static absl::StatusOr<std::unique_ptr<Resolver>> Create(uring::EventLoop* loop,
                                                          const DnsConfig& config);
  // Pending resolutions end without their callbacks. Sockets whose POLL_ADD is still in the ring
  // are cancelled; their watchers free themselves when the cancellation completes, or at once
  // when LoopStopped() was called.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // kHost: A and AAAA records, every address on target.port, weight 1. kSrv: the SRV records,
  // then the addresses of their targets (EndpointsFromSrv). The answer's TTL is the smallest of
  // the records used.
  void Resolve(const DnsTarget& target, Callback done);

  // The loop will not deliver completions any more (it has returned from Run for good): the
  // destructor frees every socket watcher itself.
  void LoopStopped() { loop_stopped_ = true; }

  size_t pending() const { return pending_; }

 private:
  class SocketWatch;
  struct HostQuery;
  struct SrvQuery;
  friend class SocketWatch;

  Resolver(uring::EventLoop* loop) : loop_(loop), timer_(&TimerThunk, this) {}
  static void SocketStateThunk(void* data, int fd, int readable, int writable);
  static void TimerThunk(void* self);
  void OnSocketState(int fd, bool readable, bool writable);
  void OnSocketEvent(SocketWatch* watch, int32_t res);
  void Arm(SocketWatch* watch);
  void Retire(SocketWatch* watch);
  void OnRetiredDone(SocketWatch* watch);
  void UpdateTimer();
  void ResolveHost(const std::string& name, uint16_t port,
                   std::function<void(absl::StatusOr<Answer>)> done);

  uring::EventLoop* loop_;
  ares_channeldata* channel_ = nullptr;
  uring::Timer timer_;
  std::unordered_map<int, SocketWatch*> watches_;  // by fd: sockets c-ares has open
  std::unordered_set<SocketWatch*> retired_;       // closed by c-ares, POLL_ADD still in the ring
  size_t pending_ = 0;                             // resolutions whose callback is due
  bool destroying_ = false;
  bool loop_stopped_ = false;
};

}  // namespace edge::dns
