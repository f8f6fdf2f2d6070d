// Fuzz target: lb4's config parser (toml++ underneath, then TableReader and the edge.toml schema)
// and the duration/size parsers. Any input must give a config or an error: no crash, no hang, no
// leak. A parsed config must also keep the promises of l4/config.h, checked here.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/config/units.h"
#include "l4/config.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckInvariants(const edge::l4::Lb4Config& config) {
  Check(!config.listeners.empty());
  for (const auto& listener : config.listeners) {
    Check(!listener.name.empty());
    Check(listener.bind.valid());
    Check(listener.mode != edge::l4::ListenerMode::kTls || !listener.tls.certificates.empty());
    Check(config.FindPool(listener.pool) != nullptr);
    Check(config.FindListener(listener.name) == &listener);  // names are unique
  }
  for (const auto& pool : config.pools) {
    Check(config.FindPool(pool.name) == &pool);
    Check(!pool.backends.empty());
    Check(pool.balancer.table_size >= pool.backends.size());
    for (const auto& backend : pool.backends) {
      Check(backend.address.valid() && backend.address.port() != 0);
      Check(backend.weight >= 1);
    }
    Check(pool.health.timeout <= pool.health.interval);
    Check(!pool.health.path.empty() && pool.health.path[0] == '/');
  }
  Check((config.buffers_per_worker & (config.buffers_per_worker - 1)) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto config = edge::l4::ParseLb4Config(text, "fuzz.toml");
  if (config.ok()) {
    CheckInvariants(*config);
  } else {
    Check(config.status().code() == absl::StatusCode::kInvalidArgument);
    Check(!config.status().message().empty());
  }

  if (size <= 64) {
    // What Parse accepts, the formatter writes back to the same value.
    if (auto duration = edge::config::ParseDuration(text); duration.ok()) {
      auto again = edge::config::ParseDuration(edge::config::DurationToString(*duration));
      Check(again.ok() && *again == *duration);
    }
    if (auto bytes = edge::config::ParseSize(text); bytes.ok()) {
      auto again = edge::config::ParseSize(edge::config::SizeToString(*bytes));
      Check(again.ok() && *again == *bytes);
    }
  }
  return 0;
}
