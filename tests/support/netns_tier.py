"""The edge tier across network namespaces, for the ECMP (and BGP) tests (issue 18).

    client ns ──c0/c1/c2── lb0 / lb1 / lb2 ns ──d── back ns
    10.50.0.0/24 (AnyIP)   VIP 10.99.0.1 on lo        gw7 g0/g1/g2 on 10.200.0.1-3, origin on
    VIP via a multipath    lb4 (same config in all)   127.0.0.1 (echoes the request as JSON)
    route over lb0-2

Links are veth pairs: client 10.1.K.1/30 <-> lbK 10.1.K.2/30, lbK 10.2.K.1/30 <-> back
10.2.K.2/30. Nothing forwards packets: lb4 terminates TCP from the client and connects to gw7 from
its own address, so every namespace is an end host. The client namespace holds the multipath
route and `fib_multipath_hash_policy = 1` (L4 hash: source and destination address and port), so
flows spread over the lb4s by their ports.

`NetnsTier.create(work_dir)` raises Unavailable (tests skip) when not root or `ip netns` fails.
close() stops every process and deletes every namespace it made, whatever state it is in.
"""

import json
import os
import signal
import subprocess
import sys
import time

import gw7_harness as g
import lb4_harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
ECMP_CLIENT = os.path.join(HERE, "ecmp_client.py")
PYTHON = "/usr/bin/python3"

VIP = "10.99.0.1"
VIP_PORT = 80
CLIENTS = "10.50.0.0/24"
GW7_PORT = 80
GW7_ADMIN_PORT = 9911
LB4_ADMIN = "127.0.0.1:9900"
ORIGIN_PORT = 8000
ANNOUNCE_TABLE = 100  # the kernel table where each lb4 puts the VIP for its bird2
BIRD = "/usr/sbin/bird"

# lb4's checks of gw7 (on gw7's admin /healthz); gw7's drain_delay is longer than fall x interval.
HEALTH = {"check": "http", "path": "/healthz", "interval": "200ms", "timeout": "150ms",
          "rise": 2, "fall": 2}


class Unavailable(Exception):
    pass


def run(args, check=True, timeout=20, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


class Process:
    """A long-running process in a namespace, its output in files."""

    def __init__(self, ns, name, args, work_dir, stdin=None):
        self.name = name
        self.killed = False  # by the test, on purpose: its exit code is not checked
        self.terminated = False  # SIGTERM sent
        self.out_path = os.path.join(work_dir, name + ".out")
        self.err_path = os.path.join(work_dir, name + ".err")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + list(args),
                                     stdin=stdin or subprocess.DEVNULL, stdout=self.out,
                                     stderr=self.err)

    def text(self, which="err"):
        with open(self.err_path if which == "err" else self.out_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for(self, needle, timeout, which="err"):
        deadline = time.monotonic() + timeout * h.SLOW
        while time.monotonic() < deadline:
            if needle in self.text(which):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError("%s: no %r within %ss (exit %s):\n%s" % (
            self.name, needle, timeout, self.proc.poll(), self.text()[-3000:]))

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        self.killed = True
        self.proc.kill()
        self.proc.wait()

    def signal(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def terminate(self):
        """SIGTERM once, without waiting (stop() waits): a tier's processes drain together."""
        if self.proc.poll() is None and not self.terminated:
            self.proc.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout`: the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout * h.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.out.close()
                self.err.close()
                return None
        self.out.close()
        self.err.close()
        return self.proc.returncode


class NetnsTier:
    def __init__(self, work_dir, lb4_count=3, gw7_count=3):
        self.dir = work_dir
        self.prefix = "edge%d-" % os.getpid()
        self.namespaces = []
        self.processes = []
        self.client = self.prefix + "client"
        self.back = self.prefix + "back"
        self.lbs = [self.prefix + "lb%d" % k for k in range(lb4_count)]
        self.gw7_names = ["g%d" % i for i in range(gw7_count)]
        self.gw7s = {}  # name -> Process
        self.lb4s = {}  # namespace -> Process
        self.lb4_config = os.path.join(work_dir, "edge.toml")
        self.origin = None

    # ------------------------------------------------------------ building

    @classmethod
    def create(cls, work_dir, **kw):
        if os.geteuid() != 0:
            raise Unavailable("needs root (network namespaces)")
        probe = "edgeprobe%d" % os.getpid()
        r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        if r.returncode != 0:
            raise Unavailable("`ip netns add` failed: %s" % r.stderr.strip())
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
        t = cls(work_dir, **kw)
        try:
            t._build_network()
        except Exception:
            t.close()
            raise
        return t

    def ns(self, name):
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self.ip(name, "link", "set", "lo", "up")
        for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter"):
            self.sysctl(name, key, "0")

    def ip(self, ns, *args):
        return run(["ip", "-n", ns] + list(args))

    def sysctl(self, ns, key, value):
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "%s=%s" % (key, value)])

    def exec(self, ns, *args, check=True, timeout=20):
        return run(["ip", "netns", "exec", ns] + list(args), check=check, timeout=timeout)

    def veth(self, ns_a, name_a, addr_a, ns_b, name_b, addr_b):
        self.ip(ns_a, "link", "add", name_a, "type", "veth", "peer", "name", name_b, "netns", ns_b)
        self.ip(ns_a, "addr", "add", addr_a, "dev", name_a)
        self.ip(ns_b, "addr", "add", addr_b, "dev", name_b)
        self.ip(ns_a, "link", "set", name_a, "up")
        self.ip(ns_b, "link", "set", name_b, "up")

    def lb_gateway(self, k):
        """The lbK side of the client link: the client namespace's nexthop for lbK."""
        return "10.1.%d.2" % k

    def _build_network(self):
        for name in [self.client, self.back] + self.lbs:
            self.ns(name)
        self.sysctl(self.client, "net.ipv4.fib_multipath_hash_policy", "1")
        # Every address of the client prefix is local (AnyIP): clients bind to any of them.
        self.ip(self.client, "route", "add", "local", CLIENTS, "dev", "lo")
        for i in range(len(self.gw7_names)):
            self.ip(self.back, "addr", "add", "10.200.0.%d/32" % (i + 1), "dev", "lo")
        for k, lb in enumerate(self.lbs):
            self.veth(self.client, "c%d" % k, "10.1.%d.1/30" % k, lb, "uplink", "10.1.%d.2/30" % k)
            self.veth(lb, "downlink", "10.2.%d.1/30" % k, self.back, "l%d" % k, "10.2.%d.2/30" % k)
            self.ip(lb, "addr", "add", VIP + "/32", "dev", "lo")
            self.ip(lb, "route", "add", CLIENTS, "via", "10.1.%d.1" % k)
            self.ip(lb, "route", "add", "10.200.0.0/24", "via", "10.2.%d.2" % k)

    def set_vip_route(self, lb_indexes):
        """The client namespace's route to the VIP: one nexthop per lb4 in `lb_indexes` (a
        plain multipath route, hash-threshold: nexthop K owns the K-th equal slice of the hash
        space, in the order given)."""
        args = ["route", "replace", VIP + "/32"]
        for k in lb_indexes:
            args += ["nexthop", "via", self.lb_gateway(k), "dev", "c%d" % k]
        self.ip(self.client, *args)

    # ------------------------------------------------------------ processes

    def start_origin(self):
        self.origin = Process(self.back, "origin",
                              [PYTHON, g.HTTP_ORIGIN, "--listen", "o0:127.0.0.1:%d" % ORIGIN_PORT],
                              self.dir)
        self.processes.append(self.origin)
        self.origin.wait_for("READY", 10, which="out")
        # One EVENT line per request would fill the file; nothing reads it past READY.

    def gw7_address(self, name):
        return "10.200.0.%d" % (self.gw7_names.index(name) + 1)

    def start_gw7(self, name):
        path = os.path.join(self.dir, "%s.toml" % name)
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(g.render_config(
                    gw7={"proxy_protocol": "required", "trusted_proxies": ["10.2.0.0/16"],
                         "drain_delay": "%dms" % (1500 * h.SLOW), "drain_timeout": "5s"},
                    upstreams=[{"name": "app", "balance": "round_robin",
                                "servers": ["127.0.0.1:%d" % ORIGIN_PORT]}],
                    routes=[{"name": "all", "path_prefix": "/", "upstream": "app",
                             "add_request_headers": {"X-Via-Gw7": name}}]))
        addr = self.gw7_address(name)
        p = Process(self.back, "%s-%d" % (name, len(self.processes)),
                    [g.GW7, "-c", path, "--listen", "%s:%d" % (addr, GW7_PORT),
                     "--admin", "%s:%d" % (addr, GW7_ADMIN_PORT)], self.dir)
        self.processes.append(p)
        self.gw7s[name] = p
        p.wait_for("admin on ", 10)
        return p

    def backend_key(self, name):
        return "%s:%d" % (self.gw7_address(name), GW7_PORT)

    def gw7_of_key(self, key):
        return {self.backend_key(n): n for n in self.gw7_names}[key]

    def write_lb4_config(self, extra_lb4=None, extra_text="", announce=None):
        """One config for every lb4 (byte for byte): connection log to stdout, which each lb4's
        Process keeps in its own file; `announce`: an [lb4.announce] table."""
        section = {"workers": 1, "drain_timeout": "5s", "admin": LB4_ADMIN}
        section.update(extra_lb4 or {})
        pool = {"name": "gw7", "balance": "maglev", "hash": "source_ip", "table_size": 65537,
                "connect_timeout": "1s", "connect_retries": 2,
                "backends": [{"address": self.backend_key(n), "health_port": GW7_ADMIN_PORT}
                             for n in self.gw7_names],
                "health": dict(HEALTH)}
        listener = {"name": "web", "bind": "%s:%d" % (VIP, VIP_PORT), "mode": "tcp",
                    "pool": "gw7", "proxy_protocol": "v2"}
        text = h.render_config(section, [listener], [pool])
        tables = '[lb4.access_log]\npath = "stdout"\n\n'
        if announce:
            tables += "[lb4.announce]\n" + "".join(
                "%s = %s\n" % (k, g.toml_value(v)) for k, v in announce.items()) + "\n"
        text = text.replace("[[listener]]", tables + "[[listener]]", 1)
        with open(self.lb4_config, "w") as f:
            f.write(text + extra_text)

    def start_lb4(self, k):
        lb = self.lbs[k]
        p = Process(lb, "lb4-%d-%d" % (k, len(self.processes)),
                    [h.LB4, "-c", self.lb4_config], self.dir)
        self.processes.append(p)
        self.lb4s[lb] = p
        p.wait_for("started with", 10)
        return p

    def lb4_status(self, k):
        r = self.exec(self.lbs[k], "curl", "-sS", "--max-time", "5",
                      "http://%s/status" % LB4_ADMIN)
        for pool in json.loads(r.stdout)["pools"]:
            if pool["name"] == "gw7":
                return {self.gw7_of_key(b["address"]): b["state"] for b in pool["backends"]}
        raise AssertionError("no pool gw7 in lb%d's /status" % k)

    def wait_states(self, want, lb_indexes=None, timeout=15):
        lb_indexes = range(len(self.lbs)) if lb_indexes is None else lb_indexes
        for k in lb_indexes:
            h.wait_until(lambda: all(self.lb4_status(k).get(n) == s for n, s in want.items()),
                         timeout * h.SLOW, "lb%d to see %r" % (k, want))

    def start_all(self, bgp=False, drain_delay="3s"):
        """Origin, gw7s, lb4s. Without bgp: a static multipath route over every lb4. With bgp:
        bird2 in the client namespace (the router) and in each lb4 namespace; each lb4 keeps the
        VIP in kernel table ANNOUNCE_TABLE while it can serve ([lb4.announce])."""
        self.start_origin()
        for n in self.gw7_names:
            self.start_gw7(n)
        announce = None
        if bgp:
            announce = {"vips": [VIP], "table": ANNOUNCE_TABLE, "drain_delay": drain_delay}
            self.start_birds()
        self.write_lb4_config(announce=announce)
        for k in range(len(self.lbs)):
            self.start_lb4(k)
        self.wait_states({n: "up" for n in self.gw7_names})
        if not bgp:
            self.set_vip_route(range(len(self.lbs)))

    # ------------------------------------------------------------ BGP (bird2)

    def start_bird(self, ns, name, config_text):
        conf = os.path.join(self.dir, "bird-%s.conf" % name)
        with open(conf, "w") as f:
            f.write(config_text)
        p = Process(ns, "bird-%s" % name,
                    [BIRD, "-f", "-c", conf, "-s", os.path.join(self.dir, "bird-%s.ctl" % name),
                     "-P", os.path.join(self.dir, "bird-%s.pid" % name)], self.dir)
        self.processes.append(p)
        return p

    def start_birds(self):
        """The router (client namespace, AS 65000) peers with each lb4 namespace's bird (all in
        AS 65001, so their paths are equal and merge into one multipath route). Each lb4's bird
        learns the VIP from kernel table ANNOUNCE_TABLE (where lb4 puts it) and exports it."""
        timers = "hold time 3; keepalive time 1; connect retry time 1;"
        router = ["router id 10.1.0.1;", "log stderr { info, remote, warning, error, fatal };",
                  "protocol device { }",
                  "protocol kernel { merge paths on; ipv4 { import none; export all; }; }"]
        for k in range(len(self.lbs)):
            router.append("protocol bgp lb%d { local 10.1.%d.1 as 65000; neighbor 10.1.%d.2 "
                          "as 65001; %s ipv4 { import all; export none; }; }"
                          % (k, k, k, timers))
        self.start_bird(self.client, "router", "\n".join(router) + "\n")
        for k, lb in enumerate(self.lbs):
            self.start_bird(lb, "lb%d" % k, "\n".join([
                "router id 10.1.%d.2;" % k,
                "log stderr { info, remote, warning, error, fatal };",
                "protocol device { }",
                "protocol kernel { kernel table %d; learn; scan time 1; "
                "ipv4 { import all; export none; }; }" % ANNOUNCE_TABLE,
                "protocol bgp uplink { local 10.1.%d.2 as 65001; neighbor 10.1.%d.1 as 65000; "
                "%s ipv4 { import none; export where net = %s/32; }; }" % (k, k, timers, VIP),
            ]) + "\n")

    def router_nexthops(self):
        """The lb4s (indexes) in the router's route to the VIP, as bird2 installed it."""
        r = self.ip(self.client, "route", "show", VIP + "/32")
        return {int(gw.split(".")[2]) for gw in
                (w for i, w in enumerate(r.stdout.split()) if i > 0 and
                 r.stdout.split()[i - 1] == "via")}

    def wait_nexthops(self, want, timeout=30):
        h.wait_until(lambda: self.router_nexthops() == set(want), timeout * h.SLOW,
                     "the router's VIP route over lb4s %r" % (sorted(want),), interval=0.02)

    # ------------------------------------------------------------ observing

    def which(self, ips):
        """{client ip: gw7 name} from `lb4 --which` on the shared config (run in the root
        namespace: it only reads the config)."""
        out = {}
        from concurrent.futures import ThreadPoolExecutor

        def one(ip):
            r = h.run_lb4(["--which", ip, "-c", self.lb4_config])
            assert r.returncode == 0, "lb4 --which %s: %d %s" % (ip, r.returncode, r.stderr)
            line = r.stdout.split("\n")[0]
            return self.gw7_of_key(line.split(" -> ")[1])
        with ThreadPoolExecutor(2) as pool:
            for ip, gw in zip(ips, pool.map(one, ips)):
                out[ip] = gw
        return out

    def burst_args(self, count, threads, limit, sources, duration=0):
        return [PYTHON, ECMP_CLIENT, "burst", "--vip", "%s:%d" % (VIP, VIP_PORT),
                "--sources", sources, "--count", str(count), "--threads", str(threads),
                "--limit", str(limit), "--duration", str(duration)]

    def burst(self, count, threads=16, limit=120, sources=CLIENTS):
        """`count` new connections from the client namespace:
        [(source, port, gw7, error, start)]."""
        r = self.exec(self.client, *self.burst_args(count, threads, limit, sources),
                      timeout=limit + 60)
        return [tuple(x) for x in json.loads(r.stdout)]

    def steady_load(self, seconds, threads=4, sources=CLIENTS):
        """New connections for `seconds` in the background; .results() waits for them."""
        p = Process(self.client, "load-%d" % len(self.processes),
                    self.burst_args(10 ** 6, threads, seconds + 30, sources, seconds), self.dir)
        self.processes.append(p)
        return Load(p, seconds)

    def hold(self, count, sources=CLIENTS):
        """A `hold` client: keep-alive connections that answer probe() with one request each."""
        p = Process(self.client, "hold-%d" % len(self.processes),
                    [PYTHON, ECMP_CLIENT, "hold", "--vip", "%s:%d" % (VIP, VIP_PORT),
                     "--sources", sources, "--count", str(count)], self.dir,
                    stdin=subprocess.PIPE)
        self.processes.append(p)
        return Holder(p)

    def connections_by_lb4(self):
        """{(client ip, port): lb index} of the connections lb4s are serving now (`ss` in each
        lb4 namespace: established sockets on the VIP's port)."""
        out = {}
        for k, lb in enumerate(self.lbs):
            r = self.exec(lb, "ss", "-Htn", "state", "established",
                          "( sport = :%d )" % VIP_PORT)
            for line in r.stdout.splitlines():
                peer = line.split()[-1]
                ip, port = peer.rsplit(":", 1)
                out[(ip, int(port))] = k
        return out

    def logged_connections(self, k):
        """{(client ip, port): gw7 name} from lbK's connection log (its stdout), every run."""
        out = {}
        for p in self.processes:
            if p.name.startswith("lb4-%d-" % k):
                for line in p.text("out").splitlines():
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if rec.get("client") and rec.get("backend"):
                        ip, port = rec["client"].rsplit(":", 1)
                        out[(ip, int(port))] = self.gw7_of_key(rec["backend"])
        return out

    # ------------------------------------------------------------ teardown

    def close(self):
        problems = []
        # Every process drains (drain_delay) at the same time, not one after another.
        for p in reversed(self.processes):
            try:
                p.terminate()
            except Exception:  # noqa: BLE001 - stop() below reports it
                pass
        for p in reversed(self.processes):
            try:
                code = p.stop(timeout=10)
            except Exception as e:  # noqa: BLE001 - teardown goes on whatever happens
                problems.append("%s: %s" % (p.name, e))
                continue
            text = p.text()
            if any(m in text for m in g.SANITIZER_MARKERS):
                problems.append("%s: sanitizer report:\n%s" % (p.name, text[-4000:]))
            if p.killed:
                continue
            if p.name.startswith(("lb4-", "g")) and code not in (0, None, -signal.SIGTERM):
                problems.append("%s exited %s: %s" % (p.name, code, text[-2000:]))
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.namespaces = []
        return problems

    def dump_logs(self):
        for p in self.processes:
            sys.stderr.write("---- %s stderr ----\n%s\n" % (p.name, p.text()[-3000:]))


class Load:
    def __init__(self, process, seconds):
        self.p = process
        self.seconds = seconds

    def results(self):
        self.p.proc.wait(self.seconds + 60)
        return [tuple(x) for x in json.loads(self.p.text("out"))]


class Holder:
    def __init__(self, process):
        self.p = process
        self.lines_read = 0

    def _next(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.p.text("out").splitlines()
            if len(lines) > self.lines_read:
                self.lines_read += 1
                return [tuple(x) for x in json.loads(lines[self.lines_read - 1])]
            if not self.p.running():
                raise AssertionError("hold client exited: %s" % self.p.text())
            time.sleep(0.05)
        raise AssertionError("hold client: no answer within %ss" % timeout)

    def first(self):
        return self._next()

    def probe(self):
        self.p.proc.stdin.write(b"probe\n")
        self.p.proc.stdin.flush()
        return self._next()

    def quit(self):
        try:
            self.p.proc.stdin.write(b"quit\n")
            self.p.proc.stdin.flush()
        except OSError:
            pass
