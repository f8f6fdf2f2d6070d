#include "l7/upstream/passive_health.h"

namespace edge::l7 {

bool PassiveHealth::Record(bool success, int64_t now_ns) {
  if (success) {
    consecutive_failures_ = 0;
    return false;
  }
  ++consecutive_failures_;
  if (max_failures_ <= 0 || consecutive_failures_ < max_failures_ || ejected(now_ns)) return false;
  ejected_until_ns_ = now_ns + ejection_ns_;
  consecutive_failures_ = 0;  // after the ejection the server gets a fresh count
  ++ejections_;
  return true;
}

}  // namespace edge::l7
