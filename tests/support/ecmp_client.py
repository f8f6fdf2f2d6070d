#!/usr/bin/env python3
"""HTTP clients for the ECMP tests, run inside the client network namespace
(`ip netns exec NS python3 ecmp_client.py ...`): the test process itself stays in the root
namespace, so everything that must originate behind the multipath route runs here.

Each request is `GET TARGET` to the VIP; the origin behind the gw7s echoes the request as JSON and
each gw7 adds `X-Via-Gw7: NAME`, so a response names the gw7 it passed through.

  burst --vip HOST:PORT --sources A.B.C.D/N --count N [--threads T] [--limit S]
      N new connections (Connection: close), source addresses taken in turn from the prefix
      (which the namespace must hold, e.g. `ip route add local PREFIX dev lo`), ports chosen by
      the kernel. Prints one JSON list: [source, port, gw7 or null, error or null, start] per
      connection, start being time.monotonic() (CLOCK_MONOTONIC, the same clock in every process
      and namespace) just before the connect. With --duration S: as many connections as fit in S
      seconds (--count is then an upper bound).

  hold --vip HOST:PORT --sources A.B.C.D/N --count N
      N keep-alive connections, one request each, then one line of JSON as above; then for every
      line "probe" on stdin one more request on each still open connection and one more JSON line
      (a connection that failed stays failed: later probes report its first error). "quit" ends.
"""

import argparse
import ipaddress
import json
import socket
import sys
import threading
import time


def sources(prefix):
    net = ipaddress.ip_network(prefix)
    return [str(a) for a in net.hosts()]


class Conn:
    def __init__(self, vip, source, timeout):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.bind((source, 0))
        self.source = source
        self.port = self.sock.getsockname()[1]
        self.sock.connect(vip)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed before a full response")
        self.buf += data

    def request(self, target, close):
        head = "GET %s HTTP/1.1\r\nHost: ecmp.test\r\n%s\r\n" % (
            target, "Connection: close\r\n" if close else "")
        self.sock.sendall(head.encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = None
        for l in lines[1:]:
            k, _, v = l.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v.strip())
        if length is None:
            raise ValueError("no Content-Length in %r" % lines[0])
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        if status != 200:
            raise ValueError("status %d: %r" % (status, body[:200]))
        for k, v in json.loads(body)["headers"]:
            if k.lower() == "x-via-gw7":
                return v
        raise ValueError("no X-Via-Gw7 in the echo")

    def close(self):
        self.sock.close()


def burst(args):
    vip = parse(args.vip)
    srcs = sources(args.sources)
    results = [None] * args.count
    deadline = time.monotonic() + args.limit
    end = time.monotonic() + args.duration
    lock = threading.Lock()
    next_index = [0]

    def work():
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= args.count:
                return
            src = srcs[i % len(srcs)]
            now = time.monotonic()
            if args.duration and now > end:
                return
            if now > deadline:
                results[i] = [src, None, None, "time limit", now]
                continue
            c = None
            try:
                c = Conn(vip, src, args.timeout)
                results[i] = [src, c.port, c.request(args.target, True), None, now]
            except (OSError, EOFError, ValueError) as e:
                results[i] = [src, c.port if c else None, None, "%s: %s" % (type(e).__name__, e),
                              now]
            finally:
                if c is not None:
                    c.close()

    threads = [threading.Thread(target=work) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump([r for r in results if r is not None], sys.stdout)
    sys.stdout.write("\n")


def hold(args):
    vip = parse(args.vip)
    srcs = sources(args.sources)
    conns, errors = [], {}
    for i in range(args.count):
        src = srcs[i % len(srcs)]
        try:
            conns.append(Conn(vip, src, args.timeout))
        except OSError as e:
            conns.append(None)
            errors[i] = [src, None, None, "%s: %s" % (type(e).__name__, e)]

    def probe():
        out = []
        for i, c in enumerate(conns):
            if i in errors:
                out.append(errors[i])
                continue
            try:
                out.append([c.source, c.port, c.request(args.target, False), None])
            except (OSError, EOFError, ValueError) as e:
                errors[i] = [c.source, c.port, None, "%s: %s" % (type(e).__name__, e)]
                out.append(errors[i])
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()

    probe()
    for line in sys.stdin:
        if line.strip() == "probe":
            probe()
        elif line.strip() == "quit":
            break
    for c in conns:
        if c is not None:
            c.close()


def parse(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["burst", "hold"])
    p.add_argument("--vip", required=True)
    p.add_argument("--sources", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--limit", type=float, default=120.0)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--duration", type=float, default=0.0)
    p.add_argument("--target", default="/ecmp")
    args = p.parse_args()
    burst(args) if args.mode == "burst" else hold(args)


if __name__ == "__main__":
    main()
