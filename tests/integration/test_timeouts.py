"""idle_timeout: an idle relayed connection is closed; traffic in either direction keeps it open."""

import socket
import time

import lb4_harness as h


def relay_with(edge, mode, idle):
    o = edge.origin({"name": "b", "mode": mode, "n": 0, "seed": 1})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("b")}]}],
                  listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p",
                              "idle_timeout": idle}])
    return o, lb


def test_idle_timeout_closes_idle_connection(edge):
    """idle_timeout 500ms: after the backend's greeting nothing moves; lb4 closes the client
    side no sooner than 500ms and well before 3s, and closes the backend side too."""
    o, lb = relay_with(edge, "name", "500ms")
    s = edge.connect(lb.address())
    assert h.read_line(s) == "b"
    t0 = time.monotonic()
    assert h.wait_closed(s, 5) in ("eof", "reset")
    elapsed = time.monotonic() - t0
    assert 0.45 <= elapsed < 3 * h.SLOW, elapsed
    ev = o.wait_events(1, ev="close", name="b")[0]
    assert ev["rx"] == 0, ev


def test_idle_timeout_counts_client_to_backend_traffic(edge):
    """idle_timeout 600ms: a client that sends one byte every 150ms for 1.5s (the backend, a sink,
    never answers) is not cut off; its bytes all arrive."""
    o, lb = relay_with(edge, "sink", "600ms")
    s = edge.connect(lb.address())
    end = time.monotonic() + 1.5
    sent = 0
    while time.monotonic() < end:
        s.sendall(b"x")
        sent += 1
        time.sleep(0.15)  # pacing the load, not ordering
    s.shutdown(socket.SHUT_WR)
    line = h.read_line(s)
    assert line is not None and line.split()[0] == str(sent), (line, sent)


def test_idle_timeout_restarts_after_activity(edge):
    """An echo round trip every 150ms for 1.5s keeps a 600ms idle_timeout from firing; once the
    client goes quiet the connection is closed 600ms after the last byte (not earlier)."""
    o, lb = relay_with(edge, "echo", "600ms")
    s = edge.connect(lb.address())
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        time.sleep(0.15)  # pacing the load, not ordering
        s.sendall(b"y")
        assert h.recv_exact(s, 1) == b"y"
    t0 = time.monotonic()
    assert h.wait_closed(s, 5) in ("eof", "reset")
    assert 0.55 <= time.monotonic() - t0 < 3 * h.SLOW


def test_idle_timeout_counts_backend_to_client_traffic(edge):
    """idle_timeout 600ms: a backend that sends one byte every 150ms for ~1.5s to a silent client
    keeps the connection alive: all 10 bytes, then the backend's EOF, arrive."""
    o = edge.origin({"name": "b", "mode": "drip", "n": 10, "interval": 150})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("b")}]}],
                  listeners=[{"name": "web", "bind": "127.0.0.1", "pool": "p",
                              "idle_timeout": "600ms"}])
    s = edge.connect(lb.address())
    assert h.recv_to_eof(s)[0] == 10


def test_idle_timeout_applies_to_half_closed_connection(edge):
    """The backend sends FIN at once (nothing else) and then waits; the client, having read that
    EOF, stays silent without closing. The half-closed connection is idle: after idle_timeout
    lb4 closes the backend side (the backend sees EOF) instead of keeping it forever."""
    o, lb = relay_with(edge, "halfsource", "500ms")
    s = edge.connect(lb.address())
    t0 = time.monotonic()
    assert h.wait_closed(s, 5) == "eof"  # the backend's FIN, relayed
    ev = o.wait_events(1, timeout=5, ev="close", name="b")[0]
    elapsed = time.monotonic() - t0
    assert "error" not in ev, ev
    assert 0.45 <= elapsed < 3 * h.SLOW, elapsed
