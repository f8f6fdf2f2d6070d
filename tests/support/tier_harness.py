"""lb4 in front of gw7 in front of origins, as one system on loopback (issue 17's tier tests).

A `tier` fixture (import it: `from tier_harness import tier  # noqa: F401`) builds on conftest's
`edge` (lb4 processes, stopped and checked at teardown) and adds gw7 processes that keep their
listen and admin ports across restarts, so that lb4's config names them once:

    t = tier  # fixture
    origin = t.origin("o0", "o1")
    gws = [t.gw7("g%d" % i, upstream=[origin.address("o0"), origin.address("o1")]) for i in 3]
    lb = t.lb4(gws)                  # PROXY v2 to every gw7, http checks of their admin /healthz

Each gw7 adds `X-Via-Gw7: NAME` to what it forwards, so the origin's JSON echo says which gw7 a
request passed through.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

import gw7_harness as g
import lb4_harness as h

# lb4's checks of gw7: fast enough for a test; gw7's drain_delay must be longer than fall x
# interval (plus a probe's jitter and timeout) so lb4 stops sending before gw7 stops accepting.
HEALTH = {"check": "http", "path": "/healthz", "interval": "200ms", "timeout": "150ms",
          "rise": 2, "fall": 2}
DRAIN_DELAY_S = 1.5 * g.SLOW
DRAIN_DELAY = "%dms" % (DRAIN_DELAY_S * 1000)


class Gateway:
    """One gw7 process on fixed ports (chosen free once): restart() comes back on the same
    listen and admin addresses."""

    def __init__(self, work_dir, name, config_text):
        self.name = name
        self.config_path = os.path.join(work_dir, "%s.toml" % name)
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.listen = ("127.0.0.1", h.free_port("127.0.0.1"))
        self.admin = ("127.0.0.1", h.free_port("127.0.0.1"))
        self.proc = None
        self.err = None
        self.logs = []  # stderr of earlier runs

    @property
    def address(self):
        return "%s:%d" % self.listen

    def start(self, timeout=10):
        # A port freed by the previous run is rebound at once (gw7 sets SO_REUSEADDR); another
        # process could take it meanwhile only by chance, which the start would report.
        self.proc = subprocess.Popen(
            [g.GW7, "-c", self.config_path, "--listen", self.address,
             "--admin", "%s:%d" % self.admin],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.err = g._Lines(self.proc.stderr)
        self.err.wait_for(r"admin on ", timeout)
        return self

    def healthz(self):
        return g.request(self.admin, "GET", "/healthz", timeout=2).status

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        code = self.proc.wait(timeout * g.SLOW)
        self.logs.append(self.err.text())
        return code

    def restart(self):
        """SIGTERM, wait for the drain to finish (exit 0), start again on the same ports."""
        self.signal(signal.SIGTERM)
        code = self.wait_exit(30)
        assert code == 0, "%s exited %s:\n%s" % (self.name, code, self.logs[-1][-3000:])
        return self.start()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30 * g.SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stderr(self):
        return "\n".join(self.logs + ([self.err.text()] if self.err else []))


def gateway_config(name, servers, gw7=None, upstream=None):
    """A gw7 behind lb4: PROXY headers required from loopback, one upstream "app" over
    `servers`, a catch-all route that marks requests with X-Via-Gw7."""
    section = {"proxy_protocol": "required", "trusted_proxies": ["127.0.0.0/8"],
               "drain_delay": DRAIN_DELAY, "drain_timeout": "10s"}
    section.update(gw7 or {})
    u = {"name": "app", "balance": "round_robin", "servers": list(servers)}
    u.update(upstream or {})
    return g.render_config(
        gw7=section, upstreams=[u],
        routes=[{"name": "all", "path_prefix": "/", "upstream": "app",
                 "add_request_headers": {"X-Via-Gw7": name}}])


def status_backends(lb, pool):
    status, body = lb.admin_get("/status")
    assert status == 200, status
    for p in json.loads(body)["pools"]:
        if p["name"] == pool:
            return {b["address"]: b["state"] for b in p["backends"]}
    raise AssertionError("no pool %r in lb4's /status" % pool)


def random_admin():
    import random
    host = "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                             random.randint(1, 254))
    return h.format_address(host, h.free_port(host))


class Tier:
    def __init__(self, edge, work_dir):
        self.edge = edge
        self.dir = work_dir
        self.origins = []
        self.gateways = []

    def origin(self, *names, **kwargs):
        o = g.HttpOrigin(names, **kwargs)
        self.origins.append(o)
        return o

    def gw7(self, name, servers, **kwargs):
        gw = Gateway(self.dir, name, gateway_config(name, servers, **kwargs))
        self.gateways.append(gw)
        return gw.start()

    def lb4(self, gateways, listener=None, pool=None, health=HEALTH, **section):
        """lb4 with one listener "web" (PROXY v2) over pool "gw7" of `gateways`, checking each
        one's admin /healthz; waits until every gw7 is up in lb4's /status."""
        p = {"name": "gw7", "balance": "maglev", "hash": "source_ip", "table_size": 65537,
             "connect_timeout": "1s", "connect_retries": 2,
             "backends": [{"address": gw.address, "health_port": gw.admin[1]}
                          for gw in gateways],
             "health": dict(health)}
        p.update(pool or {})
        l = {"name": "web", "bind": "127.0.0.1", "mode": "tcp", "pool": "gw7",
             "proxy_protocol": "v2"}
        l.update(listener or {})
        section.setdefault("admin", random_admin())
        lb = self.edge.lb4([p], listeners=[l], **section)
        self.wait_states(lb, {gw.address: "up" for gw in gateways})
        return lb

    def wait_states(self, lb, want, pool="gw7", timeout=15):
        def ok():
            have = status_backends(lb, pool)
            return all(have.get(a) == s for a, s in want.items())
        h.wait_until(ok, timeout, "lb4 to see %r" % want)

    def close(self):
        problems = []
        for gw in self.gateways:
            code = gw.stop()
            text = gw.stderr()
            if code not in (0, None, -9):
                problems.append("%s exited %s" % (gw.name, code))
            if any(m in text for m in g.SANITIZER_MARKERS):
                problems.append("%s: sanitizer report:\n%s" % (gw.name, text[-4000:]))
        for o in self.origins:
            o.stop()
        return problems


@pytest.fixture
def tier(edge, tmp_path):
    t = Tier(edge, str(tmp_path))
    try:
        yield t
    finally:
        problems = t.close()
        for gw in t.gateways:
            import sys
            sys.stderr.write("---- %s stderr ----\n%s\n" % (gw.name, gw.stderr()[-6000:]))
        if problems:
            pytest.fail("; ".join(problems))


# ---------------------------------------------------------------- clients


def get(address, target="/", source=None, headers=(), timeout=10):
    """One request on a new connection (Connection: close): the Response."""
    c = g.Client(address, timeout, source=source)
    try:
        c.send(g.request_bytes("GET", target, list(headers) + [("Connection", "close")]))
        return c.read_response()
    finally:
        c.close()


def via(response):
    """The gw7 a response passed through (the origin echoes the request's X-Via-Gw7)."""
    assert response.status == 200, response
    for k, v in response.json()["headers"]:
        if k.lower() == "x-via-gw7":
            return v
    raise AssertionError("no X-Via-Gw7 in the origin's echo: %r" % response.body[:300])


def echoed_header(response, name):
    values = [v for k, v in response.json()["headers"] if k.lower() == name.lower()]
    assert len(values) == 1, (name, values, response.body[:300])
    return values[0]


class Load:
    """Bounded steady load through `address`: `new_threads` clients that open a new connection
    per request (Connection: close) and `keepalive_threads` clients that keep one connection
    and reconnect only when a response says `Connection: close`. Every request must get a 200
    from the origin; anything else (refused, reset, EOF before a full response, another status)
    is a failure, recorded. Each thread stops at stop() or after `limit` seconds."""

    def __init__(self, address, new_threads=3, keepalive_threads=3, pause=0.005, limit=120):
        self.address = address
        self.pause = pause
        self.deadline = time.monotonic() + limit
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.ok = {"new": 0, "keepalive": 0}
        self.reconnects = 0  # keep-alive connections ended by Connection: close
        self.via = {}
        self.failures = []
        self.threads = []
        n = 0
        for kind, count in (("new", new_threads), ("keepalive", keepalive_threads)):
            for _ in range(count):
                n += 1
                src = "127.0.0.%d" % (10 + n)  # distinct sources: Maglev spreads them
                self.threads.append(threading.Thread(target=getattr(self, "_" + kind),
                                                     args=(src,), daemon=True))

    def running(self):
        return not self.stop_event.is_set() and time.monotonic() < self.deadline

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)

    def _record(self, kind, r):
        with self.lock:
            if r.status != 200:
                self.failures.append("%s: status %d %r" % (kind, r.status, r.body[:200]))
                return
            self.ok[kind] += 1
            name = via(r)
            self.via[name] = self.via.get(name, 0) + 1

    def _fail(self, kind, e):
        with self.lock:
            self.failures.append("%s at %s: %s: %s" % (kind, time.strftime("%H:%M:%S"),
                                                       type(e).__name__, e))

    def _new(self, src):
        while self.running():
            try:
                self._record("new", get(self.address, "/n", source=src, timeout=5))
            except (OSError, EOFError, AssertionError, ValueError) as e:
                self._fail("new", e)
            time.sleep(self.pause)

    def _keepalive(self, src):
        c = None
        while self.running():
            try:
                if c is None:
                    c = g.Client(self.address, 5, source=src)
                c.send(g.request_bytes("GET", "/k"))
                r = c.read_response()
                self._record("keepalive", r)
                if (r.header("connection") or "").lower() == "close":
                    c.close()
                    c = None
                    with self.lock:
                        self.reconnects += 1
            except (OSError, EOFError, AssertionError, ValueError) as e:
                self._fail("keepalive", e)
                if c is not None:
                    c.close()
                c = None
            time.sleep(self.pause)
        if c is not None:
            c.close()

    def total(self):
        with self.lock:
            return sum(self.ok.values())
