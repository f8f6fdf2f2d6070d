"""gw7's security filters as a process: concurrency limits (max in flight per route, 503 with a
JSON body beyond it, the slot back however the request ends), `gw7 --check` building every
[[auth]], [[rate_limit]] and [[concurrency_limit]] (a bad PEM, JWKS or keys file fails with exit 2
even when no route uses it), and the filters' counters on the admin /metrics."""

import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def run(args, timeout=30):
    return subprocess.run([h.GW7] + args, capture_output=True, text=True, timeout=timeout)


def tables(kind, *entries):
    out = ""
    for e in entries:
        out += "\n[[%s]]\n" % kind + "".join("%s = %s\n" % (k, h.toml_value(v))
                                             for k, v in e.items())
    return out


def in_flight(g, limit):
    return h.metric(g.metrics(), "gw7_concurrency_in_flight", limit=limit)


def slow_get(addr, target, out, index):
    try:
        out[index] = h.request(addr, "GET", target, timeout=30)
    except OSError as e:  # recorded; the test fails on it
        out[index] = e


# ---- concurrency limits ----

def test_concurrency_limit_503_beyond_max_in_flight_and_slots_come_back(gw):
    o = gw.origin("a")
    extra = tables("concurrency_limit", {"name": "two", "key": "route", "max_in_flight": 2})
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("a")], "retries": 0}],
        routes=[{"name": "slow", "path_prefix": "/slow", "upstream": "app",
                 "concurrency_limit": "two"},
                {"name": "free", "path_prefix": "/free", "upstream": "app"}],
        extra=extra)
    g = gw.gw7(cfg)
    delay = 2 * h.SLOW
    results = [None, None]
    threads = [threading.Thread(target=slow_get, args=(g.addr, "/slow/%d?delay=%s" % (i, delay),
                                                       results, i)) for i in range(2)]
    for t in threads:
        t.start()
    h.wait_until(lambda: len([r for r in o.requests() if r["target"].startswith("/slow/")]) == 2,
                 10, "both slow requests at the origin")
    assert in_flight(g, "two") == 2
    extra_request = h.request(g.addr, "GET", "/slow/extra")
    assert extra_request.status == 503, extra_request
    assert extra_request.header("Content-Type") == "application/json"
    assert extra_request.json()["error"] == "concurrency_limited"
    assert extra_request.header("Retry-After") == "1"
    assert not [r for r in o.requests() if r["target"] == "/slow/extra"]
    # Another route is not limited meanwhile.
    assert h.request(g.addr, "GET", "/free/x").status == 200
    for t in threads:
        t.join(30)
    assert [r.status for r in results] == [200, 200], results
    h.wait_until(lambda: in_flight(g, "two") == 0, 5, "the slots back")
    assert h.request(g.addr, "GET", "/slow/after").status == 200
    m = g.metrics()
    assert h.metric(m, "gw7_concurrency_requests_total", limit="two", outcome="rejected") == 1
    assert h.metric(m, "gw7_concurrency_requests_total", limit="two", outcome="admitted") == 3
    assert h.metric(m, "gw7_errors_total", kind="filter_concurrency_limit") == 1


def test_concurrency_slot_comes_back_when_the_client_goes_or_the_upstream_fails(gw):
    o = gw.origin("a")
    extra = tables("concurrency_limit", {"name": "one", "key": "route", "max_in_flight": 1},
                   {"name": "one-down", "key": "route", "max_in_flight": 1})
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("a")], "retries": 0},
                   {"name": "down", "servers": ["127.0.0.1:%d" % h.closed_port()],
                    "retries": 0, "passive_failures": 0}],
        routes=[{"name": "slow", "path_prefix": "/slow", "upstream": "app",
                 "concurrency_limit": "one"},
                {"name": "broken", "path_prefix": "/broken", "upstream": "down",
                 "concurrency_limit": "one-down"}],
        extra=extra)
    g = gw.gw7(cfg)
    # The client resets its connection while its request waits for a slow origin.
    c = h.Client(g.addr)
    c.send(h.request_bytes("GET", "/slow/gone?delay=%s" % (30 * h.SLOW)))
    h.wait_until(lambda: o.requests(target="/slow/gone?delay=%s" % (30 * h.SLOW)), 10,
                 "the request at the origin")
    assert in_flight(g, "one") == 1
    assert h.request(g.addr, "GET", "/slow/busy").status == 503
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    h.wait_until(lambda: in_flight(g, "one") == 0, 5, "the slot back after the client went")
    assert h.request(g.addr, "GET", "/slow/next").status == 200
    # An upstream that refuses: 502, and the slot comes back with it.
    for _ in range(3):
        r = h.request(g.addr, "GET", "/broken/x")
        assert r.status == 502, r
    assert in_flight(g, "one-down") == 0
    m = g.metrics()
    assert h.metric(m, "gw7_concurrency_requests_total", limit="one-down",
                    outcome="admitted") == 3
    assert h.metric(m, "gw7_concurrency_requests_total", limit="one-down",
                    outcome="rejected") == 0


# ---- gw7 --check builds every filter registry ----

def check_config(tmp_path, extra, routes=None):
    path = tmp_path / "check.toml"
    path.write_text(h.render_config(
        upstreams=[{"name": "app", "servers": ["127.0.0.1:9"]}],
        routes=routes or [{"name": "r", "path_prefix": "/", "upstream": "app"}],
        extra=extra))
    return run(["--check", "-c", str(path)])


def test_check_builds_auth_rate_limit_and_concurrency(tmp_path):
    secret = tmp_path / "jwt.secret"
    secret.write_text("s" * 40 + "\n")
    keys = tmp_path / "keys.toml"
    keys.write_text('keys = [{ consumer = "bob", sha256 = "%s" }]\n' % ("ab" * 32))
    good = (tables("auth", {"name": "users", "type": "jwt", "algorithms": ["HS256"],
                            "hmac_secret_file": str(secret)},
                   {"name": "partners", "type": "api_key", "keys_file": str(keys)})
            + tables("rate_limit", {"name": "rl", "key": "consumer", "limit": 10, "per": "1s",
                                    "store": "redis", "failure": "closed"})
            + tables("concurrency_limit", {"name": "c", "key": "consumer", "max_in_flight": 4})
            + '\n[redis]\naddress = "127.0.0.1:6379"\n')
    routes = [{"name": "r", "path_prefix": "/", "upstream": "app", "auth": "users",
               "rate_limit": "rl", "concurrency_limit": "c"}]
    r = check_config(tmp_path, good, routes)
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout

    # A PEM file that is not a key, for a provider no route uses: still a config error.
    pem = tmp_path / "broken.pem"
    pem.write_text("-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n")
    r = check_config(tmp_path, tables("auth", {"name": "unused", "type": "jwt",
                                               "algorithms": ["RS256"],
                                               "public_keys": [{"kid": "k1", "pem": str(pem)}]}))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "check.toml:" in r.stderr and "auth \"unused\"" in r.stderr and "pem" in r.stderr, \
        r.stderr

    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": [{"kty": "RSA", "kid": "k1", "n": "!!", "e": "AQAB"}]}')
    r = check_config(tmp_path, tables("auth", {"name": "idp", "type": "jwt",
                                               "algorithms": ["RS256"],
                                               "jwks_file": str(jwks)}))
    assert r.returncode == 2 and "jwks_file" in r.stderr, r.stderr

    r = check_config(tmp_path, tables("auth", {"name": "p", "type": "api_key",
                                               "keys_file": str(tmp_path / "missing.toml")}))
    assert r.returncode == 2 and "keys_file" in r.stderr and "missing.toml" in r.stderr, r.stderr

    bad_keys = tmp_path / "bad-keys.toml"
    bad_keys.write_text('keys = [{ consumer = "bob", sha256 = "xyz" }]\n')
    r = check_config(tmp_path, tables("auth", {"name": "p", "type": "api_key",
                                               "keys_file": str(bad_keys)}))
    assert r.returncode == 2 and "bad-keys.toml:1:" in r.stderr and "sha256" in r.stderr, \
        r.stderr

    # A policy no route names, with a bad value; a redis policy without [redis].
    r = check_config(tmp_path, tables("rate_limit", {"name": "x", "key": "ip", "limit": 1,
                                                     "per": "1s"}))
    assert r.returncode == 2 and "rate_limit \"x\": key" in r.stderr, r.stderr
    r = check_config(tmp_path, tables("rate_limit", {"name": "x", "key": "route", "limit": 1,
                                                     "per": "1s", "store": "redis"}))
    assert r.returncode == 2 and "[redis]" in r.stderr, r.stderr
    r = check_config(tmp_path, tables("concurrency_limit", {"name": "c", "key": "route",
                                                            "max_in_flight": 0}))
    assert r.returncode == 2 and "max_in_flight" in r.stderr, r.stderr

    # Unknown names a route refers to.
    for key, kind in (("rate_limit", "rate_limit"), ("auth", "auth"),
                      ("concurrency_limit", "concurrency_limit")):
        r = check_config(tmp_path, "", [{"name": "r", "path_prefix": "/", "upstream": "app",
                                         key: "nope"}])
        assert r.returncode == 2, r.stderr
        assert "unknown %s \"nope\"" % kind in r.stderr, r.stderr


# ---- /metrics ----

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(secret, claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64url(sig))


def test_metrics_count_auth_rate_limit_and_concurrency(gw, tmp_path):
    o = gw.origin("a")
    secret = b"k" * 40
    (tmp_path / "jwt.secret").write_bytes(secret)
    extra = (tables("auth",
                    {"name": "partners", "type": "api_key",
                     "keys": [{"consumer": "alice",
                               "sha256": hashlib.sha256(b"alice-key").hexdigest(),
                               "scopes": ["read"]}]},
                    {"name": "users", "type": "jwt", "algorithms": ["HS256"],
                     "hmac_secret_file": str(tmp_path / "jwt.secret")})
             + tables("rate_limit", {"name": "two", "key": "consumer", "limit": 2, "per": "1h",
                                     "store": "local"})
             + tables("concurrency_limit", {"name": "none-left", "key": "route",
                                            "max_in_flight": 1}))
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("a")]}],
        routes=[{"name": "keys", "path_prefix": "/keys", "upstream": "app", "auth": "partners",
                 "rate_limit": "two"},
                {"name": "admin", "path_prefix": "/admin", "upstream": "app", "auth": "partners",
                 "require_scopes": ["write"]},
                {"name": "jwt", "path_prefix": "/jwt", "upstream": "app", "auth": "users",
                 "concurrency_limit": "none-left"}],
        extra=extra)
    g = gw.gw7(cfg)
    key = [("X-API-Key", "alice-key")]
    assert [h.request(g.addr, "GET", "/keys/x", key).status for _ in range(3)] == [200, 200, 429]
    assert h.request(g.addr, "GET", "/keys/x").status == 401
    assert h.request(g.addr, "GET", "/keys/x", [("X-API-Key", "nope")]).status == 401
    assert h.request(g.addr, "GET", "/admin/x", key).status == 403
    token = hs256_token(secret, {"sub": "carol", "exp": int(time.time()) + 600})
    assert h.request(g.addr, "GET", "/jwt/x", [("Authorization", "Bearer " + token)]).status == 200
    bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert h.request(g.addr, "GET", "/jwt/x", [("Authorization", "Bearer " + bad)]).status == 401

    text = g.admin_get("/metrics").body.decode()
    m = h.parse_prometheus(text)  # raises on a malformed line
    for family, kind in (("gw7_auth_requests_total", "counter"),
                         ("gw7_rate_limit_requests_total", "counter"),
                         ("gw7_rate_limit_local_keys", "gauge"),
                         ("gw7_concurrency_requests_total", "counter"),
                         ("gw7_concurrency_in_flight", "gauge")):
        assert "# TYPE %s %s" % (family, kind) in text, family
    auth = lambda provider, outcome: h.metric(m, "gw7_auth_requests_total", provider=provider,
                                              outcome=outcome)
    assert auth("partners", "ok") == 4  # three on /keys, one on /admin (authenticated, then 403)
    assert auth("partners", "missing") == 1
    assert auth("partners", "invalid") == 1
    assert auth("partners", "forbidden") == 1
    assert auth("users", "ok") == 1
    assert auth("users", "invalid") == 1
    rl = lambda outcome: h.metric(m, "gw7_rate_limit_requests_total", policy="two",
                                  outcome=outcome)
    assert (rl("allowed"), rl("limited"), rl("error_open"), rl("error_closed")) == (2, 1, 0, 0)
    assert h.metric(m, "gw7_rate_limit_local_keys", policy="two") == 1
    assert h.metric(m, "gw7_concurrency_requests_total", limit="none-left",
                    outcome="admitted") == 1
    assert h.metric(m, "gw7_concurrency_in_flight", limit="none-left") == 0
