#include "l7/server/request_id.h"

#include <sys/random.h>

#include <chrono>

#include "absl/strings/str_format.h"

namespace edge::l7 {

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

RequestIdGenerator::RequestIdGenerator() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
    // No entropy source: the clock still makes two processes' prefixes differ in practice.
    seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  prefix_ = seed;
}

std::string RequestIdGenerator::Next() {
  return absl::StrFormat("%016x%016x", prefix_, ++counter_);
}

}  // namespace edge::l7
