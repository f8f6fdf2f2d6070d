"""Bulk flows through splice (relay_connection.h): a direction that fills a whole receive buffer
moves to a pipe (socket -> pipe -> socket in the kernel). Every test that moves bulk data runs
twice, with `splice = true` (the default) and `splice = false` (every byte through the buffer
ring), so that both paths stay tested; the metrics show which path the bytes took."""

import hashlib
import re
import socket
import struct
import threading
import time

import pytest

import lb4_harness as h

MiB = 1 << 20


def pool_of(origin, *names):
    return {"name": "p", "balance": "round_robin",
            "backends": [{"address": origin.address(n)} for n in names]}


def start_lb4(edge, origin, *names, splice=True, **lb4_section):
    section = {"workers": 1, "admin": "127.0.0.1:%d" % h.free_port(), "splice": splice}
    section.update(lb4_section)
    return edge.lb4([pool_of(origin, *names)], **section)


def metric(lb, name, **labels):
    """The value of `name` with exactly these labels in lb4's /metrics."""
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    for line in lb.admin_get("/metrics")[1].splitlines():
        m = re.fullmatch(pattern, line)
        if m:
            return float(m.group(1))
    raise AssertionError("no metric %s%s in lb4's /metrics" % (name, labels or ""))


def spliced(lb):
    return metric(lb, "lb4_splice_flows_total", outcome="spliced")


def check_path(lb, splice, at_least=1):
    """The bulk flows took the path the config asked for."""
    if splice:
        assert spliced(lb) >= at_least, "no flow was spliced with splice = true"
    else:
        assert spliced(lb) == 0 and metric(lb, "lb4_splice_pipes") == 0


def wait_released(lb):
    """Every connection ended and every pipe closed (the pipe's fds go with the connection)."""
    h.wait_until(lambda: metric(lb, "lb4_connections_active") == 0
                 and metric(lb, "lb4_splice_pipes") == 0, 10,
                 "connections and pipes released")


def send_stream(sock, seed, n, result, shut=True):
    try:
        for chunk in h.stream_chunks(seed, n):
            sock.sendall(chunk)
        if shut:
            sock.shutdown(socket.SHUT_WR)
    except BaseException as e:  # reported by the main thread
        result.append(e)


def recv_prefix(sock, limit=None):
    """Reads until EOF, a reset or `limit` bytes: (byte count, sha256 hex, how it ended)."""
    digest = hashlib.sha256()
    total = 0
    end = "limit"
    while limit is None or total < limit:
        want = 1 << 20 if limit is None else min(1 << 20, limit - total)
        try:
            b = sock.recv(want)
        except ConnectionResetError:
            end = "reset"
            break
        if not b:
            end = "eof"
            break
        total += len(b)
        digest.update(b)
    return total, digest.hexdigest(), end


both_paths = pytest.mark.parametrize("splice", [True, False], ids=["splice", "buffers"])


@both_paths
def test_bulk_both_ways_at_once_byte_exact(edge, splice):
    """64 MiB up and 64 MiB down at the same time on each of 4 connections (both directions
    bulk): every byte arrives, in order, and the pipes are closed with the connections."""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = start_lb4(edge, o, "echo", splice=splice)
    n = 64 * MiB
    socks, threads, errors = [], [], []
    for i in range(4):
        s = edge.connect(lb.address(), timeout=60)
        t = threading.Thread(target=send_stream, args=(s, 100 + i, n, errors))
        t.start()
        socks.append(s)
        threads.append(t)
    results = [None] * 4

    def read(i):
        results[i] = h.recv_to_eof(socks[i])
    readers = [threading.Thread(target=read, args=(i,)) for i in range(4)]
    for r in readers:
        r.start()
    for t in threads + readers:
        t.join(120 * h.SLOW)
    assert not errors, errors
    for i in range(4):
        assert results[i] == (n, h.stream_sha256(100 + i, n)), i
    check_path(lb, splice, at_least=8)
    wait_released(lb)


@both_paths
def test_bulk_download_and_upload_byte_exact(edge, splice):
    """Backend -> client 100 MiB (then EOF); client -> backend 100 MiB then FIN, and the sink's
    reply written after that FIN still reaches the client."""
    o = edge.origin({"name": "src", "mode": "source", "n": 100 * MiB, "seed": 21},
                    {"name": "sink", "mode": "sink"})
    lb = edge.lb4([{"name": "src", "backends": [{"address": o.address("src")}]},
                   {"name": "sink", "backends": [{"address": o.address("sink")}]}],
                  listeners=[{"name": "src", "bind": "127.0.0.1", "pool": "src"},
                             {"name": "sink", "bind": "127.0.0.1", "pool": "sink"}],
                  workers=1, admin="127.0.0.1:%d" % h.free_port(), splice=splice)
    s = edge.connect(lb.address("src"), timeout=60)
    assert h.recv_to_eof(s) == (100 * MiB, h.stream_sha256(21, 100 * MiB))
    s.close()
    s = edge.connect(lb.address("sink"), timeout=60)
    errors = []
    send_stream(s, 22, 100 * MiB, errors)
    assert not errors, errors
    assert h.read_line(s) == "%d %s" % (100 * MiB, h.stream_sha256(22, 100 * MiB))
    assert h.wait_closed(s, 10) == "eof"
    s.close()
    check_path(lb, splice, at_least=2)
    wait_released(lb)


@both_paths
def test_half_close_mid_bulk_both_orders(edge, splice):
    """The backend sends 24 MiB and its FIN while the client is still uploading: the client gets
    the 24 MiB and EOF, its upload (24 MiB more, sent after that EOF) still reaches the backend
    intact, then its FIN."""
    o = edge.origin({"name": "half", "mode": "halfsource", "n": 24 * MiB, "seed": 31})
    lb = start_lb4(edge, o, "half", splice=splice)
    s = edge.connect(lb.address(), timeout=60)
    errors = []
    # Upload in parallel with the download: the client's bulk flow is mid-way when the backend's
    # FIN arrives; the client's FIN goes only after the whole upload.
    t = threading.Thread(target=send_stream, args=(s, 32, 24 * MiB, errors))
    t.start()
    got = h.recv_to_eof(s)
    t.join(60 * h.SLOW)
    assert not errors, errors
    assert got == (24 * MiB, h.stream_sha256(31, 24 * MiB))
    ev = o.wait_events(1, ev="close", name="half")[0]
    assert "error" not in ev, ev
    assert ev["rx"] == 24 * MiB and ev["rx_sha256"] == h.stream_sha256(32, 24 * MiB)
    assert h.wait_closed(s, 10) == "eof"
    check_path(lb, splice, at_least=2)
    wait_released(lb)


@both_paths
def test_client_reset_mid_bulk_download(edge, splice):
    """A client reads 8 MiB of a 1 GiB download, then resets: lb4 ends the connection (the
    backend sees its close long before 1 GiB) and frees its pipe."""
    o = edge.origin({"name": "src", "mode": "source", "n": 1024 * MiB, "seed": 41})
    lb = start_lb4(edge, o, "src", splice=splice)
    s = edge.connect(lb.address(), timeout=30)
    got, sha, end = recv_prefix(s, 8 * MiB)
    assert (got, sha) == (8 * MiB, h.stream_sha256(41, 8 * MiB)), end
    check_path(lb, splice)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    ev = o.wait_events(1, ev="close", name="src")[0]
    assert ev["tx"] < 1024 * MiB, ev
    wait_released(lb)


@both_paths
def test_backend_reset_mid_bulk_download(edge, splice):
    """The backend sends 16 MiB and resets: the client gets an intact prefix of the stream (what
    lb4 had read before the reset) and then EOF or a reset, not a stall; the pipe is freed."""
    o = edge.origin({"name": "rst", "mode": "reset", "n": 16 * MiB, "seed": 51})
    lb = start_lb4(edge, o, "rst", splice=splice)
    s = edge.connect(lb.address(), timeout=30)
    got, sha, end = recv_prefix(s)
    assert end in ("eof", "reset")
    assert got <= 16 * MiB and sha == h.stream_sha256(51, got), (got, end)
    wait_released(lb)


@both_paths
def test_slow_reader_holds_bulk_flow_bounded(edge, splice):
    """A client that stops reading a 256 MiB download: the backend stalls after a bounded amount
    (socket buffers plus what lb4 holds: at most 8 ring buffers or one pipe), lb4's RSS stays
    put; once the client reads again every byte arrives intact."""
    n = 256 * MiB
    o = edge.origin({"name": "slow", "mode": "source", "n": n, "seed": 61, "progress": "1"})
    lb = start_lb4(edge, o, "slow", splice=splice)
    # A first download warms lb4 up (its ring buffers are touched) before the baseline.
    warm = edge.connect(lb.address(), timeout=30)
    recv_prefix(warm, 32 * MiB)
    warm.close()
    wait_released(lb)
    baseline = lb.rss_kib()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.settimeout(30 * h.SLOW)
    s.connect(lb.address())
    edge.sockets.append(s)
    got, sha, _ = recv_prefix(s, 4 * MiB)  # bulk before the reader stops: spliced by now
    assert sha == h.stream_sha256(61, got)
    check_path(lb, splice)
    conn_id = o.events_where(ev="progress")[-1]["id"]  # the warm-up's connection has ended
    state = {"count": -1, "since": time.monotonic()}

    def stalled():
        progress = o.events_where(ev="progress", id=conn_id)
        if len(progress) != state["count"]:
            state["count"], state["since"] = len(progress), time.monotonic()
            return False
        return time.monotonic() - state["since"] >= 0.5
    h.wait_until(stalled, 30, "the backend to stall", interval=0.05)
    pushed = o.events_where(ev="progress", id=conn_id)[-1]["tx"]
    assert pushed < 64 * MiB, "the backend pushed %d bytes to a stalled reader" % pushed
    if not h.SANITIZED:
        grown = lb.rss_kib() - baseline
        assert grown < 2 * 1024, "lb4's RSS grew by %d KiB for one stalled reader" % grown
    rest, rest_sha, end = recv_prefix(s)
    assert end == "eof" and got + rest == n
    assert rest_sha == _suffix_sha(61, n, got)
    s.close()
    wait_released(lb)


def _suffix_sha(seed, n, skip):
    """sha256 of stream `seed` of n bytes without its first `skip` bytes."""
    digest = hashlib.sha256()
    for chunk in h.stream_chunks(seed, n):
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        digest.update(memoryview(chunk)[skip:])
        skip = 0
    return digest.hexdigest()


def test_idle_timeout_ends_spliced_connection(edge):
    """A spliced connection (the backend sent 8 MiB and waits for the client, which says
    nothing) is ended by idle_timeout like any other; its pipe is freed."""
    o = edge.origin({"name": "half", "mode": "halfsource", "n": 8 * MiB, "seed": 71})
    lb = edge.lb4([pool_of(o, "half")],
                  listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p",
                              "idle_timeout": "1s"}],
                  workers=1, admin="127.0.0.1:%d" % h.free_port())
    s = edge.connect(lb.address(), timeout=30)
    assert h.recv_to_eof(s) == (8 * MiB, h.stream_sha256(71, 8 * MiB))
    assert spliced(lb) >= 1
    h.wait_until(lambda: metric(lb, "lb4_errors_total", kind="idle_timeout") == 1, 5,
                 "the idle timeout")
    ev = o.wait_events(1, ev="close", name="half")[0]  # lb4 closed the backend side
    assert ev["tx"] == 8 * MiB, ev
    wait_released(lb)


def test_max_pipes_leaves_extra_bulk_flows_on_buffers(edge):
    """max_pipes = 1: of three concurrent bulk downloads one is spliced, the others are refused a
    pipe (counted) and stay on buffers; all three arrive intact."""
    o = edge.origin({"name": "src", "mode": "source", "n": 48 * MiB, "seed": 81})
    lb = start_lb4(edge, o, "src", max_pipes=1)
    socks = [edge.connect(lb.address(), timeout=60) for _ in range(3)]
    results = [None] * 3

    def read(i):
        results[i] = h.recv_to_eof(socks[i])
    readers = [threading.Thread(target=read, args=(i,)) for i in range(3)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(120 * h.SLOW)
    for i in range(3):
        assert results[i] == (48 * MiB, h.stream_sha256(81, 48 * MiB)), i
        socks[i].close()
    assert spliced(lb) >= 1
    assert metric(lb, "lb4_splice_flows_total", outcome="refused") >= 1
    wait_released(lb)


def test_small_exchanges_stay_on_buffers(edge):
    """Keep-alive-like traffic (a line each way, never a full buffer) never takes a pipe."""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = start_lb4(edge, o, "echo")
    s = edge.connect(lb.address())
    for i in range(200):
        line = b"request %d\n" % i
        s.sendall(line)
        assert h.recv_exact(s, len(line)) == line
    assert spliced(lb) == 0 and metric(lb, "lb4_splice_pipes") == 0


@pytest.mark.parametrize("pipe_size", ["64KiB", "1MiB"])
def test_pipe_sizes_byte_exact(edge, pipe_size):
    """The smallest and largest splice_pipe_size: 32 MiB both ways at once arrive intact."""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = start_lb4(edge, o, "echo", splice_pipe_size=pipe_size)
    n = 32 * MiB
    s = edge.connect(lb.address(), timeout=60)
    errors = []
    t = threading.Thread(target=send_stream, args=(s, 91, n, errors))
    t.start()
    got = h.recv_to_eof(s)
    t.join(60 * h.SLOW)
    assert not errors, errors
    assert got == (n, h.stream_sha256(91, n))
    s.close()
    check_path(lb, True, at_least=2)
    wait_released(lb)
