"""gw7 proxying HTTP/1.1 to real origins: keep-alive on both sides, pipelining answered in order,
chunked bodies both ways, 100-continue, HTTP/1.0 clients, HEAD/204/304, close-delimited
responses, and balancing across origins."""

import collections
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def test_keep_alive_reuses_upstream_connections(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    for i in range(20):
        c.send(h.request_bytes("GET", "/k%d" % i))
        r = c.read_response()
        assert r.status == 200 and r.json()["target"] == "/k%d" % i
        assert not r.closed
    c.close()
    # One client connection, sequential requests: one upstream connection carried them all.
    o.wait_requests(20)
    assert len(o.events("open")) == 1
    st = g.status()
    assert st["upstreams"][0]["servers"][0]["idle_connections"] == 1


def test_pipelined_requests_are_answered_in_order(gw):
    o = gw.origin("a", "b")
    g = gw.gw7(h.simple_config(o, ["a", "b"]))
    c = h.Client(g.addr)
    batch = b""
    for i in range(30):
        if i % 3 == 1:
            batch += h.request_bytes("POST", "/p%d?delay=0.01" % i, body=b"x" * i)
        elif i % 3 == 2:
            batch += h.request_bytes("GET", "/nowhere" if i % 2 else "/p%d" % i, host="x")
        else:
            batch += h.request_bytes("GET", "/p%d" % i)
    c.send(batch)
    for i in range(30):
        r = c.read_response()
        assert r.status == 200
        assert r.json()["target"].startswith("/p%d" % i) or r.json()["target"] == "/nowhere"
        if i % 3 == 1:
            assert r.json()["body_len"] == i
    c.close()


def test_chunked_both_ways(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    body = b"".join(os.urandom(n) for n in (1, 100, 70000, 5))
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in (body[:1], body[1:101],
                                                                   body[101:70101], body[70101:]))
    c.send(h.request_bytes("POST", "/up?chunked=1", [("Transfer-Encoding", "chunked")]) +
           chunks + b"0\r\nX-Trailer: t\r\n\r\n")
    r = c.read_response()
    assert r.status == 200
    assert r.header("transfer-encoding") == "chunked"
    j = r.json()
    assert j["body_len"] == len(body)
    assert j["body_sha256"] == hashlib.sha256(body).hexdigest()
    ev = o.wait_requests(1)[-1]
    assert ev["framing"] == "chunked"
    assert "ext=1" not in ev["head"]
    # A large chunked response to a 1.1 client stays chunked, byte-identical.
    c.send(h.request_bytes("GET", "/down?size=300000&chunked=1"))
    r = c.read_response()
    assert r.header("transfer-encoding") == "chunked"
    assert hashlib.sha256(r.body).hexdigest() == h.pattern_sha256(300000)
    c.close()


def test_expect_100_continue(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(b"PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    c.sock.settimeout(5)
    head = b""
    while b"\r\n\r\n" not in head:
        head += c.sock.recv(1)
    assert head.startswith(b"HTTP/1.1 100 Continue")
    c.send(b"hello")
    r = c.read_response()
    assert r.status == 200 and r.json()["body_len"] == 5
    ev = o.wait_requests(1)[-1]
    assert all(k.lower() != "expect" for k, _ in ev["headers"])
    # An origin's own 100 Continue is not passed on a second time.
    c.send(h.request_bytes("POST", "/e2?continue=1", body=b"abc"))
    r = c.read_response()
    assert r.status == 200 and r.interim == []
    c.close()


def test_http10_clients(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    # Plain 1.0: answered, then closed.
    c = h.Client(g.addr)
    c.send(b"GET /old HTTP/1.0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200 and r.json()["target"] == "/old"
    assert c.closed_soon()
    c.close()
    got = {k.lower(): v for k, v in o.wait_requests(1)[-1]["headers"]}
    assert got["host"] == o.address("a")  # a Host is always sent upstream
    # 1.0 with keep-alive: kept.
    c = h.Client(g.addr)
    for _ in range(2):
        c.send(b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.header("connection").lower() == "keep-alive"
    # A chunked origin response reaches a 1.0 client close-delimited.
    c.send(b"GET /ch?chunked=1&size=1000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    r = c.read_response()
    assert r.header("transfer-encoding") is None
    assert r.body == b"".join(h.pattern_chunks(1000))
    c.close()


def test_head_204_304_and_close_delimited(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(h.request_bytes("HEAD", "/h?size=1234"))
    r = c.read_response("HEAD")
    assert r.status == 200 and r.header("content-length") == "1234" and r.body == b""
    for status in (204, 304):
        c.send(h.request_bytes("GET", "/s?status=%d" % status))
        r = c.read_response()
        assert r.status == status and r.body == b""
    # A close-delimited origin body becomes chunked for a 1.1 client, which stays connected.
    c.send(h.request_bytes("GET", "/uc?until_close=1&size=50000"))
    r = c.read_response()
    assert r.header("transfer-encoding") == "chunked"
    assert r.body == b"".join(h.pattern_chunks(50000))
    c.send(h.request_bytes("GET", "/after"))
    assert c.read_response().status == 200
    c.close()


def test_round_robin_spreads_evenly(gw):
    o = gw.origin("a", "b", "c")
    g = gw.gw7(h.simple_config(o, ["a", "b", "c"]))
    counts = collections.Counter()
    c = h.Client(g.addr)
    for _ in range(30):
        c.send(h.request_bytes("GET", "/rr"))
        counts[c.read_response().header("x-origin")] += 1
    assert counts == {"a": 10, "b": 10, "c": 10}


def test_maglev_by_header_is_sticky(gw):
    o = gw.origin("a", "b", "c")
    g = gw.gw7(h.simple_config(o, ["a", "b", "c"], balance="maglev",
                               upstream_extra={"hash_on": "header:X-User"}))
    seen = {}
    users = ["user%d" % i for i in range(30)]
    for _ in range(2):
        for u in users:
            r = h.request(g.addr, "GET", "/m", [("X-User", u)])
            seen.setdefault(u, set()).add(r.header("x-origin"))
    assert all(len(s) == 1 for s in seen.values())
    assert len(set().union(*seen.values())) >= 2


def test_p2c_ewma_prefers_the_fast_server(gw):
    o = gw.origin("fast", "slow", delays={"slow": 0.05})
    g = gw.gw7(h.simple_config(o, ["fast", "slow"], balance="p2c_ewma"))
    counts = collections.Counter()
    c = h.Client(g.addr)
    for _ in range(60):
        c.send(h.request_bytes("GET", "/p"))
        counts[c.read_response().header("x-origin")] += 1
    c.close()
    # Both get tried; the moving average then sends nearly everything to the fast one.
    assert counts["fast"] >= 48, counts


def test_least_request_avoids_the_busy_server(gw):
    o = gw.origin("a", "b")
    g = gw.gw7(h.simple_config(o, ["a", "b"], balance="least_request"))
    # Hold one request open on one server; new requests go to the other.
    hold = h.Client(g.addr)
    hold.send(h.request_bytes("GET", "/hold?delay=1.5"))
    h.wait_until(lambda: len(o.requests()) >= 1, 5, "the held request")
    busy = o.requests()[0]["name"]
    other = "b" if busy == "a" else "a"
    for _ in range(5):
        r = h.request(g.addr, "GET", "/quick")
        assert r.header("x-origin") == other
    assert hold.read_response().status == 200
    hold.close()


def test_idle_keep_alive_connection_closes_after_idle_timeout(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], limits={"idle_timeout": "1s"}))
    c = h.Client(g.addr)
    for i in range(3):  # 0.6s apart: each request restarts the idle timer
        if i:
            time.sleep(0.6)
        c.send(h.request_bytes("GET", "/i%d" % i))
        assert not c.read_response().closed
    start = time.monotonic()
    assert c.closed_soon(5)
    assert time.monotonic() - start >= 0.8  # 1s after the last response, not at once
    c.close()
