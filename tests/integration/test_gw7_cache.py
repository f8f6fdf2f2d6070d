"""gw7's response cache ([[cache]], route `cache = "name"`) against a real origin whose responses
the test chooses through the query (http_origin.py: header=K:V, etag=V, size=N). Each case asserts
what the client got and how many requests reached the origin: hits and misses, the directives
that forbid storing, Vary variants, Authorization, conditional requests both ways, the request's
own Cache-Control, and the max_bytes bound."""

import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

CACHE = '\n[[cache]]\nname = "hot"\nmax_bytes = "%s"\nmax_object_bytes = "%s"\n'


def start(gw, max_bytes="1MiB", max_object_bytes="64KiB", route_extra=None):
    o = gw.origin("a")
    route = {"name": "cached", "path_prefix": "/c", "upstream": "app", "cache": "hot"}
    route.update(route_extra or {})
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("a")]}],
        routes=[route, {"name": "plain", "path_prefix": "/", "upstream": "app"}],
        extra=CACHE % (max_bytes, max_object_bytes))
    return o, gw.gw7(cfg)


def target(path, *headers, **opts):
    q = [("header", "%s:%s" % kv) for kv in headers] + list(opts.items())
    return path + "?" + urllib.parse.urlencode(q)


def seen(o, g, path):
    o.sync(g.addr)
    return len([e for e in o.requests() if e["target"].split("?")[0] == path])


def get(g, t, headers=(), method="GET", host="example.com"):
    return h.request(g.addr, method, t, list(headers), host=host)


def test_miss_then_hit_with_age_and_head(gw):
    o, g = start(gw)
    t = target("/c/one", ("Cache-Control", "max-age=60"))
    first = get(g, t)
    assert first.status == 200
    assert first.header("cache-status") == "gw7; fwd=miss; fwd-status=200; stored"
    second = get(g, t)
    assert second.status == 200 and second.body == first.body
    assert second.header("cache-status").startswith("gw7; hit")
    assert second.header("age") is not None and int(second.header("age")) >= 0
    head = get(g, t, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.header("content-length") == str(len(first.body))
    assert seen(o, g, "/c/one") == 1
    # Host case does not matter to the upstream; query order and a different path do.
    assert get(g, t, host="EXAMPLE.com").header("cache-status").startswith("gw7; hit")
    assert seen(o, g, "/c/one") == 1
    m = g.metrics()
    assert h.metric(m, "gw7_cache_requests_total", cache="hot", result="hit") == 3
    assert h.metric(m, "gw7_cache_stores_total", cache="hot") == 1
    assert h.metric(m, "gw7_cache_objects", cache="hot") == 1


def test_responses_that_must_not_be_stored(gw):
    o, g = start(gw)
    cases = {
        "/c/nostore": [("Cache-Control", "max-age=60, no-store")],
        "/c/private": [("Cache-Control", "private, max-age=60")],
        "/c/noheuristic": [("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")],
        "/c/cookie": [("Cache-Control", "max-age=60"), ("Set-Cookie", "s=1")],
        "/c/varystar": [("Cache-Control", "max-age=60"), ("Vary", "*")],
        "/c/error": [("Cache-Control", "max-age=60")],
    }
    for path, headers in cases.items():
        opts = {"status": "500"} if path == "/c/error" else {}
        t = target(path, *headers, **opts)
        for _ in range(2):
            r = get(g, t)
            assert "stored" not in r.header("cache-status"), (path, r.header("cache-status"))
        assert seen(o, g, path) == 2, path


def test_set_cookie_stored_when_the_route_allows(gw):
    o, g = start(gw, route_extra={"cache_set_cookie": True})
    t = target("/c/cookie", ("Cache-Control", "max-age=60"), ("Set-Cookie", "s=1"))
    get(g, t)
    assert get(g, t).header("cache-status").startswith("gw7; hit")
    assert seen(o, g, "/c/cookie") == 1


def test_vary_keeps_one_entry_per_variant(gw):
    o, g = start(gw)
    t = target("/c/vary", ("Cache-Control", "max-age=60"), ("Vary", "Accept-Language"))
    en = get(g, t, [("Accept-Language", "en")])
    fr = get(g, t, [("Accept-Language", "fr")])
    assert b'"fr"' in fr.body and b'"en"' in en.body
    en2 = get(g, t, [("Accept-Language", "en")])
    assert en2.header("cache-status").startswith("gw7; hit") and en2.body == en.body
    none = get(g, t)
    assert "fwd=miss" in none.header("cache-status")
    # Another spelling of the varying field cannot be keyed safely: bypass, never a hit.
    odd = get(g, t, [("Accept_Language", "fr")])
    assert not (odd.header("cache-status") or "").startswith("gw7; hit")
    assert seen(o, g, "/c/vary") >= 3


def test_authorization_needs_the_response_to_allow_sharing(gw):
    o, g = start(gw)
    auth = [("Authorization", "Bearer alice")]
    plain = target("/c/auth", ("Cache-Control", "max-age=60"))
    get(g, plain, auth)
    r = get(g, plain, [("Authorization", "Bearer bob")])
    assert not r.header("cache-status").startswith("gw7; hit")
    assert seen(o, g, "/c/auth") == 2
    public = target("/c/authpublic", ("Cache-Control", "public, max-age=60"))
    get(g, public, auth)
    assert get(g, public, auth).header("cache-status").startswith("gw7; hit")
    assert seen(o, g, "/c/authpublic") == 1


def test_conditional_requests_both_ways(gw):
    o, g = start(gw)
    t = target("/c/etag", ("Cache-Control", "max-age=1"), etag="v1")
    first = get(g, t)
    assert first.status == 200 and first.header("etag") == '"v1"'
    # Fresh entry: the client's validator matches, 304 from the cache.
    r = get(g, t, [("If-None-Match", '"v1"')])
    assert r.status == 304 and r.body == b"" and r.header("cache-status").startswith("gw7; hit")
    assert get(g, t, [("If-None-Match", '"v0"')]).status == 200
    assert seen(o, g, "/c/etag") == 1
    time.sleep(2.2)
    # Stale: the client's conditional goes upstream, the origin's 304 refreshes the entry.
    r = get(g, t, [("If-None-Match", '"v1"')])
    assert r.status == 304 and "fwd=stale" in r.header("cache-status")
    assert "stored" in r.header("cache-status")
    assert seen(o, g, "/c/etag") == 2
    again = get(g, t)
    assert again.status == 200 and again.body == first.body
    assert again.header("cache-status").startswith("gw7; hit")
    assert seen(o, g, "/c/etag") == 2
    assert h.metric(g.metrics(), "gw7_cache_revalidations_total", cache="hot") == 1


def test_request_cache_control(gw):
    o, g = start(gw)
    t = target("/c/req", ("Cache-Control", "max-age=60"))
    assert get(g, t, [("Cache-Control", "only-if-cached")]).status == 504
    get(g, t)
    assert get(g, t, [("Cache-Control", "only-if-cached")]).status == 200
    r = get(g, t, [("Cache-Control", "no-cache")])
    assert "fwd=request" in r.header("cache-status")
    assert seen(o, g, "/c/req") == 2
    # The no-cache response was stored again with age 0; after a second it is too old for
    # max-age=0 (an age of 0 would still do, RFC 9111 §5.2.1.1).
    time.sleep(1.1)
    r = get(g, t, [("Cache-Control", "max-age=0")])
    assert "fwd=request" in r.header("cache-status")
    assert seen(o, g, "/c/req") == 3
    # no-store on the request: forwarded and nothing stored.
    t2 = target("/c/req2", ("Cache-Control", "max-age=60"))
    get(g, t2, [("Cache-Control", "no-store")])
    assert "fwd=miss" in get(g, t2).header("cache-status")


def test_unsafe_request_invalidates(gw):
    o, g = start(gw)
    t = target("/c/inv", ("Cache-Control", "max-age=60"))
    get(g, t)
    assert h.request(g.addr, "POST", t, [], body=b"x").status == 200
    assert "fwd=miss" in get(g, t).header("cache-status")


def test_memory_stays_within_max_bytes(gw):
    o, g = start(gw, max_bytes="64KiB", max_object_bytes="8KiB")
    for i in range(160):  # 10x max_bytes of distinct objects
        r = get(g, target("/c/m%d" % i, ("Cache-Control", "max-age=60"), size="4000"))
        assert r.status == 200 and len(r.body) == 4000
    m = g.metrics()
    assert 0 < h.metric(m, "gw7_cache_bytes", cache="hot") <= 64 * 1024
    assert h.metric(m, "gw7_cache_evictions_total", cache="hot") > 100
    big = target("/c/big", ("Cache-Control", "max-age=60"), size="20000")
    assert len(get(g, big).body) == 20000
    assert len(get(g, big).body) == 20000
    assert seen(o, g, "/c/big") == 2
