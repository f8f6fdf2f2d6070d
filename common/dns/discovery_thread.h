#pragma once
// DiscoveryThread: a Discovery (discovery.h) on a thread and io_uring loop of its own, for a
// program whose changes are applied from outside any event loop: lb4 applies a changed answer as
// a reload (new pools and Maglev tables published to every worker), which its workers must not
// run themselves. gw7, single-threaded, runs Discovery on its own loop instead.

#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dns/discovery.h"
#include "common/dns/dns_config.h"

namespace edge::dns {

class DiscoveryThread {
 public:
  // Starts the thread with a ring and a Resolver for `config`; `on_change` runs on that thread.
  static absl::StatusOr<std::unique_ptr<DiscoveryThread>> Start(const DnsConfig& config,
                                                                Discovery::OnChange on_change);
  // Stops the loop and joins the thread: no on_change runs after this returns.
  ~DiscoveryThread();
  DiscoveryThread(const DiscoveryThread&) = delete;
  DiscoveryThread& operator=(const DiscoveryThread&) = delete;

  // Thread-safe: Discovery::Watch on the thread.
  void Watch(std::vector<DnsTarget> targets, AnswerMap known);

 private:
  DiscoveryThread() = default;
  std::unique_ptr<uring::EventLoop> loop_;  // created on, and used by, thread_
  std::unique_ptr<Discovery> discovery_;    // thread_ only
  std::thread thread_;
};

}  // namespace edge::dns
