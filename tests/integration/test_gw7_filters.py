"""A route's filter chain runs before the proxy step: an api_key [[auth]] provider refuses
requests without a known key (the origin never sees them) and passes the consumer on; a
[[rate_limit]] policy answers 429 once the client's budget is spent."""

import hashlib
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def test_api_key_auth_and_rate_limit(gw):
    o = gw.origin("a")
    digest = hashlib.sha256(b"s3cret").hexdigest()
    extra = (
        '\n[[auth]]\nname = "partners"\ntype = "api_key"\nheader = "X-API-Key"\n'
        'keys = [{ consumer = "alice", sha256 = "%s", scopes = ["orders:read"] }]\n'
        '\n[[rate_limit]]\nname = "tight"\nkey = "client_ip"\nlimit = 3\nper = "1m"\nburst = 0\n'
        'store = "local"\n' % digest)
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("a")]}],
        routes=[{"name": "private", "path_prefix": "/private", "upstream": "app",
                 "auth": "partners"},
                {"name": "limited", "path_prefix": "/limited", "upstream": "app",
                 "rate_limit": "tight"}],
        extra=extra)
    g = gw.gw7(cfg)
    r = h.request(g.addr, "GET", "/private/x")
    assert r.status == 401, r
    r = h.request(g.addr, "GET", "/private/x", [("X-API-Key", "wrong")])
    assert r.status in (401, 403), r
    r = h.request(g.addr, "GET", "/private/x", [("X-API-Key", "s3cret")])
    assert r.status == 200 and r.header("x-origin") == "a"
    o.wait_requests(1, target="/private/x")
    assert len(o.requests(target="/private/x")) == 1
    statuses = [h.request(g.addr, "GET", "/limited/%d" % i).status for i in range(6)]
    assert statuses[0] == 200 and 429 in statuses, statuses
    m = g.metrics()
    assert h.metric(m, "gw7_requests_total", route="private", **{"class": "4xx"}) == 2
