#!/usr/bin/env bash
# The main job on the default config: lb4 (conf/edge.toml) in front of two demo origins on
# 127.0.0.1:8001 and :8002. Runs until Ctrl-C (or SIGTERM), then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/l4/lb4 ]] || { meson setup build --buildtype=release >/dev/null; ninja -C build; }

demo=$(mktemp -d /tmp/edge-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$demo"
}
trap cleanup EXIT INT TERM

for port in 8001 8002; do
  mkdir -p "$demo/$port"
  echo "hello from demo origin 127.0.0.1:$port" > "$demo/$port/index.html"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$demo/$port" >/dev/null 2>&1 &
  pids+=($!)
done

build/l4/lb4 -c conf/edge.toml &
pids+=($!)
for _ in $(seq 50); do
  curl -s -o /dev/null http://127.0.0.1:8080/ && break
  sleep 0.1
done
cat <<MSG

  lb4 is running on conf/edge.toml with two demo origins behind it.
  Send traffic to:   http://127.0.0.1:8080/      e.g.  curl http://127.0.0.1:8080/
  Maglev keeps each client address on one origin:  curl --interface 127.0.0.2 http://127.0.0.1:8080/
  Which origin a client lands on:   build/l4/lb4 -c conf/edge.toml --which 127.0.0.2
  Ctrl-C stops it.

MSG
wait "${pids[-1]}"
