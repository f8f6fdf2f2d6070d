"""[lb4.access_log]: one JSON line per connection, from the real lb4, for plain TCP (a Python
client), terminated TLS (openssl s_client with session resumption, curl) and failed connects;
SIGUSR1 reopens the file after logrotate's rename; sample = 0 writes nothing; the lines are counted
in /metrics."""

import json
import os
import signal
import socket
import subprocess

import pytest

import lb4_harness as h
import tls_support as t


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def wait_lines(path, count, timeout=10):
    h.wait_until(lambda: len(read_lines(path)) >= count, timeout,
                 "%d connection log lines in %s" % (count, path))
    return read_lines(path)


def tcp_lb4(edge, log, sample=1, backends=None):
    o = edge.origin({"name": "b", "mode": "echo"})
    backends = backends or [{"address": o.address("b")}]
    lb = edge.lb4([{"name": "p", "balance": "round_robin", "backends": backends}],
                  admin="127.0.0.1:%d" % h.free_port(),
                  access_log={"path": log, "sample": sample})
    return o, lb


def echo_once(edge, lb, payload):
    s = edge.connect(lb.address())
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
    local = s.getsockname()
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got, local


def test_tcp_connection_line(edge, tmp_path):
    log = str(tmp_path / "lb4-conn.log")
    o, lb = tcp_lb4(edge, log)
    got, local = echo_once(edge, lb, b"0123456789")
    assert got == b"0123456789"
    (line,) = wait_lines(log, 1)
    assert line["listener"] == "web"
    assert line["mode"] == "tcp"
    assert line["client"] == "%s:%d" % local
    assert line["pool"] == "p"
    assert line["backend"] == o.address("b")
    assert line["bytes_in"] == 10 and line["bytes_out"] == 10
    assert line["close"] == "client closed"
    assert line["duration_us"] >= 0
    assert line["time"].endswith("Z") and len(line["time"]) == 27
    for key in ("tls_version", "tls_cipher", "sni", "alpn", "tls_resumed"):
        assert line[key] is None, key
    text = t.metrics_text(lb)
    assert 'lb4_access_log_lines_total{result="written"} 1' in text, text


def test_failed_connect_is_logged_with_its_reason(edge, tmp_path):
    log = str(tmp_path / "lb4-conn.log")
    o, lb = tcp_lb4(edge, log, backends=[{"address": edge.refusing()}])
    s = edge.connect(lb.address())
    h.recv_to_eof(s)  # lb4 closes: no backend took the connection
    s.close()
    (line,) = wait_lines(log, 1)
    assert line["backend"] is None
    assert line["bytes_out"] == 0
    assert line["close"] and line["close"] != "client closed", line


def test_a_connection_closed_by_the_drain_timeout_is_logged(edge, tmp_path):
    """A connection still open when drain_timeout ends is closed by lb4's shutdown and still gets
    its line, with its bytes and the reason."""
    log = str(tmp_path / "lb4-conn.log")
    o = edge.origin({"name": "b", "mode": "echo"})
    lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("b")}]}],
                  access_log={"path": log, "sample": 1}, drain_timeout="1s")
    s = edge.connect(lb.address())
    s.sendall(b"ping")
    assert h.recv_exact(s, 4) == b"ping"
    lb.signal(signal.SIGTERM)
    assert h.wait_closed(s, 5) in ("eof", "reset")
    assert lb.wait_exit(5) == 0
    s.close()
    (line,) = wait_lines(log, 1)
    assert line["close"] == "shutting down", line
    assert line["bytes_in"] == 4 and line["bytes_out"] == 4, line


def test_sample_zero_writes_nothing(edge, tmp_path):
    log = str(tmp_path / "lb4-conn.log")
    o, lb = tcp_lb4(edge, log, sample=0)
    for _ in range(5):
        assert echo_once(edge, lb, b"x")[0] == b"x"
    h.wait_until(lambda: t.metric(lb, "lb4_connections_closed_total") == 5, 5, "5 closed")
    assert read_lines(log) == []


def test_sigusr1_reopens_after_rename(edge, tmp_path):
    log = str(tmp_path / "lb4-conn.log")
    o, lb = tcp_lb4(edge, log)
    echo_once(edge, lb, b"first")
    wait_lines(log, 1)
    os.rename(log, log + ".1")  # what logrotate does, then it signals
    lb.signal(signal.SIGUSR1)
    h.wait_until(lambda: os.path.exists(log), 5, "the log reopened under its name")
    echo_once(edge, lb, b"second!")
    (line,) = wait_lines(log, 1)
    assert line["bytes_in"] == 7
    assert [l["bytes_in"] for l in read_lines(log + ".1")] == [5]
    assert t.metric(lb, "lb4_access_log_reopens_total") == 1


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = t.Ca(str(d))
    ca.certs = {"api": ca.issue("api.example.com", ["api.example.com"])}
    return ca


def s_client(address, extra):
    host, port = address
    return subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (host, port),
                           "-servername", "api.example.com", "-alpn", "http/1.1", "-ign_eof"]
                          + extra,
                          input="GET / HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n",
                          capture_output=True, text=True, timeout=30)


def test_tls_connection_lines(edge, pki, tmp_path):
    log = str(tmp_path / "lb4-conn.log")
    o = edge.origin({"name": "b", "mode": "http"})
    cert, key = pki.certs["api"]
    lb = edge.lb4([{"name": "p", "balance": "round_robin",
                    "backends": [{"address": o.address("b")}]}],
                  listeners=[{"name": "tls", "bind": "127.0.0.1", "mode": "tls", "pool": "p",
                              "tls": {"certificates": [{"cert": cert, "key": key}],
                                      "alpn": ["h2", "http/1.1"], "min_version": "1.2"}}],
                  admin="127.0.0.1:%d" % h.free_port(), access_log={"path": log})
    sess = str(tmp_path / "session.pem")
    r = s_client(lb.address(), ["-tls1_3", "-sess_out", sess])
    assert "New, TLSv1.3" in r.stdout, r.stdout + r.stderr
    r = s_client(lb.address(), ["-tls1_3", "-sess_in", sess])
    assert "Reused, TLSv1.3" in r.stdout, r.stdout + r.stderr
    r = s_client(lb.address(), ["-tls1_2"])
    assert "TLSv1.2" in r.stdout, r.stdout + r.stderr
    host, port = lb.address()
    c = subprocess.run(["curl", "-sS", "--http1.1", "--max-time", "20", "--cacert", pki.cert,
                        "--resolve", "api.example.com:%d:%s" % (port, host),
                        "-o", "/dev/null", "-w", "%{http_code}",
                        "https://api.example.com:%d/" % port],
                       capture_output=True, text=True, timeout=30)
    assert c.stdout == "200", c.stdout + c.stderr
    lines = wait_lines(log, 4)
    assert all(l["mode"] == "tls" and l["listener"] == "tls" for l in lines)
    assert all(l["sni"] == "api.example.com" for l in lines)
    assert all(l["backend"] == o.address("b") for l in lines)
    assert all(l["bytes_in"] > 0 and l["bytes_out"] > 0 for l in lines), lines
    versions = sorted(l["tls_version"] for l in lines)
    assert versions == ["TLSv1.2", "TLSv1.3", "TLSv1.3", "TLSv1.3"], lines
    assert sorted(l["tls_resumed"] for l in lines) == [False, False, False, True], lines
    assert all(l["alpn"] == "http/1.1" for l in lines), lines
    assert all(l["tls_cipher"] for l in lines)
    # A handshake that fails is a connection too: logged without TLS details.
    s = edge.connect(lb.address())
    s.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS
    h.recv_to_eof(s)
    s.close()
    failed = wait_lines(log, 5)[-1]
    assert failed["tls_version"] is None and failed["backend"] is None, failed
    assert failed["close"], failed
