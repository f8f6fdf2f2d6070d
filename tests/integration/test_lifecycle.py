"""Stopping lb4: SIGTERM/SIGINT stop accepting, let connections in flight finish within
drain_timeout, then exit 0; connections still open at drain_timeout are closed; SIGHUP does not
stop anything."""

import errno
import os
import re
import signal
import socket
import time

import lb4_harness as h

MiB = 1 << 20


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


def test_sigterm_lets_transfer_in_flight_finish(edge):
    """A 64 MiB download is in flight (1 MiB read; the rest cannot fit in the socket buffers) when
    lb4 gets SIGTERM: both listeners stop accepting, the download completes byte-identical, and
    lb4 then exits 0 on its own, well within drain_timeout (10s)."""
    n, seed = 64 * MiB, 41
    o = edge.origin({"name": "src", "mode": "source", "n": n, "seed": seed},
                    {"name": "nm", "mode": "name"})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("src")}]},
                   {"name": "q", "backends": [{"address": o.address("nm")}]}],
                  listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p"},
                             {"name": "probe", "bind": "127.0.0.1", "pool": "q"}],
                  drain_timeout="10s")
    s = edge.connect(lb.address("web"), timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    first = h.recv_exact(s, MiB)
    lb.signal(signal.SIGTERM)
    h.wait_until(lambda: refuses(lb.address("probe")) and refuses(lb.address("web")), 5,
                 "lb4 to stop accepting after SIGTERM")
    assert lb.running(), "lb4 exited with a transfer in flight:\n" + lb.stderr()
    import hashlib
    sha = hashlib.sha256(first)
    got = len(first)
    while True:
        b = s.recv(MiB)
        if not b:
            break
        got += len(b)
        sha.update(b)
    assert (got, sha.hexdigest()) == (n, h.stream_sha256(seed, n))
    assert lb.running()  # the backend's EOF alone does not end the (half-closed) connection
    s.close()
    t_done = time.monotonic()
    assert lb.wait_exit(5) == 0
    assert time.monotonic() - t_done < 3 * h.SLOW
    log = lb.stderr()
    # At least ours: probes that got in before the listeners closed may be counted too.
    m = re.search(r"draining (\d+) connections", log)
    assert m and int(m.group(1)) >= 1, log
    assert "drain complete" in log, log


def test_drain_timeout_closes_connections_still_open(edge):
    """SIGTERM with an idle connection that never ends: lb4 waits drain_timeout (1s), closes it
    (the client and the backend see it closed) and exits 0."""
    o = edge.origin({"name": "nm", "mode": "name"})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("nm")}]}],
                  drain_timeout="1s")
    s = edge.connect(lb.address())
    assert h.read_line(s) == "nm"
    t0 = time.monotonic()
    lb.signal(signal.SIGTERM)
    assert h.wait_closed(s, 5) in ("eof", "reset")
    assert lb.wait_exit(5) == 0
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 4 * h.SLOW, elapsed
    o.wait_events(1, ev="close", name="nm")
    assert "timed out" in lb.stderr()


def test_sigint_and_sigterm_without_connections_exit_0_quickly(edge):
    """No connections: SIGTERM or SIGINT makes lb4 exit 0 at once (drain_timeout is 30s)."""
    o = edge.origin({"name": "nm", "mode": "name"})
    for sig in (signal.SIGTERM, signal.SIGINT):
        lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("nm")}]}],
                      drain_timeout="30s")
        assert h.ask_name(lb.address()) == "nm"
        t0 = time.monotonic()
        lb.signal(sig)
        assert lb.wait_exit(5) == 0
        assert time.monotonic() - t0 < 2 * h.SLOW


def test_sighup_does_not_stop_lb4_or_its_connections(edge):
    """SIGHUP (config reload; once only acknowledged) neither stops lb4 nor cuts a connection
    in progress: after lb4 has logged it, the old connection still relays and new ones are
    served."""
    o = edge.origin({"name": "nm", "mode": "name"})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("nm")}]}])
    s = edge.connect(lb.address())
    assert h.read_line(s) == "nm"
    before = lb.stderr()
    lb.signal(signal.SIGHUP)
    h.wait_until(lambda: len(lb.stderr()) > len(before) and (
        "SIGHUP" in lb.stderr() or "reload" in lb.stderr()), 5, "lb4 to log the SIGHUP")
    assert lb.running()
    assert h.ask_name(lb.address()) == "nm"
    s.sendall(b"still here")
    s.shutdown(socket.SHUT_WR)
    assert h.wait_closed(s, 5) == "eof"  # the name backend closes at our EOF: relayed


def worker_wakeups(pid):
    """Voluntary context switches of lb4's worker threads so far: each is one wait that slept."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if not f.read().startswith("lb4-w"):
                continue
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            m = re.search(r"^voluntary_ctxt_switches:\s+(\d+)", f.read(), re.M)
        total += int(m.group(1))
    return total


def test_idle_workers_sleep(edge):
    """An lb4 with nothing to do does not wake up: with batched waits (batch_wait_us, on by
    default) a wait without a timer used to end at every min-wait, and an idle worker woke some
    10,000 times a second. Both states are checked: no connection at all (no timer armed) and
    one idle connection (its idle timer armed far ahead)."""
    o = edge.origin({"name": "nm", "mode": "name"})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("nm")}]}], workers=2)
    pid = lb.proc.pid
    time.sleep(0.3)
    before = worker_wakeups(pid)
    time.sleep(2)
    assert worker_wakeups(pid) - before < 50, "idle workers woke up %d times in 2 s" % (
        worker_wakeups(pid) - before)
    s = edge.connect(lb.address())
    assert h.read_line(s) == "nm"
    time.sleep(0.3)
    before = worker_wakeups(pid)
    time.sleep(2)
    assert worker_wakeups(pid) - before < 50, (
        "workers with one idle connection woke up %d times in 2 s" % (worker_wakeups(pid) - before))
