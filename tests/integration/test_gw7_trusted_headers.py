"""gw7 and the request fields an upstream trusts (issue 11, SPEC-11 "Headers the upstream
trusts"), against the real gw7 and a recording origin: what the origin received for forged
identity fields in every spelling, forged forwarding chains from untrusted and trusted clients
(the client address chosen with a PROXY v2 header), a malformed Forwarded, identity fields in
trailers, duplicate credentials, the credential stripped or forwarded, h2c upgrades, and
proxy_protocol = "required"."""

import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

PROXY_V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
UNTRUSTED_CLIENT = "203.0.113.7"
TRUSTED_CLIENT = "10.1.2.3"
SECRET = "s" * 40


def proxy_v2(src, dst="127.0.0.1", sport=40000, dport=8001):
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return PROXY_V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs)) + addrs


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hs256_token(claims):
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64url(sig))


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


def config(gw, origin, proxy_protocol="optional", trusted=("127.0.0.1/32", "10.0.0.0/8")):
    secret_file = os.path.join(gw.dir, "jwt.secret")
    with open(secret_file, "w") as f:
        f.write(SECRET)
    routes = [
        {"name": "keyed", "path_prefix": "/keyed", "upstream": "app", "auth": "partners"},
        {"name": "forwarded", "path_prefix": "/fwd", "upstream": "app", "auth": "partners-fwd"},
        {"name": "query", "path_prefix": "/q", "upstream": "app", "auth": "by-query"},
        {"name": "jwt", "path_prefix": "/jwt", "upstream": "app", "auth": "users"},
        {"name": "h2c", "path_prefix": "/h2c", "upstream": "app", "allow_h2c_upgrade": True},
        {"name": "public", "path_prefix": "/", "upstream": "app"},
    ]
    extra = """
[[auth]]
name = "partners"
type = "api_key"
keys = [{ consumer = "alice", sha256 = "%s" }]

[[auth]]
name = "partners-fwd"
type = "api_key"
forward_credential = true
keys = [{ consumer = "alice", sha256 = "%s" }]

[[auth]]
name = "by-query"
type = "api_key"
query = "api_key"
keys = [{ consumer = "alice", sha256 = "%s" }]

[[auth]]
name = "users"
type = "jwt"
algorithms = ["HS256"]
hmac_secret_file = "%s"
claims_to_headers = { sub = "X-User" }
""" % (sha("k1"), sha("k1"), sha("k1"), secret_file)
    return h.render_config(
        gw7={"proxy_protocol": proxy_protocol, "trusted_proxies": list(trusted),
             "internal_headers": ["X-Internal-Token"]},
        upstreams=[{"name": "app", "servers": [origin.address("a")]}], routes=routes, extra=extra)


def start(gw, **kw):
    o = gw.origin("a")
    g = gw.gw7(config(gw, o, **kw))
    return o, g


def send(g, data, proxy_src=None):
    """Sends one request (after a PROXY v2 header naming proxy_src, if given); the response."""
    c = h.Client(g.addr)
    try:
        c.send((proxy_v2(proxy_src) if proxy_src else b"") + data)
        return c.read_response()
    finally:
        c.close()


def received(o, target):
    """The one origin request for `target`: its headers as [(name, value)] and the event."""
    e = o.wait_requests(1, target=target)[-1]
    return [(k, v) for k, v in e["headers"]], e


def names(headers):
    return [k.lower() for k, _ in headers]


def values(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


FORGED_CONSUMER = ["X-Consumer", "x-consumer", "X_Consumer", "x_consumer", "X-CONSUMER",
                   "x_cOnSuMeR"]


def test_forged_identity_fields_never_reach_the_origin(gw):
    o, g = start(gw)
    forged = [(n, "admin-%d" % i) for i, n in enumerate(FORGED_CONSUMER)]
    forged += [("X-Scopes", "admin:all"), ("x_scopes", "admin:all"), ("X-User", "root"),
               ("X_User", "root"), ("X-Internal-Token", "t"), ("x_internal_token", "t"),
               ("X-Real-IP", "1.2.3.4"), ("X-Forwarded-Host", "evil"),
               ("X-Forwarded-Port", "1"), ("X_Forwarded_For", "6.6.6.6")]
    for target, extra in (("/public/1", []), ("/keyed/1", [("X-API-Key", "k1")])):
        r = h.request(g.addr, "GET", target, forged + extra)
        assert r.status == 200, r
        got, _ = received(o, target)
        for n, _ in forged:
            low = n.lower().replace("_", "-")
            if low == "x-forwarded-for" or (low == "x-consumer" and target.startswith("/keyed")):
                continue  # gw7 writes its own: the values are checked below
            assert low not in [k.lower().replace("_", "-") for k, _ in got], (target, n, got)
        assert "root" not in str(got) and "admin" not in str(got) and "evil" not in str(got)
        assert "6.6.6.6" not in str(got)
        if target.startswith("/keyed"):
            assert values(got, "x-consumer") == ["alice"], got
    m = g.metrics()
    assert h.metric(m, "gw7_stripped_headers_total") >= 2 * len(forged)


def test_forged_forwarding_chain_from_an_untrusted_client_is_replaced(gw):
    o, g = start(gw)
    r = send(g, h.request_bytes("GET", "/public/untrusted", [
        ("X-Forwarded-For", "6.6.6.6"), ("Forwarded", "for=6.6.6.6;proto=https"),
        ("X-Forwarded-Proto", "https")]), proxy_src=UNTRUSTED_CLIENT)
    assert r.status == 200, r
    got, _ = received(o, "/public/untrusted")
    assert values(got, "x-forwarded-for") == [UNTRUSTED_CLIENT], got
    assert values(got, "forwarded") == ["for=%s;proto=http" % UNTRUSTED_CLIENT], got
    assert values(got, "x-forwarded-proto") == ["http"], got


def test_forwarding_chain_from_a_trusted_client_is_appended_to(gw):
    o, g = start(gw)
    r = send(g, h.request_bytes("GET", "/public/trusted", [
        ("X-Forwarded-For", "198.51.100.1"), ("Forwarded", "for=198.51.100.1")]),
        proxy_src=TRUSTED_CLIENT)
    assert r.status == 200, r
    got, _ = received(o, "/public/trusted")
    assert values(got, "x-forwarded-for") == ["198.51.100.1, %s" % TRUSTED_CLIENT], got
    assert values(got, "forwarded") == ["for=198.51.100.1, for=%s;proto=http" % TRUSTED_CLIENT]


def test_malformed_forwarded_from_a_trusted_client_is_dropped(gw):
    o, g = start(gw)
    # An open quote would swallow gw7's element if it were appended.
    r = send(g, h.request_bytes("GET", "/public/badfwd", [("Forwarded", 'for="198.51.100.1')]),
             proxy_src=TRUSTED_CLIENT)
    assert r.status == 200, r
    got, _ = received(o, "/public/badfwd")
    assert values(got, "forwarded") == ["for=%s;proto=http" % TRUSTED_CLIENT], got
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="bad_forwarded") == 1


def test_identity_fields_in_trailers_are_stripped(gw):
    o, g = start(gw)
    body = (b"3\r\nabc\r\n0\r\nX-Consumer: admin\r\nx_consumer: admin\r\nX-Scopes: all\r\n"
            b"X_Internal_Token: t\r\nX-Checksum: ok\r\n\r\n")
    for target, extra in (("/public/trailers", []), ("/keyed/trailers", [("X-API-Key", "k1")])):
        r = h.request(g.addr, "POST", target,
                      [("Transfer-Encoding", "chunked"), ("TE", "trailers")] + extra, body)
        assert r.status == 200, r
        _, e = received(o, target)
        trailers = [(k.lower(), v) for k, v in e["trailers"]]
        assert trailers == [("x-checksum", "ok")], trailers


def test_two_credentials_are_400_and_never_reach_the_origin(gw):
    o, g = start(gw)
    token = hs256_token({"sub": "u-42", "exp": int(time.time()) + 3600})
    cases = [
        ("/keyed/d1", [("X-API-Key", "k1"), ("X-API-Key", "k1")]),
        ("/keyed/d2", [("X-API-Key", "k1"), ("x_api_key", "other")]),
        ("/q/d3?api_key=k1&api_key=k1", []),
        ("/q/d4?api_key=k1&api%5Fkey=other", []),
        ("/jwt/d5", [("Authorization", "Bearer " + token), ("Authorization", "Bearer " + token)]),
        ("/jwt/d6", [("Authorization", "Bearer %s, Bearer %s" % (token, token))]),
    ]
    for target, headers in cases:
        r = h.request(g.addr, "GET", target, headers)
        assert r.status == 400, (target, r)
        assert r.json()["error"] == "duplicate_credential", r
    # One credential each: served.
    assert h.request(g.addr, "GET", "/jwt/one", [("Authorization", "Bearer " + token)]).status \
        == 200
    o.sync(g.addr)
    for target, _ in cases:
        assert o.requests(target=target) == [], target
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="duplicate_credential") == len(cases)


def test_credential_is_stripped_unless_forward_credential(gw):
    o, g = start(gw)
    token = hs256_token({"sub": "u-42", "exp": int(time.time()) + 3600})
    assert h.request(g.addr, "GET", "/keyed/s", [("X-API-Key", "k1")]).status == 200
    got, _ = received(o, "/keyed/s")
    assert "x-api-key" not in names(got) and "k1" not in str(got), got

    assert h.request(g.addr, "GET", "/fwd/s", [("X-API-Key", "k1")]).status == 200
    got, _ = received(o, "/fwd/s")
    assert values(got, "x-api-key") == ["k1"], got

    assert h.request(g.addr, "GET", "/q/s?a=1&api_key=k1&b=2").status == 200
    o.wait_requests(1, target="/q/s?a=1&b=2")

    assert h.request(g.addr, "GET", "/jwt/s", [("Authorization", "Bearer " + token),
                                               ("X-User", "root")]).status == 200
    got, _ = received(o, "/jwt/s")
    assert "authorization" not in names(got), got
    assert values(got, "x-user") == ["u-42"], got


def test_h2c_upgrade_is_removed_unless_the_route_allows_it(gw):
    o, g = start(gw)
    up = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
          ("HTTP2-Settings", "AAMAAABkAAQAAP__")]
    r = h.request(g.addr, "GET", "/public/h2c", up)
    assert r.status == 200, r
    got, _ = received(o, "/public/h2c")
    assert "upgrade" not in names(got) and "http2-settings" not in names(got), got
    # Also without a Connection field naming them.
    r = h.request(g.addr, "GET", "/public/h2c-bare", [("Upgrade", "h2c"),
                                                      ("HTTP2-Settings", "AAMAAABkAAQAAP__")])
    assert r.status == 200, r
    got, _ = received(o, "/public/h2c-bare")
    assert "upgrade" not in names(got) and "http2-settings" not in names(got), got
    # The route that allows it forwards both.
    r = h.request(g.addr, "GET", "/h2c/ok", [("Connection", "Upgrade"), ("Upgrade", "h2c"),
                                             ("HTTP2-Settings", "AAMAAABkAAQAAP__")])
    assert r.status == 200, r
    got, _ = received(o, "/h2c/ok")
    assert values(got, "upgrade") == ["h2c"], got
    assert values(got, "http2-settings") == ["AAMAAABkAAQAAP__"], got


def test_proxy_protocol_required(gw):
    o, g = start(gw, proxy_protocol="required", trusted=("127.0.0.1/32",))
    # A trusted proxy with a PROXY header: served, the client address taken from it.
    r = send(g, h.request_bytes("GET", "/public/req"), proxy_src=UNTRUSTED_CLIENT)
    assert r.status == 200, r
    got, _ = received(o, "/public/req")
    assert values(got, "x-forwarded-for") == [UNTRUSTED_CLIENT], got
    # A trusted proxy without one: refused and closed.
    r, closed = h.raw(g.addr, h.request_bytes("GET", "/public/missing"))
    assert closed and (r is None or r.status == 400), r
    # An untrusted peer (127.0.0.2 is not in trusted_proxies): closed, whatever it sends.
    c = h.Client(g.addr, source="127.0.0.2")
    try:
        try:
            c.send(proxy_v2(UNTRUSTED_CLIENT) + h.request_bytes("GET", "/public/untrusted-peer"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.closed_soon(5)
    finally:
        c.close()
    assert o.requests(target="/public/missing") == []
    assert o.requests(target="/public/untrusted-peer") == []
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="proxy_missing") == 1
    assert h.metric(m, "gw7_errors_total", kind="proxy_untrusted") == 1


OVERRIDES = ["X-HTTP-Method-Override", "x-http-method-override", "X_HTTP_Method_Override",
             "X-HTTP-Method", "X-Method-Override", "x_method_override"]


def test_method_override_fields_are_stripped_unless_kept(gw):
    """A backend that honours X-HTTP-Method-Override would run a DELETE that gw7 routed and
    authorised as a GET: the fields are removed in every spelling unless keep_method_override."""
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    for i, name in enumerate(OVERRIDES):
        r = h.request(g.addr, "GET", "/ov/%d" % i, headers=[(name, "DELETE")])
        assert r.status == 200
        seen = [k for k, _ in json.loads(r.body)["headers"]]
        assert not any("method" in k.lower() for k in seen), (name, seen)
    g2 = gw.gw7(h.simple_config(o, ["a"], gw7={"keep_method_override": True}))
    r = h.request(g2.addr, "POST", "/kept", headers=[("X-HTTP-Method-Override", "PATCH")],
                  body=b"")
    assert ["X-HTTP-Method-Override", "PATCH"] in json.loads(r.body)["headers"]
