#pragma once
// Lb4Server: the running load balancer: listening sockets, one Worker per thread, and the
// process-wide counters. Start() fails without side effects left running.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "l4/runtime.h"
#include "l4/stats.h"
#include "l4/worker.h"

namespace edge::l4 {

class Lb4Server {
 public:
  static absl::StatusOr<std::unique_ptr<Lb4Server>> Start(std::shared_ptr<const Runtime> runtime);
  ~Lb4Server();

  // Stops accepting on every listener; live connections go on.
  void BeginDrain();
  // Waits until no connection is left or `timeout` passes. True when drained.
  bool WaitDrained(absl::Duration timeout);
  // Ends every connection and joins the workers.
  void Stop();

  int64_t active_connections() const { return shared_.active.load(); }
  bool draining() const { return draining_.load(); }
  const Runtime& runtime() const { return *runtime_; }
  const std::vector<std::unique_ptr<Worker>>& workers() const { return workers_; }

 private:
  Lb4Server() = default;
  std::shared_ptr<const Runtime> runtime_;
  SharedCounters shared_;
  std::atomic<bool> draining_{false};
  std::vector<std::unique_ptr<Worker>> workers_;
};

// Number of worker threads for `configured` (0 = one per CPU this process may run on).
int ResolveWorkerCount(int configured);

}  // namespace edge::l4
