"""gw7's response cache ([[cache]], route `cache = "name"`) against a real origin whose responses
the test chooses through the query (http_origin.py: header=K:V, etag=V, size=N). Each case asserts
what the client got and how many requests reached the origin: hits and misses, the directives
that forbid storing, Vary variants, Authorization, conditional requests both ways, the request's
own Cache-Control, and the max_bytes bound."""

import concurrent.futures
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

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


def get(g, t, headers=(), method="GET", host="example.com", timeout=10):
    return h.request(g.addr, method, t, list(headers), host=host, timeout=timeout)


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


# ---- stale responses, coalescing, purge: a scripted origin whose answers the test changes ----

class ScriptedOrigin:
    """An HTTP/1.1 keep-alive origin in this process. Each path answers what `set` last said
    (status, Cache-Control, ETag, Last-Modified, body; gate: a threading.Event the answer waits
    for) and honours If-None-Match / If-Modified-Since with 304; every request is recorded (path,
    headers) before it is answered.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.paths = {}
        self.log = []
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if origin.down:  # stopped: kept-alive connections close without an answer
                    self.close_connection = True
                    return
                path = self.path.split("?")[0]
                with origin.lock:
                    origin.log.append((path, {k.lower(): v for k, v in self.headers.items()}))
                    spec = dict(origin.paths.get(path, {"status": 404}))
                if spec.get("gate"):
                    spec["gate"].wait(60)
                fields = [("Cache-Control", spec["cc"])] if spec.get("cc") else []
                if spec.get("etag"):
                    fields.append(("ETag", spec["etag"]))
                if spec.get("lm"):
                    fields.append(("Last-Modified", spec["lm"]))
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                status, body = spec["status"], spec.get("body", b"")
                if status == 200 and ((inm and spec.get("etag") and inm == spec["etag"]) or
                                      (not inm and ims and spec.get("lm") and ims == spec["lm"])):
                    status, body = 304, b""
                self.send_response(status)
                for k, v in fields:
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_GET

        self.down = False
        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024  # the listen backlog: a burst of connects must not stall

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.address = "127.0.0.1:%d" % self.server.server_address[1]

    def set(self, path, **spec):
        spec.setdefault("status", 200)
        with self.lock:
            self.paths[path] = spec

    def requests(self, path):
        with self.lock:
            return [headers for p, headers in self.log if p == path]

    def stop(self):
        self.down = True
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def origin():
    o = ScriptedOrigin()
    yield o
    o.stop()


def start_scripted(gw, origin, cache_extra="", gw7=None):
    cfg = h.render_config(
        gw7=gw7,
        upstreams=[{"name": "app", "servers": [origin.address], "retries": 0}],
        routes=[{"name": "cached", "path_prefix": "/c", "upstream": "app", "cache": "hot"}],
        extra=CACHE % ("1MiB", "64KiB") + cache_extra)
    return gw.gw7(cfg)


def test_revalidation_with_stored_validators_both_ways(gw, origin):
    g = start_scripted(gw, origin)
    origin.set("/c/rv", cc="max-age=1", etag='"v1"', body=b"version one")
    assert get(g, "/c/rv").body == b"version one"
    time.sleep(1.2)
    # Stale: gw7 validates with its own ETag; the origin's 304 gives the client the stored 200.
    r = get(g, "/c/rv")
    assert r.status == 200 and r.body == b"version one"
    assert r.header("cache-status") == "gw7; fwd=stale; fwd-status=304; stored"
    assert origin.requests("/c/rv")[-1].get("if-none-match") == '"v1"'
    assert get(g, "/c/rv").header("cache-status").startswith("gw7; hit")
    assert len(origin.requests("/c/rv")) == 2
    # A client's own validator is replaced by the stored one; the client gets a 304 only when
    # its validator matches what it would get.
    time.sleep(1.2)
    r = get(g, "/c/rv", [("If-None-Match", '"v0"')])
    assert r.status == 200 and r.body == b"version one"
    assert origin.requests("/c/rv")[-1].get("if-none-match") == '"v1"'
    time.sleep(1.2)
    r = get(g, "/c/rv", [("If-None-Match", '"v1"')])
    assert r.status == 304 and r.body == b""
    assert len(origin.requests("/c/rv")) == 4
    # Last-Modified alone validates too.
    lm = "Mon, 01 Jan 2024 00:00:00 GMT"
    origin.set("/c/lm", cc="max-age=1", lm=lm, body=b"dated")
    get(g, "/c/lm")
    time.sleep(1.2)
    r = get(g, "/c/lm")
    assert r.status == 200 and r.body == b"dated" and "fwd-status=304" in r.header("cache-status")
    assert origin.requests("/c/lm")[-1].get("if-modified-since") == lm
    # A changed resource: the origin's 200 replaces the entry.
    origin.set("/c/rv", cc="max-age=60", etag='"v2"', body=b"version two")
    time.sleep(1.2)
    r = get(g, "/c/rv")
    assert r.body == b"version two" and "fwd-status=200; stored" in r.header("cache-status")
    assert get(g, "/c/rv").body == b"version two"
    assert h.metric(g.metrics(), "gw7_cache_revalidations_total", cache="hot") == 4


def test_stale_while_revalidate_serves_at_once_and_refreshes_once(gw, origin):
    g = start_scripted(gw, origin)
    origin.set("/c/swr", cc="max-age=1, stale-while-revalidate=60", body=b"old")
    assert get(g, "/c/swr").body == b"old"
    time.sleep(1.2)
    # The refresh waits at the origin; clients meanwhile get the stale response at once, and only
    # one refresh runs.
    gate = threading.Event()
    origin.set("/c/swr", cc="max-age=60", body=b"new", gate=gate)
    for _ in range(5):
        r = get(g, "/c/swr")
        assert r.status == 200 and r.body == b"old"
        assert "detail=stale-while-revalidate" in r.header("cache-status")
    h.wait_until(lambda: len(origin.requests("/c/swr")) == 2, 10, "the refresh at the origin")
    gate.set()
    h.wait_until(lambda: get(g, "/c/swr").body == b"new", 10, "the background refresh")
    assert len(origin.requests("/c/swr")) == 2
    r = get(g, "/c/swr")
    assert r.body == b"new" and r.header("cache-status").startswith("gw7; hit")
    m = g.metrics()
    assert h.metric(m, "gw7_cache_stale_served_total", cache="hot") >= 5  # and the polls
    assert h.metric(m, "gw7_cache_refreshes_total", cache="hot") == 1


def test_background_refresh_skips_auth_but_keeps_what_it_established(gw, origin):
    key = "alice-key-0123456789"
    auth = ('\n[[auth]]\nname = "keys"\ntype = "api_key"\nheader = "X-API-Key"\n'
            'keys = [{ consumer = "alice", sha256 = "%s" }]\n'
            % hashlib.sha256(key.encode()).hexdigest())
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [origin.address], "retries": 0}],
        routes=[{"name": "cached", "path_prefix": "/c", "upstream": "app", "cache": "hot",
                 "auth": "keys"}],
        extra=CACHE % ("1MiB", "64KiB") + 'key = ["consumer"]\n' + auth)
    g = gw.gw7(cfg)
    origin.set("/c/mine", cc="max-age=1, stale-while-revalidate=60", body=b"old")
    assert get(g, "/c/mine").status == 401
    assert get(g, "/c/mine", [("X-API-Key", key)]).body == b"old"
    time.sleep(1.2)
    gate = threading.Event()
    origin.set("/c/mine", cc="max-age=60", body=b"new", gate=gate)
    r = get(g, "/c/mine", [("X-API-Key", key)])
    assert r.body == b"old" and "stale-while-revalidate" in r.header("cache-status")
    h.wait_until(lambda: len(origin.requests("/c/mine")) == 2, 10, "the refresh at the origin")
    refresh = origin.requests("/c/mine")[-1]
    assert refresh.get("x-consumer") == "alice"  # what auth adds upstream
    assert "x-api-key" not in refresh  # and what it removes
    gate.set()
    # Stored under alice's key: she gets the new response, nobody unauthenticated gets anything.
    h.wait_until(lambda: get(g, "/c/mine", [("X-API-Key", key)]).body == b"new", 10, "refreshed")
    assert get(g, "/c/mine").status == 401
    assert len(origin.requests("/c/mine")) == 2


def test_stale_if_error_with_origin_500_and_origin_down(gw, origin):
    g = start_scripted(gw, origin)
    origin.set("/c/sie", cc="max-age=1, stale-if-error=60", body=b"keep me")
    origin.set("/c/plain", cc="max-age=1", body=b"plain")
    get(g, "/c/sie")
    get(g, "/c/plain")
    time.sleep(1.2)
    origin.set("/c/sie", status=500, body=b"broken")
    origin.set("/c/plain", status=500, body=b"broken")
    r = get(g, "/c/sie")
    assert r.status == 200 and r.body == b"keep me"
    assert r.header("cache-status") == "gw7; fwd=stale; fwd-status=500; detail=stale-if-error"
    # Without stale-if-error the error passes, unless the request allows it.
    assert get(g, "/c/plain").status == 500
    r = get(g, "/c/plain", [("Cache-Control", "stale-if-error=60")])
    assert r.status == 200 and r.body == b"plain"
    # The origin down: gw7's own 502 is replaced the same way.
    origin.stop()
    r = get(g, "/c/sie")
    assert r.status == 200 and r.body == b"keep me"
    assert "fwd-status=502; detail=stale-if-error" in r.header("cache-status")
    assert get(g, "/c/plain").status == 502
    assert h.metric(g.metrics(), "gw7_cache_stale_if_error_total", cache="hot") == 3


def test_must_revalidate_forbids_serving_stale(gw, origin):
    g = start_scripted(gw, origin)
    cc = "max-age=1, must-revalidate, stale-while-revalidate=60, stale-if-error=60"
    origin.set("/c/mr", cc=cc, body=b"strict")
    get(g, "/c/mr")
    time.sleep(1.2)
    r = get(g, "/c/mr")  # validated upstream before use, not served stale
    assert r.body == b"strict" and "fwd=stale" in r.header("cache-status")
    assert len(origin.requests("/c/mr")) == 2
    time.sleep(1.2)
    origin.set("/c/mr", status=503, body=b"down")
    assert get(g, "/c/mr").status == 503
    time.sleep(1.2)
    r = get(g, "/c/mr", [("Cache-Control", "stale-if-error=60")])
    assert r.status == 503


def _concurrent_gets(g, path, n, gate, misses_before=0):
    """n GETs at once; the origin's answer waits at `gate` until all n have reached gw7 (each
    counts one miss before it waits or goes upstream)."""
    def one(_):
        try:
            return get(g, path, timeout=60)
        except Exception as e:  # noqa: BLE001 - reported below
            return e

    def misses():
        return h.metric(g.metrics(), "gw7_cache_requests_total", cache="hot", result="miss")
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(one, i) for i in range(n)]
        h.wait_until(lambda: misses() == misses_before + n, 60, "%d misses" % n, interval=0.1)
        gate.set()
        return [f.result() for f in futures]


def test_coalescing_sends_one_request_for_500_concurrent_misses(gw, origin):
    g = start_scripted(gw, origin, cache_extra='coalesce_timeout = "30s"\n')
    gate = threading.Event()
    origin.set("/c/cold", cc="max-age=60", body=b"x" * 1000, gate=gate)
    results = _concurrent_gets(g, "/c/cold", 500, gate)
    errors = [r for r in results if not isinstance(r, h.Response)]
    assert not errors, errors[:3]
    assert all(r.status == 200 and r.body == b"x" * 1000 for r in results)
    assert len(origin.requests("/c/cold")) == 1
    m = g.metrics()
    coalesced = h.metric(m, "gw7_cache_coalesced_total", cache="hot")
    hits = h.metric(m, "gw7_cache_requests_total", cache="hot", result="hit")
    assert coalesced == 499 and hits == 0
    # A response that may not be stored releases the waiters: they go upstream themselves.
    gate = threading.Event()
    origin.set("/c/nostore", cc="no-store", body=b"y", gate=gate)
    results = _concurrent_gets(g, "/c/nostore", 20, gate, misses_before=500)
    assert all(isinstance(r, h.Response) and r.status == 200 for r in results), results
    assert len(origin.requests("/c/nostore")) == 20


def test_purge_needs_the_token(gw, origin, tmp_path):
    token = "s3cret-token-0123456789"
    (tmp_path / "purge.token").write_text(token + "\n")
    g = start_scripted(gw, origin, cache_extra='purge_token_file = "%s"\n' %
                       (tmp_path / "purge.token") +
                       '\n[[cache]]\nname = "closed"\nmax_bytes = "1MiB"\n')
    for p in ("/c/p/1", "/c/p/2", "/c/q"):
        origin.set(p, cc="max-age=60", body=p.encode())
        get(g, p)
        assert get(g, p).header("cache-status").startswith("gw7; hit")

    def purge(query, auth=None, name="hot", method="POST"):
        headers = [("Authorization", auth)] if auth else []
        path = "/cache/%s/purge" % name if method == "POST" else "/cache/%s" % name
        return h.request(g.admin, method, path + "?" + query, headers)

    assert purge("path=/c/q").status == 401
    assert purge("path=/c/q", "Bearer wrong-token-0123456789").status == 401
    assert purge("path=/c/q", "Basic " + token).status == 401
    assert purge("path=/c/q", "Bearer " + token, name="closed").status == 403
    assert purge("path=/c/q", "Bearer " + token, name="nope").status == 404
    assert get(g, "/c/q").header("cache-status").startswith("gw7; hit")
    r = purge("path=/c/q", "Bearer " + token)
    assert r.status == 200 and r.json() == {"cache": "hot", "purged": 1}
    assert "fwd=miss" in get(g, "/c/q").header("cache-status")
    assert get(g, "/c/p/1").header("cache-status").startswith("gw7; hit")
    r = purge("prefix=/c/p/", "Bearer " + token, method="PURGE")
    assert r.status == 200 and r.json()["purged"] == 2
    assert "fwd=miss" in get(g, "/c/p/2").header("cache-status")
    assert purge("prefix=c", "Bearer " + token).status == 400
    assert purge("", "Bearer " + token).status == 400
    assert h.request(g.admin, "DELETE", "/metrics").status == 405
    assert h.metric(g.metrics(), "gw7_cache_purged_total", cache="hot") == 3


def curl_h2(addr, path, *args):
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
                        "-H", "Host: example.com", *args,
                        "http://%s:%d%s" % (addr[0], addr[1], path)],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
    return lines[0], fields


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_http2_clients_share_entries_with_http1(gw, origin):
    g = start_scripted(gw, origin, gw7={"http2": True})
    origin.set("/c/h1first", cc="max-age=60", body=b"one")
    origin.set("/c/h2first", cc="max-age=60", body=b"two")
    assert "fwd=miss" in get(g, "/c/h1first").header("cache-status")
    status, fields = curl_h2(g.addr, "/c/h1first")
    assert status.startswith("HTTP/2 200") and fields["cache-status"].startswith("gw7; hit")
    status, fields = curl_h2(g.addr, "/c/h2first")
    assert "fwd=miss" in fields["cache-status"]
    assert get(g, "/c/h2first").header("cache-status").startswith("gw7; hit")
    status, fields = curl_h2(g.addr, "/c/h2first", "-I")  # HEAD after GET
    assert status.startswith("HTTP/2 200") and fields["cache-status"].startswith("gw7; hit")
    assert fields["content-length"] == "3"
    assert len(origin.requests("/c/h1first")) == 1 and len(origin.requests("/c/h2first")) == 1


def test_the_gw7_admin_token_purges_any_cache(gw, origin, tmp_path):
    """admin_token_file's token may purge a cache without its own purge_token_file; loopback
    alone (no token) never purges."""
    admin = "admin-token-0123456789abcdef"
    path = tmp_path / "admin.token"
    path.write_text(admin + "\n")
    os.chmod(path, 0o600)
    g = start_scripted(gw, origin, gw7={"admin_token_file": str(path)})
    origin.set("/c/a", cc="max-age=60", body=b"a")
    get(g, "/c/a")
    assert get(g, "/c/a").header("cache-status").startswith("gw7; hit")

    def purge(auth=None):
        headers = [("Authorization", auth)] if auth else []
        return h.request(g.admin, "POST", "/cache/hot/purge?path=/c/a", headers)

    assert purge().status == 403  # no purge_token_file and no admin token: not enabled
    assert purge("Bearer wrong-token-0123456789abcd").status == 403
    r = purge("Bearer " + admin)
    assert r.status == 200 and r.json() == {"cache": "hot", "purged": 1}
    assert "fwd=miss" in get(g, "/c/a").header("cache-status")
