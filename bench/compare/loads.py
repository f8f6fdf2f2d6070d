"""Load generators: wrk (HTTP/1.1 load, bounded by -d) and an idle-connection client."""

import json
import os
import re
import shutil
import socket
import time

import util

# Only done() is defined: wrk keeps using its prebuilt request, so the script costs nothing per request.
WRK_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class Wrk:
    def __init__(self, workdir, cpu, binary="wrk"):
        self.binary = shutil.which(binary) or binary
        self.cpu = cpu
        self.workdir = workdir
        self.script = os.path.join(workdir, "wrk-done.lua")
        with open(self.script, "w") as f:
            f.write(WRK_LUA)
        self._n = 0

    def available(self):
        return os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)

    def run(self, url, duration, connections, threads=1, headers=(), timeout_s=5, tag="wrk"):
        """Run wrk for `duration` seconds; returns a dict (requests, rps, latency, errors, ...)."""
        self._n += 1
        argv = [self.binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
                f"--timeout", f"{timeout_s}s", "--latency", "-s", self.script]
        for h in headers:
            argv += ["-H", h]
        argv.append(url)
        log = os.path.join(self.workdir, f"{self._n:03d}-{tag}.log")
        t0 = time.monotonic()
        rc, out = util.run_bounded("wrk", argv, log, cpu=self.cpu, timeout=duration + timeout_s + 30)
        wall = time.monotonic() - t0
        m = re.search(r"^WRKJSON (\{.*\})$", out, re.M)
        if rc != 0 or not m:
            raise util.BenchError(f"wrk failed (exit {rc}): {' '.join(argv)}\n{util.indent(out.strip()[-1500:])}")
        r = json.loads(m.group(1))
        dur = r["duration_us"] / 1e6
        r["duration_s"] = dur
        r["wall_s"] = wall
        r["rps"] = r["requests"] / dur if dur > 0 else 0.0
        r["argv"] = argv
        r["errors_total"] = sum(r["errors"].values())
        return r


# ---------------------------------------------------------------------------------------------
# Idle connections: open N connections, do one small keep-alive exchange on each, keep them open.
# ---------------------------------------------------------------------------------------------

def http_get_request(path, host="bench"):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench-compare\r\n\r\n".encode()


def read_http_response(sock):
    """Read one HTTP/1.1 response with Content-Length; returns (status, body bytes)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} bytes of headers")
        buf += chunk
        if len(buf) > 65536:
            raise ConnectionError("response headers too long")
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    if length is None:
        raise ConnectionError("response without Content-Length")
    while len(body) < length:
        chunk = sock.recv(max(65536, length - len(body)))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(body)}/{length} body bytes")
        body += chunk
    return status, body[:length]


def http_get(addr, path, timeout=5.0):
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(http_get_request(path))
        return read_http_response(s)


class IdleClient:
    """Holds open connections through a proxy. Bounded: every socket operation has a timeout and
    the whole opening phase a deadline."""

    def __init__(self, addr, path="/small", timeout=5.0):
        self.addr = addr
        self.request = http_get_request(path)
        self.timeout = timeout
        self.socks = []
        self.errors = 0
        self.last_error = ""

    def open(self, n, deadline_s=120.0, max_errors=50):
        deadline = time.monotonic() + deadline_s
        while len(self.socks) < n:
            if time.monotonic() > deadline:
                raise util.BenchError(f"opened only {len(self.socks)}/{n} connections in {deadline_s:.0f}s")
            s = None
            try:
                s = socket.create_connection(self.addr, timeout=self.timeout)
                s.sendall(self.request)
                status, _ = read_http_response(s)
                if status != 200:
                    raise ConnectionError(f"HTTP status {status}")
                self.socks.append(s)
            except OSError as e:
                self.errors += 1
                self.last_error = f"{type(e).__name__}: {e}"
                if s:
                    s.close()
                if self.errors > max_errors:
                    raise util.BenchError(f"{self.errors} errors opening idle connections "
                                          f"({len(self.socks)} open); last: {self.last_error}")
                time.sleep(0.01)
        return len(self.socks)

    def check_open(self, sample=50):
        """Count connections (of a sample) the proxy has closed meanwhile (recv would return EOF)."""
        closed = 0
        step = max(1, len(self.socks) // sample)
        for s in self.socks[::step]:
            s.setblocking(False)
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
            finally:
                s.setblocking(True)
                s.settimeout(self.timeout)
        return closed, len(self.socks[::step])

    def close(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass
        self.socks = []
