"""gw7's memory per idle keep-alive client connection: 5,000 clients each send one request, read
the answer and stay open; gw7's RSS growth divided by 5,000 is the figure (printed, and put in
README.md). The bound is generous: it catches a regression that makes idle connections hold
their buffers, not noise."""

import os
import resource
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

CLIENTS = 5000
# Per idle connection, all of gw7's own memory (object, buffers, allocator overhead); the kernel's
# socket memory is not in the RSS.
BOUND_KIB_PER_CONNECTION = 10


@pytest.mark.skipif(h.SANITIZED, reason="ASan's allocator changes every figure")
def test_rss_per_idle_keepalive_connection(gw):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = CLIENTS + 500
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], limits={"idle_timeout": "600s"}))
    # Warm up: the first requests allocate what every later one reuses (upstream connection,
    # route and filter state, allocator arenas).
    for _ in range(20):
        assert h.request(g.addr, "GET", "/warm").status == 200
    time.sleep(0.2)
    before = g.rss_kib()
    clients = []
    try:
        for i in range(CLIENTS):
            c = h.Client(g.addr, timeout=10)
            c.send(h.request_bytes("GET", "/c%d" % i))
            r = c.read_response()
            assert r.status == 200 and not r.closed, r
            clients.append(c)
        assert h.metric(g.metrics(), "gw7_connections_active") == CLIENTS
        time.sleep(0.2)
        after = g.rss_kib()
        per = (after - before) / CLIENTS
        sys.stderr.write("gw7 RSS: %d KiB before, %d KiB with %d idle keep-alive connections: "
                         "%.2f KiB per connection\n" % (before, after, CLIENTS, per))
        print("RSS_PER_IDLE_CONNECTION_KIB %.2f" % per)
        assert per < BOUND_KIB_PER_CONNECTION, per
    finally:
        for c in clients:
            c.close()
