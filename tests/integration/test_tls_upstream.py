"""[pool.tls]: lb4 terminates the client's TLS (mode = "tls") and speaks TLS again to the backends,
verifying them against a CA, sending the configured SNI and resuming each backend's last session.
The backends are real TLS servers (Python's ssl, OpenSSL underneath) that report what they saw:
the SNI, whether the session was resumed, and the PROXY v2 header that lb4 sends in clear before
its ClientHello. The second half: the same pools under a mode = "tcp" listener (HAProxy's
`mode tcp` + `server ... ssl`): plain clients, TLS to the backends."""

import hashlib
import json
import os
import socket
import threading

import pytest

import lb4_harness as h
import tls_support as t

MiB = 1 << 20


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = t.Ca(str(d))
    other = t.Ca(str(d), name="Other CA")  # signs nothing lb4 trusts
    ca.front = ca.issue("front.test", ["front.test"])
    ca.origin = ca.issue("origin.internal", ["origin.internal"])
    ca.stranger = other.issue("stranger.internal", ["origin.internal"])
    ca.other = other
    return ca


@pytest.fixture
def origins():
    made = []

    def make(name, cert_key, **kw):
        o = t.TlsOrigin(name, *cert_key, **kw)
        made.append(o)
        return o

    yield make
    for o in made:
        o.close()


def upstream_lb4(edge, pki, backends, pool_tls, proxy="off", balance="round_robin", start=True,
                 mode="tls", lb4_section=None, listener_keys=None, **pool):
    """lb4 with one pool "p" with [pool.tls] `pool_tls`, behind one listener: mode = "tls" (the
    client's TLS terminated with pki.front) or mode = "tcp" (plain clients)."""
    p = {"name": "p", "balance": balance, "connect_timeout": "2s",
         "backends": [{"address": b if isinstance(b, str) else b.address()} for b in backends],
         "tls": pool_tls}
    p.update(pool)
    listener = {"name": mode, "bind": "127.0.0.1", "mode": mode, "pool": "p",
                "proxy_protocol": proxy}
    listener.update(listener_keys or {})
    if mode == "tls":
        listener["tls"] = {"certificates": [{"cert": pki.front[0], "key": pki.front[1]}]}
    return edge.lb4([p], listeners=[listener], admin="127.0.0.1:%d" % h.free_port(),
                    log_level=os.environ.get("LB4_LOG_LEVEL", "info"), start=start,
                    **(lb4_section or {}))


def info(lb, pki):
    line = t.ask_info(lb.address(), "front.test", t.client_context(pki.cert))
    assert line is not None and line.startswith("name="), line
    return t.info_fields(line)


def test_round_trip_sni_proxy_header_and_session_reuse(edge, pki, origins):
    o = origins("tlsorigin", pki.origin, proxy=True)
    lb = upstream_lb4(edge, pki, [o], {"ca_file": pki.cert, "sni": "origin.internal",
                                       "alpn": ["http/1.1"]}, proxy="v2")
    first = info(lb, pki)
    assert first["name"] == "tlsorigin"
    assert first["sni"] == "origin.internal"  # the configured name, not the client's
    assert first["alpn"] == "http/1.1"
    assert first["version"] == "TLSv1.3"
    assert first["proxy"].startswith("127.0.0.1:")  # PROXY v2 in clear before the ClientHello
    assert first["reused"] == "False"
    # The next connection to that backend resumes the session the first one received.
    second = info(lb, pki)
    assert second["reused"] == "True"
    assert info(lb, pki)["reused"] == "True"
    assert o.accepted == 3
    # A client's own round trip through both TLS legs.
    s = t.tls_connect(lb.address(), "front.test", t.client_context(pki.cert))
    s.sendall(b"ECHO\n")
    s.sendall(b"through two TLS sessions\n")
    assert h.read_line(s) == "through two TLS sessions"
    s.close()


def test_session_reuse_off_means_full_handshakes(edge, pki, origins):
    o = origins("tlsorigin", pki.origin)
    lb = upstream_lb4(edge, pki, [o], {"ca_file": pki.cert, "sni": "origin.internal",
                                       "session_reuse": False})
    assert [info(lb, pki)["reused"] for _ in range(3)] == ["False"] * 3


def test_tls12_backend_session_reused(edge, pki, origins):
    o = origins("tls12", pki.origin)
    o.ctx.maximum_version = __import__("ssl").TLSVersion.TLSv1_2
    lb = upstream_lb4(edge, pki, [o], {"ca_file": pki.cert, "sni": "origin.internal"})
    first, second = info(lb, pki), info(lb, pki)
    assert first["version"] == second["version"] == "TLSv1.2"
    assert (first["reused"], second["reused"]) == ("False", "True")


def _closed_cleanly(lb, pki):
    """A client of a listener whose backends all fail verification: the TLS handshake with lb4
    succeeds, then lb4 ends the connection (close_notify or EOF), sending no data."""
    s = t.tls_connect(lb.address(), "front.test", t.client_context(pki.cert))
    s.settimeout(10 * h.SLOW)
    try:
        s.sendall(b"INFO\n")
        data = s.recv(4096)
    except (OSError, __import__("ssl").SSLError) as e:
        data = repr(e).encode()
    s.close()
    return data


def info_via(lb, pki, mode):
    """The INFO line through a listener of `mode`: a TLS client for "tls", a plain one for "tcp"."""
    return info(lb, pki) if mode == "tls" else plain_info(lb)


@pytest.mark.parametrize("mode", ["tls", "tcp"])
def test_wrong_ca_refused_counted_next_backend_tried(edge, pki, origins, mode):
    bad = origins("stranger", pki.stranger)  # a certificate from a CA lb4 does not trust
    good = origins("good", pki.origin)
    lb = upstream_lb4(edge, pki, [bad, good], {"ca_file": pki.cert, "sni": "origin.internal"},
                      connect_retries=1, mode=mode)
    names = [info_via(lb, pki, mode)["name"] for _ in range(6)]
    assert names == ["good"] * 6  # every connection that met the stranger moved on
    assert bad.accepted >= 3
    failures = t.metric(lb, "lb4_backend_connect_failures_total", pool="p",
                        backend=bad.address())
    assert failures == bad.accepted
    assert t.metric(lb, "lb4_backend_connect_failures_total", pool="p",
                    backend=good.address()) == 0
    assert "certificate verify failed" in lb.stderr() or \
        "unable to get local issuer certificate" in lb.stderr()


def test_only_wrong_ca_backends_client_closed(edge, pki, origins):
    bad = origins("stranger", pki.stranger)
    lb = upstream_lb4(edge, pki, [bad], {"ca_file": pki.cert, "sni": "origin.internal"},
                      connect_retries=0)
    assert _closed_cleanly(lb, pki) == b""
    assert bad.accepted == 1
    assert lb.running()
    # lb4 goes on serving: a good backend after a reload is reached.
    good = origins("good", pki.origin)
    lb.pools[0]["backends"] = [{"address": good.address()}]
    assert t.reload(lb) == "ok"
    assert info(lb, pki)["name"] == "good"


@pytest.mark.parametrize("mode", ["tls", "tcp"])
def test_silent_backend_times_out_next_backend_tried(edge, pki, origins, mode):
    """A backend that takes the TCP connection but never answers the ClientHello: after
    connect_timeout lb4 gives up on it (its recv cancelled first) and uses the next one."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # never accepts: the kernel completes the TCP handshakes, nobody reads
    try:
        good = origins("good", pki.origin)
        lb = upstream_lb4(edge, pki, ["127.0.0.1:%d" % silent.getsockname()[1], good],
                          {"ca_file": pki.cert, "sni": "origin.internal"},
                          connect_timeout="300ms", connect_retries=1, mode=mode)
        assert [info_via(lb, pki, mode)["name"] for _ in range(4)] == ["good"] * 4
        assert t.metric(lb, "lb4_errors_total", kind="connect_timeout") >= 2
        assert t.metric(lb, "lb4_errors_total", kind="connect_timeout") == \
            t.metric(lb, "lb4_errors_total", kind="connect_failure")
    finally:
        silent.close()


def test_sni_must_match_the_certificate(edge, pki, origins):
    o = origins("tlsorigin", pki.origin)
    lb = upstream_lb4(edge, pki, [o], {"ca_file": pki.cert, "sni": "elsewhere.internal"},
                      connect_retries=0)
    assert _closed_cleanly(lb, pki) == b""
    assert o.accepted == 1


def test_verify_false_accepts_any_certificate_without_sni(edge, pki, origins):
    o = origins("stranger", pki.stranger)
    lb = upstream_lb4(edge, pki, [o], {"verify": False})
    got = info(lb, pki)
    assert got["name"] == "stranger" and got["sni"] == "None"  # no SNI was sent


def test_10_mib_byte_identical(edge, pki, origins):
    o = origins("tlsorigin", pki.origin)
    lb = upstream_lb4(edge, pki, [o], {"ca_file": pki.cert, "sni": "origin.internal"})
    s = t.tls_connect(lb.address(), "front.test", t.client_context(pki.cert), timeout=60)
    s.sendall(b"ECHO\n")
    sent, echoed, n = t.echo_transfer(s, 10 * MiB)
    assert n == 10 * MiB and echoed == sent
    s.unwrap()  # close_notify to lb4, which passes one on to the origin; it closes; so does lb4
    s.close()


def test_check_refuses_missing_ca(edge, pki, origins, tmp_path):
    o = origins("tlsorigin", pki.origin)
    lb = upstream_lb4(edge, pki, [o], {"ca_file": str(tmp_path / "missing.pem")}, start=False)
    r = h.run_lb4(["--check", "-c", lb.config_path])
    assert r.returncode == 2
    assert "pool \"p\": tls: ca_file" in r.stderr


# --- mode = "tcp" listeners: plain clients, TLS to the backends ---

def tcp_lb4(edge, pki, backends, pool_tls, **kw):
    return upstream_lb4(edge, pki, backends, pool_tls, mode="tcp", **kw)


def verified(pki):
    return {"ca_file": pki.cert, "sni": "origin.internal"}


def plain_info(lb):
    s = h.connect(lb.address(), timeout=20)
    try:
        s.sendall(b"INFO\n")
        line = h.read_line(s)
    finally:
        s.close()
    assert line is not None and line.startswith("name="), line
    return t.info_fields(line)


def read_all(s):
    got = b""
    while True:
        b = s.recv(1 << 16)
        if not b:
            return got
        got += b


def test_tcp_listener_round_trip_sni_and_session_reuse(edge, pki, origins):
    o = origins("tlsorigin", pki.origin)
    lb = tcp_lb4(edge, pki, [o], dict(verified(pki), alpn=["http/1.1"]))
    first = plain_info(lb)
    assert first["name"] == "tlsorigin"
    assert first["sni"] == "origin.internal"
    assert first["alpn"] == "http/1.1"
    assert first["version"] == "TLSv1.3"
    assert first["reused"] == "False"
    # The next connections to that backend resume the session the first one received.
    assert [plain_info(lb)["reused"] for _ in range(2)] == ["True", "True"]
    assert o.accepted == 3
    # No client TLS: nothing counted as a handshake with a client.
    assert t.metric(lb, "lb4_tls_handshakes_total", resumed="false") == 0


# 64 KiB: a plain recv buffer spans several TLS records (a partial-write SSL_write each time).
@pytest.mark.parametrize("buffer_size", ["16KiB", "64KiB"])
def test_tcp_listener_10_mib_both_ways_byte_identical(edge, pki, origins, buffer_size):
    o = origins("tlsorigin", pki.origin)
    lb = tcp_lb4(edge, pki, [o], verified(pki), lb4_section={"buffer_size": buffer_size})
    s = h.connect(lb.address(), timeout=60 * h.SLOW)
    s.sendall(b"ECHO\n")
    total = 10 * MiB
    data = os.urandom(total)
    sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    sender.start()
    got = read_all(s)  # the echo, then EOF: the origin's close_notify became a FIN
    sender.join()
    s.close()
    assert len(got) == total
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()


def test_tcp_listener_half_close_client_still_gets_the_reply(edge, pki, origins):
    """The client shuts its write side: lb4 sends close_notify + FIN to the backend, which
    answers (its echo) and closes; the client reads all of it, then EOF."""
    o = origins("tlsorigin", pki.origin)
    lb = tcp_lb4(edge, pki, [o], verified(pki))
    s = h.connect(lb.address(), timeout=20)
    s.sendall(b"ECHO\nafter half-close\n")
    s.shutdown(socket.SHUT_WR)
    assert read_all(s) == b"after half-close\n"
    s.close()


def test_tcp_listener_proxy_v2_in_clear_without_tls_tlvs(edge, pki, origins):
    o = origins("tlsorigin", pki.origin, proxy=True)
    lb = tcp_lb4(edge, pki, [o], verified(pki), proxy="v2")
    s = h.connect(lb.address(), timeout=20)
    local = "%s:%d" % s.getsockname()
    s.sendall(b"INFO\n")
    line = t.info_fields(h.read_line(s))
    s.close()
    assert line["proxy"] == local  # read in clear before the ClientHello
    assert o.proxy_tlv_bytes == [0]  # the client had no TLS: no SSL TLV


def test_tcp_listener_all_backends_bad_client_closed(edge, pki, origins):
    bad = origins("stranger", pki.stranger)
    lb = tcp_lb4(edge, pki, [bad], verified(pki), connect_retries=0)
    s = h.connect(lb.address(), timeout=10 * h.SLOW)
    try:
        s.sendall(b"INFO\n")
        data = read_all(s)
    except OSError:
        data = b""
    s.close()
    assert data == b""
    assert bad.accepted == 1
    assert lb.running()


def test_tcp_listener_reload_keeps_live_connections(edge, pki, origins):
    """A reload moves the pool to another TLS backend: new connections go there, a connection
    relayed before it goes on with the old backend until it ends."""
    old = origins("old", pki.origin)
    lb = tcp_lb4(edge, pki, [old], verified(pki))
    live = h.connect(lb.address(), timeout=10 * h.SLOW)
    live.sendall(b"ECHO\nbefore\n")
    assert h.read_line(live) == "before"
    new = origins("new", pki.origin)
    lb.pools[0]["backends"] = [{"address": new.address()}]
    assert t.reload(lb) == "ok"
    assert plain_info(lb)["name"] == "new"
    live.sendall(b"after\n")
    assert h.read_line(live) == "after"
    live.shutdown(socket.SHUT_WR)
    assert read_all(live) == b""
    live.close()


def test_tcp_listener_idle_timeout(edge, pki, origins):
    """An echo connection where nothing moves: lb4 ends it after idle_timeout and counts it."""
    o = origins("tlsorigin", pki.origin)
    lb = tcp_lb4(edge, pki, [o], verified(pki), listener_keys={"idle_timeout": "500ms"})
    s = h.connect(lb.address(), timeout=10 * h.SLOW)
    s.sendall(b"ECHO\nping\n")
    assert h.read_line(s) == "ping"
    assert read_all(s) == b""  # closed by lb4, the client never ended its side
    s.close()
    assert t.metric(lb, "lb4_errors_total", kind="idle_timeout") == 1


def test_tcp_listener_per_source_limit(edge, pki, origins):
    # One worker: the per-source table is per worker (README), and with two the second
    # connection may land on the other one.
    o = origins("tlsorigin", pki.origin)
    lb = tcp_lb4(edge, pki, [o], verified(pki), lb4_section={"workers": 1},
                 listener_keys={"max_connections_per_source": 1})
    first = h.connect(lb.address(), timeout=10 * h.SLOW)
    first.sendall(b"ECHO\nheld\n")
    assert h.read_line(first) == "held"  # relayed: it holds the source's one place
    second = h.connect(lb.address(), timeout=10 * h.SLOW)
    try:
        second.sendall(b"INFO\n")
        refused = read_all(second) == b""
    except OSError:
        refused = True
    second.close()
    assert refused
    assert t.metric(lb, "lb4_connections_refused_total", listener="tcp",
                    reason="per_source_limit") == 1
    first.close()
    # The place is given back when the relay ends.
    h.wait_until(lambda: plain_info_or_none(lb), 10, "a new connection from the source")


def plain_info_or_none(lb):
    try:
        return plain_info(lb)
    except (OSError, AssertionError):
        return None


def test_tcp_listener_connection_log_says_tcp(edge, pki, origins, tmp_path):
    o = origins("tlsorigin", pki.origin)
    log = str(tmp_path / "conn.log")
    lb = tcp_lb4(edge, pki, [o], verified(pki), lb4_section={"access_log": {"path": log}})
    plain_info(lb)
    lines = h.wait_until(lambda: open(log).read().splitlines() if os.path.exists(log) else None,
                         10, "a connection log line")
    line = json.loads(lines[0])
    assert line["mode"] == "tcp" and line["backend"] == o.address()
    assert line["tls_version"] is None  # about the client's TLS; it had none


def test_check_accepts_tcp_listener_and_refuses_what_it_should(edge, pki, origins, tmp_path):
    o = origins("tlsorigin", pki.origin)
    lb = tcp_lb4(edge, pki, [o], verified(pki), start=False)
    r = h.run_lb4(["--check", "-c", lb.config_path])
    assert r.returncode == 0, r.stderr
    missing = tcp_lb4(edge, pki, [o], {"ca_file": str(tmp_path / "missing.pem")}, start=False)
    r = h.run_lb4(["--check", "-c", missing.config_path])
    assert r.returncode == 2
    assert "pool \"p\": tls: ca_file" in r.stderr
