#include "common/dns/discovery_thread.h"

#include <future>

#include "common/log.h"

namespace edge::dns {

absl::StatusOr<std::unique_ptr<DiscoveryThread>> DiscoveryThread::Start(
    const DnsConfig& config, Discovery::OnChange on_change) {
  std::unique_ptr<DiscoveryThread> self(new DiscoveryThread());
  std::promise<absl::Status> started;
  std::future<absl::Status> started_future = started.get_future();
  DiscoveryThread* raw = self.get();
  self->thread_ = std::thread([raw, config, on_change = std::move(on_change), &started]() mutable {
    uring::RingOptions ring_options;
    ring_options.sq_entries = 64;
    ring_options.cq_entries = 256;
    auto loop = uring::EventLoop::Create(ring_options);
    if (!loop.ok()) {
      started.set_value(loop.status());
      return;
    }
    auto resolver = Resolver::Create(loop->get(), config);
    if (!resolver.ok()) {
      started.set_value(resolver.status());
      return;
    }
    raw->loop_ = std::move(*loop);
    raw->discovery_ = std::make_unique<Discovery>(raw->loop_.get(), std::move(*resolver),
                                                  config.refresh, std::move(on_change));
    started.set_value(absl::OkStatus());
    absl::Status run = raw->loop_->Run();
    if (!run.ok()) LOG_ERROR("dns discovery loop: %s", run.message());
    raw->discovery_->LoopStopped();
    raw->discovery_.reset();
  });
  absl::Status status = started_future.get();
  if (!status.ok()) {
    self->thread_.join();
    return status;
  }
  return self;
}

DiscoveryThread::~DiscoveryThread() {
  if (loop_ != nullptr) loop_->Stop();
  if (thread_.joinable()) thread_.join();
  loop_.reset();
}

void DiscoveryThread::Watch(std::vector<DnsTarget> targets, AnswerMap known) {
  loop_->Post([this, targets = std::move(targets), known = std::move(known)] {
    discovery_->Watch(targets, known);
  });
}

}  // namespace edge::dns
