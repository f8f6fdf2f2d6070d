"""Running lb4 and gw7 under systemd: the units in conf/systemd/ pass `systemd-analyze verify`
(with their paths pointed at this build), and the real binaries speak the notify protocol on a
datagram socket the test owns: READY=1 once listening, RELOADING=1 (with MONOTONIC_USEC) then
READY=1 around SIGHUP, good config or bad, STOPPING=1 on SIGTERM. gw7 is started with the exact
command line of gw7@.service (instance and environment file expanded)."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

import gw7_harness as g
import lb4_harness as h

SYSTEMD_DIR = os.path.join(h.SOURCE_ROOT, "conf", "systemd")
ANNOUNCE_DROPIN = os.path.join("lb4.service.d", "announce.conf")  # for [lb4.announce]
LB4 = h.LB4
GW7 = g.GW7


class NotifySocket:
    """A unix datagram socket bound where $NOTIFY_SOCKET will point: an abstract name ("@...")
    or a path in `directory`. next() returns one message as {key: value}."""

    def __init__(self, directory=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if directory is None:
            name = "edge-test-notify-%d-%d" % (os.getpid(), id(self))
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            path = os.path.join(directory, "notify.sock")
            self.sock.bind(path)
            self.env = path
        self.messages = []

    def next(self, timeout=10):
        self.sock.settimeout(timeout * g.SLOW)
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            raise AssertionError("no notify message in %.0fs; so far %r" % (timeout,
                                                                           self.messages))
        assert data.endswith("\n"), data
        fields = {}
        for line in data[:-1].split("\n"):
            k, sep, v = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z_]+", k), "malformed notify line %r" % line
            fields[k] = v
        self.messages.append(fields)
        return fields

    def none_within(self, seconds):
        self.sock.settimeout(seconds)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return True
        raise AssertionError("unexpected notify message %r" % data)

    def close(self):
        self.sock.close()


def expect_reload_cycle(n, before_us):
    """A SIGHUP's two messages: RELOADING=1 stamped on CLOCK_MONOTONIC (as systemd requires),
    then READY=1."""
    m = n.next()
    assert m.get("RELOADING") == "1", m
    usec = int(m["MONOTONIC_USEC"])
    after_us = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
    assert before_us <= usec <= after_us, (before_us, usec, after_us)
    assert "STATUS" in m
    m = n.next()
    assert m.get("READY") == "1" and "STATUS" in m, m


def now_us():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)


# ---------------------------------------------------------------- the units


def unit_settings(path):
    """{(section, key): [values]} of a unit file."""
    out = {}
    section = None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            out.setdefault((section, k), []).append(v)
    return out


def installed_copy(tmp_path, unit, extra_rewrites=()):
    """The unit copied to tmp_path with its binaries pointed at this build and /etc/edge/ at
    tmp_path (so `verify` checks executables and files that exist)."""
    with open(os.path.join(SYSTEMD_DIR, unit)) as f:
        text = f.read()
    text = text.replace("/usr/local/bin/lb4", LB4).replace("/usr/local/bin/gw7", GW7)
    text = text.replace("/etc/edge/", str(tmp_path) + "/")
    for a, b in extra_rewrites:
        text = text.replace(a, b)
    out = os.path.join(str(tmp_path), unit)
    with open(out, "w") as f:
        f.write(text)
    return out


def systemd_analyze_or_skip():
    exe = shutil.which("systemd-analyze")
    if exe is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("systemd-analyze cannot run here: %s" % r.stderr.strip())
    return exe


@pytest.mark.parametrize("unit,instance,dropin", [("lb4.service", "lb4.service", None),
                                                  ("lb4.service", "lb4.service", ANNOUNCE_DROPIN),
                                                  ("gw7@.service", "gw7@8001.service", None)])
def test_units_pass_systemd_analyze_verify(tmp_path, unit, instance, dropin):
    exe = systemd_analyze_or_skip()
    installed_copy(tmp_path, unit)
    if dropin:  # verify reads drop-ins beside the unit (a misspelt key there is reported)
        os.makedirs(os.path.join(str(tmp_path), unit + ".d"))
        shutil.copy(os.path.join(SYSTEMD_DIR, dropin), os.path.join(str(tmp_path), dropin))
    for conf in ("edge.toml", "gateway.toml"):
        shutil.copy(os.path.join(g.SOURCE_ROOT, "conf", conf), str(tmp_path))
    shutil.copy(os.path.join(SYSTEMD_DIR, "gw7-8001.env"), str(tmp_path))
    r = subprocess.run([exe, "verify", "--man=no", os.path.join(str(tmp_path), instance)],
                       capture_output=True, text=True, timeout=60)
    # verify only warns about unknown keys and bad values: any line naming our unit fails too.
    ours = [l for l in (r.stdout + r.stderr).splitlines()
            if str(tmp_path) in l or unit.split("@")[0].split(".")[0] in l]
    assert r.returncode == 0 and not ours, r.stdout + r.stderr


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt type and a missing binary are reported."""
    exe = systemd_analyze_or_skip()
    path = installed_copy(tmp_path, "lb4.service",
                          [("Type=notify", "Type=notifyy"), (LB4, LB4 + "-missing")])
    r = subprocess.run([exe, "verify", "--man=no", path], capture_output=True, text=True,
                       timeout=60)
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "notifyy" in text and "-missing" in text, text


@pytest.mark.parametrize("unit", ["lb4.service", "gw7@.service"])
def test_units_are_notify_services_with_a_sandbox(unit):
    s = unit_settings(os.path.join(SYSTEMD_DIR, unit))
    svc = lambda k: s.get(("Service", k), [])  # noqa: E731
    assert svc("Type") == ["notify"]
    assert svc("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert int(svc("LimitNOFILE")[0]) >= 65536
    assert svc("NoNewPrivileges") == ["yes"] and svc("ProtectSystem") == ["strict"]
    assert svc("ProtectHome") == ["yes"] and svc("PrivateTmp") == ["yes"]
    # The only capability: binding ports below 1024.
    assert svc("CapabilityBoundingSet") == ["CAP_NET_BIND_SERVICE"]
    assert svc("AmbientCapabilities") == ["CAP_NET_BIND_SERVICE"]
    assert "/var/log/edge" in " ".join(svc("ReadWritePaths"))
    # SIGKILL only after the drain had its time: drain_timeout (30s) and gw7's drain_delay (5s).
    assert int(svc("TimeoutStopSec")[0].rstrip("s")) > 30 + (5 if unit.startswith("gw7") else 0)


def test_the_announce_dropin_adds_exactly_what_announcing_needs():
    """[lb4.announce] writes routes (CAP_NET_ADMIN) through a TUN device (/dev/net/tun): the
    drop-in adds those two and nothing else; the sandbox of lb4.service stays."""
    d = unit_settings(os.path.join(SYSTEMD_DIR, ANNOUNCE_DROPIN))
    assert set(d) == {("Service", k) for k in ("CapabilityBoundingSet", "AmbientCapabilities",
                                               "PrivateDevices", "DeviceAllow")}, d
    assert d[("Service", "CapabilityBoundingSet")] == ["CAP_NET_ADMIN"]
    assert d[("Service", "AmbientCapabilities")] == ["CAP_NET_ADMIN"]
    assert d[("Service", "DeviceAllow")] == ["/dev/net/tun rw"]
    assert d[("Service", "PrivateDevices")] == ["no"]


# ---------------------------------------------------------------- notify messages


@pytest.mark.parametrize("kind", ["abstract", "path"])
def test_lb4_notifies_ready_reloading_stopping(edge, tmp_path, monkeypatch, kind):
    n = NotifySocket(None if kind == "abstract" else str(tmp_path))
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", n.env)
        o = edge.origin({"name": "b0", "mode": "name"})
        lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("b0")}]}])
        m = n.next()
        assert m.get("READY") == "1" and m.get("STATUS", "").startswith("serving"), m
        # READY=1 comes when it listens: a client is served now.
        assert h.ask_name(lb.address()) == "b0"

        before = now_us()
        lb.signal(signal.SIGHUP)
        expect_reload_cycle(n, before)
        # A config that does not load: the reload still ends in READY=1 (the old one serves).
        with open(lb.config_path, "a") as f:
            f.write("\n[lb4]\nworkers = \"many\"\n")
        before = now_us()
        lb.signal(signal.SIGHUP)
        expect_reload_cycle(n, before)
        h.wait_until(lambda: "reload failed" in lb.stderr(), 10, "the failed reload")
        assert h.ask_name(lb.address()) == "b0"

        lb.signal(signal.SIGTERM)
        m = n.next()
        assert m.get("STOPPING") == "1", m
        assert lb.wait_exit(10) == 0
        n.none_within(0.2)
        assert [next(iter(x)) for x in n.messages] == [
            "READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"]
    finally:
        n.close()


def gw7_unit_command(instance_port, env_file):
    """ExecStart of gw7@.service for instance `instance_port`, as systemd expands it: %i is the
    instance, ${VAR} comes from the EnvironmentFile."""
    s = unit_settings(os.path.join(SYSTEMD_DIR, "gw7@.service"))
    (cmd,) = s[("Service", "ExecStart")]
    env = {}
    with open(env_file) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                env[k] = v
    cmd = cmd.replace("%i", str(instance_port))
    cmd = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], cmd)
    return shlex.split(cmd)


def test_gw7_runs_from_its_unit_and_notifies(tmp_path):
    origin = g.HttpOrigin(["a"])
    n = NotifySocket()
    proc = None
    try:
        port = h.free_port("127.0.0.1")
        admin_port = h.free_port("127.0.0.1")
        config = os.path.join(str(tmp_path), "gateway.toml")
        with open(config, "w") as f:
            f.write(g.render_config(
                gw7={"drain_delay": "300ms"},
                upstreams=[{"name": "a", "servers": [origin.address("a")]}],
                routes=[{"name": "all", "path_prefix": "/", "upstream": "a"}]))
        env_file = os.path.join(str(tmp_path), "gw7-%d.env" % port)
        with open(env_file, "w") as f:
            f.write("GW7_ADMIN=127.0.0.1:%d\n" % admin_port)
        argv = gw7_unit_command(port, env_file)
        assert argv[0] == "/usr/local/bin/gw7" and "/etc/edge/gateway.toml" in argv, argv
        argv = [GW7 if a == "/usr/local/bin/gw7" else config if a == "/etc/edge/gateway.toml"
                else a for a in argv]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=dict(os.environ, NOTIFY_SOCKET=n.env))
        err = g._Lines(proc.stderr)
        m = n.next()
        assert m.get("READY") == "1" and str(port) in m.get("STATUS", ""), m
        # Ready means listening, on the instance's port, with the environment file's admin.
        r = g.request(("127.0.0.1", port), "GET", "/x")
        assert r.status == 200, r
        assert g.request(("127.0.0.1", admin_port), "GET", "/healthz").status == 200

        before = now_us()
        proc.send_signal(signal.SIGHUP)
        expect_reload_cycle(n, before)
        err.wait_for("reload ok", 10)
        with open(config, "a") as f:
            f.write("\n[[route]]\nname = 1\n")
        before = now_us()
        proc.send_signal(signal.SIGHUP)
        expect_reload_cycle(n, before)
        err.wait_for("reload failed", 10)

        proc.send_signal(signal.SIGTERM)
        assert n.next().get("STOPPING") == "1"
        assert proc.wait(10 * g.SLOW) == 0, err.text()
        assert [next(iter(x)) for x in n.messages] == [
            "READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        n.close()
        origin.stop()
