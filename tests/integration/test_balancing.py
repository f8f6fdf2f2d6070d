"""Which backend a connection lands on: Maglev placement as `lb4 --which` predicts it, stable across
connections, instances and backend order; round_robin, least_conn and random_two spreads."""

import collections
import socket

import lb4_harness as h

NAMES = ["b0", "b1", "b2", "b3"]
SOURCE_IPS = ["127.0.0.%d" % i for i in range(2, 22)]  # 20 distinct client addresses


def name_origin(edge, names=NAMES):
    return edge.origin(*[{"name": n, "mode": "name"} for n in names])


def pool(origin, balance, names=NAMES, weights=None, **extra):
    backends = []
    for i, n in enumerate(names):
        b = {"address": origin.address(n)}
        if weights:
            b["weight"] = weights[i]
        backends.append(b)
    p = {"name": "p", "balance": balance, "backends": backends}
    p.update(extra)
    return p


def test_maglev_clients_land_where_which_predicts_again_and_again(edge):
    """20 clients bound to 127.0.0.2..21, 3 rounds each: every connection reaches the backend
    `lb4 --which IP` names, whichever of the 2 workers accepts it."""
    o = name_origin(edge)
    lb = edge.lb4([pool(o, "maglev", hash="source_ip", table_size=65537)], workers=2)
    predicted = {}
    for ip, which in lb.which_many(SOURCE_IPS).items():
        assert list(which) == ["web"], which
        predicted[ip] = o.name_of_address(which["web"])
        assert predicted[ip] in NAMES, which
    assert len(set(predicted.values())) >= 2, "20 clients all hashed to one backend: %r" % predicted
    for _ in range(3):
        for ip in SOURCE_IPS:
            assert h.ask_name(lb.address(), source_ip=ip) == predicted[ip], ip
    # The backends saw exactly those connections (and no others, e.g. from a readiness probe).
    opens = collections.Counter(e["name"] for e in o.wait_events(60, ev="open"))
    assert opens == collections.Counter(3 * list(predicted.values()))


# Fixed backend addresses for placement checks that only run `lb4 --which` (nothing listens on
# them): the table, and so every expectation below, is then the same on every run.
FIXED = ["127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103", "127.0.0.1:7104"]


def fixed_pool(addresses, weights=None, **extra):
    p = {"name": "p", "balance": "maglev",
         "backends": [dict({"address": a}, **({"weight": weights[i]} if weights else {}))
                      for i, a in enumerate(addresses)]}
    p.update(extra)
    return p


def test_maglev_same_placement_across_instances_and_backend_order(edge):
    """Two lb4 processes whose configs list the backends in opposite orders (and use different
    listener ports) place every client identically: the table depends only on the backend set.
    Checked with --which for 24 addresses, then with real connections through both instances."""
    a = edge.lb4([fixed_pool(FIXED)], start=False)
    b = edge.lb4([fixed_pool(list(reversed(FIXED)))], start=False)
    ips = ["127.0.%d.%d" % (i % 3, 2 + i) for i in range(24)]
    wa, wb = a.which_many(ips), b.which_many(ips)
    assert wa == wb
    assert len({w["web"] for w in wa.values()}) == 4, wa  # deterministic: all four are used
    o = name_origin(edge)
    a = edge.lb4([pool(o, "maglev")])
    b = edge.lb4([pool(o, "maglev", names=list(reversed(NAMES)))])
    for ip in SOURCE_IPS[:10]:
        name = h.ask_name(a.address(), source_ip=ip)
        assert h.ask_name(b.address(), source_ip=ip) == name, ip
        assert o.name_of_address(a.which(ip)["web"]) == name


def test_maglev_source_ip_vs_source_ip_port(edge):
    """hash = source_ip: 30 connections from one address all reach one backend;
    hash = source_ip_port: connections from that address (new ports) spread over several."""
    o = name_origin(edge)
    by_ip = edge.lb4([pool(o, "maglev", hash="source_ip")])
    by_port = edge.lb4([pool(o, "maglev", hash="source_ip_port")])
    ip = "127.0.0.2"
    expected = o.name_of_address(by_ip.which(ip)["web"])
    got = {h.ask_name(by_ip.address(), source_ip=ip) for _ in range(30)}
    assert got == {expected}
    spread = collections.Counter(h.ask_name(by_port.address(), source_ip=ip) for _ in range(40))
    assert len(spread) >= 2, spread  # all 40 on one of 4 backends by chance: 4^-39


def test_maglev_weights(edge):
    """Weights 1:3 over 2 (fixed) backends: of 60 client addresses placed by `--which`, the heavy
    one gets about three quarters (Maglev's share is proportional to weight)."""
    lb = edge.lb4([fixed_pool(FIXED[:2], weights=[1, 3])], start=False)
    ips = ["127.0.%d.%d" % (1 + i % 2, 2 + i) for i in range(60)]
    count = collections.Counter(w["web"] for w in lb.which_many(ips).values())
    # Binomial(60, 0.75): mean 45, sd 3.4. Deterministic with fixed addresses, so no flakiness.
    assert 35 <= count[FIXED[1]] <= 55, count


def test_round_robin_rotates_exactly(edge):
    """round_robin over 3 backends: 30 sequential connections give 10 each, and every 3
    consecutive connections reach 3 different backends (one shared rotation across workers)."""
    o = name_origin(edge, NAMES[:3])
    lb = edge.lb4([pool(o, "round_robin", names=NAMES[:3])], workers=2)
    seq = [h.ask_name(lb.address()) for _ in range(30)]
    assert collections.Counter(seq) == {"b0": 10, "b1": 10, "b2": 10}, seq
    for i in range(0, 30, 3):
        assert len(set(seq[i:i + 3])) == 3, seq


def test_round_robin_weighted(edge):
    """Weights 1, 2, 3: 60 sequential connections split exactly 10 / 20 / 30."""
    o = name_origin(edge, NAMES[:3])
    lb = edge.lb4([pool(o, "round_robin", names=NAMES[:3], weights=[1, 2, 3])])
    seq = [h.ask_name(lb.address()) for _ in range(60)]
    assert collections.Counter(seq) == {"b0": 10, "b1": 20, "b2": 30}, collections.Counter(seq)


def hold(edge, lb, n):
    """Opens n connections one after another, each established (name read) before the next;
    returns [(socket, backend name)]."""
    out = []
    for _ in range(n):
        s = edge.connect(lb.address())
        name = h.read_line(s)
        assert name is not None
        out.append((s, name))
    return out


def test_least_conn_follows_open_connections(edge):
    """least_conn, 3 backends, one worker: 9 held connections split 3/3/3; after the 3 on one
    backend close, the next 3 connections all go to that now-idle backend; 3 more split 1/1/1."""
    o = name_origin(edge, NAMES[:3])
    lb = edge.lb4([pool(o, "least_conn", names=NAMES[:3])], workers=1)
    held = hold(edge, lb, 9)
    assert collections.Counter(n for _, n in held) == {"b0": 3, "b1": 3, "b2": 3}
    victim = held[0][1]
    for s, n in held:
        if n == victim:
            # FIN -> the backend closes -> lb4 relays that EOF back and ends the relay in the same
            # step (one worker), so once the client sees EOF the backend's count has dropped.
            s.shutdown(socket.SHUT_WR)
            assert h.wait_closed(s, 10) == "eof"
    second = hold(edge, lb, 3)
    assert [n for _, n in second] == [victim] * 3, second
    third = hold(edge, lb, 3)
    assert sorted(n for _, n in third) == ["b0", "b1", "b2"], third


def test_random_two_keeps_held_connections_even(edge):
    """random_two (power of two choices), 3 backends, 60 held connections: every backend is used
    and the spread max - min stays small (<= 10; uniform random placement exceeds that ~20% of
    the time, random_two about never)."""
    o = name_origin(edge, NAMES[:3])
    lb = edge.lb4([pool(o, "random_two", names=NAMES[:3])], workers=2)
    held = hold(edge, lb, 60)
    count = collections.Counter(n for _, n in held)
    assert set(count) == {"b0", "b1", "b2"}, count
    assert max(count.values()) - min(count.values()) <= 10, count
