"""bench/compare: the same load through lb4, HAProxy and NGINX, in one run; prints ratios."""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

import loads
import origins
import proxies
import report
import scenarios
import tls_bench
import util

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="bench/compare/compare",
        description="End-to-end comparison of lb4 with HAProxy (mode tcp) and NGINX stream: "
                    "CPU per request, requests/s, p99 and memory per idle connection.")
    p.add_argument("--scenarios", default=",".join(scenarios.SCENARIOS),
                   help="comma-separated subset of: %(default)s")
    p.add_argument("--proxies", default=",".join(n for n, c in proxies.PROXIES.items()
                                                  if getattr(c, "default", True)),
                   help="comma-separated subset of: %(default)s")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured load run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load before each run (default 2)")
    p.add_argument("--repeat", type=int, default=None,
                   help="runs per (scenario, proxy), interleaved in rotating order; the report shows "
                        "medians and the spread (default 3, 1 with --quick)")
    p.add_argument("--idle-connections", type=int, default=5000,
                   help="connections held open in the idle scenario (default 5000)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2 s loads, 1 s warm-up, 1,000 idle connections")
    p.add_argument("--proxy-cpu", type=int, default=0, help="CPU for the proxy under test (default 0)")
    p.add_argument("--load-cpu", type=int, default=1, help="CPU for wrk, the origin and this script (default 1)")
    p.add_argument("--lb4", default=os.path.join(REPO, "build", "l4", "lb4"), help="lb4 binary (default %(default)s)")
    p.add_argument("--haproxy", default="haproxy", help="haproxy binary")
    p.add_argument("--nginx", default="nginx", help="nginx binary (also used for the origin)")
    p.add_argument("--wrk", default="wrk", help="wrk binary")
    p.add_argument("--subject", default="lb4", help="proxy whose ratios are summarized (default lb4)")
    p.add_argument("--baselines", default="haproxy,nginx", help="ratio denominators (default %(default)s)")
    p.add_argument("--json", metavar="FILE", help="write every figure (all runs, medians, ratios, targets) here")
    p.add_argument("--no-sysctl", action="store_true",
                   help="do not set net.ipv4.tcp_tw_reuse / ip_local_port_range")
    p.add_argument("--keep-sysctl", action="store_true", help="leave the sysctl changes in place on exit")
    p.add_argument("--nice", type=int, default=-10,
                   help="niceness for this script and everything it starts (inherited), so that other "
                        "work on the machine disturbs the measurement less; 0 to leave it (default %(default)s)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (configs, logs, wrk output)")
    a = p.parse_args(argv)
    if a.quick:
        a.duration, a.warmup, a.idle_connections = 2.0, 1.0, min(a.idle_connections, 1000)
    if a.repeat is None:
        a.repeat = 1 if a.quick else 3
    a.scenario_list = [s for s in a.scenarios.split(",") if s]
    a.proxy_list = [s for s in a.proxies.split(",") if s]
    a.baseline_list = [s for s in a.baselines.split(",") if s]
    for s in a.scenario_list:
        if s not in scenarios.SCENARIOS:
            p.error(f"unknown scenario {s!r} (known: {', '.join(scenarios.SCENARIOS)})")
    for s in a.proxy_list:
        if s not in proxies.PROXIES:
            p.error(f"unknown proxy {s!r} (known: {', '.join(proxies.PROXIES)})")
    if a.repeat < 1 or a.duration < 1 or a.idle_connections < 1:
        p.error("--repeat, --duration and --idle-connections must be positive (duration >= 1 s)")
    cpus = os.sched_getaffinity(0)
    for c in (a.proxy_cpu, a.load_cpu):
        if c not in cpus:
            p.error(f"CPU {c} is not available (have {sorted(cpus)})")
    if a.proxy_cpu == a.load_cpu:
        log("warning: proxy and load share one CPU; figures will not be comparable with the README")
    return a


def run_one(ctx, sc, proxy, workdir):
    """Start proxy, check it relays, run the scenario, stop it. Returns the metrics or {"error": ...}."""
    t0 = time.monotonic()
    try:
        proxy.tls = getattr(sc, "tls", None)  # a TLS scenario: the proxy terminates TLS
        proxy.start(workdir, ctx.proxy_cpu, [ctx.origin.address])
        # A scenario may say how to check the relay (an h2-only listener takes no HTTP/1.1).
        get = getattr(sc, "probe", None) or (tls_bench.https_get if proxy.tls else loads.http_get)
        status, body = get(proxy.address, "/small")
        if status != 200 or len(body) != origins.SMALL_BODY_SIZE:
            raise util.BenchError(f"GET /small through {proxy.name}: status {status}, {len(body)} bytes")
        m = sc.run(ctx, proxy)
        m["wall_s"] = time.monotonic() - t0
        return m
    except (util.BenchError, OSError) as e:
        return {"error": f"{type(e).__name__}: {e}" if isinstance(e, OSError) else str(e)}
    finally:
        proxy.stop()


def describe(sc, m):
    if "error" in m:
        return "FAILED: " + m["error"].splitlines()[0]
    if "cpu_us_per_req" in m:
        latency = f"p99 {m['p99_ms']:.2f} ms" if "p99_ms" in m else f"mean {m.get('mean_ms', 0):.2f} ms"
        return (f"{m['rps']:,.0f} req/s, {latency}, {m['cpu_us_per_req']:.2f} CPU µs/req, "
                f"proxy CPU {m['proxy_cpu_pct']:.0f}%, load errors {m['errors_total']}")
    if "kib_per_conn" in m:
        return (f"RSS {m['rss_before_kib']:,} -> {m['rss_idle_kib']:,} KiB: {m['kib_per_conn']:.2f} KiB/conn "
                f"over {m['connections']:,} idle connections")
    return ""


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    nofile = util.raise_nofile()
    util.install_signal_handlers()
    util.pin_self(a.load_cpu)
    niceness = util.set_nice(a.nice)

    for tool in ("taskset", a.wrk, a.nginx):
        if not shutil.which(tool) and not os.access(tool, os.X_OK):
            log(f"error: {tool} not found")
            return 2

    started = time.time()
    load0 = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="bench-compare-")
    os.chmod(tmp, 0o755)
    doc = {"meta": {}, "proxies": {}, "scenarios": {}, "targets": []}
    summaries, runs = {}, {}
    failed = False
    selected = [scenarios.SCENARIOS[s] for s in a.scenario_list]

    # Proxies: instantiate, check availability (a missing binary is skipped, not fatal).
    plist = []
    for name in a.proxy_list:
        px = proxies.PROXIES[name](a)
        ok, why = px.available()
        doc["proxies"][name] = {"title": px.title, "available": ok, "reason": why,
                                "version": px.version() if ok else ""}
        if ok:
            plist.append(px)
        else:
            log(f"skipping {name}: {why}")
    skipped = {n: d["reason"] for n, d in doc["proxies"].items() if not d["available"]}

    try:
        with util.SysctlTuning(enabled=not a.no_sysctl, keep=a.keep_sysctl) as sysctl:
            for n in sysctl.notes:
                log(n)
            origin = origins.NginxOrigin(tmp, a.load_cpu, nginx=a.nginx)
            origin.start()
            status, body = loads.http_get(origin.address, "/small")
            if status != 200:
                raise util.BenchError(f"origin GET /small: status {status}")
            wrk = loads.Wrk(tmp, a.load_cpu, a.wrk)
            ctx = scenarios.Context(origin, wrk, a.duration, a.warmup, a.proxy_cpu, a.load_cpu,
                                    a.idle_connections, log)
            n_runs = sum(len([p for p in plist if sc.applies_to(p)]) for sc in selected) * a.repeat
            est = sum(len([p for p in plist if sc.applies_to(p)]) * sc.estimate_s(ctx) for sc in selected) * a.repeat
            log(f"origin nginx on {origin.host}:{origin.port} (CPU {a.load_cpu}); proxies on CPU {a.proxy_cpu}: "
                f"{', '.join(p.name for p in plist) or 'none'}; {n_runs} runs, about {est / 60:.1f} min; "
                f"temp dir {tmp}")

            for sc in selected:
                applicable = [p for p in plist if sc.applies_to(p)]
                runs[sc.name] = {p.name: [] for p in applicable}
                for rep in range(a.repeat):
                    order = applicable[rep % len(applicable):] + applicable[:rep % len(applicable)] if applicable else []
                    for px in order:
                        if not origin.proc or not origin.proc.alive():
                            raise util.BenchError("the origin nginx died; output:\n"
                                                  + util.indent(origin.proc.log_tail() if origin.proc else ""))
                        wd = os.path.join(tmp, f"{sc.name}-{rep + 1}-{px.name}")
                        log(f"{sc.name} [{rep + 1}/{a.repeat}] {px.name} ...")
                        m = run_one(ctx, sc, px, wd)
                        m["rep"] = rep + 1
                        runs[sc.name][px.name].append(m)
                        failed |= "error" in m
                        log(f"{sc.name} [{rep + 1}/{a.repeat}] {px.name}: {describe(sc, m)}")
                        time.sleep(0.5)
                summaries[sc.name] = {pn: report.summarize(rs) for pn, rs in runs[sc.name].items()}
            sysctl_state = sysctl.current()
            sysctl_applied = dict(sysctl.applied)
            sysctl_notes = list(sysctl.notes)
            origin.stop()
    except KeyboardInterrupt:
        log("interrupted: stopping every process started")
        util.REGISTRY.stop_all()
        return 130
    except (util.BenchError, OSError) as e:
        log(f"error: {e}")
        util.REGISTRY.stop_all()
        return 1
    finally:
        util.REGISTRY.stop_all()
        if a.keep_tmp or failed:
            log(f"configs and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # ---- report --------------------------------------------------------------------------------
    names = [p.name for p in plist]
    out = []
    out.append("# bench/compare")
    out.append("")
    out.append(f"{time.strftime('%Y-%m-%d %H:%M:%S')} · {platform.node()} · Linux {platform.release()} · "
               f"{os.cpu_count()} CPUs · proxy on CPU {a.proxy_cpu}, wrk + origin nginx on CPU {a.load_cpu} · "
               f"{a.duration:g} s runs after {a.warmup:g} s warm-up · repeat {a.repeat} (median) · "
               f"open files {nofile[0]} · nice {niceness}")
    out.append("")
    for name, d in doc["proxies"].items():
        if d["available"]:
            out.append(f"- {name}: {d['title']} — {d['version']}")
        else:
            out.append(f"- {name}: skipped — {d['reason']}")
    out.append(f"- sysctl: " + ", ".join(f"{k}={v!r}" for k, v in sysctl_state.items())
               + ("" if sysctl_applied else " (unchanged)") + "".join(f"; {n}" for n in sysctl_notes))
    load1 = os.getloadavg()
    out.append(f"- load average before/after: {load0[0]:.2f} / {load1[0]:.2f}")
    for sc in selected:
        out.append("")
        out.append(f"## {sc.title}")
        out.append("")
        out.append(f"_{sc.description}_")
        out.append("")
        out.append(report.scenario_table(sc, summaries.get(sc.name, {}), names, a.baseline_list))
        notes, busy = [], []
        for pn, s in summaries.get(sc.name, {}).items():
            if "error" in s:
                notes.append(f"{pn}: failed: {s['error']}")
            for n in s.get("notes", []):
                notes.append(f"{pn}: {n}")
            if s.get("errors_total") and "errors" in s:
                e = ", ".join(f"{k} {v}" for k, v in s["errors"].items() if v)
                notes.append(f"{pn}: wrk socket/status errors: {e}")
            if s.get("proxy_core_pct", 0) - s.get("proxy_cpu_pct", 0) > 10:
                busy.append(f"{pn} {s['proxy_cpu_pct']:.0f}% of {s['proxy_core_pct']:.0f}%")
        if busy:
            notes.append("noise: other processes ran on the proxy core (proxy CPU % of the core's busy %: "
                         + ", ".join(busy) + ")")
        for pn, why in skipped.items():
            notes.append(f"{pn}: skipped ({why})")
        if notes:
            out.append("")
            out.extend("> " + n.replace("\n", " ") for n in notes)

    others = [p for p in names if p != a.subject]
    rs = report.ratio_summary_table(selected, summaries, a.subject, others)
    if rs:
        out += ["", f"## Ratios: {a.subject} ÷ others", "", rs]
    absent = dict(skipped)
    absent.update({n: "not selected (--proxies)" for n in proxies.PROXIES if n not in a.proxy_list})
    tres = report.check_targets(report.ISSUE_TARGETS, summaries, {s.name for s in selected}, absent)
    if tres:
        out += ["", "## Issue targets (information)", "", "```"] + report.target_lines(tres) + ["```"]
    print("\n".join(out))

    if a.json:
        doc["meta"] = {
            "argv": sys.argv, "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
            "elapsed_s": time.time() - started, "host": platform.node(), "kernel": platform.release(),
            "cpus": os.cpu_count(), "proxy_cpu": a.proxy_cpu, "load_cpu": a.load_cpu,
            "duration_s": a.duration, "warmup_s": a.warmup, "repeat": a.repeat,
            "idle_connections": a.idle_connections, "nofile": nofile, "nice": niceness, "sysctl": sysctl_state,
            "sysctl_applied": sysctl_applied, "loadavg_before": load0, "loadavg_after": load1,
            "wrk": util.tool_version([a.wrk, "-v"]),
            "origin": {"server": "nginx", "paths": origins.PATHS},
        }
        for sc in selected:
            doc["scenarios"][sc.name] = {
                "title": sc.title, "description": sc.description,
                "runs": runs.get(sc.name, {}), "median": summaries.get(sc.name, {}),
                "ratios": {p: {b: {r.key: report.ratio(summaries.get(sc.name, {}), p, b, r.key)
                                   for r in sc.ratios} for b in names if b != p} for p in names},
            }
        doc["targets"] = [{"scenario": t.scenario, "metric": t.metric, "subject": t.subject,
                           "baseline": t.baseline, "max_ratio": t.max_ratio, "what": t.what,
                           "status": st, "ratio": v, "detail": txt} for t, st, v, txt in tres]
        report.write_json(a.json, doc)
        log(f"JSON written to {a.json}")
    return 0
