"""Upstream health (common/health, as lb4's): an origin whose /health fails is taken out after
`fall` checks and comes back after `rise`; requests avoid it meanwhile; with every server down and
panic_threshold = 0 gw7 answers 503; a server that refuses connections is down. A gw7 started
before its servers keeps most of them (max_ejection_percent, a short first ejection) and serves
as soon as they are up. Below panic_threshold healthy servers, every server gets requests again
(Envoy's panic), said once per transition in the log and in /metrics."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import pytest  # noqa: E402

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
    g = gw.gw7(h.simple_config(o, ["a"], upstream_extra={"health": HEALTH, "panic_threshold": 0}))
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


def test_redirect_passes_and_expect_status_narrows_it(gw):
    """One pass rule with lb4 (HAProxy's: 2xx and 3xx); expect_status = "2xx" refuses a 302."""
    o = gw.origin("a", "b", health=True)
    o.set_health("a", 302)
    o.set_health("b", 302)
    strict = dict(HEALTH, expect_status="2xx")
    g = gw.gw7(h.render_config(upstreams=[
        {"name": "app", "servers": [o.address("a")], "health": HEALTH},
        {"name": "strict", "servers": [o.address("b")], "health": strict, "panic_threshold": 0},
    ], routes=[{"name": "all", "path_prefix": "/", "upstream": "app"}]))
    h.wait_until(lambda: g.status()["upstreams"][1]["servers"][0]["check"] == "down", 5,
                 "b down under expect_status 2xx")
    # a's checks run on their own schedule: wait for a second one rather than assume it came.
    h.wait_until(lambda: g.status()["upstreams"][0]["servers"][0]["checks"]["ok"] >= 2, 5,
                 "two checks of a")
    a = g.status()["upstreams"][0]["servers"][0]
    assert a["check"] == "up" and a["checks"]["ok"] >= 2 and a["checks"]["fail"] == 0, a
    assert g.status()["upstreams"][1]["servers"][0]["last_check"] == "302"


def _hammer(addr, until, results):
    """GETs in a loop until `until` (monotonic), each on a new connection; appends the statuses
    (None when gw7 did not answer)."""
    while time.monotonic() < until:
        try:
            results.append(h.request(addr, "GET", "/x", timeout=5).status)
        except OSError:
            results.append(None)
        time.sleep(0.02)


@pytest.mark.parametrize("panic_threshold", [None, 0])
def test_gw7_started_before_its_servers_serves_two_seconds_after_they_are_up(gw, panic_threshold):
    """Issue 17's report: gw7 started while its three servers were still starting ejected all
    three (for 30 s) and answered 0 of 20 requests two seconds after they were up. Default passive
    settings, traffic from the start, origins up 1 s after gw7: at most max_ejection_percent (50%:
    one of three) is ejected, so 20 requests 2 s later all succeed, with or without panic."""
    ports = {n: h.closed_port() for n in ("a", "b", "c")}
    servers = ["127.0.0.1:%d" % ports[n] for n in ("a", "b", "c")]
    upstream = {"name": "app", "servers": servers}
    if panic_threshold is not None:
        upstream["panic_threshold"] = panic_threshold
    g = gw.gw7(h.render_config(upstreams=[upstream],
                               routes=[{"name": "all", "path_prefix": "/", "upstream": "app"}]))
    started = time.monotonic()
    early = []
    t = threading.Thread(target=_hammer, args=(g.addr, started + 1.0, early))
    t.start()
    t.join()
    # The cold start happened: every early request failed and passive health ejected a server.
    assert early and all(s in (502, 503) for s in early), early
    assert h.metric(g.metrics(), "gw7_errors_total", kind="ejection") >= 1
    ejected = [s for s in g.status()["upstreams"][0]["servers"] if s["ejected"]]
    assert len(ejected) == 1, g.status()
    assert "max_ejection_percent 50% allows 1 of 3 servers ejected at once" in g.stderr()

    o = gw.origin("a", "b", "c", ports=ports)  # returns once all three listen
    time.sleep(2.0)
    statuses = [h.request(g.addr, "GET", "/x").status for _ in range(20)]
    assert statuses == [200] * 20, statuses
    seen = {r["name"] for r in o.requests()}
    assert len(seen) >= 2, seen


def test_panic_sends_to_unhealthy_servers_and_says_so_once_per_transition(gw):
    """Both servers down by their checks: 0 of 2 healthy is below panic_threshold 50%, so both get
    requests (which succeed: only /health fails), gw7_upstream_panic is 1 and the attempts are
    counted; one server back up (1 of 2, not below 50%) ends the panic: requests go to it alone."""
    o = gw.origin("a", "b", health=True)
    g = gw.gw7(h.simple_config(o, ["a", "b"], upstream_extra={"health": HEALTH}))
    h.wait_until(lambda: server_state(g, o.address("a"))["checks"]["ok"] >= 1, 5, "first check")
    for _ in range(4):
        assert h.request(g.addr, "GET", "/x").status == 200
    m = g.metrics()
    assert h.metric(m, "gw7_upstream_panic", upstream="app") == 0
    assert h.metric(m, "gw7_upstream_panic_requests_total", upstream="app") == 0

    o.set_health("a", 503)
    o.set_health("b", 503)
    h.wait_until(lambda: all(s["check"] == "down" for s in g.status()["upstreams"][0]["servers"]),
                 5, "both down")
    seen = set()
    for _ in range(6):
        r = h.request(g.addr, "GET", "/x")
        assert r.status == 200, r
        seen.add(r.header("x-origin"))
    assert seen == {"a", "b"}
    m = g.metrics()
    assert h.metric(m, "gw7_upstream_panic", upstream="app") == 1
    assert h.metric(m, "gw7_upstream_panic_requests_total", upstream="app") == 6
    assert h.metric(m, "gw7_upstream_server_up", upstream="app") == 0  # still unhealthy
    assert g.status()["upstreams"][0]["panic"] is True

    o.set_health("a", 200)
    h.wait_until(lambda: server_state(g, o.address("a"))["check"] == "up", 5, "a up")
    for _ in range(4):
        assert h.request(g.addr, "GET", "/x").header("x-origin") == "a"
    m = g.metrics()
    assert h.metric(m, "gw7_upstream_panic", upstream="app") == 0
    assert h.metric(m, "gw7_upstream_panic_requests_total", upstream="app") == 6  # a counter
    assert g.status()["upstreams"][0]["panic"] is False
    log = g.stderr()
    assert log.count("below panic_threshold 50%: panic, every server gets requests") == 1, log
    assert log.count('upstream "app": 1 of 2 servers healthy: panic over') == 1, log
