#include "common/dns/discovery.h"

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::dns {

struct Discovery::Entry {
  Entry(Discovery* d, DnsTarget t, uint64_t i)
      : owner(d), target(std::move(t)), key(target.ToString()), id(i), timer(&RefreshThunk, this) {}
  Discovery* owner;
  DnsTarget target;
  std::string key;
  uint64_t id;  // a resolution's callback finds its entry only while this id is watched
  uring::Timer timer;
  bool resolving = false;
  int failures = 0;  // consecutive
  std::string last_error;
};

Discovery::Discovery(uring::EventLoop* loop, std::unique_ptr<Resolver> resolver,
                     RefreshBounds bounds, OnChange on_change, DnsStats* stats)
    : loop_(loop),
      resolver_(std::move(resolver)),
      bounds_(bounds),
      on_change_(std::move(on_change)),
      stats_(stats) {}

Discovery::~Discovery() {
  // The resolver goes first: no callback may find a half-destroyed Discovery.
  resolver_.reset();
  for (const auto& [key, entry] : entries_) stats_->ForgetTarget(key);
}

void Discovery::Watch(const std::vector<DnsTarget>& targets, const AnswerMap& known) {
  std::map<std::string, std::unique_ptr<Entry>> next;
  for (const DnsTarget& target : targets) {
    const std::string key = target.ToString();
    if (next.contains(key)) continue;
    if (auto it = entries_.find(key); it != entries_.end()) {
      next.emplace(key, std::move(it->second));
      entries_.erase(it);
      continue;
    }
    auto entry = std::make_unique<Entry>(this, target, next_id_++);
    Entry* e = entry.get();
    next.emplace(key, std::move(entry));
    if (auto k = known.find(key); k != known.end()) {
      answers_[key] = k->second;
      Publish(*e);
      loop_->timers().Schedule(&e->timer,
                               loop_->now_ns() + RefreshDelayNs(k->second.ttl_s, bounds_));
    } else {
      // On the next turn of the loop, not here: an answer may arrive synchronously (c-ares
      // answers some names without I/O) and must find its entry in entries_.
      answers_.erase(key);
      loop_->timers().Schedule(&e->timer, loop_->now_ns());
    }
  }
  for (const auto& [key, entry] : entries_) {
    answers_.erase(key);
    stats_->ForgetTarget(key);
  }
  entries_ = std::move(next);  // dropped entries' timers cancel; their callbacks find no id
}

void Discovery::RefreshThunk(void* entry) {
  auto* e = static_cast<Entry*>(entry);
  e->owner->Refresh(e);
}

void Discovery::Refresh(Entry* entry) {
  if (entry->resolving) return;
  entry->resolving = true;
  resolver_->Resolve(entry->target,
                     [this, key = entry->key, id = entry->id](absl::StatusOr<Answer> answer) {
                       OnAnswer(key, id, std::move(answer));
                     });
}

void Discovery::Publish(const Entry& entry) {
  DnsStats::TargetState state;
  auto it = answers_.find(entry.key);
  state.endpoints = it != answers_.end() ? it->second.endpoints.size() : 0;
  state.failing = entry.failures > 0;
  state.last_error = entry.last_error;
  stats_->SetTarget(entry.key, std::move(state));
}

void Discovery::OnAnswer(const std::string& key, uint64_t id, absl::StatusOr<Answer> answer) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second->id != id) return;  // no longer watched
  Entry* entry = it->second.get();
  entry->resolving = false;
  const int64_t now = uring::MonotonicNowNs();
  if (!answer.ok()) {
    ++entry->failures;
    entry->last_error = std::string(answer.status().message());
    stats_->resolutions_failed.fetch_add(1);
    const int64_t retry = RetryDelayNs(entry->failures, bounds_);
    auto in_force = answers_.find(key);
    LOG_WARN(
        "dns: %s: %s; keeping the last answer (%s), retry in %s", key, entry->last_error,
        in_force != answers_.end() ? DescribeEndpoints(in_force->second.endpoints) : "none yet",
        absl::FormatDuration(absl::Nanoseconds(retry)));
    Publish(*entry);
    loop_->timers().Schedule(&entry->timer, now + retry);
    return;
  }
  stats_->resolutions_ok.fetch_add(1);
  if (entry->failures > 0) {
    LOG_INFO("dns: %s resolves again after %d failure(s)", key, entry->failures);
  }
  entry->failures = 0;
  entry->last_error.clear();
  loop_->timers().Schedule(&entry->timer, now + RefreshDelayNs(answer->ttl_s, bounds_));
  auto in_force = answers_.find(key);
  const bool changed =
      in_force == answers_.end() || in_force->second.endpoints != answer->endpoints;
  if (changed) {
    const std::vector<Endpoint> before =
        in_force != answers_.end() ? in_force->second.endpoints : std::vector<Endpoint>{};
    LOG_INFO("dns: %s changed (ttl %ds): %s", key, static_cast<int>(answer->ttl_s),
             DescribeDiff(Diff(before, answer->endpoints)));
  }
  answers_[key] = *std::move(answer);
  Publish(*entry);
  if (changed) {
    stats_->changes.fetch_add(1);
    on_change_(answers_);
  }
}

}  // namespace edge::dns
