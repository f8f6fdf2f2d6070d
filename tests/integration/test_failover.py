"""Backends that cannot be reached: a refusing backend is skipped, a connect that hangs gives up
after connect_timeout and moves on, and when connect_retries are used up the client is closed."""

import collections
import threading
import time

import lb4_harness as h

SOURCE_IPS = ["127.0.0.%d" % i for i in range(2, 42)]


def name_origin(edge, *names):
    return edge.origin(*[{"name": n, "mode": "name"} for n in names])


def maglev_pool(addresses, **extra):
    p = {"name": "p", "balance": "maglev", "backends": [{"address": a} for a in addresses]}
    p.update(extra)
    return p


def ips_placed_on(lb, address, want=2, candidates=SOURCE_IPS):
    """(client addresses that `lb4 --which` places on backend `address` (1 to `want` of them),
    {ip: which} of every address examined, which includes at least one placed elsewhere)."""
    placed = {}
    for i in range(0, len(candidates), 8):
        placed.update(lb.which_many(candidates[i:i + 8]))
        ips = [ip for ip, w in placed.items() if w["web"] == address]
        if len(ips) >= want and len(ips) < len(placed):
            break
    assert ips, "none of %d addresses maps to %s" % (len(placed), address)
    return ips[:want], placed


def timed_name(lb, source_ip=None):
    t0 = time.monotonic()
    s = h.connect(lb.address(), source_ip)
    try:
        line = h.read_line(s)
    finally:
        s.close()
    return line, time.monotonic() - t0


def test_refused_backend_is_skipped_maglev(edge):
    """Maglev pool [dead, b1, b2] where dead refuses connections: clients placed on dead get a
    live backend instead, at once, and the same one every time; the others keep their place."""
    o = name_origin(edge, "b1", "b2")
    dead = edge.refusing()
    lb = edge.lb4([maglev_pool([dead, o.address("b1"), o.address("b2")])])
    dead_ips, placed = ips_placed_on(lb, dead, want=3)
    for ip in dead_ips:
        first, elapsed = timed_name(lb, ip)
        assert first in ("b1", "b2"), (ip, first)
        assert elapsed < 2 * h.SLOW, elapsed
        for _ in range(3):
            assert h.ask_name(lb.address(), source_ip=ip) == first, ip
    for ip in [ip for ip, w in placed.items() if w["web"] != dead][:6]:
        assert h.ask_name(lb.address(), source_ip=ip) == o.name_of_address(placed[ip]["web"])


def test_refused_backend_is_skipped_round_robin(edge):
    """round_robin over [dead, b1, b2]: 30 connections all succeed, spread over b1 and b2."""
    o = name_origin(edge, "b1", "b2")
    dead = edge.refusing()
    lb = edge.lb4([{"name": "p", "balance": "round_robin", "connect_retries": 1,
                    "backends": [{"address": dead}, {"address": o.address("b1")},
                                 {"address": o.address("b2")}]}])
    got = collections.Counter(h.ask_name(lb.address()) for _ in range(30))
    assert set(got) == {"b1", "b2"} and sum(got.values()) == 30, got


def test_connect_timeout_moves_to_next_backend(edge):
    """A backend whose connect hangs (full accept queue) is given up after connect_timeout (1s)
    and the next backend serves the client; clients placed on the good backend are not
    delayed."""
    o = name_origin(edge, "good")
    hole = edge.blackhole()
    lb = edge.lb4([maglev_pool([hole, o.address("good")], connect_timeout="1s",
                               connect_retries=1)])
    hole_ips, placed = ips_placed_on(lb, hole, want=2)
    for ip in hole_ips:
        name, elapsed = timed_name(lb, ip)
        assert name == "good", ip
        assert 0.98 <= elapsed < 1 + 2.5 * h.SLOW, elapsed
    good_ip = next(ip for ip, w in placed.items() if w["web"] == o.address("good"))
    name, elapsed = timed_name(lb, good_ip)
    assert name == "good" and elapsed < 0.9, elapsed


def test_connect_retries_exhausted_closes_client_promptly(edge):
    """Every backend refuses: the client's connection is closed right away (no data), lb4 keeps
    running and its other listeners keep working."""
    o = name_origin(edge, "ok")
    dead = [edge.refusing(), edge.refusing()]
    lb = edge.lb4([maglev_pool(dead, connect_retries=1),
                   {"name": "okpool", "backends": [{"address": o.address("ok")}]}],
                  listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p"},
                             {"name": "other", "bind": "127.0.0.1", "pool": "okpool"}])
    for _ in range(5):
        s = edge.connect(lb.address())
        t0 = time.monotonic()
        assert h.wait_closed(s, 3) in ("eof", "reset")
        assert time.monotonic() - t0 < 2 * h.SLOW
        s.close()
    assert lb.running()
    assert h.ask_name(lb.address("other")) == "ok"


def test_connect_retries_zero_does_not_fail_over(edge):
    """connect_retries = 0: a client placed on a refusing backend is closed, not moved; a client
    placed on the live backend is served."""
    o = name_origin(edge, "live")
    dead = edge.refusing()
    lb = edge.lb4([maglev_pool([dead, o.address("live")], connect_retries=0)])
    dead_ips, placed = ips_placed_on(lb, dead, want=2)
    for ip in dead_ips:
        s = edge.connect(lb.address(), source_ip=ip)
        assert h.wait_closed(s, 3) in ("eof", "reset"), ip
    live_ip = next(ip for ip, w in placed.items() if w["web"] == o.address("live"))
    assert h.ask_name(lb.address(), source_ip=live_ip) == "live"
    # Only the live client reached a backend: the others were not moved to "live".
    assert len(o.wait_events(1, ev="open")) == 1


def test_connect_timeouts_count_attempts(edge):
    """Three hanging backends, connect_timeout 1s: with connect_retries = 1 the client is closed
    after 2 attempts (~2s), with connect_retries = 2 after 3 (~3s). (Both measured at once.)"""
    holes = [edge.blackhole() for _ in range(3)]
    lbs = {retries: edge.lb4([maglev_pool(holes, connect_timeout="1s", connect_retries=retries)])
           for retries in (1, 2)}
    elapsed = {}

    def measure(retries):
        s = h.connect(lbs[retries].address())
        try:
            t0 = time.monotonic()
            elapsed[retries] = (h.wait_closed(s, 6), time.monotonic() - t0)
        except BaseException as e:
            elapsed[retries] = e
        finally:
            s.close()

    threads = [threading.Thread(target=measure, args=(r,)) for r in lbs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10 * h.SLOW)
    for retries, (low, high) in {1: (1.95, 2.8), 2: (2.95, 3.8)}.items():
        how, seconds = elapsed[retries]
        assert how in ("eof", "reset") and low <= seconds < high * h.SLOW, (retries, how, seconds)
