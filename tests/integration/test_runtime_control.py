"""lb4's runtime control on the admin port (POST /backends/{pool}/{server}/drain|enable|weight):
a drained backend gets no new connections while a connection already open on it keeps working,
enable brings traffic back, a weight changes the spread; GET is 405, an unknown pool or server
404, a bad weight 400; with admin_token_file a missing token is 401 and a wrong one 403; /status
and /metrics show the state; a reload keeps it unless the config changed that backend; a token
file others may read is a config error (exit 2)."""

import collections
import json
import os
import re
import signal
import socket

import lb4_harness as h
from name_load import Load, name_via

NAMES = ["b0", "b1", "b2"]
TOKEN = "rt-control-token-0123456789abcdef"


# ---------------------------------------------------------------- helpers (this file only)


def random_loopback():
    import random
    return "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                             random.randint(1, 254))


def admin_address():
    host = random_loopback()
    return h.format_address(host, h.free_port(host))


def token_file(edge, token=TOKEN, mode=0o600, name="admin.token"):
    path = os.path.join(edge.dir, name)
    with open(path, "w") as f:
        f.write(token + "\n")
    os.chmod(path, mode)
    return path


def auto_origin(edge, names=NAMES):
    return edge.origin(*[{"name": n, "mode": "auto"} for n in names])


def pool(origin, names=NAMES, balance="round_robin", weights=None):
    return {"name": "p", "balance": balance, "backends": [
        dict({"address": origin.address(n)}, **({"weight": weights[i]} if weights else {}))
        for i, n in enumerate(names)]}


def start(edge, origin, **section):
    section.setdefault("admin", admin_address())
    return edge.lb4([pool(origin)], **section)


def call(lb, method, path, token=None, raw_authorization=None):
    """(status, headers {lower name: value}, body text) of one admin request."""
    s = h.connect(h.parse_address(lb.lb4_section["admin"]))
    try:
        head = "%s %s HTTP/1.1\r\nHost: lb4\r\nConnection: close\r\n" % (method, path)
        if token is not None:
            head += "Authorization: Bearer %s\r\n" % token
        if raw_authorization is not None:
            head += "Authorization: %s\r\n" % raw_authorization
        s.sendall((head + "\r\n").encode())
        data = h._read_all(s)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body.decode()


def control(lb, origin, name, action, token=None, expect=200):
    path = "/backends/p/%s/%s" % (origin.address(name), action)
    status, _, body = call(lb, "POST", path, token=token)
    assert status == expect, (path, status, body)
    return json.loads(body) if status == 200 else body


def status_of(lb, origin):
    """{backend name: its /status entry}."""
    code, body = lb.admin_get("/status")
    assert code == 200
    return {origin.name_of_address(b["address"]): b
            for b in json.loads(body)["pools"][0]["backends"]}


def metric_samples(lb):
    code, text = lb.admin_get("/metrics")
    assert code == 200
    out = {}
    for line in text.splitlines():
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def backend_metric(lb, name, origin, backend):
    return metric_samples(lb)[(name, frozenset({("pool", "p"),
                                                ("backend", origin.address(backend))}))]


def names_of(lb, n):
    return collections.Counter(name_via(lb.address()) for _ in range(n))


def sighup(lb):
    before = lb.stderr().count("reload ok"), lb.stderr().count("reload failed")
    lb.signal(signal.SIGHUP)
    h.wait_until(lambda: (lb.stderr().count("reload ok"),
                          lb.stderr().count("reload failed")) != before, 10, "the reload")
    return "ok" if lb.stderr().count("reload ok") > before[0] else "failed"


def rewrite(lb, pools):
    lb.pools = pools
    tmp = lb.config_path + ".next"
    with open(tmp, "w") as f:
        f.write(h.render_config(lb.lb4_section, lb.listeners, lb.pools))
    os.replace(tmp, lb.config_path)


# ---------------------------------------------------------------- tests


def test_drain_under_load_spares_the_open_connection_and_enable_brings_traffic_back(edge):
    o = auto_origin(edge)
    lb = start(edge, o)
    # A long-lived connection: echo mode; /status tells which backend it is on.
    held = edge.connect(lb.address())
    held.sendall(b"ECHO\n")
    on = h.wait_until(lambda: [n for n, b in status_of(lb, o).items()
                               if b["active_connections"] == 1], 10, "the held connection")
    assert len(on) == 1
    victim = on[0]
    load = Load(lb.address(), threads=3).start()
    try:
        load.wait_more(60, 30)
        answer = control(lb, o, victim, "drain")
        assert answer["admin_state"] == "drain" and answer["action"] == "drain", answer
        assert answer["active_connections"] >= 1, answer  # the held one, maybe load too
        assert f"set backend {o.address(victim)} (pool \"p\") drain: state ready -> drain" in \
            lb.stderr()
        # Connections that began before the answer may still be finishing on it; count afresh.
        before = load.names[victim]
        load.wait_more(50, 30)
        settled = load.names[victim]
        load.wait_more(150, 30)
        assert load.names[victim] == settled, "drained backend got new connections"
        assert settled - before <= 3, (before, settled)
        # The connection opened before the drain still works both ways.
        for i in range(3):
            msg = b"still here %d\n" % i
            held.sendall(msg)
            assert h.recv_exact(held, len(msg)) == msg
        assert status_of(lb, o)[victim]["active_connections"] == 1
        control(lb, o, victim, "enable")
        after = load.names[victim]
        load.wait_more(120, 30)
        assert load.names[victim] > after + 10, load.names
    finally:
        load.stop()
    assert load.failures == [], load.failures[:5]


def test_weight_changes_the_spread_and_status_and_metrics_show_it(edge):
    o = auto_origin(edge)
    lb = start(edge, o)
    assert names_of(lb, 30) == {"b0": 10, "b1": 10, "b2": 10}
    answer = control(lb, o, "b0", "weight?value=3")
    assert (answer["weight"], answer["config_weight"], answer["admin_state"]) == (3, 1, "ready")
    # round_robin's schedule is 3:1:1; 50 connections one after another are 10 whole rounds.
    assert names_of(lb, 50) == {"b0": 30, "b1": 10, "b2": 10}
    control(lb, o, "b2", "drain")
    st = status_of(lb, o)
    assert (st["b0"]["weight"], st["b0"]["config_weight"], st["b0"]["admin_state"]) == \
        (3, 1, "ready")
    assert (st["b2"]["admin_state"], st["b2"]["weight"]) == ("drain", 1)
    assert st["b2"]["state"] == "up", "a drain is not a health verdict"
    assert backend_metric(lb, "lb4_backend_weight", o, "b0") == 3
    assert backend_metric(lb, "lb4_backend_weight", o, "b1") == 1
    assert backend_metric(lb, "lb4_backend_admin_drained", o, "b2") == 1
    assert backend_metric(lb, "lb4_backend_admin_drained", o, "b0") == 0
    assert names_of(lb, 40) == {"b0": 30, "b1": 10}
    # Back to the config's weight: the override is gone.
    control(lb, o, "b0", "weight?value=1")
    control(lb, o, "b2", "enable")
    assert names_of(lb, 30) == {"b0": 10, "b1": 10, "b2": 10}
    assert backend_metric(lb, "lb4_backend_admin_drained", o, "b2") == 0


def test_maglev_drain_moves_only_the_drained_backends_clients(edge):
    o = auto_origin(edge)
    lb = edge.lb4([pool(o, balance="maglev")], admin=admin_address())
    ips = ["127.0.0.%d" % i for i in range(2, 26)]

    def placement():
        out = {}
        for ip in ips:
            s = h.connect(lb.address(), source_ip=ip)
            try:
                s.sendall(b"NAME\n")
                out[ip] = h.read_line(s)
            finally:
                s.close()
        return out

    before = placement()
    victim = collections.Counter(before.values()).most_common(1)[0][0]
    control(lb, o, victim, "drain")
    during = placement()
    assert victim not in during.values()
    for ip in ips:
        if before[ip] != victim:
            assert during[ip] == before[ip], ip
    control(lb, o, victim, "enable")
    assert placement() == before


def test_refusals_get_and_unknown_names_and_bad_weights(edge):
    o = auto_origin(edge)
    lb = start(edge, o)
    server = o.address("b0")
    status, headers, _ = call(lb, "GET", "/backends/p/%s/drain" % server)
    assert (status, headers.get("allow")) == (405, "POST")
    assert call(lb, "HEAD", "/backends/p/%s/drain" % server)[0] == 405
    assert call(lb, "POST", "/backends/nope/%s/drain" % server)[0] == 404
    status, _, body = call(lb, "POST", "/backends/p/127.0.0.1:1/drain")
    assert status == 404 and "has no backend 127.0.0.1:1" in body, body
    assert call(lb, "POST", "/backends/p/%s/halt" % server)[0] == 404
    assert call(lb, "POST", "/backends/p")[0] == 404
    for query in ("", "?value=0", "?value=10001", "?value=x", "?value=2&x=1"):
        status, _, body = call(lb, "POST", "/backends/p/%s/weight%s" % (server, query))
        assert status == 400, (query, body)
    assert call(lb, "POST", "/status")[0] == 405  # read pages stay read-only
    assert status_of(lb, o)["b0"]["admin_state"] == "ready"
    assert names_of(lb, 3) == {"b0": 1, "b1": 1, "b2": 1}


def test_token_file_missing_or_wrong_token_is_refused_and_a_reload_rotates_it(edge):
    o = auto_origin(edge)
    path = token_file(edge)
    lb = start(edge, o, admin_token_file=path)
    server = o.address("b1")
    drain = "/backends/p/%s/drain" % server
    status, headers, _ = call(lb, "POST", drain)
    assert status == 401 and headers.get("www-authenticate", "").startswith("Bearer"), headers
    assert call(lb, "POST", drain, token="wrong-token-0123456789abc")[0] == 403
    assert call(lb, "POST", drain, raw_authorization="Basic " + TOKEN)[0] == 401
    # Without the token even an unknown pool is not revealed.
    assert call(lb, "POST", "/backends/nope/x/drain")[0] == 401
    assert status_of(lb, o)["b1"]["admin_state"] == "ready"
    assert "refused POST %s from 127.0.0.1:" % drain in lb.stderr()
    assert call(lb, "POST", drain, token=TOKEN)[0] == 200
    assert status_of(lb, o)["b1"]["admin_state"] == "drain"
    # Reading needs no token.
    assert lb.admin_get("/metrics")[0] == 200
    # A new token on reload replaces the old one.
    token_file(edge, token="second-token-0123456789abcdef")
    assert sighup(lb) == "ok"
    assert call(lb, "POST", "/backends/p/%s/enable" % server, token=TOKEN)[0] == 403
    assert call(lb, "POST", "/backends/p/%s/enable" % server,
                token="second-token-0123456789abcdef")[0] == 200
    # A token file others may read fails the reload: the running token stays.
    os.chmod(path, 0o644)
    assert sighup(lb) == "failed"
    assert "admin_token_file" in lb.stderr() and "readable by others" in lb.stderr()
    assert call(lb, "POST", drain, token="second-token-0123456789abcdef")[0] == 200


def test_bad_token_files_are_config_errors(edge):
    o = auto_origin(edge, ["b0"])
    cases = {
        "readable": (token_file(edge, mode=0o644, name="r.token"), "readable by others"),
        "empty": (token_file(edge, token="", name="e.token"), "is empty"),
        "short": (token_file(edge, token="short", name="s.token"), "at least 16"),
        "missing": (os.path.join(edge.dir, "absent.token"), "No such file"),
    }
    for what, (path, message) in cases.items():
        lb = edge.lb4([pool(o, ["b0"])], start=False, admin=admin_address(),
                      admin_token_file=path)
        r = h.run_lb4(["--check", "-c", lb.config_path])
        assert r.returncode == 2, (what, r.stdout, r.stderr)
        assert "admin_token_file" in r.stderr and message in r.stderr, (what, r.stderr)
        r = h.run_lb4(["-c", lb.config_path])
        assert r.returncode == 2, (what, r.stderr)
    good = edge.lb4([pool(o, ["b0"])], start=False, admin=admin_address(),
                    admin_token_file=token_file(edge, name="ok.token"))
    assert h.run_lb4(["--check", "-c", good.config_path]).returncode == 0


def test_reload_keeps_runtime_state_unless_the_config_changed_that_backend(edge):
    o = auto_origin(edge)
    lb = start(edge, o)
    control(lb, o, "b1", "drain")
    control(lb, o, "b2", "weight?value=4")
    assert names_of(lb, 25) == {"b0": 5, "b2": 20}
    # The same config again: nothing the operator set is lost.
    assert sighup(lb) == "ok"
    st = status_of(lb, o)
    assert st["b1"]["admin_state"] == "drain" and st["b2"]["weight"] == 4, st
    assert names_of(lb, 25) == {"b0": 5, "b2": 20}
    # The config changes b1 (its weight): the config is the newer word, b1 is back. b2 keeps
    # its runtime weight.
    rewrite(lb, [pool(o, weights=[1, 2, 1])])
    assert sighup(lb) == "ok"
    assert "backend %s (pool \"p\"): runtime drain and weight cleared" % o.address("b1") in \
        lb.stderr()
    st = status_of(lb, o)
    assert (st["b1"]["admin_state"], st["b1"]["weight"]) == ("ready", 2), st
    assert (st["b2"]["admin_state"], st["b2"]["weight"], st["b2"]["config_weight"]) == \
        ("ready", 4, 1), st
    assert names_of(lb, 35) == {"b0": 5, "b1": 10, "b2": 20}
    # Removed and added back: a new backend as far as runtime state goes.
    control(lb, o, "b0", "drain")
    rewrite(lb, [pool(o, ["b1", "b2"], weights=[2, 1])])
    assert sighup(lb) == "ok"
    rewrite(lb, [pool(o, weights=[1, 2, 1])])
    assert sighup(lb) == "ok"
    assert status_of(lb, o)["b0"]["admin_state"] == "ready"
