#pragma once
// Which backends a Pick may return: healthy, not drained by runtime control and not yet tried by
// this connection. Shared by the balancers so that they all read the flags the same way (relaxed:
// health and drains are advisory, a pick that races with a change is as good as one just before
// it).

#include <cstddef>
#include <memory>
#include <vector>

#include "l4/balancer/backend.h"

namespace edge::l4 {

using BackendList = std::vector<std::shared_ptr<Backend>>;

// `tried` is empty or has one flag per backend; a shorter one is read as false past its end.
inline bool IsEligible(const BackendList& backends, const std::vector<bool>& tried, size_t i) {
  return backends[i]->healthy.load(std::memory_order_relaxed) &&
         !backends[i]->admin_drained.load(std::memory_order_relaxed) &&
         !(i < tried.size() && tried[i]);
}

inline bool AnyEligible(const BackendList& backends, const std::vector<bool>& tried) {
  for (size_t i = 0; i < backends.size(); ++i) {
    if (IsEligible(backends, tried, i)) return true;
  }
  return false;
}

}  // namespace edge::l4
