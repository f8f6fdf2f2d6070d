"""The relay itself: bytes arrive intact in both directions, half-close works both ways, many
connections at once, IPv6 on both sides."""

import socket
import threading

import pytest

import lb4_harness as h

MiB = 1 << 20


def pool_of(origin, *names, **extra):
    pool = {"name": "p", "balance": "round_robin",
            "backends": [{"address": origin.address(n)} for n in names]}
    pool.update(extra)
    return pool


def send_stream(sock, seed, n, result):
    """Sends n bytes of stream `seed`, then shutdown(SHUT_WR); stores an exception in result."""
    try:
        for chunk in h.stream_chunks(seed, n):
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
    except BaseException as e:  # reported by the main thread
        result.append(e)


def test_echo_100mib_full_duplex(edge):
    """100 MiB up and 100 MiB down at the same time through lb4 arrive byte-identical."""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = edge.lb4([pool_of(o, "echo")])
    n, seed = 100 * MiB, 11
    s = edge.connect(lb.address(), timeout=60)
    errors = []
    t = threading.Thread(target=send_stream, args=(s, seed, n, errors))
    t.start()
    try:
        got, sha = h.recv_to_eof(s)
    finally:
        t.join(timeout=60 * h.SLOW)
    assert not t.is_alive() and not errors, errors
    assert got == n
    assert sha == h.stream_sha256(seed, n)
    ev = o.wait_events(1, ev="close", name="echo")[0]
    assert "error" not in ev, ev
    assert ev["rx"] == n and ev["rx_sha256"] == sha


def test_upload_100mib_then_reply_after_half_close(edge):
    """Client -> backend: 100 MiB, then the client's FIN; the backend (sink) sees exactly the
    bytes sent, and its reply written after that FIN still reaches the client."""
    o = edge.origin({"name": "sink", "mode": "sink"})
    lb = edge.lb4([pool_of(o, "sink")])
    n, seed = 100 * MiB, 12
    s = edge.connect(lb.address(), timeout=60)
    errors = []
    send_stream(s, seed, n, errors)
    assert not errors, errors
    reply = h.read_line(s)
    assert reply == "%d %s" % (n, h.stream_sha256(seed, n))
    assert h.wait_closed(s, 10) == "eof"


def test_download_100mib(edge):
    """Backend -> client: 100 MiB from a source backend arrive byte-identical, then EOF."""
    o = edge.origin({"name": "src", "mode": "source", "n": 100 * MiB, "seed": 13})
    lb = edge.lb4([pool_of(o, "src")])
    s = edge.connect(lb.address(), timeout=60)
    s.shutdown(socket.SHUT_WR)  # the client has nothing to say: its FIN must not cut the download
    got, sha = h.recv_to_eof(s)
    assert (got, sha) == (100 * MiB, h.stream_sha256(13, 100 * MiB))


def test_half_close_backend_first(edge):
    """The backend sends, then shuts down its write side; the client sees EOF, and can still send:
    the backend receives those bytes, then the client's FIN."""
    o = edge.origin({"name": "half", "mode": "halfsource", "n": 3 * MiB + 17, "seed": 14})
    lb = edge.lb4([pool_of(o, "half")])
    s = edge.connect(lb.address())
    got, sha = h.recv_to_eof(s)  # EOF relayed from the backend
    assert (got, sha) == (3 * MiB + 17, h.stream_sha256(14, 3 * MiB + 17))
    errors = []
    send_stream(s, 15, 2 * MiB + 5, errors)  # still allowed after receiving EOF
    assert not errors, errors
    ev = o.wait_events(1, ev="close", name="half")[0]
    assert "error" not in ev, ev
    assert ev["rx"] == 2 * MiB + 5 and ev["rx_sha256"] == h.stream_sha256(15, 2 * MiB + 5)
    assert h.wait_closed(s, 10) == "eof"


def test_half_close_client_first_small(edge):
    """A few bytes and an immediate FIN from the client (often in the same segment as the data,
    before lb4 has even connected to the backend): the backend gets both, in order."""
    o = edge.origin({"name": "sink", "mode": "sink"})
    lb = edge.lb4([pool_of(o, "sink")])
    for payload in (b"x", b"hello world\n" * 100):
        s = edge.connect(lb.address())
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        import hashlib
        assert h.read_line(s) == "%d %s" % (len(payload), hashlib.sha256(payload).hexdigest())
        assert h.wait_closed(s, 10) == "eof"
        s.close()


def test_immediate_close_without_data(edge):
    """A client that connects and closes at once (no data) is cleaned up: the backend sees EOF
    and lb4 keeps serving."""
    o = edge.origin({"name": "sink", "mode": "sink"})
    lb = edge.lb4([pool_of(o, "sink")])
    for _ in range(20):
        edge.connect(lb.address()).close()
    closes = o.wait_events(20, ev="close", name="sink")
    assert all(e["rx"] == 0 for e in closes), closes
    s = edge.connect(lb.address())
    s.sendall(b"abc")
    s.shutdown(socket.SHUT_WR)
    assert h.read_line(s).startswith("3 ")


def echo_streams_concurrently(address, count, n, first_seed, timeout):
    """`count` connections at once to `address`, each sending its own n-byte stream (seeded
    first_seed + i) and reading the echo to EOF; asserts every echo is byte-identical."""
    results = {}

    def one(i):
        try:
            s = h.connect(address, timeout=timeout)
            try:
                errors = []
                t = threading.Thread(target=send_stream, args=(s, first_seed + i, n, errors))
                t.start()
                results[i] = h.recv_to_eof(s)
                t.join(timeout * h.SLOW)
                if errors:
                    results[i] = errors[0]
            finally:
                s.close()
        except BaseException as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(1.5 * timeout * h.SLOW)
    assert not any(t.is_alive() for t in threads)
    for i in range(count):
        assert results.get(i) == (n, h.stream_sha256(first_seed + i, n)), (i, results.get(i))


def test_many_concurrent_echo_connections(edge):
    """64 connections at once, each echoing its own 1 MiB stream, over 2 workers: no mix-ups."""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = edge.lb4([pool_of(o, "echo")], buffers_per_worker=256)
    echo_streams_concurrently(lb.address(), 64, MiB, 100, 40)


def test_ipv6_listener_and_backend(edge):
    """An IPv6 listener ([::1]:port) relaying to an IPv6 backend ("[::1]:port") both ways."""
    o = edge.origin({"name": "echo6", "mode": "echo", "host": "::1"},
                    {"name": "name6", "mode": "name", "host": "::1"})
    assert o.address("echo6").startswith("[::1]:")
    lb = edge.lb4([pool_of(o, "echo6", name="echo6"), pool_of(o, "name6", name="name6")],
                  listeners=[{"name": "v6", "bind": "::1", "pool": "echo6"},
                             {"name": "v6name", "bind": "::1", "pool": "name6"},
                             {"name": "v4to6", "bind": "127.0.0.1", "pool": "name6"}])
    s = edge.connect(lb.address("v6"))
    assert s.family == socket.AF_INET6
    errors = []
    send_stream(s, 21, 5 * MiB, errors)
    assert not errors
    assert h.recv_to_eof(s) == (5 * MiB, h.stream_sha256(21, 5 * MiB))
    assert h.ask_name(lb.address("v6name")) == "name6"
    assert h.ask_name(lb.address("v4to6")) == "name6"  # IPv4 client, IPv6 backend
    peer = o.wait_events(1, ev="open", name="echo6")[0]["peer"]
    assert peer[0] == "::1"


def test_2000_concurrent_connections(edge):
    """2000 connections open at the same time (4000 descriptors in lb4), each sending its own
    32 KiB then FIN, and reading the echo to EOF: every one gets exactly its bytes back."""
    import selectors
    count, size = 2000, 32 * 1024
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = edge.lb4([pool_of(o, "echo")], workers=2)
    sel = selectors.DefaultSelector()
    state = {}
    for i in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(lb.address())
        edge.sockets.append(s)
        payload = (b"%06d" % i) * (size // 6) + b"#" * (size % 6)
        state[s] = {"i": i, "out": memoryview(payload), "in": bytearray(), "want": payload}
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    open_count = count
    d = h.Deadline(60)
    while open_count and not d.expired():
        for key, mask in sel.select(timeout=0.5):
            s, st = key.fileobj, state[key.fileobj]
            if mask & selectors.EVENT_WRITE and st["out"] is not None:
                try:
                    n = s.send(st["out"][:65536])
                except (BlockingIOError, InterruptedError):
                    n = 0
                st["out"] = st["out"][n:]
                if not st["out"]:
                    s.shutdown(socket.SHUT_WR)
                    st["out"] = None
                    sel.modify(s, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    data = b""
                    st["reset"] = True
                if data:
                    st["in"] += data
                else:
                    sel.unregister(s)
                    open_count -= 1
    assert open_count == 0, "%d connections still open after the deadline" % open_count
    bad = [st["i"] for st in state.values() if bytes(st["in"]) != st["want"]]
    assert not bad, "%d connections got the wrong bytes, e.g. #%d: %d bytes%s" % (
        len(bad), bad[0], len(state_of(state, bad[0])["in"]),
        " (reset)" if state_of(state, bad[0]).get("reset") else "")
    assert len(o.wait_events(count, ev="close")) == count


def state_of(state, i):
    return next(st for st in state.values() if st["i"] == i)


def test_tiny_buffers_and_ring(edge):
    """buffer_size 1KiB and a 16-buffer ring shared by 8 full-duplex echo connections of 8 MiB
    each: constant ring exhaustion (-ENOBUFS pauses), backpressure and sendmsg over many small
    chunks (partial sends across chunk boundaries), and every byte still arrives in order."""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = edge.lb4([pool_of(o, "echo")], workers=1, buffer_size="1KiB", buffers_per_worker=16)
    echo_streams_concurrently(lb.address(), 8, 8 * MiB, 300, 60)


@pytest.mark.parametrize("buffers", [1, 2, 4])
def test_small_buffer_ring_does_not_stall(edge, buffers):
    """A ring of 1, 2 or 4 buffers of 1KiB (all accepted by the config); three full-duplex echo
    connections of 1 MiB, one after the other: slow, but each must finish. (lb4 used to stall
    for good here: a flow that got -ENOBUFS registered as a waiter after the buffers had already
    come back, and nothing woke it again.)"""
    o = edge.origin({"name": "echo", "mode": "echo"})
    lb = edge.lb4([pool_of(o, "echo")], workers=1, buffer_size="1KiB",
                  buffers_per_worker=buffers, drain_timeout="1s")
    n = MiB
    for attempt in range(3):
        s = edge.connect(lb.address(), timeout=3)  # 3s without a byte moving = stalled
        errors = []
        t = threading.Thread(target=send_stream, args=(s, 61 + attempt, n, errors), daemon=True)
        t.start()
        got, sha, stalled = h.recv_until_eof_or_stall(s)
        s.close()
        t.join(10 * h.SLOW)
        assert not stalled and got == n, (
            "echo #%d stalled: %d of %d bytes back, then nothing for 3s" % (attempt, got, n))
        assert sha == h.stream_sha256(61 + attempt, n)
