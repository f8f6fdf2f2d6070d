#include "common/dns/dns_config.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "common/config/table_reader.h"

namespace edge::dns {

namespace {
constexpr size_t kMaxResolvers = 16;
}

void ReadDnsConfig(const toml::table& table, config::ConfigErrors& errors, DnsConfig* config) {
  config::TableReader r(table, errors, "dns",
                        {"resolvers", "refresh_min", "refresh_max", "timeout", "attempts"});
  if (const toml::array* resolvers = r.ReadArray("resolvers")) {
    if (resolvers->size() > kMaxResolvers) {
      r.Error("resolvers",
              absl::StrFormat("at most %d resolvers, got %d", kMaxResolvers, resolvers->size()));
    }
    for (size_t i = 0; i < resolvers->size() && i < kMaxResolvers; ++i) {
      const toml::node& node = *resolvers->get(i);
      const std::string key = absl::StrFormat("resolvers[%d]", i);
      const auto* text = node.as_string();
      if (text == nullptr) {
        r.errors().Add(
            node, r.context(), key,
            absl::StrFormat("expected an address string such as \"127.0.0.1:53\", got %s",
                            config::TypeName(node)));
        continue;
      }
      // "10.0.0.2" means port 53; "10.0.0.2:5353" and "[::1]:53" name the port.
      absl::StatusOr<net::SocketAddress> address = net::SocketAddress::ParseIp(text->get(), 53);
      if (!address.ok()) address = net::SocketAddress::Parse(text->get());
      if (!address.ok() || address->port() == 0) {
        r.errors().Add(
            node, r.context(), key,
            absl::StrFormat("expected \"ip\" or \"ip:port\" of a DNS server (port 1..65535), "
                            "got \"%s\"",
                            text->get()));
        continue;
      }
      if (std::find(config->resolvers.begin(), config->resolvers.end(), *address) !=
          config->resolvers.end()) {
        r.errors().Add(node, r.context(), key,
                       absl::StrFormat("duplicate resolver %s", address->ToString()));
        continue;
      }
      config->resolvers.push_back(*address);
    }
  }
  r.ReadDuration("refresh_min", &config->refresh.min, absl::Milliseconds(100), absl::Hours(24));
  r.ReadDuration("refresh_max", &config->refresh.max, absl::Milliseconds(100), absl::Hours(24));
  if (config->refresh.min > config->refresh.max) {
    r.Error(r.Has("refresh_max") ? "refresh_max" : "refresh_min",
            absl::StrFormat("refresh_min (%s) must not exceed refresh_max (%s)",
                            absl::FormatDuration(config->refresh.min),
                            absl::FormatDuration(config->refresh.max)));
  }
  r.ReadDuration("timeout", &config->timeout, absl::Milliseconds(10), absl::Minutes(1));
  r.ReadInt("attempts", &config->attempts, 1, 10);
}

}  // namespace edge::dns
