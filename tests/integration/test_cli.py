"""lb4's command line: --help, --check, --which, usage errors, and a port already in use."""

import os
import re
import socket

import lb4_harness as h

GOOD = """\
[lb4]
workers = 1
max_connections = 100
drain_timeout = "2s"
buffer_size = "16KiB"
buffers_per_worker = 256

[[listener]]
name = "web"
bind = "127.0.0.1:18080"
mode = "tcp"
pool = "gateways"
proxy_protocol = "v2"
idle_timeout = "5m"

[[listener]]
name = "api"
bind = "[::1]:18081"
pool = "api"

[[pool]]
name = "gateways"
balance = "maglev"
hash = "source_ip"
table_size = 65537
connect_timeout = "2s"
connect_retries = 2
backends = [ { address = "127.0.0.1:8001", weight = 1 }, { address = "127.0.0.1:8002" } ]
[pool.health]
check = "none"

[[pool]]
name = "api"
balance = "round_robin"
backends = [ { address = "[::1]:8003" } ]
"""


def write(tmp_path, text, name="edge.toml"):
    path = os.path.join(str(tmp_path), name)
    with open(path, "w") as f:
        f.write(text)
    return path


def position_of(text, needle):
    """(line, column), 1-based, of the first occurrence of needle in text."""
    i = text.index(needle)
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return line, col


def error_lines(stderr):
    return [l[len("lb4: "):] if l.startswith("lb4: ") else l for l in stderr.splitlines() if l]


def test_help_exits_0():
    for flag in ("--help", "-h"):
        r = h.run_lb4([flag])
        assert r.returncode == 0
        assert r.stdout.startswith("usage: lb4 -c FILE"), r.stdout
        assert "--check" in r.stdout and "--which" in r.stdout
        assert r.stderr == ""


def test_unknown_flag_exits_2():
    r = h.run_lb4(["--bogus"])
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == 'lb4: unknown argument "--bogus"', r.stderr
    assert "usage: lb4" in r.stderr and r.stdout == ""


def test_usage_errors_exit_2(tmp_path):
    path = write(tmp_path, GOOD)
    for args, message in ((["--check"], "no config"),
                          (["-c"], "needs a file"),
                          (["-c", path, "--log-level", "loud"], 'unknown log level "loud"'),
                          (["-c", path, "--which"], "--which needs an IP address"),
                          (["-c", path, "--which", "1.2.3"], "not an IP address")):
        r = h.run_lb4(args)
        assert r.returncode == 2, (args, r)
        assert message in r.stderr, (args, r.stderr)


def test_check_good_config_exits_0(tmp_path):
    path = write(tmp_path, GOOD)
    r = h.run_lb4(["--check", "-c", path])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "lb4: %s: ok\n" % path
    # Checking does not bind: the same check passes while the listener's port is taken.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        taken = GOOD.replace("127.0.0.1:18080", "127.0.0.1:%d" % s.getsockname()[1])
        r = h.run_lb4(["--check", "-c", write(tmp_path, taken, "taken.toml")])
        assert r.returncode == 0, r.stderr


def test_check_unknown_key_exits_2_with_position(tmp_path):
    text = GOOD.replace('proxy_protocol = "v2"\n', 'proxy_protocol = "v2"\ncolour = "blue"\n')
    path = write(tmp_path, text)
    r = h.run_lb4(["--check", "-c", path])
    assert r.returncode == 2
    line, col = position_of(text, "colour")
    lines = error_lines(r.stderr)
    assert len(lines) == 1, r.stderr
    expected = '%s:%d:%d: listener "web": colour: unknown key' % (path, line, col)
    assert lines[0].startswith(expected), r.stderr
    assert r.stdout == ""


def test_check_bad_balance_value_exits_2_with_position(tmp_path):
    text = GOOD.replace('balance = "maglev"', 'balance = "magelv"')
    path = write(tmp_path, text)
    r = h.run_lb4(["--check", "-c", path])
    assert r.returncode == 2
    line, col = position_of(text, '"magelv"')
    assert error_lines(r.stderr) == [
        '%s:%d:%d: pool "gateways": balance: unknown value "magelv" '
        '(maglev|round_robin|least_conn|random_two)' % (path, line, col)], r.stderr


def test_check_reports_every_error_in_file_order(tmp_path):
    text = (GOOD.replace('balance = "round_robin"', 'balance = "fastest"')
                .replace('table_size = 65537', 'table_size = 65536')
                .replace('proxy_protocol = "v2"', 'proxy_protocol = "v3"'))
    path = write(tmp_path, text)
    r = h.run_lb4(["--check", "-c", path])
    assert r.returncode == 2
    lines = error_lines(r.stderr)
    assert len(lines) == 3, r.stderr
    found = []
    for l in lines:
        m = re.match(re.escape(path) + r":(\d+):(\d+): ", l)
        assert m, l
        found.append((int(m.group(1)), int(m.group(2))))
    assert found == sorted(found), lines
    assert {f[0] for f in found} == {position_of(text, k)[0] for k in
                                    ('"v3"', "65536", '"fastest"')}, lines


def test_check_unreadable_or_malformed_file_exits_2(tmp_path):
    missing = os.path.join(str(tmp_path), "missing.toml")
    r = h.run_lb4(["--check", "-c", missing])
    assert r.returncode == 2 and "cannot read %s" % missing in r.stderr, r.stderr
    path = write(tmp_path, "[lb4\nworkers = 1\n", "broken.toml")
    r = h.run_lb4(["--check", "-c", path])
    assert r.returncode == 2
    assert re.match(r"lb4: %s:1:\d+: " % re.escape(path), r.stderr), r.stderr


def test_which_prints_a_line_per_listener(tmp_path):
    path = write(tmp_path, GOOD)
    for ip in ("127.0.0.5", "10.1.2.3", "::1", "2001:db8::7"):
        r = h.run_lb4(["--which", ip, "-c", path])
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert len(lines) == 2, r.stdout
        assert re.fullmatch(r"web %s -> 127\.0\.0\.1:800[12]" % re.escape(ip), lines[0]), lines
        assert lines[1] == "api %s -> [::1]:8003" % ip, lines
        again = h.run_lb4(["--which", ip, "-c", path])
        assert again.stdout == r.stdout  # deterministic
    # An IPv4-mapped IPv6 address is the IPv4 client: same placement.
    mapped = h.run_lb4(["--which", "::ffff:127.0.0.5", "-c", path]).stdout.splitlines()[0]
    plain = h.run_lb4(["--which", "127.0.0.5", "-c", path]).stdout.splitlines()[0]
    assert mapped.split(" -> ")[1] == plain.split(" -> ")[1], (mapped, plain)


def test_port_in_use_exits_1_with_a_clear_line(edge):
    """A listener whose port is taken: lb4 exits 1 at start with one line naming the listener,
    the address and the reason."""
    o = edge.origin({"name": "nm", "mode": "name"})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        lb = edge.lb4([{"name": "p", "backends": [{"address": o.address("nm")}]}],
                      listeners=[{"name": "free", "bind": "127.0.0.1", "pool": "p"},
                                 {"name": "web", "bind": "127.0.0.1:%d" % port, "pool": "p"}],
                      start=False)
        r = h.run_lb4(["-c", lb.config_path])
    assert r.returncode == 1, r
    errors = [l for l in r.stderr.splitlines() if " ERROR " in l]
    assert len(errors) == 1, r.stderr
    assert 'listener "web"' in errors[0], errors
    assert "127.0.0.1:%d" % port in errors[0], errors
    assert "Address already in use" in errors[0], errors


def test_check_health_ports_and_protection_keys(tmp_path):
    """--check accepts [pool.health] port, a backend's health_port and the listener protection
    keys, and reports each out-of-range or malformed one at its position with exit 2."""
    good = (GOOD.replace('check = "none"', 'check = "http"\nport = 9911')
                .replace('{ address = "127.0.0.1:8002" }',
                         '{ address = "127.0.0.1:8002", health_port = 9912 }')
                .replace('idle_timeout = "5m"\n',
                         'idle_timeout = "5m"\nallow = ["127.0.0.0/8"]\ndeny = ["127.0.0.9"]\n'
                         'max_connections_per_source = 50\n'
                         'new_connections_per_source = { rate = 100, per = "1s", burst = 50 }\n'))
    r = h.run_lb4(["--check", "-c", write(tmp_path, good)])
    assert r.returncode == 0, r.stderr
    bad = (good.replace("port = 9911", "port = 70000")
               .replace('deny = ["127.0.0.9"]', 'deny = ["127.0.0.9/8"]')
               .replace("rate = 100,", "rate = 0,"))
    path = write(tmp_path, bad, "bad.toml")
    r = h.run_lb4(["--check", "-c", path])
    assert r.returncode == 2 and r.stdout == ""
    want = [
        ('"127.0.0.9/8"', 'listener "web": deny: invalid CIDR "127.0.0.9/8": host bits are set '
                          '(did you mean 127.0.0.0/8?)'),
        ("0, per", 'listener "web": new_connections_per_source.rate: must be between 1 and '
                   '1000000, got 0'),
        ("70000", 'pool "gateways": health.port: must be between 1 and 65535, got 70000'),
    ]
    expected = []
    for needle, message in want:
        line, col = position_of(bad, needle)
        expected.append("%s:%d:%d: %s" % (path, line, col, message))
    assert error_lines(r.stderr) == expected, r.stderr
