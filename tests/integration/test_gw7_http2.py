"""gw7 speaking HTTP/2 to clients (issue 12 part 2): h2c with prior knowledge when [gw7] http2 is
on, h2 when a trusted proxy's PROXY v2 header carries ALPN "h2", with an HTTP/1.1 origin behind.
Real peers: curl --http2-prior-knowledge, nghttp, h2load; attacks are raw frames written here
(RFC 9113 section 4 framing, HPACK literal fields without indexing: RFC 7541 6.2.2)."""

import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401
import pytest  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = \
    0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, PROTOCOL_ERROR, REFUSED_STREAM, CANCEL, ENHANCE_YOUR_CALM = 0, 1, 7, 8, 11

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
needs_nghttp = pytest.mark.skipif(shutil.which("nghttp") is None or shutil.which("h2load") is None,
                                  reason="nghttp2-client not installed")


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream & 0x7FFFFFFF) + payload


def hpack_literal(name, value):
    """A literal field without indexing, new name (RFC 7541 6.2.2), lengths below 127."""
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request_block(path="/", method="GET", authority="example.com", extra=()):
    fields = [(":method", method), (":scheme", "http"), (":authority", authority),
              (":path", path)] + list(extra)
    return b"".join(hpack_literal(k, v) for k, v in fields)


class RawH2:
    """A client connection writing frames by hand and reading the server's frames."""

    def __init__(self, addr, timeout=5):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.buf = b""
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        """(type, flags, stream, payload), or None at EOF."""
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk
        n = int.from_bytes(self.buf[:3], "big")
        f = (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF,
             self.buf[9:9 + n])
        self.buf = self.buf[9 + n:]
        return f

    def frames_until(self, predicate, limit=100000):
        """Frames read up to and including the first that matches, or until EOF."""
        seen = []
        for _ in range(limit):
            f = self.read_frame()
            if f is None:
                return seen
            if f[0] == SETTINGS and not f[1] & ACK:
                self.send(frame(SETTINGS, ACK, 0))
            seen.append(f)
            if predicate(f):
                return seen
        return seen

    def close(self):
        self.sock.close()


def goaway_code(frames):
    for f in frames:
        if f[0] == GOAWAY:
            return struct.unpack(">II", f[3][:8])[1]
    return None


def h2_gw(gw, extra_gw7=None, routes=None, extra=""):
    o = gw.origin("a")
    cfg = {"http2": True}
    cfg.update(extra_gw7 or {})
    g = gw.gw7(h.simple_config(o, ["a"], gw7=cfg, routes=routes, extra=extra))
    return o, g


def curl_h2(addr, path, *args):
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "-", "-w",
                        "\n%{http_code} %{http_version}", *args,
                        "http://127.0.0.1:%d%s" % (addr[1], path)],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    body, _, tail = r.stdout.rpartition(b"\n")
    code, version = tail.decode().split()
    return int(code), version, body


@needs_curl
def test_curl_prior_knowledge_get_and_post(gw):
    o, g = h2_gw(gw)
    code, version, body = curl_h2(g.addr, "/hello?x=1", "-H", "X-Test: yes")
    assert (code, version) == (200, "2")
    req = o.wait_requests(1, target="/hello?x=1")[0]
    fields = {k.lower(): v for k, v in req["headers"]}
    assert fields["x-test"] == "yes" and fields["host"] == "127.0.0.1:%d" % g.addr[1]
    assert fields["x-forwarded-for"] == "127.0.0.1"
    payload = os.urandom(300000)
    path = os.path.join(gw.dir, "payload")
    with open(path, "wb") as f:
        f.write(payload)
    code, version, body = curl_h2(g.addr, "/upload", "--data-binary", "@" + path)
    assert (code, version) == (200, "2")
    assert json.loads(body)["body_len"] == len(payload)
    m = g.metrics()
    assert h.metric(m, "gw7_http2_connections_total") >= 2


@needs_curl
def test_http1_still_served_when_http2_is_on_and_refused_when_off(gw):
    o, g = h2_gw(gw)
    assert h.request(g.addr, "GET", "/plain").status == 200
    g2 = gw.gw7(h.simple_config(o, ["a"]))
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null",
                        "http://127.0.0.1:%d/" % g2.addr[1]], capture_output=True, timeout=20)
    assert r.returncode != 0  # without the key, the preface is a refused HTTP/1 request


@needs_nghttp
def test_nghttp_many_streams_and_h2load(gw):
    o, g = h2_gw(gw)
    url = "http://127.0.0.1:%d/n" % g.addr[1]
    r = subprocess.run(["nghttp", "-ns", "-m", "20", url], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "25", url],
                       capture_output=True, timeout=60, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2000 succeeded, 0 failed, 0 errored" in r.stdout, r.stdout


def test_per_stream_routing_and_head_and_404(gw):
    o, g = h2_gw(gw, routes=[{"name": "api", "path_prefix": "/api", "upstream": "app"}])
    c = RawH2(g.addr)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block("/api/x")) +
           frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block("/other")) +
           frame(HEADERS, END_HEADERS | END_STREAM, 5, request_block("/api/h", method="HEAD")))
    statuses, ended, bodies = {}, set(), {}
    for f in c.frames_until(lambda f: False, limit=60):
        if f[0] == HEADERS and f[2] not in statuses:
            statuses[f[2]] = f[3]
        if f[0] == DATA:
            bodies[f[2]] = bodies.get(f[2], b"") + f[3]
        if f[1] & END_STREAM and f[0] in (HEADERS, DATA):
            ended.add(f[2])
        if ended == {1, 3, 5}:
            break
    assert ended == {1, 3, 5}
    assert bodies.get(5, b"") == b""          # HEAD: no body
    assert b"no route" in bodies[3]            # gw7's own 404, on its stream only
    assert len(o.wait_requests(1, target="/api/x")) == 1
    c.close()


@pytest.mark.parametrize("fields", [
    [("connection", "keep-alive")],            # connection-specific (RFC 9113 8.2.2)
    [("te", "gzip")],                          # TE other than trailers
    [("X-Upper", "1")],                        # uppercase name
    [(":path", "/again")],                     # duplicate pseudo-header
])
def test_malformed_requests_are_stream_errors(gw, fields):
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    block = request_block("/m", extra=fields)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    frames = c.frames_until(lambda f: f[0] == RST_STREAM and f[2] == 1, limit=20)
    assert frames and frames[-1][0] == RST_STREAM
    assert struct.unpack(">I", frames[-1][3])[0] == PROTOCOL_ERROR
    # The connection stays usable: the next stream is answered.
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block("/ok")))
    frames = c.frames_until(lambda f: f[2] == 3 and f[1] & END_STREAM, limit=20)
    assert frames and frames[-1][2] == 3
    c.close()
    assert o.requests(target="/m") == []


def test_missing_path_and_content_length_mismatch(gw):
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    block = b"".join(hpack_literal(k, v) for k, v in
                     [(":method", "GET"), (":scheme", "http"), (":authority", "example.com")])
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, block))
    frames = c.frames_until(lambda f: f[0] == RST_STREAM and f[2] == 1, limit=20)
    assert frames and struct.unpack(">I", frames[-1][3])[0] == PROTOCOL_ERROR
    c.send(frame(HEADERS, END_HEADERS, 3,
                 request_block("/cl", method="POST", extra=[("content-length", "10")])) +
           frame(DATA, END_STREAM, 3, b"abc"))
    frames = c.frames_until(lambda f: f[0] == RST_STREAM and f[2] == 3, limit=20)
    assert frames and struct.unpack(">I", frames[-1][3])[0] == PROTOCOL_ERROR
    c.close()


def test_max_concurrent_streams_refuses_the_excess(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], extra="")
               .replace("[gw7]\n", "[gw7]\nhttp2 = { max_concurrent_streams = 5 }\n", 1))
    c = RawH2(g.addr)
    # Wait for our SETTINGS to be acknowledged by reading the server's SETTINGS first.
    settings = c.frames_until(lambda f: f[0] == SETTINGS and not f[1] & ACK, limit=5)
    params = settings[-1][3]
    got = {struct.unpack(">H", params[i:i + 2])[0]: struct.unpack(">I", params[i + 2:i + 6])[0]
           for i in range(0, len(params), 6)}
    assert got[0x3] == 5  # SETTINGS_MAX_CONCURRENT_STREAMS
    # Ten streams whose requests never end (no END_STREAM), after our SETTINGS were acknowledged
    # (frames_until sent the ACK): nghttp2 treats the sixth as a connection error (RFC 9113
    # 5.1.2 allows it), GOAWAY PROTOCOL_ERROR naming stream 9 as the last one processed.
    c.send(b"".join(frame(HEADERS, END_HEADERS, 2 * i + 1,
                          request_block("/s%d" % i, method="POST")) for i in range(10)))
    frames = c.frames_until(lambda f: f[0] == GOAWAY, limit=40)
    assert goaway_code(frames) == PROTOCOL_ERROR, frames
    assert struct.unpack(">I", frames[-1][3][:4])[0] == 9
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="h2_goaway_protocol_error") == 1
    # Another connection is served as before.
    assert h.request(g.addr, "GET", "/after").status == 200
    c.close()


def test_rapid_reset_ends_in_goaway_enhance_your_calm(gw):
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    burst = b"".join(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, request_block("/r")) +
                     frame(RST_STREAM, 0, 2 * i + 1, struct.pack(">I", CANCEL))
                     for i in range(1000))
    try:
        c.send(burst)
    except (BrokenPipeError, ConnectionResetError):
        pass
    frames = c.frames_until(lambda f: f[0] == GOAWAY, limit=100000)
    assert goaway_code(frames) == ENHANCE_YOUR_CALM
    assert h.metric(g.metrics(), "gw7_errors_total", kind="h2_goaway_enhance_your_calm") >= 1
    # Far fewer than the 1000 requests reached the origin, and gw7 still serves.
    time.sleep(0.2)
    assert len(o.requests(target="/r")) < 400
    errors = {k: v for k, v in g.metrics().items() if "error" in str(k)}
    assert h.request(g.addr, "GET", "/after").status == 200, sorted((dict(k[1])["kind"], v) for k, v in errors.items())
    c.close()


@pytest.mark.parametrize("flood", ["ping", "settings", "empty_data"])
def test_control_frame_floods_end_in_goaway(gw, flood):
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    if flood == "ping":
        frames = [frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(5000)]
    elif flood == "settings":
        frames = [frame(SETTINGS, 0, 0) for i in range(5000)]
    else:  # a request whose body is empty DATA frames, never ending
        frames = [frame(HEADERS, END_HEADERS, 1, request_block("/e", method="POST"))] + \
            [frame(DATA, 0, 1) for i in range(5000)]
    try:
        c.send(b"".join(frames))
    except (BrokenPipeError, ConnectionResetError):
        pass
    frames = c.frames_until(lambda f: f[0] == GOAWAY)
    assert goaway_code(frames) == ENHANCE_YOUR_CALM
    # Two defences may see a SETTINGS/PING flood first: the frame-rate counter (h2_flood), or,
    # when our ACKs pile up unread, nghttp2's outbound-ACK cap (h2_ack_flood). Either counts once.
    m = g.metrics()
    assert h.metric(m, "gw7_errors_total", kind="h2_flood") + \
        h.metric(m, "gw7_errors_total", kind="h2_ack_flood") == 1
    c.close()


def test_header_list_beyond_max_header_bytes_is_431(gw):
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    fields = [("x-big-%03d" % i, "v" * 120) for i in range(140)]
    block = request_block("/big", extra=fields)
    half = len(block) // 2  # two frames: each within the default 16 KiB frame size
    c.send(frame(HEADERS, END_STREAM, 1, block[:half]) +
           frame(CONTINUATION, END_HEADERS, 1, block[half:]))
    frames = c.frames_until(lambda f: f[2] == 1 and f[1] & END_STREAM, limit=20)
    assert frames and frames[-1][2] == 1
    assert b"too large" in frames[-1][3] or any(b"too large" in f[3] for f in frames)
    assert h.metric(g.metrics(), "gw7_errors_total", kind="h2_header_too_large") == 1
    assert o.requests(target="/big") == []
    c.close()


def test_continuation_flood_ends_in_goaway(gw):
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    c.send(frame(HEADERS, 0, 1, request_block("/c")))
    try:
        for i in range(100):
            c.send(frame(CONTINUATION, 0, 1, hpack_literal("x-c%d" % i, "v")))
    except (BrokenPipeError, ConnectionResetError):
        pass
    frames = c.frames_until(lambda f: f[0] == GOAWAY)
    assert goaway_code(frames) is not None and goaway_code(frames) != NO_ERROR
    c.close()
    assert o.requests(target="/c") == []


def test_proxy_alpn_h2_selects_http2(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"http2": True, "proxy_protocol": True,
                                               "trusted_proxies": ["127.0.0.0/8"]}))
    src = socket.inet_aton("203.0.113.7")
    dst = socket.inet_aton("127.0.0.1")
    alpn = bytes([0x01]) + struct.pack(">H", 2) + b"h2"
    addr_block = src + dst + struct.pack(">HH", 40000, 443) + alpn
    header = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack(">H", len(addr_block)) \
        + addr_block
    s = socket.create_connection(g.addr, timeout=5)
    s.sendall(header)
    c = RawH2.__new__(RawH2)
    c.sock, c.buf = s, b""
    c.send(PREFACE + frame(SETTINGS, 0, 0) +
           frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block("/alpn")))
    frames = c.frames_until(lambda f: f[2] == 1 and f[1] & END_STREAM, limit=20)
    assert frames and frames[-1][2] == 1
    req = o.wait_requests(1, target="/alpn")[0]
    fields = {k.lower(): v for k, v in req["headers"]}
    assert fields["x-forwarded-for"] == "203.0.113.7"
    c.close()


def settings_frame(**params):
    ids = {"header_table_size": 0x1, "max_concurrent_streams": 0x3, "initial_window_size": 0x4,
           "max_frame_size": 0x5}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in params.items()))


def test_client_that_never_opens_its_window_is_bounded_and_reset(gw):
    """A client with a zero stream window takes no DATA: gw7 buffers a bounded amount per stream
    (the upstream is paused, not read into memory), resets the stream after send_timeout and
    releases the upstream connection. Twenty 4 MiB responses must not cost 80 MiB."""
    o, g = h2_gw(gw, extra_gw7=None)
    g.stop()
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"http2": True}, limits={"send_timeout": "2s"}))
    rss0 = g.rss_kib()
    c = RawH2(g.addr)
    c.send(settings_frame(initial_window_size=0))
    streams = [2 * i + 1 for i in range(20)]
    c.send(b"".join(frame(HEADERS, END_HEADERS | END_STREAM, s,
                          request_block("/w?size=%d" % (4 << 20))) for s in streams))
    o.wait_requests(20, target="/w?size=%d" % (4 << 20))
    time.sleep(0.5)
    # Every response head came (HEADERS), no DATA could.
    grown = g.rss_kib() - rss0
    assert h.SANITIZED or grown < 40 * 1024, "gw7 grew by %d KiB holding 20 stalled streams" % grown
    resets = set()
    frames = c.frames_until(lambda f: f[0] == RST_STREAM and (resets.add(f[2]) or len(resets) == 20),
                            limit=1000)
    assert resets == set(streams), frames[-5:]
    assert not any(f[0] == DATA and f[3] for f in frames)
    assert h.metric(g.metrics(), "gw7_errors_total", kind="h2_send_timeout") == 20
    # The connection itself stays usable after its stalled streams are gone.
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 20)) + settings_frame(initial_window_size=65535) +
           frame(HEADERS, END_HEADERS | END_STREAM, 41, request_block("/after")))
    got = c.frames_until(lambda f: f[2] == 41 and f[1] & END_STREAM, limit=50)
    assert got and got[-1][2] == 41
    c.close()


def test_dynamic_table_size_update_beyond_the_limit_is_a_compression_error(gw):
    """HPACK (RFC 7541 4.2/6.3): a size update above SETTINGS_HEADER_TABLE_SIZE (4096) is a
    COMPRESSION_ERROR; the connection ends in GOAWAY and the request never reaches the origin."""
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    # Dynamic table size update to 1,000,000: 001 prefix, 5-bit integer 31 + continuation bytes.
    n = 1000000 - 31
    update = bytearray([0x3F])
    while n >= 128:
        update.append((n % 128) | 0x80)
        n //= 128
    update.append(n)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, bytes(update) + request_block("/hpack")))
    frames = c.frames_until(lambda f: f[0] == GOAWAY)
    assert goaway_code(frames) == 0x9  # COMPRESSION_ERROR
    assert o.requests(target="/hpack") == []
    c.close()


def test_headers_that_fill_the_dynamic_table_are_evicted_not_kept(gw):
    """Literal fields with incremental indexing fill the 4 KiB table; gw7 evicts as HPACK says and
    keeps decoding: 200 requests each adding a new 1 KiB field cost no memory growth."""
    o, g = h2_gw(gw)
    c = RawH2(g.addr)
    c.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 30)))  # this client reads everything
    rss0 = g.rss_kib()
    for i in range(200):
        s = 2 * i + 1
        name, value = ("x-fill-%04d" % i).encode(), b"v" * 100
        indexed = b"\x40" + bytes([len(name)]) + name + bytes([len(value)]) + value
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, s, request_block("/fill") + indexed))
        got = c.frames_until(lambda f: f[2] == s and f[1] & END_STREAM, limit=20)
        assert got and got[-1][2] == s
    if not h.SANITIZED:  # ASan's quarantine keeps freed memory
        assert g.rss_kib() - rss0 < 16 * 1024
    assert len(o.requests(target="/fill")) == 200
    c.close()


@needs_curl
def test_sigterm_sends_goaway_and_open_streams_finish(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"http2": True, "drain_delay": "0s",
                                               "drain_timeout": "10s"}))
    c = RawH2(g.addr)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block("/slow?delay=1")))
    o.wait_requests(1, target="/slow?delay=1")
    g.signal(15)
    frames = c.frames_until(lambda f: f[2] == 1 and f[1] & END_STREAM, limit=50)
    assert goaway_code(frames) == NO_ERROR, frames
    assert frames[-1][2] == 1 and frames[-1][1] & END_STREAM
    heads = [f for f in frames if f[0] == HEADERS and f[2] == 1]
    assert heads, frames
    assert g.wait_exit(10) == 0


@needs_curl
def test_reload_keeps_open_h2_connections(gw):
    o = gw.origin("a")
    cfg = h.simple_config(o, ["a"], gw7={"http2": True})
    g = gw.gw7(cfg)
    c = RawH2(g.addr)
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block("/before")))
    assert c.frames_until(lambda f: f[2] == 1 and f[1] & END_STREAM, limit=20)[-1][2] == 1
    g.write(cfg.replace('path_prefix = "/"', 'path_prefix = "/"\nadd_request_headers = { "X-Gen" = "2" }'))
    g.signal(1)
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_reloads_total", result="ok") == 1, 10, "reload")
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block("/after")))
    frames = c.frames_until(lambda f: f[2] == 3 and f[1] & END_STREAM, limit=20)
    assert frames[-1][2] == 3 and goaway_code(frames) is None
    req = o.wait_requests(1, target="/after")[0]
    assert ["X-Gen", "2"] in [[k, v] for k, v in req["headers"]] or \
        any(k.lower() == "x-gen" and v == "2" for k, v in req["headers"])
    c.close()


API_KEY_EXTRA = """
[[auth]]
name = "keys"
type = "api_key"
header = "X-API-Key"
keys = [{ consumer = "alice", sha256 = "%s" }]

[[rate_limit]]
name = "two"
key = "consumer"
limit = 2
per = "1m"
store = "local"
""" % hashlib.sha256(b"alice-key-0123456789").hexdigest()


@needs_curl
def test_auth_and_rate_limits_apply_per_stream(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"], gw7={"http2": True}, extra=API_KEY_EXTRA,
                               routes=[{"name": "api", "path_prefix": "/", "upstream": "app",
                                        "auth": "keys", "rate_limit": "two"}]))
    c = RawH2(g.addr)
    key = [("x-api-key", "alice-key-0123456789")]
    # One connection, four streams at once: one without a key, three with it (the third is over
    # the limit of two). Each answer is told by its body: the origin's JSON echo or gw7's error.
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block("/nokey")) +
           b"".join(frame(HEADERS, END_HEADERS | END_STREAM, s, request_block("/k%d" % s, extra=key))
                    for s in (3, 5, 7)))
    done, bodies = set(), {}
    for f in c.frames_until(lambda f: (f[0] in (HEADERS, DATA) and f[1] & END_STREAM and
                                       done.add(f[2])) or len(done) == 4, limit=100):
        if f[0] == DATA:
            bodies[f[2]] = bodies.get(f[2], b"") + f[3]
    assert done == {1, 3, 5, 7}
    kinds = []
    for s in (1, 3, 5, 7):
        doc = json.loads(bodies[s])
        kinds.append(doc.get("error") or "origin")
    assert kinds[0] == "unauthorized"
    assert sorted(kinds[1:]) == ["origin", "origin", "rate_limited"], bodies
    assert len(o.requests()) == 2
    c.close()
