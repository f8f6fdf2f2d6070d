"""lb4s announce the VIP over BGP while they can serve (issue 18), in network namespaces.

The topology of test_scale_ecmp.py, but the client namespace's route to the VIP is not static: a
bird2 there (the router, AS 65000, `merge paths`) peers with a bird2 in each lb4 namespace (AS
65001), and each lb4 keeps the VIP in kernel table 100 ([lb4.announce]) which its bird2 learns and
exports. So the router's multipath route lists exactly the lb4s that announce.

Needs root, `ip netns` and bird2 (/usr/sbin/bird); skips with the reason otherwise.
"""

import json
import os
import re
import signal
import sys
import time

import pytest

import lb4_harness as h
import netns_tier as n

DRAIN_DELAY_S = 3


@pytest.fixture
def tier(tmp_path):
    if not os.path.exists(n.BIRD):
        pytest.skip("BGP: bird2 is not installed (%s; Debian package bird2)" % n.BIRD)
    try:
        t = n.NetnsTier.create(str(tmp_path))
    except n.Unavailable as e:
        pytest.skip("BGP namespaces: %s" % e)
    failed = True
    try:
        t.start_all(bgp=True, drain_delay="%ds" % DRAIN_DELAY_S)
        yield t
        failed = False
    finally:
        problems = t.close()
        if failed or problems:
            t.dump_logs()
        if problems and not failed:
            pytest.fail("; ".join(problems))


def listening(tier, k):
    r = tier.exec(tier.lbs[k], "ss", "-Hltn", "( sport = :%d )" % n.VIP_PORT)
    return bool(r.stdout.strip())


def table_routes(tier, k):
    return tier.ip(tier.lbs[k], "route", "show", "table", str(n.ANNOUNCE_TABLE)).stdout


def admin(tier, k, path):
    """(status, body) of lb<k>'s admin page."""
    r = tier.exec(tier.lbs[k], "curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}",
                  "http://%s%s" % (n.LB4_ADMIN, path))
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def announced(tier, k):
    """lb<k>'s lb4_announced samples: {vip: value}."""
    _, text = admin(tier, k, "/metrics")
    return {m.group(1): float(m.group(2)) for m in
            re.finditer(r'^lb4_announced\{vip="([^"]+)",table="\d+"\} (\S+)$', text, re.M)}


def reload(tier, k, announce):
    """Rewrites the shared config with `announce` ([lb4.announce] or None), reloads lb<k> only."""
    lb = tier.lb4s[tier.lbs[k]]
    before = lb.text().count("reload ok")
    tier.write_lb4_config(announce=announce)
    lb.signal(signal.SIGHUP)
    h.wait_until(lambda: lb.text().count("reload ok") > before, 10, "lb%d to reload" % k)


def test_the_router_lists_exactly_the_lb4s_with_a_healthy_gw7(tier):
    tier.wait_nexthops({0, 1, 2})
    assert n.VIP in table_routes(tier, 1)
    assert announced(tier, 1) == {n.VIP + "/32": 1}
    status = json.loads(admin(tier, 1, "/status")[1])["announce"]
    assert status == {"vips": [n.VIP + "/32"], "table": n.ANNOUNCE_TABLE, "announced": True,
                      "reason": ""}, status
    results = tier.burst(600)
    failed = [r for r in results if r[3] is not None]
    assert not failed, failed[:5]
    expected = tier.which(sorted({r[0] for r in results}))
    assert all(r[2] == expected[r[0]] for r in results)

    # lb1 loses every gw7 (its link to them goes down): its checks fail, it withdraws; the other
    # lb4s still reach the gw7s and stay.
    tier.ip(tier.lbs[1], "link", "set", "downlink", "down")
    tier.wait_states({g: "down" for g in tier.gw7_names}, lb_indexes=[1])
    tier.wait_nexthops({0, 2})
    assert n.VIP not in table_routes(tier, 1)
    assert listening(tier, 1)  # lb4 itself goes on: only the announcement follows health
    assert "withdrawn: no healthy backend in pool \"gw7\"" in tier.lb4s[tier.lbs[1]].text()
    assert announced(tier, 1) == {n.VIP + "/32": 0}
    status = json.loads(admin(tier, 1, "/status")[1])["announce"]
    assert status["reason"] == "no healthy backend in pool \"gw7\"", status
    results = tier.burst(600)
    assert not [r for r in results if r[3] is not None]

    # Its gw7s come back: it announces again.
    tier.ip(tier.lbs[1], "link", "set", "downlink", "up")
    # (the kernel dropped the route through the link when it went down)
    tier.ip(tier.lbs[1], "route", "replace", "10.200.0.0/24", "via", "10.2.1.2")
    tier.wait_states({g: "up" for g in tier.gw7_names}, lb_indexes=[1])
    tier.wait_nexthops({0, 1, 2})

    # lb2 is killed (no withdrawal of its own): its routes went through its TUN device, which
    # the kernel removes with the process, and the routes with it.
    assert "lb4-" in table_routes(tier, 2)
    tier.lb4s[tier.lbs[2]].kill()
    tier.wait_nexthops({0, 1})
    assert table_routes(tier, 2).strip() == ""
    tier.start_lb4(2)
    tier.wait_nexthops({0, 1, 2})
    results = tier.burst(600)
    assert not [r for r in results if r[3] is not None]


def test_a_draining_lb4_is_withdrawn_before_it_stops_accepting(tier):
    """SIGTERM to lb1 under steady load of new connections: the router drops lb1's path while
    lb1 still accepts (drain_delay), and no connection started after that fails."""
    tier.wait_nexthops({0, 1, 2})
    load = tier.steady_load(DRAIN_DELAY_S + 6, threads=4)
    time.sleep(2)
    lb1 = tier.lb4s[tier.lbs[1]]
    term = time.monotonic()
    lb1.signal(signal.SIGTERM)
    tier.wait_nexthops({0, 2}, timeout=DRAIN_DELAY_S)
    withdrawn = time.monotonic()
    # Routers first: lb1 is out of the route and still accepting, and says it is going to
    # whatever else checks it.
    assert lb1.running() and listening(tier, 1), "lb1 stopped accepting before its withdrawal"
    assert admin(tier, 1, "/healthz") == (503, "draining\n")
    assert announced(tier, 1) == {n.VIP + "/32": 0}
    results = load.results()
    assert lb1.proc.wait(30) == 0
    err = lb1.text()
    assert err.index("VIPs withdrawn, still accepting") < err.index("Terminated: draining"), err

    after = [r for r in results if r[4] > withdrawn]
    before = [r for r in results if r[4] <= withdrawn]
    failed_after = [r for r in after if r[3] is not None]
    failed_before = [r for r in before if r[3] is not None]
    sys.stderr.write(
        "BGP drain: path withdrawn %.2fs after SIGTERM (drain_delay %ds); %d connections after "
        "the withdrawal, %d failed; %d before it, %d failed (in flight through lb1 when the route "
        "changed)\n" % (withdrawn - term, DRAIN_DELAY_S, len(after), len(failed_after),
                        len(before), len(failed_before)))
    assert len(after) > 100, len(after)
    assert not failed_after, failed_after[:5]
    expected = tier.which(sorted({r[0] for r in after}))
    assert all(r[2] == expected[r[0]] for r in after)
    assert tier.router_nexthops() == {0, 2}


def test_a_reload_applies_announce_changes(tier):
    """[lb4.announce] follows SIGHUP: a new table and a second VIP, announcing turned off, and
    back on, each in force at once without a restart."""
    tier.wait_nexthops({0, 1, 2})
    second_vip = "10.99.0.2"
    other_table = n.ANNOUNCE_TABLE + 1  # lb1's bird2 learns only ANNOUNCE_TABLE
    announce = {"vips": [n.VIP], "table": n.ANNOUNCE_TABLE, "drain_delay": "%ds" % DRAIN_DELAY_S}

    reload(tier, 1, dict(announce, vips=[n.VIP, second_vip], table=other_table))
    tier.wait_nexthops({0, 2})
    assert table_routes(tier, 1).strip() == ""
    moved = tier.ip(tier.lbs[1], "route", "show", "table", str(other_table)).stdout
    assert n.VIP in moved and second_vip in moved, moved
    assert announced(tier, 1) == {n.VIP + "/32": 1, second_vip + "/32": 1}
    assert "announce: reload: " in tier.lb4s[tier.lbs[1]].text()

    reload(tier, 1, None)
    h.wait_until(lambda: not tier.ip(tier.lbs[1], "route", "show", "table",
                                       str(other_table)).stdout.strip(), 5, "routes deleted")
    assert json.loads(admin(tier, 1, "/status")[1])["announce"] is None
    assert announced(tier, 1) == {}
    assert tier.router_nexthops() == {0, 2}

    reload(tier, 1, announce)
    tier.wait_nexthops({0, 1, 2})
    assert announced(tier, 1) == {n.VIP + "/32": 1}
    results = tier.burst(300)
    assert not [r for r in results if r[3] is not None]
    assert tier.lb4s[tier.lbs[1]].running() and listening(tier, 1)
