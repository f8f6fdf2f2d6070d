"""Bodies stream through gw7 with bounded memory: 100 MiB up (Content-Length and chunked) and
100 MiB down, byte-identical (SHA-256 at the far end), while gw7's RSS stays small; a client that
reads slowly makes gw7 stop reading the origin instead of buffering."""

import hashlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

SIZE = 100 << 20
RSS_LIMIT_KIB = 48 * 1024


class RssWatch:
    def __init__(self, g):
        self.g = g
        self.peak = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.g.rss_kib())
            except OSError:
                return
            time.sleep(0.02)

    def done(self):
        self.stop.set()
        self.t.join()
        return self.peak


def big_config(o):
    return h.simple_config(o, ["a"], limits={"max_body_bytes": "1GiB"},
                           upstream_extra={"request_timeout": "60s"})


def test_100mib_upload_content_length(gw):
    o = gw.origin("a")
    g = gw.gw7(big_config(o))
    watch = RssWatch(g)
    c = h.Client(g.addr, timeout=120)
    c.send(b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % SIZE)
    sha = hashlib.sha256()
    for piece in h.pattern_chunks(SIZE):
        c.sock.sendall(piece)
        sha.update(piece)
    r = c.read_response()
    peak = watch.done()
    assert r.status == 200
    assert r.json()["body_len"] == SIZE
    assert r.json()["body_sha256"] == sha.hexdigest()
    if not h.SANITIZED:
        assert peak < RSS_LIMIT_KIB, peak


def test_100mib_upload_chunked(gw):
    o = gw.origin("a")
    g = gw.gw7(big_config(o))
    watch = RssWatch(g)
    c = h.Client(g.addr, timeout=120)
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    sha = hashlib.sha256()
    for piece in h.pattern_chunks(SIZE, 50000):
        c.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sha.update(piece)
    c.sock.sendall(b"0\r\n\r\n")
    r = c.read_response()
    peak = watch.done()
    assert r.status == 200
    assert r.json()["body_len"] == SIZE and r.json()["body_sha256"] == sha.hexdigest()
    if not h.SANITIZED:
        assert peak < RSS_LIMIT_KIB, peak


def test_100mib_download(gw):
    o = gw.origin("a")
    g = gw.gw7(big_config(o))
    watch = RssWatch(g)
    c = h.Client(g.addr, timeout=120)
    for query in ("size=%d" % SIZE, "size=%d&chunked=1" % SIZE):
        c.send(b"GET /down?%s HTTP/1.1\r\nHost: x\r\n\r\n" % query.encode())
        sha = hashlib.sha256()
        n = [0]

        def sink(b):
            sha.update(b)
            n[0] += len(b)
        r = c.read_response(sink=sink)
        assert r.status == 200
        assert n[0] == SIZE
        assert sha.hexdigest() == h.pattern_sha256(SIZE)
    peak = watch.done()
    if not h.SANITIZED:
        assert peak < RSS_LIMIT_KIB, peak


def test_slow_reader_does_not_make_gw7_buffer(gw):
    o = gw.origin("a")
    g = gw.gw7(big_config(o))
    base = g.rss_kib()
    c = h.Client(g.addr, timeout=60)
    c.sock.setsockopt(h.socket.SOL_SOCKET, h.socket.SO_RCVBUF, 64 * 1024)
    c.send(b"GET /down?size=%d HTTP/1.1\r\nHost: x\r\n\r\n" % (64 << 20))
    # Read nothing for a while: the origin keeps writing until gw7 stops reading it.
    time.sleep(1.0)
    grown = g.rss_kib() - base
    total = 0
    sha = hashlib.sha256()

    def sink(b):
        nonlocal total
        total += len(b)
        sha.update(b)
    r = c.read_response(sink=sink)
    assert r.status == 200 and total == 64 << 20
    assert sha.hexdigest() == h.pattern_sha256(64 << 20)
    if not h.SANITIZED:
        assert grown < 8 * 1024, grown
