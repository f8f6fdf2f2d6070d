"""gw7's [gw7.access_log] around the request path: the log file is opened at start (an
unwritable one is exit 1 with the path named), SIGUSR1 after logrotate's rename reopens it under
its name, /metrics counts its lines and reopens, and GET /usage answers the usage windows."""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def with_log(origin, path):
    text = h.simple_config(origin, ["a"])
    # [gw7.access_log] belongs to [gw7]: put it before the first [[upstream]].
    return text.replace("\n[[upstream]]", '\n[gw7.access_log]\npath = "%s"\nsample = 0.5\n'
                        'redact = ["api_key"]\n\n[[upstream]]' % path, 1)


def test_log_opened_at_start_and_reopened_on_sigusr1(gw, tmp_path):
    o = gw.origin("a")
    log = str(tmp_path / "gw7-access.log")
    g = gw.gw7(with_log(o, log))
    assert os.path.exists(log)
    os.rename(log, log + ".1")
    g.signal(signal.SIGUSR1)
    h.wait_until(lambda: os.path.exists(log), 5, "the log reopened under its name")
    assert h.metric(g.metrics(), "gw7_access_log_reopens_total") == 1
    assert h.metric(g.metrics(), "gw7_access_log_lines_total", result="dropped") == 0
    assert h.request(g.addr, "GET", "/x").status == 200  # still serving after the signal


def test_usage_endpoint(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    r = g.admin_get("/usage")
    assert r.status == 200 and r.header("content-type") == "application/json"
    usage = json.loads(r.body)
    assert usage["windows"] == ["1m", "5m"] and usage["slot_seconds"] == 10
    assert usage["max_consumers"] == 1000
    assert isinstance(usage["routes"], list) and isinstance(usage["consumers"], list)


def test_unwritable_log_is_exit_1(tmp_path):
    path = tmp_path / "gw7.toml"
    path.write_text('[gw7]\nlisten = "127.0.0.1:0"\n[gw7.access_log]\npath = "%s"\n'
                    % (tmp_path / "missing-dir" / "access.log"))
    r = subprocess.run([h.GW7, "-c", str(path)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stderr
    assert "[gw7.access_log] cannot open" in r.stderr and "missing-dir" in r.stderr
    # --check validates keys without opening the file: the path may be created at deployment.
    r = subprocess.run([h.GW7, "--check", "-c", str(path)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
