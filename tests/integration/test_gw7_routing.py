"""gw7 routing against real origins: host (exact, wildcard), path (exact, prefix, template,
regex), methods (405 with Allow), header matches, 404 with a JSON body, strip_prefix and
prefix_rewrite, and what the origin receives (path, query, forwarding headers)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def routed_config(o):
    names = ["exact", "prefix", "tmpl", "regex", "wild", "hosted", "hdr", "rewrite", "any"]
    ups = [{"name": n, "servers": [o.address(n)]} for n in names]
    routes = [
        {"name": "exact", "path": "/v1/exact", "upstream": "exact"},
        {"name": "prefix", "path_prefix": "/v1/products", "strip_prefix": "/v1",
         "methods": ["GET", "POST"], "upstream": "prefix"},
        {"name": "tmpl", "path_template": "/v1/users/{id}", "upstream": "tmpl"},
        {"name": "regex", "path_regex": "^/v1/files/[0-9]+\\.txt$", "upstream": "regex"},
        {"name": "wild", "host": "*.example.org", "path_prefix": "/", "upstream": "wild"},
        {"name": "hosted", "host": "api.example.org", "path_prefix": "/", "upstream": "hosted"},
        {"name": "hdr", "path_prefix": "/v1/tenant", "headers": [{"name": "X-Tenant",
                                                                  "value": "acme"}],
         "upstream": "hdr"},
        {"name": "rewrite", "path_prefix": "/old", "prefix_rewrite": "/new", "upstream": "rewrite"},
        {"name": "any", "path_prefix": "/any", "upstream": "any"},
    ]
    return h.render_config(upstreams=ups, routes=routes)


def test_routes_pick_the_most_specific_match(gw):
    names = ["exact", "prefix", "tmpl", "regex", "wild", "hosted", "hdr", "rewrite", "any"]
    o = gw.origin(*names)
    g = gw.gw7(routed_config(o))
    cases = [
        ("GET", "/v1/exact", "example.com", [], "exact", "/v1/exact"),
        ("GET", "/v1/products/7?color=red", "example.com", [], "prefix", "/products/7?color=red"),
        ("POST", "/v1/products", "example.com", [], "prefix", "/products"),
        ("GET", "/v1/users/42", "example.com", [], "tmpl", "/v1/users/42"),
        ("GET", "/v1/files/12.txt", "example.com", [], "regex", "/v1/files/12.txt"),
        ("GET", "/v1/exact", "a.b.example.org", [], "wild", "/v1/exact"),
        ("GET", "/x", "api.example.org", [], "hosted", "/x"),
        ("GET", "/x", "API.Example.ORG:8080", [], "hosted", "/x"),
        ("GET", "/v1/tenant/1", "example.com", [("X-Tenant", "acme")], "hdr", "/v1/tenant/1"),
        ("GET", "/old/a/b?q", "example.com", [], "rewrite", "/new/a/b?q"),
        ("DELETE", "/any/thing", "example.com", [], "any", "/any/thing"),
    ]
    for method, target, host, headers, name, upstream_target in cases:
        r = h.request(g.addr, method, target, headers, host=host)
        assert r.status == 200, (target, r)
        assert r.header("x-origin") == name, (target, host, r.header("x-origin"))
        assert r.json()["target"] == upstream_target
        assert r.header("x-request-id")


def test_no_route_is_404_json_and_wrong_method_is_405_with_allow(gw):
    names = ["exact", "prefix", "tmpl", "regex", "wild", "hosted", "hdr", "rewrite", "any"]
    o = gw.origin(*names)
    g = gw.gw7(routed_config(o))
    r = h.request(g.addr, "GET", "/nothing/here")
    assert r.status == 404
    assert r.header("content-type") == "application/json"
    assert r.json()["error"]["status"] == 404
    assert not r.closed
    r = h.request(g.addr, "DELETE", "/v1/products/1")
    assert r.status == 405
    allow = [m.strip() for m in r.header("allow").split(",")]
    assert "GET" in allow and "POST" in allow and "HEAD" in allow
    assert r.json()["error"]["status"] == 405
    # A header match that fails means the route does not match at all.
    r = h.request(g.addr, "GET", "/v1/tenant/1", [("X-Tenant", "other")])
    assert r.status == 404
    # A prefix matches at segment boundaries only.
    r = h.request(g.addr, "GET", "/v1/productsX")
    assert r.status == 404
    # Dot segments could reach another route through the backend's normalisation: refused.
    for target in ["/any/../v1/exact", "/any/%2e%2E/v1/exact", "/any/./x"]:
        r = h.request(g.addr, "GET", target)
        assert r.status == 400, target
    h.request(g.addr, "GET", "/any/sync")
    o.wait_requests(1, target="/any/sync")
    assert not o.requests(name="exact")
    m = g.metrics()
    assert h.metric(m, "gw7_requests_total", route="-", **{"class": "4xx"}) >= 5


def test_origin_sees_forwarding_headers_and_no_hop_by_hop(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    r = h.request(g.addr, "GET", "/p", [("X-Forwarded-For", "192.0.2.7"),
                                        ("Connection", "X-Secret, keep-alive"),
                                        ("X-Secret", "hop"), ("Keep-Alive", "timeout=5"),
                                        ("TE", "trailers"), ("X-Request-Id", "abc-123.X_y"),
                                        ("Forwarded", "for=192.0.2.7")])
    assert r.status == 200
    assert r.header("x-request-id") == "abc-123.X_y"
    got = {k.lower(): v for k, v in r.json()["headers"]}
    # No trusted_proxies: the client's chains are replaced (test_gw7_trusted_headers.py appends).
    assert got["x-forwarded-for"] == "127.0.0.1"
    assert got["forwarded"] == "for=127.0.0.1;proto=http"
    assert got["x-forwarded-proto"] == "http"
    assert got["x-request-id"] == "abc-123.X_y"
    for hop in ("connection", "x-secret", "keep-alive", "te"):
        assert hop not in got, hop
    # A malformed id is replaced by a generated one; a missing one is generated.
    r = h.request(g.addr, "GET", "/p", [("X-Request-Id", "bad id!")])
    rid = r.header("x-request-id")
    assert rid and rid != "bad id!" and len(rid) == 32
    got = {k.lower(): v for k, v in r.json()["headers"]}
    assert got["x-request-id"] == rid
    r2 = h.request(g.addr, "GET", "/p")
    assert r2.header("x-request-id") not in (None, rid)
    # Hop-by-hop fields of the origin's response do not reach the client either.
    r = h.request(g.addr, "GET", "/p?header=Keep-Alive:timeout%3D9&header=X-Kept:yes")
    assert r.header("keep-alive") is None
    assert r.header("x-kept") == "yes"
