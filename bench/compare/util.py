"""Process management and /proc sampling helpers for bench/compare (stdlib only)."""

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """A failure of one run (a proxy that does not start, a load that fails): reported, not fatal."""


# ---------------------------------------------------------------------------------------------
# Processes. Every child runs in its own session (process group) so that it can be stopped with
# everything it forked, and so that a Ctrl-C in the terminal reaches only this script, which then
# stops them all in order (see ProcessRegistry.stop_all, called from a finally block).
# ---------------------------------------------------------------------------------------------

class ManagedProcess:
    def __init__(self, name, argv, log_path, cpu=None, cwd=None, env=None):
        self.name = name
        self.argv = list(argv)
        if cpu is not None:
            self.argv = ["taskset", "-c", str(cpu)] + self.argv  # taskset execs: same pid
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=cwd, env=env)
        self.pid = self.proc.pid
        REGISTRY.add(self)

    def alive(self):
        return self.proc.poll() is None

    def returncode(self):
        return self.proc.poll()

    def log_tail(self, lines=8):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(data.strip().splitlines()[-lines:])

    def stop(self, sig=signal.SIGTERM, grace=5.0):
        """Signal the whole process group, wait, then SIGKILL whatever is left."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # The leader may be gone while its group still has members (e.g. nginx workers).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=grace)
        with contextlib.suppress(OSError):
            self._log.close()
        REGISTRY.discard(self)


class ProcessRegistry:
    def __init__(self):
        self._procs = []

    def add(self, p):
        self._procs.append(p)

    def discard(self, p):
        if p in self._procs:
            self._procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self._procs)):
            with contextlib.suppress(Exception):
                p.stop(grace=3.0)


REGISTRY = ProcessRegistry()


def run_bounded(name, argv, log_path, cpu=None, timeout=60.0):
    """Run a command to completion (bounded by timeout), return (returncode, output text)."""
    p = ManagedProcess(name, argv, log_path, cpu=cpu)
    try:
        rc = p.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.stop(sig=signal.SIGKILL, grace=2.0)
        raise BenchError(f"{name} did not finish within {timeout:.0f}s (killed)")
    p.stop()
    with open(log_path, "rb") as f:
        return rc, f.read().decode("utf-8", "replace")


def install_signal_handlers():
    """SIGINT/SIGTERM/SIGHUP raise KeyboardInterrupt so that finally blocks stop every child (SIGINT
    explicitly too: it is ignored by default in background jobs of non-interactive shells)."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------

def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_listening(host, port, proc=None, timeout=10.0):
    """Wait until host:port accepts a TCP connection. Fails early if proc exits."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise BenchError(f"{proc.name} exited with code {proc.returncode()} before accepting on "
                             f"{host}:{port}; its output:\n{indent(proc.log_tail())}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as e:
            last = e
            time.sleep(0.05)
    raise BenchError(f"nothing accepts on {host}:{port} after {timeout:.0f}s ({last})"
                     + (f"; {proc.name} output:\n{indent(proc.log_tail())}" if proc else ""))


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines()) if text else prefix + "(no output)"


# ---------------------------------------------------------------------------------------------
# /proc sampling
# ---------------------------------------------------------------------------------------------

def _stat_fields(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read().decode("ascii", "replace")
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    return data[data.rfind(")") + 2:].split()


def process_tree(root):
    """root and all its descendants (pids), found by scanning /proc for parent pids."""
    parents = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            parents[int(d)] = int(_stat_fields(d)[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        if pid in parents or pid == root:
            tree.append(pid)
        frontier.extend(c for c, pp in parents.items() if pp == pid)
    return [p for p in tree if p in parents]


def cpu_seconds(pids):
    """utime+stime of each process (all its threads, live and exited), summed, in seconds."""
    total = 0
    for pid in pids:
        try:
            f = _stat_fields(pid)
            total += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def rss_kib(pids):
    """VmRSS summed over processes, in KiB (kernel "kB")."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total


def core_times():
    """{cpu index: (busy ticks, total ticks)} from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                parts = line.split()
                vals = [int(x) for x in parts[1:]]
                idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
                total = sum(vals[:8])  # guest time is already included in user
                out[int(parts[0][3:])] = (total - idle, total)
    return out


def machine_busy_seconds(before, after):
    """CPU seconds all cores were busy between two core_times() (every process: proxy, origin,
    load generator, kernel)."""
    ticks = sum(after[c][0] - before.get(c, (0, 0))[0] for c in after)
    return ticks / os.sysconf("SC_CLK_TCK")


def core_busy_fraction(before, after, cpu):
    b0, t0 = before.get(cpu, (0, 0))
    b1, t1 = after.get(cpu, (0, 0))
    return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def sockstat():
    """TCP counters from /proc/net/sockstat (inuse, orphan, tw, alloc, mem)."""
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    p = line.split()[1:]
                    return {p[i]: int(p[i + 1]) for i in range(0, len(p) - 1, 2)}
    except OSError:
        pass
    return {}


# ---------------------------------------------------------------------------------------------
# sysctl: loopback connection churn needs TIME_WAIT reuse and a wide ephemeral port range.
# ---------------------------------------------------------------------------------------------

SYSCTLS = {
    "net.ipv4.tcp_tw_reuse": "1",
    "net.ipv4.ip_local_port_range": "1024 65535",
    # haproxy-log: HAProxy's syslog datagrams wait in the receiver's queue instead of being
    # dropped once 10 (the default) are queued.
    "net.unix.max_dgram_qlen": "4096",
}


def _sysctl_path(key):
    return "/proc/sys/" + key.replace(".", "/")


def read_sysctl(key):
    try:
        with open(_sysctl_path(key)) as f:
            return " ".join(f.read().split())
    except OSError:
        return None


class SysctlTuning:
    """Apply SYSCTLS if writable; restore the previous values on exit unless keep=True."""

    def __init__(self, enabled=True, keep=False):
        self.enabled, self.keep = enabled, keep
        self.original, self.applied, self.notes = {}, {}, []

    def __enter__(self):
        for key, value in SYSCTLS.items():
            old = read_sysctl(key)
            self.original[key] = old
            if not self.enabled or old is None or old == value:
                continue
            try:
                with open(_sysctl_path(key), "w") as f:
                    f.write(value)
                self.applied[key] = value
            except OSError as e:
                self.notes.append(f"could not set {key}={value!r} ({e.strerror}); kept {old!r}")
        return self

    def current(self):
        return {k: read_sysctl(k) for k in SYSCTLS}

    def __exit__(self, *exc):
        if self.keep:
            return False
        for key in self.applied:
            with contextlib.suppress(OSError):
                with open(_sysctl_path(key), "w") as f:
                    f.write(self.original[key])
        return False


def pin_self(cpu):
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {cpu})


def set_nice(target):
    """Set this process's niceness to `target` (children inherit it); returns the resulting value."""
    cur = os.nice(0)
    if target != 0 and target != cur:
        with contextlib.suppress(OSError):
            os.nice(target - cur)
    return os.nice(0)


def tool_version(argv, timeout=5.0):
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout)
        text = (r.stdout + r.stderr).decode("utf-8", "replace").strip()
        return text.splitlines()[0] if text else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


@contextlib.contextmanager
def cpu_quota(pids, fraction):
    """Runs the body with `pids` (whole processes, all threads) in a cgroup limited to
    `fraction` of one CPU (cgroup v2 cpu.max or v1 cpu.cfs_quota_us), then moves them back.
    For capacity figures: a proxy held to the same CPU budget as another, so a load generator
    weaker than a whole proxy core can still saturate both."""
    period = 100000
    quota = max(1000, int(period * fraction))
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # v2
        root = "/sys/fs/cgroup"
        limit = [("cpu.max", f"{quota} {period}")]
        try:
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                f.write("+cpu")
        except OSError as e:
            raise BenchError(f"cannot enable the cgroup cpu controller: {e}")
    elif os.path.isdir("/sys/fs/cgroup/cpu"):  # v1
        root = "/sys/fs/cgroup/cpu"
        limit = [("cpu.cfs_period_us", str(period)), ("cpu.cfs_quota_us", str(quota))]
    else:
        raise BenchError("no cgroup cpu controller: cannot hold the proxy to a CPU quota")
    group = os.path.join(root, f"edge-bench-{os.getpid()}")
    os.makedirs(group, exist_ok=True)
    try:
        for name, value in limit:
            with open(os.path.join(group, name), "w") as f:
                f.write(value)
        for pid in pids:
            with open(os.path.join(group, "cgroup.procs"), "w") as f:
                f.write(str(pid))
        yield
    finally:
        for pid in pids:
            try:
                with open(os.path.join(root, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                pass  # the process is gone
        try:
            os.rmdir(group)
        except OSError:
            pass
