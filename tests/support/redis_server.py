"""A real redis-server on a free loopback port for gw7's integration tests (the rate limiter's
store = "redis"), with a tiny RESP client (no redis-py on the test machines).

    r = RedisServer(work_dir).start()
    r.address          # "127.0.0.1:PORT" for [redis] address
    r.command("DBSIZE")
    r.stop(); r.start()   # the same port: a Redis that went away and came back, empty
    RedisServer(work_dir, password="pw", args=["--user", "gw7", "on", ">pw2", "~*", "+@all"])
                          # requirepass (command() authenticates with it) and more config
"""

import os
import socket
import subprocess
import time

from gw7_harness import closed_port as free_port  # a port nothing listens on yet


def _encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("redis closed the connection")
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("redis closed the connection")
            self.buf += d
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError("redis error: " + rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("latin-1")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("bad RESP line %r" % line)


class RedisServer:
    def __init__(self, work_dir, port=None, password=None, args=()):
        self.port = port or free_port()
        self.password = password
        self.args = list(args) + (["--requirepass", password] if password else [])
        self.address = "127.0.0.1:%d" % self.port
        self.log_path = os.path.join(work_dir, "redis-%d.log" % self.port)
        self.proc = None

    def start(self, timeout=10):
        """Starts redis-server (no persistence) and waits, bounded, until it answers PING."""
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning", "--logfile", self.log_path] +
            self.args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + timeout
        while True:
            try:
                if self.command("PING") == "PONG":
                    return self
            except (OSError, EOFError):
                pass
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s" % self.proc.returncode)
            if time.monotonic() > end:
                raise AssertionError("redis-server did not answer PING within %ss" % timeout)
            time.sleep(0.02)  # readiness poll, bounded

    def stop(self):
        """Kills the server (as a crash would) and waits until its port refuses connections."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill()
        self.proc.wait(10)

    def command(self, *args, timeout=5):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            reader = _Reader(s)
            if self.password:
                s.sendall(_encode(("AUTH", self.password)))
                reader.reply()
            s.sendall(_encode(args))
            return reader.reply()
