"""Rate limits shared through a real redis-server (store = "redis") that the tests start on
loopback: three gw7 processes hold one limit together; a Redis that goes away mid-test makes each
policy follow its failure mode (open: let through, closed: 503), counted in /metrics and logged;
when Redis comes back, limiting resumes (reconnect, SCRIPT LOAD, a flushed script's NOSCRIPT
answered by EVAL)."""

import math
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import pytest  # noqa: E402

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401
from redis_server import RedisServer  # noqa: E402

RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(str(tmp_path)).start()
    try:
        yield r
    finally:
        r.stop()


def redis_config(origin, redis, policies, routes, timeout="500ms", redis_extra=""):
    """One upstream "app" over the origin's listener "a"; `policies`: [[rate_limit]] dicts;
    `redis_extra`: more lines of [redis]."""
    extra = ""
    for p in policies:
        extra += "\n[[rate_limit]]\n" + "".join(
            "%s = %s\n" % (k, h.toml_value(v)) for k, v in p.items())
    extra += '\n[redis]\naddress = "%s"\ntimeout = "%s"\nconnect_timeout = "500ms"\n%s' % (
        redis.address, timeout, redis_extra)
    return h.render_config(upstreams=[{"name": "app", "servers": [origin.address("a")]}],
                           routes=routes, extra=extra)


def pipelined(addr, target, count, out, lock):
    """Sends `count` GETs on one keep-alive connection at once, reads every response."""
    c = h.Client(addr, timeout=30)
    try:
        c.send(b"".join(h.request_bytes("GET", target) for _ in range(count)))
        got = [c.read_response() for _ in range(count)]
    finally:
        c.close()
    with lock:
        out.extend(got)


def test_three_gw7_share_one_redis_limit(gw, redis):
    o = gw.origin("a")
    limit, burst = 100, 20
    cfg = redis_config(
        o, redis,
        [{"name": "shared", "key": "route", "limit": limit, "per": "1m", "burst": burst,
          "store": "redis", "failure": "closed"}],
        [{"name": "limited", "path_prefix": "/", "upstream": "app", "rate_limit": "shared"}])
    gws = [gw.gw7(cfg, tag="gw7-%d" % i) for i in range(3)]
    for g in gws:  # each has its Redis connection (and the script) before the load starts
        h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_connected") == 1, 10,
                     "gw7 connected to redis")
    responses, lock = [], threading.Lock()
    per_connection, connections_per_gw7 = 40, 2  # 240 requests, twice the bucket
    threads = [threading.Thread(target=pipelined, args=(g.addr, "/x", per_connection, responses,
                                                        lock))
               for g in gws for _ in range(connections_per_gw7)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * h.SLOW)
    elapsed = time.monotonic() - start
    assert len(responses) == 3 * connections_per_gw7 * per_connection
    statuses = [r.status for r in responses]
    assert set(statuses) <= {200, 429}, sorted(set(statuses))
    for r in responses:
        for name in RATE_HEADERS:
            assert r.header(name) is not None, (name, r.headers)
        assert r.header("RateLimit-Limit") == str(limit + burst)
        if r.status == 429:
            assert int(r.header("Retry-After")) >= 1, r.headers
            assert r.json()["error"] == "rate_limited"
    # gcra.h: the bucket holds limit + burst (an idle key may spend all of it at once) and refills
    # one request every per/limit = 0.6 s. Shared through Redis, the three gw7 together let
    # through exactly the bucket plus what refilled while the test ran.
    allowed = statuses.count(200)
    refill = math.ceil(elapsed / (60.0 / limit))
    assert limit + burst <= allowed <= limit + burst + refill, (allowed, elapsed)
    counted = sum(h.metric(g.metrics(), "gw7_rate_limit_requests_total", policy="shared",
                           outcome="allowed") for g in gws)
    assert counted == allowed
    o.wait_requests(allowed)  # the origin reports each request before answering it
    assert len(o.requests()) == allowed


def test_redis_down_follows_the_failure_policy_and_limiting_resumes(gw, redis):
    o = gw.origin("a")
    cfg = redis_config(
        o, redis,
        [{"name": "lenient", "key": "route", "limit": 3, "per": "1h", "store": "redis",
          "failure": "open"},
         {"name": "strict", "key": "route", "limit": 3, "per": "1h", "store": "redis",
          "failure": "closed"}],
        [{"name": "open", "path_prefix": "/open", "upstream": "app", "rate_limit": "lenient"},
         {"name": "closed", "path_prefix": "/closed", "upstream": "app", "rate_limit": "strict"}])
    g = gw.gw7(cfg)
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_connected") == 1, 10, "redis connected")
    for target in ("/open/1", "/closed/1"):
        r = h.request(g.addr, "GET", target)
        assert r.status == 200 and r.header("RateLimit-Remaining") == "2", r.headers

    redis.stop()
    for i in range(3):
        r = h.request(g.addr, "GET", "/open/%d" % (i + 2))
        assert r.status == 200, r
        assert r.header("RateLimit-Limit") is None  # no decision was made
        r = h.request(g.addr, "GET", "/closed/%d" % (i + 2))
        assert r.status == 503, r
        assert r.header("Content-Type") == "application/json"
        assert r.json()["error"] == "rate_limit_unavailable"
        assert r.header("Retry-After") == "1"
    m = g.metrics()
    assert h.metric(m, "gw7_rate_limit_requests_total", policy="lenient", outcome="error_open") == 3
    assert h.metric(m, "gw7_rate_limit_requests_total", policy="strict",
                    outcome="error_closed") == 3
    assert h.metric(m, "gw7_redis_events_total", event="disconnect") >= 1
    assert h.metric(m, "gw7_redis_connected") == 0
    assert h.metric(m, "gw7_requests_total", route="closed", **{"class": "5xx"}) == 3
    log = g.stderr()
    assert "redis %s:" % redis.address in log, log[-3000:]
    # One warning per policy and outage, not one per request.
    assert log.count("rate_limit lenient: store unavailable") == 1, log[-3000:]
    assert log.count("rate_limit strict: store unavailable") == 1, log[-3000:]
    assert 'failure = "open", letting requests through' in log
    assert 'failure = "closed", refusing requests with 503' in log

    # Back on the same port, empty: the client reconnects (back-off) and loads the script again.
    redis.start()
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_connected") == 1, 10,
                 "gw7 reconnected to redis")
    assert "redis %s: connected" % redis.address in g.stderr()
    statuses = [h.request(g.addr, "GET", "/closed/again").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429], statuses
    assert "rate_limit strict: store answering again" in g.stderr()
    # A flushed script cache (a Redis restarted behind a proxy, SCRIPT FLUSH): EVALSHA gets
    # NOSCRIPT and the limiter runs the script with EVAL instead; the decision still holds.
    redis.command("SCRIPT", "FLUSH")
    r = h.request(g.addr, "GET", "/closed/after-flush")
    assert r.status == 429 and r.header("RateLimit-Remaining") == "0", r
    statuses = [h.request(g.addr, "GET", "/open/again").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429], statuses
    # The EVAL put the script back in Redis's cache, so later checks go by EVALSHA again.
    assert "number_of_cached_scripts:1" in redis.command("INFO", "memory")


def secret_file(tmp_path, name, text, mode=0o600):
    path = os.path.join(str(tmp_path), name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)
    return path


def test_redis_auth_with_a_password_or_an_acl_user(gw, tmp_path):
    """[redis] password_file (requirepass) and username + password_file (an ACL user limited to
    gw7's keys): limits are shared as without AUTH. A wrong password is refused by Redis: the
    failure policy answers, the log says why (never the password), auth_failure is counted."""
    redis = RedisServer(str(tmp_path), password="default-pw-1",
                        args=["--user", "gw7", "on", ">acl-pw-2", "~gw7:*", "+@all"]).start()
    try:
        o = gw.origin("a")
        policies = [{"name": "shared", "key": "route", "limit": 3, "per": "1h", "store": "redis",
                     "failure": "closed"}]
        routes = [{"name": "r", "path_prefix": "/r", "upstream": "app", "rate_limit": "shared"}]
        good = secret_file(tmp_path, "default.pass", "default-pw-1")
        acl = secret_file(tmp_path, "acl.pass", "acl-pw-2")
        wrong = secret_file(tmp_path, "wrong.pass", "not-the-password")
        cases = [("default user", 'password_file = "%s"\n' % good, True),
                 ("ACL user", 'username = "gw7"\npassword_file = "%s"\n' % acl, True),
                 ("wrong password", 'password_file = "%s"\n' % wrong, False),
                 ("no password", "", False)]
        for i, (what, lines, works) in enumerate(cases):
            key = "gw7:rl:r:r"
            redis.command("DEL", key)
            g = gw.gw7(redis_config(o, redis, policies, routes, redis_extra=lines))
            try:
                if works:
                    h.wait_until(lambda: h.metric(g.metrics(), "gw7_redis_connected") == 1, 10,
                                 "%s: connected" % what)
                    statuses = [h.request(g.addr, "GET", "/r/%d" % n).status for n in range(4)]
                    assert statuses == [200, 200, 200, 429], (what, statuses)
                    assert redis.command("EXISTS", key) == 1, what
                    assert h.metric(g.metrics(), "gw7_redis_events_total",
                                    event="auth_failure") == 0, what
                else:
                    h.wait_until(lambda: "AUTH refused" in g.stderr() or
                                 "NOAUTH" in g.stderr(), 10, "%s: refused" % what)
                    r = h.request(g.addr, "GET", "/r/x")
                    assert r.status == 503 and r.json()["error"] == "rate_limit_unavailable", r
                    assert redis.command("EXISTS", key) == 0, what
                    assert "not-the-password" not in g.stderr()
                    if what == "wrong password":
                        assert "WRONGPASS" in g.stderr(), g.stderr()[-2000:]
                        assert h.metric(g.metrics(), "gw7_redis_events_total",
                                        event="auth_failure") >= 1
            finally:
                g.stop()
    finally:
        redis.stop()


def test_check_refuses_bad_redis_credentials(tmp_path):
    policy = ('[[rate_limit]]\nname = "g"\nkey = "route"\nlimit = 1\nper = "1s"\n'
              'store = "redis"\n')
    readable = secret_file(tmp_path, "readable.pass", "pw", mode=0o644)
    empty = secret_file(tmp_path, "empty.pass", "")
    good = secret_file(tmp_path, "good.pass", "pw")
    cases = [
        ('username = "gw7"\n', "username: needs password_file"),
        ('password_file = "%s"\n' % readable, "readable by others"),
        ('password_file = "%s"\n' % empty, "empty.pass is empty"),
        ('password_file = "%s/missing"\n' % tmp_path, "cannot read"),
        ('username = "a b"\npassword_file = "%s"\n' % good, "visible ASCII"),
        ('sentinel_password_file = "%s"\n' % good, "only applies with sentinels"),
    ]
    for i, (lines, expected) in enumerate(cases):
        path = os.path.join(str(tmp_path), "bad-%d.toml" % i)
        with open(path, "w") as f:
            f.write('[gw7]\nlisten = "127.0.0.1:0"\n\n' + policy +
                    '[redis]\naddress = "127.0.0.1:6379"\n' + lines)
        r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and expected in r.stderr, (lines, r.stderr)
        assert "pw\n" not in r.stderr
