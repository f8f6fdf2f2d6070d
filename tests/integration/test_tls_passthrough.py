"""mode = "tls_passthrough": lb4 reads the ClientHello without decrypting it, picks the pool by SNI
(routes: exact, then "*.suffix", then the listener's pool) and forwards every byte unchanged.
The origins are real TLS servers with their own certificates; clients are Python's ssl, curl and
openssl s_client. Bad hellos (garbage, SSLv2/SSLv3, oversized, truncated, stalled) are closed and
counted, without harm to the connections around them."""

import hashlib
import os
import socket
import ssl
import struct
import subprocess
import threading

import pytest

import lb4_harness as h
import tls_support as t

MiB = 1 << 20


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    return t.Ca(str(d))


@pytest.fixture
def origins(pki):
    made = {}
    for name, sans in (("api", ["api.example.com"]), ("web", ["*.example.com"]),
                       ("default", ["default.test", "other.org"])):
        cert, key = pki.issue(name, sans)
        made[name] = t.TlsOrigin(name, cert, key)
    yield made
    for o in made.values():
        o.close()


def passthrough_lb4(edge, origins, **listener):
    admin = "127.0.0.1:%d" % h.free_port()
    l = {"name": "tls", "bind": "127.0.0.1", "mode": "tls_passthrough", "pool": "default",
         "routes": [{"sni": "api.example.com", "pool": "api"},
                    {"sni": "*.example.com", "pool": "web"}]}
    l.update(listener)
    pools = [{"name": n, "balance": "round_robin", "backends": [{"address": o.address()}]}
             for n, o in origins.items()]
    return edge.lb4(pools, listeners=[l], admin=admin)


def info_fields(line):
    assert line is not None, "connection closed before the origin answered"
    return dict(kv.split("=", 1) for kv in line.split(" "))


def test_routes_by_sni_exact_wildcard_then_default(edge, origins, pki):
    lb = passthrough_lb4(edge, origins)
    ctx = t.client_context(pki.cert, alpn=["h2", "http/1.1"])
    cases = [("api.example.com", "api"), ("API.Example.com", "api"), ("www.example.com", "web"),
             ("x-1.example.com", "web"), ("default.test", "default"), ("other.org", "default")]
    for sni, want in cases:
        info = info_fields(t.ask_info(lb.address(), sni, ctx))
        # The certificate verified against the SNI: the origin's own, end to end.
        assert info["name"] == want, (sni, info)
        assert info["sni"] == sni.lower() or info["sni"] == sni, info
        assert info["alpn"] == "h2"
    # One label only for a wildcard, like a certificate's: a.b.example.com is not *.example.com.
    nover = t.client_context()
    assert info_fields(t.ask_info(lb.address(), "a.b.example.com", nover))["name"] == "default"
    # No SNI at all: the listener's pool.
    s = nover.wrap_socket(edge.connect(lb.address()), server_hostname=None)
    s.sendall(b"INFO\n")
    assert info_fields(h.read_line(s))["name"] == "default"
    s.close()
    assert t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="routed") == 4
    assert t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="default_pool") == 4


def test_curl_and_openssl_s_client(edge, origins, pki):
    lb = passthrough_lb4(edge, origins)
    host, port = lb.address()
    r = subprocess.run(["curl", "-sS", "--http1.1", "--max-time", "20", "--cacert", pki.cert, "--resolve",
                        "api.example.com:%d:%s" % (port, host),
                        "https://api.example.com:%d/" % port],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert info_fields(r.stdout.strip())["name"] == "api"
    r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (host, port),
                        "-servername", "shop.example.com", "-alpn", "http/1.1",
                        "-CAfile", pki.cert, "-verify_return_error", "-ign_eof"],
                       input="INFO\n", capture_output=True, text=True, timeout=30)
    assert "Verify return code: 0 (ok)" in r.stdout, r.stdout + r.stderr
    assert "ALPN protocol: http/1.1" in r.stdout
    assert "name=web sni=shop.example.com alpn=http/1.1" in r.stdout


def test_100_mib_byte_identical(edge, origins, pki):
    lb = passthrough_lb4(edge, origins)
    s = t.tls_connect(lb.address(), "api.example.com", t.client_context(pki.cert), timeout=60)
    s.sendall(b"ECHO\n")
    sent, echoed, n = t.echo_transfer(s, 100 * MiB)
    assert n == 100 * MiB and echoed == sent
    s.close()


def _refragment(hello, size):
    """A ClientHello record re-cut into records of `size` handshake bytes (legal TLS)."""
    assert hello[0] == 22
    body = hello[5:5 + struct.unpack(">H", hello[3:5])[0]]
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"\x16\x03\x01" + struct.pack(">H", len(piece)) + piece
    return out + hello[5 + len(body):]


def test_hello_over_many_records_and_tcp_segments(edge, origins, pki):
    """A hello cut into 40-byte records and sent a few bytes per send (TCP_NODELAY) is routed
    the same and the handshake completes through lb4."""
    lb = passthrough_lb4(edge, origins)
    ctx = t.client_context(pki.cert)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="api.example.com")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    hello = _refragment(outgoing.read(), 40)
    sock = edge.connect(lb.address())
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(hello), 7):
        sock.sendall(hello[i:i + 7])
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            out = outgoing.read()
            if out:
                sock.sendall(out)
            data = sock.recv(65536)
            assert data, "closed during the handshake"
            incoming.write(data)
    sock.sendall(outgoing.read())
    obj.write(b"INFO\n")
    sock.sendall(outgoing.read())
    line = b""
    while not line.endswith(b"\n"):
        try:
            line += obj.read(4096)
        except ssl.SSLWantReadError:
            incoming.write(sock.recv(65536))
    assert info_fields(line.decode().strip())["name"] == "api"


SSLV2_HELLO = bytes.fromhex("802e0103010015000000100000390000380000350000160000130000") + b"\0" * 16


def _hello_bytes(sni):
    ctx = t.client_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def test_hostile_hellos_closed_and_counted(edge, origins, pki):
    lb = passthrough_lb4(edge, origins, handshake_timeout="700ms", max_client_hello="4KiB")
    ctx = t.client_context(pki.cert)
    # A healthy connection open through all of it.
    keep = t.tls_connect(lb.address(), "api.example.com", ctx)
    keep.sendall(b"ECHO\n")

    good = _hello_bytes("x.example.com")
    hs = good[5:]
    sslv3 = bytearray(hs)
    sslv3[4:6] = b"\x03\x00"
    huge_ext = struct.pack(">HH", 0xfe01, 6000) + b"x" * 6000
    cases = {
        "not_handshake": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "sslv2": SSLV2_HELLO,
        "unsupported_version": b"\x16\x03\x00" + struct.pack(">H", len(sslv3)) + bytes(sslv3),
        "oversized": b"\x16\x03\x01\x00\x04\x01\x00\x20\x00" + huge_ext,
        "malformed": b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\xff",
    }
    for reason, payload in cases.items():
        s = edge.connect(lb.address())
        s.sendall(payload)
        assert h.wait_closed(s, 5) in ("eof", "reset"), reason
        s.close()
    # Truncated then silent: closed by handshake_timeout. Nothing at all: the same.
    for payload in (good[:len(good) // 2], b""):
        s = edge.connect(lb.address())
        if payload:
            s.sendall(payload)
        assert h.wait_closed(s, 5) in ("eof", "reset")
        s.close()
    # Truncated then closed by the client.
    s = edge.connect(lb.address())
    s.sendall(good[:20])
    s.shutdown(socket.SHUT_WR)
    assert h.wait_closed(s, 5) in ("eof", "reset")
    s.close()

    for reason in cases:
        assert t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="refused",
                        reason=reason) == 1, reason
    h.wait_until(lambda: t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="refused",
                                  reason="client_closed") == 1, 5, "client_closed counted")
    assert t.metric(lb, "lb4_tls_passthrough_hellos_total", outcome="refused",
                    reason="timeout") == 2
    # The origins never saw the refused connections; the kept one still works.
    payload = os.urandom(100000)
    keep.sendall(payload)
    assert h.recv_exact(keep, len(payload)) == payload
    keep.close()
    assert sum(o.accepted for o in origins.values()) == 1
