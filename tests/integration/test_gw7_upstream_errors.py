"""gw7 when upstreams fail: 502 (connect refused, reset, malformed or ambiguous responses, never
forwarded), 503 (no healthy server: every server ejected), 504 (request_timeout), retries (only
idempotent requests, only before any response byte reached the client), passive ejection."""

import os
import socket
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401
from http_origin import HOSTILE  # noqa: E402


def assert_generic_error(r, status, message, *internal):
    """gw7's own error body: a generic message and the request id of the X-Request-Id field, and
    none of the internal names or addresses (they go to the log line)."""
    assert r.status == status, r
    body = r.json()
    assert body["error"]["status"] == status
    assert body["error"]["message"] == message
    assert body["error"]["request_id"] == r.header("x-request-id") != ""
    for text in internal + ("127.0.0.1", "app", "upstream \"", "server 1"):
        assert text not in r.body.decode(), (text, r.body)


def config(servers, **upstream):
    u = {"name": "app", "servers": servers, "connect_timeout": "500ms", "request_timeout": "2s",
         "retries": 0, "passive_failures": 0}
    u.update(upstream)
    return h.render_config(upstreams=[u],
                           routes=[{"name": "r", "path_prefix": "/", "upstream": "app"}])


def test_connect_refused_is_502_with_json(gw):
    port = h.closed_port()
    g = gw.gw7(config(["127.0.0.1:%d" % port]))
    r = h.request(g.addr, "GET", "/x")
    assert_generic_error(r, 502, "the upstream service failed to answer", str(port))
    # The detail is in the log line, under the same request id.
    g.err.wait_for(r"request %s: .*upstream \"app\"" % r.header("x-request-id"),
                   5)
    assert h.metric(g.metrics(), "gw7_errors_total", kind="connect_failed") == 1


def test_connect_timeout_is_502_and_retried(gw):
    # A listener whose accept queue is full: the kernel drops further SYNs, so a connect to it
    # neither completes nor fails until gw7's connect_timeout.
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(0)
    fillers = []
    try:
        while len(fillers) < 8:  # fill the queue until a connect hangs
            f = socket.socket()
            fillers.append(f)
            f.settimeout(0.3)
            try:
                f.connect(stuck.getsockname())
            except socket.timeout:
                break
        g = gw.gw7(config(["127.0.0.1:%d" % stuck.getsockname()[1]], connect_timeout="300ms"))
        start = time.monotonic()
        r = h.request(g.addr, "GET", "/x")
        assert_generic_error(r, 502, "the upstream service failed to answer",
                             str(stuck.getsockname()[1]))
        g.err.wait_for(r"request %s: connecting to upstream \"app\" server \S+ timed out"
                       % r.header("x-request-id"), 5)
        assert 0.25 <= time.monotonic() - start < 1.5
        assert h.metric(g.metrics(), "gw7_errors_total", kind="connect_timeout") == 1
        # With a healthy second server, an idempotent request is retried there instead.
        o = gw.origin("b")
        g2 = gw.gw7(config(["127.0.0.1:%d" % stuck.getsockname()[1], o.address("b")],
                           connect_timeout="300ms", retries=1, balance="round_robin"))
        for _ in range(2):
            assert h.request(g2.addr, "GET", "/y").status == 200
        assert h.metric(g2.metrics(), "gw7_errors_total", kind="connect_timeout") == 1
    finally:
        for f in fillers:
            f.close()
        stuck.close()


@pytest.mark.parametrize("kind", sorted(k for k in HOSTILE if k not in ("short_body",
                                                                          "bad_chunk")))
def test_ambiguous_or_malformed_responses_are_502_never_forwarded(gw, kind):
    o = gw.origin("a")
    g = gw.gw7(config([o.address("a")]))
    c = h.Client(g.addr)
    c.send(h.request_bytes("GET", "/x?hostile=" + kind))
    r = c.read_response()
    assert r.header("content-type") == "application/json", (kind, r)
    assert_generic_error(r, 502, "the upstream service failed to answer")
    assert b"hello" not in r.body and b"xxxx" not in r.body
    # The client connection stays usable: the bad response did not desynchronise it.
    c.send(h.request_bytes("GET", "/ok"))
    assert c.read_response().status == 200
    c.close()


def test_bad_chunked_body_after_the_head_closes_the_client(gw):
    o = gw.origin("a")
    g = gw.gw7(config([o.address("a")]))
    for kind in ("bad_chunk", "short_body"):
        c = h.Client(g.addr)
        c.send(h.request_bytes("GET", "/x?hostile=" + kind))
        with pytest.raises(EOFError):
            c.read_response()
        c.close()
    assert h.metric(g.metrics(), "gw7_errors_total", kind="bad_response_body") == 1
    assert h.metric(g.metrics(), "gw7_errors_total", kind="upstream_truncated") == 1


def test_request_timeout_is_504(gw):
    o = gw.origin("a")
    g = gw.gw7(config([o.address("a")], request_timeout="300ms"))
    r = h.request(g.addr, "GET", "/slow?delay=2")
    assert_generic_error(r, 504, "the upstream service did not answer in time")
    g.err.wait_for(r"request %s: upstream \"app\" did not respond within request_timeout"
                   % r.header("x-request-id"), 5)


def test_retries_idempotent_requests_on_another_server(gw):
    o = gw.origin("good", "bad", defaults={"bad": "reset=1"})
    bad_port = "127.0.0.1:%d" % h.closed_port()
    g = gw.gw7(config([bad_port, o.address("bad"), o.address("good")], retries=2))
    for i in range(6):
        r = h.request(g.addr, "GET", "/g%d" % i)
        assert r.status == 200 and r.header("x-origin") == "good"
    assert h.metric(g.metrics(), "gw7_retries_total") >= 6


def test_no_retry_for_post(gw):
    o = gw.origin("good", "bad", defaults={"bad": "reset=1"})
    g = gw.gw7(config([o.address("bad"), o.address("good")], retries=2))
    statuses = []
    for i in range(4):
        statuses.append(h.request(g.addr, "POST", "/p%d" % i, body=b"data").status)
    # Round robin alternates: the POSTs that met the bad server failed, and were not retried.
    assert statuses.count(502) == 2 and statuses.count(200) == 2
    o.wait_requests(2, name="good")
    o.wait_requests(2, name="bad")
    assert len(o.requests(name="bad")) == 2


def test_no_retry_after_response_bytes(gw):
    o = gw.origin("a", "b", defaults={"a": "hostile=short_body", "b": "hostile=short_body"})
    g = gw.gw7(config([o.address("a"), o.address("b")], retries=2))
    c = h.Client(g.addr)
    c.send(h.request_bytes("GET", "/x"))
    with pytest.raises(EOFError):
        c.read_response()
    c.close()
    o.wait_requests(1)
    # No second attempt arrives (the error was answered by closing, after the origin's request).
    assert len(o.requests()) == 1


def test_passive_ejection_then_503(gw):
    o = gw.origin("a", defaults={"a": "reset=1"})
    # The only server may be ejected (max_ejection_percent 100; the default 50 keeps it in) and
    # no panic sends requests to it anyway (panic_threshold 0; the default 50 would).
    g = gw.gw7(config([o.address("a")], passive_failures=2, ejection_time="30s",
                      max_ejection_percent=100, panic_threshold=0))
    assert h.request(g.addr, "GET", "/1").status == 502
    assert h.request(g.addr, "GET", "/2").status == 502
    r = h.request(g.addr, "GET", "/3")
    assert_generic_error(r, 503, "no upstream server is available")
    o.wait_requests(2)
    assert len(o.requests()) == 2
    st = g.status()["upstreams"][0]["servers"][0]
    assert st["ejected"] is True and st["ejections"] == 1


def test_origin_5xx_passes_through(gw):
    o = gw.origin("a")
    g = gw.gw7(config([o.address("a")], retries=2))
    r = h.request(g.addr, "GET", "/x?status=500")
    assert r.status == 500 and r.header("x-origin") == "a"
    o.sync(g.addr)
    assert len(o.requests()) == 2  # the request and the sync: no retry of the 500


class ConnectionNamingOrigin:
    """A keep-alive origin whose responses say "Connection: content-length" or "Connection:
    transfer-encoding": a proxy that honoured those options would drop the response's framing.
    /cl answers with a Content-Length body, /te with a chunked one, anything else plainly. Every
    request head it receives is kept (self.heads) with its body."""

    RESPONSES = {
        b"/cl": b"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nfirst",
        b"/te": b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Transfer-Encoding\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n0\r\n\r\n",
    }

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.heads = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(s,), daemon=True).start()

    def serve(self, s):
        buf = b""
        with s:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                while len(buf) < length:
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                body, buf = buf[:length], buf[length:]
                self.heads.append((head, body))
                path = head.split(b" ")[1]
                s.sendall(self.RESPONSES.get(path, b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"
                                                   b"second"))

    def close(self):
        self.sock.close()


def test_connection_naming_framing_fields_is_ignored(gw):
    o = ConnectionNamingOrigin()
    try:
        g = gw.gw7(config([o.address]))
        c = h.Client(g.addr, timeout=5)
        for path in ("/cl", "/te"):
            c.send(h.request_bytes("GET", path))
            r = c.read_response()
            assert r.status == 200 and r.body == b"first" and not r.closed, r
            framing = r.header("content-length") or r.header("transfer-encoding")
            assert framing is not None, r.headers
            assert "content-length" not in (r.header("connection") or "").lower()
            # The next response on the same client connection is its own, not the rest of this.
            c.send(h.request_bytes("GET", "/next"))
            r = c.read_response()
            assert r.status == 200 and r.body == b"second", r
        # A client's "Connection: content-length, host" does not strip them on the way up.
        c.send(h.request_bytes("POST", "/up", headers=[("Connection", "content-length, host")],
                               body=b"hello"))
        r = c.read_response()
        assert r.status == 200 and r.body == b"second", r
        c.close()
        head, body = o.heads[-1]
        assert body == b"hello"
        assert b"\r\ncontent-length: 5" in head.lower() and b"\r\nhost: example.com" in head.lower()
        assert h.metric(g.metrics(), "gw7_errors_total", kind="connection_names_framing") == 3
    finally:
        o.close()
