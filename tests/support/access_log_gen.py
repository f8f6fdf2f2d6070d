"""Writes synthetic gw7 access log lines (the format of l7/observe/access_log.h) for `gw7 report`
tests and its throughput measurement.

    python3 access_log_gen.py OUT --lines N [--start 2026-12-02T17:00:00Z] [--seconds S] [--seed K]

Deterministic for a seed: consumers alice (most traffic), bob, carol and anonymous requests;
routes products (fast), orders (slow), search; some 4xx/5xx; bob rate-limited now and then.
`expected(...)` returns the counts the generated lines must give, for assertions."""

import argparse
import datetime
import json
import random

CONSUMERS = [("alice", 6), ("bob", 3), ("carol", 1), (None, 2)]
ROUTES = [("products", 6, 2000), ("orders", 3, 40000), ("search", 1, 8000)]


def lines(count, start, seconds, seed=1):
    rng = random.Random(seed)
    cw = [w for _, w in CONSUMERS]
    rw = [w for _, w, _ in ROUTES]
    for i in range(count):
        t = start + datetime.timedelta(microseconds=int(seconds * 1e6 * i / max(count, 1)))
        consumer = rng.choices(CONSUMERS, cw)[0][0]
        route, _, base = rng.choices(ROUTES, rw)[0]
        limited = consumer == "bob" and rng.random() < 0.2
        status = 429 if limited else rng.choices([200, 201, 404, 500], [80, 10, 6, 4])[0]
        rec = {
            "time": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "request_id": "r%d" % i, "trace_id": "%032x" % rng.getrandbits(128),
            "span_id": "%016x" % rng.getrandbits(64), "client": "10.0.%d.%d:%d" % (
                rng.randrange(256), rng.randrange(256), rng.randrange(1024, 65535)),
            "consumer": consumer, "route": route, "upstream": route,
            "upstream_server": "127.0.0.1:9101", "method": "GET", "host": "api.example.com",
            "path": "/v1/%s/%d?api_key=REDACTED" % (route, i), "protocol": "HTTP/1.1",
            "status": status, "bytes_in": 200 + rng.randrange(300),
            "bytes_out": 1000 + rng.randrange(4000),
            "duration_us": int(base * rng.lognormvariate(0, 0.3)),
            "upstream_connect_us": None, "upstream_first_byte_us": base // 2, "filters_us": 30,
            "auth": "ok" if consumer else None, "rate_limit": "limited" if limited else "allowed",
            "cache": None, "retries": 0, "end": "completed", "user_agent": "gen/1.0",
        }
        yield json.dumps(rec, separators=(",", ":"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--lines", type=int, required=True)
    p.add_argument("--start", default="2026-12-02T17:00:00Z")
    p.add_argument("--seconds", type=float, default=3600)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    start = datetime.datetime.strptime(a.start, "%Y-%m-%dT%H:%M:%SZ")
    with open(a.out, "w") as f:
        chunk = []
        for line in lines(a.lines, start, a.seconds, a.seed):
            chunk.append(line)
            if len(chunk) == 10000:
                f.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            f.write("\n".join(chunk) + "\n")


if __name__ == "__main__":
    main()
