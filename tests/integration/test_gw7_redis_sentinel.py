"""Global rate limits through a Redis primary that fails over ([redis] sentinels + master), with
Debian's real redis-server and redis-sentinel on free loopback ports in the test's tmp dir: one
primary, one replica, three sentinels (quorum 2, down-after-milliseconds 1000). gw7 finds the
primary through the sentinels; under steady load the primary is SIGKILLed; the sentinels promote
the replica and gw7 follows it (+switch-master), the limit's failure policy answering in between.
The test prints how many requests went past the limit during the failover.

Skips when redis-sentinel is not installed (apt-get install redis-sentinel)."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import pytest  # noqa: E402

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401
from redis_server import _encode, _Reader  # noqa: E402

MASTER = "edge-rl"
needs_sentinel = pytest.mark.skipif(
    shutil.which("redis-sentinel") is None or shutil.which("redis-server") is None,
    reason="redis-sentinel / redis-server not installed (apt-get install redis-sentinel)")


def command(port, *args, timeout=5, password=None):
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        reader = _Reader(s)
        if password:
            s.sendall(_encode(("AUTH", password)))
            reader.reply()
        s.sendall(_encode(args))
        return reader.reply()


def try_command(port, *args, password=None):
    try:
        return command(port, *args, timeout=2, password=password)
    except (OSError, EOFError, RuntimeError):
        return None


class Cluster:
    """redis-server primary + replica and three redis-sentinel processes, all killed on close."""

    def __init__(self, work_dir, password=None, sentinel_password=None):
        self.dir = work_dir
        self.password = password  # requirepass of the Redis servers (masterauth, auth-pass)
        self.sentinel_password = sentinel_password  # requirepass of the sentinels
        self.procs = {}
        self.primary = h.closed_port()
        self.replica = h.closed_port()
        self.sentinels = [h.closed_port() for _ in range(3)]

    def _spawn(self, name, args):
        log = open(os.path.join(self.dir, name + ".out"), "w")
        self.procs[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=self.dir)
        log.close()

    def ask(self, port, *args):
        """try_command with the password of that server or sentinel."""
        sentinel = port in self.sentinels
        return try_command(port, *args,
                           password=self.sentinel_password if sentinel else self.password)

    def _wait_ping(self, port, name):
        h.wait_until(lambda: self.ask(port, "PING") == "PONG", 10, name + " answers PING")

    def start(self):
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir,
                  "--loglevel", "warning"]
        if self.password:
            common += ["--requirepass", self.password, "--masterauth", self.password]
        self._spawn("primary", ["redis-server", "--port", str(self.primary)] + common)
        self._wait_ping(self.primary, "primary")
        self._spawn("replica", ["redis-server", "--port", str(self.replica),
                                "--replicaof", "127.0.0.1", str(self.primary)] + common)
        self._wait_ping(self.replica, "replica")
        h.wait_until(lambda: "master_link_status:up" in (self.ask(self.replica, "INFO",
                                                                  "replication") or ""),
                     15, "the replica in sync")
        for i, port in enumerate(self.sentinels):
            path = os.path.join(self.dir, "sentinel-%d.conf" % i)
            with open(path, "w") as f:  # sentinel rewrites its own file: one each, writable
                f.write("port %d\nbind 127.0.0.1\nprotected-mode no\ndir %s\n"
                        "sentinel monitor %s 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds %s 1000\n"
                        "sentinel failover-timeout %s 3000\n"
                        "sentinel parallel-syncs %s 1\n"
                        % (port, self.dir, MASTER, self.primary, MASTER, MASTER, MASTER))
                if self.password:
                    f.write("sentinel auth-pass %s %s\n" % (MASTER, self.password))
                if self.sentinel_password:
                    f.write("requirepass %s\nsentinel sentinel-pass %s\n"
                            % (self.sentinel_password, self.sentinel_password))
            self._spawn("sentinel-%d" % i, ["redis-sentinel", path])
        for port in self.sentinels:
            self._wait_ping(port, "sentinel %d" % port)
        # A failover needs each sentinel to know the replica and the two other sentinels
        # (hello messages every 2 s through the primary).
        for port in self.sentinels:
            h.wait_until(lambda: len(self.ask(port, "SENTINEL", "sentinels", MASTER) or [])
                         == 2 and len(self.ask(port, "SENTINEL", "replicas", MASTER) or [])
                         == 1, 30, "sentinel %d sees the replica and its 2 peers" % port)
        return self

    def master_port(self, sentinel):
        reply = self.ask(sentinel, "SENTINEL", "get-master-addr-by-name", MASTER)
        return int(reply[1]) if reply else None

    def kill(self, name):
        p = self.procs[name]
        p.send_signal(signal.SIGKILL)
        p.wait(10)

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(str(tmp_path))
    try:
        yield c.start()
    finally:
        c.close()


def load(addr, stop, out):
    """Sequential GETs on keep-alive connections, ~200/s, until `stop`; every outcome recorded
    as (monotonic time, status or the exception's text, error code of a JSON error body)."""
    c = None
    while not stop.is_set():
        try:
            if c is None:
                c = h.Client(addr, timeout=10)
            c.send(h.request_bytes("GET", "/steady"))
            r = c.read_response()
            code = r.json().get("error") if r.status >= 400 else None
            out.append((time.monotonic(), r.status, code))
            if r.closed:
                c.close()
                c = None
        except Exception as e:  # noqa: BLE001 - every client error is a finding
            out.append((time.monotonic(), "error: %r" % e, None))
            if c is not None:
                c.close()
            c = None
        time.sleep(0.005)
    if c is not None:
        c.close()


def test_check_refuses_address_and_sentinels_together(tmp_path):
    policy = ('[[rate_limit]]\nname = "g"\nkey = "route"\nlimit = 1\nper = "1s"\n'
              'store = "redis"\n')
    cases = [
        ('[redis]\naddress = "127.0.0.1:6379"\nsentinels = ["127.0.0.1:26379"]\n'
         'master = "m"\n',
         ':12:13: redis: sentinels: give either address (one server) or sentinels + master'),
        ('[redis]\nsentinels = ["127.0.0.1:26379"]\n', 'redis: sentinels: needs master = "NAME"'),
        ('[redis]\nsentinels = ["127.0.0.1:26379", "127.0.0.1:26379"]\nmaster = "m"\n',
         'listed twice'),
    ]
    for i, (redis, expected) in enumerate(cases):
        path = os.path.join(str(tmp_path), "bad-%d.toml" % i)
        with open(path, "w") as f:
            f.write('[gw7]\nlisten = "127.0.0.1:0"\n\n' + policy + redis)
        r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and expected in r.stderr, (redis, r.stderr)
    path = os.path.join(str(tmp_path), "good.toml")
    with open(path, "w") as f:
        f.write('[gw7]\nlisten = "127.0.0.1:0"\n\n' + policy +
                '[redis]\nsentinels = ["127.0.0.1:26379", "[::1]:26379"]\nmaster = "m"\n')
    r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


@needs_sentinel
@pytest.mark.parametrize("failure", ["open", "closed"])
def test_gw7_follows_a_sentinel_failover(gw, cluster, failure):
    o = gw.origin("a")
    limit = 20  # per second, no burst: the bucket holds 20 and refills one every 50 ms
    extra = ("\n[[rate_limit]]\nname = \"global\"\nkey = \"route\"\nlimit = %d\nper = \"1s\"\n"
             "store = \"redis\"\nfailure = \"%s\"\n"
             "\n[[rate_limit]]\nname = \"tenant\"\nkey = \"header:X-Tenant\"\nlimit = 5\n"
             "per = \"1h\"\nstore = \"redis\"\nfailure = \"%s\"\n"
             "\n[redis]\nsentinels = [%s]\nmaster = \"%s\"\ntimeout = \"100ms\"\n"
             "connect_timeout = \"300ms\"\n"
             % (limit, failure, failure,
                ", ".join('"127.0.0.1:%d"' % p for p in cluster.sentinels), MASTER))
    cfg = h.render_config(
        upstreams=[{"name": "app", "servers": [o.address("a")]}],
        routes=[{"name": "steady", "path_prefix": "/steady", "upstream": "app",
                 "rate_limit": "global"},
                {"name": "tenant", "path_prefix": "/tenant", "upstream": "app",
                 "rate_limit": "tenant"}],
        extra=extra)
    g = gw.gw7(cfg)
    old = "127.0.0.1:%d" % cluster.primary
    new = "127.0.0.1:%d" % cluster.replica
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_primary", address=old) == 1, 15,
                 "gw7 verified the primary through the sentinels")
    assert "redis sentinel %s: primary is %s" % (MASTER, old) in g.stderr()

    results, stop = [], threading.Event()
    loader = threading.Thread(target=load, args=(g.addr, stop, results))
    start = time.monotonic()
    loader.start()
    try:
        h.wait_until(lambda: any(s == 429 for _, s, _ in results), 10, "the limit bites")
        killed_at = time.monotonic()
        cluster.kill("primary")
        for port in cluster.sentinels:
            h.wait_until(lambda: cluster.master_port(port) == cluster.replica, 30,
                         "sentinel %d names the promoted replica" % port)
        assert try_command(cluster.replica, "ROLE")[0] == "master"
        h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_primary", address=new) == 1, 15,
                     "gw7 follows the new primary")
        followed_at = time.monotonic()
        # Limited again, by the new primary: after the switch the steady route answers 429 again.
        h.wait_until(lambda: any(s == 429 and t > followed_at for t, s, _ in results), 10,
                     "429s from the new primary")
        time.sleep(0.5)  # a little steady load on the new primary
    finally:
        stop.set()
        loader.join(30)
    elapsed = time.monotonic() - start

    # No client error but the failure policy's answers.
    allowed_codes = {200, 429} | ({503} if failure == "closed" else set())
    bad = [r for r in results if r[1] not in allowed_codes]
    assert not bad, bad[:10]
    for _, status, code in results:
        if status == 503:
            assert code == "rate_limit_unavailable"
        if status == 429:
            assert code == "rate_limited"

    # Counts land in the new primary: its key for the route holds a TAT, and a fresh tenant gets
    # exactly its 5 requests (stored there) before 429.
    assert command(cluster.replica, "EXISTS", "gw7:rl:r:steady") == 1
    statuses = [h.request(g.addr, "GET", "/tenant/x", headers=[("X-Tenant", "after")]).status
                for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2, statuses
    assert command(cluster.replica, "EXISTS", "gw7:rl:h:after") == 1

    m = g.metrics()
    assert h.metric(m, "gw7_redis_failovers_total", master=MASTER) == 1
    assert h.metric(m, "gw7_redis_primary", address=old) == 0
    assert h.metric(m, "gw7_redis_switch_messages_total", master=MASTER) >= 1
    log = g.stderr()
    assert log.count("primary switched from %s to %s" % (old, new)) == 1, log[-4000:]
    assert log.count("leaving primary %s" % old) == 1, log[-4000:]

    # Over the limit: what passed beyond the bucket plus its refill over the whole run.
    passed = sum(1 for _, s, _ in results if s == 200)
    unchecked = h.metric(m, "gw7_rate_limit_requests_total", policy="global",
                         outcome="error_open")
    refused = h.metric(m, "gw7_rate_limit_requests_total", policy="global",
                       outcome="error_closed")
    ceiling = limit + limit * elapsed
    over = max(0, passed - int(ceiling))
    window = [r for r in results if killed_at <= r[0] <= followed_at]
    print("\nsentinel failover, failure = %s: %d requests in %.1f s; primary killed -> gw7 on the "
          "new primary in %.2f s (%d requests in that window); passed %d, limit ceiling %d, "
          "over the limit %d; let through undecided (error_open) %d; refused 503 "
          "(error_closed) %d"
          % (failure, len(results), elapsed, followed_at - killed_at, len(window), passed,
             int(ceiling), over, unchecked, refused))
    if failure == "closed":
        assert unchecked == 0
        assert over == 0, (passed, ceiling)
    else:
        assert refused == 0


def secret_file(tmp_path, name, text):
    path = os.path.join(str(tmp_path), name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


@needs_sentinel
def test_sentinels_and_servers_that_require_auth(gw, tmp_path):
    """Servers with requirepass and sentinels with their own: gw7 authenticates to both
    (password_file, sentinel_password_file), finds the primary and limits through it; with a
    wrong sentinel password it finds none, says why, and the failure policy answers."""
    cluster = Cluster(str(tmp_path), password="server-pw-1", sentinel_password="sentinel-pw-2")
    try:
        cluster.start()
        o = gw.origin("a")

        def config(sentinel_pw):
            return h.render_config(
                upstreams=[{"name": "app", "servers": [o.address("a")]}],
                routes=[{"name": "r", "path_prefix": "/r", "upstream": "app",
                         "rate_limit": "g"}],
                extra=("\n[[rate_limit]]\nname = \"g\"\nkey = \"route\"\nlimit = 3\n"
                       "per = \"1h\"\nstore = \"redis\"\nfailure = \"closed\"\n"
                       "\n[redis]\nsentinels = [%s]\nmaster = \"%s\"\ntimeout = \"200ms\"\n"
                       "password_file = \"%s\"\nsentinel_password_file = \"%s\"\n"
                       % (", ".join('"127.0.0.1:%d"' % p for p in cluster.sentinels), MASTER,
                          secret_file(tmp_path, "server.pass", "server-pw-1"),
                          secret_file(tmp_path, "sentinel.pass", sentinel_pw))))

        g = gw.gw7(config("sentinel-pw-2"))
        primary = "127.0.0.1:%d" % cluster.primary
        h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_primary", address=primary) == 1,
                     15, "gw7 verified the primary through sentinels that require AUTH")
        statuses = [h.request(g.addr, "GET", "/r/%d" % i).status for i in range(4)]
        assert statuses == [200, 200, 200, 429], statuses
        assert cluster.ask(cluster.primary, "EXISTS", "gw7:rl:r:r") == 1
        g.stop()

        bad = gw.gw7(config("wrong-sentinel-pw"))
        h.wait_until(lambda: "no sentinel named the primary" in bad.stderr(), 15,
                     "gw7 gives up on sentinels that refuse its AUTH")
        assert "WRONGPASS" in bad.stderr(), bad.stderr()[-2000:]
        assert "wrong-sentinel-pw" not in bad.stderr()
        r = h.request(bad.addr, "GET", "/r/x")
        assert r.status == 503 and r.json()["error"] == "rate_limit_unavailable", r
    finally:
        cluster.close()
