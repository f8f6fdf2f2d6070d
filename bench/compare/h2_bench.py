"""HTTP/2 scenario of bench/compare (issue 12): h2load (nghttp2-client) with prior knowledge (h2c)
through gw7 (`[gw7] http2 = true`), HAProxy (`bind ... proto h2`, mode http) and NGINX
(`listen ... http2`), each speaking HTTP/1.1 with keep-alive to the same origin nginx, one process
each pinned to the proxy CPU, in one run.

  l7-h2   h2load -t1 -c10 -m10 GET /small: 100 concurrent streams over 10 connections, as fast as
          it goes: requests/s and proxy CPU per request (issue 12: gw7 at most 0.8x HAProxy's)

Run:  bench/compare/compare --scenarios l7-h2 --proxies gw7-h2,haproxy-h2,nginx-h2 \
          --subject gw7-h2 --baselines haproxy-h2,nginx-h2 --repeat 5

The h2 proxies have only the "h2" feature, so the HTTP/1.1 scenarios never run through them and
this scenario runs through nothing else. Imported at the end of scenarios.py.
"""

import os
import re
import shutil
import subprocess

import l7_bench
import origins
import proxies
import report
import util
from scenarios import Column, Ratio, Scenario, register


# ---- proxies: the HTTP/1.1 ones of l7_bench with an h2c listener -------------------------------

@proxies.register
class Gw7H2(l7_bench.Gw7):
    name = "gw7-h2"
    title = "gw7 (io_uring, one process), h2c listener"
    features = {"h2"}

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        return name, text.replace("[gw7]\n", "[gw7]\nhttp2 = true\n", 1)


@proxies.register
class Gw7H2Baseline(Gw7H2):
    """gw7-baseline with the h2c listener: another build (GW7_BASELINE=path) under the same load
    in the same run, for A/B figures of a change. Not run unless named in --proxies."""
    name = "gw7-h2-baseline"
    title = "gw7 baseline build (GW7_BASELINE), h2c listener"
    default = False

    def binary(self):
        return l7_bench.Gw7Baseline.binary(self)


@proxies.register
class HAProxyH2(l7_bench.HAProxyHttp):
    name = "haproxy-h2"
    title = "HAProxy (mode http, nbthread 1, http-reuse always), bind proto h2"
    features = {"h2"}

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        bind = f"bind {listen[0]}:{listen[1]}"
        return name, text.replace(bind, bind + " proto h2", 1)


@proxies.register
class NginxH2(l7_bench.NginxHttp):
    name = "nginx-h2"
    title = "NGINX http proxy_pass (1 worker, upstream keepalive 64), listen http2"
    features = {"h2"}

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        listen_line = f"listen {listen[0]}:{listen[1]} "
        text = text.replace(listen_line, listen_line + "http2 ", 1)
        # As many streams per connection as the others allow (nginx's default is 128 anyway).
        return name, text.replace("    keepalive_timeout 300s;\n",
                                  "    keepalive_timeout 300s;\n    http2_max_concurrent_streams 128;\n", 1)


# ---- the load: h2load ---------------------------------------------------------------------------

class H2Load:
    """h2load bounded by -D; parses its summary (requests done, 2xx, errors, mean time)."""

    def __init__(self, workdir, cpu, binary="h2load"):
        self.binary = shutil.which(binary) or binary
        self.cpu = cpu
        self.workdir = workdir
        self._n = 0

    def available(self):
        return os.path.isfile(self.binary) and os.access(self.binary, os.X_OK)

    def run(self, url, duration, clients, streams, tag="h2load"):
        self._n += 1
        argv = [self.binary, "-t1", f"-c{clients}", f"-m{streams}", f"-D{max(1, round(duration))}",
                url]
        log = os.path.join(self.workdir, f"{self._n:03d}-{tag}.log")
        rc, out = util.run_bounded("h2load", argv, log, cpu=self.cpu, timeout=duration + 60)
        finished = re.search(r"^finished in ([\d.]+)(m?s), ([\d.]+) req/s, ([\d.]+)([KMG]?B)/s", out, re.M)
        counts = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                           r"(\d+) failed, (\d+) errored, (\d+) timeout", out, re.M)
        status = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, re.M)
        mean = re.search(r"^time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out, re.M)
        if rc != 0 or not (finished and counts and status):
            raise util.BenchError(f"h2load failed (exit {rc}): {' '.join(argv)}\n"
                                  f"{util.indent(out.strip()[-1500:])}")
        secs = float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1)
        done, succeeded = int(counts.group(3)), int(counts.group(4))
        failed, errored, timeouts = (int(counts.group(i)) for i in (5, 6, 7))
        non2xx = sum(int(status.group(i)) for i in (2, 3, 4))
        unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
        return {
            "requests": succeeded,
            "done": done,
            "duration_s": secs,
            "rps": succeeded / secs if secs > 0 else 0.0,
            "mean_ms": float(mean.group(1)) * unit[mean.group(2)] if mean else 0.0,
            "errors": {"failed": failed, "errored": errored, "timeout": timeouts, "status": non2xx},
            "errors_total": failed + errored + timeouts + non2xx,
            "argv": argv,
        }


# ---- the scenario -------------------------------------------------------------------------------

@register
class L7H2(Scenario):
    name = "l7-h2"
    title = "L7 HTTP/2: h2c GETs through the gateway (10 connections x 10 streams, GET /small)"
    description = ("h2load -t1 -c10 -m10 GET /small with prior knowledge; the proxy speaks HTTP/1.1 "
                   "with keep-alive to the origin")
    layer = "l7"
    requires = {"h2"}
    path = "/small"
    clients = 10
    streams = 10
    columns = [
        Column("rps", "req/s", "{:,.0f}"),
        Column("mean_ms", "mean ms", "{:.2f}"),
        Column("cpu_us_per_req", "proxy CPU µs/req", "{:.2f}"),
        Column("cpu_us_per_req_spread_pct", "CPU/req spread", "±{:.0f}%"),
        Column("proxy_cpu_pct", "proxy CPU %", "{:.0f}"),
        Column("load_core_pct", "load core %", "{:.0f}"),
        Column("errors_total", "errors", "{:,.0f}"),
    ]
    ratios = [Ratio("cpu_us_per_req", "CPU/req", "lower"), Ratio("rps", "req/s", "higher")]

    @staticmethod
    def probe(addr, path):
        """(status, body) of one h2c GET (curl with prior knowledge): the runner's relay check."""
        url = f"http://{addr[0]}:{addr[1]}{path}"
        p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_code}",
                            "--max-time", "5", url], capture_output=True, timeout=10)
        if p.returncode != 0:
            raise util.BenchError(f"h2c GET {url}: curl exit {p.returncode}: {p.stderr.decode().strip()}")
        body, _, code = p.stdout.rpartition(b"\n")
        return int(code), body

    def run(self, ctx, proxy):
        load = H2Load(ctx.wrk.workdir, ctx.load_cpu)
        if not load.available():
            raise util.BenchError("h2load not found (Debian package nghttp2-client)")
        host, port = proxy.address
        url = f"http://{host}:{port}{self.path}"
        if ctx.warmup > 0:
            load.run(url, ctx.warmup, self.clients, self.streams, tag=f"{self.name}-{proxy.name}-warmup")
        proxy.check_alive()
        pids = proxy.pids()
        cpu0, cores0 = util.cpu_seconds(pids), util.core_times()
        r = load.run(url, ctx.duration, self.clients, self.streams, tag=f"{self.name}-{proxy.name}")
        cpu1, cores1 = util.cpu_seconds(pids), util.core_times()
        proxy.check_alive()
        if r["requests"] == 0:
            raise util.BenchError(f"no request succeeded through {proxy.name}: errors {r['errors']}")
        cpu = cpu1 - cpu0
        notes = []
        if r["errors_total"]:
            notes.append(f"errors: {r['errors']}")
        return {
            "requests": r["requests"],
            "duration_s": r["duration_s"],
            "rps": r["rps"],
            "mean_ms": r["mean_ms"],
            "cpu_s": cpu,
            "cpu_us_per_req": cpu * 1e6 / r["requests"],
            "proxy_cpu_pct": 100 * cpu / r["duration_s"],
            "proxy_core_pct": 100 * util.core_busy_fraction(cores0, cores1, ctx.proxy_cpu),
            "load_core_pct": 100 * util.core_busy_fraction(cores0, cores1, ctx.load_cpu),
            "bytes_expected": origins.PATHS[self.path],
            "errors": r["errors"],
            "errors_total": r["errors_total"],
            "proxy_rss_kib": util.rss_kib(proxy.pids()),
            "h2load_argv": " ".join(r["argv"]),
            "notes": notes,
        }


# Issue 12: gw7's CPU per h2 request at most 0.8x HAProxy's at 100 concurrent streams over 10
# connections.
report.ISSUE_TARGETS += [
    report.Target("l7-h2", "cpu_us_per_req", "gw7-h2", "haproxy-h2", 0.8,
                  "L7 CPU per HTTP/2 request (10 connections x 10 streams)"),
]
