"""Active upstream health checks: an origin whose /health fails is taken out after `fall` checks
and comes back after `rise`; requests avoid it meanwhile; with every server down gw7 answers 503;
a server that refuses connections is down."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

HEALTH = {"path": "/health", "interval": "100ms", "timeout": "100ms", "rise": 2, "fall": 2}


def server_state(g, address):
    for s in g.status()["upstreams"][0]["servers"]:
        if s["address"] == address:
            return s
    raise KeyError(address)


def test_failing_health_takes_a_server_out_and_back(gw):
    o = gw.origin("a", "b", health=True)
    g = gw.gw7(h.simple_config(o, ["a", "b"], upstream_extra={"health": HEALTH}))
    h.wait_until(lambda: server_state(g, o.address("a"))["checks"]["ok"] >= 1, 5, "first check")
    o.set_health("a", 503)
    h.wait_until(lambda: server_state(g, o.address("a"))["check"] == "down", 5, "a down")
    assert server_state(g, o.address("a"))["last_check"] == "503"
    for _ in range(6):
        assert h.request(g.addr, "GET", "/x").header("x-origin") == "b"
    o.set_health("a", 200)
    h.wait_until(lambda: server_state(g, o.address("a"))["check"] == "up", 5, "a up")
    seen = {h.request(g.addr, "GET", "/x").header("x-origin") for _ in range(4)}
    assert seen == {"a", "b"}
    assert h.metric(g.metrics(), "gw7_errors_total", kind="health_down") == 1


def test_all_servers_down_is_503(gw):
    o = gw.origin("a", health=True)
    o.set_health("a", 500)
    g = gw.gw7(h.simple_config(o, ["a"], upstream_extra={"health": HEALTH}))
    h.wait_until(lambda: server_state(g, o.address("a"))["check"] == "down", 5, "a down")
    r = h.request(g.addr, "GET", "/x")
    assert r.status == 503
    assert r.json()["error"]["message"] == "no upstream server is available"
    assert h.metric(g.metrics(), "gw7_upstream_server_up", upstream="app") == 0


def test_refused_connections_fail_the_check(gw):
    o = gw.origin("a")
    dead = "127.0.0.1:%d" % h.closed_port()
    g = gw.gw7(h.simple_config(o, ["a"], upstream_extra={"health": HEALTH}).replace(
        '"%s"]' % o.address("a"), '"%s", "%s"]' % (o.address("a"), dead)))
    h.wait_until(lambda: server_state(g, dead)["check"] == "down", 5, "dead server down")
    assert "connect" in server_state(g, dead)["last_check"]
    for _ in range(4):
        assert h.request(g.addr, "GET", "/x").status == 200
