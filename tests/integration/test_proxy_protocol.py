"""PROXY protocol headers lb4 sends to backends (proxy_protocol = "v1" / "v2" on the listener):
they carry the real client address and port and the address the client connected to, come
before any client byte, and are sent even when the client says nothing."""

import json
import socket

import lb4_harness as h

MiB = 1 << 20


def proxy_setup(edge, version, host="127.0.0.1", backend_host="127.0.0.1", balance="round_robin"):
    o = edge.origin({"name": "pp", "mode": "echo", "proxy": "1", "host": backend_host})
    lb = edge.lb4([{"name": "p", "balance": balance,
                    "backends": [{"address": o.address("pp")}]}],
                  listeners=[{"name": "web", "bind": host, "pool": "p",
                              "proxy_protocol": version}])
    return o, lb


def read_proxy_info(sock):
    line = h.read_line(sock)
    assert line is not None and line.startswith("PROXYINFO "), line
    info = json.loads(line[len("PROXYINFO "):])
    assert "error" not in info, info
    return info


def expect_echo(sock, payload):
    sock.sendall(payload)
    assert h.recv_exact(sock, len(payload)) == payload


def test_v1_ipv4_carries_client_and_destination(edge):
    """v1: "PROXY TCP4 <client ip> <lb4 ip> <client port> <lb4 port>\\r\\n" for clients bound to
    127.0.0.2..6; the bytes after the header are the client's, unchanged."""
    o, lb = proxy_setup(edge, "v1")
    lhost, lport = lb.address()
    for i in range(2, 7):
        ip = "127.0.0.%d" % i
        s = edge.connect(lb.address(), source_ip=ip)
        sport = s.getsockname()[1]
        info = read_proxy_info(s)
        assert info["raw"] == "PROXY TCP4 %s %s %d %d" % (ip, lhost, sport, lport), info
        expect_echo(s, b"after the header %d\n" % i)
        s.close()


def test_v2_ipv4_carries_client_and_destination(edge):
    """v2: binary header, command PROXY, family TCP4 (0x11), 12 address bytes, no TLVs for
    plain TCP: client address/port and the listener's address/port."""
    o, lb = proxy_setup(edge, "v2", balance="maglev")
    lhost, lport = lb.address()
    for i in range(2, 7):
        ip = "127.0.0.%d" % i
        s = edge.connect(lb.address(), source_ip=ip)
        sport = s.getsockname()[1]
        info = read_proxy_info(s)
        assert info == {"version": 2, "command": "PROXY", "family": "TCP4", "header_len": 28,
                        "src": ip, "sport": sport, "dst": lhost, "dport": lport,
                        "tlvs": []}, info
        expect_echo(s, b"\r\n\r\n\x00\r\nQUIT\n looks like a header but is data")
        s.close()


def test_v1_ipv6(edge):
    """v1 over IPv6: "PROXY TCP6 ::1 ::1 <client port> <lb4 port>"."""
    o, lb = proxy_setup(edge, "v1", host="::1", backend_host="::1")
    s = edge.connect(lb.address())
    sport = s.getsockname()[1]
    info = read_proxy_info(s)
    assert info["raw"] == "PROXY TCP6 ::1 ::1 %d %d" % (sport, lb.address()[1]), info
    expect_echo(s, b"six")


def test_v2_ipv6(edge):
    """v2 over IPv6: family TCP6 (0x21), 36 address bytes."""
    o, lb = proxy_setup(edge, "v2", host="::1")  # IPv6 client, IPv4 backend: header says TCP6
    s = edge.connect(lb.address())
    sport = s.getsockname()[1]
    info = read_proxy_info(s)
    assert info == {"version": 2, "command": "PROXY", "family": "TCP6", "header_len": 52,
                    "src": "::1", "sport": sport, "dst": "::1", "dport": lb.address()[1],
                    "tlvs": []}, info
    expect_echo(s, b"six")


def test_header_sent_before_early_client_data(edge):
    """A client that sends 1 MiB at once, before lb4 has even connected to the backend: the
    backend gets the header first and then exactly those bytes (v1 and v2)."""
    payload = b"".join(h.stream_chunks(31, MiB))
    for version in ("v1", "v2"):
        o, lb = proxy_setup(edge, version)
        s = edge.connect(lb.address())
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        info = read_proxy_info(s)
        assert info["version"] == int(version[1])
        assert h.recv_to_eof(s) == (len(payload), h.stream_sha256(31, MiB))


def test_header_sent_when_client_is_silent(edge):
    """The header goes out as soon as the backend connection is up, without waiting for the
    client to send anything."""
    for version in ("v1", "v2"):
        o, lb = proxy_setup(edge, version)
        s = edge.connect(lb.address())
        assert read_proxy_info(s)["version"] == int(version[1])


def test_proxy_protocol_off_sends_no_header(edge):
    """proxy_protocol = "off": the backend's first bytes are the client's."""
    o, lb = proxy_setup(edge, "off")
    s = edge.connect(lb.address())
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    line = h.read_line(s)
    assert line.startswith("PROXYINFO ") and "not a PROXY header" in line, line


def test_wildcard_listener_reports_the_address_the_client_reached(edge):
    """A listener bound to 0.0.0.0: the header's destination is the address the client actually
    connected to (127.0.0.9 here), not 0.0.0.0."""
    o = edge.origin({"name": "pp", "mode": "echo", "proxy": "1"})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("pp")}]}],
                  listeners=[{"name": "web", "bind": "0.0.0.0", "pool": "p",
                              "proxy_protocol": "v1"}])
    port = lb.address()[1]
    s = edge.connect(("127.0.0.9", port), source_ip="127.0.0.3")
    info = read_proxy_info(s)
    assert info["raw"] == "PROXY TCP4 127.0.0.3 127.0.0.9 %d %d" % (s.getsockname()[1], port)
    expect_echo(s, b"wildcard")
