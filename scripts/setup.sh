#!/usr/bin/env bash
# Installs everything edge needs to build, test and benchmark on Debian 12, then configures the
# release build in build/ and builds it. It stops, disables or kills nothing. Safe to run again:
# apt is skipped when every package is present.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  g++ meson ninja-build pkg-config
  liburing-dev libssl-dev libabsl-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libre2-dev libhiredis-dev rapidjson-dev   # gw7: regex routes, Redis replies, JSON
  zlib1g-dev libbrotli-dev               # gw7 response compression (gzip, br)
  libpugixml-dev python3-spyne python3-zeep   # gw7 REST to SOAP; a real SOAP service and client in tests
  clang libclang-rt-14-dev               # libFuzzer builds (-Dfuzz=true)
  python3 python3-pytest curl openssl    # integration tests and their peers
  haproxy nginx-light libnginx-mod-stream wrk   # bench/compare
  varnish                                # bench/compare l7-cache-hit (run by the bench only)
  redis-server redis-sentinel            # gw7's global rate limit tests (and its failover)
  libnghttp2-dev nghttp2-client          # gw7 HTTP/2; h2load and nghttp as test peers
  nghttp2-server python3-grpcio          # h2c and gRPC upstreams in test_gw7_grpc.py
  libc-ares-dev dnsmasq                  # DNS discovery and its test server
  chromium chromium-driver python3-selenium   # the dashboard's browser test
  systemd                                # systemd-analyze verify for conf/systemd units
  ccache                                 # rebuilds of clones and worktrees reuse objects
  bird2 iproute2                         # ECMP/BGP tests: lb4s announce the VIP (own bird processes)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Nothing else: Debian may start its own haproxy, nginx and redis services on install, and a user's
# services are theirs. The tests and benchmarks start their own peers on free ports.

if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build
