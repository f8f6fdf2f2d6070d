#pragma once
// Discovery: keeps a set of names (DnsTargets) resolved on one EventLoop, each re-resolved after
// its TTL (within [dns] refresh_min..refresh_max, refresh_policy.h), and reports every change of
// an answer to its owner, which applies it like a reload.
//
// A failed resolution (timeout, SERVFAIL, NXDOMAIN, a malformed answer) keeps the last good answer
// in force: it is logged, counted (DnsStats) and retried sooner (RetryDelayNs), so a DNS outage
// never empties a pool. Only a good answer with different endpoints (addresses, ports, weights)
// is a change; the same endpoints under a new TTL only move the next refresh.
//
// Threading: the loop's thread only (construction and destruction included).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/dns/answer.h"
#include "common/dns/dns_stats.h"
#include "common/dns/resolver.h"
#include "common/uring/event_loop.h"

namespace edge::dns {

class Discovery {
 public:
  // Called after an answer changed, with the answers in force of every watched target.
  using OnChange = std::function<void(const AnswerMap& answers)>;

  Discovery(uring::EventLoop* loop, std::unique_ptr<Resolver> resolver, RefreshBounds bounds,
            OnChange on_change, DnsStats* stats = &ProcessDnsStats());
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Watches exactly `targets` from now on. A target that `known` has an answer for (the startup
  // or reload resolution) takes it as its answer in force and is refreshed after its TTL; one
  // already watched keeps its answer and schedule; others are resolved at once. Targets no
  // longer listed are dropped. Does not call on_change.
  void Watch(const std::vector<DnsTarget>& targets, const AnswerMap& known);

  const AnswerMap& answers() const { return answers_; }
  // See Resolver::LoopStopped.
  void LoopStopped() { resolver_->LoopStopped(); }

 private:
  struct Entry;
  static void RefreshThunk(void* entry);
  void Refresh(Entry* entry);
  void OnAnswer(const std::string& key, uint64_t id, absl::StatusOr<Answer> answer);
  void Publish(const Entry& entry);

  uring::EventLoop* loop_;
  std::unique_ptr<Resolver> resolver_;
  RefreshBounds bounds_;
  OnChange on_change_;
  DnsStats* stats_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // by DnsTarget::ToString()
  AnswerMap answers_;                                      // good answers in force
  uint64_t next_id_ = 1;
};

}  // namespace edge::dns
