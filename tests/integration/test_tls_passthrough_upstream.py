"""mode = "tls_passthrough" with [pool.tls]: lb4 sniffs the ClientHello to pick the pool by SNI,
then carries the client's own TLS bytes (the sniffed hello included) inside its own TLS session
to the backend: TLS in TLS, as a tcp listener with [pool.tls] does, plus SNI routing. The
backends here terminate both layers: the outer session with lb4 (verified against the CA lb4
trusts, with the pool's `sni`), and inside it the client's session (Python's ssl on memory BIOs),
whose certificate the client verifies for the name it asked for."""

import os
import socket
import ssl

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
    ca.origin = ca.issue("origin.internal", ["origin.internal"])  # the outer layer, to lb4
    ca.stranger = other.issue("stranger.internal", ["origin.internal"])
    ca.api = ca.issue("api", ["api.example.com"])  # the inner layer, to the client
    ca.web = ca.issue("web", ["web.example.com"])
    return ca


class TlsInTlsOrigin(t.TlsOrigin):
    """A backend of a [pool.tls] pool under a passthrough listener: TLS with lb4 outside (the
    TlsOrigin's context), the client's TLS inside. Inner commands: "INFO\\n" (one line: name, the
    inner SNI, the outer SNI lb4 sent) and "ECHO\\n" (everything after it echoed back until the
    client closes)."""

    def __init__(self, name, outer, inner):
        self.inner = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.inner.load_cert_chain(*inner)
        self.outer_snis = []
        self.completed = 0  # connections whose inner exchange finished
        super().__init__(name, *outer, alpn=None)
        self.outer = self.ctx
        self.outer.sni_callback = lambda obj, name, ctx: self.outer_snis.append(name)

    def _handle(self, raw):
        raw.settimeout(60)
        try:
            s = self.outer.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        inner_sni = []
        self.inner.sni_callback = lambda obj, name, ctx: inner_sni.append(name)
        obj = self.inner.wrap_bio(incoming, outgoing, server_side=True)

        def flush():
            data = outgoing.read()
            if data:
                s.sendall(data)

        def fill():
            data = s.recv(1 << 16)
            if not data:
                raise EOFError
            incoming.write(data)

        def call(fn, *args):
            while True:
                try:
                    return fn(*args)
                except ssl.SSLWantReadError:
                    flush()
                    fill()

        try:
            call(obj.do_handshake)
            flush()
            line = b""
            while not line.endswith(b"\n"):
                line += call(obj.read, 1)
            if line.startswith(b"INFO"):
                call(obj.write, ("name=%s sni=%s outer_sni=%s\n" % (
                    self.name, inner_sni[0] if inner_sni else "",
                    self.outer_snis[-1] if self.outer_snis else "")).encode())
            elif line.startswith(b"ECHO"):
                while True:  # until the client's close_notify (SSLZeroReturnError) or EOF
                    data = call(obj.read, 1 << 16)
                    if not data:
                        break
                    call(obj.write, data)
                    flush()
            flush()
            self.completed += 1
            try:
                obj.unwrap()
            except ssl.SSLError:
                pass
            flush()
            s.unwrap()
        except (ssl.SSLError, OSError, EOFError, ValueError):  # (SSLZeroReturnError among them)
            pass
        finally:
            s.close()


@pytest.fixture
def made():
    objs = []
    yield objs
    for o in objs:
        o.close()


def passthrough_lb4(edge, pki, secure_backends, plain_backend, **pool):
    """A passthrough listener: SNI api.example.com -> pool "secure" ([pool.tls], verified against
    the CA with sni origin.internal); anything else -> pool "plain" (passthrough as before)."""
    secure = {"name": "secure", "balance": "round_robin", "connect_timeout": "2s",
              "backends": [{"address": b.address()} for b in secure_backends],
              "tls": {"ca_file": pki.cert, "sni": "origin.internal"}}
    secure.update(pool)
    plain = {"name": "plain", "balance": "round_robin",
             "backends": [{"address": plain_backend.address()}]}
    listener = {"name": "pt", "bind": "127.0.0.1", "mode": "tls_passthrough", "pool": "plain",
                "routes": [{"sni": "api.example.com", "pool": "secure"}]}
    return edge.lb4([secure, plain], listeners=[listener], admin="127.0.0.1:%d" % h.free_port(),
                    log_level=os.environ.get("LB4_LOG_LEVEL", "info"))


def info(lb, pki, sni):
    line = t.ask_info(lb.address(), sni, t.client_context(pki.cert))
    assert line is not None, "closed before the backend answered"
    return t.info_fields(line)


def test_sni_routes_to_a_tls_backend_and_the_client_tls_rides_inside(edge, pki, made):
    secure = TlsInTlsOrigin("secure", pki.origin, pki.api)
    plain = t.TlsOrigin("plain", *pki.web)
    made += [secure, plain]
    lb = passthrough_lb4(edge, pki, [secure], plain)
    got = info(lb, pki, "api.example.com")
    # The client's session reached the backend's inner server (its certificate verified for the
    # client's name), inside lb4's session, which carried the pool's sni.
    assert got["name"] == "secure" and got["sni"] == "api.example.com", got
    assert got["outer_sni"] == "origin.internal", got
    # Another name: the listener's pool, passed through untouched as before.
    other = info(lb, pki, "web.example.com")
    assert other["name"] == "plain" and other["sni"] == "web.example.com", other
    assert t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="routed") == 1
    assert t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="default_pool") == 1


@pytest.mark.parametrize("size", [1, 100_000, 3 * MiB])
def test_data_both_ways_byte_identical(edge, pki, made, size):
    secure = TlsInTlsOrigin("secure", pki.origin, pki.api)
    plain = t.TlsOrigin("plain", *pki.web)
    made += [secure, plain]
    lb = passthrough_lb4(edge, pki, [secure], plain)
    s = t.tls_connect(lb.address(), "api.example.com", t.client_context(pki.cert), timeout=60)
    s.sendall(b"ECHO\n")
    # Both directions busy at once, from one thread (an ssl socket is not for two).
    sent, echoed, n = t.echo_transfer(s, size)
    assert n == size and echoed == sent
    s.close()


def test_wrong_ca_backend_refused_next_backend_tried(edge, pki, made):
    bad = TlsInTlsOrigin("stranger", pki.stranger, pki.api)  # outer cert from an untrusted CA
    good = TlsInTlsOrigin("good", pki.origin, pki.api)
    plain = t.TlsOrigin("plain", *pki.web)
    made += [bad, good, plain]
    lb = passthrough_lb4(edge, pki, [bad, good], plain, connect_retries=1)
    names = [info(lb, pki, "api.example.com")["name"] for _ in range(6)]
    assert names == ["good"] * 6  # every connection that met the stranger moved on
    assert bad.accepted >= 3 and bad.completed == 0
    assert t.metric(lb, "lb4_backend_connect_failures_total", pool="secure",
                    backend=bad.address()) == bad.accepted
    assert t.metric(lb, "lb4_backend_connect_failures_total", pool="secure",
                    backend=good.address()) == 0
    assert "certificate verify failed" in lb.stderr() or \
        "unable to get local issuer certificate" in lb.stderr()


def test_only_wrong_ca_backends_client_closed_lb4_serves_on(edge, pki, made):
    bad = TlsInTlsOrigin("stranger", pki.stranger, pki.api)
    plain = t.TlsOrigin("plain", *pki.web)
    made += [bad, plain]
    lb = passthrough_lb4(edge, pki, [bad], plain, connect_retries=0)
    s = h.connect(lb.address())
    ctx = t.client_context(pki.cert)
    with pytest.raises((ssl.SSLError, OSError)):
        # lb4 ends the connection before any server answers the client's hello.
        c = ctx.wrap_socket(s, server_hostname="api.example.com")
        c.sendall(b"INFO\n")
        if not c.recv(100):
            raise OSError("closed")
    s.close()
    assert bad.accepted == 1
    assert lb.running()
    assert info(lb, pki, "web.example.com")["name"] == "plain"


def test_check_accepts_pool_tls_under_passthrough(edge, pki, made):
    secure = TlsInTlsOrigin("secure", pki.origin, pki.api)
    plain = t.TlsOrigin("plain", *pki.web)
    made += [secure, plain]
    lb = passthrough_lb4(edge, pki, [secure], plain)
    r = h.run_lb4(["--check", "-c", lb.config_path])
    assert r.returncode == 0, r.stderr
