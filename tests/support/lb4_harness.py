"""Helpers for lb4's integration tests: start lb4 and origin servers as real processes on loopback,
talk to them as clients, and always clean up.

Environment:
  LB4               the lb4 binary (default <repo>/build/l4/lb4). It is copied once per test
                    process and the copy is run, so that a rebuild during the run (ninja relinking
                    lb4) cannot break tests half-way.
  EDGE_SOURCE_ROOT  the repository (default: two levels above this file)
  EDGE_SANITIZED=1  lb4 is an ASan/UBSan build: skip assertions about its memory footprint and
                    allow more time for it to start
"""

import hashlib
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

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("EDGE_SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
LB4_BUILT = os.environ.get("LB4") or os.path.join(SOURCE_ROOT, "build", "l4", "lb4")
ORIGIN = os.path.join(HERE, "origin.py")
SANITIZED = os.environ.get("EDGE_SANITIZED") == "1"

# Sanitized builds start and run slower: every deadline below is scaled by this.
SLOW = 3.0 if SANITIZED else 1.0


def _snapshot_lb4():
    """A private copy of LB4_BUILT (it has no rpath: it runs from anywhere). A copy taken while
    ninja rewrites the file is caught by running `--help` and taken again."""
    import atexit
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="lb4-under-test-")
    atexit.register(shutil.rmtree, d, True)
    copy = os.path.join(d, "lb4")
    end = time.monotonic() + 60
    while True:
        try:
            shutil.copy2(LB4_BUILT, copy)
            r = subprocess.run([copy, "--help"], capture_output=True, timeout=30)
            if r.returncode == 0 and r.stdout.startswith(b"usage: lb4"):
                return copy
            problem = "exit %d" % r.returncode
        except (OSError, subprocess.SubprocessError) as e:
            problem = str(e)
        if time.monotonic() > end:
            raise RuntimeError("cannot run %s: %s" % (LB4_BUILT, problem))
        time.sleep(0.5)


LB4 = _snapshot_lb4() if os.path.exists(LB4_BUILT) else LB4_BUILT

sys.path.insert(0, HERE)
from origin import stream_chunks, stream_sha256  # noqa: E402  (re-exported for tests)

__all__ = ["stream_chunks", "stream_sha256"]


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds * SLOW

    def left(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end


def wait_until(predicate, timeout, what, interval=0.01):
    """Polls predicate() until it returns a true value (returned) or `timeout` seconds pass."""
    d = Deadline(timeout)
    while True:
        value = predicate()
        if value:
            return value
        if d.expired():
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout * SLOW, what))
        time.sleep(interval)


# ---------------------------------------------------------------- processes

_LIVE = []  # every process started and not yet reaped, for last-resort cleanup
_LIVE_LOCK = threading.Lock()


def _track(proc):
    with _LIVE_LOCK:
        _LIVE.append(proc)


def _untrack(proc):
    with _LIVE_LOCK:
        if proc in _LIVE:
            _LIVE.remove(proc)


def kill_all():
    """Kills every process started through this module that is still running."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        stop_process(p, timeout=2.0)


def stop_process(proc, sig=signal.SIGTERM, timeout=5.0):
    """Sends `sig`, waits up to `timeout` s, then SIGKILL. Returns the exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    _untrack(proc)
    return proc.returncode


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago (bind port 0, close). Callers retry on a collision."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def format_address(host, port):
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def parse_address(text):
    """ "127.0.0.1:80" or "[::1]:80" -> (host, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    return host, int(port)


def is_listening(host, port):
    """True when a TCP socket listens on host:port (read from /proc/net/tcp{,6}: no connection)."""
    if ":" in host:
        path = "/proc/net/tcp6"
        packed = socket.inet_pton(socket.AF_INET6, host)
        # /proc prints each 32-bit word of the address in host (little-endian) byte order.
        want_ip = "".join(packed[i:i + 4][::-1].hex().upper() for i in range(0, 16, 4))
    else:
        path = "/proc/net/tcp"
        want_ip = socket.inet_aton(host)[::-1].hex().upper()
    want = "%s:%04X" % (want_ip, port)
    with open(path) as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                return True
    return False


# ---------------------------------------------------------------- origin servers


class Origin:
    """One origin.py process serving one or more listeners.

    listeners: list of dicts, e.g. {"name": "b0", "mode": "name"} (host defaults to 127.0.0.1,
    port to 0). After start(): port(name), address(name) ("127.0.0.1:PORT"), events.
    """

    def __init__(self, listeners, log_dir):
        self.specs = [dict(l) for l in listeners]
        self.log_dir = log_dir
        self.proc = None
        self.ports = {}
        self.hosts = {}
        self.events = []
        self._cond = threading.Condition()
        self._stderr = None

    def start(self):
        args = [sys.executable, "-u", ORIGIN]
        for spec in self.specs:
            spec.setdefault("host", "127.0.0.1")
            args += ["--listen", ",".join("%s=%s" % kv for kv in spec.items())]
        names = "-".join(s["name"] for s in self.specs)[:60]
        self._stderr = open(os.path.join(self.log_dir, "origin-%s.stderr" % names), "w+b")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env)
        _track(self.proc)
        ready = queue.Queue()
        threading.Thread(target=self._reader, args=(ready,), daemon=True).start()
        d = Deadline(15)
        while len(self.ports) < len(self.specs):
            try:
                item = ready.get(timeout=d.left() or 0.001)
            except queue.Empty:
                item = None
            if item is None:
                self.stop()
                raise AssertionError("origin did not start: %s" % self.stderr_text())
            port, name = item
            self.ports[name] = port
        for spec in self.specs:
            self.hosts[spec["name"]] = spec["host"]
        return self

    def _reader(self, ready):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if line.startswith("READY "):
                _, port, name = line.split(" ", 2)
                ready.put((int(port), name))
            elif line.startswith("EVENT "):
                ev = json.loads(line[6:])
                with self._cond:
                    self.events.append(ev)
                    self._cond.notify_all()
        ready.put(None)

    def port(self, name):
        return self.ports[name]

    def address(self, name):
        return format_address(self.hosts[name], self.ports[name])

    def name_of_address(self, address):
        for name in self.ports:
            if self.address(name) == address:
                return name
        return None

    def events_where(self, **match):
        with self._cond:
            return [e for e in self.events if all(e.get(k) == v for k, v in match.items())]

    def wait_events(self, count, timeout=10, **match):
        """Waits until at least `count` events match; returns them."""
        d = Deadline(timeout)
        with self._cond:
            while True:
                got = [e for e in self.events if all(e.get(k) == v for k, v in match.items())]
                if len(got) >= count:
                    return got
                if d.expired():
                    raise AssertionError("timed out waiting for %d events %r; have %d: %r" %
                                         (count, match, len(got), got[-5:]))
                self._cond.wait(timeout=min(0.1, d.left()) or 0.001)

    def stderr_text(self):
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc, timeout=3)
            if self.proc.stdout:
                self.proc.stdout.close()


# ---------------------------------------------------------------- lb4 config and process


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, _toml_value(x)) for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[ " + ", ".join(_toml_value(x) for x in v) + " ]"
    raise TypeError("no TOML form for %r" % (v,))


def render_config(lb4=None, listeners=(), pools=()):
    """The edge.toml text for plain dicts. A pool's "health" dict becomes [pool.health]."""
    out = []
    if lb4:
        out.append("[lb4]")
        out += ["%s = %s" % (k, _toml_value(v)) for k, v in lb4.items()]
        out.append("")
    for l in listeners:
        out.append("[[listener]]")
        out += ["%s = %s" % (k, _toml_value(v)) for k, v in l.items()]
        out.append("")
    for p in pools:
        out.append("[[pool]]")
        health = p.get("health")
        out += ["%s = %s" % (k, _toml_value(v)) for k, v in p.items() if k != "health"]
        if health is not None:
            out.append("[pool.health]")
            out += ["%s = %s" % (k, _toml_value(v)) for k, v in health.items()]
        out.append("")
    return "\n".join(out)


def run_lb4(args, timeout=20):
    """Runs lb4 to completion (--check, --which, --help, ...): CompletedProcess with text output."""
    return subprocess.run([LB4] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout * SLOW)


class Lb4:
    """One lb4 process with a generated config.

    Listener binds are filled in with free ports when left out (the listener dict's "bind" may be
    a host only, e.g. "::1"; see write_config). address(name) gives (host, port) of a listener.
    """

    def __init__(self, work_dir, lb4=None, listeners=(), pools=(), tag="lb4", log_level="info",
                 nofile=None):
        self.nofile = nofile  # RLIMIT_NOFILE for the lb4 process (None: inherited)
        self.work_dir = work_dir
        self.lb4_section = dict(lb4 or {})
        self.listeners = [dict(l) for l in listeners]
        self.pools = [dict(p) for p in pools]
        self.tag = tag
        self.log_level = log_level
        self.proc = None
        self.config_path = os.path.join(work_dir, "%s.toml" % tag)
        self.stderr_path = os.path.join(work_dir, "%s.stderr" % tag)
        self.bind_hosts = [l.get("bind", "127.0.0.1") for l in self.listeners]
        self.binds = {}
        self.exit_code = None

    def write_config(self):
        """Writes the config. Host-only binds ("::1", "0.0.0.0") get a free port; "127.0.0.1"
        also becomes a random 127.R.x.y address. lb4 listens with SO_REUSEPORT, so two lb4 of
        one user that happen to pick the same address and port (other test runs on the machine
        choose free ports too) would silently share connections; a random address makes that
        practically impossible."""
        import random
        for l, bind in zip(self.listeners, self.bind_hosts):
            has_port = bind.startswith("[") or bind.count(":") == 1
            if not has_port and bind == "127.0.0.1":
                bind = "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                                         random.randint(1, 254))
            l["bind"] = bind if has_port else format_address(bind, free_port(bind))
            self.binds[l["name"]] = parse_address(l["bind"])
        with open(self.config_path, "w") as f:
            f.write(render_config(self.lb4_section, self.listeners, self.pools))
        return self.config_path

    def address(self, listener=None):
        name = listener or self.listeners[0]["name"]
        return self.binds[name]

    def start(self, attempts=5):
        """Starts lb4 and waits until every listener listens. Retries with new ports when one
        was taken meanwhile."""
        for attempt in range(attempts):
            self.write_config()
            env = None
            if self.nofile and SANITIZED:
                # UBSan's vptr check probes memory through a pipe(2); out of descriptors, which
                # is what a nofile limit is for, the probe fails and it reports a bad vptr that
                # is not there. Let UBSan report and go on; ASan still halts on a real error.
                env = dict(os.environ, UBSAN_OPTIONS="halt_on_error=0:print_stacktrace=1")
            with open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    [LB4, "-c", self.config_path, "--log-level", self.log_level],
                    stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, env=env,
                    preexec_fn=self._limits if self.nofile else None)
            _track(self.proc)
            d = Deadline(15)
            while True:
                code = self.proc.poll()
                if code is not None:
                    _untrack(self.proc)
                    text = self.stderr()
                    if code == 1 and "in use" in text and attempt + 1 < attempts:
                        break  # a chosen port was taken meanwhile: pick new ones
                    raise AssertionError("lb4 exited with %d during start:\n%s" % (code, text))
                started = self.log_level not in ("debug", "info") or "started with" in self.stderr()
                if started and all(
                        is_listening(h, p) for h, p in self.binds.values()):
                    return self
                if d.expired():
                    self.stop()
                    raise AssertionError("lb4 did not start listening in time:\n" + self.stderr())
                time.sleep(0.01)
        raise AssertionError("lb4 could not start: ports kept colliding")

    def _limits(self):
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def sanitizer_text(self):
        """stderr as scanned for sanitizer reports. Under a nofile limit, drops UBSan's vptr
        reports whose memory it could not read (its pipe(2) probe failed, see start())."""
        text = self.stderr()
        if self.nofile and SANITIZED:
            text = re.sub(r"[^\n]*runtime error: member call on address [^\n]*\n"
                          r"[^\n]*note: object has invalid vptr\n<memory cannot be printed>\n",
                          "", text)
        return text

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for lb4")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Waits for lb4 to exit on its own; returns its exit code (fails on timeout)."""
        try:
            self.exit_code = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            raise AssertionError("lb4 still running after %.1fs" % (timeout * SLOW))
        _untrack(self.proc)
        return self.exit_code

    def stop(self, timeout=10):
        if self.proc is None:
            return None
        self.exit_code = stop_process(self.proc, timeout=timeout * SLOW)
        return self.exit_code

    def which(self, ip):
        """{listener name: backend address} that `lb4 --which ip` prints for this config."""
        if not os.path.exists(self.config_path):
            self.write_config()
        r = run_lb4(["--which", ip, "-c", self.config_path])
        assert r.returncode == 0, "lb4 --which %s: %d %s" % (ip, r.returncode, r.stderr)
        out = {}
        for line in r.stdout.splitlines():
            m = re.fullmatch(r"(\S+) (\S+) -> (\S+)", line)
            assert m, "unexpected --which line %r" % line
            out[m.group(1)] = m.group(3)
        return out

    def metric(self, name):
        """The value of an unlabelled metric from the admin endpoint's /metrics (the [lb4] admin
        address must be set)."""
        import urllib.request
        host, port = parse_address(self.lb4_section["admin"])
        url = "http://%s/metrics" % format_address(host, port)
        with urllib.request.urlopen(url, timeout=10 * SLOW) as r:
            text = r.read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError("no metric %s in lb4's /metrics" % name)

    def admin_get(self, path, timeout=10):
        """(status, body text) of GET path on the [lb4] admin address."""
        return http_get(self.lb4_section["admin"], path, timeout)

    def which_many(self, ips, parallel=8):
        """{ip: which(ip)} for many addresses, several lb4 --which processes at a time."""
        from concurrent.futures import ThreadPoolExecutor
        if not os.path.exists(self.config_path):
            self.write_config()
        with ThreadPoolExecutor(parallel) as pool:
            return dict(zip(ips, pool.map(self.which, ips)))


# ---------------------------------------------------------------- clients


def http_get(address, path, timeout=10):
    """(status, body text) of a raw `GET path` to an admin address ("HOST:PORT" or (host, port)):
    no redirects, no exceptions on 4xx/5xx."""
    if isinstance(address, str):
        address = parse_address(address)
    s = connect(address, timeout=timeout)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: lb4\r\nConnection: close\r\n\r\n" % path).encode())
        data = _read_all(s)
    finally:
        s.close()
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, "no complete response head from %s: %r" % (format_address(*address), data[:200])
    return int(head.split(b" ", 2)[1]), body.decode()


def _read_all(sock):
    data = bytearray()
    while True:
        b = sock.recv(65536)
        if not b:
            return bytes(data)
        data += b


def connect(address, source_ip=None, timeout=10):
    """A connected TCP socket to (host, port), optionally bound to source_ip first."""
    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout * SLOW)
        if source_ip is not None:
            s.bind((source_ip, 0))
        s.connect((host, port))
    except BaseException:
        s.close()
        raise
    return s


def read_line(sock, limit=4096):
    """Reads up to and including "\\n" one byte at a time (so nothing after it is consumed).
    Returns the line without "\\n", or None at EOF / reset before a full line."""
    out = bytearray()
    while len(out) < limit:
        try:
            b = sock.recv(1)
        except ConnectionResetError:
            return None
        if not b:
            return None
        if b == b"\n":
            return out.decode("utf-8", "replace")
        out += b
    raise AssertionError("line longer than %d bytes: %r" % (limit, bytes(out[:80])))


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        b = sock.recv(min(n - len(buf), 1 << 20))
        if not b:
            raise AssertionError("EOF after %d of %d bytes" % (len(buf), n))
        buf += b
    return bytes(buf)


def recv_to_eof(sock, bufsize=1 << 20):
    """Reads until EOF: (byte count, sha256 hex)."""
    h = hashlib.sha256()
    total = 0
    buf = bytearray(bufsize)
    view = memoryview(buf)
    while True:
        n = sock.recv_into(buf)
        if n == 0:
            return total, h.hexdigest()
        total += n
        h.update(view[:n])


def recv_until_eof_or_stall(sock):
    """Like recv_to_eof, but a socket timeout (no byte for that long) ends it too:
    (byte count, sha256 hex, stalled)."""
    h = hashlib.sha256()
    total = 0
    try:
        while True:
            b = sock.recv(1 << 20)
            if not b:
                return total, h.hexdigest(), False
            total += len(b)
            h.update(b)
    except socket.timeout:
        return total, h.hexdigest(), True


def wait_closed(sock, timeout):
    """Waits for the peer to close: "eof" or "reset". Fails on data or on timeout."""
    sock.settimeout(timeout * SLOW)
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        raise AssertionError("connection still open after %.1fs" % (timeout * SLOW))
    if data:
        raise AssertionError("expected the connection to be closed, got data %r" % data[:80])
    return "eof"


def ask_name(address, source_ip=None, timeout=10):
    """Connects, reads the backend's name line ("name" mode), closes. None if closed first."""
    s = connect(address, source_ip, timeout)
    try:
        return read_line(s)
    finally:
        s.close()


# ---------------------------------------------------------------- unreachable backends


class RefusingPort:
    """A port on which connections are refused at once (RST): a socket bound to it but not
    listening. Holding the binding keeps anyone else from taking the port meanwhile."""

    def __init__(self, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.host = host
        self.port = self.sock.getsockname()[1]
        probe = socket.socket(family, socket.SOCK_STREAM)
        probe.settimeout(5)
        try:
            probe.connect((host, self.port))
            raise AssertionError("a connect to a bound, non-listening socket succeeded")
        except ConnectionRefusedError:
            pass
        finally:
            probe.close()

    def address(self):
        return format_address(self.host, self.port)

    def close(self):
        self.sock.close()


def _connect_hangs(addr, seconds):
    """True when a non-blocking connect to addr is still in progress after `seconds`."""
    import select
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setblocking(False)
    try:
        c.connect_ex(addr)
        _, writable, _ = select.select([], [c], [], seconds)
        return not writable
    finally:
        c.close()


class Blackhole:
    """An address where connect() hangs: a listening socket with backlog 0 whose accept queue is
    full (Linux then drops new SYNs; the connecting side retransmits and waits). The constructor
    proves it: a probe connect must still be pending after `verify` seconds."""

    def __init__(self, verify=0.3):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.addr = self.sock.getsockname()
        self.fillers = []
        for _ in range(4):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.settimeout(0.2)
            try:
                f.connect(self.addr)  # completes: it goes into the (never accepted) queue
            except OSError:
                f.close()  # queue already full: this one hangs, enough filling
                break
            self.fillers.append(f)
            if _connect_hangs(self.addr, verify):
                return
        self.close()
        raise AssertionError("could not make a connect to a loopback address hang")

    def address(self):
        return format_address(*self.addr)

    def close(self):
        for f in self.fillers:
            f.close()
        self.sock.close()
