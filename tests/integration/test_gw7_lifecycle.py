"""gw7 as a process: the CLI (--help, --check, exit codes, file:line:col errors), the admin
endpoints (/healthz, /metrics as Prometheus text, /status as JSON), SIGHUP reload (new routes for
new requests, open connections keep working, a bad file changes nothing), SIGTERM drain (in-flight
requests finish, /healthz says 503 meanwhile, exit 0), and the PROXY protocol (accepted from
trusted_proxies only)."""

import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def run(args, timeout=20):
    return subprocess.run([h.GW7] + args, capture_output=True, text=True, timeout=timeout)


def test_cli_help_check_and_exit_codes(tmp_path):
    r = run(["--help"])
    assert r.returncode == 0 and r.stdout.startswith("usage: gw7")
    r = run([])
    assert r.returncode == 2 and "no config" in r.stderr
    r = run(["-c", "x.toml", "--bogus"])
    assert r.returncode == 2 and "unknown argument" in r.stderr
    good = tmp_path / "good.toml"
    good.write_text(h.render_config(
        upstreams=[{"name": "app", "servers": ["127.0.0.1:9"]}],
        routes=[{"name": "r", "path_prefix": "/", "upstream": "app"}]))
    r = run(["--check", "-c", str(good)])
    assert r.returncode == 0 and "ok" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text(h.render_config(
        upstreams=[{"name": "app", "balance": "fastest", "servers": ["127.0.0.1:9"]}],
        routes=[{"name": "r", "path_prefix": "/", "upstream": "app"}]))
    r = run(["--check", "-c", str(bad)])
    assert r.returncode == 2
    assert "bad.toml:" in r.stderr and "balance" in r.stderr
    r = run(["-c", str(bad)])
    assert r.returncode == 2
    r = run(["-c", str(good), "--listen", "not-an-address", "--check"])
    assert r.returncode == 2 and "--listen" in r.stderr


def test_listen_address_in_use_is_exit_1(gw, tmp_path):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    path = tmp_path / "second.toml"
    path.write_text(h.simple_config(o, ["a"]))
    r = run(["-c", str(path), "--listen", "%s:%d" % g.addr])
    assert r.returncode == 1, r.stderr


def test_admin_endpoints(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    assert h.request(g.addr, "GET", "/x").status == 200
    assert h.request(g.addr, "GET", "/x?status=503").status == 503
    r = g.admin_get("/healthz")
    assert r.status == 200 and r.body == b"ok\n"
    m = g.metrics()  # parses, or fails
    assert h.metric(m, "gw7_requests_total", route="all", **{"class": "2xx"}) == 1
    assert h.metric(m, "gw7_requests_total", route="all", **{"class": "5xx"}) == 1
    assert h.metric(m, "gw7_upstream_latency_seconds_count", upstream="app") == 2
    assert h.metric(m, "gw7_upstream_latency_seconds_bucket", upstream="app", le="+Inf") == 2
    assert h.metric(m, "gw7_connections_total") == 2
    st = g.status()
    assert st["routes"][0]["name"] == "all"
    assert st["upstreams"][0]["servers"][0]["address"] == o.address("a")
    assert st["upstreams"][0]["servers"][0]["requests"] == 2
    assert g.admin_get("/nope").status == 404


def test_sighup_reload_keeps_connections_and_rejects_bad_files(gw):
    o = gw.origin("a", "b")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(h.request_bytes("GET", "/before"))
    assert c.read_response().header("x-origin") == "a"
    g.write(h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("b")]}],
        routes=[{"name": "all", "path_prefix": "/", "upstream": "app"},
                {"name": "new", "path": "/new", "upstream": "app"}]))
    g.signal(signal.SIGHUP)
    g.err.wait_for("reload ok", 10)
    # New requests, even on the connection opened before, use the new generation.
    c.send(h.request_bytes("GET", "/after"))
    assert c.read_response().header("x-origin") == "b"
    assert h.request(g.addr, "GET", "/new").header("x-origin") == "b"
    # A broken file: logged with file:line:col, the running config stays.
    g.write("[gw7]\nlisten = \"127.0.0.1:0\"\nbogus_key = 1\n")
    g.signal(signal.SIGHUP)
    m = g.err.wait_for(r"reload failed.*(gw7-0\.toml:\d+:\d+)", 10)
    assert m
    c.send(h.request_bytes("GET", "/still"))
    assert c.read_response().header("x-origin") == "b"
    c.close()
    assert h.metric(g.metrics(), "gw7_reloads_total", result="failed") == 1
    assert h.metric(g.metrics(), "gw7_reloads_total", result="ok") == 1


def test_sigterm_drains_in_flight_requests(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"drain_timeout": "10s"}))
    idle = h.Client(g.addr)
    idle.send(h.request_bytes("GET", "/idle"))
    assert idle.read_response().status == 200
    busy = h.Client(g.addr)
    busy.send(h.request_bytes("GET", "/slow?delay=1.0"))
    h.wait_until(lambda: o.requests(target="/slow?delay=1.0"), 5, "the slow request")
    g.signal(signal.SIGTERM)
    # The idle keep-alive connection is closed at once; healthz says draining.
    assert idle.closed_soon(3)
    assert h.wait_until(lambda: g.admin_get("/healthz").status == 503, 3, "healthz 503")
    r = busy.read_response()
    assert r.status == 200
    assert r.header("connection").lower() == "close"
    assert g.wait_exit(10) == 0


def test_drain_timeout_closes_what_is_left(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"drain_timeout": "300ms"}))
    busy = h.Client(g.addr)
    busy.send(h.request_bytes("GET", "/slow?delay=5"))
    h.wait_until(lambda: o.requests(), 5, "the slow request")
    t0 = time.monotonic()
    g.signal(signal.SIGTERM)
    assert g.wait_exit(5) == 0
    assert time.monotonic() - t0 < 3


def proxy_config(o, trusted):
    return h.simple_config(o, ["a"], gw7={"proxy_protocol": True, "trusted_proxies": trusted})


def test_proxy_header_from_trusted_peer(gw):
    o = gw.origin("a")
    g = gw.gw7(proxy_config(o, ["127.0.0.2/32"]))
    c = h.Client(g.addr, source="127.0.0.2")
    c.send(b"PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\n" + h.request_bytes("GET", "/p1"))
    r = c.read_response()
    assert r.status == 200
    got = {k.lower(): v for k, v in r.json()["headers"]}
    assert got["x-forwarded-for"] == "203.0.113.9"
    assert got["forwarded"] == "for=203.0.113.9;proto=http"
    c.close()
    # v2 with an IPv6 client.
    import socket
    import struct
    src = socket.inet_pton(socket.AF_INET6, "2001:db8::5")
    dst = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    v2 = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x21]) + struct.pack("!H", 36) + src + dst + \
        struct.pack("!HH", 1234, 80)
    c = h.Client(g.addr, source="127.0.0.2")
    c.send(v2 + h.request_bytes("GET", "/p2"))
    r = c.read_response()
    got = {k.lower(): v for k, v in r.json()["headers"]}
    assert got["x-forwarded-for"] == "2001:db8::5"
    assert got["forwarded"] == 'for="[2001:db8::5]";proto=http'
    c.close()
    # Plain HTTP from a trusted peer (a health check) is served with the peer's address.
    r = h.Client(g.addr, source="127.0.0.2")
    r.send(h.request_bytes("GET", "/plain"))
    got = {k.lower(): v for k, v in r.read_response().json()["headers"]}
    assert got["x-forwarded-for"] == "127.0.0.2"
    assert h.metric(g.metrics(), "gw7_proxy_headers_total") == 2


def test_proxy_header_from_untrusted_peer_is_refused(gw):
    o = gw.origin("a")
    g = gw.gw7(proxy_config(o, ["127.0.0.2/32"]))
    c = h.Client(g.addr, source="127.0.0.3")
    c.send(b"PROXY TCP4 203.0.113.9 10.0.0.1 5555 80\r\n" + h.request_bytes("GET", "/p"))
    r = c.read_response()
    assert r.status == 400
    assert c.closed_soon()
    c.close()
    # Invalid header from a trusted peer: 400 as well.
    c = h.Client(g.addr, source="127.0.0.2")
    c.send(b"PROXY TCP4 203.0.113.999 10.0.0.1 5555 80\r\n")
    assert c.read_response().status == 400
    c.close()
    # Plain HTTP from an untrusted peer is still served, with its own address.
    r = h.request(g.addr, "GET", "/plain")
    assert r.status == 200
    o.wait_requests(1, target="/plain")
    assert not o.requests(target="/p")
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="proxy_untrusted") == 1
    assert h.metric(m, "gw7_errors_total", kind="proxy_invalid") == 1
