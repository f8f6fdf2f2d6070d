"""Aggregation (median over repeats), ratios, markdown tables, target checks and the JSON document."""

import json
import statistics


class Target:
    """subject's metric must be <= max_ratio x baseline's (all metrics here: lower is better)."""

    def __init__(self, scenario, metric, subject, baseline, max_ratio, what):
        self.scenario, self.metric, self.subject = scenario, metric, subject
        self.baseline, self.max_ratio, self.what = baseline, max_ratio, what


# The issue's acceptance targets for lb4.
ISSUE_TARGETS = [
    # Issue 16 (issue 4 asked 0.8x and 0.9x): keep-alive <= 0.6x, new connections <= 0.7x; bulk
    # transfers <= 0.6x HAProxy's CPU per MiB, and below HAProxy splice-auto's.
    Target("keepalive", "cpu_us_per_req", "lb4", "haproxy", 0.6, "CPU per request, keep-alive (64 connections)"),
    Target("newconn", "cpu_us_per_req", "lb4", "haproxy", 0.7, "CPU per request, new connection per request"),
    Target("1mib", "cpu_us_per_req", "lb4", "haproxy", 0.6, "CPU per request, 1 MiB responses"),
    Target("1mib", "cpu_us_per_req", "lb4", "haproxy-splice", 1.0, "CPU per request, 1 MiB responses"),
    Target("idle", "kib_per_conn", "lb4", "haproxy", 1.0, "memory per idle relayed connection"),
    # TLS (issue 4). Both proxies run at 100% of their one core for new handshakes, so handshakes/s
    # >= 1.0x HAProxy's is CPU per handshake <= 1.0x; keep-alive TLS requests: CPU <= 0.9x.
    Target("tls-newconn-ec", "cpu_us_per_req", "lb4", "haproxy", 1.0, "CPU per TLS handshake, ECDSA P-256"),
    Target("tls-newconn-rsa", "cpu_us_per_req", "lb4", "haproxy", 1.0, "CPU per TLS handshake, RSA 2048"),
    Target("tls-keepalive-ec", "cpu_us_per_req", "lb4", "haproxy", 0.9, "CPU per keep-alive TLS request, ECDSA"),
    Target("tls-keepalive-rsa", "cpu_us_per_req", "lb4", "haproxy", 0.9, "CPU per keep-alive TLS request, RSA"),
]


def summarize(runs):
    """Median of every numeric metric over the successful runs; errors summed; notes collected."""
    ok = [r for r in runs if "error" not in r]
    out = {"runs": len(runs), "runs_ok": len(ok)}
    if not ok:
        out["error"] = runs[-1]["error"] if runs else "not run"
        return out
    keys = [k for k, v in ok[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for k in keys:
        vals = [r[k] for r in ok if isinstance(r.get(k), (int, float))]
        if vals:
            out[k] = statistics.median(vals)
    if "errors_total" in ok[0]:
        out["errors_total"] = sum(r.get("errors_total", 0) for r in ok)
    if "errors" in ok[0]:
        out["errors"] = {k: sum(r["errors"].get(k, 0) for r in ok) for k in ok[0]["errors"]}
    notes = []
    for r in runs:
        for n in r.get("notes", []):
            if n not in notes:
                notes.append(n)
        if "error" in r:
            notes.append(f"run failed: {r['error'].splitlines()[0]}")
    out["notes"] = notes
    if len(ok) > 1:
        for k in ("cpu_us_per_req", "rps", "kib_per_conn"):
            vals = [r[k] for r in ok if k in r]
            if len(vals) > 1 and statistics.median(vals):
                # half the range, relative to the median: "±x%"
                out[k + "_spread_pct"] = 50 * (max(vals) - min(vals)) / statistics.median(vals)
    return out


def ratio(summary, a, b, key):
    sa, sb = summary.get(a, {}), summary.get(b, {})
    va, vb = sa.get(key), sb.get(key)
    if va is None or vb is None or not vb:
        return None
    return va / vb


def _fmt(col, v):
    if v is None:
        return "—"
    try:
        return col.fmt.format(v)
    except (ValueError, TypeError):
        return str(v)


def scenario_table(scenario, summary, proxy_names, baselines):
    """Markdown table: absolute figures per proxy, then each proxy's ratios to each baseline."""
    present_baselines = [b for b in baselines if "error" not in summary.get(b, {"error": 1})]
    # Columns no proxy has a value for (e.g. the spread of a single run) are left out.
    columns = [c for c in scenario.columns if any(c.key in s for s in summary.values())]
    head = ["proxy"] + [c.header for c in columns]
    for b in present_baselines:
        head += [f"{r.label} ÷ {b}" for r in scenario.ratios]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for p in proxy_names:
        s = summary.get(p)
        if s is None:
            continue
        if "error" in s:
            lines.append(f"| {p} | " + " | ".join(["—"] * (len(head) - 1)) + " |")
            continue
        row = [p] + [_fmt(c, s.get(c.key)) for c in columns]
        for b in present_baselines:
            for r in scenario.ratios:
                v = ratio(summary, p, b, r.key)
                row.append("—" if p == b or v is None else f"{v:.2f}x")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ratio_summary_table(scenarios, summaries, subject, others):
    """One table: subject/other for every scenario's ratio metrics."""
    rows = []
    for sc in scenarios:
        summ = summaries.get(sc.name, {})
        if "error" in summ.get(subject, {"error": 1}):
            continue
        for r in sc.ratios:
            cells = []
            for o in others:
                v = ratio(summ, subject, o, r.key)
                cells.append("—" if v is None else f"{v:.2f}x")
            rows.append(f"| {sc.name} | {r.label} ({r.better} is better) | " + " | ".join(cells) + " |")
    if not rows:
        return ""
    head = f"| scenario | metric | " + " | ".join(f"{subject} ÷ {o}" for o in others) + " |"
    sep = "|---|---|" + "|".join(["---:"] * len(others)) + "|"
    return "\n".join([head, sep] + rows)


def check_targets(targets, summaries, selected_scenarios, absent=None):
    """Returns [(target, status, ratio, text)], status in PASS/FAIL/n/a. absent: proxy -> why not run."""
    absent = absent or {}
    out = []
    for t in targets:
        if t.scenario not in selected_scenarios:
            continue
        summ = summaries.get(t.scenario, {})
        sub, base = summ.get(t.subject), summ.get(t.baseline)
        missing = [(n, x) for n, x in ((t.subject, sub), (t.baseline, base)) if x is None or "error" in x]
        if missing:
            name, x = missing[0]
            why = (x or {}).get("error") or absent.get(name, "not run")
            out.append((t, "n/a", None, f"{name} not measured: {why.splitlines()[0]}"))
            continue
        v = ratio(summ, t.subject, t.baseline, t.metric)
        if v is None:
            out.append((t, "n/a", None, "no value"))
            continue
        status = "PASS" if v <= t.max_ratio else "FAIL"
        out.append((t, status, v, f"{t.subject} {sub[t.metric]:.2f} vs {t.baseline} {base[t.metric]:.2f} {t.metric}"))
    return out


def target_lines(results):
    lines = []
    for t, status, v, text in results:
        r = "—" if v is None else f"{v:.3f}x"
        lines.append(f"TARGET {status:4} {t.scenario:9} {t.what}: {t.subject}/{t.baseline} = {r} "
                     f"(target <= {t.max_ratio:.2f}x) — {text}")
    return lines


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
