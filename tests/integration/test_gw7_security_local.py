"""The local rate-limit store (store = "local") under 100,000 distinct keys: the limit of a hot
key still holds while the others churn through, the number of keys stays at max_keys (least
recently used evicted, counted in /metrics) and the process's memory stops growing.

The route's only server refuses connections and is ejected after the first failure (allowed by
max_ejection_percent = 100, with panic_threshold = 0 so that nothing is sent to it anyway), so
every request the limiter lets through is answered 503 by gw7 itself at once: the test measures
the limiter, not an origin."""

import os
import re
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

MAX_KEYS = 50000
STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


def blast(addr, keys, hot_every, counts, lock):
    """Pipelines one GET per key on one keep-alive connection, every `hot_every`-th request the
    hot key's, and tallies the responses straight from the bytes (parsing 100,000 responses one
    by one in Python would take longer than gw7 does to answer them)."""
    requests, hot = [], 0
    for i, key in enumerate(keys):
        if i % hot_every == 0:
            hot += 1
            requests.append(b"GET /k HTTP/1.1\r\nHost: t\r\nX-Key: hot\r\n\r\n")
        requests.append(b"GET /k HTTP/1.1\r\nHost: t\r\nX-Key: %s\r\n\r\n" % key)
    c = h.Client(addr, timeout=60)
    sender = threading.Thread(target=c.send, args=(b"".join(requests),))
    sender.start()
    chunks, seen, tail = [], 0, b""
    while seen < len(requests):
        data = c.sock.recv(1 << 20)
        assert data, "gw7 closed the connection after %d of %d responses" % (seen, len(requests))
        chunks.append(data)
        window = tail + data
        seen += window.count(b"HTTP/1.1 ") - tail.count(b"HTTP/1.1 ")
        tail = window[-8:]
    sender.join()
    c.close()
    text = b"".join(chunks)
    tally = {"requests": len(requests), "hot": hot,
             "limit_headers": text.count(b"\r\nRateLimit-Limit: 2\r\n")}
    for status in STATUS.findall(text):
        tally[int(status)] = tally.get(int(status), 0) + 1
    with lock:
        for k, v in tally.items():
            counts[k] = counts.get(k, 0) + v


def run_round(g, prefix, total, connections=4):
    counts, lock = {}, threading.Lock()
    per = total // connections
    threads = [threading.Thread(target=blast, args=(
        g.addr, [b"%s-%d-%d" % (prefix, c, i) for i in range(per)], 1000, counts, lock))
        for c in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return counts


def test_local_store_holds_limit_and_memory_bound_under_100k_keys(gw):
    extra = ('\n[[rate_limit]]\nname = "per-key"\nkey = "header:X-Key"\nlimit = 2\nper = "1h"\n'
             'store = "local"\nmax_keys = %d\n' % MAX_KEYS)
    cfg = h.render_config(
        upstreams=[{"name": "down", "servers": ["127.0.0.1:%d" % h.closed_port()], "retries": 0,
                    "passive_failures": 1, "ejection_time": "1h", "max_ejection_percent": 100,
                    "panic_threshold": 0}],
        routes=[{"name": "keys", "path_prefix": "/", "upstream": "down",
                 "rate_limit": "per-key"}],
        extra=extra)
    g = gw.gw7(cfg)
    r = h.request(g.addr, "GET", "/k", [("X-Key", "warmup")])  # ejects the server
    assert r.status in (502, 503), r
    rss_before = g.rss_kib()

    counts = run_round(g, b"a", 100000)
    assert counts["requests"] == 100000 + counts["hot"]
    # Every response carries the limit, gw7's own 503s too.
    assert counts["limit_headers"] == counts["requests"], counts
    # Every cold key is new, so allowed (then answered 503 for the ejected upstream); the hot key
    # came back every 1,000 requests, was never the least recently used, and its 2 per hour held.
    assert counts.get(503) == 100000 + 2, counts
    assert counts.get(429) == counts["hot"] - 2, counts

    m = g.metrics()
    keys = h.metric(m, "gw7_rate_limit_local_keys", policy="per-key")
    assert keys == MAX_KEYS, keys
    evictions = h.metric(m, "gw7_rate_limit_local_evictions_total", policy="per-key")
    assert evictions >= 100000 + 1 - MAX_KEYS, evictions
    assert h.metric(m, "gw7_rate_limit_requests_total", policy="per-key", outcome="limited") == \
        counts[429]
    if h.SANITIZED:
        return  # ASan's allocator makes RSS meaningless; the key count above is the bound
    rss_full = g.rss_kib()
    # 50,000 keys at well under 200 bytes each: the store fits in a few MiB.
    assert rss_full - rss_before < 32 * 1024, (rss_before, rss_full)
    # Another 100,000 new keys replace the old ones: the store is full, so memory stays flat.
    counts = run_round(g, b"b", 100000)
    assert counts.get(429) == counts["hot"], counts  # the hot key's hour is not over
    rss_after = g.rss_kib()
    assert rss_after - rss_full < 4 * 1024, (rss_full, rss_after)
    assert h.metric(g.metrics(), "gw7_rate_limit_local_keys", policy="per-key") == MAX_KEYS
