"""Fixtures for lb4's integration tests.

`edge` (an Env) starts origins and lb4 processes and connects clients; everything it started is
stopped at the end of the test, even on failure, and lb4's stderr is attached to a failing test's
report. At teardown every lb4 must exit 0 on SIGTERM and its log must be free of sanitizer reports.
"""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import pytest  # noqa: E402

import lb4_harness as h  # noqa: E402

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")


class Env:
    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.origins = []
        self.lb4s = []
        self.sockets = []
        self.holders = []  # RefusingPort / Blackhole
        self._count = 0

    def refusing(self, host="127.0.0.1"):
        """An address that refuses connections (RST)."""
        r = h.RefusingPort(host)
        self.holders.append(r)
        return r.address()

    def blackhole(self):
        """An address where a connect hangs (verified before it is returned)."""
        b = h.Blackhole()
        self.holders.append(b)
        return b.address()

    def origin(self, *listeners):
        """Starts one origin process; each listener is a dict (name, mode, host, port, ...)."""
        o = h.Origin(listeners, self.dir)
        self.origins.append(o)
        return o.start()

    def lb4(self, pools, listeners=None, start=True, log_level="info", nofile=None,
            **lb4_section):
        """Starts lb4. `listeners` defaults to one listener "web" on 127.0.0.1 for the first pool.
        [lb4] defaults: workers = 2, drain_timeout = "5s"."""
        section = {"workers": 2, "drain_timeout": "5s"}
        section.update(lb4_section)
        if listeners is None:
            listeners = [{"name": "web", "bind": "127.0.0.1", "mode": "tcp",
                          "pool": pools[0]["name"]}]
        self._count += 1
        l = h.Lb4(self.dir, section, listeners, pools, tag="lb4-%d" % self._count,
                  log_level=log_level, nofile=nofile)
        l.expect_exit = 0
        self.lb4s.append(l)
        if start:
            l.start()
        else:
            l.write_config()
        return l

    def connect(self, address, source_ip=None, timeout=10):
        s = h.connect(address, source_ip, timeout)
        self.sockets.append(s)
        return s

    def close(self):
        problems = []
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        for l in self.lb4s:
            if l.proc is None:
                continue
            was_running = l.running()
            code = l.stop()
            text = l.sanitizer_text()
            for marker in SANITIZER_MARKERS:
                if marker in text:
                    problems.append("%s: sanitizer report in lb4's stderr (%r)" % (l.tag, marker))
                    break
            if l.expect_exit is not None and code != l.expect_exit:
                problems.append("%s exited with %s (expected %s%s)" % (
                    l.tag, code, l.expect_exit, "" if was_running else ", it had already exited"))
        for o in self.origins:
            o.stop()
        for x in self.holders:
            x.close()
        h.kill_all()
        return problems


@pytest.fixture
def edge(tmp_path, request):
    env = Env(tmp_path)
    request.node._edge_env = env
    try:
        yield env
    finally:
        problems = env.close()
    if problems:
        pytest.fail("teardown: " + "; ".join(problems), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    env = getattr(item, "_edge_env", None)
    if env is None or not report.failed:
        return
    for l in env.lb4s:
        report.sections.append(("%s stderr (%s)" % (l.tag, l.config_path), l.stderr()[-20000:]))
        try:
            with open(l.config_path) as f:
                report.sections.append(("%s config" % l.tag, f.read()))
        except OSError:
            pass
    for o in env.origins:
        text = o.stderr_text()
        if text:
            report.sections.append(("origin stderr", text[-5000:]))


def pytest_sessionfinish(session, exitstatus):
    h.kill_all()
