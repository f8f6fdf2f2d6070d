#!/usr/bin/env bash
# The main job on the default configs: lb4 (conf/edge.toml, :8080) in front of two gw7 instances
# (conf/gateway.toml on 127.0.0.1:8001 and :8002, admin :9911 and :9912), which route to two demo
# origins on 127.0.0.1:9101 and :9102. Runs until Ctrl-C (or SIGTERM), then stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# LB4 / GW7: other binaries than build/'s (the tests run the demo with the build under test).
LB4=${LB4:-build/l4/lb4}
GW7=${GW7:-build/l7/gw7}
[[ -x $LB4 && -x $GW7 ]] || { meson setup build --buildtype=release >/dev/null; ninja -C build; }

demo=$(mktemp -d /tmp/edge-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT INT TERM

for port in 9101 9102; do
  mkdir -p "$demo/$port"
  echo "hello from demo origin 127.0.0.1:$port" > "$demo/$port/index.html"
  echo ok > "$demo/$port/health"  # gw7's health check path for the upstream
  # What the banner's API-key example asks for (route "catalog-item" -> upstream "catalog").
  mkdir -p "$demo/$port/catalog"
  echo "{\"id\": 1, \"name\": \"demo item\", \"origin\": \"127.0.0.1:$port\"}" > "$demo/$port/catalog/1"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$demo/$port" >/dev/null 2>&1 &
  pids+=($!)
done
# The origins first: a gw7 that finds them down would answer the first requests 502.
for port in 9101 9102; do
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.1
  done
done
for i in 1 2; do
  "$GW7" -c conf/gateway.toml --listen "127.0.0.1:800$i" --admin "127.0.0.1:991$i" &
  pids+=($!)
done

"$LB4" -c conf/edge.toml &
pids+=($!)
for _ in $(seq 50); do
  curl -s -o /dev/null http://127.0.0.1:8080/ && break
  sleep 0.1
done
cat <<MSG

  lb4 is running on conf/edge.toml, with two gw7 (conf/gateway.toml) and two demo origins behind it.
  Send traffic to:   http://127.0.0.1:8080/      e.g.  curl http://127.0.0.1:8080/
  Maglev keeps each client address on one gw7:  curl --interface 127.0.0.2 http://127.0.0.1:8080/
  gw7 routes and authenticates:    curl -H 'X-API-Key: demo-partner-key' http://127.0.0.1:8080/catalog/1
  Admin: lb4 http://127.0.0.1:9900/metrics, gw7 http://127.0.0.1:9911/status
  Which gw7 a client lands on:   $LB4 -c conf/edge.toml --which 127.0.0.2
  Ctrl-C stops it (each gw7 drains first: /healthz 503 for drain_delay, 5s).

MSG
wait "${pids[-1]}"
