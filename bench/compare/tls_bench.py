"""TLS scenarios of bench/compare: the proxy terminates TLS (lb4 mode = "tls", HAProxy
`bind ... ssl crt`) with the same certificate, ECDSA P-256 or RSA 2048, and relays plaintext to the
origin. Two loads per key type:
  tls-newconn-*    a new connection (full handshake) per request: handshakes per second and proxy
                   CPU per handshake. The load is bench/tools/tls_handshake_load (C++, epoll, one
                   core): wrk on one core could not make a proxy's core busy with handshakes.
  tls-capacity-*   the same with each proxy held to 25% of one core (a cgroup CPU quota): the
                   load generator, which needs more CPU per handshake than a server does, can
                   then saturate the proxy, and handshakes/s compares the proxies' capacity
  tls-keepalive-*  keep-alive requests over TLS (wrk): proxy CPU per request

Certificates are made once per run with the openssl CLI in a temporary directory. Imported at the
end of scenarios.py, so that its @register adds these scenarios after the plain-TCP ones.
"""

import contextlib
import json
import os
import socket
import ssl
import subprocess
import tempfile
import time

import origins
import report
import scenarios
import util
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


def handshake_load_binary(proxy):
    """bench/tools/tls_handshake_load of the build lb4 comes from (--lb4 BUILD/l4/lb4), or
    $TLS_HANDSHAKE_LOAD."""
    if os.environ.get("TLS_HANDSHAKE_LOAD"):
        return os.environ["TLS_HANDSHAKE_LOAD"]
    lb4 = os.path.abspath(getattr(proxy.options, "lb4", "") or "")
    return os.path.join(os.path.dirname(os.path.dirname(lb4)), "bench", "tools",
                        "tls_handshake_load")


def run_handshake_load(binary, address, duration, connections, cpu, log_path, path="/small"):
    """One run of tls_handshake_load pinned to `cpu`: its JSON line as a dict."""
    if not os.access(binary, os.X_OK):
        raise util.BenchError(f"{binary} not found: build it (ninja -C BUILD "
                              "bench/tools/tls_handshake_load) or set TLS_HANDSHAKE_LOAD")
    argv = [binary, "-a", f"{address[0]}:{address[1]}", "-c", str(connections),
            "-d", str(duration), "-p", path, "-s", "bench.test"]
    rc, out = util.run_bounded("tls_handshake_load", argv, log_path, cpu=cpu,
                               timeout=duration + 30)
    line = next((l for l in out.splitlines() if l.startswith("{")), None)
    if rc != 0 or line is None:
        raise util.BenchError(f"tls_handshake_load failed (exit {rc}): {' '.join(argv)}\n"
                              f"{util.indent(out.strip()[-1500:])}")
    r = json.loads(line)
    r["argv"] = argv
    r["errors_total"] = sum(r["errors"].values())
    return r


class HandshakeScenario(TlsScenario):
    """A new connection and full handshake per request, from tls_handshake_load (same columns
    as the wrk scenarios: the figures are per handshake)."""
    columns = [
        Column("rps", "handshakes/s", "{:,.0f}"),
        Column("p99_ms", "p99 ms", "{:.2f}"),
        Column("cpu_us_per_req", "proxy CPU µs/handshake", "{:.2f}"),
        Column("cpu_us_per_req_spread_pct", "CPU/handshake spread", "±{:.0f}%"),
        Column("proxy_cpu_pct", "proxy CPU %", "{:.0f}"),
        Column("load_core_pct", "load core %", "{:.0f}"),
        Column("errors_total", "load errors", "{:,.0f}"),
    ]
    ratios = [Ratio("cpu_us_per_req", "CPU/handshake", "lower"),
              Ratio("rps", "handshakes/s", "higher")]

    cpu_quota = None  # capacity scenarios: the share of one core the proxy is held to

    def run(self, ctx, proxy):
        binary = handshake_load_binary(proxy)
        logs = os.path.dirname(ctx.wrk.script)
        tag = f"{self.name}-{proxy.name}"
        pids = proxy.pids()
        quota = (util.cpu_quota(pids, self.cpu_quota) if self.cpu_quota
                 else contextlib.nullcontext())
        with quota:
            if ctx.warmup > 0:
                run_handshake_load(binary, proxy.address, ctx.warmup, self.connections,
                                   ctx.load_cpu, os.path.join(logs, f"{tag}-warmup.log"))
            proxy.check_alive()
            cpu0, cores0 = util.cpu_seconds(pids), util.core_times()
            r = run_handshake_load(binary, proxy.address, ctx.duration, self.connections,
                                   ctx.load_cpu, os.path.join(logs, f"{tag}.log"))
            cpu1, cores1 = util.cpu_seconds(pids), util.core_times()
            pids1 = proxy.pids()
        proxy.check_alive()
        if r["handshakes"] == 0:
            raise util.BenchError(f"no handshake completed through {proxy.name}: {r['errors']}")
        cpu = cpu1 - cpu0
        notes = []
        if set(pids1) != set(pids):
            notes.append(f"the proxy's processes changed during the run ({pids} -> {pids1})")
        bytes_per_req = r["bytes"] / r["handshakes"]
        if bytes_per_req < origins.PATHS[self.path]:
            notes.append(f"only {bytes_per_req:.0f} bytes/response received")
        dur = r["duration_s"]
        return {
            "requests": r["handshakes"],
            "duration_s": dur,
            "rps": r["handshakes_per_s"],
            # lower-is-better form of handshakes/s, for the capacity targets
            "wall_us_per_handshake": 1e6 / r["handshakes_per_s"],
            "p50_ms": r["latency_us"]["p50"] / 1000,
            "p90_ms": r["latency_us"]["p90"] / 1000,
            "p99_ms": r["latency_us"]["p99"] / 1000,
            "max_ms": r["latency_us"]["max"] / 1000,
            "cpu_s": cpu,
            "cpu_us_per_req": cpu * 1e6 / r["handshakes"],
            "proxy_cpu_pct": 100 * cpu / dur,
            "proxy_core_pct": 100 * util.core_busy_fraction(cores0, cores1, ctx.proxy_cpu),
            "load_core_pct": 100 * util.core_busy_fraction(cores0, cores1, ctx.load_cpu),
            "bytes_per_req": bytes_per_req,
            "errors": r["errors"],
            "errors_total": r["errors_total"],
            "proxy_rss_kib": util.rss_kib(pids1),
            "load_argv": " ".join(r["argv"]),
            "notes": notes,
        }


def _define(key_type):
    label = TlsScenario.key_label[key_type]

    @register
    class TlsNewConnection(HandshakeScenario):
        name = f"tls-newconn-{key_type}"
        title = f"TLS handshakes: new connection per request ({label}, 32 concurrent)"
        description = (f"tls_handshake_load -c 32: connect, full TLS handshake ({label} "
                       f"certificate), GET /small with Connection: close, read to EOF, close")
        tls = key_type
        connections = 32

    @register
    class TlsCapacity(HandshakeScenario):
        name = f"tls-capacity-{key_type}"
        title = (f"TLS handshake capacity: the proxy held to 25% of a core ({label}, "
                 f"32 concurrent)")
        description = (f"as tls-newconn-{key_type}, with the proxy's processes in a cgroup CPU "
                       f"quota of 25% of one core, so the one-core load generator saturates it: "
                       f"handshakes/s is the proxy's capacity per CPU budget")
        tls = key_type
        connections = 32
        cpu_quota = 0.25

    @register
    class TlsKeepAlive(TlsScenario):
        name = f"tls-keepalive-{key_type}"
        title = f"Keep-alive requests over TLS ({label}, 64 connections, GET /small)"
        description = f"wrk -t1 -c64 https://.../small over persistent TLS connections ({label})"
        tls = key_type
        connections = 64


for _key_type in ("ec", "rsa"):
    _define(_key_type)


# Issue 4: lb4 makes at least as many handshakes per second as HAProxy on the same CPU budget.
report.ISSUE_TARGETS += [
    report.Target(f"tls-capacity-{k}", "wall_us_per_handshake", "lb4", "haproxy", 1.0,
                  f"handshakes/s at 25% of a core ({TlsScenario.key_label[k]}), inverted")
    for k in ("ec", "rsa")
]
