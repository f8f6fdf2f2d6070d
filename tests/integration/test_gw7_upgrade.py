"""gw7 relaying protocol upgrades (RFC 9110 7.8) to real origins: a WebSocket echo through the
tunnel, non-101 answers, either side ending the tunnel, half-close, backpressure, idle_timeout,
and the upgrade requests that are refused or ignored."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
import ws_frames as ws  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def upgrade_request(target, key, headers=(), body=None):
    return h.request_bytes("GET" if body is None else "POST", target,
                           [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")] +
                           list(headers), body)


def read_head(c):
    """The status and fields of one response head, read raw (1xx included)."""
    status = int(c._line().split(b" ", 2)[1])
    fields = []
    while True:
        line = c._line()
        if not line:
            return status, fields
        k, _, v = line.decode("latin-1").partition(":")
        fields.append((k.lower(), v.strip()))


def handshake(g, mode="echo", source=None):
    c = h.Client(g.addr, source=source)
    key = ws.new_key()
    c.send(upgrade_request("/chat?ws=" + mode, key))
    status, fields = read_head(c)
    assert status == 101, (status, fields)
    d = dict(fields)
    assert d["upgrade"] == "websocket"
    assert d["connection"].lower() == "upgrade"
    assert d["sec-websocket-accept"] == ws.accept_key(key)
    assert d["x-request-id"]
    return c


def recv_frame(c):
    return ws.read_frame(c._exact)


def test_websocket_echo_through_the_tunnel(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = handshake(g)
    req = o.wait_requests(1)[0]
    fields = {k.lower(): v for k, v in req["headers"]}
    # The one exception to hop-by-hop removal: the upgrade is forwarded.
    assert fields["upgrade"] == "websocket"
    assert fields["connection"].lower() == "upgrade"
    assert fields["sec-websocket-key"]
    messages = [b"hello", b"x" * 200, os.urandom(70000), "héllo".encode()]
    for m in messages:
        c.send(ws.encode_frame(ws.BINARY, m, mask=True))
        assert recv_frame(c) == (ws.BINARY, m)
    c.send(ws.encode_frame(ws.PING, b"p", mask=True))
    assert recv_frame(c) == (ws.PONG, b"p")
    # A clean WebSocket close: close frames both ways, then the origin closes, then gw7.
    c.send(ws.encode_frame(ws.CLOSE, b"\x03\xe8", mask=True))
    assert recv_frame(c) == (ws.CLOSE, b"\x03\xe8")
    assert c.closed_soon(5)
    c.close()
    h.wait_until(lambda: o.events("ws_end", how="close_frame"), 5, "origin saw the close")
    assert h.metric(g.metrics(), "gw7_requests_total", route="all", **{"class": "1xx"}) == 1
    # The upgraded upstream connection was never pooled.
    st = g.status()
    assert st["upstreams"][0]["servers"][0]["idle_connections"] == 0


def test_non_101_answer_is_an_ordinary_response(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    # No ws= option: the origin ignores the Upgrade and answers 200 with a body.
    c.send(upgrade_request("/plain", ws.new_key()))
    r = c.read_response()
    assert r.status == 200 and not r.closed
    assert r.json()["target"] == "/plain"
    # The connection is still HTTP: the next request on it is answered, by the same upstream
    # connection (it went back to the pool).
    c.send(h.request_bytes("GET", "/next"))
    r = c.read_response()
    assert r.status == 200 and r.json()["target"] == "/next"
    c.close()
    assert len(o.events("open")) == 1


def test_origin_closing_ends_the_tunnel(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = handshake(g)
    c.send(ws.encode_frame(ws.TEXT, b"ping", mask=True))
    assert recv_frame(c) == (ws.TEXT, b"ping")
    c.send(ws.encode_frame(ws.TEXT, b"close-now", mask=True))
    assert c.closed_soon(5)
    c.close()
    # Bytes that come right before the origin's close still reach the client.
    c = handshake(g, mode="raw-then-close")
    assert c._exact(3) == b"bye"
    assert c.closed_soon(5)
    c.close()


def test_client_closing_ends_the_tunnel(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = handshake(g)
    c.send(ws.encode_frame(ws.TEXT, b"hi", mask=True))
    assert recv_frame(c) == (ws.TEXT, b"hi")
    c.close()
    # gw7 passes the client's close on: the origin's connection ends.
    h.wait_until(lambda: o.events("ws_end"), 5, "origin saw the end of the tunnel")
    h.wait_until(lambda: o.events("close"), 5, "origin connection closed")
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_connections_active") == 0, 5,
                 "gw7 closed the client connection")


def test_half_close_and_backpressure_in_a_raw_tunnel(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = handshake(g, mode="raw")
    payload = os.urandom(16 << 20)

    def writer():
        view = memoryview(payload)
        for i in range(0, len(view), 1 << 16):
            c.sock.sendall(view[i:i + (1 << 16)])
        c.sock.shutdown(socket.SHUT_WR)  # half-close: the echo must still come back in full

    t = threading.Thread(target=writer)
    t.start()
    got = bytearray(c.buf)
    c.buf = b""
    rss_peak = 0
    while True:
        d = c.sock.recv(1 << 16)
        if not d:
            break
        got += d
        if len(got) % (1 << 20) < (1 << 16):
            rss_peak = max(rss_peak, g.rss_kib())
            time.sleep(0.01)  # a slow reader: gw7 must pause the origin, not buffer
    t.join()
    assert len(got) == len(payload)
    assert bytes(got) == payload
    c.close()
    # 16 MiB went through; gw7 holds at most a few high-water marks per direction.
    if not h.SANITIZED:
        assert rss_peak < 64 * 1024, rss_peak


def test_idle_tunnel_is_closed_after_idle_timeout(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], limits={"idle_timeout": "1s"}))
    c = handshake(g)
    # Traffic keeps it open past the timeout...
    for _ in range(4):
        time.sleep(0.4)
        c.send(ws.encode_frame(ws.TEXT, b"k", mask=True))
        assert recv_frame(c) == (ws.TEXT, b"k")
    # ...silence closes it.
    start = time.monotonic()
    assert c.closed_soon(5)
    assert time.monotonic() - start >= 0.8
    c.close()
    assert h.metric(g.metrics(), "gw7_errors_total", kind="tunnel_idle") == 1
    h.wait_until(lambda: o.events("close"), 5, "origin connection closed")


def test_upgrade_with_a_body_is_an_ordinary_request(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    # RFC 9110 7.8 lets a server ignore Upgrade: gw7 forwards the request without it, so the
    # bytes after the body are the next request, never tunnel data.
    c.send(upgrade_request("/up?ws=echo", ws.new_key(), body=b"payload") +
           h.request_bytes("GET", "/after"))
    r = c.read_response()
    assert r.status == 200 and r.json()["body_len"] == 7
    fields = {k.lower() for k, _ in r.json()["headers"]}
    assert "upgrade" not in fields
    r = c.read_response()
    assert r.status == 200 and r.json()["target"] == "/after"
    c.close()


def test_invalid_upgrade_is_400_and_http10_upgrade_is_ignored(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    for value in ("web socket", "websocket/", "\"websocket\"", ""):
        r, closed = h.raw(g.addr, h.request_bytes(
            "GET", "/x?ws=echo", [("Connection", "upgrade"), ("Upgrade", value)]))
        assert r is not None and r.status == 400 and closed, value
    r, _ = h.raw(g.addr, h.request_bytes(
        "GET", "/x10?ws=echo", [("Connection", "upgrade"), ("Upgrade", "websocket")],
        version="HTTP/1.0"))
    assert r.status == 200
    req = o.wait_requests(1, target="/x10?ws=echo")[0]
    assert "upgrade" not in {k.lower() for k, _ in req["headers"]}
    assert len(o.requests()) == 1  # the invalid ones never reached the origin


def test_101_to_a_request_without_upgrade_is_502(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    r = h.request(g.addr, "GET", "/x?hostile=switching")
    assert r.status == 502
    # An upgrade request answered 101 without an Upgrade field: also 502, nothing tunnelled.
    r, closed = h.raw(g.addr, upgrade_request("/y?hostile=switching_bare", ws.new_key()))
    assert r.status == 502
