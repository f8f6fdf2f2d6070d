"""gw7's runtime control on the admin port (POST /upstreams/{upstream}/{server}/drain|enable|
weight): a drained server gets no new requests while the request in flight on it finishes, enable
brings traffic back, a weight changes the spread; GET is 405, unknown names 404, bad weights 400;
with admin_token_file a missing token is 401 and a wrong one 403; /status and /metrics show the
state; a reload keeps it unless the config changed that server; a bad token file is a config
error."""

import collections
import os
import re
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

TOKEN = "gw7-control-token-0123456789abcdef"


def token_file(gw, token=TOKEN, mode=0o600, name="admin.token"):
    path = os.path.join(gw.dir, name)
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, mode)
    return path


def config(o, names=("a", "b", "c"), weights=None, gw7=None, balance="round_robin"):
    servers = [{"address": o.address(n), "weight": (weights or {}).get(n, 1)} for n in names]
    return h.render_config(gw7=gw7, upstreams=[{"name": "app", "balance": balance,
                                                "servers": servers}],
                           routes=[{"name": "all", "path_prefix": "/", "upstream": "app"}])


def post(g, path, token=None, method="POST"):
    headers = [("Authorization", "Bearer " + token)] if token else []
    return h.request(g.admin, method, path, headers=headers)


def control(g, o, name, action, token=None, expect=200):
    r = post(g, "/upstreams/app/%s/%s" % (o.address(name), action), token)
    assert r.status == expect, r
    return r.json() if r.status == 200 else r


def origins_of(g, n):
    return collections.Counter(h.request(g.addr, "GET", "/x").header("x-origin")
                               for _ in range(n))


def server_state(g, o, name):
    for s in g.status()["upstreams"][0]["servers"]:
        if s["address"] == o.address(name):
            return s
    raise KeyError(name)


def logged(g, text):
    """Waits for a log line containing `text` (stderr is read by a thread of its own)."""
    g.err.wait_for(re.escape(text), 5)


def sighup(g):
    before = g.stderr().count("reload ok"), g.stderr().count("reload failed")
    g.signal(signal.SIGHUP)
    h.wait_until(lambda: (g.stderr().count("reload ok"),
                          g.stderr().count("reload failed")) != before, 10, "the reload")
    return "ok" if g.stderr().count("reload ok") > before[0] else "failed"


def test_drain_lets_the_request_in_flight_finish_and_enable_brings_traffic_back(gw):
    o = gw.origin("a", "b", "c")
    g = gw.gw7(config(o))
    # A slow request on a keep-alive client connection; the origin reports it before answering.
    client = h.Client(g.addr)
    client.send(h.request_bytes("GET", "/slow?delay=1.5"))
    victim = o.wait_requests(1, target="/slow?delay=1.5")[0]["name"]
    # Steady load from other clients across the change.
    failures, seen = [], collections.Counter()
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                r = h.request(g.addr, "GET", "/load")
                if r.status != 200:
                    failures.append(r)
                seen[r.header("x-origin")] += 1
            except (OSError, AssertionError) as e:
                failures.append(e)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    try:
        h.wait_until(lambda: sum(seen.values()) >= 20, 10, "load before the drain")
        answer = control(g, o, victim, "drain")
        # The slow request, and maybe one of the load's.
        assert answer["admin_state"] == "drain" and answer["active"] >= 1, answer
        logged(g, "set upstream \"app\" server %s drain: state ready -> drain" %
               o.address(victim))
        # The request in flight on the drained server completes, and the client connection it
        # came on serves the next request (from another server).
        r = client.read_response()
        assert (r.status, r.header("x-origin")) == (200, victim), r
        client.send(h.request_bytes("GET", "/next"))
        r = client.read_response()
        assert r.status == 200 and r.header("x-origin") != victim, r
        base = seen[victim]
        total = sum(seen.values())
        h.wait_until(lambda: sum(seen.values()) >= total + 40, 10, "load during the drain")
        assert seen[victim] == base, "the drained server got new requests"
        control(g, o, victim, "enable")
        h.wait_until(lambda: seen[victim] >= base + 5, 10, "traffic back on the enabled server")
    finally:
        stop.set()
        t.join(10)
        client.close()
    assert failures == [], failures[:5]


def test_weight_changes_the_spread_and_status_and_metrics_show_it(gw):
    o = gw.origin("a", "b", "c")
    g = gw.gw7(config(o))
    assert origins_of(g, 30) == {"a": 10, "b": 10, "c": 10}
    answer = control(g, o, "a", "weight?value=3")
    assert (answer["weight"], answer["config_weight"], answer["admin_state"]) == (3, 1, "ready")
    # Smooth weighted round robin: whole rounds of 5 give 3:1:1 (the first round after the change
    # may be off by one).
    got = origins_of(g, 50)
    assert 29 <= got["a"] <= 31 and 9 <= got["b"] <= 11 and 9 <= got["c"] <= 11, got
    control(g, o, "c", "drain")
    st = server_state(g, o, "a")
    assert (st["weight"], st["config_weight"], st["admin_state"]) == (3, 1, "ready"), st
    st = server_state(g, o, "c")
    assert (st["admin_state"], st["available"]) == ("drain", True), st
    m = g.metrics()
    assert h.metric(m, "gw7_upstream_server_weight", server=o.address("a")) == 3
    assert h.metric(m, "gw7_upstream_server_weight", server=o.address("b")) == 1
    assert h.metric(m, "gw7_upstream_server_admin_drained", server=o.address("c")) == 1
    assert h.metric(m, "gw7_upstream_server_admin_drained", server=o.address("a")) == 0
    got = origins_of(g, 40)
    assert set(got) == {"a", "b"} and 29 <= got["a"] <= 31, got
    # Every server drained: nothing to send to.
    control(g, o, "a", "drain")
    control(g, o, "b", "drain")
    r = h.request(g.addr, "GET", "/x")
    assert r.status == 503, r
    for n in ("a", "b", "c"):
        control(g, o, n, "enable")
    control(g, o, "a", "weight?value=1")
    assert origins_of(g, 30) == {"a": 10, "b": 10, "c": 10}


def test_maglev_weight_and_drain(gw):
    o = gw.origin("a", "b")
    g = gw.gw7(config(o, names=("a", "b"), balance="maglev"))
    control(g, o, "b", "drain")
    assert origins_of(g, 5) == {"a": 5}
    control(g, o, "b", "enable")
    control(g, o, "a", "weight?value=50")
    assert server_state(g, o, "a")["weight"] == 50
    assert h.request(g.addr, "GET", "/x").status == 200


def test_refusals_get_and_unknown_names_and_bad_weights(gw):
    o = gw.origin("a", "b")
    g = gw.gw7(config(o, names=("a", "b")))
    server = o.address("a")
    r = post(g, "/upstreams/app/%s/drain" % server, method="GET")
    assert (r.status, r.header("allow")) == (405, "POST"), r
    assert post(g, "/upstreams/nope/%s/drain" % server).status == 404
    r = post(g, "/upstreams/app/127.0.0.1:1/drain")
    assert r.status == 404 and b"has no server 127.0.0.1:1" in r.body, r
    assert post(g, "/upstreams/app/%s/restart" % server).status == 404
    for query in ("", "?value=0", "?value=10001", "?value=abc"):
        assert post(g, "/upstreams/app/%s/weight%s" % (server, query)).status == 400, query
    assert post(g, "/status").status == 405
    assert server_state(g, o, "a")["admin_state"] == "ready"


def test_token_is_required_when_configured_and_reload_rotates_it(gw):
    o = gw.origin("a", "b")
    path = token_file(gw)
    g = gw.gw7(config(o, names=("a", "b"), gw7={"admin_token_file": path}))
    drain = "/upstreams/app/%s/drain" % o.address("a")
    r = post(g, drain)
    assert r.status == 401 and (r.header("www-authenticate") or "").startswith("Bearer"), r
    assert post(g, drain, token="not-the-token-0123456789").status == 403
    assert post(g, "/upstreams/nope/x/drain").status == 401
    assert server_state(g, o, "a")["admin_state"] == "ready"
    logged(g, "refused POST %s from 127.0.0.1:" % drain)
    assert post(g, drain, token=TOKEN).status == 200
    assert server_state(g, o, "a")["admin_state"] == "drain"
    token_file(gw, token="rotated-token-0123456789abcdef")
    assert sighup(g) == "ok"
    assert post(g, drain, token=TOKEN).status == 403
    assert post(g, drain, token="rotated-token-0123456789abcdef").status == 200
    os.chmod(path, 0o604)
    assert sighup(g) == "failed"
    assert "admin_token_file" in g.stderr() and "readable by others" in g.stderr()
    assert post(g, drain, token="rotated-token-0123456789abcdef").status == 200


def test_bad_token_file_is_a_config_error(gw):
    o = gw.origin("a")
    for mode, token, message in ((0o644, TOKEN, "readable by others"), (0o600, "", "is empty"),
                                 (0o600, "tooshort", "at least 16")):
        path = token_file(gw, token=token, mode=mode, name="bad.token")
        g = gw.gw7(config(o, names=("a",), gw7={"admin_token_file": path}), start=False)
        r = h.subprocess.run([h.GW7, "--check", "-c", g.path], capture_output=True, text=True,
                             timeout=30)
        assert r.returncode == 2 and message in r.stderr, (mode, token, r.stderr)
        r = h.subprocess.run([h.GW7, "-c", g.path], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "admin_token_file" in r.stderr, r.stderr


def test_reload_keeps_runtime_state_unless_the_config_changed_that_server(gw):
    o = gw.origin("a", "b", "c")
    g = gw.gw7(config(o))
    control(g, o, "b", "drain")
    control(g, o, "c", "weight?value=4")
    assert sighup(g) == "ok"
    assert server_state(g, o, "b")["admin_state"] == "drain"
    assert server_state(g, o, "c")["weight"] == 4
    got = origins_of(g, 25)
    assert set(got) == {"a", "c"} and 19 <= got["c"] <= 21, got
    # The config changes b (its weight): b is back; c keeps its runtime weight.
    g.write(config(o, weights={"b": 2}))
    assert sighup(g) == "ok"
    assert "server %s: runtime drain and weight cleared" % o.address("b") in g.stderr()
    st = server_state(g, o, "b")
    assert (st["admin_state"], st["weight"]) == ("ready", 2), st
    st = server_state(g, o, "c")
    assert (st["admin_state"], st["weight"], st["config_weight"]) == ("ready", 4, 1), st
    got = origins_of(g, 35)
    assert 4 <= got["a"] <= 6 and 9 <= got["b"] <= 11 and 19 <= got["c"] <= 21, got
