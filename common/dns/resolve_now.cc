#include "common/dns/resolve_now.h"

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
  std::map<std::string, absl::Status> failures;
  size_t outstanding = 0;
  for (const DnsTarget& target : targets) {
    const std::string key = target.ToString();
    if (answers.contains(key) || failures.contains(key)) continue;
    failures.emplace(key, absl::OkStatus());  // marks it requested
    ++outstanding;
    (*resolver)->Resolve(target, [&, key](absl::StatusOr<Answer> answer) {
      if (answer.ok()) {
        failures.erase(key);
        answers.emplace(key, *std::move(answer));
      } else {
        failures[key] = answer.status();
      }
      if (--outstanding == 0) (*loop)->Stop();
    });
  }
  if (outstanding > 0) {
    absl::Status run = (*loop)->Run();
    if (!run.ok()) return run;
  }
  (*resolver)->LoopStopped();
  resolver->reset();
  for (const DnsTarget& target : targets) {
    auto it = failures.find(target.ToString());
    if (it != failures.end() && !it->second.ok()) return it->second;
  }
  return answers;
}

}  // namespace edge::dns
