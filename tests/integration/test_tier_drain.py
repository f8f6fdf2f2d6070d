"""lb4 in front of three gw7 as one system, when gw7 instances go away: a rolling restart of every
gw7 (SIGTERM: /healthz 503 at once, accepting for drain_delay while lb4's checks notice, then the
drain; started again on the same ports) under steady new-connection and keep-alive load fails no
request; a gw7 killed with SIGKILL moves only the clients that were on it."""

import signal
import socket
import time

import lb4_harness as h
from gw7_harness import Client, request_bytes
from tier_harness import DRAIN_DELAY_S, Load, get, status_backends, tier, via  # noqa: F401


def three_gateways(t):
    origin = t.origin("o0", "o1")
    servers = [origin.address("o0"), origin.address("o1")]
    return origin, [t.gw7("g%d" % i, servers) for i in range(3)]


def test_drain_answers_503_at_once_and_keeps_serving_for_drain_delay(tier):
    """The order lb4 needs, seen at one gw7: /healthz 503 within moments of SIGTERM, new
    connections still served (with Connection: close) during drain_delay, a keep-alive client
    told to close on its next response; after the delay the listener is closed while a slow
    request still finishes, then gw7 exits 0."""
    origin, gws = three_gateways(tier)
    g0 = gws[0]
    proxy = b"PROXY TCP4 127.0.0.9 127.0.0.1 %d 80\r\n"
    ka = Client(g0.listen, 5)
    ka.send(proxy % 1000 + request_bytes("GET", "/a"))
    first = ka.read_response()
    assert first.status == 200 and (first.header("connection") or "") != "close", first
    slow_s = DRAIN_DELAY_S + 1.5
    slow = Client(g0.listen, 10 + slow_s)
    slow_target = "/slow?delay=%.2f" % slow_s
    slow.send(proxy % 1001 + request_bytes("GET", slow_target))
    origin.wait_requests(1, target=slow_target)  # in flight when the drain begins

    g0.signal(signal.SIGTERM)
    t0 = time.monotonic()
    h.wait_until(lambda: g0.healthz() == 503, 1, "/healthz 503 after SIGTERM")
    # The idle keep-alive connection was left open; its next response says close, then it ends.
    ka.send(request_bytes("GET", "/b"))
    second = ka.read_response()
    assert second.status == 200 and second.header("connection") == "close", second
    assert second.closed, "the connection stayed open after Connection: close"
    # New connections are still accepted and answered within the delay.
    c = Client(g0.listen, 5)
    c.send(proxy % 1002 + request_bytes("GET", "/c"))
    r = c.read_response()
    c.close()
    assert r.status == 200 and r.header("connection") == "close", r
    assert time.monotonic() - t0 < 0.8 * DRAIN_DELAY_S, "too slow to prove the delay"

    # After the delay: not accepting any more, though still running for the slow request.
    def refused():
        try:
            socket.create_connection(g0.listen, timeout=2).close()
            return False
        except ConnectionRefusedError:
            return True
    h.wait_until(refused, DRAIN_DELAY_S + 1, "the listener to close")
    assert time.monotonic() - t0 >= DRAIN_DELAY_S - 0.1, "accepting stopped before drain_delay"
    assert g0.proc.poll() is None, "gw7 exited with a request in flight"
    done = slow.read_response()
    assert done.status == 200 and done.header("connection") == "close", done
    assert g0.wait_exit(10) == 0


def test_rolling_restart_of_every_gw7_under_load_fails_no_request(tier):
    _, gws = three_gateways(tier)
    lb = tier.lb4(gws)
    address = lb.address()
    load = Load(address, new_threads=3, keepalive_threads=3, limit=120).start()
    try:
        h.wait_until(lambda: load.total() >= 100, 20, "load to get going")
        for gw in gws:
            before = load.total()
            began = time.monotonic()
            gw.signal(signal.SIGTERM)
            # lb4 takes it out of the pool on its 503 (fall 2 x 200ms), before it stops accepting.
            tier.wait_states(lb, {gw.address: "down"}, timeout=5)
            assert time.monotonic() - began < DRAIN_DELAY_S, "lb4 saw the 503 after drain_delay"
            assert gw.wait_exit(20) == 0, gw.stderr()[-3000:]
            gw.start()
            tier.wait_states(lb, {gw.address: "up"})
            h.wait_until(lambda: load.total() >= before + 100, 20, "load to go on")
            assert not load.failures, load.failures[:10]
    finally:
        load.stop()
    assert not load.failures, load.failures[:10]
    # Both kinds of client got through, every gw7 took part, and keep-alive clients were moved
    # by Connection: close (not by failures).
    assert load.ok["new"] > 100 and load.ok["keepalive"] > 100, load.ok
    assert set(load.via) == {"g0", "g1", "g2"}, load.via
    assert load.reconnects >= 1, load.reconnects


def test_sigkill_of_one_gw7_moves_only_its_clients(tier):
    _, gws = three_gateways(tier)
    lb = tier.lb4(gws)
    address = lb.address()
    sources = ["127.0.0.%d" % i for i in range(2, 62)]
    before = {ip: via(get(address, source=ip)) for ip in sources}
    # Where lb4 sends each client is where `lb4 --which` says a healthy pool sends it.
    names = {gw.address: gw.name for gw in gws}
    which = lb.which_many(sources)
    assert {ip: names[w["web"]] for ip, w in which.items()} == before
    assert set(before.values()) == {"g0", "g1", "g2"}, before

    victim = gws[1]
    victim.proc.kill()
    victim.proc.wait()
    tier.wait_states(lb, {victim.address: "down"}, timeout=5)
    after = {ip: via(get(address, source=ip)) for ip in sources}
    moved = {ip for ip in sources if after[ip] != before[ip]}
    on_victim = {ip for ip in sources if before[ip] == "g1"}
    assert moved == on_victim, (moved ^ on_victim, before, after)
    assert all(after[ip] in ("g0", "g2") for ip in on_victim)
    assert status_backends(lb, "gw7")[victim.address] == "down"
