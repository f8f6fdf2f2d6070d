"""Whole-connection load for lb4's availability tests (reload, handover): each connection asks
the "NAME" origin for its backend's name. Shared so both test files count failures the same way."""

import collections
import re
import socket
import threading
import time

import lb4_harness as h


def name_via(address, timeout=5):
    """One whole exchange: connect, ask "NAME", half-close, read the reply to EOF, close.
    The backend's name; raises on any failure (refused, reset, wrong reply, timeout)."""
    s = h.connect(address, timeout=timeout)
    try:
        s.sendall(b"NAME\n")
        s.shutdown(socket.SHUT_WR)
        data = bytearray()
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
            if len(data) > 4096:
                raise AssertionError("reply too long: %r" % bytes(data[:80]))
    finally:
        s.close()
    m = re.fullmatch(rb"([A-Za-z0-9_-]+)\n", bytes(data))
    if not m:
        raise AssertionError("unexpected reply %r" % bytes(data))
    return m.group(1).decode()


def utc_now():
    """Wall-clock time as lb4 logs it (2026-01-02T03:04:05.678Z): failures line up with its log."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class Load:
    """`threads` clients, each doing whole connections (connect, request, response, close) one
    after another against `address` until stop() or `per_thread` connections: bounded in count
    and time. Every failure is recorded with its exception."""

    def __init__(self, address, threads=3, per_thread=4000, timeout=5):
        self.address = address
        self.per_thread = per_thread
        self.timeout = timeout
        self.names = collections.Counter()
        self.failures = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def _run(self):
        for _ in range(self.per_thread):
            if self._stop.is_set():
                return
            began = utc_now()
            try:
                name = name_via(self.address, self.timeout)
            except (OSError, AssertionError) as e:
                with self.lock:
                    self.failures.append("began %s, failed %s: %s: %s" % (
                        began, utc_now(), type(e).__name__, e))
                continue
            with self.lock:
                self.names[name] += 1

    def done(self):
        with self.lock:
            return sum(self.names.values())

    def wait_more(self, n, timeout, what="the load"):
        """Waits until `n` more connections than now have completed."""
        want = self.done() + n
        h.wait_until(lambda: self.done() >= want or not any(t.is_alive() for t in self._threads),
                     timeout, "%s to complete %d more connections" % (what, n))
        assert self.done() >= want, "%s stopped after %d connections; failures: %r" % (
            what, self.done(), self.failures[:5])

    def wait_done(self, n, timeout, what="the load"):
        h.wait_until(lambda: self.done() >= n or not any(t.is_alive() for t in self._threads),
                     timeout, "%s to complete %d connections" % (what, n))
        assert self.done() >= n, "%s stopped after %d connections; failures: %r" % (
            what, self.done(), self.failures[:5])

    def stop(self):
        self._stop.set()
        end = time.monotonic() + 30 * h.SLOW
        for t in self._threads:
            t.join(timeout=max(0.1, end - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "load threads did not stop"
        return self
