#include "l4/balancer/client_hash.h"

#include <cstring>
#include <string_view>

#include "common/hash/hash.h"

namespace edge::l4 {
namespace {

// Changing it moves every client: every lb4 of a tier must use the same value.
constexpr uint64_t kClientSeed = 0x6c62342d636c6e74ULL;  // "lb4-clnt"

constexpr unsigned char kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

uint64_t HashClient(const net::SocketAddress& client, HashKey key) {
  std::string_view ip = client.IpBytes();
  if (ip.size() == 16 && std::memcmp(ip.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0) {
    ip.remove_prefix(sizeof(kV4MappedPrefix));
  }
  unsigned char buf[16 + 2];
  std::memcpy(buf, ip.data(), ip.size());
  size_t size = ip.size();
  if (key == HashKey::kSourceIpPort) {
    const uint16_t port = client.port();
    buf[size++] = static_cast<unsigned char>(port >> 8);
    buf[size++] = static_cast<unsigned char>(port & 0xff);
  }
  return hash::Hash64(buf, size, kClientSeed);
}

}  // namespace edge::l4
