"""Health of a pool's backends ([pool.health]): active tcp and http checks with rise/fall, passive
ejection after consecutive connect failures (capped by max_ejection_percent), all backends down,
and what /metrics, /status and the log say about it. Short intervals (200ms) keep it fast; every
wait is bounded; timing bounds are read from lb4's own log timestamps (when it decided), with a
tolerance for a busy machine."""

import datetime
import json
import re
import socket
import threading
import time

import lb4_harness as h

INTERVAL = 0.2  # seconds; the checks below use "200ms"
TIMEOUT = 0.1
TOLERANCE = 0.5 * h.SLOW  # scheduling slack on a loaded machine, on top of a computed bound


# ---------------------------------------------------------------- helpers (this file only)


def random_loopback():
    """A random 127.R.x.y address (lb4 binds admin with SO_REUSEPORT: see the harness)."""
    import random
    return "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                             random.randint(1, 254))


def admin_section():
    host = random_loopback()
    return {"admin": h.format_address(host, h.free_port(host))}


def admin_get(lb, path):
    status, body = lb.admin_get(path)
    assert status == 200, (path, status, body[:200])
    return body


def metrics(lb):
    """{(name, frozenset(labels.items())): value} from /metrics."""
    out = {}
    for line in admin_get(lb, "/metrics").splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, "unexpected /metrics line %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(m, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in m, "no sample %s%r in /metrics" % (name, labels)
    return m[key]


def status_backends(lb, pool="p"):
    """{address: backend object} of `pool` in /status."""
    doc = json.loads(admin_get(lb, "/status"))
    for p in doc["pools"]:
        if p["name"] == pool:
            return {b["address"]: b for b in p["backends"]}
    raise AssertionError("no pool %r in /status" % pool)


LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def log_events(lb, pattern):
    """[(unix time, match)] for every log line whose text after the level matches `pattern`."""
    out = []
    for line in lb.stderr().splitlines():
        t = LOG_TIME.match(line)
        m = re.search(pattern, line)
        if t and m:
            stamp = datetime.datetime.strptime(t.group(1), "%Y-%m-%dT%H:%M:%S.%f")
            out.append((stamp.replace(tzinfo=datetime.timezone.utc).timestamp(), m))
    return out


def state_changes(lb, address, pool="p"):
    """[(unix time, "UP"|"DOWN", count, last)] of the backend's UP/DOWN log lines."""
    pattern = (r'backend %s \(pool "%s"\) is (UP|DOWN): (\d+) consecutive \w+(?:, last: (.*))?$'
               % (re.escape(address), re.escape(pool)))
    return [(t, m.group(1), int(m.group(2)), m.group(3)) for t, m in log_events(lb, pattern)]


def wait_change(lb, address, state, after=0.0, timeout=10, pool="p"):
    """The first UP/DOWN line for `address` logged at or after unix time `after`."""
    def find():
        for c in state_changes(lb, address, pool):
            if c[1] == state and c[0] >= after - 0.002:
                return c
        return None
    return h.wait_until(find, timeout, "backend %s to be logged %s" % (address, state))


def health(check="tcp", **extra):
    d = {"check": check, "interval": "200ms", "timeout": "100ms", "rise": 2, "fall": 3}
    d.update(extra)
    return d


def name_pool(addresses, name="p", balance="round_robin", **extra):
    p = {"name": name, "balance": balance, "backends": [{"address": a} for a in addresses]}
    p.update(extra)
    return p


def wait_all_checked(lb, addresses, pool="p", timeout=10):
    """Waits until every backend has had at least one good check."""
    def done():
        m = metrics(lb)
        return all(metric(m, "lb4_backend_check_total", pool=pool, backend=a, result="ok") >= 1
                   for a in addresses)
    h.wait_until(done, timeout, "a good check of every backend")


class Load:
    """New connections one after another (each: connect, read the backend's name line, close)
    from a thread, recording (start time, name or None)."""

    def __init__(self, lb, pause=0.01):
        self.lb = lb
        self.pause = pause
        self.results = []
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t = time.time()
            try:
                name = h.ask_name(self.lb.address(), timeout=5)
            except OSError as e:
                name = None
                self.errors.append(repr(e))
            self.results.append((t, name))
            time.sleep(self.pause)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10 * h.SLOW)

    def names_since(self, t):
        return [n for s, n in list(self.results) if s >= t]


class Flapper:
    """A TCP port on 127.0.0.1 that accepts connections for `period` seconds, then refuses them
    (RST) for `period`, and so on, from a thread. While down, a bound but not listening socket
    holds the port. Accepted connections are closed at once. `toggles`: [(time, "up"|"down")]."""

    def __init__(self, period):
        self.period = period
        self.toggles = []
        self._sock = self._bound(0)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _bound(port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return s

    def address(self):
        return "127.0.0.1:%d" % self.port

    def _run(self):
        up = False
        while not self._stop.is_set():
            if up:
                self._sock.close()
                self._sock = self._bound(self.port)
            else:
                self._sock.listen(64)
                self._sock.settimeout(0.02)
            up = not up
            self.toggles.append((time.time(), "up" if up else "down"))
            end = time.monotonic() + self.period
            while time.monotonic() < end and not self._stop.is_set():
                if up:
                    try:
                        c, _ = self._sock.accept()
                        c.close()
                    except OSError:
                        pass
                else:
                    time.sleep(0.02)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        self._thread.join(10)
        self._sock.close()


def http_ask(address, timeout=10):
    """GET /client through lb4: the origin's name (the response body), or None."""
    s = h.connect(address, timeout=timeout)
    try:
        s.sendall(b"GET /client HTTP/1.1\r\nHost: test\r\n\r\n")
        data = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        return None
    finally:
        s.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return body.decode().strip() or None


# ---------------------------------------------------------------- tests


def test_killed_origin_gets_no_new_connections_within_fall_intervals_and_returns_after_rise(edge):
    """Three origins (one process each) under a steady load of new connections, round_robin,
    tcp checks every 200ms, rise 2, fall 3. Kill b1: lb4 logs it DOWN within fall x interval
    (+ one timeout) of its death, and from then on makes no connect attempt to it (its
    connect-failure count stays put) while every client is still served (connect retries covered
    the gap). Restart it on the same port: it is UP within rise x interval and gets clients
    again."""
    origins = {n: edge.origin({"name": n, "mode": "name"}) for n in ("b0", "b1", "b2")}
    addr = {n: o.address(n) for n, o in origins.items()}
    lb = edge.lb4([name_pool([addr["b0"], addr["b1"], addr["b2"]], health=health())],
                  **admin_section())
    wait_all_checked(lb, addr.values())
    with Load(lb) as load:
        h.wait_until(lambda: "b1" in load.names_since(0), 10, "b1 to serve a client")
        origins["b1"].stop()
        killed_at = time.time()
        down_at, _, count, last = wait_change(lb, addr["b1"], "DOWN", after=killed_at - 1)
        assert count == 3 and last == "connect refused", (count, last)
        assert down_at - killed_at <= 3 * INTERVAL + TIMEOUT + TOLERANCE, down_at - killed_at
        # Connects already under way when it went down may still fail; after that, none.
        time.sleep(0.3)
        failures = metric(metrics(lb), "lb4_backend_connect_failures_total", pool="p",
                          backend=addr["b1"])
        served_before = len(load.results)
        time.sleep(1.5)
        assert len(load.results) - served_before >= 10, "the load stalled"
        m = metrics(lb)
        assert metric(m, "lb4_backend_connect_failures_total", pool="p",
                      backend=addr["b1"]) == failures
        assert metric(m, "lb4_backend_up", pool="p", backend=addr["b1"]) == 0
        assert metric(m, "lb4_backend_check_up", pool="p", backend=addr["b1"]) == 0
        assert set(load.names_since(down_at + 0.3)) <= {"b0", "b2"}

        port = h.parse_address(addr["b1"])[1]
        restarted = edge.origin({"name": "b1", "mode": "name", "port": port})
        restarted_at = time.time()
        assert restarted.address("b1") == addr["b1"]
        up_at, _, count, _ = wait_change(lb, addr["b1"], "UP", after=restarted_at - 1)
        assert count == 2
        assert up_at - restarted_at <= 2 * INTERVAL + TOLERANCE, up_at - restarted_at
        h.wait_until(lambda: "b1" in load.names_since(up_at), 10, "b1 to serve clients again")
    # A connection under way to b1 when it died may have been cut; none started after that was.
    assert None not in load.names_since(killed_at), load.errors[:5]
    b1 = status_backends(lb)[addr["b1"]]
    assert b1["state"] == "up" and b1["check"] == "up", b1
    assert b1["last_check"]["result"] == "ok" and b1["last_check"]["reason"] == "connected", b1


def test_flapping_backend_never_changes_state_faster_than_rise_and_fall_allow(edge):
    """A backend that accepts for 1s, refuses for 1s, and so on, checked by two pools every
    200ms: "strict" (rise = fall = 10: no run of 10 checks fits in a 1s phase) never changes its
    state; "quick" (rise 2, fall 3) follows the flapping, but each DOWN comes >= fall x 0.9
    interval after the UP before it and each UP >= rise x 0.9 interval after the DOWN, and the
    log gives the streak that caused it."""
    flapper = Flapper(1.0)
    edge.holders.append(flapper)
    address = flapper.address()
    pools = [name_pool([address], name="quick", health=health(rise=2, fall=3)),
             name_pool([address], name="strict", health=health(rise=10, fall=10))]
    listeners = [{"name": "q", "bind": "127.0.0.1", "pool": "quick"},
                 {"name": "s", "bind": "127.0.0.1", "pool": "strict"}]
    flapper.start()
    lb = edge.lb4(pools, listeners=listeners, **admin_section())
    time.sleep(6.5)
    flapper.close()
    phases = [b - a for (a, _), (b, _) in zip(flapper.toggles, flapper.toggles[1:])]
    # Ten checks span nine gaps of >= 0.9 interval: a phase shorter than that cannot hold them.
    assert max(phases) < 9 * 0.9 * INTERVAL, "the flapper was too slow to prove anything: %r" % phases
    assert state_changes(lb, address, "strict") == []
    changes = state_changes(lb, address, "quick")
    assert len(changes) >= 3, changes
    previous = None
    for t, state, count, last in changes:
        if state == "DOWN":
            assert count == 3 and last == "connect refused", changes
        else:
            assert count == 2, changes
        if previous is not None:
            assert state != previous[1], changes  # alternate
            need = (3 if state == "DOWN" else 2) * 0.9 * INTERVAL
            assert t - previous[0] >= need - 0.02, (need, changes)
        previous = (t, state)
    m = metrics(lb)
    for pool in ("quick", "strict"):
        assert metric(m, "lb4_backend_check_total", pool=pool, backend=address, result="ok") >= 5
        assert metric(m, "lb4_backend_check_total", pool=pool, backend=address, result="fail") >= 5


def test_http_check_answered_500_takes_the_backend_down(edge):
    """check = "http": three origins answer GET /healthz, b1 with 500. b1 is DOWN with reason
    "HTTP 500 ...", clients (GET /client, round_robin) are served by b0 and b2 only, and /status
    shows each backend's last check. The check request is GET <path> HTTP/1.1 with the backend as
    Host."""
    o = edge.origin({"name": "b0", "mode": "http"}, {"name": "b1", "mode": "http", "status": 500},
                    {"name": "b2", "mode": "http"})
    addr = {n: o.address(n) for n in ("b0", "b1", "b2")}
    lb = edge.lb4([name_pool(list(addr.values()), health=health("http", path="/healthz"))],
                  **admin_section())
    down_at, _, count, last = wait_change(lb, addr["b1"], "DOWN")
    assert count == 3 and last == "HTTP 500 Not Healthy", last
    clients_before = len(o.events_where(ev="close", name="b1", request="GET /client HTTP/1.1"))
    got = [http_ask(lb.address()) for _ in range(30)]
    assert set(got) == {"b0", "b2"}, got
    assert len(o.events_where(ev="close", name="b1",
                              request="GET /client HTTP/1.1")) == clients_before
    checks = o.events_where(ev="close", name="b0", request="GET /healthz HTTP/1.1")
    assert checks, o.events_where(ev="close", name="b0")[-3:]
    backends = status_backends(lb)
    assert backends[addr["b1"]]["state"] == "down" and backends[addr["b1"]]["check"] == "down"
    assert backends[addr["b1"]]["last_check"]["result"] == "fail"
    assert backends[addr["b1"]]["last_check"]["reason"] == "HTTP 500 Not Healthy"
    assert backends[addr["b0"]]["last_check"]["result"] == "ok"
    assert backends[addr["b0"]]["last_check"]["reason"] == "HTTP 200 OK"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                        backends[addr["b0"]]["last_check"]["time"])
    assert backends[addr["b0"]]["checks"]["ok"] >= 1 and backends[addr["b0"]]["checks"]["fail"] == 0


def test_http_check_passes_on_3xx_unless_expect_status_says_2xx(edge):
    """One pass rule with gw7 (common/health, HAProxy's): a backend answering its check with 302
    is up in a pool with the default rule, and DOWN ("HTTP 302 ...") in a pool with
    expect_status = "2xx"."""
    o = edge.origin({"name": "r", "mode": "http", "status": 302})
    address = o.address("r")
    pools = [name_pool([address], name="lenient", health=health("http", path="/healthz")),
             name_pool([address], name="strict",
                       health=health("http", path="/healthz", expect_status="2xx"))]
    listeners = [{"name": "l", "bind": "127.0.0.1", "pool": "lenient"},
                 {"name": "s", "bind": "127.0.0.1", "pool": "strict"}]
    lb = edge.lb4(pools, listeners=listeners, **admin_section())
    _, _, count, last = wait_change(lb, address, "DOWN", pool="strict")
    assert count == 3 and last == "HTTP 302 Not Healthy", last
    wait_all_checked(lb, [address], pool="lenient")
    lenient = status_backends(lb, "lenient")[address]
    assert lenient["check"] == "up" and lenient["last_check"]["reason"] == "HTTP 302 Not Healthy"
    assert lenient["checks"]["fail"] == 0, lenient
    assert state_changes(lb, address, "lenient") == []


def test_passive_ejection_after_refused_connects_with_check_none(edge):
    """check = "none", passive_failures = 3, ejection_time 2s: round_robin over [b0, dead, b2]
    where dead refuses. After 3 refused connects (the clients are served by the next backend)
    dead is ejected for 2s, logged with the reason; while ejected no connect is tried on it;
    then the ejection ends, it fails 3 more times and is ejected again for twice as long. A pool
    with check = "none" and no passive_failures never ejects."""
    o = edge.origin({"name": "b0", "mode": "name"}, {"name": "b2", "mode": "name"})
    dead = edge.refusing()
    other_dead = edge.refusing()
    pools = [name_pool([o.address("b0"), dead, o.address("b2")],
                       health={"check": "none", "passive_failures": 3, "ejection_time": "2s"}),
             name_pool([o.address("b0"), other_dead], name="plain")]
    listeners = [{"name": "web", "bind": "127.0.0.1", "pool": "p"},
                 {"name": "plain", "bind": "127.0.0.1", "pool": "plain"}]
    lb = edge.lb4(pools, listeners=listeners, **admin_section())
    ejected = r'backend %s \(pool "p"\) ejected for (\S+): (\d+) consecutive connect failures or ' \
              r'resets, last: connect refused' % re.escape(dead)
    got = []
    for _ in range(12):
        got.append(h.ask_name(lb.address()))
    assert set(got) == {"b0", "b2"}, got
    first = h.wait_until(lambda: log_events(lb, ejected), 5, "the ejection to be logged")[0]
    # At least 3: more may fail before the next sweep (every 100ms) acts on the count.
    assert first[1].group(1) == "2s" and int(first[1].group(2)) >= 3, first[1].group(0)
    time.sleep(0.3)
    m = metrics(lb)
    assert metric(m, "lb4_backend_ejected", pool="p", backend=dead) == 1
    assert metric(m, "lb4_backend_up", pool="p", backend=dead) == 0
    assert metric(m, "lb4_backend_ejections_total", pool="p", backend=dead) == 1
    failures = metric(m, "lb4_backend_connect_failures_total", pool="p", backend=dead)
    got = [h.ask_name(lb.address()) for _ in range(10)]
    assert set(got) == {"b0", "b2"}, got
    m = metrics(lb)
    assert metric(m, "lb4_backend_connect_failures_total", pool="p", backend=dead) == failures
    b = status_backends(lb)[dead]
    assert b["ejected"] is True and b["ejection_ms"] == 2000 and b["check"] == "none", b
    assert b["last_check"] is None, b
    h.wait_until(lambda: log_events(lb, r'backend %s \(pool "p"\) ejection ended after 2s'
                                    % re.escape(dead)), 5, "the ejection to end")
    # Back in the rotation: it fails again and is ejected for longer.
    def again():
        h.ask_name(lb.address())
        return len(log_events(lb, ejected)) >= 2
    h.wait_until(again, 10, "a second ejection")
    assert log_events(lb, ejected)[1][1].group(1) == "4s"
    # The pool without passive checks never ejected its refusing backend.
    for _ in range(10):
        assert h.ask_name(lb.address("plain")) == "b0"
    m = metrics(lb)
    assert metric(m, "lb4_backend_connect_failures_total", pool="plain", backend=other_dead) >= 5
    assert metric(m, "lb4_backend_ejections_total", pool="plain", backend=other_dead) == 0
    assert metric(m, "lb4_backend_up", pool="plain", backend=other_dead) == 1


def test_max_ejection_percent_holds(edge):
    """Four backends, three of them refusing, passive_failures = 2, max_ejection_percent = 50:
    two are ejected and the third is not (logged once, with the reason); every client is still
    served by the live one."""
    o = edge.origin({"name": "live", "mode": "name"})
    dead = [edge.refusing() for _ in range(3)]
    lb = edge.lb4([name_pool([o.address("live")] + dead, connect_retries=3,
                             health={"check": "none", "passive_failures": 2,
                                     "ejection_time": "30s", "max_ejection_percent": 50})],
                  **admin_section())

    def ejected():
        m = metrics(lb)
        return sum(metric(m, "lb4_backend_ejected", pool="p", backend=d) for d in dead)
    for _ in range(24):
        assert h.ask_name(lb.address()) == "live"
    h.wait_until(lambda: ejected() == 2, 5, "two ejections")
    refused = r'not ejected after \d+ consecutive connect failures or resets: ' \
              r'max_ejection_percent 50% allows 2 of 4 backends ejected at once'
    h.wait_until(lambda: log_events(lb, refused), 5, "the refused ejection to be logged")
    for _ in range(24):
        assert h.ask_name(lb.address()) == "live"
    time.sleep(0.3)
    assert ejected() == 2
    assert len(log_events(lb, refused)) == 1, "logged once per streak, not per sweep"
    m = metrics(lb)
    assert metric(m, "lb4_backend_up", pool="p", backend=o.address("live")) == 1


def test_all_backends_down_refuses_new_connections_promptly_and_counts_them(edge):
    """Both origins die: once both are DOWN (a log line says the pool has no healthy backend),
    each new connection is closed at once without a connect attempt (not left hanging) and
    counted as refused (reason no_backend). When one comes back, clients are served again."""
    origins = {n: edge.origin({"name": n, "mode": "name"}) for n in ("b0", "b1")}
    addr = {n: o.address(n) for n, o in origins.items()}
    lb = edge.lb4([name_pool(list(addr.values()), health=health(fall=2))], **admin_section())
    wait_all_checked(lb, addr.values())
    for o in origins.values():
        o.stop()
    h.wait_until(lambda: log_events(lb, r'pool "p": no healthy backend; new connections are '
                                        r'refused'), 10, "the pool to be empty")
    m0 = metrics(lb)
    for _ in range(20):
        s = edge.connect(lb.address())
        t0 = time.monotonic()
        assert h.wait_closed(s, 3) in ("eof", "reset")
        assert time.monotonic() - t0 < 0.5 * h.SLOW
        s.close()
    def refused():
        return metric(metrics(lb), "lb4_connections_refused_total", reason="no_backend")
    base = metric(m0, "lb4_connections_refused_total", reason="no_backend")
    h.wait_until(lambda: refused() - base == 20, 5, "20 refusals to be counted")
    m1 = metrics(lb)
    for a in addr.values():
        assert metric(m1, "lb4_backend_connect_failures_total", pool="p", backend=a) == metric(
            m0, "lb4_backend_connect_failures_total", pool="p", backend=a)
        assert metric(m1, "lb4_backend_up", pool="p", backend=a) == 0
    edge.origin({"name": "b0", "mode": "name", "port": h.parse_address(addr["b0"])[1]})
    wait_change(lb, addr["b0"], "UP")
    assert h.ask_name(lb.address()) == "b0"
    assert log_events(lb, r'pool "p": 1 of 2 backends healthy again')


def test_one_check_per_backend_per_interval_whatever_the_workers(edge):
    """With 4 workers, each backend still gets one check per interval (200ms): about 10 in 2s,
    never 4 times that."""
    o = edge.origin({"name": "b0", "mode": "name"}, {"name": "b1", "mode": "name"})
    addrs = [o.address("b0"), o.address("b1")]
    lb = edge.lb4([name_pool(addrs, health=health())], workers=4, **admin_section())
    wait_all_checked(lb, addrs)
    before = {n: len(o.events_where(ev="open", name=n)) for n in ("b0", "b1")}
    t0 = time.monotonic()
    time.sleep(2.0)
    elapsed = time.monotonic() - t0
    for n in ("b0", "b1"):
        checks = len(o.events_where(ev="open", name=n)) - before[n]
        assert elapsed / INTERVAL * 0.5 <= checks <= elapsed / (0.9 * INTERVAL) + 2, (n, checks)
    m = metrics(lb)
    for a in addrs:
        assert metric(m, "lb4_backend_check_total", pool="p", backend=a, result="fail") == 0
        assert metric(m, "lb4_backend_check_up", pool="p", backend=a) == 1
        assert metric(m, "lb4_backend_ejected", pool="p", backend=a) == 0


def test_health_port_checks_another_server_than_the_traffic_port(edge):
    """lb4 in front of gw7-like backends: the traffic port answers GET /healthz with 404 (it is
    routed like any request), the health port is a separate server. Pool p: t0 is checked on h0
    ([pool.health] port, answers 200); pool q: t1 is checked on h1 (its own health_port, answers
    503) although q's pool port is h0. Only the health ports decide: t0 stays UP without one
    failed check, t1 goes DOWN with "HTTP 503"; no check ever reaches a traffic port; clients of
    listener "web" (pool p) are served by t0; /status shows each checked address."""
    o = edge.origin({"name": "t0", "mode": "http", "status": 404},
                    {"name": "t1", "mode": "http", "status": 404},
                    {"name": "h0", "mode": "http"},
                    {"name": "h1", "mode": "http", "status": 503})
    addr = {n: o.address(n) for n in ("t0", "t1", "h0", "h1")}
    h0_port, h1_port = o.port("h0"), o.port("h1")
    p = name_pool([addr["t0"]], name="p", health=health("http", path="/healthz", port=h0_port))
    q = {"name": "q", "balance": "round_robin",
         "backends": [{"address": addr["t1"], "health_port": h1_port}],
         "health": health("http", path="/healthz", port=h0_port)}
    lb = edge.lb4([p, q], listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p"}],
                  **admin_section())
    _, _, count, last = wait_change(lb, addr["t1"], "DOWN", pool="q")
    assert count == 3 and last == "HTTP 503 Not Healthy", last
    h.wait_until(lambda: status_backends(lb, "p")[addr["t0"]]["checks"]["ok"] >= 3, 10,
                 "t0 to pass three checks")
    t0 = status_backends(lb, "p")[addr["t0"]]
    assert t0["state"] == "up" and t0["checks"]["fail"] == 0, t0
    assert t0["check_address"] == addr["h0"]
    t1 = status_backends(lb, "q")[addr["t1"]]
    assert t1["state"] == "down" and t1["check_address"] == addr["h1"], t1
    assert [http_ask(lb.address()) for _ in range(5)] == ["t0"] * 5
    assert o.events_where(ev="close", name="h0", request="GET /healthz HTTP/1.1")
    assert o.events_where(ev="close", name="h1", request="GET /healthz HTTP/1.1")
    for traffic in ("t0", "t1"):
        assert not o.events_where(ev="close", name=traffic, request="GET /healthz HTTP/1.1")
    # The log says where the checks go.
    assert "on port %d" % h0_port in lb.stderr()
