"""Scenarios: one load shape each, run against one started proxy, returning a flat dict of metrics.

To add a scenario (TLS handshakes, L7 routing, ...): subclass Scenario (or WrkScenario), set name,
layer and requires, declare the table columns and the ratio metrics, decorate with @register.
"""

import time

import origins
import util
from loads import IdleClient

SCENARIOS = {}  # name -> instance, in registration order


def register(cls):
    SCENARIOS[cls.name] = cls()
    return cls


class Column:
    def __init__(self, key, header, fmt="{:.2f}"):
        self.key, self.header, self.fmt = key, header, fmt


class Ratio:
    """subject/baseline of a metric; better = "lower" or "higher" (how to read it)."""

    def __init__(self, key, label, better):
        self.key, self.label, self.better = key, label, better


class Scenario:
    name = "?"
    title = "?"
    layer = "l4"
    requires = {"tcp"}
    columns = []
    ratios = []
    description = ""

    def applies_to(self, proxy):
        return proxy.layer == self.layer and self.requires <= proxy.features

    def run(self, ctx, proxy):
        raise NotImplementedError

    def estimate_s(self, ctx):
        """Rough wall time of one run (for the progress line)."""
        return ctx.warmup + ctx.duration + 2


class Context:
    """What a scenario needs besides the proxy: the origin, the load generator, timings, CPUs."""

    def __init__(self, origin, wrk, duration, warmup, proxy_cpu, load_cpu, idle_connections, log):
        self.origin = origin
        self.wrk = wrk
        self.duration = duration
        self.warmup = warmup
        self.proxy_cpu = proxy_cpu
        self.load_cpu = load_cpu
        self.idle_connections = idle_connections
        self.log = log


# ---------------------------------------------------------------------------------------------

class WrkScenario(Scenario):
    path = "/small"
    scheme = "http"  # "https": the proxy terminates TLS (see tls_bench.py)
    connections = 64
    headers = ()
    columns = [
        Column("rps", "req/s", "{:,.0f}"),
        Column("p99_ms", "p99 ms", "{:.2f}"),
        Column("cpu_us_per_req", "proxy CPU µs/req", "{:.2f}"),
        Column("cpu_us_per_req_spread_pct", "CPU/req spread", "±{:.0f}%"),
        Column("proxy_cpu_pct", "proxy CPU %", "{:.0f}"),
        Column("load_core_pct", "load core %", "{:.0f}"),
        Column("errors_total", "wrk errors", "{:,.0f}"),
    ]
    ratios = [Ratio("cpu_us_per_req", "CPU/req", "lower"), Ratio("rps", "req/s", "higher")]

    def expected_body_bytes(self):
        """The size of the body each response should carry (checked against what wrk read)."""
        return origins.PATHS[self.path]

    def run(self, ctx, proxy):
        host, port = proxy.address
        url = f"{self.scheme}://{host}:{port}{self.path}"
        if ctx.warmup > 0:
            ctx.wrk.run(url, ctx.warmup, self.connections, headers=self.headers, tag=f"{self.name}-{proxy.name}-warmup")
        proxy.check_alive()
        pids = proxy.pids()
        cpu0, cores0, tcp0 = util.cpu_seconds(pids), util.core_times(), util.sockstat()
        r = ctx.wrk.run(url, ctx.duration, self.connections, headers=self.headers, tag=f"{self.name}-{proxy.name}")
        cpu1, cores1, tcp1 = util.cpu_seconds(pids), util.core_times(), util.sockstat()
        pids1 = proxy.pids()
        rss = util.rss_kib(pids1)
        proxy.check_alive()
        if r["requests"] == 0:
            raise util.BenchError(f"no request completed through {proxy.name}: errors {r['errors']}")
        cpu = cpu1 - cpu0
        expected = self.expected_body_bytes()
        bytes_per_req = r["bytes"] / r["requests"]
        notes = []
        if bytes_per_req < expected:
            notes.append(f"only {bytes_per_req:.0f} bytes/response received, body is {expected}")
        if set(pids1) != set(pids):
            notes.append(f"the proxy's processes changed during the run ({pids} -> {pids1}): CPU figure unreliable")
        if r["errors"]["status"]:
            notes.append(f"{r['errors']['status']} non-2xx/3xx responses")
        return {
            "requests": r["requests"],
            "duration_s": r["duration_s"],
            "rps": r["rps"],
            "p50_ms": r["latency_us"]["p50"] / 1000,
            "p90_ms": r["latency_us"]["p90"] / 1000,
            "p99_ms": r["latency_us"]["p99"] / 1000,
            "max_ms": r["latency_us"]["max"] / 1000,
            "cpu_s": cpu,
            "cpu_us_per_req": cpu * 1e6 / r["requests"],
            "proxy_cpu_pct": 100 * cpu / r["duration_s"],
            "proxy_core_pct": 100 * util.core_busy_fraction(cores0, cores1, ctx.proxy_cpu),
            "load_core_pct": 100 * util.core_busy_fraction(cores0, cores1, ctx.load_cpu),
            # the whole machine: what the proxy costs its peers shows here (issue 16)
            "machine_us_per_req": util.machine_busy_seconds(cores0, cores1) * 1e6 / r["requests"],
            "bytes_per_req": bytes_per_req,
            "mib_per_s": r["bytes"] / r["duration_s"] / (1 << 20),
            "errors": r["errors"],
            "errors_total": r["errors_total"],
            "proxy_rss_kib": rss,
            "tcp_tw_before": tcp0.get("tw"), "tcp_tw_after": tcp1.get("tw"),
            "wrk_argv": " ".join(r["argv"]),
            "notes": notes,
        }


@register
class KeepAlive(WrkScenario):
    name = "keepalive"
    title = "Keep-alive requests (64 connections, GET /small, 64-byte body)"
    description = "wrk -t1 -c64 GET /small over persistent connections"
    connections = 64


@register
class NewConnection(WrkScenario):
    name = "newconn"
    title = "New connection per request (32 concurrent, GET /small, Connection: close)"
    description = "wrk -t1 -c32 -H 'Connection: close' GET /small: one TCP connection per request"
    connections = 32
    headers = ("Connection: close",)


@register
class LargeResponse(WrkScenario):
    name = "1mib"
    title = "1 MiB responses (16 keep-alive connections, GET /1m)"
    description = "wrk -t1 -c16 GET /1m over persistent connections"
    path = "/1m"
    connections = 16
    columns = WrkScenario.columns[:4] + [Column("mib_per_s", "MiB/s", "{:,.0f}")] + WrkScenario.columns[4:]


@register
class IdleMemory(Scenario):
    name = "idle"
    title = "Memory per idle relayed connection (after one small exchange)"
    description = ("N connections, one keep-alive GET /small each, all left open: "
                   "(proxy RSS after - before) / N")
    columns = [
        Column("connections", "connections", "{:,.0f}"),
        Column("rss_before_kib", "RSS before KiB", "{:,.0f}"),
        Column("rss_idle_kib", "RSS idle KiB", "{:,.0f}"),
        Column("kib_per_conn", "KiB/conn", "{:.2f}"),
        Column("kib_per_conn_spread_pct", "spread", "±{:.0f}%"),
        Column("rss_after_close_kib", "RSS after close KiB", "{:,.0f}"),
        Column("cpu_us_per_conn", "proxy CPU µs/conn", "{:.1f}"),
    ]
    ratios = [Ratio("kib_per_conn", "mem/conn", "lower")]
    warmup_connections = 200
    settle_s = 1.0

    def estimate_s(self, ctx):
        return 5 + ctx.idle_connections * 0.002

    def run(self, ctx, proxy):
        n = ctx.idle_connections
        # Warm-up: let the proxy allocate its lazily-created pools/buffers once, then release them.
        w = IdleClient(proxy.address)
        try:
            w.open(self.warmup_connections)
        finally:
            w.close()
        time.sleep(self.settle_s)
        proxy.check_alive()
        pids = proxy.pids()
        rss0, cpu0 = util.rss_kib(pids), util.cpu_seconds(pids)
        client = IdleClient(proxy.address)
        try:
            t0 = time.monotonic()
            client.open(n)
            open_s = time.monotonic() - t0
            cpu1 = util.cpu_seconds(pids)
            time.sleep(self.settle_s)
            proxy.check_alive()
            rss1 = util.rss_kib(proxy.pids())
            closed, sampled = client.check_open()
        finally:
            client.close()
        time.sleep(self.settle_s)
        proxy.check_alive()
        rss2 = util.rss_kib(proxy.pids())
        notes = []
        if closed:
            notes.append(f"{closed}/{sampled} sampled connections were closed by the proxy while idle")
        if client.errors:
            notes.append(f"{client.errors} connection errors while opening (last: {client.last_error})")
        return {
            "connections": n,
            "open_s": open_s,
            "rss_before_kib": rss0,
            "rss_idle_kib": rss1,
            "rss_after_close_kib": rss2,
            "kib_per_conn": (rss1 - rss0) / n,
            "bytes_per_conn": (rss1 - rss0) * 1024 / n,
            "cpu_us_per_conn": (cpu1 - cpu0) * 1e6 / n,
            "errors_total": client.errors,
            "idle_closed_sampled": closed,
            "notes": notes,
        }


import tls_bench  # noqa: E402,F401  (registers the TLS scenarios after the ones above)
import l7_bench  # noqa: E402,F401  (registers the L7 proxies and scenarios: gw7, HAProxy/NGINX http)
import h2_bench  # noqa: E402,F401  (registers the HTTP/2 proxies and scenario: gw7, HAProxy, NGINX h2c)
import log_bench  # noqa: E402,F401  (registers gw7 and HAProxy with access logs: the cost of logging)
import cache_bench  # noqa: E402,F401  (l7-cache-hit: gw7's cache, NGINX proxy_cache, Varnish)
import soap_bench  # noqa: E402,F401  (l7-soap: gw7's REST to SOAP translation against plain proxying)
import aggregate_bench  # noqa: E402,F401  (l7-aggregate: gw7 aggregation against three proxied GETs)
