"""gw7 forwarding the trailer fields of chunked messages (RFC 9110 6.5, RFC 9112 7.1.2) between
real clients and origins, both ways: allowed fields pass, hop-by-hop, framing and the other
fields a trailer must not carry are dropped, malformed trailer sections are refused."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401
from http_origin import HOSTILE_TRAILERS  # noqa: E402
import pytest  # noqa: E402


def chunked_request(target, pieces, trailers, headers=()):
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + \
        b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in trailers) + b"\r\n"
    return h.request_bytes("POST", target, [("Transfer-Encoding", "chunked")] + list(headers),
                           body)


def read_chunked_with_trailers(c):
    """(status, headers, body, trailers) of one chunked response, trailers kept."""
    status = int(c._line().split(b" ", 2)[1])
    headers = []
    while True:
        line = c._line()
        if not line:
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers.append((k.lower(), v.strip()))
    assert ("transfer-encoding", "chunked") in headers, headers
    body = b""
    while True:
        size = int(c._line().split(b";")[0], 16)
        if size == 0:
            break
        body += c._exact(size)
        assert c._line() == b""
    trailers = []
    while True:
        line = c._line()
        if not line:
            break
        k, _, v = line.decode("latin-1").partition(":")
        trailers.append((k, v.strip()))
    return status, headers, body, trailers


FORBIDDEN_REQUEST_TRAILERS = [("Content-Length", "5"), ("Host", "evil.example"),
                              ("X-Forwarded-For", "6.6.6.6"), ("X-Request-Id", "forged"),
                              ("Authorization", "Bearer x"), ("Transfer-Encoding", "chunked"),
                              ("Connection", "close"), ("X-Hop", "named-by-connection")]


def test_request_trailers_reach_the_origin_filtered(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(chunked_request("/t1", [b"hello", b" world"],
                           [("X-Checksum", "abc123"), ("grpc-status", "0")] +
                           FORBIDDEN_REQUEST_TRAILERS,
                           headers=[("Connection", "X-Hop"), ("TE", "trailers")]))
    r = c.read_response()
    assert r.status == 200 and r.json()["body_len"] == 11
    req = o.wait_requests(1, target="/t1")[0]
    assert req["framing"] == "chunked"
    assert req["trailers"] == [["X-Checksum", "abc123"], ["grpc-status", "0"]]
    fields = {k.lower(): v for k, v in req["headers"]}
    assert fields["x-forwarded-for"] == "127.0.0.1"
    assert fields["host"] == "example.com"
    # The connection stays usable: the trailer section was consumed exactly.
    c.send(h.request_bytes("GET", "/t2"))
    assert c.read_response().status == 200
    c.close()


def test_request_without_trailers_still_ends_cleanly(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(chunked_request("/n", [b"x" * 70000], []))
    assert c.read_response().json()["body_len"] == 70000
    c.close()
    assert o.wait_requests(1, target="/n")[0]["trailers"] == []


@pytest.mark.parametrize("bad", [b"X-A : 1\r\n", b"X-A: 1\r\n folded\r\n", b"X-A: a\x00b\r\n",
                                 b"X-A\r\n", b"X-A: 1\n"])
def test_malformed_request_trailers_are_400(gw, bad):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    data = h.request_bytes("POST", "/bad", [("Transfer-Encoding", "chunked")],
                           b"5\r\nhello\r\n0\r\n" + bad + b"\r\n")
    r, closed = h.raw(g.addr, data)
    assert r is not None and r.status == 400 and closed
    # The origin never saw a complete request.
    o.sync(g.addr)
    assert not o.requests(target="/bad")


def test_response_trailers_reach_the_client_filtered(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    q = "&".join("trailer=" + t for t in (
        "X-Sum:42", "Server-Timing:db;dur=5", "Set-Cookie:a=b", "Content-Length:9",
        "X-Request-Id:up", "Connection:close", "Trailer:X-Sum"))
    for _ in range(2):  # twice on one connection: the framing stays in step
        c.send(h.request_bytes("GET", "/r?size=100000&chunked=1&" + q))
        status, headers, body, trailers = read_chunked_with_trailers(c)
        assert status == 200
        assert body == b"".join(h.pattern_chunks(100000))
        assert trailers == [("X-Sum", "42"), ("Server-Timing", "db;dur=5")]
    c.close()


def test_response_trailers_are_dropped_for_http10_clients(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(h.request_bytes("GET", "/r10?size=1000&chunked=1&trailer=X-Sum:1",
                           version="HTTP/1.0"))
    r = c.read_response()
    assert r.status == 200 and r.closed
    assert r.body == b"".join(h.pattern_chunks(1000))  # close-delimited, no chunk framing
    c.close()


@pytest.mark.parametrize("kind", sorted(HOSTILE_TRAILERS))
def test_malformed_response_trailers_close_the_client(gw, kind):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    c = h.Client(g.addr)
    c.send(h.request_bytes("GET", "/x?hostile_trailer=" + kind))
    # The head and the data went out already; the bad trailer section must not: the client sees
    # the connection end without a last chunk, so it cannot take the body for complete.
    with pytest.raises(EOFError):
        read_chunked_with_trailers(c)
    c.close()
    assert h.metric(g.metrics(), "gw7_errors_total", kind="bad_response_body") == 1
