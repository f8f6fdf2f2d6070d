"""scripts/demo.sh answers every command it prints, and the one README.md shows: the demo runs
(lb4 on conf/edge.toml in front of two gw7 on conf/gateway.toml and two origins, on its fixed
ports), the test reads the commands from the demo's own banner and the README, runs each exactly
as printed, and wants it to succeed (exit 0, a 2xx answer, not an origin's error page)."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

import gw7_harness as g
import lb4_harness as h

ROOT = h.SOURCE_ROOT
DEMO = os.path.join(ROOT, "scripts", "demo.sh")
PORTS = [8080, 8001, 8002, 9900, 9911, 9912, 9101, 9102]  # what demo.sh and the confs use


def port_in_use(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return False
    except OSError:
        return True
    finally:
        s.close()


@pytest.fixture
def demo():
    busy = [p for p in PORTS if port_in_use(p)]
    if busy:
        pytest.skip("the demo's fixed ports are in use: %s" % busy)
    if not os.path.exists(os.path.join(ROOT, "build", "l4")) and "LB4" not in os.environ:
        pytest.skip("no build")
    env = dict(os.environ, LB4=h.LB4, GW7=g.GW7)
    proc = subprocess.Popen(["bash", DEMO], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    out = g._Lines(proc.stdout)
    try:
        out.wait_for(r"Ctrl-C stops it", 60)
        yield proc, out
    finally:
        # The demo's own trap stops what it started; its process group is ours to end.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        end = time.monotonic() + 10
        while any(port_in_use(p) for p in PORTS) and time.monotonic() < end:
            time.sleep(0.1)


def banner_commands(text):
    """The shell commands in the demo's banner: every `curl ...` up to the end of its line, the
    admin URLs, and the lb4 --which line."""
    cmds = []
    for line in text.splitlines():
        for m in re.finditer(r"(curl [^\n]*?)(?=\s{2,}|$)", line):
            cmds.append(m.group(1).strip())
        if line.strip().startswith("Admin:"):
            cmds += ["curl %s" % u for u in re.findall(r"http://\S+?(?=,|\s|$)", line)]
        m = re.search(r"(\S*lb4 -c \S+ --which \S+)", line)
        if m:
            cmds.append(m.group(1))
    return cmds


def readme_commands():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    return [c for c in re.findall(r"`(curl [^`]+)`", text) if "127.0.0.1:8080" in c]


def test_every_printed_command_answers(demo):
    proc, out = demo
    banner = out.text()
    cmds = banner_commands(banner)
    # The banner's list, so that a command dropped from it is noticed here.
    assert len([c for c in cmds if c.startswith("curl")]) >= 5, cmds
    assert any("X-API-Key" in c for c in cmds) and any("--which" in c for c in cmds), cmds
    cmds += readme_commands()
    assert len(cmds) > len(banner_commands(banner)), "README's curl command not found"
    for cmd in cmds:
        if cmd.startswith("curl"):
            # Run as printed, with the status code appended to what curl prints.
            r = subprocess.run(cmd + " -sS -w '\\n%{http_code}'", shell=True, cwd=ROOT,
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, (cmd, r.stderr)
            body, _, code = r.stdout.rpartition("\n")
            assert code.startswith("2"), (cmd, code, body[:300])
            assert "Error response" not in body and "File not found" not in body, (cmd, body)
        else:
            r = subprocess.run(cmd, shell=True, cwd=ROOT, capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 0, (cmd, r.stderr)
            assert re.fullmatch(r"web 127\.0\.0\.2 -> 127\.0\.0\.1:800[12]\n", r.stdout), r.stdout


def test_demo_answers_its_api_key_example_with_the_item(demo):
    """What the banner promises for the API key: the catalog item with the key, 401 without."""
    ok = g.request(("127.0.0.1", 8080), "GET", "/catalog/1",
                   headers=[("X-API-Key", "demo-partner-key")])
    assert ok.status == 200 and b'"id": 1' in ok.body, ok
    missing = g.request(("127.0.0.1", 8080), "GET", "/catalog/1")
    assert missing.status == 401, missing
