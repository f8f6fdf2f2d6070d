#!/usr/bin/env python3
"""A test origin server for lb4's integration tests (stdlib only, one thread per connection).

Run as a subprocess:

    origin.py --listen name=b0,mode=name,host=127.0.0.1,port=0 [--listen ...]

Each --listen opens one listening socket. Options of a listener (comma separated key=value):
  name=NAME      how the listener identifies itself (required)
  host=ADDR      127.0.0.1 (default), ::1, 127.0.0.2, ...
  port=N         0 (default) = any free port
  mode=MODE      what each connection gets (default auto):
                   name    send "NAME\\n", then read until EOF and close
                   echo    echo every byte until EOF, then half-close (shutdown SHUT_WR), close
                   source  send n= bytes of the stream seed= (see stream_chunks), then close
                   sink    read until EOF, reply "COUNT SHA256HEX\\n", close
                   halfsource  send n= bytes of stream seed=, shutdown(SHUT_WR), then read until
                           EOF (what was read is reported in the close event), close
                   reset   send n= bytes of stream seed=, then reset the connection (RST:
                           SO_LINGER 0 and close)
                   drip    send n= bytes "." one at a time, interval= ms apart, then close
                   http    read an HTTP/1.1 request head, answer status= (default 200) with the
                           body "NAME\n" and Connection: close, then close; the close event has
                           the request line as "request"
                   auto    the first line the client sends picks the mode: "NAME", "ECHO", "SINK",
                           "SOURCE N SEED", "HALFSOURCE N SEED"
  n=N, seed=S    for source / halfsource (and n= for drip)
  progress=1     source / halfsource: an event "ev": "progress" (id, tx) after each 64 KiB sent
  proxy=1        the connection starts with a PROXY protocol v1 or v2 header (sent by lb4): it is
                 parsed, reported to the client as one line "PROXYINFO {json}\\n", then the mode
                 runs on the bytes that follow the header

Output on stdout, one line each, flushed:
  READY PORT NAME           once per listener, when it listens (in --listen order)
  EVENT {json}              "ev": "open" (name, id, peer) when a connection is accepted, and
                            "ev": "close" (name, id, mode, rx, tx, rx_sha256, tx_sha256, proxy,
                            error) when it ends

SIGTERM/SIGKILL end the process.
"""

import argparse
import hashlib
import json
import random
import socket
import struct
import sys
import threading

CHUNK = 1 << 20  # stream chunk size
_BASE_LOCK = threading.Lock()
_BASE = None


def _base():
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            _BASE = random.Random(0x5EED).randbytes(2 * CHUNK)
        return _BASE


def stream_chunks(seed, n):
    """Yields n pseudo-random bytes, deterministic in (seed, n), as chunks of at most 1 MiB.

    Each chunk is a 16-byte header (seed, chunk index) then a slice of a 2 MiB random block at an
    offset derived from (seed, index): fast to make, and a lost, repeated or reordered chunk (or any
    byte inside one) changes the SHA-256 of the whole.
    """
    base = _base()
    k = 0
    left = n
    while left > 0:
        off = ((k + 1) * 2654435761 + seed * 40503) % CHUNK
        chunk = struct.pack(">QQ", seed & 0xFFFFFFFFFFFFFFFF, k) + base[off:off + CHUNK - 16]
        if left < len(chunk):
            chunk = chunk[:left]
        left -= len(chunk)
        k += 1
        yield chunk


def stream_sha256(seed, n):
    h = hashlib.sha256()
    for c in stream_chunks(seed, n):
        h.update(c)
    return h.hexdigest()


# ---------------------------------------------------------------- PROXY protocol (v1 and v2)

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


class ProxyError(Exception):
    pass


def parse_proxy_header(data):
    """Parses a PROXY header at the start of `data`.

    Returns (info dict, header length) or None when more bytes are needed; raises ProxyError on a
    malformed header.
    """
    if len(data) == 0:
        return None
    if data[:1] == b"P":
        if len(data) < 6:
            if not b"PROXY "[:len(data)] == data:
                raise ProxyError("not a PROXY header: %r" % bytes(data[:16]))
            return None
        if data[:6] != b"PROXY ":
            raise ProxyError("not a PROXY header: %r" % bytes(data[:16]))
        end = data.find(b"\r\n")
        if end < 0:
            if len(data) >= 107:
                raise ProxyError("v1: no CRLF within 107 bytes")
            return None
        if end + 2 > 107:
            raise ProxyError("v1: line longer than 107 bytes")
        line = bytes(data[:end]).decode("ascii")
        parts = line.split(" ")
        info = {"version": 1, "raw": line}
        if parts[1] == "UNKNOWN":
            info["family"] = "UNKNOWN"
            return info, end + 2
        if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
            raise ProxyError("v1: malformed line %r" % line)
        fam = socket.AF_INET if parts[1] == "TCP4" else socket.AF_INET6
        for ip in (parts[2], parts[3]):
            try:
                # Canonical form only: what inet_ntop gives back.
                if socket.inet_ntop(fam, socket.inet_pton(fam, ip)) != ip:
                    raise ProxyError("v1: non-canonical address %r" % ip)
            except OSError:
                raise ProxyError("v1: bad address %r" % ip)
        for port in (parts[4], parts[5]):
            if not port.isdigit() or (len(port) > 1 and port[0] == "0") or int(port) > 65535:
                raise ProxyError("v1: bad port %r" % port)
        info.update(family=parts[1], src=parts[2], dst=parts[3], sport=int(parts[4]),
                    dport=int(parts[5]))
        return info, end + 2
    if data[:1] == b"\r":
        if len(data) < 16:
            if V2_SIGNATURE[:len(data)] != bytes(data[:12]):
                raise ProxyError("not a PROXY header: %r" % bytes(data[:16]))
            return None
        if bytes(data[:12]) != V2_SIGNATURE:
            raise ProxyError("v2: bad signature")
        ver_cmd, fam, length = data[12], data[13], struct.unpack(">H", data[14:16])[0]
        if ver_cmd >> 4 != 2:
            raise ProxyError("v2: version %d" % (ver_cmd >> 4))
        cmd = ver_cmd & 0xF
        if cmd not in (0, 1):
            raise ProxyError("v2: command %d" % cmd)
        if len(data) < 16 + length:
            return None
        body = bytes(data[16:16 + length])
        info = {"version": 2, "command": "LOCAL" if cmd == 0 else "PROXY",
                "header_len": 16 + length}
        if fam == 0x11:
            if length < 12:
                raise ProxyError("v2: TCP4 block too short (%d)" % length)
            info.update(family="TCP4", src=socket.inet_ntop(socket.AF_INET, body[0:4]),
                        dst=socket.inet_ntop(socket.AF_INET, body[4:8]),
                        sport=struct.unpack(">H", body[8:10])[0],
                        dport=struct.unpack(">H", body[10:12])[0])
            rest = body[12:]
        elif fam == 0x21:
            if length < 36:
                raise ProxyError("v2: TCP6 block too short (%d)" % length)
            info.update(family="TCP6", src=socket.inet_ntop(socket.AF_INET6, body[0:16]),
                        dst=socket.inet_ntop(socket.AF_INET6, body[16:32]),
                        sport=struct.unpack(">H", body[32:34])[0],
                        dport=struct.unpack(">H", body[34:36])[0])
            rest = body[36:]
        elif fam == 0x00:
            info["family"] = "UNSPEC"
            rest = b""
        else:
            raise ProxyError("v2: unsupported family 0x%02x" % fam)
        tlvs = []
        while rest:
            if len(rest) < 3:
                raise ProxyError("v2: truncated TLV")
            t, tl = rest[0], struct.unpack(">H", rest[1:3])[0]
            if len(rest) < 3 + tl:
                raise ProxyError("v2: TLV 0x%02x longer than the header" % t)
            tlvs.append([t, rest[3:3 + tl].hex()])
            rest = rest[3 + tl:]
        info["tlvs"] = tlvs
        return info, 16 + length
    raise ProxyError("not a PROXY header: %r" % bytes(data[:16]))


# ---------------------------------------------------------------- server

_OUT_LOCK = threading.Lock()


def emit(line):
    with _OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def event(**fields):
    emit("EVENT " + json.dumps(fields, sort_keys=True))


class Conn:
    """One accepted connection: a socket plus bytes read ahead (after a PROXY header or a line)."""

    BUF = 256 * 1024

    def __init__(self, sock):
        self.sock = sock
        self.pending = bytearray()
        self.rx = 0
        self.tx = 0
        self.rx_sha = hashlib.sha256()
        self.tx_sha = hashlib.sha256()
        self.buf = bytearray(self.BUF)
        self.view = memoryview(self.buf)

    def _recv_raw(self):
        n = self.sock.recv_into(self.buf)
        return self.view[:n]

    def read_some(self):
        """The next bytes of the stream (counted), or an empty view at EOF."""
        if self.pending:
            data = bytes(self.pending)
            self.pending.clear()
            self.rx += len(data)
            self.rx_sha.update(data)
            return memoryview(data)
        data = self._recv_raw()
        self.rx += len(data)
        self.rx_sha.update(data)
        return data

    def fill_uncounted(self):
        """Reads more into `pending` (used while parsing headers/lines). False at EOF."""
        data = self._recv_raw()
        if not data:
            return False
        self.pending += data
        return True

    def read_line(self, limit=256):
        while True:
            i = self.pending.find(b"\n")
            if i >= 0:
                line = bytes(self.pending[:i + 1])
                del self.pending[:i + 1]
                self.rx += len(line)
                self.rx_sha.update(line)
                return line.decode("ascii", "replace").strip()
            if len(self.pending) > limit:
                raise ValueError("request line too long")
            if not self.fill_uncounted():
                return None

    def send(self, data):
        self.sock.sendall(data)
        self.tx += len(data)
        self.tx_sha.update(data)

    def drain_to_eof(self):
        while self.read_some():
            pass


def run_mode(conn, mode, opts, report):
    report["mode"] = mode
    if mode == "name":
        conn.send((opts["name"] + "\n").encode())
        conn.drain_to_eof()
    elif mode == "echo":
        while True:
            data = conn.read_some()
            if not data:
                break
            conn.send(data)
        conn.sock.shutdown(socket.SHUT_WR)
    elif mode == "sink":
        conn.drain_to_eof()
        conn.send(("%d %s\n" % (conn.rx, conn.rx_sha.hexdigest())).encode())
        conn.sock.shutdown(socket.SHUT_WR)
    elif mode in ("source", "halfsource"):
        n, seed = int(opts["n"]), int(opts["seed"])
        progress = opts.get("progress") == "1"
        for chunk in stream_chunks(seed, n):
            if not progress:
                conn.send(chunk)
                continue
            view = memoryview(chunk)
            for i in range(0, len(chunk), 64 * 1024):
                conn.send(view[i:i + 64 * 1024])
                event(ev="progress", name=opts["name"], id=report["id"], tx=conn.tx)
        conn.sock.shutdown(socket.SHUT_WR)
        if mode == "halfsource":
            conn.drain_to_eof()
    elif mode == "reset":
        for chunk in stream_chunks(int(opts["seed"]), int(opts["n"])):
            conn.send(chunk)
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "drip":
        import time
        for _ in range(int(opts["n"])):
            time.sleep(int(opts["interval"]) / 1000.0)
            conn.send(b".")
        conn.sock.shutdown(socket.SHUT_WR)
    elif mode == "http":
        head = bytearray()
        while b"\r\n\r\n" not in head:
            if len(head) > 65536:
                raise ValueError("request head too long")
            data = conn.read_some()
            if not data:
                break
            head += data
        report["request"] = bytes(head).split(b"\r\n", 1)[0].decode("ascii", "replace")
        status = int(opts.get("status", "200"))
        body = (opts["name"] + "\n").encode()
        conn.send(b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (
            status, b"OK" if status < 300 else b"Not Healthy", len(body), body))
        conn.sock.shutdown(socket.SHUT_WR)
    elif mode == "auto":
        line = conn.read_line()
        if line is None:
            report["mode"] = "auto:eof"
            return
        words = line.split()
        verb = words[0].lower() if words else ""
        sub = dict(opts)
        if verb in ("source", "halfsource"):
            sub["n"], sub["seed"] = words[1], words[2]
        if verb not in ("name", "echo", "sink", "source", "halfsource"):
            conn.send(b"ERROR unknown request\n")
            report["error"] = "unknown request %r" % line
            return
        run_mode(conn, verb, sub, report)
    else:
        raise ValueError("unknown mode %r" % mode)


def handle(sock, peer, opts, conn_id):
    conn = Conn(sock)
    report = {"ev": "close", "name": opts["name"], "id": conn_id, "peer": list(peer[:2])}
    try:
        if opts.get("proxy") == "1":
            while True:
                try:
                    parsed = parse_proxy_header(conn.pending)
                except ProxyError as e:
                    parsed = ({"error": str(e)}, 0)
                if parsed is not None:
                    break
                if not conn.fill_uncounted():
                    parsed = ({"error": "EOF before a complete PROXY header",
                               "got": bytes(conn.pending).hex()}, 0)
                    break
            info, length = parsed
            del conn.pending[:length]
            report["proxy"] = info
            line = ("PROXYINFO " + json.dumps(info, sort_keys=True) + "\n").encode()
            conn.sock.sendall(line)  # not counted in tx: the mode's bytes are
            if "error" in info:
                return
        run_mode(conn, opts.get("mode", "auto"), opts, report)
    except (OSError, ValueError) as e:
        report["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        report.update(rx=conn.rx, tx=conn.tx, rx_sha256=conn.rx_sha.hexdigest(),
                      tx_sha256=conn.tx_sha.hexdigest())
        try:
            sock.close()
        finally:
            event(**report)


_ID_LOCK = threading.Lock()
_NEXT_ID = [0]


def serve(listener, opts):
    while True:
        try:
            sock, peer = listener.accept()
        except OSError:
            continue
        with _ID_LOCK:
            _NEXT_ID[0] += 1
            conn_id = _NEXT_ID[0]
        event(ev="open", name=opts["name"], id=conn_id, peer=list(peer[:2]))
        threading.Thread(target=handle, args=(sock, peer, opts, conn_id), daemon=True).start()


def parse_listen(spec):
    opts = {"host": "127.0.0.1", "port": "0", "mode": "auto"}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit("origin: bad --listen item %r (want key=value)" % item)
        opts[key.strip()] = value.strip()
    if "name" not in opts:
        raise SystemExit("origin: --listen needs name=")
    return opts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", action="append", required=True,
                    help="name=..,mode=..,host=..,port=..")
    args = ap.parse_args()
    listeners = []
    for spec in args.listen:
        opts = parse_listen(spec)
        family = socket.AF_INET6 if ":" in opts["host"] else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((opts["host"], int(opts["port"])))
        s.listen(4096)
        listeners.append((s, opts))
    for s, opts in listeners:
        emit("READY %d %s" % (s.getsockname()[1], opts["name"]))
    threads = [threading.Thread(target=serve, args=(s, o), daemon=True) for s, o in listeners]
    for t in threads:
        t.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
