"""What lb4 tells gw7 about the client reaches the origin: the client address (PROXY v2 from lb4,
clients bound to 127.0.0.2, .3, ...) as X-Forwarded-For, TLS terminated at lb4 as
X-Forwarded-Proto: https; and the "internal load balancer" topology, gw7 sending to an lb4 pool
in front of the services, chained behind the front lb4."""

import json
import subprocess
import time

import lb4_harness as h
import tls_support as t
from tier_harness import echoed_header, get, tier, via  # noqa: F401


def gateways(tier_, n=2):
    origin = tier_.origin("o0", "o1")
    servers = [origin.address("o0"), origin.address("o1")]
    return origin, [tier_.gw7("g%d" % i, servers) for i in range(n)]


def test_proxy_v2_carries_each_client_address_to_the_origin(tier):
    _, gws = gateways(tier)
    lb = tier.lb4(gws)
    seen = set()
    for i in range(2, 12):
        ip = "127.0.0.%d" % i
        r = get(lb.address(), "/who", source=ip)
        seen.add(via(r))
        # lb4's own address would be here without PROXY v2; the client's is.
        assert echoed_header(r, "X-Forwarded-For") == ip, r.body[:400]
        assert echoed_header(r, "X-Forwarded-Proto") == "http"
        assert ("for=%s" % ip) in echoed_header(r, "Forwarded"), r.body[:400]
    assert seen == {"g0", "g1"}, seen
    # A client's own X-Forwarded-For is not taken as its address: gw7 trusts lb4's header.
    r = get(lb.address(), "/who", source="127.0.0.5", headers=[("X-Forwarded-For", "10.9.9.9")])
    assert echoed_header(r, "X-Forwarded-For").endswith("127.0.0.5"), r.body[:400]


def test_tls_terminated_at_lb4_is_https_at_the_origin(tier, tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = t.Ca(str(d))
    cert, key = ca.issue("api.example.com", ["api.example.com"])
    _, gws = gateways(tier)
    tls = {"certificates": [{"cert": cert, "key": key}], "alpn": ["http/1.1"],
           "min_version": "1.2"}
    lb = tier.lb4(gws, listener={"mode": "tls", "tls": tls})
    host, port = lb.address()
    for i in (2, 3, 4):
        ip = "127.0.0.%d" % i
        r = subprocess.run(
            ["curl", "-sS", "--fail", "--max-time", "10", "--cacert", ca.cert,
             "--interface", ip, "--resolve", "api.example.com:%d:%s" % (port, host),
             "https://api.example.com:%d/secure" % port],
            capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        echo = json.loads(r.stdout)
        headers = {k.lower(): v for k, v in echo["headers"]}
        assert headers.get("x-forwarded-proto") == "https", echo
        assert headers.get("x-forwarded-for") == ip, echo
        assert "proto=https" in headers.get("forwarded", ""), echo


def test_gw7_behind_lb4_sends_to_an_internal_lb4_pool(tier, edge):
    """client -> lb4 (front, PROXY v2) -> gw7 x2 -> lb4 (internal, plain TCP, round robin)
    -> two origins: every request arrives, both origins serve, the client address survives."""
    origin = tier.origin("o0", "o1")
    internal = edge.lb4([{"name": "svc", "balance": "round_robin",
                          "backends": [{"address": origin.address("o0")},
                                       {"address": origin.address("o1")}],
                          "health": {"check": "http", "path": "/health", "interval": "200ms",
                                     "timeout": "150ms", "rise": 1, "fall": 2}}],
                        listeners=[{"name": "svc", "bind": "127.0.0.1", "mode": "tcp",
                                    "pool": "svc", "proxy_protocol": "off"}])
    svc = h.format_address(*internal.address())
    gws = [tier.gw7("g%d" % i, [svc]) for i in range(2)]
    front = tier.lb4(gws)
    origins, gw_seen = set(), set()
    for i in range(2, 22):
        ip = "127.0.0.%d" % i
        r = get(front.address(), "/internal/%d" % i, source=ip)
        assert r.status == 200, r
        gw_seen.add(via(r))
        origins.add(r.json()["name"])
        assert echoed_header(r, "X-Forwarded-For") == ip
        assert r.json()["target"] == "/internal/%d" % i
    # Both origins served: the internal lb4 spread gw7's upstream connections over its pool.
    assert gw_seen == {"g0", "g1"} and origins == {"o0", "o1"}, (gw_seen, origins)


def test_gw7_access_log_names_the_client_lb4_saw(tier, tmp_path):
    """PROXY v2 from lb4: gw7's access log records each client's own address, not lb4's."""
    origin = tier.origin("o0")
    log = str(tmp_path / "g0-access.log")
    gw = tier.gw7("g0", [origin.address("o0")], gw7={"access_log": {"path": log}})
    lb = tier.lb4([gw])
    for i in (2, 3, 4):
        get(lb.address(), "/logged/%d" % i, source="127.0.0.%d" % i)

    def logged():
        with open(log) as f:
            return [json.loads(l) for l in f if "/logged/" in l]
    deadline = time.monotonic() + 5
    while len(logged()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    clients = sorted(l["client"].rsplit(":", 1)[0] for l in logged())
    assert clients == ["127.0.0.2", "127.0.0.3", "127.0.0.4"], logged()
