"""TLS scenarios of bench/compare: the proxy terminates TLS (lb4 mode = "tls", HAProxy
`bind ... ssl crt`) with the same certificate, ECDSA P-256 or RSA 2048, and relays plaintext to the
origin. Two loads per key type:
  tls-newconn-*    a new connection (full handshake) per request: handshakes per second and proxy
                   CPU per handshake
  tls-keepalive-*  keep-alive requests over TLS: proxy CPU per request

Certificates are made once per run with the openssl CLI in a temporary directory. Imported at the
end of scenarios.py, so that its @register adds these scenarios after the plain-TCP ones.
"""

import os
import socket
import ssl
import subprocess
import tempfile

import scenarios
from scenarios import Column, Ratio, WrkScenario, register

_CERTS = {}  # key type -> (cert path, key path, combined PEM path for HAProxy)


def certificate(key_type):
    """(cert, key, pem) for CN=bench.test with that key type ("ec" or "rsa"), made on first use."""
    if key_type not in _CERTS:
        d = tempfile.mkdtemp(prefix="bench-compare-tls-")
        cert, key, pem = (os.path.join(d, f"{key_type}.{x}") for x in ("crt", "key", "pem"))
        newkey = ["-newkey", "rsa:2048"] if key_type == "rsa" else \
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=bench.test",
                        "-addext", "subjectAltName=DNS:bench.test", "-keyout", key, "-out", cert]
                       + newkey, check=True, capture_output=True, timeout=60)
        with open(pem, "w") as out:
            for part in (cert, key):
                with open(part) as f:
                    out.write(f.read())
        _CERTS[key_type] = (cert, key, pem)
    return _CERTS[key_type]


def https_get(address, path, timeout=10):
    """(status, body) of one GET over TLS (no verification: the certificate is self-signed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(address, timeout=timeout)
    with ctx.wrap_socket(raw, server_hostname="bench.test") as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


class TlsScenario(WrkScenario):
    requires = {"tcp", "tls"}
    scheme = "https"
    key_label = {"ec": "ECDSA P-256", "rsa": "RSA 2048"}


def _define(key_type):
    label = TlsScenario.key_label[key_type]

    @register
    class TlsNewConnection(TlsScenario):
        name = f"tls-newconn-{key_type}"
        title = f"TLS handshakes: new connection per request ({label}, 32 concurrent)"
        description = (f"wrk -t1 -c32 -H 'Connection: close' https://.../small: a full TLS handshake "
                       f"per request ({label} certificate); req/s = handshakes/s")
        tls = key_type
        connections = 32
        headers = ("Connection: close",)
        columns = [Column("rps", "handshakes/s", "{:,.0f}")] + WrkScenario.columns[1:]
        ratios = [Ratio("cpu_us_per_req", "CPU/handshake", "lower"),
                  Ratio("rps", "handshakes/s", "higher")]

    @register
    class TlsKeepAlive(TlsScenario):
        name = f"tls-keepalive-{key_type}"
        title = f"Keep-alive requests over TLS ({label}, 64 connections, GET /small)"
        description = f"wrk -t1 -c64 https://.../small over persistent TLS connections ({label})"
        tls = key_type
        connections = 64


for _key_type in ("ec", "rsa"):
    _define(_key_type)
