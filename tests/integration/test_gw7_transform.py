"""A route's transforms against a real origin (http_origin.py) and real clients (raw HTTP/1.1,
curl over HTTP/1.1 and HTTP/2 prior knowledge): request_headers / response_headers set, add and
remove; the CORS policy (preflights answered by gw7 before auth, hostile origins refused, the
upstream's own Access-Control-* fields replaced); response compression (gzip and br negotiated by
Accept-Encoding, streamed, never for encoded bodies, ranges, HEAD, 204/304 or no-transform); and
the config refusals of all three."""

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.parse
import zlib

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")

SHOP = "https://shop.example.com"
KEY = "s3cret"
AUTH = ('\n[[auth]]\nname = "partners"\ntype = "api_key"\nheader = "X-API-Key"\n'
        'keys = [{ consumer = "alice", sha256 = "%s", scopes = ["orders:read"] }]\n'
        % hashlib.sha256(KEY.encode()).hexdigest())


def target(path, *headers, **opts):
    q = [("header", "%s:%s" % kv) for kv in headers] + list(opts.items())
    return path + "?" + urllib.parse.urlencode(q) if q else path


def start(gw, route_extra, http2=False, extra="", more_routes=()):
    o = gw.origin("a")
    route = {"name": "t", "path_prefix": "/t", "upstream": "app"}
    route.update(route_extra)
    cfg = h.render_config(gw7={"http2": True} if http2 else None,
                          upstreams=[{"name": "app", "servers": [o.address("a")]}],
                          routes=[route, *more_routes,
                                  {"name": "plain", "path_prefix": "/", "upstream": "app"}],
                          extra=extra)
    return o, gw.gw7(cfg)


def get(g, t, headers=(), method="GET"):
    return h.request(g.addr, method, t, list(headers))


def all_values(r, name):
    return [v for k, v in r.headers if k.lower() == name.lower()]


def echoed(r, name):
    """The values of request header `name` as the origin received it (from its JSON echo)."""
    return [v for k, v in r.json()["headers"] if k.lower() == name.lower()]


def curl(addr, path, *args, http2=False):
    """(status, headers as [(name, value)], body) from curl; headers lower-cased names."""
    cmd = ["curl", "-sS", "-D", "-", "-o", "/dev/stderr"]
    if http2:
        cmd.append("--http2-prior-knowledge")
    r = subprocess.run(cmd + list(args) + ["http://127.0.0.1:%d%s" % (addr[1], path)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr[-500:]
    lines = r.stdout.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = []
    for line in lines[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        headers.append((k.strip().lower(), v.strip()))
    return status, headers, r.stderr


def hv(headers, name):
    return [v for k, v in headers if k == name]


def check_config(tmp_path, route_extra, extra=""):
    """gw7 --check on a config with one route carrying route_extra: (exit code, stderr)."""
    raw = route_extra if isinstance(route_extra, str) else ""
    cfg = h.render_config(upstreams=[{"name": "app", "servers": ["127.0.0.1:9"]}],
                          routes=[dict({"name": "t", "path_prefix": "/", "upstream": "app"},
                                       **({} if raw else route_extra))])
    cfg += raw + "\n" + extra
    path = os.path.join(str(tmp_path), "check.toml")
    with open(path, "w") as f:
        f.write(cfg)
    r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout + r.stderr


# ---- request_headers / response_headers ----

def test_request_headers_set_add_remove_and_the_older_add_request_headers(gw):
    o, g = start(gw, {
        "request_headers": {"set": {"X-Env": "prod"}, "add": {"X-Tag": "gw"},
                            "remove": ["X-Debug", "Cookie"]},
        "add_request_headers": {"X-Old": "1"}})
    r = get(g, "/t/echo", [("X-Env", "client"), ("x-env", "again"), ("X-Debug", "1"),
                           ("Cookie", "a=b"), ("X-Tag", "client")])
    assert r.status == 200
    assert echoed(r, "x-env") == ["prod"]
    assert echoed(r, "x-debug") == [] and echoed(r, "cookie") == []
    assert sorted(echoed(r, "x-tag")) == ["client", "gw"]
    assert echoed(r, "x-old") == ["1"]
    # Another route is untouched.
    r = get(g, "/other", [("X-Debug", "1")])
    assert echoed(r, "x-debug") == ["1"] and echoed(r, "x-env") == []


RESPONSE_EDITS = {"response_headers": {
    "set": {"Strict-Transport-Security": "max-age=31536000", "X-Origin": "hidden"},
    "add": {"X-Added": "1"},
    "remove": ["Server", "X-Secret", "Cache-Status"]}}


def test_response_headers_set_add_remove_http1(gw):
    o, g = start(gw, dict(RESPONSE_EDITS, cache="hot"),
                 extra='\n[[cache]]\nname = "hot"\nmax_bytes = "1MiB"\n')
    t = target("/t/r", ("Server", "origin/1.0"), ("X-Secret", "s"), ("X-Kept", "k"),
               ("Cache-Control", "max-age=60"))
    for _ in range(2):  # a miss from upstream, then a hit from the cache: the same edits
        r = get(g, t)
        assert r.status == 200
        assert r.header("server") is None and r.header("x-secret") is None
        assert r.header("cache-status") is None  # a field another filter added, removed too
        assert all_values(r, "x-origin") == ["hidden"]
        assert r.header("strict-transport-security") == "max-age=31536000"
        assert r.header("x-added") == "1" and r.header("x-kept") == "k"
        assert r.header("x-request-id")
    # The other route keeps the upstream's fields.
    r = get(g, target("/plain", ("Server", "origin/1.0")))
    assert r.header("server") == "origin/1.0" and r.header("strict-transport-security") is None


def test_response_headers_on_gw7_own_answers(gw):
    dead = h.closed_port()
    o = gw.origin("a")
    cfg = h.render_config(
        upstreams=[{"name": "dead", "servers": ["127.0.0.1:%d" % dead], "connect_timeout": "1s",
                    "retries": 0}],
        routes=[dict({"name": "t", "path_prefix": "/", "upstream": "dead"}, **RESPONSE_EDITS)])
    g = gw.gw7(cfg)
    r = get(g, "/x")
    assert r.status in (502, 503)
    assert r.header("strict-transport-security") == "max-age=31536000"
    assert r.header("x-added") == "1"


@needs_curl
def test_response_headers_http2(gw):
    o, g = start(gw, RESPONSE_EDITS, http2=True)
    status, headers, body = curl(g.addr, target("/t/r", ("Server", "origin/1.0"),
                                                ("X-Secret", "s")), http2=True)
    assert status == 200
    assert hv(headers, "server") == [] and hv(headers, "x-secret") == []
    assert hv(headers, "x-origin") == ["hidden"]
    assert hv(headers, "strict-transport-security") == ["max-age=31536000"]
    assert hv(headers, "x-added") == ["1"]


@pytest.mark.parametrize("route_extra,message", [
    ({"request_headers": {"set": {"Connection": "close"}}}, "hop-by-hop"),
    ({"request_headers": {"remove": ["Host"]}}, "routes the request"),
    ({"request_headers": {"set": {"Content-Length": "5"}}}, "frames the body"),
    ({"request_headers": {"add": {"Transfer-Encoding": "chunked"}}}, "hop-by-hop"),
    ({"request_headers": {"set": {"X-Forwarded-For": "1.2.3.4"}}}, "gw7's own"),
    ({"response_headers": {"remove": ["Content-Length"]}}, "frames the body"),
    ({"response_headers": {"set": {"Content-Encoding": "gzip"}}}, "use compress"),
    ({"response_headers": {"set": {"Upgrade": "h2c"}}}, "hop-by-hop"),
    ({"response_headers": {"set": {"X-A": "a\r\nX-Injected: 1"}}}, "no CR, LF"),
    ({"response_headers": {"set": {"X-A": "a\u0000b"}}}, "no CR, LF"),
    ('request_headers = { set = { "X Bad" = "v" } }', "not a valid header name"),
    ({"request_headers": {"set": {"X-A": "1"}, "remove": ["x-a"]}}, "named twice"),
    ({"request_headers": {"sett": {"X-A": "1"}}}, "unknown key"),
])
def test_header_edits_refused_at_load(tmp_path, route_extra, message):
    code, text = check_config(tmp_path, route_extra)
    assert code == 2, text
    assert message in text, text
    assert "check.toml:" in text
    assert "request_headers" in text or "response_headers" in text


# ---- CORS ----

CORS = {"origins": [SHOP, "https://*.example.org"], "methods": ["GET", "PUT"],
        "headers": ["Authorization", "Content-Type", "X-API-Key"],
        "expose_headers": ["X-Request-Id", "X-Origin"], "credentials": True, "max_age": "10m"}


def cors_gw(gw, http2=False, **route):
    r = {"cors": CORS, "auth": "partners"}
    r.update(route)
    return start(gw, r, http2=http2, extra=AUTH)


def preflight(g, origin, method="PUT", req_headers="authorization, content-type", path="/t/x"):
    headers = [("Origin", origin), ("Access-Control-Request-Method", method)]
    if req_headers is not None:
        headers.append(("Access-Control-Request-Headers", req_headers))
    return get(g, path, headers, method="OPTIONS")


def no_cors_fields(r):
    return [k for k, _ in r.headers if k.lower().startswith("access-control-")] == []


def test_cors_preflight_answered_by_gw7_before_auth(gw):
    o, g = cors_gw(gw)
    r = preflight(g, SHOP)
    assert r.status == 204 and r.body == b""
    assert r.header("access-control-allow-origin") == SHOP
    assert r.header("access-control-allow-credentials") == "true"
    assert r.header("access-control-allow-methods") == "GET, PUT"
    assert r.header("access-control-allow-headers") == "authorization, content-type, x-api-key"
    assert r.header("access-control-max-age") == "600"
    assert "Origin" in all_values(r, "vary")
    o.sync(g.addr)
    assert [e for e in o.requests() if e["target"].startswith("/t/")] == []


def test_cors_actual_requests_still_need_auth_and_get_the_headers(gw):
    o, g = cors_gw(gw)
    # The upstream's own permissive CORS fields must not undo the route's policy.
    t = target("/t/x", ("Access-Control-Allow-Origin", "*"),
               ("Access-Control-Allow-Credentials", "true"))
    denied = get(g, t, [("Origin", SHOP)])
    assert denied.status == 401
    assert denied.header("access-control-allow-origin") == SHOP  # the page may read the 401
    ok = get(g, t, [("Origin", SHOP), ("X-API-Key", KEY)])
    assert ok.status == 200
    assert all_values(ok, "access-control-allow-origin") == [SHOP]
    assert all_values(ok, "access-control-allow-credentials") == ["true"]
    assert ok.header("access-control-expose-headers") == "X-Request-Id, X-Origin"
    assert "Origin" in all_values(ok, "vary")
    # Without Origin (not a CORS request): no CORS fields, the upstream's are still removed.
    plain = get(g, t, [("X-API-Key", KEY)])
    assert plain.status == 200 and no_cors_fields(plain)
    assert "Origin" in all_values(plain, "vary")


HOSTILE_ORIGINS = [
    "https://shop.example.com.evil.com",
    "https://evilshop.example.com",
    "https://evil.com#https://shop.example.com",
    "https://shop.example.com@evil.com",
    "https://evil.com/https://shop.example.com",
    "http://shop.example.com",
    "https://shop.example.com:8443",
    "https://shop.example.com.",
    "https://shop.example.com/",
    "null",
    "https://example.org",
    "https://a.example.org.evil.com",
    "https://a.example.orgx",
    "https://a.example.org:444",
    "https://*.example.org",
    "shop.example.com",
    "",
]


@pytest.mark.parametrize("origin", HOSTILE_ORIGINS)
def test_cors_hostile_origins_get_no_cors_fields(gw, origin):
    o, g = cors_gw(gw)
    r = preflight(g, origin)
    assert r.status == 403 and no_cors_fields(r)
    r = get(g, "/t/x", [("Origin", origin), ("X-API-Key", KEY)])
    assert r.status == 200 and no_cors_fields(r)


def test_cors_allowed_spellings_and_patterns(gw):
    o, g = cors_gw(gw)
    for origin in (SHOP, "https://shop.example.com:443", "https://SHOP.Example.com",
                   "https://a.example.org", "https://a.b.example.org"):
        r = preflight(g, origin)
        assert r.status == 204 and r.header("access-control-allow-origin") == origin, origin
    # Two Origin fields: refused whatever they hold.
    r = get(g, "/t/x", [("Origin", SHOP), ("Origin", SHOP), ("X-API-Key", KEY)])
    assert r.status == 200 and no_cors_fields(r)
    r = get(g, "/t/x", [("Origin", SHOP), ("Origin", SHOP),
                        ("Access-Control-Request-Method", "GET")], method="OPTIONS")
    assert r.status == 403 and no_cors_fields(r)


def test_cors_preflight_for_a_method_or_header_not_allowed(gw):
    o, g = cors_gw(gw)
    assert preflight(g, SHOP, method="DELETE").status == 403
    r = preflight(g, SHOP, req_headers="authorization, x-evil")
    assert r.status == 403 and no_cors_fields(r)
    assert preflight(g, SHOP, req_headers="x-bad header").status == 403
    assert preflight(g, SHOP, req_headers=None).status == 204
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="cors_denied") == 3


def test_cors_route_methods_and_plain_options(gw):
    o, g = start(gw, {"cors": {"origins": [SHOP], "methods": ["GET"]}, "methods": ["GET"]})
    r = preflight(g, SHOP, method="GET", req_headers=None)
    assert r.status == 204 and r.header("access-control-allow-origin") == SHOP
    assert r.header("access-control-allow-credentials") is None
    # An OPTIONS that is no preflight is not a method of this route.
    r = get(g, "/t/x", [("Origin", SHOP)], method="OPTIONS")
    assert r.status == 405 and r.header("allow") == "GET"
    assert get(g, "/t/x", method="DELETE").status == 405


def test_cors_any_origin_without_credentials(gw):
    o, g = start(gw, {"cors": {"origins": ["*"]}})
    r = get(g, "/t/x", [("Origin", "https://anyone.example")])
    assert r.header("access-control-allow-origin") == "*"
    assert "Origin" not in all_values(r, "vary")
    r = get(g, "/t/x", [("Origin", "null")])
    assert r.header("access-control-allow-origin") is None


@needs_curl
def test_cors_over_http2(gw):
    o, g = cors_gw(gw, http2=True)
    status, headers, _ = curl(g.addr, "/t/x", "-X", "OPTIONS", "-H", "Origin: " + SHOP,
                              "-H", "Access-Control-Request-Method: PUT", http2=True)
    assert status == 204
    assert hv(headers, "access-control-allow-origin") == [SHOP]
    status, headers, _ = curl(g.addr, "/t/x", "-X", "OPTIONS",
                              "-H", "Origin: https://shop.example.com.evil.com",
                              "-H", "Access-Control-Request-Method: PUT", http2=True)
    assert status == 403 and not [k for k, _ in headers if k.startswith("access-control")]
    status, headers, _ = curl(g.addr, "/t/x", "-H", "Origin: " + SHOP, "-H", "X-API-Key: " + KEY,
                              http2=True)
    assert status == 200 and hv(headers, "access-control-allow-origin") == [SHOP]


@pytest.mark.parametrize("cors,message", [
    ({"origins": ["*"], "credentials": True}, "credentials"),
    ({"origins": ["null"]}, "\"null\" cannot be allowed"),
    ({"origins": ["https://shop.example.com/"]}, "is not an origin"),
    ({"origins": ["https://shop.example.com/path"]}, "is not an origin"),
    ({"origins": ["*", SHOP]}, "list it alone"),
    ({"origins": []}, "at least one"),
    ({"methods": ["GET"]}, "missing required key"),
    ({"origins": [SHOP], "headers": ["*"], "credentials": True}, "credentials"),
    ({"origins": [SHOP], "max_age": "48h"}, "max_age"),
    ({"origins": [SHOP], "methods": ["G T"]}, "not a method"),
])
def test_cors_refused_at_load(tmp_path, cors, message):
    code, text = check_config(tmp_path, {"cors": cors})
    assert code == 2, text
    assert message in text and "cors" in text, text


# ---- compression ----

TEXT = ("Content-Type", "text/plain; charset=utf-8")


def gunzip(data):
    return zlib.decompress(data, 16 + zlib.MAX_WBITS)


def test_gzip_of_a_5mib_body_streamed_and_equal_after_decompression(gw):
    o, g = start(gw, {"compress": ["text/plain", "application/json"]})
    n = 5 * 1024 * 1024
    for extra in ({}, {"chunked": "1"}):
        r = get(g, target("/t/big", TEXT, size=str(n), **extra), [("Accept-Encoding", "gzip")])
        assert r.status == 200
        assert r.header("content-encoding") == "gzip"
        assert r.header("content-length") is None
        assert r.header("transfer-encoding") == "chunked"
        assert "Accept-Encoding" in all_values(r, "vary")
        plain = gunzip(r.body)
        assert len(plain) == n
        assert hashlib.sha256(plain).hexdigest() == r.header("x-body-sha256")
        assert len(r.body) < n // 10
    m = g.metrics()
    assert h.metric(m, "gw7_compressed_responses_total", coding="gzip") == 2
    assert h.metric(m, "gw7_compression_input_bytes_total") == 2 * n
    assert h.metric(m, "gw7_compression_output_bytes_total") < 2 * n // 10
    # The same through Python's gzip module (a whole gzip member, trailer and all).
    r = get(g, target("/t/small", TEXT, size="4000"), [("Accept-Encoding", "gzip")])
    assert gzip.decompress(r.body) == bytes(range(256)) * 15 + bytes(range(160))


def test_gzip_keeps_streaming_pieces(gw):
    """Each piece the upstream sends is compressed and flushed on its own: with a dripping origin
    the client gets several chunks, not one at the end."""
    o, g = start(gw, {"compress": ["text/plain"], "compress_min_bytes": 0})
    c = h.Client(g.addr)
    try:
        c.send(h.request_bytes("GET", target("/t/drip", TEXT, size="4096", drip="0.05"),
                               [("Accept-Encoding", "gzip")]))
        pieces = []
        r = c.read_response(sink=pieces.append)
    finally:
        c.close()
    assert r.header("content-encoding") == "gzip"
    assert len(pieces) >= 3
    assert gunzip(b"".join(pieces)) == bytes(range(256)) * 16


def test_client_gone_mid_compressed_body(gw):
    """A client that leaves halfway through a compressed body frees it; gw7 goes on serving."""
    o, g = start(gw, {"compress": ["text/plain"]})
    for _ in range(3):
        c = h.Client(g.addr)
        c.send(h.request_bytes("GET", target("/t/big", TEXT, size=str(8 << 20)),
                               [("Accept-Encoding", "gzip")]))
        c._line()  # the status line: the response has begun
        c.close()
    r = get(g, target("/t/after", TEXT, size="5000"), [("Accept-Encoding", "gzip")])
    assert r.status == 200 and len(gunzip(r.body)) == 5000
    assert g.proc.poll() is None


@pytest.mark.parametrize("accept,coding", [
    (None, None),
    ("", None),
    ("gzip", "gzip"),
    ("GZIP", "gzip"),
    ("x-gzip", "gzip"),
    ("gzip;q=0", None),
    ("gzip; q=0.000", None),
    ("identity", None),
    ("deflate", None),
    ("*", "br"),
    ("*;q=0", None),
    ("gzip;q=0, *", "br"),
    ("br;q=0, *", "gzip"),
    ("gzip, br;q=0.5", "gzip"),
    ("gzip;q=0.5, br", "br"),
    ("gzip;q=abc", None),
    ("gzip;q=1.5", None),
    ("gzip;q=0.5;level", None),
    (",,gzip,,", "gzip"),
])
def test_accept_encoding_negotiation(gw, accept, coding):
    o, g = start(gw, {"compress": ["text/plain"], "compress_brotli": True})
    headers = [] if accept is None else [("Accept-Encoding", accept)]
    r = get(g, target("/t/n", TEXT, size="5000"), headers)
    assert r.status == 200
    assert r.header("content-encoding") == coding
    assert "Accept-Encoding" in all_values(r, "vary")
    if coding is None:
        assert r.header("content-length") == "5000" and len(r.body) == 5000
    elif coding == "gzip":
        assert len(gunzip(r.body)) == 5000


def test_br_only_when_the_route_offers_it(gw):
    o, g = start(gw, {"compress": ["text/plain"]})
    for accept, coding in (("br", None), ("gzip, br", "gzip"), ("*", "gzip")):
        r = get(g, target("/t/n", TEXT, size="5000"), [("Accept-Encoding", accept)])
        assert r.header("content-encoding") == coding, accept


@pytest.mark.parametrize("name,path_opts,headers,method", [
    ("below compress_min_bytes", ((TEXT,), {"size": "1023"}), [], "GET"),
    ("type not listed", ((("Content-Type", "image/png"),), {"size": "5000"}), [], "GET"),
    ("no content type", ((), {"size": "5000"}), [], "GET"),
    ("already encoded", ((TEXT, ("Content-Encoding", "gzip")), {"size": "5000"}), [], "GET"),
    ("range", ((TEXT, ("Content-Range", "bytes 0-4999/9000")), {"size": "5000", "status": "206"}),
     [], "GET"),
    ("no-transform", ((TEXT, ("Cache-Control", "public, no-transform")), {"size": "5000"}), [],
     "GET"),
    ("HEAD", ((TEXT,), {"size": "5000"}), [], "HEAD"),
    ("204", ((TEXT,), {"status": "204"}), [], "GET"),
    ("304", ((TEXT,), {"size": "5000", "etag": "v1"}), [("If-None-Match", '"v1"')], "GET"),
])
def test_responses_never_compressed(gw, name, path_opts, headers, method):
    o, g = start(gw, {"compress": ["text/plain", "image/*"] if name != "type not listed"
                      else ["text/plain"]})
    fields, opts = path_opts
    r = get(g, target("/t/never", *fields, **opts), [("Accept-Encoding", "gzip, br")] + headers,
            method=method)
    if name == "already encoded":
        assert all_values(r, "content-encoding") == ["gzip"]  # the upstream's, once
        assert r.header("content-length") == "5000"
    else:
        assert r.header("content-encoding") is None, name
    if name == "range":
        assert r.status == 206 and len(r.body) == 5000
    if name == "HEAD":
        assert r.header("content-length") == "5000"


def test_strong_etag_becomes_weak_and_still_validates(gw):
    o, g = start(gw, {"compress": ["text/plain"]})
    t = target("/t/etag", TEXT, size="5000", etag="v1")
    r = get(g, t, [("Accept-Encoding", "gzip")])
    assert r.header("content-encoding") == "gzip"
    assert all_values(r, "etag") == ['W/"v1"']
    again = get(g, t, [("Accept-Encoding", "gzip"), ("If-None-Match", 'W/"v1"')])
    assert again.status == 304
    identity = get(g, t)
    assert all_values(identity, "etag") == ['"v1"']


def test_http10_client_gets_the_body_until_close(gw):
    o, g = start(gw, {"compress": ["text/plain"]})
    c = h.Client(g.addr)
    try:
        c.send(h.request_bytes("GET", target("/t/old", TEXT, size="9000"),
                               [("Accept-Encoding", "gzip")], version="HTTP/1.0"))
        r = c.read_response()
    finally:
        c.close()
    assert r.header("content-encoding") == "gzip" and r.closed
    assert len(gunzip(r.body)) == 9000


@needs_curl
def test_gzip_and_br_over_http2_and_curl(gw, tmp_path):
    o, g = start(gw, {"compress": ["text/plain"], "compress_brotli": True}, http2=True)
    n = 5 * 1024 * 1024
    t = target("/t/big", TEXT, size=str(n))
    expected = h.pattern_sha256(n) if hasattr(h, "pattern_sha256") else None
    for http2 in (True, False):
        for accept, coding in (("gzip", "gzip"), ("br", "br")):
            status, headers, body = curl(g.addr, t, "-H", "Accept-Encoding: " + accept,
                                         http2=http2)
            assert status == 200 and hv(headers, "content-encoding") == [coding]
            assert hv(headers, "content-length") == []
            if coding == "gzip":
                plain = gunzip(body)
                assert hashlib.sha256(plain).hexdigest() == hv(headers, "x-body-sha256")[0]
        # curl decodes what it asked for (--compressed: gzip, br, ...).
        status, headers, body = curl(g.addr, t, "--compressed", http2=http2)
        assert status == 200 and hv(headers, "content-encoding") in (["br"], ["gzip"])
        assert len(body) == n
        assert hashlib.sha256(body).hexdigest() == hv(headers, "x-body-sha256")[0]
    assert expected is None or expected == hv(headers, "x-body-sha256")[0]


@pytest.mark.parametrize("route_extra,message", [
    ({"compress": ["*/*"]}, "compressed already"),
    ({"compress": ["json"]}, "not a media type"),
    ({"compress": []}, "at least one"),
    ({"compress_min_bytes": 10}, "needs compress"),
    ({"compress": ["text/plain"], "compress_min_bytes": "-1"}, "compress_min_bytes"),
])
def test_compress_refused_at_load(tmp_path, route_extra, message):
    code, text = check_config(tmp_path, route_extra)
    assert code == 2, text
    assert message in text, text


def test_the_example_gateway_config_checks(tmp_path):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    r = subprocess.run([h.GW7, "--check", "-c", os.path.join(root, "conf", "gateway.toml")],
                       capture_output=True, text=True, timeout=20, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- a real browser ----

PAGE = b"<!doctype html><html><head><title>page</title></head><body>page</body></html>"


class _Page:
    """A page server on 127.0.0.1 (a browser origin http://127.0.0.1:PORT)."""

    def __init__(self):
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    if not os.path.exists("/usr/bin/chromium") or not os.path.exists("/usr/bin/chromedriver"):
        pytest.skip("chromium or chromedriver not installed")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


FETCH = """
const [url, key, done] = arguments;
fetch(url, {method: "PUT", credentials: "include", body: "{}",
            headers: {"X-API-Key": key, "Content-Type": "application/json"}})
  .then(r => r.text().then(t => done({ok: true, status: r.status, body: t,
                                     exposed: r.headers.get("X-Origin")})))
  .catch(e => done({ok: false, error: String(e)}));
"""


def test_chromium_accepts_an_allowed_origin_and_blocks_another(gw, browser):
    allowed, other = _Page(), _Page()
    try:
        cors = {"origins": [allowed.origin], "methods": ["GET", "PUT"],
                "headers": ["X-API-Key", "Content-Type"], "expose_headers": ["X-Origin"],
                "credentials": True, "max_age": "0s"}
        o, g = start(gw, {"cors": cors, "auth": "partners"}, extra=AUTH)
        url = "http://127.0.0.1:%d/t/browser" % g.addr[1]

        browser.get(allowed.origin + "/")
        r = browser.execute_async_script(FETCH, url, KEY)
        assert r["ok"] and r["status"] == 200, r
        assert '"method": "PUT"' in r["body"]
        assert r["exposed"] == "a"  # X-Origin, readable because it is exposed
        o.sync(g.addr)
        assert len([e for e in o.requests() if e["target"] == "/t/browser"]) == 1
        assert not [e for e in o.requests() if e["method"] == "OPTIONS"]  # gw7 answered it

        browser.get(other.origin + "/")
        r = browser.execute_async_script(FETCH, url, KEY)
        assert not r["ok"], r  # the preflight was refused: the PUT never left the browser
        assert "Failed to fetch" in r["error"], r
        # Blocked by gw7's answer to its preflight, not by anything else.
        assert h.metric(g.metrics(), "gw7_errors_total", kind="cors_denied") == 1
        o.sync(g.addr)
        assert len([e for e in o.requests() if e["target"] == "/t/browser"]) == 1
    finally:
        allowed.close()
        other.close()
