"""[pool.tls]: lb4 terminates the client's TLS (mode = "tls") and speaks TLS again to the backends,
verifying them against a CA, sending the configured SNI and resuming each backend's last session.
The backends are real TLS servers (Python's ssl, OpenSSL underneath) that report what they saw:
the SNI, whether the session was resumed, and the PROXY v2 header that lb4 sends in clear before
its ClientHello."""

import os
import socket

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
                 **pool):
    p = {"name": "p", "balance": balance, "connect_timeout": "2s",
         "backends": [{"address": b if isinstance(b, str) else b.address()} for b in backends],
         "tls": pool_tls}
    p.update(pool)
    listener = {"name": "tls", "bind": "127.0.0.1", "mode": "tls", "pool": "p",
                "proxy_protocol": proxy,
                "tls": {"certificates": [{"cert": pki.front[0], "key": pki.front[1]}]}}
    return edge.lb4([p], listeners=[listener], admin="127.0.0.1:%d" % h.free_port(),
                    log_level=os.environ.get("LB4_LOG_LEVEL", "info"), start=start)


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


def test_wrong_ca_refused_counted_next_backend_tried(edge, pki, origins):
    bad = origins("stranger", pki.stranger)  # a certificate from a CA lb4 does not trust
    good = origins("good", pki.origin)
    lb = upstream_lb4(edge, pki, [bad, good], {"ca_file": pki.cert, "sni": "origin.internal"},
                      connect_retries=1)
    names = [info(lb, pki)["name"] for _ in range(6)]
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


def test_silent_backend_times_out_next_backend_tried(edge, pki, origins):
    """A backend that takes the TCP connection but never answers the ClientHello: after
    connect_timeout lb4 gives up on it (its recv cancelled first) and uses the next one."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)  # never accepts: the kernel completes the TCP handshakes, nobody reads
    try:
        good = origins("good", pki.origin)
        lb = upstream_lb4(edge, pki, ["127.0.0.1:%d" % silent.getsockname()[1], good],
                          {"ca_file": pki.cert, "sni": "origin.internal"},
                          connect_timeout="300ms", connect_retries=1)
        assert [info(lb, pki)["name"] for _ in range(4)] == ["good"] * 4
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
