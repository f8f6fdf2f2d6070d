#!/usr/bin/env python3
"""A real HTTP/1.1 keep-alive origin server for gw7's integration tests (stdlib only, one thread
per connection).

Run as a subprocess:

    http_origin.py --listen NAME:HOST:PORT [--listen ...]

Each --listen opens one listening socket (PORT 0 = any free port) and prints "READY PORT NAME".

Every request is parsed (head, then a Content-Length or chunked body, read as it streams and
hashed) and reported on stdout as one line "EVENT {json}" with "ev": "request", the listener name,
the connection id, the request line, the headers as a list of [name, value], the raw head (latin-1
text), the body length and SHA-256. Connections are kept alive (HTTP/1.1 default) until the client
closes or a mode says otherwise; "ev": "open" / "close" lines bracket each connection.

What a request gets is chosen by its query string (the gateway passes queries through untouched):
  status=N        the status (default 200)
  delay=S         sleep S seconds before answering (float)
  size=N          the body is N bytes of a fixed pattern (pattern_sha256(N) is its SHA-256);
                  without size= the body is a JSON echo: name, method, target, headers, body_len,
                  body_sha256
  chunked=1       send the body chunked (in 64 KiB chunks)
  until_close=1   no Content-Length, no chunking: the body ends when the connection closes
  close=1         "Connection: close" and close after the response
  reset=1         read the request, then reset the connection without answering
  continue=1      send "100 Continue" before the final response
  header=K:V      add a response header (repeatable)
  etag=V          send ETag: "V"; a request whose If-None-Match names "V" gets 304 (no body)
  hostile=KIND    answer with a malformed or ambiguous response (see HOSTILE below), then close
  drip=S          send the body in 1 KiB pieces S seconds apart (slow origin)
  trailer=K:V     with chunked=1: send this trailer field after the last chunk (repeatable)
  hostile_trailer=KIND  a chunked response whose trailer section is malformed (see
                  HOSTILE_TRAILERS), then close
  ws=MODE         a request with "Upgrade: websocket" gets the RFC 6455 handshake (101 with the
                  right Sec-WebSocket-Accept), then: MODE "echo" echoes every data frame (a text
                  frame "close-now" makes the origin close the TCP connection at once, without a
                  close frame; a close frame is answered with one, then the connection closes);
                  MODE "raw" echoes raw bytes (no framing) until EOF; MODE "raw-then-close" sends
                  "bye" and closes. Without ws= the Upgrade is ignored: an ordinary response.
                  Events "ws_message" (opcode, length) and "ws_end" (how) report the tunnel.

A chunked request body's trailer fields are reported in the request event as "trailers".

Requests for /health answer 200 "ok" unless the file given by --health-file exists and holds a
status code (tests flip an origin's health by writing that file).

Every response carries X-Origin: NAME.
"""

import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

import ws_frames as websocket

_OUT_LOCK = threading.Lock()
_PATTERN = bytes(range(256)) * 256  # 64 KiB


def emit(event):
    line = "EVENT " + json.dumps(event, sort_keys=True)
    with _OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def pattern_chunks(n, piece=len(_PATTERN)):
    while n > 0:
        k = min(n, piece, len(_PATTERN))
        yield _PATTERN[:k]
        n -= k


def pattern_sha256(n):
    h = hashlib.sha256()
    for c in pattern_chunks(n):
        h.update(c)
    return h.hexdigest()


# Responses no proxy may forward as they are. Each is sent, then the connection is closed.
HOSTILE = {
    "cl_te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"0\r\n\r\n",
    "dup_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "te_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx",
    "te_chunked_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "bad_cl": b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "space_colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "nul_value": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
    "bad_status": b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    "bad_version": b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    "garbage": b"hello, this is not http\r\n\r\n",
    "switching": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade"
                 b"\r\n\r\n",
    "switching_bare": b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
    "bad_chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "huge_header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 + b"\r\nContent-Length: 0\r\n\r\n",
    "te_in_204": b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "short_body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
    "empty": b"",
}


# Chunked responses whose trailer section no proxy may forward. Each is sent, then the connection
# is closed.
HOSTILE_TRAILERS = {
    "obs_fold": b"X-A: a\r\n b\r\n",
    "space_colon": b"X-A : a\r\n",
    "bare_lf": b"X-A: a\n",
    "nul_value": b"X-A: a\x00b\r\n",
    "no_colon": b"X-A\r\n",
}


class BadRequest(Exception):
    pass


class Conn:
    """A buffered reader over a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, marker, limit):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            if len(self.buf) > limit:
                raise BadRequest("head too long")
            if not self.fill():
                return None

    def read_exact_into(self, n, sink):
        while n > 0:
            if not self.buf and not self.fill():
                raise BadRequest("body ended early")
            k = min(n, len(self.buf))
            sink(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k


def parse_head(raw):
    text = raw.decode("latin-1")
    lines = text[:-4].split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or name != name.strip() or not name:
            raise BadRequest("bad header line %r" % line)
        headers.append([name, value.strip(" \t")])
    return parts, headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def read_body(conn, headers, sink, trailers=None):
    te = header(headers, "transfer-encoding")
    cl = header(headers, "content-length")
    if te is not None and cl is not None:
        raise BadRequest("both Content-Length and Transfer-Encoding")
    if te is not None:
        if te.lower() != "chunked":
            raise BadRequest("transfer-encoding %r" % te)
        while True:
            line = conn.read_until(b"\r\n", 4096)
            if line is None:
                raise BadRequest("chunked body ended early")
            size_text = line[:-2].split(b";")[0]
            size = int(size_text, 16)
            if size == 0:
                while True:  # trailers
                    t = conn.read_until(b"\r\n", 8192)
                    if t is None:
                        raise BadRequest("no end of trailers")
                    if t == b"\r\n":
                        return "chunked"
                    if trailers is not None:
                        k, _, v = t[:-2].decode("latin-1").partition(":")
                        trailers.append([k, v.strip(" \t")])
            conn.read_exact_into(size, sink)
            crlf = conn.read_until(b"\r\n", 2)
            if crlf != b"\r\n":
                raise BadRequest("no CRLF after chunk data")
    if cl is not None:
        if not cl.isdigit():
            raise BadRequest("bad content-length")
        conn.read_exact_into(int(cl), sink)
        return "length"
    return "none"


class Origin:
    def __init__(self, name, sock, health_file, delay=0.0, defaults=""):
        self.name = name
        self.defaults = urllib.parse.parse_qs(defaults, keep_blank_values=True)
        self.delay = delay
        self.sock = sock
        self.health_file = health_file
        self.ids = 0
        self.lock = threading.Lock()

    def serve(self):
        while True:
            c, peer = self.sock.accept()
            with self.lock:
                self.ids += 1
                cid = self.ids
            threading.Thread(target=self.handle, args=(c, cid, peer), daemon=True).start()

    def health_status(self):
        if self.health_file and os.path.exists(self.health_file):
            try:
                with open(self.health_file) as f:
                    return int(f.read().strip() or "200")
            except (OSError, ValueError):
                return 500
        return 200

    def handle(self, sock, cid, peer):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        emit({"ev": "open", "name": self.name, "conn": cid, "peer": "%s:%d" % peer[:2]})
        conn = Conn(sock)
        error = None
        requests = 0
        try:
            while True:
                raw = conn.read_until(b"\r\n\r\n", 1 << 20)
                if raw is None:
                    break
                requests += 1
                if not self.request(conn, sock, cid, raw):
                    break
        except (BadRequest, ValueError) as e:
            error = str(e)
            try:
                sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
            except OSError:
                pass
        except OSError as e:
            error = str(e)
        emit({"ev": "close", "name": self.name, "conn": cid, "requests": requests,
              "error": error})
        try:
            sock.close()
        except OSError:
            pass

    def request(self, conn, sock, cid, raw):
        """Serves one request; False when the connection must end."""
        (method, target, version), headers = parse_head(raw)
        h = hashlib.sha256()
        length = [0]

        def sink(b):
            h.update(b)
            length[0] += len(b)

        path, _, query = target.partition("?")
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        for k, v in self.defaults.items():
            q.setdefault(k, v)
        opt = {k: v[-1] for k, v in q.items()}
        if opt.get("continue") == "1" and header(headers, "expect") is None:
            pass
        trailers = []
        framing = read_body(conn, headers, sink, trailers)
        event = {"ev": "request", "name": self.name, "conn": cid, "method": method,
                 "target": target, "version": version, "headers": headers,
                 "head": raw.decode("latin-1"), "body_len": length[0],
                 "body_sha256": h.hexdigest(), "framing": framing, "trailers": trailers}
        emit(event)
        if "ws" in opt and (header(headers, "upgrade") or "").lower() == "websocket":
            self.websocket(conn, sock, cid, opt["ws"], header(headers, "sec-websocket-key"))
            return False

        if path == "/health":
            status = self.health_status()
            body = b"ok\n" if status == 200 else b"unhealthy\n"
            sock.sendall(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nX-Origin: %s\r\n\r\n%s" % (
                status, len(body), self.name.encode(), body))
            return True
        if "delay" in opt or self.delay:
            time.sleep(float(opt.get("delay", self.delay)))
        if opt.get("reset") == "1":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return False
        if "hostile" in opt:
            sock.sendall(HOSTILE[opt["hostile"]])
            return False
        if "hostile_trailer" in opt:
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n" +
                         HOSTILE_TRAILERS[opt["hostile_trailer"]] + b"\r\n")
            return False
        if opt.get("continue") == "1":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        status = int(opt.get("status", "200"))
        if "etag" in opt and '"%s"' % opt["etag"] in (header(headers, "if-none-match") or ""):
            status = 304
        close = opt.get("close") == "1" or version == "HTTP/1.0" or \
            (header(headers, "connection") or "").lower() == "close"
        extra = [("X-Origin", self.name)]
        if "etag" in opt:
            extra.append(("ETag", '"%s"' % opt["etag"]))
        for v in q.get("header", []):
            k, _, val = v.partition(":")
            extra.append((k, val))
        if "size" in opt:
            n = int(opt["size"])
            pieces = pattern_chunks(n)
            extra.append(("X-Body-Sha256", pattern_sha256(n)))
        else:
            body = json.dumps({"name": self.name, "method": method, "target": target,
                               "headers": headers, "body_len": length[0],
                               "body_sha256": h.hexdigest()}).encode() + b"\n"
            n = len(body)
            pieces = [body]
            extra.append(("Content-Type", "application/json"))
        no_body = method == "HEAD" or status in (204, 304)
        head = "HTTP/1.1 %d %s\r\n" % (status, "Answer")
        if opt.get("chunked") == "1" and not no_body:
            head += "Transfer-Encoding: chunked\r\n"
        elif opt.get("until_close") == "1" and not no_body:
            close = True
        elif status != 204:
            head += "Content-Length: %d\r\n" % n
        if close:
            head += "Connection: close\r\n"
        for k, v in extra:
            head += "%s: %s\r\n" % (k, v)
        sock.sendall(head.encode("latin-1") + b"\r\n")
        if not no_body:
            drip = float(opt["drip"]) if "drip" in opt else None
            for p in pieces:
                parts = [p[i:i + 1024] for i in range(0, len(p), 1024)] if drip else [p]
                for part in parts:
                    if opt.get("chunked") == "1":
                        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                    else:
                        sock.sendall(part)
                    if drip:
                        time.sleep(drip)
            if opt.get("chunked") == "1":
                last = "0\r\n"
                for v in q.get("trailer", []):
                    k, _, val = v.partition(":")
                    last += "%s: %s\r\n" % (k, val)
                sock.sendall(last.encode("latin-1") + b"\r\n")
        if close:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return False
        return True


    def websocket(self, conn, sock, cid, mode, key):
        """The RFC 6455 handshake, then the tunnel in `mode` (see the top of this file)."""
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Origin: %s\r\n\r\n"
                     % (websocket.accept_key(key or "").encode(), self.name.encode()))
        how = "eof"
        try:
            if mode == "raw":
                while conn.buf or conn.fill():
                    sock.sendall(conn.buf)
                    conn.buf = b""
            elif mode == "raw-then-close":
                sock.sendall(b"bye")
                how = "origin_closed"
            else:
                def read_exact(n):
                    out = []
                    conn.read_exact_into(n, out.append)
                    return b"".join(out)
                while True:
                    if not conn.buf and not conn.fill():
                        break
                    opcode, payload = websocket.read_frame(read_exact)
                    emit({"ev": "ws_message", "name": self.name, "conn": cid, "opcode": opcode,
                          "length": len(payload)})
                    if opcode == websocket.CLOSE:
                        sock.sendall(websocket.encode_frame(websocket.CLOSE, payload[:2]))
                        how = "close_frame"
                        break
                    if opcode == websocket.TEXT and payload == b"close-now":
                        how = "origin_closed"
                        break
                    if opcode == websocket.PING:
                        sock.sendall(websocket.encode_frame(websocket.PONG, payload))
                    elif opcode in (websocket.TEXT, websocket.BINARY):
                        sock.sendall(websocket.encode_frame(opcode, payload))
        except (BadRequest, OSError) as e:
            how = "error: %s" % e
        emit({"ev": "ws_end", "name": self.name, "conn": cid, "how": how})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True, help="NAME:HOST:PORT")
    ap.add_argument("--default", action="append", default=[],
                    help="NAME:QUERY: options that origin applies when a request does not set "
                         "them (a server that always misbehaves the same way)")
    ap.add_argument("--delay", action="append", default=[],
                    help="NAME:SECONDS: every answer of that origin is delayed (a slow server)")
    ap.add_argument("--health-file", action="append", default=[],
                    help="NAME:PATH: that origin's /health status comes from PATH when it exists")
    args = ap.parse_args()
    health = dict(x.split(":", 1) for x in args.health_file)
    delays = {k: float(v) for k, v in (x.split(":", 1) for x in args.delay)}
    defaults = dict(x.split(":", 1) for x in args.default)
    origins = []
    for spec in args.listen:
        name, host, port = spec.rsplit(":", 2)
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(256)
        origins.append(Origin(name, s, health.get(name), delays.get(name, 0.0),
                              defaults.get(name, "")))
        with _OUT_LOCK:
            sys.stdout.write("READY %d %s\n" % (s.getsockname()[1], name))
            sys.stdout.flush()
    for o in origins:
        threading.Thread(target=o.serve, daemon=True).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
