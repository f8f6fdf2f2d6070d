"""`gw7 report`: the real binary on generated access logs (tests/support/access_log_gen.py): two
logs merge, --from/--to select, --json gives the numbers the HTML shows, the HTML is one
self-contained page, and bad input gets a clear error and exit status."""

import json
import os
import re
import subprocess
import sys
import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import access_log_gen as gen  # noqa: E402
import gw7_harness as g7  # noqa: E402

START = datetime.datetime(2026, 12, 2, 17, 0, 0)


def write_log(path, count, seed, seconds=600):
    lines = list(gen.lines(count, START, seconds, seed))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return [json.loads(l) for l in lines]


def report(*args):
    return subprocess.run([g7.GW7, "report"] + list(args), capture_output=True, text=True,
                          timeout=120)


def test_two_logs_merge_into_json(tmp_path):
    a = write_log(str(tmp_path / "a.log"), 3000, seed=1)
    b = write_log(str(tmp_path / "b.log"), 2000, seed=2)
    r = report("--json", str(tmp_path / "a.log"), str(tmp_path / "b.log"))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    rows = a + b
    assert data["requests"] == 5000 and data["malformed_lines"] == 0
    assert data["bucket_seconds"] == 10 and len(data["buckets"]) == 60
    assert sum(x["requests"] for x in data["buckets"]) == 5000
    consumers = {c["name"]: c for c in data["consumers"]}
    for name in ("alice", "bob", "carol"):
        assert consumers[name]["requests"] == sum(1 for x in rows if x["consumer"] == name)
    assert consumers["(anonymous)"]["requests"] == sum(1 for x in rows if x["consumer"] is None)
    limited = sum(1 for x in rows if x["consumer"] == "bob" and x["rate_limit"] == "limited")
    assert consumers["bob"]["rate_limited"] == limited > 0
    assert consumers["alice"]["rate_limited"] == 0
    routes = {x["name"]: x for x in data["routes"]}
    assert routes["orders"]["latency_ms"]["p50"] > routes["products"]["latency_ms"]["p95"]
    five = sum(1 for x in rows if 500 <= x["status"] < 600)
    assert sum(x["status"]["5xx"] for x in data["buckets"]) == five
    # p95 within the sketch's 2% of the exact value
    durations = sorted(x["duration_us"] for x in rows if x["route"] == "orders")
    exact = durations[int(0.95 * (len(durations) - 1))] / 1000
    assert abs(routes["orders"]["latency_ms"]["p95"] - exact) <= exact * 0.021


def test_from_to_selects_and_html_is_self_contained(tmp_path):
    rows = write_log(str(tmp_path / "a.log"), 3000, seed=3)
    with open(str(tmp_path / "a.log"), "a") as f:
        f.write("garbage line\n")
    out = str(tmp_path / "report.html")
    r = report("--from", "2026-12-02T17:02:00Z", "--to", "2026-12-02T17:04:00Z",
               str(tmp_path / "a.log"), "-o", out)
    assert r.returncode == 0, r.stderr
    assert "1 malformed lines skipped" in r.stderr
    html = open(out).read()
    inside = [x for x in rows if "2026-12-02T17:02:00" <= x["time"] < "2026-12-02T17:04:00"]
    assert "%d requests" % len(inside) in html
    for title in ("Requests over time per consumer", "Requests over time per route",
                  "Status mix over time", "Latency over time", "Top consumers",
                  "Share rate-limited", "Slowest routes"):
        assert title in html
    assert html.count("<svg") == 7 and html.count("<table") == 7
    assert "<script" not in html and not re.search(r"(src|href)=", html)
    j = json.loads(report("--json", "--from", "2026-12-02T17:02:00Z", "--to",
                          "1796231040", str(tmp_path / "a.log")).stdout)
    assert j["requests"] == len(inside)
    assert j["out_of_range"] == 3000 - len(inside)


def test_bad_input_is_a_clear_error(tmp_path):
    r = report()
    assert r.returncode == 2 and "no log files" in r.stderr
    r = report("--from", "yesterday", "x.log")
    assert r.returncode == 2 and "not a time" in r.stderr
    r = report(str(tmp_path / "missing.log"))
    assert r.returncode == 1 and "missing.log" in r.stderr
    r = report("--bogus", "x.log")
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr
