"""The hostile-request table: raw bytes sent to the real gw7, each with the status it must get
(None: the connection closes without an answer) and whether the connection then closes. Request
smuggling in its known forms (CL+TE, TE variants, duplicate or malformed Content-Length), header
syntax (obs-fold, bare CR/LF, whitespace before the colon, controls in values), request lines and
versions, absolute-form oddities, limits (URI, header block, header count, body), chunked-coding
errors. Every request has a unique path; the origin records what it received, and the test checks
that nothing refused reached it and that everything that did was unambiguous."""

import os
import re
import socket
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

CLOSE, OPEN = True, False
EOF_AFTER = "eof"  # the client half-closes after sending


def req(i, first_line_rest=" HTTP/1.1", method="POST", headers=b"Host: x\r\n", body=b"",
        path=None):
    target = path if path is not None else "/t%d" % i
    return ("%s %s%s\r\n" % (method, target, first_line_rest)).encode() + headers + b"\r\n" + body


def chunked(i, body):
    return req(i, headers=b"Host: x\r\nTransfer-Encoding: chunked\r\n", body=body)


def hdr(i, line, method="GET"):
    return req(i, method=method, headers=b"Host: x\r\n" + line + b"\r\n")


CASES = []


def case(name, status, closes, make, options=()):
    CASES.append((name, status, closes, make, options))


# ---- request smuggling: framing ----
case("cl_and_te", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n", body=b"0\r\n\r\n"))
case("te_and_cl", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", body=b"0\r\n\r\n"))
case("te_chunked_identity", 501, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding: chunked, identity\r\n", body=b"0\r\n\r\n"))
case("te_identity", 501, CLOSE, lambda i: req(i, headers=b"Host: x\r\nTransfer-Encoding: identity\r\n"))
case("te_xchunked", 501, CLOSE, lambda i: req(i, headers=b"Host: x\r\nTransfer-Encoding: xchunked\r\n"))
case("te_gzip_chunked", 501, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding: gzip, chunked\r\n", body=b"0\r\n\r\n"))
case("te_chunked_twice", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding: chunked, chunked\r\n", body=b"0\r\n\r\n"))
case("te_two_fields", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    body=b"0\r\n\r\n"))
case("te_space_before_colon", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding : chunked\r\n", body=b"0\r\n\r\n"))
case("te_vertical_tab", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding:\x0bchunked\r\n", body=b"0\r\n\r\n"))
case("te_in_http10", 400, CLOSE, lambda i: req(
    i, " HTTP/1.0", headers=b"Host: x\r\nTransfer-Encoding: chunked\r\n", body=b"0\r\n\r\n"))
case("te_comma_only", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nTransfer-Encoding: ,\r\n"))
case("te_leading_space_ok", 200, OPEN, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding:   chunked\r\n", body=b"3\r\nabc\r\n0\r\n\r\n"))
case("te_upper_case_ok", 200, OPEN, lambda i: req(
    i, headers=b"Host: x\r\nTransfer-Encoding: CHUNKED\r\n", body=b"3\r\nabc\r\n0\r\n\r\n"))
case("cl_twice_same", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n", body=b"abc"))
case("cl_twice_different", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n", body=b"abcd"))
case("cl_list", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: 3,3\r\n", body=b"abc"))
case("cl_plus", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: +3\r\n", body=b"abc"))
case("cl_minus", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: -1\r\n"))
case("cl_hex", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: 0x3\r\n", body=b"abc"))
case("cl_inner_space", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: 1 2\r\n"))
case("cl_empty", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length:\r\n"))
case("cl_overflow", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nContent-Length: 99999999999999999999999\r\n"))
case("cl_letters", 400, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: 3a\r\n"))
case("cl_space_before_colon", 400, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nContent-Length : 3\r\n", body=b"abc"))
case("cl_leading_zeros_ok", 200, OPEN, lambda i: req(
    i, headers=b"Host: x\r\nContent-Length: 003\r\n", body=b"abc"))
case("cl_ows_ok", 200, OPEN, lambda i: req(i, headers=b"Host: x\r\nContent-Length:  3 \r\n", body=b"abc"))
case("cl_over_max_body", 413, CLOSE, lambda i: req(i, headers=b"Host: x\r\nContent-Length: 5000\r\n"))

# ---- header syntax ----
case("obs_fold", 400, CLOSE, lambda i: hdr(i, b"X-A: a\r\n b"))
case("obs_fold_tab", 400, CLOSE, lambda i: hdr(i, b"X-A: a\r\n\tb"))
case("bare_cr_in_value", 400, CLOSE, lambda i: hdr(i, b"X-A: a\rb"))
case("bare_lf_line_end", 400, CLOSE, lambda i: hdr(i, b"X-A: a\nX-B: b"))
case("all_bare_lf", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\nHost: x\n\n" % i)
case("ws_before_colon", 400, CLOSE, lambda i: hdr(i, b"X-A : a"))
case("tab_before_colon", 400, CLOSE, lambda i: hdr(i, b"X-A\t: a"))
case("nul_in_value", 400, CLOSE, lambda i: hdr(i, b"X-A: a\x00b"))
case("ctl_in_value", 400, CLOSE, lambda i: hdr(i, b"X-A: a\x01b"))
case("del_in_value", 400, CLOSE, lambda i: hdr(i, b"X-A: a\x7fb"))
case("esc_in_value", 400, CLOSE, lambda i: hdr(i, b"X-A: \x1b[31m"))
case("empty_name", 400, CLOSE, lambda i: hdr(i, b": a"))
case("space_in_name", 400, CLOSE, lambda i: hdr(i, b"X A: a"))
case("paren_in_name", 400, CLOSE, lambda i: hdr(i, b"X(A): a"))
case("no_colon", 400, CLOSE, lambda i: hdr(i, b"X-A a"))
case("space_first_header", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\n Host: x\r\n\r\n" % i)
case("no_host_11", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\nX-A: a\r\n\r\n" % i)
case("two_hosts", 400, CLOSE, lambda i: hdr(i, b"Host: x"))
case("host_space", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\nHost: x y\r\n\r\n" % i)
case("host_userinfo", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\nHost: u@x\r\n\r\n" % i)
case("host_big_port", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\nHost: x:70000\r\n\r\n" % i)
case("host_comma", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\nHost: x,y\r\n\r\n" % i)
case("obs_text_value_ok", 200, OPEN, lambda i: hdr(i, b"X-A: caf\xe9"))
case("expect_other", 417, CLOSE, lambda i: req(
    i, headers=b"Host: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n", body=b"a"))
case("connection_not_token", 400, CLOSE, lambda i: hdr(i, b"Connection: a b"))

# ---- request line ----
case("double_space", 400, CLOSE, lambda i: b"GET  /t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("trailing_space", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1 \r\nHost: x\r\n\r\n" % i)
case("tab_separator", 400, CLOSE, lambda i: b"GET\t/t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("http09", 400, CLOSE, lambda i: b"GET /t%d\r\n\r\n" % i)
case("http20", 505, CLOSE, lambda i: b"GET /t%d HTTP/2.0\r\nHost: x\r\n\r\n" % i)
case("http12", 505, CLOSE, lambda i: b"GET /t%d HTTP/1.2\r\nHost: x\r\n\r\n" % i)
case("lower_version", 400, CLOSE, lambda i: b"GET /t%d http/1.1\r\nHost: x\r\n\r\n" % i)
case("version_110", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.10\r\nHost: x\r\n\r\n" % i)
case("nul_in_method", 400, CLOSE, lambda i: b"G\x00T /t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("method_too_long", 400, CLOSE, lambda i: b"%s /t%d HTTP/1.1\r\nHost: x\r\n\r\n" % (b"A" * 40, i))
case("space_in_target", 400, CLOSE, lambda i: b"GET /t%d x HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("fragment", 400, CLOSE, lambda i: b"GET /t%d#f HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("bad_escape", 400, CLOSE, lambda i: b"GET /t%d%%zz HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("backslash", 400, CLOSE, lambda i: b"GET /t%d\\a HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("nul_in_target", 400, CLOSE, lambda i: b"GET /t%d\x00 HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("asterisk_get", 400, CLOSE, lambda i: b"GET * HTTP/1.1\r\nHost: x\r\n\r\n")
case("authority_form_get", 400, CLOSE, lambda i: b"GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n")
case("connect", 501, CLOSE, lambda i: b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n")
case("absolute_other_host", 400, CLOSE, lambda i: b"GET http://other/t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("absolute_userinfo", 400, CLOSE, lambda i: b"GET http://u@x/t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("absolute_ftp", 400, CLOSE, lambda i: b"GET ftp://x/t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("absolute_ok", 200, OPEN, lambda i: b"GET http://x/t%d?q=1 HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("two_leading_crlf", 400, CLOSE, lambda i: b"\r\n\r\nGET /t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("one_leading_crlf_ok", 200, OPEN, lambda i: b"\r\nGET /t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("extension_method_ok", 200, OPEN, lambda i: b"PURGE /t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("query_pipe_ok", 200, OPEN, lambda i: b"GET /t%d?a=b|c HTTP/1.1\r\nHost: x\r\n\r\n" % i)
case("dot_dot_segment", 400, CLOSE, lambda i: b"GET /a/../t%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)

# ---- limits ----
case("uri_too_long", 414, CLOSE, lambda i: b"GET /t%d%s HTTP/1.1\r\nHost: x\r\n\r\n" % (i, b"a" * 2000))
case("header_block_too_big", 431, CLOSE, lambda i: hdr(i, b"X-Big: " + b"a" * 5000))
case("too_many_headers", 431, CLOSE, lambda i: hdr(i, b"\r\n".join(b"X-%d: v" % k for k in range(150))))
case("chunked_over_max_body", 413, CLOSE, lambda i: chunked(i, b"1001\r\n" + b"a" * 4097 + b"\r\n0\r\n\r\n"))

# ---- chunked coding ----
case("chunk_size_not_hex", 400, CLOSE, lambda i: chunked(i, b"zz\r\nabc\r\n0\r\n\r\n"))
case("chunk_size_negative", 400, CLOSE, lambda i: chunked(i, b"-1\r\na\r\n0\r\n\r\n"))
case("chunk_size_0x", 400, CLOSE, lambda i: chunked(i, b"0x3\r\nabc\r\n0\r\n\r\n"))
case("chunk_size_leading_space", 400, CLOSE, lambda i: chunked(i, b" 3\r\nabc\r\n0\r\n\r\n"))
case("chunk_size_trailing_space", 400, CLOSE, lambda i: chunked(i, b"3 \r\nabc\r\n0\r\n\r\n"))
case("chunk_size_overflow", 400, CLOSE, lambda i: chunked(i, b"fffffffffffffffff1\r\na\r\n0\r\n\r\n"))
case("chunk_ext_ctl", 400, CLOSE, lambda i: chunked(i, b"3;\x01\r\nabc\r\n0\r\n\r\n"))
case("chunk_ext_bad_quote", 400, CLOSE, lambda i: chunked(i, b"3;a=\"b\r\nabc\r\n0\r\n\r\n"))
case("chunk_missing_crlf", 400, CLOSE, lambda i: chunked(i, b"3\r\nabcX0\r\n\r\n"))
case("chunk_bare_lf_size", 400, CLOSE, lambda i: chunked(i, b"3\nabc\r\n0\r\n\r\n"))
case("chunk_bare_lf_data", 400, CLOSE, lambda i: chunked(i, b"3\r\nabc\n0\r\n\r\n"))
case("chunk_trailer_fold", 400, CLOSE, lambda i: chunked(i, b"3\r\nabc\r\n0\r\nX-T: a\r\n b\r\n\r\n"))
case("chunk_empty_size", 400, CLOSE, lambda i: chunked(i, b"\r\nabc\r\n0\r\n\r\n"))
case("chunk_ext_ok", 200, OPEN, lambda i: chunked(i, b"3;a=b;c=\"d e\"\r\nabc\r\n0\r\n\r\n"))
case("chunk_trailer_ok", 200, OPEN, lambda i: chunked(i, b"3\r\nabc\r\n0\r\nX-T: t\r\n\r\n"))
case("chunk_missing_final_crlf", None, CLOSE, lambda i: chunked(i, b"3\r\nabc\r\n0\r\n"), (EOF_AFTER,))
case("head_cut_short", 400, CLOSE, lambda i: b"GET /t%d HTTP/1.1\r\nHost: x\r\n" % i, (EOF_AFTER,))


def hostile_config(o):
    return h.simple_config(o, ["a"], limits={"max_header_bytes": "4KiB", "max_uri_bytes": "1KiB",
                                             "max_body_bytes": "4KiB", "header_timeout": "2s"})


def test_table_has_at_least_60_cases():
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    env = h.Env(tmp_path_factory.mktemp("hostile"))
    o = env.origin("a")
    g = env.gw7(hostile_config(o))
    yield env, o, g
    problems = env.close()
    assert not problems, problems


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_hostile_request(shared, index):
    env, o, g = shared
    name, status, closes, make, options = CASES[index]
    c = h.Client(g.addr, timeout=5)
    try:
        c.send(make(1000 + index))
        if EOF_AFTER in options:
            c.sock.shutdown(socket.SHUT_WR)
        if status is None:
            with pytest.raises(EOFError):
                c.read_response()
            return
        r = c.read_response()
        assert r.status == status, (name, r)
        if status >= 400:
            assert r.header("content-type") == "application/json"
            assert r.json()["error"]["status"] == status
        if closes:
            assert (r.header("connection") or "").lower() == "close"
            assert c.closed_soon(), name
        else:
            c.send(b"GET /probe%d HTTP/1.1\r\nHost: x\r\n\r\n" % index)
            assert c.read_response().status == 200
    finally:
        c.close()


def test_a_client_that_half_closes_after_its_request_gets_the_whole_response(shared):
    # The client shuts its write side right after a complete request (HTTP/1.0 tools, `nc -N`):
    # its EOF ends reading only; the response still leaves whole, then gw7 closes.
    env, o, g = shared
    c = h.Client(g.addr, timeout=5)
    try:
        c.send(b"GET /half-closed HTTP/1.1\r\nHost: x\r\n\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        assert r.status == 200, r
        assert c.closed_soon()
    finally:
        c.close()


def send_case(addr, data, options):
    c = h.Client(addr, timeout=5)
    try:
        c.send(data)
        if EOF_AFTER in options:
            c.sock.shutdown(socket.SHUT_WR)
        try:
            c.read_response()
        except EOFError:
            pass
    finally:
        c.close()


def test_refused_requests_never_reach_the_origin(shared):
    env, o, g = shared
    for index, (name, status, closes, make, options) in enumerate(CASES):
        send_case(g.addr, make(2000 + index), options)
    o.sync(g.addr)
    got = o.requests()
    targets = [e["target"].split("?")[0] for e in got]
    for index, (name, status, closes, make, options) in enumerate(CASES):
        reached = targets.count("/t%d" % (2000 + index))
        # The origin reports only complete requests: a body refused half-way (chunked errors
        # are found while streaming) never completes there either.
        assert reached == (1 if status == 200 else 0), (name, reached)
    # Whatever reached the origin was unambiguous: one framing, well-formed lines.
    for e in got:
        head = e["head"]
        names = [k.lower() for k, _ in e["headers"]]
        assert not ("content-length" in names and "transfer-encoding" in names), head
        assert names.count("content-length") <= 1 and names.count("transfer-encoding") <= 1
        te = [v for k, v in e["headers"] if k.lower() == "transfer-encoding"]
        assert te in ([], ["chunked"]), head
        assert "\r\n " not in head and "\r\n\t" not in head
        assert "\x00" not in head and re.search("[\r](?!\n)", head) is None
        assert re.search("(?<!\r)\n", head) is None
        assert names.count("host") == 1
        assert e["version"] == "HTTP/1.1"


def test_slow_headers_get_408(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], limits={"header_timeout": "300ms"}))
    c = h.Client(g.addr)
    c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
    r = c.read_response()
    assert r.status == 408
    assert c.closed_soon()
    c.close()
    o.sync(g.addr)
    assert len(o.requests()) == 1  # the sync request only
    assert h.metric(g.metrics(), "gw7_errors_total", kind="header_timeout") == 1


def stalled_reader(addr, target, headers=()):
    """A client that sends one request and then reads nothing (a tiny receive window, so that
    gw7's output stops at once)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10 * h.SLOW)
    s.connect(addr)
    s.sendall(h.request_bytes("GET", target, headers))
    return s


def drain_until_closed(s, timeout):
    """Reads everything; the byte count once the peer has closed, None if it stays open."""
    s.settimeout(timeout)
    got = 0
    try:
        while True:
            d = s.recv(1 << 20)
            if not d:
                return got
            got += len(d)
    except ConnectionResetError:
        return got
    except socket.timeout:
        return None


def test_client_that_reads_nothing_is_closed_after_send_timeout(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], limits={"send_timeout": "500ms", "idle_timeout": "60s"},
                               upstream_extra={"request_timeout": "60s"}),
               args=["--log-level", "debug"])
    # Keep-alive and far larger than every buffer: gw7 stops reading the origin and waits in the
    # middle of the response, its queue full.
    size = 64 << 20
    s = stalled_reader(g.addr, "/big?size=%d" % size)
    try:
        start = time.monotonic()
        h.wait_until(lambda: h.metric(g.metrics(), "gw7_errors_total", kind="send_timeout") == 1,
                     10, "send_timeout counted")
        assert time.monotonic() - start >= 0.45
        got = drain_until_closed(s, 5)
        assert got is not None, "gw7 kept the connection open"
        assert got < size
        assert h.metric(g.metrics(), "gw7_connections_active") == 0
        g.err.wait_for(r"no output progress within send_timeout \(\d+ bytes queued", 5)
    finally:
        s.close()
    # A client that does read gets the whole response with the same limits.
    r = h.request(g.addr, "GET", "/big?size=%d" % (4 << 20))
    assert r.status == 200 and len(r.body) == 4 << 20
    assert h.metric(g.metrics(), "gw7_errors_total", kind="send_timeout") == 1


def test_client_that_reads_nothing_after_its_last_response_is_closed(gw):
    # "Connection: close": after the last response gw7 flushes, then lingers. Neither wait may
    # last: the kernel takes what fits (the linger then ends within 2s), send_timeout ends a
    # flush that makes no progress.
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], limits={"send_timeout": "500ms"}))
    socks = [stalled_reader(g.addr, "/big?size=%d" % (size << 20), [("Connection", "close")])
             for size in (1, 2, 3)]
    try:
        h.wait_until(lambda: h.metric(g.metrics(), "gw7_connections_total") == 3, 5, "accepted")
        h.wait_until(lambda: h.metric(g.metrics(), "gw7_connections_active") == 0, 5,
                     "every stalled connection closed")
    finally:
        for s in socks:
            s.close()


def test_connections_over_max_connections_get_503_and_close(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"max_connections": 2}))
    held = [h.Client(g.addr, timeout=5) for _ in range(2)]
    for c in held:  # both are served, and stay open
        c.send(h.request_bytes("GET", "/held"))
        r = c.read_response()
        assert r.status == 200 and not r.closed
    for i in range(3):
        c = h.Client(g.addr, timeout=5)
        c.send(h.request_bytes("GET", "/over%d" % i))
        r = c.read_response()
        assert r.status == 503, r
        assert r.header("connection").lower() == "close" and r.header("retry-after") == "1"
        assert r.header("content-type") == "application/json"
        body = r.json()
        assert body["error"]["status"] == 503
        assert body["error"]["request_id"] == r.header("x-request-id")
        assert r.closed
        c.close()
    assert h.metric(g.metrics(), "gw7_connections_refused_total") == 3
    # Logged, at most once a second: three refusals within a second make one line.
    g.err.wait_for(r"max_connections \(2\) reached", 5)
    assert len(re.findall(r"max_connections \(2\) reached", g.stderr())) == 1
    # The held connections still work; once one closes, a new client is served again.
    held[0].send(h.request_bytes("GET", "/again"))
    assert held[0].read_response().status == 200
    held[0].close()
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_connections_active") == 1, 5, "one closed")
    assert h.request(g.addr, "GET", "/after").status == 200
    held[1].close()
    assert not any(e["target"].startswith("/over") for e in o.requests())
