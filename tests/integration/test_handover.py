"""Zero-downtime restart: `lb4 -c FILE --handover SOCK` started while another lb4 serves SOCK
takes over its listening sockets; the old one stops accepting, drains and exits 0. Under a load of
new connections not one is refused or fails; a long transfer on the old process completes; the
handover repeats (a third lb4 takes over from the second); with no old process, or a stale socket
file, --handover starts normally."""

import os
import random
import re
import signal
import socket
import subprocess
import time


import lb4_harness as h
from name_load import Load, name_via

MiB = 1 << 20
NAMES = ["b0", "b1"]


# ---------------------------------------------------------------- helpers (this file only)


def auto_origin(edge, names=NAMES):
    """One origin with an "auto" listener per name: a client's first line picks what it does
    ("NAME", "ECHO", "SOURCE N SEED")."""
    return edge.origin(*[{"name": n, "mode": "auto"} for n in names])


def handover_lb4(edge, sock_path, pools=None, like=None, listeners=None, log_level="info",
                 **section):
    """Starts `lb4 -c FILE --handover sock_path` and waits until it logs "started with".
    With `like` (a running handover lb4), the new process uses the same config file and so the
    same flags; otherwise a config is written from pools/listeners/[lb4] keys (workers = 2 and
    drain_timeout = "5s" unless given). The process is stopped at teardown (exit 0 expected)."""
    tag = "lb4-h%d" % (len(edge.lb4s) + 1)
    if like is None:
        lb4_section = {"workers": 2, "drain_timeout": "5s"}
        lb4_section.update(section)
        if listeners is None:
            listeners = [{"name": "web", "bind": "127.0.0.1", "mode": "tcp",
                          "pool": pools[0]["name"]}]
        l = h.Lb4(edge.dir, lb4_section, listeners, pools, tag=tag)
        l.write_config()
    else:
        l = h.Lb4(edge.dir, like.lb4_section, like.listeners, like.pools, tag=tag)
        l.config_path = like.config_path
        l.binds = dict(like.binds)
    l.expect_exit = 0
    edge.lb4s.append(l)
    with open(l.stderr_path, "wb") as err:
        l.proc = subprocess.Popen(
            [h.LB4, "-c", l.config_path, "--handover", sock_path, "--log-level", log_level],
            stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT)
    h._track(l.proc)
    d = h.Deadline(15)
    while "started with" not in l.stderr():
        if l.proc.poll() is not None:
            raise AssertionError("%s exited with %d during start:\n%s" % (
                tag, l.proc.returncode, l.stderr()))
        if d.expired():
            raise AssertionError("%s did not start in time:\n%s" % (tag, l.stderr()))
        time.sleep(0.01)
    assert all(h.is_listening(host, port) for host, port in l.binds.values())
    return l


def listen_inodes(host, port):
    """Inodes of the sockets listening on host:port (IPv4), from /proc/net/tcp."""
    want = "%s:%04X" % (socket.inet_aton(host)[::-1].hex().upper(), port)
    out = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                out.add(fields[9])
    return out


def holds_listening_socket(lb):
    """True while lb's process still has one of its listeners' listening sockets open. After a
    handover the sockets live on in the new process: this tells when the old one has really let
    go of them (its accepts are cancelled and it can take no new connection)."""
    inodes = set()
    for host, port in lb.binds.values():
        inodes |= listen_inodes(host, port)
    fd_dir = "/proc/%d/fd" % lb.proc.pid
    try:
        names = os.listdir(fd_dir)
    except FileNotFoundError:
        return False
    for name in names:
        try:
            link = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def wait_let_go(old, timeout=10):
    """Waits until the old lb4 has begun draining and closed its listening sockets."""
    h.wait_until(lambda: re.search(r"draining \d+ connections", old.stderr()), timeout,
                 "%s to begin draining" % old.tag)
    h.wait_until(lambda: not old.running() or not holds_listening_socket(old), timeout,
                 "%s to close its listening sockets" % old.tag)


def received_sockets(lb):
    m = re.search(r"handover: received (\d+) listening sockets", lb.stderr())
    return int(m.group(1)) if m else None


def start_download(edge, address, n, seed):
    """A SOURCE download of n bytes through lb4 with 1 MiB already read: the rest is in flight
    (it cannot fit in the socket buffers). Returns (socket, sha256 object, bytes read)."""
    import hashlib
    s = edge.connect(address, timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 * 1024)
    s.sendall(b"SOURCE %d %d\n" % (n, seed))
    first = h.recv_exact(s, MiB)
    return s, hashlib.sha256(first), len(first)


def finish_download(s, sha, got):
    while True:
        b = s.recv(MiB)
        if not b:
            break
        got += len(b)
        sha.update(b)
    s.close()
    return got, sha.hexdigest()


# ---------------------------------------------------------------- tests


def round_robin_pool(origin):
    return {"name": "p", "balance": "round_robin",
            "backends": [{"address": origin.address(n)} for n in NAMES]}


def test_handover_lets_a_transfer_in_flight_finish_and_repeats(edge):
    """lb4 #1 (admin on, drain_timeout 20s) has a 64 MiB download in flight when lb4 #2 starts
    with the same flags: #2 receives the 2 listening sockets (2 workers x 1 listener) and serves
    new connections at once; #1 stops accepting but keeps relaying; the download completes
    byte-identical, and #1 then exits 0 on its own, well before drain_timeout. lb4 #3 takes over
    from #2 the same way (#2 exits 0), and serves data and admin."""
    n, seed = 64 * MiB, 77
    o = auto_origin(edge)
    sock = os.path.join(edge.dir, "lb4.sock")
    host = "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                             random.randint(1, 254))  # lb4's admin binds with SO_REUSEPORT
    admin = h.format_address(host, h.free_port(host))
    first = handover_lb4(edge, sock, [round_robin_pool(o)], drain_timeout="20s", admin=admin)
    assert received_sockets(first) is None, first.stderr()
    assert os.path.exists(sock)
    address = first.address()
    download = start_download(edge, address, n, seed)
    second = handover_lb4(edge, sock, like=first)
    assert received_sockets(second) == 2, second.stderr()
    h.wait_until(lambda: "handover: the new lb4 accepts on the sockets; draining"
                 in first.stderr(), 10, "lb4 #1 to hand over")
    # New connections once #1 has let go of the sockets: only #2 can take them. (Connections
    # made while both processes accept are the subject of the test under load below.)
    wait_let_go(first)
    assert {name_via(address) for _ in range(10)} == set(NAMES)
    assert first.running(), "lb4 #1 exited with a download in flight:\n" + first.stderr()
    assert finish_download(*download) == (n, h.stream_sha256(seed, n))
    t_done = time.monotonic()
    assert first.wait_exit(10) == 0, first.stderr()
    assert time.monotonic() - t_done < 5 * h.SLOW
    assert "draining 1 connections" in first.stderr(), first.stderr()
    assert "drain complete" in first.stderr(), first.stderr()

    # #2 hands over with an echo connection in flight (a handover from an idle lb4 is the
    # subject of test_handover_from_an_idle_lb4_leaves_no_connection_waiting).
    held = edge.connect(address)
    held.sendall(b"ECHO\nping")
    assert h.recv_exact(held, 4) == b"ping"
    third = handover_lb4(edge, sock, like=first)
    assert received_sockets(third) == 2, third.stderr()
    wait_let_go(second)
    assert {name_via(address) for _ in range(10)} == set(NAMES)
    held.sendall(b"pong")
    assert h.recv_exact(held, 4) == b"pong"
    held.shutdown(socket.SHUT_WR)
    assert h.wait_closed(held, 5) == "eof"
    assert second.wait_exit(10) == 0, second.stderr()
    assert "draining 1 connections" in second.stderr(), second.stderr()
    assert "drain complete" in second.stderr(), second.stderr()
    assert h.http_get(admin, "/healthz") == (200, "ok\n")


HANDOVERS = 100       # at most; and for at most HANDOVER_SECONDS (x SLOW)
HANDOVER_SECONDS = 25


def test_handovers_under_load_refuse_or_fail_no_connection(edge):
    """lb4 is restarted through --handover up to 100 times in a row (25 s at most) while 2 client
    threads make whole connections (connect, request, response, close; 3s timeout) in a loop.
    Each old process exits 0; not one connection is refused, reset, cut short or left unanswered.
    (Few client threads on purpose: the old process then often has no connection when it hands
    over, and a connection it drops is not rescued by the next one's arrival. Many handovers
    because each one's window for losing a connection is short.)"""
    o = auto_origin(edge)
    sock = os.path.join(edge.dir, "lb4.sock")
    current = handover_lb4(edge, sock, [round_robin_pool(o)], drain_timeout="10s")
    address = current.address()
    load = Load(address, threads=2, per_thread=20000, timeout=3).start()
    failed_at = []
    done = 0
    try:
        load.wait_more(50, 10, "the load before any handover")
        end = time.monotonic() + HANDOVER_SECONDS * h.SLOW
        for i in range(1, HANDOVERS + 1):
            if time.monotonic() > end:
                break
            before = len(load.failures)
            new = handover_lb4(edge, sock, like=current)
            assert received_sockets(new) == 2, new.stderr()
            assert current.wait_exit(10) == 0, current.stderr()
            load.wait_more(20, 20, "the load after handover %d" % i)
            if len(load.failures) > before:
                failed_at.append("handover %d (%s -> %s): %r; the old one logged:\n%s" % (
                    i, current.tag, new.tag, load.failures[before:],
                    current.stderr()[-600:]))
            current = new
            done = i
    finally:
        load.stop()
    print("handovers %d, connections %r, failures %d" % (done, dict(load.names),
                                                        len(load.failures)))
    assert load.failures == [], "%d of %d connections failed; at %d of %d handovers:\n%s" % (
        len(load.failures), load.done() + len(load.failures), len(failed_at), done,
        "\n".join(failed_at[:3]))
    assert done >= 20, "only %d handovers in %ds" % (done, HANDOVER_SECONDS * h.SLOW)
    assert set(load.names) == set(NAMES), load.names
    assert name_via(address) in NAMES


def test_handover_with_no_old_process_starts_normally_also_over_a_stale_socket(edge):
    """--handover with nothing at SOCK starts normally (no sockets received) and serves SOCK.
    After that lb4 is killed (SIGKILL: the socket file stays behind, nobody listens on it), a new
    lb4 with the same flags also starts normally, serves, and can itself be taken over."""
    o = auto_origin(edge)
    sock = os.path.join(edge.dir, "lb4.sock")
    assert not os.path.exists(sock)
    a = handover_lb4(edge, sock, [{"name": "p", "backends": [{"address": o.address("b0")}]}])
    assert received_sockets(a) is None and "handover:" not in a.stderr(), a.stderr()
    assert os.path.exists(sock)
    assert name_via(a.address()) == "b0"
    a.expect_exit = -signal.SIGKILL
    a.proc.kill()
    assert a.wait_exit(10) == -signal.SIGKILL
    assert os.path.exists(sock)  # stale: nobody accepts on it
    b = handover_lb4(edge, sock, like=a)
    assert received_sockets(b) is None, b.stderr()
    assert name_via(b.address()) == "b0"
    # c takes over from b while b relays a connection (a handover from an idle lb4 is the subject
    # of test_handover_from_an_idle_lb4_leaves_no_connection_waiting).
    held = edge.connect(b.address())
    held.sendall(b"ECHO\nping")
    assert h.recv_exact(held, 4) == b"ping"
    c = handover_lb4(edge, sock, like=a)
    assert received_sockets(c) == 2, c.stderr()
    wait_let_go(b)
    assert name_via(c.address()) == "b0"
    held.shutdown(socket.SHUT_WR)
    assert h.wait_closed(held, 5) == "eof"
    assert b.wait_exit(10) == 0, b.stderr()
    assert name_via(c.address()) == "b0"


def test_handover_to_an_edited_config_moves_new_connections_only(edge):
    """Upgrade with a config change: the file is edited (pool p: b0 -> b1) and a new lb4 started
    with the same flags takes over: new connections reach b1, while an echo connection made
    through the old lb4 keeps relaying to b0 until it ends; then the old one exits 0."""
    o = auto_origin(edge)
    sock = os.path.join(edge.dir, "lb4.sock")
    old = handover_lb4(edge, sock, [{"name": "p", "backends": [{"address": o.address("b0")}]}],
                       drain_timeout="20s")
    held = edge.connect(old.address())
    held.sendall(b"ECHO\nbefore")
    assert h.recv_exact(held, 6) == b"before"
    text = h.render_config(old.lb4_section, old.listeners,
                           [{"name": "p", "backends": [{"address": o.address("b1")}]}])
    with open(old.config_path + ".next", "w") as f:
        f.write(text)
    os.replace(old.config_path + ".next", old.config_path)
    new = handover_lb4(edge, sock, like=old)
    assert received_sockets(new) == 2, new.stderr()
    wait_let_go(old)
    assert {name_via(new.address()) for _ in range(10)} == {"b1"}
    held.sendall(b"after")
    assert h.recv_exact(held, 5) == b"after"
    assert old.running()
    held.shutdown(socket.SHUT_WR)
    assert h.wait_closed(held, 5) == "eof"
    assert old.wait_exit(10) == 0, old.stderr()
    assert name_via(new.address()) == "b1"


def accept_queues(lb):
    """Accept-queue lengths (rx_queue of the LISTEN sockets, /proc/net/tcp) of lb's listeners."""
    out = []
    for host, port in lb.binds.values():
        want = "%s:%04X" % (socket.inet_aton(host)[::-1].hex().upper(), port)
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    out.append(int(fields[4].split(":")[1], 16))
    return out


IDLE_HANDOVERS = 40


def test_handover_from_an_idle_lb4_leaves_no_connection_waiting(edge):
    """40 handovers in a row, each from an lb4 with no connection at all (it drains at once and
    exits 0). After each, once the old process is gone, 4 connections are made one after another
    (no connection exists during any handover): each is answered within 2s. A connection that is
    left sitting in an accept queue of the shared listening sockets while the new lb4 idles fails
    this test (the accept queues are reported)."""
    o = auto_origin(edge)
    sock = os.path.join(edge.dir, "lb4.sock")
    current = handover_lb4(edge, sock, [{"name": "p", "backends": [{"address": o.address("b0")}]}])
    address = current.address()
    stuck = []
    for i in range(1, IDLE_HANDOVERS + 1):
        new = handover_lb4(edge, sock, like=current)
        assert received_sockets(new) == 2, new.stderr()
        assert current.wait_exit(10) == 0, current.stderr()
        assert "draining 0 connections" in current.stderr(), current.stderr()
        for k in range(4):
            s = h.connect(address, timeout=2)
            try:
                s.sendall(b"NAME\n")
                reply = h.read_line(s)
            except socket.timeout:
                reply = None
            finally:
                queues = accept_queues(new)
                s.close()
            if reply != "b0":
                stuck.append("handover %d, connection %d: %r; accept queues of the listening "
                             "sockets while the new lb4 (%s) idled: %r" % (
                                 i, k + 1, reply, new.tag, queues))
        current = new
        if stuck:
            break
    assert not stuck, "after a handover from an idle lb4, a connection went unanswered:\n" + \
        "\n".join(stuck)
