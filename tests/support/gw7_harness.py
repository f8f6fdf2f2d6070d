"""Helpers for gw7's integration tests: start gw7 and HTTP origins (http_origin.py) as real
processes on loopback, talk raw HTTP/1.1 to them, and always clean up.

Environment:
  GW7               the gw7 binary (default <repo>/build/l7/gw7)
  EDGE_SOURCE_ROOT  the repository (default: two levels above this file)
  EDGE_SANITIZED=1  gw7 is an ASan/UBSan build: deadlines are scaled, memory bounds skipped

Tests use the `gw` fixture (import it: `from gw7_harness import gw  # noqa: F401`).
"""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("EDGE_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
GW7 = os.environ.get("GW7") or os.path.join(SOURCE_ROOT, "build", "l7", "gw7")
HTTP_ORIGIN = os.path.join(HERE, "http_origin.py")
SANITIZED = os.environ.get("EDGE_SANITIZED") == "1"
SLOW = 3.0 if SANITIZED else 1.0
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")

sys.path.insert(0, HERE)
from http_origin import pattern_chunks, pattern_sha256  # noqa: E402,F401


def wait_until(predicate, timeout, what, interval=0.01):
    end = time.monotonic() + timeout * SLOW
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout * SLOW, what))
        time.sleep(interval)


class _Lines:
    """Reads a pipe line by line in a thread; keeps every line."""

    def __init__(self, pipe):
        self.lines = []
        self.cond = threading.Condition()
        self.t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.t.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # EOF
            self.cond.notify_all()

    def wait_for(self, pattern, timeout):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout * SLOW
        with self.cond:
            while True:
                for line in self.lines:
                    if line is not None:
                        m = rx.search(line)
                        if m:
                            return m
                if None in self.lines:
                    raise AssertionError("process ended before a line matching %r" % pattern)
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("no line matching %r in %.1fs" % (pattern, timeout))
                self.cond.wait(left)

    def text(self):
        with self.cond:
            return "\n".join(x for x in self.lines if x is not None)


class HttpOrigin:
    """One http_origin.py process with one or more named listeners."""

    def __init__(self, names, host="127.0.0.1", health_dir=None, delays=None, defaults=None,
                 ports=None):
        args = [sys.executable, HTTP_ORIGIN]
        for n, d in (defaults or {}).items():
            args += ["--default", "%s:%s" % (n, d)]
        for n, d in (delays or {}).items():
            args += ["--delay", "%s:%s" % (n, d)]
        for n in names:
            args += ["--listen", "%s:%s:%d" % (n, host, (ports or {}).get(n, 0))]
        self.health_files = {}
        if health_dir:
            for n in names:
                p = os.path.join(health_dir, "health-" + n)
                self.health_files[n] = p
                args += ["--health-file", "%s:%s" % (n, p)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        self.ports = {}
        for n in names:
            m = self.out.wait_for(r"^READY (\d+) %s$" % re.escape(n), 10)
            self.ports[n] = int(m.group(1))
        self.host = host

    def address(self, name):
        return "%s:%d" % (self.host, self.ports[name]) if ":" not in self.host else \
            "[%s]:%d" % (self.host, self.ports[name])

    def events(self, ev=None, **match):
        out = []
        with self.out.cond:
            lines = list(self.out.lines)
        for line in lines:
            if line is None or not line.startswith("EVENT "):
                continue
            e = json.loads(line[6:])
            if ev is not None and e.get("ev") != ev:
                continue
            if all(e.get(k) == v for k, v in match.items()):
                out.append(e)
        return out

    def requests(self, **match):
        return self.events("request", **match)

    def wait_requests(self, count, timeout=10, **match):
        return wait_until(lambda: len(self.requests(**match)) >= count and self.requests(**match),
                          timeout, "%d origin requests %r" % (count, match))

    def sync(self, gw7_addr, host="example.com"):
        """Makes sure every event of requests answered so far has been read: an origin reports a
        request before answering it, so once a fresh request sent now shows up, all earlier ones
        have too. Needs a route from gw7_addr to this origin for any path."""
        self._syncs = getattr(self, "_syncs", 0) + 1
        target = "/__sync%d" % self._syncs
        r = request(gw7_addr, "GET", target, host=host)
        assert r.status == 200, r
        self.wait_requests(1, target=target)

    def set_health(self, name, status):
        with open(self.health_files[name], "w") as f:
            f.write(str(status))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, toml_value(x)) for k, x in v.items()) + " }"
    raise TypeError(v)


def render_config(gw7=None, limits=None, upstreams=(), routes=(), extra=""):
    lines = ["[gw7]", 'listen = "127.0.0.1:0"']
    for k, v in (gw7 or {}).items():
        lines.append("%s = %s" % (k, toml_value(v)))
    if limits:
        lines.append("[gw7.limits]")
        for k, v in limits.items():
            lines.append("%s = %s" % (k, toml_value(v)))
    for u in upstreams:
        lines.append("\n[[upstream]]")
        for k, v in u.items():
            lines.append("%s = %s" % (k, toml_value(v)))
    for r in routes:
        lines.append("\n[[route]]")
        for k, v in r.items():
            lines.append("%s = %s" % (k, toml_value(v)))
    return "\n".join(lines) + "\n" + extra


class Gw7:
    def __init__(self, work_dir, config_text, tag="gw7", args=()):
        self.path = os.path.join(work_dir, tag + ".toml")
        self.tag = tag
        self.extra_args = list(args)
        self.write(config_text)
        self.proc = None

    def write(self, config_text):
        with open(self.path, "w") as f:
            f.write(config_text)

    def start(self):
        args = [GW7, "-c", self.path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args + self.extra_args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self.err = _Lines(self.proc.stderr)
        m = self.err.wait_for(r"listening on (\S+)", 10)
        self.addr = parse_address(m.group(1))
        m = self.err.wait_for(r"admin on (\S+)", 10)
        self.admin = parse_address(m.group(1))
        return self

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code is None:
            self.proc.kill()
            self.proc.wait()
        return code

    def stderr(self):
        return self.err.text() if self.proc else ""

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def admin_get(self, path):
        return request(self.admin, "GET", path)

    def metrics(self):
        return parse_prometheus(self.admin_get("/metrics").body.decode())

    def status(self):
        return json.loads(self.admin_get("/status").body)


_closed_ports_given = set()


def closed_port(host="127.0.0.1"):
    """A port nothing listens on (bound then closed: connects to it are refused). Never one this
    process was given before: the kernel may hand a just-closed ephemeral port out again at once,
    and a test that asks for several (three servers of one upstream) needs them distinct."""
    while True:
        s = socket.socket()
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if (host, port) not in _closed_ports_given:
            _closed_ports_given.add((host, port))
            return port


def parse_address(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


def parse_prometheus(text):
    """{(name, frozenset(labels)): value}; raises on a malformed line."""
    out = {}
    rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    lrx = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = rx.match(line)
        assert m, "bad metrics line %r" % line
        labels = frozenset(lrx.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metric(metrics, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and want <= set(ls))


# ---- raw HTTP client ----

class Response:
    def __init__(self, status, reason, headers, body, closed, interim=()):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.closed = closed
        self.interim = list(interim)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r closed=%s>" % (self.status, self.body[:200], self.closed)


class Client:
    """A raw connection with a buffer, reading responses one at a time."""

    def __init__(self, addr, timeout=10, source=None):
        self.sock = socket.create_connection(addr, timeout=timeout * SLOW,
                                             source_address=(source, 0) if source else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        if self.eof:
            return False
        try:
            d = self.sock.recv(1 << 20)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise EOFError("connection closed inside a line: %r" % self.buf[:200])
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n, sink=None):
        got = 0
        out = []
        while got < n:
            if not self.buf and not self._fill():
                raise EOFError("connection closed %d bytes into a %d-byte body" % (got, n))
            k = min(n - got, len(self.buf))
            piece, self.buf = self.buf[:k], self.buf[k:]
            got += k
            if sink:
                sink(piece)
            else:
                out.append(piece)
        return b"".join(out)

    def read_response(self, method="GET", sink=None):
        interim = []
        while True:
            status_line = self._line().decode("latin-1")
            parts = status_line.split(" ", 2)
            status = int(parts[1])
            headers = []
            while True:
                line = self._line()
                if not line:
                    break
                k, _, v = line.decode("latin-1").partition(":")
                headers.append((k, v.strip()))
            if 100 <= status < 200:
                interim.append(status)
                continue
            break
        r = Response(status, parts[2] if len(parts) > 2 else "", headers, b"", False, interim)
        te = r.header("transfer-encoding")
        cl = r.header("content-length")
        body = []
        add = sink or body.append
        if method == "HEAD" or status in (204, 304):
            pass
        elif te is not None:
            assert te.lower() == "chunked", te
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                add(self._exact(size))
                assert self._line() == b""
        elif cl is not None:
            self._exact(int(cl), add)
        else:
            while self.buf or self._fill():
                add(self.buf)
                self.buf = b""
            r.closed = True
        r.body = b"".join(body)
        conn = (r.header("connection") or "").lower()
        if conn == "close":
            r.closed = self.closed_soon()
        return r

    def closed_soon(self, timeout=5):
        """True when the peer closes (EOF or reset) within timeout and sends nothing more."""
        self.sock.settimeout(timeout * SLOW)
        try:
            while True:
                if self.buf:
                    return False
                if not self._fill():
                    return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(10 * SLOW)

    def close(self):
        self.sock.close()


def request_bytes(method, target, headers=(), body=None, host="example.com", version="HTTP/1.1"):
    h = "%s %s %s\r\n" % (method, target, version)
    if host is not None:
        h += "Host: %s\r\n" % host
    for k, v in headers:
        h += "%s: %s\r\n" % (k, v)
    if body is not None and not any(k.lower() in ("content-length", "transfer-encoding")
                                    for k, _ in headers):
        h += "Content-Length: %d\r\n" % len(body)
    return h.encode("latin-1") + b"\r\n" + (body or b"")


def request(addr, method, target, headers=(), body=None, host="example.com", timeout=10):
    c = Client(addr, timeout)
    try:
        c.send(request_bytes(method, target, headers, body, host))
        return c.read_response(method)
    finally:
        c.close()


def raw(addr, data, timeout=5):
    """Sends raw bytes, reads one response: (status or None when closed without one, closed)."""
    c = Client(addr, timeout)
    try:
        c.send(data)
        try:
            r = c.read_response()
        except (EOFError, socket.timeout, ConnectionResetError):
            return None, True
        closed = r.closed or c.closed_soon(1.0)
        return r, closed
    finally:
        c.close()


# ---- fixture ----

class Env:
    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.origins = []
        self.gw7s = []

    def origin(self, *names, host="127.0.0.1", health=False, delays=None, defaults=None,
               ports=None):
        """ports: {name: port} for listeners that must come up on a port chosen in advance
        (closed_port()), e.g. origins started after the gw7 that names them."""
        o = HttpOrigin(names, host, self.dir if health else None, delays, defaults, ports)
        self.origins.append(o)
        return o

    def gw7(self, config_text, tag=None, start=True, args=()):
        g = Gw7(self.dir, config_text, tag or "gw7-%d" % len(self.gw7s), args)
        self.gw7s.append(g)
        return g.start() if start else g

    def close(self):
        problems = []
        for g in self.gw7s:
            if g.proc is None:
                continue
            code = g.stop()
            text = g.stderr()
            if code not in (0, None) and g.proc.returncode != -9:
                problems.append("%s exited %s" % (g.tag, code))
            if any(m in text for m in SANITIZER_MARKERS):
                problems.append("%s: sanitizer report:\n%s" % (g.tag, text[-4000:]))
        for o in self.origins:
            o.stop()
        return problems


@pytest.fixture
def gw(tmp_path, request):
    env = Env(tmp_path)
    try:
        yield env
    finally:
        problems = env.close()
        for g in env.gw7s:
            if g.proc is not None:
                sys.stderr.write("---- %s stderr ----\n%s\n" % (g.tag, g.stderr()[-6000:]))
        if problems:
            pytest.fail("; ".join(problems))


def simple_config(origin, names, balance="round_robin", routes=None, limits=None, gw7=None,
                  upstream_extra=None, extra=""):
    """One upstream "app" over the origin's listeners `names` and a catch-all route to it."""
    u = {"name": "app", "balance": balance,
         "servers": [origin.address(n) for n in names]}
    u.update(upstream_extra or {})
    return render_config(gw7=gw7, limits=limits, upstreams=[u],
                         routes=routes or [{"name": "all", "path_prefix": "/", "upstream": "app"}],
                         extra=extra)
