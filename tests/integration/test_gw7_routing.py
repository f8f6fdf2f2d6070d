"""gw7 routing against real origins: host (exact, wildcard), path (exact, prefix, template,
regex), methods (405 with Allow), header matches, 404 with a JSON body, strip_prefix and
prefix_rewrite, and what the origin receives (path, query, forwarding headers). Then path
normalisation (what is decoded, merged, refused, and the options), trailing slash, case, the 405
that never falls through, and host normalisation."""

import hashlib
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
    # The three requests no route matched (not the 405, not the refused dot segments).
    assert h.metric(m, "gw7_errors_total", kind="no_route") == 3


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


KEY = "s3cret"
AUTH = ('\n[[auth]]\nname = "partners"\ntype = "api_key"\nheader = "X-API-Key"\n'
        'keys = [{ consumer = "alice", sha256 = "%s" }]\n' % hashlib.sha256(KEY.encode()).hexdigest())


def protected_config(o, gw7=None):
    ups = [{"name": n, "servers": [o.address(n)]} for n in ("admin", "cat", "status", "legacy",
                                                            "hosted", "all")]
    routes = [
        {"name": "admin", "path_prefix": "/admin", "upstream": "admin", "auth": "partners"},
        {"name": "cat", "path_template": "/catalog/{id}", "methods": ["GET"], "upstream": "cat"},
        {"name": "status", "path": "/status", "upstream": "status"},
        {"name": "legacy", "path_prefix": "/Legacy", "case_insensitive": True,
         "upstream": "legacy"},
        {"name": "hosted", "host": "api.example.org", "path_prefix": "/", "methods": ["GET"],
         "upstream": "hosted"},
        {"name": "all", "path_prefix": "/", "upstream": "all"},
    ]
    return h.render_config(gw7=gw7, upstreams=ups, routes=routes, extra=AUTH)


NAMES = ("admin", "cat", "status", "legacy", "hosted", "all")


def errors(g, kind):
    return h.metric(g.metrics(), "gw7_errors_total", kind=kind) or 0


def test_paths_are_normalised_before_routing_and_forwarded_normalised(gw):
    o = gw.origin(*NAMES)
    g = gw.gw7(protected_config(o))
    # Each spelling of /admin reaches the auth route, never the catch-all.
    for target in ["/admin/x", "/%61dmin/x", "/%61%64%6D%69%6E/x", "//admin/x", "/admin//x",
                   "///admin"]:
        r = h.request(g.addr, "GET", target)
        assert r.status == 401, (target, r)
    # Forwarded as normalised: unreserved escapes decoded, others upper-case hex, slashes merged;
    # the query is left alone.
    cases = [
        ("/%63atalog/7", "cat", "/catalog/7"),
        ("/x/%7e%2d%5F", "all", "/x/~-_"),
        ("/x/a%3ab%c3%a9", "all", "/x/a%3Ab%C3%A9"),
        ("/x//y///z?q=%2f&r=a//b", "all", "/x/y/z?q=%2f&r=a//b"),
        ("/x/%252F", "all", "/x/%252F"),  # decoded at most once
        ("/admin/%41?k", "admin", "/admin/A?k"),
    ]
    for target, name, upstream_target in cases:
        r = h.request(g.addr, "GET", target, [("X-API-Key", KEY)])
        assert r.status == 200, (target, r)
        assert r.header("x-origin") == name, (target, r.header("x-origin"))
        assert r.json()["target"] == upstream_target, target


def test_hostile_paths_are_refused_with_a_counted_kind(gw):
    o = gw.origin(*NAMES)
    g = gw.gw7(protected_config(o))
    cases = [
        ("/public/..%2Fadmin", "escaped_slash"),
        ("/x%2fy", "escaped_slash"),
        ("/x%5Cy", "escaped_slash"),
        ("/%00/admin", "bad_path"),
        ("/x/..", "dot_segment"),
        ("/x/%2e%2E/admin", "dot_segment"),
        ("/x/.%2e/admin", "dot_segment"),
        ("/admin;x/", "path_parameter"),
        ("/public/..;/admin", "path_parameter"),
        ("/x%3Bjsessionid=1", "path_parameter"),
    ]
    for target, kind in cases:
        before = errors(g, kind)
        r = h.request(g.addr, "GET", target)
        assert r.status == 400, (target, r)
        assert r.header("content-type") == "application/json"
        assert r.json()["error"]["status"] == 400
        assert errors(g, kind) == before + 1, (target, kind)
    # The parser refuses what is not pchar (backslash, broken escapes, raw UTF-8, space, '#').
    for target in [b"/x\\..\\admin", b"/a%zz", b"/a%4", b"/caf\xc3\xa9", b"/a#b"]:
        data = b"GET " + target + b" HTTP/1.1\r\nHost: example.com\r\n\r\n"
        r, _ = h.raw(g.addr, data)
        assert r is not None and r.status == 400, target
    # Nothing of it reached an origin.
    h.request(g.addr, "GET", "/sync")
    o.wait_requests(1, target="/sync")
    assert [r["target"] for r in o.requests()] == ["/sync"]


def test_path_options_keep_no_merge_strip(gw):
    o = gw.origin(*NAMES)
    g = gw.gw7(protected_config(o, gw7={"escaped_slashes": "keep", "merge_slashes": False,
                                        "path_parameters": "strip"}))
    cases = [
        ("/x/a%2fb", "all", "/x/a%2Fb"),  # kept, still encoded, upper-case hex
        ("/x/a%5cb", "all", "/x/a%5Cb"),
        ("/x//y", "all", "/x//y"),  # not merged
        ("/x/p;v=1/q;w", "all", "/x/p/q"),  # parameters stripped, then routed and forwarded
        ("/admin;jsessionid=1/x", "admin", "/admin/x"),
    ]
    for target, name, upstream_target in cases:
        r = h.request(g.addr, "GET", target, [("X-API-Key", KEY)])
        assert r.status == 200, (target, r)
        assert r.header("x-origin") == name, target
        assert r.json()["target"] == upstream_target, target
    assert h.request(g.addr, "GET", "/admin;x/y").status == 401  # stripped: the auth route
    for target in ["/..;/admin", "/x/%3B", "/x/..%2Fadmin/.."]:
        assert h.request(g.addr, "GET", target).status == 400, target


def test_trailing_slash_case_and_405_without_fall_through(gw):
    o = gw.origin(*NAMES)
    g = gw.gw7(protected_config(o))
    r = h.request(g.addr, "GET", "/status/")
    assert r.status == 200 and r.header("x-origin") == "status"
    assert r.json()["target"] == "/status/"
    r = h.request(g.addr, "GET", "/catalog/7/")
    assert r.status == 200 and r.header("x-origin") == "cat"
    # 405 from the most specific route; never the "/" catch-all.
    for method in ["POST", "DELETE", "get"]:
        r = h.request(g.addr, method, "/catalog/7")
        assert r.status == 405, (method, r)
        assert r.header("allow") == "GET, HEAD"
        assert r.json()["error"]["status"] == 405
    # Nor a less specific host group.
    r = h.request(g.addr, "POST", "/x", host="api.example.org")
    assert r.status == 405 and r.header("allow") == "GET, HEAD"
    assert h.request(g.addr, "POST", "/x", host="other.example.org").header("x-origin") == "all"
    # case_insensitive route: any case, forwarded as sent.
    r = h.request(g.addr, "GET", "/LEGACY/Page")
    assert r.status == 200 and r.header("x-origin") == "legacy"
    assert r.json()["target"] == "/LEGACY/Page"
    # Case-sensitive by default; a case variant of an auth route is 404, not the catch-all.
    for target in ["/ADMIN/x", "/Admin", "/%41dmin"]:
        before = errors(g, "case_mismatch")
        r = h.request(g.addr, "GET", target)
        assert r.status == 404, (target, r)
        assert errors(g, "case_mismatch") == before + 1
    r = h.request(g.addr, "GET", "/Catalog/7")  # no auth involved: the catch-all serves it
    assert r.status == 200 and r.header("x-origin") == "all"
    h.request(g.addr, "GET", "/sync")
    o.wait_requests(1, target="/sync")
    assert not o.requests(name="admin")


def test_host_is_normalised_and_absolute_form_authority_routes(gw):
    o = gw.origin(*NAMES)
    g = gw.gw7(protected_config(o))
    for host in ["api.example.org", "API.Example.ORG", "api.example.org.", "API.EXAMPLE.ORG.:8001"]:
        r = h.request(g.addr, "GET", "/x", host=host)
        assert r.status == 200 and r.header("x-origin") == "hosted", host
    # Absolute form: the target's authority routes, and goes upstream as Host.
    data = (b"GET http://api.example.org/abs HTTP/1.1\r\nHost: api.example.org\r\n"
            b"Connection: close\r\n\r\n")
    r, _ = h.raw(g.addr, data)
    assert r.status == 200 and r.header("x-origin") == "hosted", r
    got = [r for r in o.requests(name="hosted") if r["target"] == "/abs"]
    assert got and {k.lower(): v for k, v in got[0]["headers"]}["host"] == "api.example.org"
    # A Host that differs from the target's authority is refused by the parser.
    data = (b"GET http://api.example.org/abs HTTP/1.1\r\nHost: other.example.com\r\n"
            b"Connection: close\r\n\r\n")
    r, _ = h.raw(g.addr, data)
    assert r.status == 400, r
