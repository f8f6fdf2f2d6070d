"""Several lb4 behind ECMP agree on every client (issue 18), in network namespaces.

A client namespace reaches the VIP through a multipath route over three lb4 namespaces (flows
spread by their ports); each lb4 runs the same config, Maglev over three gw7 (hash = source_ip).
Thousands of connections from 254 source addresses: every one must land on the gw7 that
`lb4 --which SOURCE` names, whichever lb4 took it. Then a gw7 fails its health checks (all lb4s
must move exactly its clients, the same way, and move them back), and an lb4 leaves the multipath
route (connections through the others go on; new ones keep their gw7).

Needs root and `ip netns`; skips with the reason otherwise. Every namespace and process is
removed at the end, pass or fail. The spread figures are printed (run with -s to see them).
"""

import collections
import signal
import sys

import pytest

import netns_tier as n

CONNECTIONS = 3000


@pytest.fixture
def tier(tmp_path):
    try:
        t = n.NetnsTier.create(str(tmp_path))
    except n.Unavailable as e:
        pytest.skip("ECMP namespaces: %s" % e)
    failed = True
    try:
        t.start_all()
        yield t
        failed = False
    finally:
        problems = t.close()
        if failed or problems:
            t.dump_logs()
        if problems and not failed:
            pytest.fail("; ".join(problems))


def report(what, counts):
    total = sum(counts.values())
    mean = total / len(counts)
    worst = max(counts.values()) / mean if mean else 0
    sys.stderr.write("ECMP %s: %s (max/mean %.3f)\n" % (what, dict(sorted(counts.items())), worst))
    return worst


def assert_agreement(tier, results, expected):
    """Every connection succeeded and reached expected[source]; returns the lb of each."""
    errors = [r for r in results if r[3] is not None]
    assert not errors, "%d of %d connections failed, e.g. %r" % (len(errors), len(results),
                                                                 errors[:5])
    wrong = [r for r in results if r[2] != expected[r[0]]]
    assert not wrong, "%d of %d connections disagree with lb4 --which, e.g. %r" % (
        len(wrong), len(results), [(r, expected[r[0]]) for r in wrong[:5]])


def by_lb4(tier, results):
    """Which lb4 took each connection (every one is in exactly one lb4's connection log, with the
    gw7 the response came through)."""
    logs = [tier.logged_connections(k) for k in range(len(tier.lbs))]
    lb_of = {}
    for r in results:
        holders = [k for k, log in enumerate(logs) if (r[0], r[1]) in log]
        assert len(holders) == 1, "connection %r logged by lb4s %r" % (r, holders)
        k = holders[0]
        assert logs[k][(r[0], r[1])] == r[2], (r, logs[k][(r[0], r[1])])
        lb_of[(r[0], r[1])] = k
    return lb_of


def wait_logged(tier, results, timeout=10):
    import lb4_harness as h

    def all_logged():
        seen = set()
        for k in range(len(tier.lbs)):
            seen.update(tier.logged_connections(k))
        return all((r[0], r[1]) in seen for r in results)
    h.wait_until(all_logged, timeout, "every connection in an lb4 connection log")


def test_every_lb4_sends_each_client_to_the_gw7_lb4_which_names(tier):
    results = tier.burst(CONNECTIONS)
    sources = sorted({r[0] for r in results})
    assert len(sources) == 254, len(sources)
    expected = tier.which(sources)
    assert_agreement(tier, results, expected)
    wait_logged(tier, results)
    lb_of = by_lb4(tier, results)

    # The same client through different lb4s: each source used every lb4 many times over.
    per_source = collections.defaultdict(set)
    for (src, _), k in lb_of.items():
        per_source[src].add(k)
    multi = sum(1 for s in per_source.values() if len(s) > 1)
    sys.stderr.write("ECMP agreement: %d/%d connections on the gw7 lb4 --which names; "
                     "%d of %d sources went through more than one lb4\n"
                     % (len(results), len(results), multi, len(per_source)))
    assert multi >= len(per_source) * 0.9, multi

    # ECMP spread over lb4s: 3000 flows hashed by port; a binomial spread is within 20%.
    lb_counts = collections.Counter(lb_of.values())
    assert set(lb_counts) == {0, 1, 2}, lb_counts
    assert report("connections per lb4", lb_counts) < 1.2
    # Maglev spread over gw7s: clients (sources) per gw7, and connections per gw7.
    client_counts = collections.Counter(expected.values())
    assert set(client_counts) == set(tier.gw7_names), client_counts
    # 254 random clients over 3 equal table shares: ~85 +- 7.5 each; 1.5x would be > 5 sigma.
    assert report("clients per gw7", client_counts) < 1.5
    report("connections per gw7", collections.Counter(r[2] for r in results))


def test_a_gw7_out_of_health_moves_only_its_clients_the_same_way_on_every_lb4(tier):
    before = tier.burst(1500)
    sources = sorted({r[0] for r in before})
    expected = tier.which(sources)
    assert_agreement(tier, before, expected)

    # g1 drains: its /healthz answers 503 at once, and every lb4 marks it down.
    tier.gw7s["g1"].signal(signal.SIGTERM)
    tier.wait_states({"g1": "down", "g0": "up", "g2": "up"})
    during = tier.burst(CONNECTIONS)
    errors = [r for r in during if r[3] is not None]
    assert not errors, errors[:5]
    moved_to = collections.defaultdict(set)
    for src, _, gw, *_ in during:
        moved_to[src].add(gw)
    # One gw7 per client whichever lb4 took each of its ~12 connections: the lb4s agree.
    split = {s: g for s, g in moved_to.items() if len(g) != 1}
    assert not split, "clients split over gw7s: %r" % list(split.items())[:5]
    now = {s: next(iter(g)) for s, g in moved_to.items()}
    stayed = [s for s in sources if expected[s] != "g1"]
    moved = [s for s in sources if expected[s] == "g1"]
    assert all(now[s] == expected[s] for s in stayed), [
        (s, expected[s], now[s]) for s in stayed if now[s] != expected[s]][:5]
    assert all(now[s] in ("g0", "g2") for s in moved)
    sys.stderr.write("ECMP gw7 out: %d clients of g1 moved (%s), %d others stayed\n" % (
        len(moved), dict(collections.Counter(now[s] for s in moved)), len(stayed)))
    assert moved, "g1 had no clients"
    wait_logged(tier, during)
    by_lb4(tier, during)  # each lb4 logged the gw7 the client saw

    # g1 comes back: every client is on its --which gw7 again.
    code = tier.gw7s["g1"].stop()
    assert code == 0, code
    tier.start_gw7("g1")
    tier.wait_states({name: "up" for name in tier.gw7_names})
    after = tier.burst(CONNECTIONS)
    assert_agreement(tier, after, expected)


def test_an_lb4_leaving_the_route_leaves_other_connections_alone(tier):
    holder = tier.hold(300)
    first = holder.first()
    assert all(r[3] is None for r in first), [r for r in first if r[3]][:5]
    sources = sorted({r[0] for r in first})
    expected = tier.which(sources)
    assert all(r[2] == expected[r[0]] for r in first)
    lb_of = tier.connections_by_lb4()
    held = {(r[0], r[1]): lb_of[(r[0], r[1])] for r in first}
    counts = collections.Counter(held.values())
    assert set(counts) == {0, 1, 2}, counts

    # lb1 leaves the route (the middle nexthop: with hash-threshold ECMP, lb0's and lb2's slices
    # of the hash space only grow, so their flows keep their nexthop).
    tier.set_vip_route([0, 2])
    second = holder.probe()
    through_others = [r for r in second if held[(r[0], r[1])] != 1]
    through_lb1 = [r for r in second if held[(r[0], r[1])] == 1]
    broken = [r for r in through_others if r[3] is not None or r[2] != expected[r[0]]]
    assert not broken, "%d connections through lb0/lb2 were disturbed: %r" % (len(broken),
                                                                             broken[:5])
    # lb1's connections now reach an lb4 that never saw them: the kernel resets them.
    lost = sum(1 for r in through_lb1 if r[3] is not None)
    sys.stderr.write("ECMP lb4 out: %d connections through lb0/lb2 untouched; %d of %d through "
                     "lb1 reset\n" % (len(through_others), lost, len(through_lb1)))
    holder.quit()

    # New connections keep their gw7 through the remaining lb4s.
    results = tier.burst(1500)
    assert_agreement(tier, results, tier.which(sorted({r[0] for r in results})))
    wait_logged(tier, results)
    assert set(by_lb4(tier, results).values()) == {0, 2}
