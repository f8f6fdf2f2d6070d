#include "l4/protection/source_guard.h"

#include "absl/time/time.h"

namespace edge::l4 {

std::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kDeny:
      return "deny";
    case Refusal::kNotAllowed:
      return "not_allowed";
    case Refusal::kPerSourceLimit:
      return "per_source_limit";
    case Refusal::kPerSourceRate:
      return "per_source_rate";
  }
  return "unknown";
}

SourceGuard::SourceGuard(const ListenerConfig& config)
    : allow_(config.allow),
      deny_(config.deny),
      per_source_(config.has_per_source_limits()),
      table_size_(config.source_table_size) {
  const SourceRateConfig& rate = config.new_connections_per_source;
  limits_ = SourceTableLimits::Rate(config.max_connections_per_source, rate.rate,
                                    absl::ToInt64Nanoseconds(rate.per), rate.burst);
}

std::optional<Refusal> SourceGuard::CheckAccess(const net::SocketAddress& client) const {
  if (net::AnyContains(deny_, client)) return Refusal::kDeny;
  if (allow_.empty() || net::AnyContains(allow_, client)) return std::nullopt;
  return Refusal::kNotAllowed;
}

SourceGuard::Result SourceGuard::Screen(const net::SocketAddress& client, SourceTable* table,
                                        int64_t now_ns) const {
  Result result;
  result.refusal = CheckAccess(client);
  if (result.refusal.has_value() || !per_source_ || table == nullptr) return result;
  const SourceTable::Admission admission = table->Admit(SourceKeyOf(client), limits_, now_ns);
  result.verdict = admission.verdict;
  result.slot = admission.slot;
  if (admission.verdict == SourceTable::Verdict::kOverLimit) {
    result.refusal = Refusal::kPerSourceLimit;
  } else if (admission.verdict == SourceTable::Verdict::kOverRate) {
    result.refusal = Refusal::kPerSourceRate;
  }
  return result;
}

}  // namespace edge::l4
