"""SIGHUP reloads lb4's config without dropping a connection: under a load of new connections,
reloads that change backends, weights and balancing lose none; a broken config is logged with
FILE:LINE:COL, counted, and leaves the running config in force; listeners come and go; a removed
backend's connections drain until drain_timeout; lb4_reloads_total counts the outcomes."""

import collections
import errno
import os
import re
import signal
import socket
import time

import lb4_harness as h
from name_load import Load, name_via

NAMES = ["b0", "b1", "b2", "b3"]


# ---------------------------------------------------------------- helpers (this file only)


def auto_origin(edge, names=NAMES):
    """One origin with an "auto" listener per name: a client's first line picks what it does
    ("NAME" -> the listener's name, "ECHO" -> echo)."""
    return edge.origin(*[{"name": n, "mode": "auto"} for n in names])


def random_loopback():
    """A random 127.R.x.y address, as the harness gives listeners: lb4 binds with SO_REUSEPORT
    (admin included), so another run that picked the same port on 127.0.0.1 would share it."""
    import random
    return "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                             random.randint(1, 254))


def admin_section():
    host = random_loopback()
    return {"admin": h.format_address(host, h.free_port(host))}


def metric_samples(lb):
    """{(name, frozenset(labels.items())): value} from /metrics."""
    status, text = lb.admin_get("/metrics")
    assert status == 200, status
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, "unexpected /metrics line %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def reloads(lb):
    """(ok, failed) from lb4_reloads_total."""
    m = metric_samples(lb)
    return (m[("lb4_reloads_total", frozenset({("result", "ok")}))],
            m[("lb4_reloads_total", frozenset({("result", "failed")}))])


def pool(origin, names, balance="round_robin", weights=None, name="p", **extra):
    p = {"name": name, "balance": balance, "backends": [
        dict({"address": origin.address(n)}, **({"weight": weights[i]} if weights else {}))
        for i, n in enumerate(names)]}
    p.update(extra)
    return p


def install(lb, listeners=None, pools=None, text=None, **section):
    """Replaces lb's config file atomically (write + rename: lb4 never reads half a file) with
    the given listeners/pools (default: the current ones) and [lb4] keys, or with raw `text`.
    Listener binds given as a host only get a free port ("127.0.0.1": on a random 127.R.x.y
    address, as the harness does); lb.address(name) follows."""
    if text is None:
        if listeners is not None:
            lb.listeners = [dict(l) for l in listeners]
            for l in lb.listeners:
                bind = l.get("bind", "127.0.0.1")
                if not (bind.startswith("[") or bind.count(":") == 1):
                    if bind == "127.0.0.1":
                        bind = random_loopback()
                    bind = h.format_address(bind, h.free_port(bind))
                l["bind"] = bind
                lb.binds[l["name"]] = h.parse_address(bind)
        if pools is not None:
            lb.pools = [dict(p) for p in pools]
        lb.lb4_section.update(section)
        text = h.render_config(lb.lb4_section, lb.listeners, lb.pools)
    tmp = lb.config_path + ".next"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, lb.config_path)
    return text


RELOAD_OK = "reload ok"
RELOAD_FAILED = "reload failed, the running config stays in force: "


def outcomes(lb):
    log = lb.stderr()
    return log.count(RELOAD_OK), log.count(RELOAD_FAILED)


def sighup(lb, timeout=10):
    """Sends SIGHUP and waits until lb4 has logged the outcome of this reload. Returns "ok" or
    "failed" and, for a failure, the log text from the failure line on."""
    before = outcomes(lb)
    lb.signal(signal.SIGHUP)
    after = h.wait_until(lambda: outcomes(lb) != before and outcomes(lb), timeout,
                         "lb4 to log the outcome of a reload")
    assert lb.running(), "lb4 exited on SIGHUP:\n" + lb.stderr()
    if after[0] > before[0]:
        return "ok", ""
    log = lb.stderr()
    return "failed", log[log.rindex(RELOAD_FAILED):]


def reload_ok(lb, **kwargs):
    install(lb, **kwargs)
    outcome, text = sighup(lb)
    assert outcome == "ok", text


def refuses(address):
    """True when a connect to `address` is refused now (a successful probe is closed at once)."""
    try:
        s = h.connect(address, timeout=2)
    except ConnectionRefusedError:
        return True
    except OSError as e:
        return e.errno == errno.ECONNREFUSED
    s.close()
    return False


def echo_open(edge, address):
    """A connection in echo mode, checked with one round trip."""
    s = edge.connect(address)
    s.sendall(b"ECHO\n")
    echo_check(s, b"hello")
    return s


def echo_check(sock, payload):
    sock.sendall(payload)
    got = h.recv_exact(sock, len(payload))
    assert got == payload, got


def which_backend(origin, names, before):
    """The one name among `names` whose open-event count grew from `before` (a dict)."""
    grew = [n for n in names if len(origin.events_where(ev="open", name=n)) > before[n]]
    assert len(grew) == 1, grew
    return grew[0]


def open_counts(origin, names):
    return {n: len(origin.events_where(ev="open", name=n)) for n in names}


# ---------------------------------------------------------------- tests


def test_reloads_every_200ms_under_load_lose_no_connection(edge):
    """For 10 s, a SIGHUP every 200 ms alternates between two valid configs that differ in
    backends (b0,b1 vs b1,b2,b3), weights and balance (round_robin vs least_conn vs random_two),
    while 3 client threads make whole connections in a loop: not one connection fails, both
    configs served (b0 and b2/b3 answered), and every reload is counted ok, none failed."""
    o = auto_origin(edge)
    configs = [
        [pool(o, ["b0", "b1"], "round_robin", weights=[1, 2])],
        [pool(o, ["b1", "b2", "b3"], "least_conn", weights=[3, 1, 1])],
        [pool(o, ["b0", "b1"], "round_robin", weights=[2, 1])],
        [pool(o, ["b1", "b2", "b3"], "random_two")],
    ]
    lb = edge.lb4(configs[0], workers=2, drain_timeout="5s", **admin_section())
    load = Load(lb.address(), threads=3, per_thread=6000).start()
    try:
        load.wait_done(30, 10)
        t0 = time.monotonic()
        count = 0
        while time.monotonic() - t0 < 10.0:
            count += 1
            reload_ok(lb, pools=configs[count % len(configs)])
            # Pacing only (one reload per 200 ms tick); ordering is by the logged outcome above.
            time.sleep(max(0.0, t0 + 0.2 * count - time.monotonic()))
        seen_before_stop = load.done()
    finally:
        load.stop()
    print("reloads %d, connections %r" % (count, dict(load.names)))
    assert load.failures == [], "%d of %d connections failed during reloads: %r" % (
        len(load.failures), load.done() + len(load.failures), load.failures[:10])
    assert count >= 25, count  # 10 s at 200 ms: 50 unless reloads are slow
    assert seen_before_stop >= 100, load.names
    assert set(load.names) <= set(NAMES), load.names
    assert load.names["b0"] > 0 and load.names["b2"] + load.names["b3"] > 0, load.names
    assert reloads(lb) == (count, 0)
    assert "reload failed" not in lb.stderr()


def position_of(text, needle):
    """(line, column), 1-based, of the first occurrence of needle in text."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


def test_broken_config_keeps_the_running_one_logs_the_position_and_counts(edge):
    """Three broken configs in turn (malformed TOML, an unknown key, a bad value), each of which
    would move the pool to b1: each reload fails, lb4's stderr says
    "reload failed, the running config stays in force: FILE:LINE:COL: ..." pointing at the fault,
    lb4_reloads_total{result="failed"} counts 1, 2, 3, and b0 (the old config) keeps answering,
    also on a connection opened before. Then a good config moves the pool to b1."""
    o = auto_origin(edge, ["b0", "b1"])
    lb = edge.lb4([pool(o, ["b0"])], workers=2, **admin_section())
    held = echo_open(edge, lb.address())
    assert name_via(lb.address()) == "b0"
    good = h.render_config(lb.lb4_section, lb.listeners, [pool(o, ["b1"])])
    assert "pool = \"p\"" in good
    broken = [
        # (text, needle whose position the error must name, what)
        (good.replace('balance = "round_robin"', 'balance = "round_robin'),
         'balance = "round_robin', "malformed TOML (unterminated string)"),
        (good.replace('name = "p"', 'name = "p"\nbalanse = "maglev"'), "balanse",
         "unknown key"),
        (good.replace('balance = "round_robin"', 'balance = "magelv"'), 'balance = "magelv"',
         "bad value"),
    ]
    for i, (text, needle, what) in enumerate(broken, start=1):
        assert text != good, what
        install(lb, text=text)
        outcome, log = sighup(lb)
        assert outcome == "failed", "%s: the reload succeeded" % what
        m = re.match(re.escape(RELOAD_FAILED) + r"(.+?):(\d+):(\d+): ", log)
        assert m, "%s: no FILE:LINE:COL in %r" % (what, log[:300])
        assert m.group(1) == lb.config_path, (what, m.group(1))
        line, col = position_of(text, needle)
        assert int(m.group(2)) == line, (what, log[:300], line, col)
        # The column points into the faulty line: at the key, or at the value after it.
        line_text = text.splitlines()[line - 1]
        assert col <= int(m.group(3)) <= len(line_text) + 1, (what, log[:300], line_text)
        assert lb.running()
        assert reloads(lb) == (0, i), what
        assert name_via(lb.address()) == "b0", "%s: the old config is no longer in force" % what
        echo_check(held, b"after %d" % i)
    install(lb, text=good)
    assert sighup(lb)[0] == "ok"
    assert reloads(lb) == (1, 3)
    assert name_via(lb.address()) == "b1"
    echo_check(held, b"still b0")


def test_reload_that_cannot_bind_a_new_listener_changes_nothing(edge):
    """A reload adding a listener on a port someone else holds fails (counted once: failed 1),
    is logged, and changes nothing: the old listener serves the old pool."""
    o = auto_origin(edge, ["b0", "b1"])
    lb = edge.lb4([pool(o, ["b0"]), pool(o, ["b1"], name="q")], workers=2, **admin_section())
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    edge.sockets.append(taken)
    taken.bind(("127.0.0.1", 0))
    taken.listen(8)
    busy = "127.0.0.1:%d" % taken.getsockname()[1]
    web = dict(lb.listeners[0], pool="q")  # would move "web" to b1
    install(lb, listeners=[web, {"name": "extra", "bind": busy, "pool": "p"}])
    outcome, log = sighup(lb)
    assert outcome == "failed"
    assert "extra" in log.splitlines()[0], log[:300]
    assert reloads(lb) == (0, 1)
    assert name_via(lb.address("web")) == "b0"
    status, body = lb.admin_get("/status")
    assert status == 200 and '"extra"' not in body, body


def test_listener_added_accepts_listener_removed_refuses_kept_one_keeps_connections(edge):
    """Listeners web and old; a reload keeps web (same bind), drops old, adds new: new accepts,
    old's port refuses and no longer listens, and a connection on web made before the reload
    keeps relaying while web goes on accepting."""
    o = auto_origin(edge, ["b0"])
    lb = edge.lb4([pool(o, ["b0"])], workers=2, **admin_section(),
                  listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p"},
                             {"name": "old", "bind": "127.0.0.1", "pool": "p"}])
    held = echo_open(edge, lb.address("web"))
    assert name_via(lb.address("old")) == "b0"
    old_address = lb.address("old")
    web = lb.listeners[0]
    reload_ok(lb, listeners=[web, {"name": "new", "bind": "127.0.0.1", "pool": "p"}])
    h.wait_until(lambda: h.is_listening(*lb.address("new")), 5, "the new listener to listen")
    assert name_via(lb.address("new")) == "b0"
    h.wait_until(lambda: refuses(old_address), 5, "the removed listener to refuse")
    h.wait_until(lambda: not h.is_listening(*old_address), 5,
                 "the removed listener's socket to close")
    for i in range(20):  # still refused: no worker kept a socket of it
        assert refuses(old_address), i
    echo_check(held, b"kept listener, kept connection")
    assert name_via(lb.address("web")) == "b0"
    held.shutdown(socket.SHUT_WR)
    assert h.wait_closed(held, 5) == "eof"
    assert reloads(lb) == (1, 0)


def test_removed_backend_drains_until_drain_timeout_then_closes(edge):
    """Pool p = b0, b1 (round_robin); one echo connection to each. A reload makes p = b1, b2
    (drain_timeout 2s): the connection to b0 keeps relaying, new connections reach only b1 and
    b2, and at drain_timeout the b0 connection is closed (client and backend see the end) while
    the b1 connection (its backend kept) lives on."""
    o = auto_origin(edge, ["b0", "b1", "b2"])
    lb = edge.lb4([pool(o, ["b0", "b1"])], workers=2, drain_timeout="2s", **admin_section())
    conns = {}
    for _ in range(2):
        before = open_counts(o, ["b0", "b1"])
        s = echo_open(edge, lb.address())
        conns[which_backend(o, ["b0", "b1"], before)] = s
    assert set(conns) == {"b0", "b1"}, conns
    to_b0, to_b1 = conns["b0"], conns["b1"]
    reload_ok(lb, pools=[pool(o, ["b1", "b2"])])
    t_reload = time.monotonic()
    seen = collections.Counter(name_via(lb.address()) for _ in range(20))
    assert seen == {"b1": 10, "b2": 10}, seen
    echo_check(to_b0, b"draining but relaying")
    # Keep it busy until the drain timeout: the deadline is not an idle timeout.
    while time.monotonic() - t_reload < 1.5:
        echo_check(to_b0, b"x" * 100)
        time.sleep(0.1)
    how = h.wait_closed(to_b0, 4)
    elapsed = time.monotonic() - t_reload
    assert how in ("eof", "reset")
    assert 1.8 <= elapsed < 2.0 + 2.0 * h.SLOW, elapsed
    closed = o.wait_events(1, ev="close", name="b0")
    assert closed[0]["rx"] > 100, closed
    assert "removed by reload" in lb.stderr() or "removed backends" in lb.stderr()
    echo_check(to_b1, b"kept backend survives the drain timeout")
    to_b1.shutdown(socket.SHUT_WR)
    assert h.wait_closed(to_b1, 5) == "eof"


def test_weight_change_is_not_a_removal(edge):
    """A reload that only changes a backend's weight (b0: 1 -> 3) does not remove it: a
    connection to it outlives drain_timeout (1s) and /metrics goes on counting it as active on
    b0."""
    o = auto_origin(edge, ["b0", "b1"])
    lb = edge.lb4([pool(o, ["b0"], weights=[1])], workers=2, drain_timeout="1s",
                  **admin_section())
    s = echo_open(edge, lb.address())
    reload_ok(lb, pools=[pool(o, ["b0", "b1"], weights=[3, 1])])
    t_reload = time.monotonic()
    # Wait out drain_timeout (plus margin) while exercising the connection.
    while time.monotonic() - t_reload < 1.0 + 1.0 * h.SLOW:
        echo_check(s, b"y" * 64)
        time.sleep(0.1)
    echo_check(s, b"still relayed after drain_timeout")
    key = ("lb4_backend_connections_active",
           frozenset({("pool", "p"), ("backend", o.address("b0"))}))
    assert metric_samples(lb)[key] == 1, "the live connection to b0 is not counted on b0"
    s.shutdown(socket.SHUT_WR)
    assert h.wait_closed(s, 5) == "eof"


def test_removed_backend_closes_at_drain_timeout_despite_later_reloads(edge):
    """b0 is removed by a reload (drain_timeout 2s); more reloads of the same file follow every
    500 ms. The connection to b0 still ends at the drain_timeout of its removal, not
    drain_timeout after the last reload."""
    o = auto_origin(edge, ["b0", "b1"])
    lb = edge.lb4([pool(o, ["b0"])], workers=2, drain_timeout="2s", **admin_section())
    s = echo_open(edge, lb.address())
    reload_ok(lb, pools=[pool(o, ["b1"])])
    t_reload = time.monotonic()
    closed_at = None
    s.settimeout(0.05)
    k = 0
    while time.monotonic() - t_reload < 5.0:
        k += 1
        outcome, text = sighup(lb)  # the same file again
        assert outcome == "ok", text
        # Pacing (a reload every 500 ms); meanwhile watch the connection for its end.
        tick = t_reload + 0.5 * k
        while time.monotonic() < tick and closed_at is None:
            try:
                if s.recv(1) == b"":
                    closed_at = time.monotonic()
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_at = time.monotonic()
        if closed_at is not None:
            break
    assert closed_at is not None, (
        "the connection to b0 (removed %.1fs ago, drain_timeout 2s) is still open after %d more "
        "reloads" % (time.monotonic() - t_reload, k))
    assert closed_at - t_reload < 2.0 + 1.0 * h.SLOW, closed_at - t_reload


def test_backend_removed_then_added_back_keeps_its_connections(edge):
    """b0 is removed by a reload and added back (same address and weight) by the next one,
    within drain_timeout (1s): b0 is in the config in force, so its connection is not ended
    when drain_timeout passes."""
    o = auto_origin(edge, ["b0", "b1"])
    lb = edge.lb4([pool(o, ["b0", "b1"])], workers=2, drain_timeout="1s", **admin_section())
    before = open_counts(o, ["b0", "b1"])
    s = echo_open(edge, lb.address())
    name = which_backend(o, ["b0", "b1"], before)
    other = "b1" if name == "b0" else "b0"
    reload_ok(lb, pools=[pool(o, [other])])
    reload_ok(lb, pools=[pool(o, ["b0", "b1"])])
    t_reload = time.monotonic()
    while time.monotonic() - t_reload < 1.0 + 1.0 * h.SLOW:
        echo_check(s, b"z" * 32)
        time.sleep(0.1)
    echo_check(s, b"%s is configured again: its connection lives" % name.encode())
    s.shutdown(socket.SHUT_WR)
    assert h.wait_closed(s, 5) == "eof"


def test_reloads_ok_are_counted_and_applied(edge):
    """Three good reloads: lb4_reloads_total{result="ok"} 3, failed 0, and /status shows the
    last config's balance and backends (with their weights)."""
    import json
    o = auto_origin(edge, ["b0", "b1"])
    lb = edge.lb4([pool(o, ["b0"])], workers=2, **admin_section())
    assert reloads(lb) == (0, 0)
    reload_ok(lb, pools=[pool(o, ["b0", "b1"], "least_conn")])
    assert reloads(lb) == (1, 0)
    reload_ok(lb, pools=[pool(o, ["b1"], "maglev")])
    reload_ok(lb, pools=[pool(o, ["b0", "b1"], "random_two", weights=[2, 5])])
    assert reloads(lb) == (3, 0)
    status, body = lb.admin_get("/status")
    assert status == 200
    doc = json.loads(body)
    (p,) = doc["pools"]
    assert p["name"] == "p" and p["balance"] == "random_two", p
    assert [(b["address"], b["weight"]) for b in p["backends"]] == [
        (o.address("b0"), 2), (o.address("b1"), 5)], p
    assert {name_via(lb.address()) for _ in range(20)} == {"b0", "b1"}


def test_reload_that_changes_the_admin_address_is_not_silently_ignored(edge):
    """A reload that moves [lb4] admin to another address either moves the admin endpoint there,
    or says (as it does for workers) that the change takes effect only at restart: it must not
    report "reload ok" while the admin silently stays where it was."""
    o = auto_origin(edge, ["b0"])
    lb = edge.lb4([pool(o, ["b0"])], workers=2, **admin_section())
    old_admin = lb.lb4_section["admin"]
    before = lb.stderr()
    reload_ok(lb, **admin_section())
    new_admin = lb.lb4_section["admin"]
    assert new_admin != old_admin
    lb.lb4_section["admin"] = new_admin
    try:
        moved = lb.admin_get("/healthz", timeout=2)[0] == 200
    except OSError:
        moved = False
    added = lb.stderr()[len(before):]
    warned = any("admin" in line and ("restart" in line or "ignored" in line)
                 for line in added.splitlines())
    assert moved or warned, (
        "admin moved from %s to %s by a reload: the new address does not answer and nothing was "
        "said; the log after the reload:\n%s" % (old_admin, new_admin, added))
