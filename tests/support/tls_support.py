"""TLS helpers for lb4's integration tests: certificates made with the openssl CLI in a temporary
directory, an in-process TLS origin server, clients, and labelled metrics.

The origin (TlsOrigin) answers per connection, after its handshake, according to the first line:
  "INFO"      one line "name=<origin> sni=<sni> alpn=<alpn> version=<TLS version>
              reused=<whether the session was resumed> proxy=<PROXY v2 source or ->", then close
  "ECHO"      echoes every byte until EOF, then closes its side
  "GET ..."   an HTTP/1.1 response whose body is the INFO line (for curl)
"""

import os
import socket
import ssl
import subprocess
import threading
import urllib.request

import lb4_harness as h


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("%s failed: %s" % (" ".join(args), r.stderr))
    return r


def _key_args(key_type):
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


class Ca:
    """A self-signed CA that signs server and client certificates."""

    def __init__(self, directory, name="Edge Test CA"):
        self.dir = directory
        self.name = name.replace(" ", "_")
        self.cert = os.path.join(directory, "%s.crt" % self.name)
        self.key = os.path.join(directory, "%s.key" % self.name)
        _run(["openssl", "req", "-x509", "-nodes", "-days", "2"] + _key_args("ec") +
             ["-keyout", self.key, "-out", self.cert, "-subj", "/CN=%s" % name,
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], directory)

    def issue(self, name, sans=(), key_type="ec", client=False):
        """(cert path, key path) for CN=name with DNS SANs `sans`, signed by this CA."""
        base = os.path.join(self.dir, name.replace("*", "star"))
        cert, key, csr, ext = base + ".crt", base + ".key", base + ".csr", base + ".ext"
        _run(["openssl", "req", "-new", "-nodes"] + _key_args(key_type) +
             ["-keyout", key, "-out", csr, "-subj", "/CN=%s" % name], self.dir)
        with open(ext, "w") as f:
            if sans:
                f.write("subjectAltName=%s\n" % ",".join("DNS:" + s for s in sans))
            f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
        _run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
              "-CAcreateserial", "-days", "2", "-out", cert, "-extfile", ext], self.dir)
        return cert, key


def cert_subject_cn(pem_der):
    """The CN of a DER certificate (as returned by getpeercert(binary_form=True))."""
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject",
                        "-nameopt", "multiline"], input=pem_der, capture_output=True,
                       timeout=30)
    for line in r.stdout.decode().splitlines():
        line = line.strip()
        if line.startswith("commonName"):
            return line.split("=", 1)[1].strip()
    return None


class TlsOrigin:
    """A TLS server on 127.0.0.1:<free port> in a thread of the test process."""

    def __init__(self, name, cert, key, alpn=("h2", "http/1.1"), proxy=False):
        """proxy: each connection starts with a PROXY v2 header in clear, before the handshake
        (as lb4 sends it to a [pool.tls] backend)."""
        self.name = name
        self.proxy = proxy
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if alpn:
            self.ctx.set_alpn_protocols(list(alpn))
        self.snis = []
        self.proxy_tlv_bytes = []  # per PROXY v2 header: bytes of TLVs after the addresses
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.accepted = 0
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def address(self):
        return "127.0.0.1:%d" % self.sock.getsockname()[1]

    def _serve(self):
        while not self._closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def _handle(self, raw):
        sni = []

        def on_sni(sslobj, name, ctx):
            sni.append(name)

        ctx = self.ctx
        ctx.sni_callback = on_sni
        source = "-"
        try:
            raw.settimeout(60)
            if self.proxy:
                source, tlv_bytes = _read_proxy_v2(raw)
                self.proxy_tlv_bytes.append(tlv_bytes)
            s = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            line = b""
            while not line.endswith(b"\n") and len(line) < 4096:
                b = s.recv(1)
                if not b:
                    break
                line += b
            info = "name=%s sni=%s alpn=%s version=%s reused=%s proxy=%s" % (
                self.name, sni[0] if sni else "", s.selected_alpn_protocol() or "", s.version(),
                s.session_reused, source)
            if line.startswith(b"INFO"):
                s.sendall(info.encode() + b"\n")
            elif line.startswith(b"ECHO"):
                while True:
                    b = s.recv(1 << 16)
                    if not b:
                        break
                    s.sendall(b)
            elif line.startswith(b"GET "):
                while True:  # the rest of the request head
                    more = b""
                    while not more.endswith(b"\n"):
                        b = s.recv(1)
                        if not b:
                            break
                        more += b
                    if more in (b"\r\n", b"\n", b""):
                        break
                body = info.encode() + b"\n"
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                          % len(body) + body)
            try:
                s.unwrap()
            except (ssl.SSLError, OSError):
                pass
        except (ssl.SSLError, OSError):
            pass
        finally:
            s.close()

    def close(self):
        self._closed = True
        self.sock.close()


def _read_proxy_v2(raw):
    """Reads a PROXY v2 header off a plain socket: ("ADDR:PORT" of the source (TCP over IPv4),
    bytes of TLVs after the addresses)."""
    def exact(n):
        data = b""
        while len(data) < n:
            b = raw.recv(n - len(data))
            if not b:
                raise OSError("EOF in the PROXY header")
            data += b
        return data
    head = exact(16)
    if head[:12] != b"\r\n\r\n\x00\r\nQUIT\n":
        raise OSError("no PROXY v2 signature")
    body = exact(int.from_bytes(head[14:16], "big"))
    if head[13] != 0x11:
        return "unspec", 0
    source = "%s:%d" % (socket.inet_ntoa(body[0:4]), int.from_bytes(body[8:10], "big"))
    return source, len(body) - 12


def reload(lb, timeout=10):
    """Writes lb's current listeners and pools to its config file, sends SIGHUP and waits for
    the outcome in its log: "ok" or "failed"."""
    import signal
    log = lambda: (lb.stderr().count("reload ok"), lb.stderr().count("reload failed"))
    before = log()
    text = h.render_config(lb.lb4_section, lb.listeners, lb.pools)
    with open(lb.config_path + ".next", "w") as f:
        f.write(text)
    os.replace(lb.config_path + ".next", lb.config_path)
    lb.signal(signal.SIGHUP)
    after = h.wait_until(lambda: log() != before and log(), timeout, "the outcome of a reload")
    return "ok" if after[0] > before[0] else "failed"


def info_fields(line):
    """The INFO line as a dict."""
    return dict(kv.split("=", 1) for kv in line.split())


def client_context(ca_file=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_file:
        ctx.load_verify_locations(ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def tls_connect(address, sni, ctx, timeout=20):
    s = h.connect(address, timeout=timeout)
    return ctx.wrap_socket(s, server_hostname=sni)


def ask_info(address, sni, ctx):
    s = tls_connect(address, sni, ctx)
    try:
        s.sendall(b"INFO\n")
        return h.read_line(s)
    finally:
        s.close()


def metrics_text(lb):
    host, port = h.parse_address(lb.lb4_section["admin"])
    url = "http://%s/metrics" % h.format_address(host, port)
    with urllib.request.urlopen(url, timeout=10 * h.SLOW) as r:
        return r.read().decode()


def metric(lb, name, **labels):
    """A metric's value by name and exact labels (0 when the line is absent)."""
    want = ",".join('%s="%s"' % (k, v) for k, v in labels.items())
    key = "%s{%s}" % (name, want) if labels else name
    for line in metrics_text(lb).splitlines():
        if line.startswith(key + " "):
            return float(line.split()[1])
    return 0.0


def echo_transfer(sock, total, timeout=60):
    """Sends `total` random bytes on a TLS socket to an echo peer while reading the echo, in one
    thread (an ssl socket must not be used by two threads at once): (sent sha256, echoed sha256,
    bytes echoed)."""
    import hashlib
    import select
    block = os.urandom(1 << 20)
    sock.setblocking(False)
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    sent = got = 0
    while got < total:
        want_write = sent < total
        readable, writable, _ = select.select([sock], [sock] if want_write else [], [],
                                              timeout * h.SLOW)
        if not readable and not writable and sock.pending() == 0:
            raise AssertionError("transfer stalled at %d sent, %d echoed" % (sent, got))
        if want_write and writable:
            at = sent % len(block)
            piece = memoryview(block)[at:at + min(len(block) - at, total - sent, 1 << 18)]
            try:
                n = sock.send(piece)
                sent_hash.update(piece[:n])
                sent += n
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                pass
        while True:
            try:
                b = sock.recv(1 << 20)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            if not b:
                raise AssertionError("EOF after %d echoed bytes" % got)
            got_hash.update(b)
            got += len(b)
    sock.setblocking(True)
    return sent_hash.hexdigest(), got_hash.hexdigest(), got
