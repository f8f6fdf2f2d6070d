#pragma once
// HashClient: the hash Maglev looks up for a client. Public so that tools (the lb4 CLI, tests) can
// predict where a client lands: MaglevTable::Lookup(HashClient(client, key)).

#include <cstdint>

#include "common/net/address.h"
#include "l4/balancer/balancer.h"

namespace edge::l4 {

// Deterministic (hash::Hash64) hash of the client's IP bytes, plus its port in network order for
// HashKey::kSourceIpPort. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, from a dual-stack listener)
// hashes as the IPv4 address, so a client lands on the same backend whichever listener it reached.
// An invalid address hashes as empty bytes.
uint64_t HashClient(const net::SocketAddress& client, HashKey key);

}  // namespace edge::l4
