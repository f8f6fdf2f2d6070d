"""The attack suite of issue 11: no method, path, host, header, trailer or framing trick reaches a
protected upstream resource without credentials, and nothing a client sends can forge what the
upstream trusts (SPEC-11.md).

One gw7 and one recording origin (http_origin.py: it logs every request line, header and trailer)
serve the whole module. The routes follow conf/gateway.toml, all to the SAME origin, so a bypass
shows up as the origin receiving the protected resource:
  catalog   path_template "/catalog/{id}", GET only, api_key in the X-API-Key header (alice)
  products  host api.example.com, path_prefix "/v1/products", GET/POST, strip_prefix "/v1",
            jwt with require_scopes (carol)
  admin     path "/admin/stats" (exact), api_key in the `api_key` query parameter (ops)
  public    path_prefix "/" catch-all, no auth
Every variant is raw bytes over a socket (an HTTP library would normalise the trick away) and
carries an X-Probe field naming it, so the origin's log says which variant arrived. For each one:
  - gw7 refused it (its own 4xx/5xx, the origin saw nothing of it), or it reached the origin only
    as an authenticated request on the protected route (gw7's consumer field, once, with the real
    consumer; the variant carried a valid credential); which of the two does not matter where
    SPEC-11 allows either;
  - the origin never received a request whose path, as nginx, Python, a servlet container,
    Express or IIS would read it (backend_readings.py), is the protected resource, without a
    valid credential;
  - no forged identity or forwarding field (any spelling, also in trailers) and no h2c upgrade
    reaches the origin.
A final test sweeps everything the origin ever received for the same global properties (smuggled
requests arrive out of band) and prints a summary count.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import backend_readings as br  # noqa: E402
import gw7_harness as h  # noqa: E402

# ---- credentials ----

CATALOG_KEY = "demo-partner-key"
ADMIN_KEY = "ops-admin-key-7"
JWT_SECRET = b"bypass-suite-hmac-secret-0123456789abcdef"
ISSUER = "https://auth.example.com"
AUDIENCE = "api"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, alg="HS256", secret=JWT_SECRET, header=None):
    head = b64url(json.dumps(header or {"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    signing = ("%s.%s" % (head, body)).encode()
    sig = b"" if alg == "none" else hmac.new(secret, signing, hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64url(sig))


NOW = int(time.time())
CLAIMS = {"sub": "carol", "iss": ISSUER, "aud": AUDIENCE, "scope": "orders:read",
          "exp": NOW + 3600, "iat": NOW}
TOKEN = jwt(CLAIMS)
BAD_TOKENS = {
    "alg-none": jwt(CLAIMS, alg="none"),
    "wrong-secret": jwt(CLAIMS, secret=b"x" * 40),
    "expired": jwt(dict(CLAIMS, exp=NOW - 3600, iat=NOW - 7200)),
    "wrong-audience": jwt(dict(CLAIMS, aud="other")),
    "no-scope": jwt(dict(CLAIMS, scope="profile")),
    "scope-with-space": jwt(dict(CLAIMS, scope=["orders:read orders:write"])),
    "truncated": TOKEN[:-4],
}

# Forged values: never the name of a real consumer, so an origin request carrying one is forged.
FORGED = {"consumer": "mallory", "scopes": "admin:all", "ip": "6.6.6.6",
          "host": "forged-host.example", "proto": "gopher"}
FORGED_MARKERS = tuple(FORGED.values())
# Another virtual host for Host-field tricks: the client's own Host, which gw7 may echo in its own
# X-Forwarded-Host/Forwarded, so it is not a forgery marker.
OTHER_HOST = "other.example"
# Fields the upstream trusts (header_key spelling: lower case, "_" read as "-").
IDENTITY_FIELDS = {"x-consumer", "x-scopes", "x-user", "x-forwarded-for", "x-forwarded-proto",
                   "x-forwarded-host", "x-forwarded-port", "forwarded", "x-real-ip"}
H2C_FIELDS = {"http2-settings"}
# Names [gw7] internal_headers lists when this gw7 knows the key (SPEC-11: every name there is
# stripped): the IIS/Symfony request-rewrite fields, which a backend serves instead of the path.
INTERNAL = ["X-Original-URL", "X-Rewrite-URL"]


# ---- the routes under attack ----

class Route:
    def __init__(self, name, prefix, segment, rest, host, consumer, protected, forwarded,
                 cred_headers=(), cred_query=None, host_required=None):
        self.name = name
        self.prefix = prefix        # path before the segment the tricks aim at
        self.segment = segment      # the literal segment that makes the path protected
        self.rest = rest            # the rest of the path, from its "/"
        self.path = "%s/%s%s" % (prefix, segment, rest)
        self.host = host
        self.consumer = consumer
        self.protected_rx = protected
        self.forwarded = forwarded  # what the origin receives for the canonical request
        self.cred_headers = list(cred_headers)
        self.cred_query = cred_query
        self.host_required = host_required

    def with_query(self, target, creds):
        if not creds or not self.cred_query:
            return target
        return target + ("&" if "?" in target else "?") + self.cred_query

    def creds(self, creds):
        return self.cred_headers if creds else []


ROUTES = {
    "catalog": Route("catalog", "", "catalog", "/1", "example.com", "alice",
                     re.compile(r"^/catalog/[^/]+/?$"), "/catalog/1",
                     cred_headers=[("X-API-Key", CATALOG_KEY)]),
    "products": Route("products", "/v1", "products", "/1", "api.example.com", "carol",
                      re.compile(r"^(/v1)?/products(/.*)?$"), "/products/1",
                      cred_headers=[("Authorization", "Bearer " + TOKEN)],
                      host_required="api.example.com"),
    "admin": Route("admin", "", "admin", "/stats", "example.com", "ops",
                   re.compile(r"^/admin/stats/?$"), "/admin/stats",
                   cred_query="api_key=" + ADMIN_KEY),
}


def config_text(origin_addr, jwt_secret_path, internal_headers):
    def table(kind, d):
        return "\n[[%s]]\n" % kind + "".join("%s = %s\n" % (k, h.toml_value(v))
                                             for k, v in d.items())
    extra = (table("auth", {"name": "partners", "type": "api_key", "header": "X-API-Key",
                            "keys": [{"consumer": "alice",
                                      "sha256": hashlib.sha256(CATALOG_KEY.encode()).hexdigest(),
                                      "scopes": ["orders:read"]}]})
             + table("auth", {"name": "ops", "type": "api_key", "query": "api_key",
                              "keys": [{"consumer": "ops",
                                        "sha256": hashlib.sha256(ADMIN_KEY.encode()).hexdigest(),
                                        "scopes": ["admin"]}]})
             + table("auth", {"name": "users", "type": "jwt", "algorithms": ["HS256"],
                              "hmac_secret_file": jwt_secret_path, "issuer": ISSUER,
                              "audience": AUDIENCE, "leeway": "30s", "scopes_claim": "scope",
                              "claims_to_headers": {"sub": "X-User"}}))
    gw7 = {"internal_headers": internal_headers} if internal_headers else None
    return h.render_config(
        gw7=gw7,
        upstreams=[{"name": "app", "servers": [origin_addr], "retries": 0}],
        routes=[{"name": "products", "host": "api.example.com", "path_prefix": "/v1/products",
                 "methods": ["GET", "POST"], "upstream": "app", "strip_prefix": "/v1",
                 "auth": "users", "require_scopes": ["orders:read"]},
                {"name": "catalog-item", "path_template": "/catalog/{id}", "methods": ["GET"],
                 "upstream": "app", "auth": "partners"},
                {"name": "admin-stats", "path": "/admin/stats", "upstream": "app",
                 "auth": "ops"},
                {"name": "public", "path_prefix": "/", "upstream": "app"}],
        extra=extra)


# ---- raw requests ----

class Variant:
    def __init__(self, route, vid, data, creds=False, method="GET", expect=None, inner=False):
        self.route = route
        self.id = "%s/%s" % (route.name if route else "public", vid)
        self.cls = vid.split("-", 1)[0]
        self.data = data(self.id) if callable(data) else data
        self.creds = creds      # carries a credential gw7 may accept for this route
        self.method = method
        self.expect = expect    # None: refused or authenticated; an int: exactly that status
        self.inner = inner      # holds a smuggled request (probe "<id>+inner")


def head(method, target, host, headers, probe, version="HTTP/1.1", body=None):
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    for k, v in headers:
        lines.append(v if k is None else "%s: %s" % (k, v))  # k None: a raw field line
    lines.append("X-Probe: %s" % probe)
    framed = any((v if k is None else k + ":").lower().startswith(("content-length",
                                                                    "transfer-encoding"))
                 for k, v in headers)
    if body is not None and not framed:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def req(route, method="GET", target=None, headers=(), creds=False, host=True, version="HTTP/1.1",
        body=None):
    """A request to `route` (its canonical path unless `target`), built when the id is known."""
    target = route.with_query(route.path if target is None else target, creds)
    hosts = route.host if host is True else host
    hdrs = route.creds(creds) + list(headers)
    return lambda probe: head(method, target, hosts, hdrs, probe, version, body)


def pct(s, upper=False):
    return "".join(("%%%02X" if upper else "%%%02x") % ord(c) for c in s)


def overlong2(c):
    o = ord(c)
    return "%%%02X%%%02X" % (0xC0 | (o >> 6), 0x80 | (o & 0x3F))


def overlong3(c):
    o = ord(c)
    return "%%E0%%%02X%%%02X" % (0x80 | (o >> 6), 0x80 | (o & 0x3F))


def path_tricks(r):
    """(id, target) pairs: what nginx, Python, servlet, Express and IIS would read as r.path."""
    p, s, rest, pre = r.path, r.segment, r.rest, r.prefix
    first, last = s[0], rest[-1]
    at = lambda seg: "%s/%s%s" % (pre, seg, rest)            # the segment replaced
    after = lambda sep: "%s/%s%s%s" % (pre, s, sep, rest[1:])  # the "/" after it replaced
    out = [
        # RFC 3986 unreserved escapes: decoded by every backend.
        ("pct-first-letter", at(pct(first) + s[1:])),
        ("pct-first-letter-upper-hex", at(pct(first, True) + s[1:])),
        ("pct-whole-segment", at(pct(s))),
        ("pct-whole-segment-upper-hex", at(pct(s, True))),
        ("pct-last-char", p[:-1] + pct(last)),
        ("pct-every-char", "".join("/" if c == "/" else pct(c) for c in p)),
        ("pct-upper-letter", at(pct(first.upper()) + s[1:])),
        # Double encoding: one pass gives "%63...", never the resource; gw7 must not decode twice.
        ("double-pct-letter", at("%25" + pct(first)[1:] + s[1:])),
        ("double-pct-slash", after("%252F")),
        ("double-pct-dotdot", "/x/%252e%252e" + p),
        # Encoded and literal separators.
        ("slash-pct2F", after("%2F")),
        ("slash-pct2f", after("%2f")),
        ("slash-pct2F-leading", "/%2F" + p[1:]),
        ("backslash-pct5C", after("%5C")),
        ("backslash-pct5c", after("%5c")),
        ("backslash-literal", after("\\")),
        ("backslash-leading", "/\\" + p[1:]),
        ("backslash-all", p.replace("/", "\\")),
        ("iis-pct-u-letter", at("%%u%04x" % ord(first) + s[1:])),
        ("iis-pct-U-letter", at("%%U%04X" % ord(first) + s[1:])),
        ("iis-pct-u-slash", after("%u002f")),
        ("overlong2-letter", at(overlong2(first) + s[1:])),
        ("overlong3-letter", at(overlong3(first) + s[1:])),
        ("overlong-slash", after("%C0%AF")),
        # Repeated slashes (nginx merge_slashes, Tomcat, werkzeug).
        ("slashes-leading", "/" + p),
        ("slashes-leading-3", "//" + p),
        ("slashes-after-segment", after("//")),
        ("slashes-everywhere", p.replace("/", "//")),
        ("slashes-trailing-2", p + "//"),
        # Trailing slash (Express strict=false, directory redirects).
        ("trailing-slash", p + "/"),
        ("trailing-slash-query", p + "/?x=1"),
        ("trailing-pct2F", p + "%2F"),
        # Dot segments, literal and encoded.
        ("dot-leading", "/." + p),
        ("dot-inner", after("/./")),
        ("dotdot-back", "/x/.." + p),
        ("dotdot-pct-lower", "/x/%2e%2e" + p),
        ("dotdot-pct-upper", "/x/%2E%2E" + p),
        ("dotdot-mixed", "/x/.%2e" + p),
        ("dotdot-pct2F", "/x/..%2F" + p[1:]),
        ("dotdot-backslash", "/x/..\\" + p[1:]),
        ("dotdot-from-public", "/public/../" + p[1:]),
        ("dot-trailing", p + "/."),
        ("dotdot-deep", "/a/b/../../" + p[1:]),
        # ";" path parameters (dropped per segment by Tomcat/Jetty, kept by nginx).
        ("param-on-segment", at(s + ";x")),
        ("param-empty", at(s + ";")),
        ("param-jsessionid", p + ";jsessionid=0123"),
        ("param-pct3B", at(s + "%3Bx")),
        ("param-pct3b", at(s + "%3bx")),
        ("param-dotdot-tomcat", "/x/..;/" + p[1:]),
        ("param-dotdot-root", "/..;/" + p[1:]),
        ("param-on-first", "/;x" + p),
        # Case (Express, IIS, servlet on Windows).
        ("case-upper", p.upper()),
        ("case-capital", at(s.capitalize())),
        ("case-mixed", at("".join(c.upper() if i % 2 else c for i, c in enumerate(s)))),
        ("case-upper-pct", at(pct(s.upper()))),
        # NUL and other C-string / whitespace games.
        ("nul-end", p + "%00"),
        ("nul-ext", p + "%00.json"),
        ("nul-inside", at(s + "%00")),
        ("space-pct20", p + "%20"),
        ("tab-pct09", p + "%09"),
        ("space-literal", p + " x"),
        ("tab-literal", p + "\t"),
        ("ctl-literal", p + "\x01"),
        ("byte-ff", p + "\xff"),
        ("utf8-literal", at(s + "\xc3\xa9")),
        # Fragments and queries (only the path routes).
        ("fragment", p + "#frag"),
        ("fragment-hides-path", "/x#/../" + p[1:]),
        ("query-empty", p + "?"),
        ("query-dots", p + "?/../x"),
        ("query-holds-path", "/x?" + p),
        ("query-pct3F", p + "%3F"),
    ]
    return out


def absolute_tricks(r):
    p, host = r.path, r.host
    return [
        ("absolute-form", "http://%s%s" % (host, p), host),
        ("absolute-https", "https://%s%s" % (host, p), host),
        ("absolute-upper-scheme-host", "HTTP://%s%s" % (host.upper(), p), host),
        ("absolute-slashes", "http://%s/%s" % (host, p), host),
        ("absolute-port", "http://%s:80%s" % (host, p), host + ":80"),
        ("absolute-other-host", "http://%s%s" % (OTHER_HOST, p), host),
        ("absolute-host-differs", "http://%s%s" % (host, p), OTHER_HOST),
        ("absolute-userinfo", "http://user@%s%s" % (host, p), host),
        ("absolute-no-host-field", "http://%s%s" % (host, p), None),
    ]


METHODS = ["get", "Get", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "TRACE",
           "PROPFIND", "FOO", "M-SEARCH", "CONNECT"]
OVERRIDE_FIELDS = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"]

# Forged identity/forwarding fields in many spellings (SPEC-11: any case, "_" for "-").
FORGED_FIELDS = [
    ("X-Consumer", FORGED["consumer"]), ("x-consumer", FORGED["consumer"]),
    ("X_Consumer", FORGED["consumer"]), ("x_CONSUMER", FORGED["consumer"]),
    ("X-CONSUMER", FORGED["consumer"]), ("X-Scopes", FORGED["scopes"]),
    ("X_Scopes", FORGED["scopes"]), ("X-User", FORGED["consumer"]),
    ("X_User", FORGED["consumer"]), ("X-Forwarded-For", FORGED["ip"]),
    ("X_Forwarded_For", FORGED["ip"]), ("x-forwarded-for", FORGED["ip"] + ", 10.0.0.1"),
    ("X-Forwarded-Proto", FORGED["proto"]), ("X-Forwarded-Host", FORGED["host"]),
    ("X_Forwarded_Host", FORGED["host"]), ("X-Forwarded-Port", "6666"),
    ("Forwarded", "for=%s;proto=%s;host=%s" % (FORGED["ip"], FORGED["proto"], FORGED["host"])),
    ("Forwarded", 'for="%s' % FORGED["ip"]), ("X-Real-IP", FORGED["ip"]),
    ("X_Real_IP", FORGED["ip"]),
]


def fid(i, name):
    return "%02d-%s" % (i, name)


def route_variants(r):
    vs = []
    add = lambda vid, data, **kw: vs.append(Variant(r, vid, data, **kw))
    # Path tricks without credentials: the core of the issue.
    for vid, target in path_tricks(r):
        add("path-" + vid, req(r, target=target))
    # Path tricks that SPEC-11 routes, with a credential: refused or authenticated, never the
    # catch-all (a gw7 that serves them from "/" would hand the protected path to the upstream
    # without the consumer field).
    for vid, target in path_tricks(r)[:7] + [x for x in path_tricks(r)
                                              if x[0] in ("slashes-leading", "trailing-slash",
                                                          "slashes-after-segment",
                                                          "case-upper", "param-on-segment")]:
        add("pathcred-" + vid, req(r, target=target, creds=True), creds=True)
    for vid, target, host in absolute_tricks(r):
        add("host-" + vid, req(r, target=target, host=host))
    # Host spellings (the products route is bound to api.example.com).
    host_variants = [("upper", r.host.upper()), ("trailing-dot", r.host + "."),
                     ("port", r.host + ":80"), ("other-port", r.host + ":8001"),
                     ("upper-dot-port", r.host.upper() + ".:8001"), ("empty", "")]
    for vid, host in host_variants:
        add("host-" + vid, req(r, host=host))
    add("host-twice", req(r, headers=[("Host", OTHER_HOST)]))
    add("host-twice-other-first", req(r, host=OTHER_HOST, headers=[("Host", r.host)]))
    add("host-xfh", req(r, host=OTHER_HOST, headers=[("X-Forwarded-Host", r.host)]))
    add("host-forwarded", req(r, host=OTHER_HOST,
                              headers=[("Forwarded", "host=" + r.host)]))
    add("host-http10-none", req(r, host=None, version="HTTP/1.0"))
    add("host-http11-none", req(r, host=None))
    # Methods: lower case, extension, and the override fields backends honour.
    for m in METHODS:
        target = r.host + ":443" if m == "CONNECT" else None
        add("method-" + m, req(r, method=m, target=target, body=b"" if m in ("POST", "PUT",
                                                                             "PATCH") else None),
            method=m)
    for f in OVERRIDE_FIELDS:
        add("method-POST-" + f, req(r, method="POST", headers=[(f, "GET")], body=b""),
            method="POST")
        add("method-PUT-" + f, req(r, method="PUT", headers=[(f, "GET")], body=b""),
            method="PUT")
    add("method-POST-_method-query", req(r, method="POST", target=r.path + "?_method=GET",
                                         body=b""), method="POST")
    add("method-POST-_method-form", req(r, method="POST",
                                        headers=[("Content-Type",
                                                  "application/x-www-form-urlencoded")],
                                        body=b"_method=GET"), method="POST")
    add("method-get-with-credential", req(r, method="get", creds=True), creds=True, method="get")
    add("method-POST-override-with-credential",
        req(r, method="POST", headers=[("X-HTTP-Method-Override", "DELETE")], body=b"",
            creds=True), creds=True, method="POST")
    # Forged identity without and with a credential.
    for i, (name, value) in enumerate(FORGED_FIELDS):
        add("forge-" + fid(i, name), req(r, headers=[(name, value)]))
        add("forgecred-" + fid(i, name), req(r, headers=[(name, value)], creds=True),
            creds=True)
    add("forgecred-nospace", req(r, headers=[(None, "X-Consumer:" + FORGED["consumer"])],
                                 creds=True), creds=True)
    add("forgecred-ws-before-colon",
        req(r, headers=[(None, "X-Consumer :" + FORGED["consumer"])], creds=True), creds=True)
    add("forgecred-obs-fold", req(r, headers=[("X-Note", "a"), (None, " X-Consumer: " +
                                                                 FORGED["consumer"])],
                                  creds=True), creds=True)
    # Trailers carrying identity on a chunked POST (refused: catalog is GET only).
    for name, value in [("X-Consumer", FORGED["consumer"]), ("X_Consumer", FORGED["consumer"]),
                        ("X-Scopes", FORGED["scopes"]), ("X-Forwarded-For", FORGED["ip"]),
                        ("X-User", FORGED["consumer"])]:
        body = ("4\r\nbody\r\n0\r\n%s: %s\r\n\r\n" % (name, value)).encode()
        te = [("Transfer-Encoding", "chunked"), ("Trailer", name)]
        add("trailer-" + name, req(r, method="POST", headers=te, body=body), method="POST")
        add("trailercred-" + name, req(r, method="POST", headers=te, body=body, creds=True),
            creds=True, method="POST")
    # h2c: a tunnel past routing.
    h2c = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
           ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]
    add("h2c-upgrade", req(r, headers=h2c))
    add("h2c-upgrade-credential", req(r, headers=h2c, creds=True), creds=True)
    add("h2c-upgrade-list-credential",
        req(r, headers=[("Connection", "Upgrade, HTTP2-Settings"),
                        ("Upgrade", "websocket, h2c"),
                        ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")], creds=True),
        creds=True)
    # Smuggling: a public request whose body holds a request for the protected resource.
    vs.extend(smuggling_variants(r))
    vs.extend(credential_variants(r))
    return vs


def smuggling_variants(r):
    vs = []

    def smuggle(vid, framing, body_of, version="HTTP/1.1"):
        def data(probe):
            inner = head("GET", r.path, r.host, [], probe + "+inner")
            body = body_of(inner)
            hdrs = [(None, line.replace("{n}", str(len(body)))) for line in framing]
            return head("POST", "/public/form", r.host, hdrs, probe, version, body)
        vs.append(Variant(r, "smuggle-" + vid, data, method="POST", inner=True))

    chunked_end = lambda inner: b"0\r\n\r\n" + inner
    smuggle("cl-te", ["Content-Length: {n}", "Transfer-Encoding: chunked"], chunked_end)
    smuggle("te-cl", ["Transfer-Encoding: chunked", "Content-Length: {n}"], chunked_end)
    smuggle("te-space-before-colon", ["Content-Length: {n}", "Transfer-Encoding : chunked"],
            chunked_end)
    smuggle("te-tab", ["Content-Length: {n}", "Transfer-Encoding:\tchunked"], chunked_end)
    smuggle("te-xchunked", ["Content-Length: {n}", "Transfer-Encoding: xchunked"], chunked_end)
    smuggle("te-identity-chunked", ["Transfer-Encoding: identity, chunked"], chunked_end)
    smuggle("te-twice", ["Transfer-Encoding: chunked", "Transfer-Encoding: identity"],
            chunked_end)
    smuggle("te-obs-fold", ["Content-Length: {n}", "Transfer-Encoding:", " chunked"],
            chunked_end)
    smuggle("te-http10", ["Transfer-Encoding: chunked"], chunked_end, version="HTTP/1.0")
    smuggle("cl-twice", ["Content-Length: 0", "Content-Length: {n}"], lambda inner: inner)
    smuggle("cl-plus", ["Content-Length: +0"], lambda inner: inner)
    smuggle("cl-zero-pipelined", ["Content-Length: 0"], lambda inner: inner)
    smuggle("chunk-size-overflow", ["Transfer-Encoding: chunked"],
            lambda inner: b"10000000000000001\r\nA\r\n0\r\n\r\n" + inner)
    smuggle("chunk-lf-only", ["Transfer-Encoding: chunked"],
            lambda inner: b"1\nA\n0\n\n" + inner)
    return vs


def credential_variants(r):
    """Two credentials (SPEC-11: 400), credentials in other places, invalid tokens."""
    vs = []
    add = lambda vid, data, **kw: vs.append(Variant(r, vid, data, **kw))
    if r.name == "catalog":
        add("dup-key-valid-first", req(r, headers=[("X-API-Key", CATALOG_KEY),
                                                   ("X-API-Key", "bogus")]),
            creds=True, expect=400)
        add("dup-key-valid-last", req(r, headers=[("X-API-Key", "bogus"),
                                                  ("X-API-Key", CATALOG_KEY)]),
            creds=True, expect=400)
        add("dup-key-same", req(r, headers=[("X-API-Key", CATALOG_KEY),
                                            ("X-API-Key", CATALOG_KEY)]),
            creds=True, expect=400)
        add("dup-key-case", req(r, headers=[("x-api-key", "bogus"),
                                            ("X-API-KEY", CATALOG_KEY)]),
            creds=True, expect=400)
        add("cred-key-list", req(r, headers=[("X-API-Key", CATALOG_KEY + ", bogus")]),
            creds=True)
        add("cred-key-underscore", req(r, headers=[("X_API_Key", CATALOG_KEY)]), creds=True)
        add("cred-key-in-query", req(r, target=r.path + "?api_key=" + CATALOG_KEY))
        add("cred-key-bad", req(r, headers=[("X-API-Key", "bogus")]))
        add("cred-key-empty", req(r, headers=[("X-API-Key", "")]))
    elif r.name == "products":
        bearer = "Bearer " + TOKEN
        add("dup-authorization-valid-first",
            req(r, headers=[("Authorization", bearer), ("Authorization", "Bearer x.y.z")]),
            creds=True, expect=400)
        add("dup-authorization-valid-last",
            req(r, headers=[("Authorization", "Bearer x.y.z"), ("Authorization", bearer)]),
            creds=True, expect=400)
        add("dup-authorization-same",
            req(r, headers=[("Authorization", bearer), ("Authorization", bearer)]),
            creds=True, expect=400)
        add("dup-authorization-comma",
            req(r, headers=[("Authorization", bearer + ", Bearer x.y.z")]),
            creds=True, expect=400)
        add("dup-authorization-comma-basic",
            req(r, headers=[("Authorization", bearer + ", Basic dXNlcjpwYXNz")]),
            creds=True, expect=400)
        add("cred-bearer-lower-scheme", req(r, headers=[("Authorization", "bearer " + TOKEN)]),
            creds=True)
        add("cred-token-in-query", req(r, target=r.path + "?access_token=" + TOKEN))
        add("cred-token-in-cookie", req(r, headers=[("Cookie", "access_token=" + TOKEN)]))
        add("cred-basic", req(r, headers=[("Authorization", "Basic Y2Fyb2w6cGFzcw==")]))
        for name, tok in BAD_TOKENS.items():
            add("token-" + name, req(r, headers=[("Authorization", "Bearer " + tok)]))
    else:
        path = r.path
        k = ADMIN_KEY
        add("dup-query-valid-first", req(r, target=path + "?api_key=%s&api_key=bogus" % k),
            creds=True, expect=400)
        add("dup-query-valid-last", req(r, target=path + "?api_key=bogus&api_key=" + k),
            creds=True, expect=400)
        add("dup-query-same", req(r, target=path + "?api_key=%s&api_key=%s" % (k, k)),
            creds=True, expect=400)
        add("dup-query-encoded-name", req(r, target=path + "?api_key=%s&api%%5Fkey=bogus" % k),
            creds=True, expect=400)
        add("dup-query-encoded-name-first",
            req(r, target=path + "?api%%5Fkey=bogus&api_key=" + k), creds=True, expect=400)
        add("cred-query-semicolon", req(r, target=path + "?api_key=%s;api_key=bogus" % k),
            creds=True)
        add("cred-query-upper-name", req(r, target=path + "?API_KEY=" + k), creds=True)
        add("cred-query-in-header", req(r, headers=[("X-API-Key", k)]))
        add("cred-query-bad", req(r, target=path + "?api_key=bogus"))
        add("cred-query-empty", req(r, target=path + "?api_key="))
    return vs


def public_variants():
    """Requests for the public route: what they forge must not reach the origin either."""
    vs = []
    for i, (name, value) in enumerate(FORGED_FIELDS):
        vs.append(Variant(None, "forge-" + fid(i, name),
                          lambda probe, n=name, v=value: head("GET", "/public/x", "example.com",
                                                              [(n, v)], probe)))
    for name in ["X-Consumer", "X_Consumer", "X-Forwarded-For", "X-Real-IP", "Forwarded"]:
        value = FORGED["ip"] if "ip" in name.lower() or "for" in name.lower() else \
            FORGED["consumer"]
        body = ("4\r\nbody\r\n0\r\n%s: %s\r\n\r\n" % (name, value)).encode()
        vs.append(Variant(None, "trailer-" + name,
                          lambda probe, b=body: head("POST", "/public/x", "example.com",
                                                     [("Transfer-Encoding", "chunked")], probe,
                                                     body=b), method="POST"))
    vs.append(Variant(None, "h2c-upgrade",
                      lambda probe: head("GET", "/public/x", "example.com",
                                         [("Connection", "Upgrade, HTTP2-Settings"),
                                          ("Upgrade", "h2c"),
                                          ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")],
                                         probe)))
    for n in INTERNAL:
        for r in ROUTES.values():
            vs.append(Variant(None, "internal-%s-%s" % (n, r.name),
                              lambda probe, n=n, r=r: head("GET", "/public/x", r.host,
                                                           [(n, r.path)], probe)))
    return vs


VARIANTS = {name: route_variants(r) for name, r in ROUTES.items()}
PUBLIC = public_variants()
ALL = [v for vs in VARIANTS.values() for v in vs] + PUBLIC
BY_ID = {v.id: v for v in ALL}
assert len(BY_ID) == len(ALL), "variant ids must be unique"
RESULTS = {}  # id -> outcome text, for the summary


# ---- what the origin received ----

def probe_of(e):
    for k, v in e["headers"]:
        if k.lower() == "x-probe":
            return v
    return None


def field_values(fields, key):
    return [v for k, v in fields if br.header_key(k) == key]


def host_readings(e):
    hosts = field_values(e["headers"], "host")
    hosts += field_values(e["headers"], "x-forwarded-host")
    for f in field_values(e["headers"], "forwarded"):
        hosts += re.findall(r"host=\"?([^;,\"]+)", f, re.I)
    auth = br.authority_of(e["target"])
    if auth:
        hosts.append(auth)
    return {br.host_reading(x) for x in hosts}


def protected_route(e):
    """The route whose resource this origin request is, as some backend reads it; else None."""
    paths = br.readings(e["target"])
    for n in INTERNAL:  # a backend honouring X-Original-URL serves that path instead
        for v in field_values(e["headers"], br.header_key(n)):
            paths |= br.readings(v)
    for r in ROUTES.values():
        if r.host_required and r.host_required not in host_readings(e):
            continue
        if any(r.protected_rx.match(p) for p in paths):
            return r
    return None


def authenticated_as(e, r):
    """Empty when gw7 forwarded e as r's authenticated request; else what is wrong."""
    consumers = field_values(e["headers"], "x-consumer")
    if consumers != [r.consumer]:
        return "consumer field %r, not gw7's %r" % (consumers, r.consumer)
    return ""


def forged_fields(e, internal_known):
    """Forged identity, forwarding, h2c or internal fields in e's headers or trailers."""
    bad = []
    for where in ("headers", "trailers"):
        for k, v in e.get(where) or []:
            key = br.header_key(k)
            if key in IDENTITY_FIELDS and any(m in v for m in FORGED_MARKERS):
                bad.append("%s %s: %s" % (where[:-1], k, v))
            elif key == "x-forwarded-port" and v == "6666":
                bad.append("%s %s: %s" % (where[:-1], k, v))
            elif key in H2C_FIELDS or (key == "upgrade" and "h2c" in v.lower()):
                bad.append("%s %s: %s" % (where[:-1], k, v))
            elif internal_known and key in {br.header_key(n) for n in INTERNAL}:
                bad.append("%s %s: %s" % (where[:-1], k, v))
    return bad


def judge(e, internal_known):
    """Problems with one origin request (whatever sent it)."""
    problems = []
    probe = probe_of(e) or ""
    v = BY_ID.get(probe.split("+", 1)[0])
    r = protected_route(e)
    creds = v is not None and v.creds and not probe.endswith("+inner")
    if probe.startswith("control/"):
        creds = probe.startswith("control/ok")
    if r is not None:
        if not creds:
            problems.append("BYPASS: %s %s reached the origin as %s without a credential"
                            % (e["method"], e["target"], r.name))
        elif authenticated_as(e, r):
            problems.append("%s %s: not an authenticated %s request: %s"
                            % (e["method"], e["target"], r.name, authenticated_as(e, r)))
    elif v is not None and v.creds and v.route is not None and not probe.endswith("+inner"):
        problems.append("ROUTED AWAY: %s %s with a credential for %s reached the origin off the "
                        "protected route" % (e["method"], e["target"], v.route.name))
    problems += ["FORGED: " + x for x in forged_fields(e, internal_known)]
    return problems


# ---- the module's gw7 and origin ----

class Setup:
    pass


def internal_headers_supported(tmp):
    """SPEC-11 adds [gw7] internal_headers; an older gw7 refuses the key."""
    path = os.path.join(tmp, "probe.toml")
    with open(path, "w") as f:
        f.write(h.render_config(gw7={"internal_headers": ["X-Probe-Only"]},
                                upstreams=[{"name": "app", "servers": ["127.0.0.1:9"]}],
                                routes=[{"name": "r", "path_prefix": "/", "upstream": "app"}]))
    r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, timeout=30)
    return r.returncode == 0


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("bypass"))
    e = h.Env(tmp)
    s = Setup()
    try:
        s.origin = e.origin("o")
        secret = os.path.join(tmp, "jwt.secret")
        with open(secret, "wb") as f:
            f.write(JWT_SECRET)
        s.internal = internal_headers_supported(tmp)
        s.gw7 = e.gw7(config_text(s.origin.address("o"), secret,
                                  INTERNAL if s.internal else None), tag="gw7-bypass")
        s.addr = s.gw7.addr
        s.log = OriginLog(s.origin)
        yield s
    finally:
        problems = e.close()
        if problems and getattr(s, "gw7", None):
            sys.stderr.write("---- gw7 stderr ----\n%s\n" % s.gw7.stderr()[-6000:])
            pytest.fail("; ".join(problems))


def send(addr, data, method, timeout=3.0, pipelined=False):
    """Sends raw bytes; the first response, or None when gw7 closed or stayed silent. With
    `pipelined`, a second response is awaited too (briefly), so that gw7 has acted on whatever
    followed the first request before the connection goes."""
    c = h.Client(addr, timeout)
    try:
        c.send(data)
        try:
            first = c.read_response(method.upper() if method.upper() == "HEAD" else method)
        except (EOFError, socket.timeout, ConnectionResetError, ValueError, IndexError,
                AssertionError):
            return None
        if pipelined and not first.closed:
            c.sock.settimeout(1.0 * h.SLOW)
            try:
                c.read_response()
            except (EOFError, socket.timeout, ConnectionResetError, ValueError, IndexError,
                    AssertionError):
                pass
        return first
    finally:
        c.close()


class OriginLog:
    """The origin's request events, parsed once each and indexed by probe (the harness's
    HttpOrigin.requests() parses the whole log on every call: too slow for 600 variants)."""

    def __init__(self, origin):
        self.origin = origin
        self.seen = 0
        self.all = []
        self.by_probe = defaultdict(list)
        self.syncs = 0

    def poll(self):
        with self.origin.out.cond:
            new = self.origin.out.lines[self.seen:]
            self.seen += len(new)
        for line in new:
            if line is None or not line.startswith("EVENT "):
                continue
            e = json.loads(line[6:])
            if e.get("ev") == "request":
                self.all.append(e)
                self.by_probe[(probe_of(e) or "").split("+", 1)[0]].append(e)

    def sync(self, addr):
        """Every event of a request answered so far is in: the origin logs a request before it
        answers, so once a request sent now is logged, the earlier ones are too."""
        self.syncs += 1
        probe = "sync/%d" % self.syncs
        r = send(addr, head("GET", "/__sync", "example.com", [], probe), "GET")
        assert r is not None and r.status == 200, r

        def logged():
            self.poll()
            return probe in self.by_probe
        h.wait_until(logged, 10, "the origin's log of " + probe, interval=0.002)


def arrivals(s, probe):
    return list(s.log.by_probe.get(probe, []))


def run_variant(s, v):
    if v.id.startswith("public/internal-") and not s.internal:
        pytest.skip("this gw7 has no [gw7] internal_headers (SPEC-11)")
    r = send(s.addr, v.data, v.method, pipelined=v.inner)
    s.log.sync(s.addr)  # every event of a request answered so far is read
    got = arrivals(s, v.id)
    problems = []
    for e in got:
        problems += judge(e, s.internal)
    from_origin = r is not None and r.header("x-origin") is not None
    if v.expect is not None:
        if r is None or r.status != v.expect or from_origin:
            problems.append("SPEC: expected gw7's own %d, got %r" % (v.expect, r))
    elif v.route is not None and not v.creds and not v.inner:
        # No credential: gw7's own refusal, or an answer for a path that is not protected.
        if from_origin and not got:
            problems.append("answered by the origin but the request is not in its log")
    outcome = ("refused %s" % (r.status if r is not None else "(closed)")) if not got else \
        "origin %s" % ",".join("%s %s" % (e["method"], e["target"]) for e in got)
    RESULTS[v.id] = ("FAIL " if problems else "ok   ") + outcome
    assert not problems, "%s: %s\nresponse: %r" % (v.id, "; ".join(problems), r)


def ids(vs):
    return [v.id for v in vs]


@pytest.mark.parametrize("v", VARIANTS["catalog"], ids=ids(VARIANTS["catalog"]))
def test_catalog(env, v):
    run_variant(env, v)


@pytest.mark.parametrize("v", VARIANTS["products"], ids=ids(VARIANTS["products"]))
def test_products(env, v):
    run_variant(env, v)


@pytest.mark.parametrize("v", VARIANTS["admin"], ids=ids(VARIANTS["admin"]))
def test_admin(env, v):
    run_variant(env, v)


@pytest.mark.parametrize("v", PUBLIC, ids=ids(PUBLIC))
def test_public(env, v):
    run_variant(env, v)


# ---- controls: the routes work, so a suite that passes means something ----

@pytest.mark.parametrize("name", list(ROUTES))
def test_control_valid_credential_is_served_authenticated(env, name):
    r = ROUTES[name]
    probe = "control/ok-" + name
    resp = send(env.addr, head("GET", r.with_query(r.path, True), r.host, r.creds(True), probe),
                "GET")
    assert resp is not None and resp.status == 200 and resp.header("x-origin") == "o", resp
    env.log.sync(env.addr)
    got = arrivals(env, probe)
    assert len(got) == 1, got
    e = got[0]
    assert br.path_of(e["target"]) == r.forwarded, e["target"]
    assert not authenticated_as(e, r), authenticated_as(e, r)
    assert not judge(e, env.internal)
    # Without the credential, and with a wrong one: gw7's 401, nothing at the origin.
    for tag, hdrs, target in (("none", [], r.path),
                              ("wrong", [(k, "bogus") for k, _ in r.cred_headers],
                               r.path + ("?api_key=bogus" if r.cred_query else ""))):
        p = "control/%s-%s" % (tag, name)
        resp = send(env.addr, head("GET", target, r.host, hdrs, p), "GET")
        assert resp is not None and resp.status == 401 and resp.header("x-origin") is None, resp
        env.log.sync(env.addr)
        assert not arrivals(env, p)


ROUTED_BY_SPEC = ["pct-first-letter", "pct-whole-segment-upper-hex", "slashes-after-segment",
                  "slashes-leading", "trailing-slash"]


@pytest.mark.parametrize("name,vid", [(n, t) for n in ROUTES for t in ROUTED_BY_SPEC])
def test_control_spec_routes_normalised_paths_to_the_protected_route(env, name, vid):
    """SPEC-11 says these are routed (decoded unreserved escapes, merged slashes, one trailing
    slash): with a credential they are served, authenticated, by the protected route. (Without
    one they are variants like any other: refused or authenticated.)"""
    r = ROUTES[name]
    target = dict(path_tricks(r))[vid]
    probe = "control/ok-%s-%s" % (name, vid)
    resp = send(env.addr, head("GET", r.with_query(target, True), r.host, r.creds(True), probe),
                "GET")
    env.log.sync(env.addr)
    got = arrivals(env, probe)
    assert resp is not None and resp.status == 200 and len(got) == 1, (resp, got)
    assert protected_route(got[0]) is r and not authenticated_as(got[0], r), \
        (got[0]["target"], authenticated_as(got[0], r))


@pytest.mark.parametrize("name", list(ROUTES))
def test_control_credential_not_forwarded(env, name):
    """SPEC-11: the credential is removed before forwarding (forward_credential defaults false)."""
    r = ROUTES[name]
    probe = "control/ok-fwd-" + name
    send(env.addr, head("GET", r.with_query(r.path, True), r.host, r.creds(True), probe), "GET")
    env.log.sync(env.addr)
    got = arrivals(env, probe)
    assert len(got) == 1, got
    e = got[0]
    secrets = (CATALOG_KEY, ADMIN_KEY, TOKEN)
    leaked = [x for x in [e["target"]] + [v for _, v in e["headers"]]
              if any(sec in x for sec in secrets)]
    assert not leaked, leaked


def test_control_forwarding_fields_are_gw7s_own(env):
    """An untrusted client's X-Forwarded-For/Forwarded are replaced (SPEC-11), not appended to."""
    probe = "control/xff"
    send(env.addr, head("GET", "/public/xff", "example.com",
                        [("X-Forwarded-For", "1.2.3.4"), ("Forwarded", "for=1.2.3.4")], probe),
         "GET")
    env.log.sync(env.addr)
    got = arrivals(env, probe)
    assert len(got) == 1
    assert field_values(got[0]["headers"], "x-forwarded-for") == ["127.0.0.1"], got[0]["headers"]
    fwd = field_values(got[0]["headers"], "forwarded")
    assert len(fwd) == 1 and "1.2.3.4" not in fwd[0] and "127.0.0.1" in fwd[0], fwd


# ---- the global sweep and the summary ----

def test_zz_origin_never_received_a_protected_resource_unauthenticated(env, capsys):
    env.log.sync(env.addr)
    time.sleep(0.2 * h.SLOW)  # a smuggled request may trail its carrier
    env.log.sync(env.addr)
    problems = []
    for e in env.log.all:
        for p in judge(e, env.internal):
            problems.append("%s: %s" % (probe_of(e), p))
    per_route = Counter(v.route.name if v.route else "public" for v in ALL)
    fails = defaultdict(list)
    for vid, outcome in sorted(RESULTS.items()):
        if outcome.startswith("FAIL"):
            fails[BY_ID[vid].route.name if BY_ID[vid].route else "public"].append(vid)
    with capsys.disabled():
        print("\n---- gw7 bypass suite ----")
        for name, n in per_route.items():
            print("%-9s %3d variants, %3d run, %3d failed" % (
                name, n, len([x for x in RESULTS if x.startswith(name + "/")]),
                len(fails[name])))
        by_class = Counter("%s/%s" % (BY_ID[x].route.name if BY_ID[x].route else "public",
                                      BY_ID[x].cls)
                           for x, outcome in RESULTS.items() if outcome.startswith("FAIL"))
        for cls, n in sorted(by_class.items()):
            print("  failed %-22s %3d" % (cls, n))
        print("origin requests seen: %d; global problems: %d"
              % (len(env.log.all), len(problems)))
    if os.environ.get("BYPASS_RESULTS"):  # a file for a report: every variant's outcome
        with open(os.environ["BYPASS_RESULTS"], "w") as f:
            json.dump({"results": RESULTS, "global": problems}, f, indent=1, sort_keys=True)
    assert not problems, "\n".join(problems[:80])
