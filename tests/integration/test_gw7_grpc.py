"""gRPC through gw7 (issue 12): a real gRPC server (python3-grpcio, generic handlers with bytes
in and out, no protoc) as an h2c upstream ([[upstream]] protocol = "h2c"), the real gRPC client
speaking h2c with prior knowledge to gw7 ([gw7] http2 = true). Unary, server streaming, client
streaming and bidirectional calls with their trailers; grpc-timeout bounding the upstream request;
gw7's own refusals as trailers-only gRPC responses; HTTP/2 upstream connections shared by many
streams within the server's SETTINGS_MAX_CONCURRENT_STREAMS, and an h2c origin that is not gRPC
(nghttpd); and protocol = "h2": the same over TLS, the server's certificate verified."""

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
import tls_support as t  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401
import pytest  # noqa: E402

grpc = pytest.importorskip("grpc")

needs_nghttp = pytest.mark.skipif(shutil.which("nghttp") is None, reason="nghttp2-client missing")
needs_nghttpd = pytest.mark.skipif(shutil.which("nghttpd") is None,
                                   reason="nghttp2-server not installed")

CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0)]


def ident(b):
    return b


class CountingRelay:
    """A TCP relay in front of the gRPC server that counts the connections it accepts: how many
    upstream connections gw7 opened."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()
                continue
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.sock.close()


class Service(grpc.GenericRpcHandler):
    """Any service name; the method's last path segment says what it does."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0
        self.calls = 0
        self.release = threading.Event()

    def _enter(self):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.max_running = max(self.max_running, self.running)

    def _leave(self):
        with self.lock:
            self.running -= 1

    def service(self, details):
        name = details.method.rsplit("/", 1)[-1]
        kw = dict(request_deserializer=ident, response_serializer=ident)
        if name == "Unary":
            return grpc.unary_unary_rpc_method_handler(self.unary, **kw)
        if name == "Fail":
            return grpc.unary_unary_rpc_method_handler(self.fail, **kw)
        if name == "Slow":
            return grpc.unary_unary_rpc_method_handler(self.slow, **kw)
        if name == "Held":
            return grpc.unary_unary_rpc_method_handler(self.held, **kw)
        if name == "ServerStream":
            return grpc.unary_stream_rpc_method_handler(self.server_stream, **kw)
        if name == "ClientStream":
            return grpc.stream_unary_rpc_method_handler(self.client_stream, **kw)
        if name == "Bidi":
            return grpc.stream_stream_rpc_method_handler(self.bidi, **kw)
        return None

    def unary(self, request, context):
        self._enter()
        try:
            md = dict(context.invocation_metadata())
            context.set_trailing_metadata((("x-echo-trailer", "t-" + md.get("x-tag", "")),))
            return b"echo:" + request
        finally:
            self._leave()

    def fail(self, request, context):
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: " + request.decode())

    def slow(self, request, context):
        # Outlives any deadline of the tests; ends when the call is cancelled.
        for _ in range(100):
            if not context.is_active():
                break
            time.sleep(0.05)
        return b"late"

    def held(self, request, context):
        self._enter()
        try:
            self.release.wait(20)
            return b"held:" + request
        finally:
            self._leave()

    def server_stream(self, request, context):
        n = int(request.decode())
        for i in range(n):
            yield b"part-%d-" % i + b"x" * (i * 1000)
        context.set_trailing_metadata((("x-parts", str(n)),))

    def client_stream(self, request_iterator, context):
        d = hashlib.sha256()
        count = 0
        for m in request_iterator:
            d.update(m)
            count += 1
        return b"%d:" % count + d.hexdigest().encode()

    def bidi(self, request_iterator, context):
        for m in request_iterator:
            yield b"re:" + m


class GrpcOrigin:
    def __init__(self, max_concurrent_streams=None, tls=None):
        """tls: (cert path, key path): gRPC over TLS (ALPN h2) instead of h2c."""
        opts = []
        if max_concurrent_streams is not None:
            opts.append(("grpc.max_concurrent_streams", max_concurrent_streams))
        self.svc = Service()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=opts,
                                  handlers=[self.svc], maximum_concurrent_rpcs=None)
        if tls is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            with open(tls[0], "rb") as c, open(tls[1], "rb") as k:
                creds = grpc.ssl_server_credentials([(k.read(), c.read())])
            self.port = self.server.add_secure_port("127.0.0.1:0", creds)
        self.server.start()
        self.relay = CountingRelay(("127.0.0.1", self.port))

    @property
    def address(self):
        return "127.0.0.1:%d" % self.relay.port

    def stop(self):
        self.svc.release.set()
        self.relay.stop()
        self.server.stop(0)


@pytest.fixture
def grpc_origin():
    origins = []

    def make(**kw):
        o = GrpcOrigin(**kw)
        origins.append(o)
        return o

    yield make
    for o in origins:
        o.stop()


API_KEY_DIGEST = hashlib.sha256(b"s3cret").hexdigest()
AUTH = ('\n[[auth]]\nname = "partners"\ntype = "api_key"\nheader = "X-API-Key"\n'
        'keys = [{ consumer = "alice", sha256 = "%s" }]\n'
        '\n[[rate_limit]]\nname = "one"\nkey = "client_ip"\nlimit = 1\nper = "1m"\nburst = 0\n'
        % API_KEY_DIGEST)


def grpc_gw(gw, origin, upstream_extra=None, extra_routes=(), http1_origin=None):
    u = {"name": "grpc", "servers": [origin.address] if origin else [], "protocol": "h2c",
         "retries": 0}
    u.update(upstream_extra or {})
    upstreams = [u]
    routes = [{"name": "secure", "path_prefix": "/secure.Svc/", "upstream": "grpc",
               "auth": "partners"},
              {"name": "limited", "path_prefix": "/limited.Svc/", "upstream": "grpc",
               "rate_limit": "one"},
              {"name": "test", "path_prefix": "/test.Svc/", "upstream": "grpc"}]
    if http1_origin is not None:
        upstreams.append({"name": "h1", "servers": [http1_origin.address("a")]})
        routes.append({"name": "h1", "path_prefix": "/h1/", "upstream": "h1"})
    routes.extend(extra_routes)
    cfg = h.render_config(gw7={"http2": True}, upstreams=upstreams, routes=routes, extra=AUTH)
    return gw.gw7(cfg)


def channel(g):
    return grpc.insecure_channel("127.0.0.1:%d" % g.addr[1], options=CHANNEL_OPTIONS)


def unary(ch, path):
    return ch.unary_unary(path, request_serializer=ident, response_deserializer=ident)


def test_unary_with_metadata_and_trailers(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    with channel(g) as ch:
        resp, call = unary(ch, "/test.Svc/Unary").with_call(b"hi", metadata=(("x-tag", "7"),),
                                                            timeout=10)
        assert resp == b"echo:hi"
        assert call.code() == grpc.StatusCode.OK
        assert ("x-echo-trailer", "t-7") in call.trailing_metadata()
        # Many calls on the one client connection, over one shared upstream connection.
        for i in range(20):
            assert unary(ch, "/test.Svc/Unary")(b"%d" % i, timeout=10) == b"echo:%d" % i
    assert o.relay.accepted == 1


def test_error_status_and_message_are_relayed(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    with channel(g) as ch:
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/test.Svc/Fail")(b"widget", timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == "no such thing: widget"


def test_server_streaming(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    with channel(g) as ch:
        call = ch.unary_stream("/test.Svc/ServerStream", request_serializer=ident,
                               response_deserializer=ident)(b"60", timeout=20)
        parts = list(call)
        assert len(parts) == 60
        assert parts[59] == b"part-59-" + b"x" * 59000
        assert call.code() == grpc.StatusCode.OK
        assert ("x-parts", "60") in call.trailing_metadata()


def test_client_streaming(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    msgs = [bytes([i % 256]) * (i * 700) for i in range(80)]  # ~2.2 MB in all
    want = hashlib.sha256(b"".join(msgs)).hexdigest().encode()
    with channel(g) as ch:
        resp = ch.stream_unary("/test.Svc/ClientStream", request_serializer=ident,
                               response_deserializer=ident)(iter(msgs), timeout=20)
    assert resp == b"80:" + want


def test_bidirectional_streaming_interleaves(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    outgoing = []
    cond = threading.Condition()

    def requests():
        # Each message waits for the answer to the one before: the call is truly interleaved.
        for i in range(10):
            with cond:
                cond.wait_for(lambda: len(received) >= i, timeout=10)
            yield b"m%d" % i

    received = []
    with channel(g) as ch:
        call = ch.stream_stream("/test.Svc/Bidi", request_serializer=ident,
                                response_deserializer=ident)(requests(), timeout=20)
        for m in call:
            with cond:
                received.append(m)
                cond.notify_all()
        assert call.code() == grpc.StatusCode.OK
    assert received == [b"re:m%d" % i for i in range(10)]
    assert not outgoing


def test_client_deadline_exceeded(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    with channel(g) as ch:
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/test.Svc/Slow")(b"x", timeout=0.5)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # The connection and the upstream are fine afterwards.
        assert unary(ch, "/test.Svc/Unary")(b"after", timeout=10) == b"echo:after"


def nghttp_grpc(g, path, timeout_header, body=b"\x00\x00\x00\x00\x00"):
    """A gRPC-shaped request from a client that does not enforce the deadline itself: only gw7
    can answer when grpc-timeout passes. Returns the header fields received (name, value)."""
    r = subprocess.run(["nghttp", "-v", "-t", "20", "-H", "content-type: application/grpc",
                        "-H", "te: trailers", "-H", "grpc-timeout: " + timeout_header,
                        "-d", "-", "http://127.0.0.1:%d%s" % (g.addr[1], path)],
                       input=body, capture_output=True, timeout=30)
    return re.findall(r"recv \(stream_id=\d+\) ([^:\s][^:]*|:[a-z]+): (.*)",
                      r.stdout.decode(errors="replace"))


@needs_nghttp
def test_grpc_timeout_is_enforced_by_the_gateway(gw, grpc_origin, tmp_path):
    # The upstream is an HTTP/1.1 origin that knows nothing of gRPC and answers after 5s: the
    # DEADLINE_EXCEEDED can only come from gw7.
    o = grpc_origin()
    h1 = gw.origin("a")
    g = grpc_gw(gw, o, http1_origin=h1)
    fields = nghttp_grpc(g, "/h1/slow?delay=5", "300m")
    assert (":status", "200") in fields, fields
    assert ("grpc-status", "4") in fields, fields
    assert h.metric(g.metrics(), "gw7_errors_total", kind="grpc_deadline") == 1
    # A malformed grpc-timeout is ignored (request_timeout still applies): a fast answer.
    fields = nghttp_grpc(g, "/h1/fast", "soon")
    assert (":status", "200") in fields and not any(n == "grpc-status" for n, _ in fields)


def test_refusals_are_trailers_only_grpc_statuses(gw, grpc_origin):
    o = grpc_origin()
    g = grpc_gw(gw, o)
    with channel(g) as ch:
        # 401: no API key.
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/secure.Svc/Unary")(b"x", timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "HTTP 401" in e.value.details()
        # With the key it goes through.
        assert unary(ch, "/secure.Svc/Unary")(b"k", metadata=(("x-api-key", "s3cret"),),
                                              timeout=10) == b"echo:k"
        # 429: the second call within the minute.
        assert unary(ch, "/limited.Svc/Unary")(b"1", timeout=10) == b"echo:1"
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/limited.Svc/Unary")(b"2", timeout=10)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # No route: UNIMPLEMENTED.
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/nope.Svc/Unary")(b"x", timeout=10)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert o.svc.calls == 2  # the refused calls never reached the server
    # Counted by the HTTP status each refusal stands for, not the 200 gRPC puts on the wire.
    m = g.metrics()
    assert h.metric(m, "gw7_requests_total", route="secure", **{"class": "4xx"}) == 1
    assert h.metric(m, "gw7_requests_total", route="secure", **{"class": "2xx"}) == 1
    assert h.metric(m, "gw7_requests_total", route="limited", **{"class": "4xx"}) == 1
    assert h.metric(m, "gw7_requests_total", route="limited", **{"class": "2xx"}) == 1
    assert h.metric(m, "gw7_requests_total", route="-", **{"class": "4xx"}) == 1


def test_unavailable_upstream_is_grpc_unavailable(gw, grpc_origin):
    o = grpc_origin()
    port = h.closed_port()
    g = grpc_gw(gw, o, upstream_extra={"servers": ["127.0.0.1:%d" % port]})
    with channel(g) as ch:
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/test.Svc/Unary")(b"x", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_many_streams_share_few_connections_within_max_concurrent_streams(gw, grpc_origin):
    o = grpc_origin(max_concurrent_streams=3)
    g = grpc_gw(gw, o, upstream_extra={"h2_max_connections": 2, "request_timeout": "30s"})
    n = 16
    results = []
    with channel(g) as ch:
        call = unary(ch, "/test.Svc/Held")
        pending = [call.future(b"%d" % i, timeout=30) for i in range(n)]
        # At most 2 connections x 3 streams run at once; the rest wait in gw7.
        h.wait_until(lambda: o.svc.running == 6, 10, "6 calls running at the server")
        assert o.svc.calls == 6
        o.svc.release.set()
        for f in pending:
            results.append(f.result(timeout=30))
    assert sorted(results) == sorted(b"held:%d" % i for i in range(n))
    assert o.svc.max_running <= 6
    assert o.relay.accepted == 2


def serve_files_through_nghttpd(gw, tmp_path, upstream, tls_files=()):
    """nghttpd (nghttp2's server, not gRPC) serving a 300 kB file, h2c or over TLS with
    `tls_files` (key, cert); gw7 relays to it (`upstream`: protocol and tls keys) for HTTP/1.1
    and HTTP/2 clients."""
    docroot = tmp_path / "www"
    docroot.mkdir()
    payload = os.urandom(300_000)
    (docroot / "blob").write_bytes(payload)
    port = h.closed_port()
    p = subprocess.Popen(["nghttpd"] + ([] if tls_files else ["--no-tls"]) +
                         ["-d", str(docroot), "-a", "127.0.0.1", str(port)] + list(tls_files),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        h.wait_until(lambda: _connects(port), 10, "nghttpd listening")
        cfg = h.render_config(gw7={"http2": True},
                              upstreams=[dict(upstream, name="files",
                                              servers=["127.0.0.1:%d" % port])],
                              routes=[{"name": "all", "path_prefix": "/", "upstream": "files"}])
        g = gw.gw7(cfg)
        r = h.request(g.addr, "GET", "/blob")
        assert r.status == 200 and r.body == payload
        r = h.request(g.addr, "GET", "/missing")
        assert r.status == 404
        out = subprocess.run(["nghttp", "-n", "-s", "-m", "8",
                              "http://127.0.0.1:%d/blob" % g.addr[1]],
                             capture_output=True, timeout=30)
        assert out.returncode == 0, out.stderr
    finally:
        p.terminate()
        p.wait(5)


@needs_nghttp
@needs_nghttpd
def test_h2c_upstream_non_grpc_origin(gw, tmp_path):
    serve_files_through_nghttpd(gw, tmp_path, {"protocol": "h2c"})


def _connects(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- protocol = "h2" (TLS)


@pytest.fixture
def pki(tmp_path):
    ca = t.Ca(str(tmp_path), "Upstream CA")
    other = t.Ca(str(tmp_path), "Other CA")
    cert, key = ca.issue("grpc.internal", sans=["grpc.internal"])
    return {"ca": ca.cert, "other_ca": other.cert, "cert": cert, "key": key}


def tls_upstream(ca_file, server_name="grpc.internal", verify=True):
    return {"protocol": "h2", "tls": {"ca_file": ca_file, "server_name": server_name,
                                      "verify": verify}}


def test_h2_upstream_over_tls_verified(gw, grpc_origin, pki):
    """gRPC over TLS: the server's chain and name checked, ALPN h2; calls of every kind share
    one TLS connection, and trailers come through."""
    o = grpc_origin(tls=(pki["cert"], pki["key"]))
    g = grpc_gw(gw, o, upstream_extra=tls_upstream(pki["ca"]))
    with channel(g) as ch:
        resp, call = unary(ch, "/test.Svc/Unary").with_call(b"hi", metadata=(("x-tag", "9"),),
                                                            timeout=10)
        assert resp == b"echo:hi" and ("x-echo-trailer", "t-9") in call.trailing_metadata()
        for i in range(20):
            assert unary(ch, "/test.Svc/Unary")(b"%d" % i, timeout=10) == b"echo:%d" % i
        stream = ch.unary_stream("/test.Svc/ServerStream", request_serializer=ident,
                                 response_deserializer=ident)(b"40", timeout=20)
        parts = list(stream)
        assert len(parts) == 40 and parts[39] == b"part-39-" + b"x" * 39000
        assert stream.code() == grpc.StatusCode.OK
    assert o.relay.accepted == 1  # one TLS connection carried every call
    # HTTP/1.1 clients too: gw7 translates to HTTP/2 over the TLS connection.
    r = h.request(g.addr, "POST", "/test.Svc/Unary", body=b"\x00\x00\x00\x00\x02hi",
                  headers=[("Content-Type", "application/grpc"), ("TE", "trailers")])
    assert r.status == 200, r


@pytest.mark.parametrize("case", ["unknown_ca", "wrong_name", "no_h2_alpn"])
def test_h2_upstream_refuses_a_server_it_cannot_trust(gw, grpc_origin, pki, case):
    """A chain from another CA, a certificate for another name, a TLS server that does not
    agree on h2: each is a failed connect (502 / UNAVAILABLE), with the reason in the log."""
    if case == "no_h2_alpn":
        origin = t.TlsOrigin("plain", pki["cert"], pki["key"], alpn=("http/1.1",))
        address = origin.address()
        upstream = tls_upstream(pki["ca"])
        expected = 'did not agree on ALPN "h2"'
    else:
        o = grpc_origin(tls=(pki["cert"], pki["key"]))
        address = o.address
        if case == "unknown_ca":
            upstream, expected = tls_upstream(pki["other_ca"]), "TLS handshake failed"
        else:
            upstream, expected = (tls_upstream(pki["ca"], server_name="billing.internal"),
                                  "TLS handshake failed: hostname mismatch")
    g = grpc_gw(gw, None, upstream_extra=dict(upstream, servers=[address]))
    with channel(g) as ch:
        with pytest.raises(grpc.RpcError) as e:
            unary(ch, "/test.Svc/Unary")(b"x", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    r = h.request(g.addr, "GET", "/test.Svc/Unary")
    assert r.status == 502, r
    assert expected in g.stderr(), g.stderr()[-3000:]
    if case == "no_h2_alpn":
        origin.close()


def test_h2_upstream_verify_false_accepts_any_certificate(gw, grpc_origin, pki):
    o = grpc_origin(tls=(pki["cert"], pki["key"]))
    g = grpc_gw(gw, o, upstream_extra={"protocol": "h2", "tls": {"verify": False}})
    with channel(g) as ch:
        assert unary(ch, "/test.Svc/Unary")(b"v", timeout=10) == b"echo:v"


@needs_nghttp
@needs_nghttpd
def test_h2_upstream_nghttpd_over_tls(gw, tmp_path, pki):
    serve_files_through_nghttpd(gw, tmp_path, tls_upstream(pki["ca"]), (pki["key"], pki["cert"]))


def test_check_h2_upstream_tls_settings(tmp_path, pki):
    base = ('[gw7]\nlisten = "127.0.0.1:0"\n\n[[upstream]]\nname = "u"\n'
            'servers = ["127.0.0.1:9443"]\nprotocol = "h2"\n')
    route = '\n[[route]]\nname = "r"\npath_prefix = "/"\nupstream = "u"\n'
    cases = [
        ("", 'needs tls = { ca_file'),
        ('tls = { ca_file = "%s/missing.pem" }\n' % tmp_path, "missing.pem"),
        ('tls = { ca_file = "%s" }\nhealth = { check = "http" }\n' % pki["ca"],
         "needs port = N"),
    ]
    for i, (extra, expected) in enumerate(cases):
        path = os.path.join(str(tmp_path), "c%d.toml" % i)
        with open(path, "w") as f:
            f.write(base + extra + route)
        r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and expected in r.stderr, (extra, r.stderr)
    path = os.path.join(str(tmp_path), "good.toml")
    with open(path, "w") as f:
        f.write(base + 'tls = { ca_file = "%s", server_name = "grpc.internal" }\n'
                'health = { check = "tcp" }\n' % pki["ca"] + route)
    r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
