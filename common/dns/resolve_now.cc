#include "common/dns/resolve_now.h"

#include <algorithm>
#include <map>

#include "common/dns/resolver.h"
#include "common/uring/event_loop.h"

namespace edge::dns {

absl::StatusOr<AnswerMap> ResolveNow(const std::vector<DnsTarget>& targets,
                                     const DnsConfig& config) {
  AnswerMap answers;
  if (targets.empty()) return answers;
  uring::RingOptions ring_options;
  ring_options.sq_entries = 64;
  ring_options.cq_entries = 256;
  auto loop = uring::EventLoop::Create(ring_options);
  if (!loop.ok()) return loop.status();
  auto resolver = Resolver::Create(loop->get(), config);
  if (!resolver.ok()) return resolver.status();
  // Every distinct target counted before the first query: an answer may come synchronously
  // (/etc/hosts), and the loop must stop only after the last one.
  std::vector<DnsTarget> distinct;
  for (const DnsTarget& target : targets) {
    if (std::find(distinct.begin(), distinct.end(), target) == distinct.end()) {
      distinct.push_back(target);
    }
  }
  std::map<std::string, absl::Status> failures;
  size_t outstanding = distinct.size();
  for (const DnsTarget& target : distinct) {
    const std::string key = target.ToString();
    (*resolver)->Resolve(target, [&, key](absl::StatusOr<Answer> answer) {
      if (answer.ok()) {
        answers.emplace(key, *std::move(answer));
      } else {
        failures[key] = answer.status();
      }
      if (--outstanding == 0) (*loop)->Stop();
    });
  }
  absl::Status run = outstanding > 0 ? (*loop)->Run() : absl::OkStatus();
  (*resolver)->LoopStopped();
  resolver->reset();
  if (!run.ok()) return run;
  for (const DnsTarget& target : distinct) {
    auto it = failures.find(target.ToString());
    if (it != failures.end()) return it->second;
  }
  return answers;
}

}  // namespace edge::dns
