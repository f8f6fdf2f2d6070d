"""lb4's admin endpoint ([lb4] admin = "HOST:PORT"): GET /healthz (200 "ok"; 503 while draining),
/metrics (Prometheus text format, checked by a strict parser below, with counters that follow the
traffic exactly), /status (JSON: listeners and pools with their backends); unknown paths 404,
other methods 405, malformed requests 400 without harm to later requests; SIGTERM lets transfers
in flight finish and lb4 exits 0."""

import hashlib
import json
import math
import re
import signal
import socket
import threading
import time

import pytest

import lb4_harness as h

MiB = 1 << 20


# ---------------------------------------------------------------- HTTP (raw, strict)


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return "<%d %s %r %r>" % (self.status, self.reason, self.headers, self.body[:200])


def exchange(admin, raw, timeout=10):
    """Sends `raw` bytes to the admin address, reads to EOF, parses one HTTP/1.1 response: the
    status line, headers (lower-cased names, no duplicates), and a body whose length must equal
    Content-Length."""
    s = h.connect(h.parse_address(admin), timeout=timeout)
    try:
        s.sendall(raw)
        data = bytearray()
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    assert sep, "no complete response head: %r" % bytes(data[:200])
    lines = head.decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.1 (\d{3}) ([^\r\n]*)", lines[0])
    assert m, "bad status line %r" % lines[0]
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        assert sep and re.fullmatch(r"[A-Za-z0-9-]+", name), "bad header line %r" % line
        assert name.lower() not in headers, "duplicate header %r" % name
        headers[name.lower()] = value.strip()
    assert "content-length" in headers, headers
    assert int(headers["content-length"]) == len(body), (headers, len(body))
    return Response(int(m.group(1)), m.group(2), headers, body)


def get(admin, path, method="GET"):
    return exchange(admin, ("%s %s HTTP/1.1\r\nHost: lb4\r\n\r\n" % (method, path)).encode())


# ---------------------------------------------------------------- a strict Prometheus text parser

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?Inf|NaN")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ExpositionError(AssertionError):
    pass


def _unescape(text, allowed, where):
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] not in allowed:
                raise ExpositionError("%s: bad escape in %r" % (where, text))
            out.append({"\\": "\\", "n": "\n", '"': '"'}[text[i + 1]])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_labels(line, i, where):
    """Parses `{name="value",...}` starting at line[i] == "{"; returns (dict, index after "}")."""
    labels = {}
    i += 1
    while True:
        if line[i:i + 1] == "}":
            return labels, i + 1
        m = LABEL_NAME.match(line, i)
        if not m:
            raise ExpositionError("%s: bad label name at %d" % (where, i))
        name = m.group(0)
        i = m.end()
        if line[i:i + 2] != '="':
            raise ExpositionError('%s: expected =" after label %s' % (where, name))
        i += 2
        j = i
        while True:
            if j >= len(line):
                raise ExpositionError("%s: unterminated label value" % where)
            if line[j] == "\\":
                j += 2
                continue
            if line[j] == '"':
                break
            j += 1
        if name in labels:
            raise ExpositionError("%s: duplicate label %s" % (where, name))
        labels[name] = _unescape(line[i:j], '\\"n', where)
        i = j + 1
        if line[i:i + 1] == ",":
            i += 1
        elif line[i:i + 1] != "}":
            raise ExpositionError("%s: expected , or } at %d" % (where, i))


def _family_of(name, families):
    """The declared family a sample name belongs to, or None."""
    f = families.get(name)
    if f is not None and f["type"] in ("counter", "gauge", "untyped"):
        return name
    if f is not None and f["type"] == "summary":
        return name
    for suffix, kinds in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                          ("_count", ("histogram", "summary"))):
        if name.endswith(suffix):
            base = families.get(name[:-len(suffix)])
            if base is not None and base["type"] in kinds:
                return name[:-len(suffix)]
    return None


def parse_exposition(text):
    """Parses Prometheus text format 0.0.4 strictly. Returns {family: {"type", "help",
    "samples": [(name, labels dict, value)]}} in order. Rules enforced: every line ends in \\n, no
    blank lines, comments are HELP or TYPE only (each at most once per family, before its
    samples), names and label names well formed, label values escaped (\\\\ \\" \\n only), no
    duplicate labels or samples, every sample belongs to a declared family whose samples are
    contiguous, values are floats, counters are >= 0, histograms have cumulative buckets with
    increasing le ending in +Inf, and _sum and _count (= the +Inf bucket) for each label set."""
    if not text.endswith("\n"):
        raise ExpositionError("the text does not end in a newline")
    families = {}
    current = None
    finished = set()
    seen = set()
    for n, line in enumerate(text[:-1].split("\n"), start=1):
        where = "line %d %r" % (n, line)
        if line == "":
            raise ExpositionError("%s: blank line" % where)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+)(?: (.*))?", line)
            if not m:
                raise ExpositionError("%s: a comment that is not HELP or TYPE" % where)
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if not METRIC_NAME.fullmatch(name):
                raise ExpositionError("%s: bad metric name" % where)
            f = families.setdefault(name, {"type": None, "help": None, "samples": []})
            if f["samples"] or name in finished:
                raise ExpositionError("%s: %s after the family's samples" % (where, kind))
            if current is not None and current != name:
                finished.add(current)
            current = name
            if kind == "HELP":
                if f["help"] is not None:
                    raise ExpositionError("%s: second HELP" % where)
                f["help"] = _unescape(rest, "\\n", where)
            else:
                if f["type"] is not None:
                    raise ExpositionError("%s: second TYPE" % where)
                if rest not in TYPES:
                    raise ExpositionError("%s: unknown type %r" % (where, rest))
                f["type"] = rest
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise ExpositionError("%s: bad metric name" % where)
        name = m.group(0)
        i = m.end()
        labels = {}
        if line[i:i + 1] == "{":
            labels, i = _parse_labels(line, i, where)
        if line[i:i + 1] != " ":
            raise ExpositionError("%s: expected a space before the value" % where)
        parts = line[i + 1:].split(" ")
        if len(parts) not in (1, 2) or not FLOAT.fullmatch(parts[0]):
            raise ExpositionError("%s: bad value" % where)
        if len(parts) == 2 and not re.fullmatch(r"-?[0-9]+", parts[1]):
            raise ExpositionError("%s: bad timestamp" % where)
        value = float(parts[0].replace("Inf", "inf").replace("NaN", "nan"))
        family = _family_of(name, {k: v for k, v in families.items() if v["type"]})
        if family is None:
            raise ExpositionError("%s: sample of no declared family" % where)
        if family != current:
            if family in finished or families[family]["samples"]:
                raise ExpositionError("%s: family %s is not contiguous" % (where, family))
            if current is not None:
                finished.add(current)
            current = family
        key = (name, frozenset(labels.items()))
        if key in seen:
            raise ExpositionError("%s: duplicate sample" % where)
        seen.add(key)
        ftype = families[family]["type"]
        if ftype == "counter" and not value >= 0:
            raise ExpositionError("%s: a counter below 0" % where)
        if ftype == "histogram" and name.endswith("_bucket") and "le" not in labels:
            raise ExpositionError("%s: a bucket without le" % where)
        families[family]["samples"].append((name, labels, value))
    for name, f in families.items():
        if f["type"] is None:
            raise ExpositionError("family %s has no TYPE" % name)
        if f["type"] == "histogram":
            _check_histogram(name, f["samples"])
    return families


def _check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        rest = frozenset((k, v) for k, v in labels.items() if k != "le")
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            le = labels["le"]
            if not FLOAT.fullmatch(le):
                raise ExpositionError("%s: bad le %r" % (name, le))
            g["buckets"].append((float(le.replace("Inf", "inf")), value))
        elif sname == name + "_sum":
            g["sum"] = value
        elif sname == name + "_count":
            g["count"] = value
        else:
            raise ExpositionError("%s: unexpected sample %s in a histogram" % (name, sname))
    for rest, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            raise ExpositionError("%s%s: buckets do not end in +Inf" % (name, dict(rest)))
        for (le0, c0), (le1, c1) in zip(b, b[1:]):
            if not le1 > le0:
                raise ExpositionError("%s: le not increasing (%r, %r)" % (name, le0, le1))
            if c1 < c0:
                raise ExpositionError("%s: buckets not cumulative (%r, %r)" % (name, c0, c1))
        if g["sum"] is None or g["count"] is None:
            raise ExpositionError("%s%s: no _sum or _count" % (name, dict(rest)))
        if g["count"] != b[-1][1]:
            raise ExpositionError("%s: _count %r != +Inf bucket %r" % (name, g["count"], b[-1][1]))


def metrics(admin):
    r = get(admin, "/metrics")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    return parse_exposition(r.text())


def value(families, name, **labels):
    """The one sample `name` with exactly `labels`."""
    for family in families.values():
        for sname, slabels, v in family["samples"]:
            if sname == name and slabels == labels:
                return v
    raise AssertionError("no sample %s%r" % (name, labels))


# ---------------------------------------------------------------- setup helpers


def auto_origin(edge, *names):
    return edge.origin(*[{"name": n, "mode": "auto"} for n in names])


def random_loopback():
    """A random 127.R.x.y address (as the harness uses for listeners): lb4 listens with
    SO_REUSEPORT, admin included, so another run that picked the same port on 127.0.0.1 would
    share it silently."""
    import random
    return "127.%d.%d.%d" % (random.randint(100, 254), random.randint(0, 255),
                             random.randint(1, 254))


def admin_address():
    host = random_loopback()
    return h.format_address(host, h.free_port(host))


def admin_lb4(edge, pools, **kwargs):
    kwargs.setdefault("admin", admin_address())
    lb = edge.lb4(pools, **kwargs)
    return lb, lb.lb4_section["admin"]


def echo_connection(edge, address):
    s = edge.connect(address)
    s.sendall(b"ECHO\n")
    s.sendall(b"ping")
    assert h.recv_exact(s, 4) == b"ping"
    return s


def wait_value(admin, want, timeout, name, **labels):
    return h.wait_until(lambda: value(metrics(admin), name, **labels) == want, timeout,
                        "%s%r to be %r" % (name, labels, want))


# ---------------------------------------------------------------- tests


def test_exposition_parser_is_strict():
    """The parser used below accepts a well-formed text and rejects each kind of malformation."""
    good = ('# HELP a_total A "counter" with \\\\ and \\n.\n# TYPE a_total counter\n'
            'a_total{k="x \\" \\\\ \\n y",j="2"} 3\n'
            '# TYPE g gauge\ng -1.5e3\ng{x="1",} NaN\n'
            '# TYPE d histogram\nd_bucket{le="0.5"} 1\nd_bucket{le="+Inf"} 2\nd_sum 0.7\n'
            'd_count 2\n')
    f = parse_exposition(good)
    assert f["a_total"]["help"] == 'A "counter" with \\ and \n.'
    assert value(f, "a_total", k='x " \\ \n y', j="2") == 3
    bad = {
        "no final newline": "# TYPE g gauge\ng 1",
        "blank line": "# TYPE g gauge\n\ng 1\n",
        "undeclared": "# TYPE g gauge\nh 1\n",
        "other comment": "# hello\n# TYPE g gauge\ng 1\n",
        "bad value": "# TYPE g gauge\ng one\n",
        "bad escape": '# TYPE g gauge\ng{a="\\t"} 1\n',
        "unterminated": '# TYPE g gauge\ng{a="x} 1\n',
        "duplicate label": '# TYPE g gauge\ng{a="1",a="2"} 1\n',
        "duplicate sample": "# TYPE g gauge\ng 1\ng 2\n",
        "TYPE after samples": "# TYPE g gauge\ng 1\n# HELP g late\n",
        "not contiguous": "# TYPE g gauge\n# TYPE c counter\ng 1\nc 1\ng{a=\"1\"} 2\n",
        "negative counter": "# TYPE c counter\nc -1\n",
        "two spaces": "# TYPE g gauge\ng  1\n",
        "no +Inf": "# TYPE d histogram\nd_bucket{le=\"1\"} 1\nd_sum 1\nd_count 1\n",
        "not cumulative": ('# TYPE d histogram\nd_bucket{le="1"} 2\nd_bucket{le="+Inf"} 1\n'
                           'd_sum 1\nd_count 1\n'),
        "count mismatch": '# TYPE d histogram\nd_bucket{le="+Inf"} 2\nd_sum 1\nd_count 3\n',
        "no sum": '# TYPE d histogram\nd_bucket{le="+Inf"} 2\nd_count 2\n',
        "le order": ('# TYPE d histogram\nd_bucket{le="2"} 1\nd_bucket{le="1"} 1\n'
                     'd_bucket{le="+Inf"} 1\nd_sum 1\nd_count 1\n'),
    }
    for what, text in bad.items():
        with pytest.raises(ExpositionError):
            parse_exposition(text)
            raise AssertionError("accepted: " + what)


def test_healthz_ok_and_head(edge):
    """GET /healthz: 200, body "ok"; HEAD /healthz: 200, same length, no body. A query string
    does not change the path."""
    o = auto_origin(edge, "b0")
    lb, admin = admin_lb4(edge, [{"name": "p", "backends": [{"address": o.address("b0")}]}])
    r = get(admin, "/healthz")
    assert (r.status, r.body.strip()) == (200, b"ok"), r
    assert r.headers["content-type"].startswith("text/plain"), r.headers
    r = get(admin, "/healthz?verbose=1")
    assert (r.status, r.body.strip()) == (200, b"ok"), r
    s = h.connect(h.parse_address(admin))
    try:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: lb4\r\n\r\n")
        data = bytearray()
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    finally:
        s.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert body == b"", body


def test_healthz_503_while_draining_then_exit_0_when_the_connection_ends(edge):
    """With an echo connection open and drain_timeout 20s, SIGTERM: /healthz turns 503 (and
    lb4_draining 1) while the connection still relays; once the client ends it, lb4 exits 0 at
    once, long before drain_timeout."""
    o = auto_origin(edge, "b0")
    lb, admin = admin_lb4(edge, [{"name": "p", "backends": [{"address": o.address("b0")}]}],
                          drain_timeout="20s")
    assert get(admin, "/healthz").status == 200
    s = echo_connection(edge, lb.address())
    lb.signal(signal.SIGTERM)
    r = h.wait_until(lambda: (lambda r: r if r.status == 503 else None)(get(admin, "/healthz")),
                     5, "/healthz to answer 503")
    assert r.body.strip() != b"ok", r
    m = metrics(admin)
    assert value(m, "lb4_draining") == 1
    assert value(m, "lb4_connections_active") == 1
    assert json.loads(get(admin, "/status").body)["draining"] is True
    s.sendall(b"still relayed")
    assert h.recv_exact(s, 13) == b"still relayed"
    assert lb.running()
    assert get(admin, "/healthz").status == 503
    s.shutdown(socket.SHUT_WR)
    assert h.wait_closed(s, 5) == "eof"
    t0 = time.monotonic()
    assert lb.wait_exit(10) == 0, lb.stderr()
    assert time.monotonic() - t0 < 3 * h.SLOW


def test_metrics_parse_and_follow_the_traffic_exactly(edge):
    """/metrics parses strictly (see test_exposition_parser_is_strict). After 6 echo exchanges
    of known sizes: accepted +6, closed +6, bytes from clients + exactly what they sent, from
    backends + exactly what was echoed, the duration histogram's count +6, no errors or
    refusals. With 4 connections held open (round_robin over 2 backends): the active gauge is 4
    and each backend's active gauge 2; after they close, all return to 0."""
    o = auto_origin(edge, "e0", "e1")
    pool = {"name": "p", "balance": "round_robin",
            "backends": [{"address": o.address("e0")}, {"address": o.address("e1")}]}
    lb, admin = admin_lb4(edge, [pool], workers=2)
    m0 = metrics(admin)
    expected_families = {
        "lb4_connections_active": "gauge", "lb4_connections_accepted_total": "counter",
        "lb4_connections_closed_total": "counter", "lb4_bytes_total": "counter",
        "lb4_backend_connections_active": "gauge", "lb4_connection_duration_seconds": "histogram",
        "lb4_reloads_total": "counter"}
    for name, kind in expected_families.items():
        assert m0.get(name, {}).get("type") == kind, (name, m0.get(name))
    sizes = [1, 100, 4096, 65536, 300000, 1000]
    sent = echoed = 0
    for n in sizes:
        payload = bytes((i * 7 + n) % 251 for i in range(n))
        s = h.connect(lb.address())
        try:
            s.sendall(b"ECHO\n" + payload)
            s.shutdown(socket.SHUT_WR)
            got = bytearray()
            while True:
                b = s.recv(65536)
                if not b:
                    break
                got += b
        finally:
            s.close()
        assert bytes(got) == payload
        sent += 5 + n
        echoed += n
    k = len(sizes)

    def closed_delta():
        return (value(metrics(admin), "lb4_connections_closed_total")
                - value(m0, "lb4_connections_closed_total"))
    h.wait_until(lambda: closed_delta() >= k, 5, "lb4 to count %d closed connections" % k)
    m1 = metrics(admin)

    def delta(name, **labels):
        return value(m1, name, **labels) - value(m0, name, **labels)
    assert delta("lb4_connections_accepted_total") == k
    assert delta("lb4_connections_closed_total") == k
    assert delta("lb4_bytes_total", **{"from": "client"}) == sent
    assert delta("lb4_bytes_total", **{"from": "backend"}) == echoed
    assert delta("lb4_connection_duration_seconds_count") == k
    assert delta("lb4_connection_duration_seconds_sum") > 0
    assert delta("lb4_connection_duration_seconds_bucket", le="+Inf") == k
    for reason in ("max_connections", "no_backend"):
        assert delta("lb4_connections_refused_total", reason=reason) == 0
    for sname, labels, v in m1["lb4_errors_total"]["samples"]:
        assert v == 0, (sname, labels, v)
    assert value(m1, "lb4_connections_active") == 0

    held = [echo_connection(edge, lb.address()) for _ in range(4)]
    m2 = metrics(admin)
    assert value(m2, "lb4_connections_active") == 4
    for e in ("e0", "e1"):
        assert value(m2, "lb4_backend_connections_active", pool="p", backend=o.address(e)) == 2, e
        assert value(m2, "lb4_backend_up", pool="p", backend=o.address(e)) == 1, e
    for s in held:
        s.shutdown(socket.SHUT_WR)
        assert h.wait_closed(s, 5) == "eof"
    wait_value(admin, 0, 5, "lb4_connections_active")
    m3 = metrics(admin)
    for e in ("e0", "e1"):
        assert value(m3, "lb4_backend_connections_active", pool="p", backend=o.address(e)) == 0
    assert value(m3, "lb4_connections_accepted_total") - value(
        m0, "lb4_connections_accepted_total") == k + 4
    assert value(m3, "lb4_connection_duration_seconds_count") - value(
        m0, "lb4_connection_duration_seconds_count") == k + 4


def test_status_is_json_with_listeners_pools_and_backends(edge):
    """/status (application/json) lists every listener (name, bind, mode, pool) and every pool
    (name, balance) with its backends (address, weight, state, active_connections), as
    configured, with live counts."""
    o = auto_origin(edge, "e0", "e1", "e2")
    pools = [{"name": "p", "balance": "round_robin",
              "backends": [{"address": o.address("e0")},
                           {"address": o.address("e1"), "weight": 3}]},
             {"name": "q", "balance": "maglev", "backends": [{"address": o.address("e2")}]}]
    listeners = [{"name": "web", "bind": "127.0.0.1", "mode": "tcp", "pool": "p"},
                 {"name": "api", "bind": "127.0.0.1", "pool": "q", "proxy_protocol": "off"}]
    lb, admin = admin_lb4(edge, pools, listeners=listeners)
    held = echo_connection(edge, lb.address("api"))
    r = get(admin, "/status")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("application/json"), r.headers
    doc = json.loads(r.text())
    assert isinstance(doc, dict)
    assert [(l["name"], l["bind"], l["mode"], l["pool"]) for l in doc["listeners"]] == [
        ("web", h.format_address(*lb.address("web")), "tcp", "p"),
        ("api", h.format_address(*lb.address("api")), "tcp", "q")], doc["listeners"]
    assert [(p["name"], p["balance"]) for p in doc["pools"]] == [
        ("p", "round_robin"), ("q", "maglev")], doc["pools"]
    backends = {b["address"]: b for p in doc["pools"] for b in p["backends"]}
    assert list(backends) == [o.address("e0"), o.address("e1"), o.address("e2")], backends
    for b in backends.values():
        assert isinstance(b["weight"], int) and isinstance(b["active_connections"], int), b
        assert isinstance(b["state"], str) and b["state"], b
    assert [backends[o.address(e)]["weight"] for e in ("e0", "e1", "e2")] == [1, 3, 1]
    assert [backends[o.address(e)]["active_connections"] for e in ("e0", "e1", "e2")] == [0, 0, 1]
    assert {b["state"] for b in backends.values()} == {"up"}
    held.shutdown(socket.SHUT_WR)
    assert h.wait_closed(held, 5) == "eof"


def test_unknown_path_404_other_methods_405_malformed_400_and_admin_keeps_working(edge):
    """Unknown paths get 404; POST, PUT and DELETE get 405 (with Allow); a malformed request
    line, a bad version and an oversized head get a 4xx; a client that sends half a request and
    goes away gets nothing. After each, GET /healthz is still 200."""
    o = auto_origin(edge, "b0")
    lb, admin = admin_lb4(edge, [{"name": "p", "backends": [{"address": o.address("b0")}]}])

    def still_ok():
        r = get(admin, "/healthz")
        assert (r.status, r.body.strip()) == (200, b"ok"), r

    for path in ("/nope", "/", "/healthz/extra", "/metricsx", "/STATUS"):
        assert get(admin, path).status == 404, path
        still_ok()
    for method in ("POST", "PUT", "DELETE"):
        r = get(admin, "/healthz", method=method)
        assert r.status == 405, (method, r)
        assert "GET" in r.headers.get("allow", ""), r.headers
        still_ok()
    for raw in (b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",
                b"GET  /healthz HTTP/1.1\r\n\r\n", b"GET /healthz HTTP/1.1\n\n"):
        r = exchange(admin, raw)
        assert 400 <= r.status < 500, (raw[:40], r)
        still_ok()
    # A head over the admin's limit (8 KiB): answered with a 4xx, or reset (the server closes
    # with the rest of the head unread, and the RST may overtake the answer). Either way the
    # admin goes on.
    try:
        r = exchange(admin, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
        assert 400 <= r.status < 500, r
    except (ConnectionResetError, BrokenPipeError):
        pass
    still_ok()
    s = h.connect(h.parse_address(admin))
    s.sendall(b"GET /heal")
    s.close()
    still_ok()
    assert lb.running()


def test_sigterm_lets_transfers_in_flight_complete_then_exit_0(edge):
    """Three 16 MiB downloads and two 8 MiB uploads are in flight (each partly done) when lb4 gets
    SIGTERM (drain_timeout 20s): every one completes byte-identical, and lb4 exits 0 soon after
    the last ends, well inside drain_timeout."""
    o = auto_origin(edge, "b0", "b1")
    pool = {"name": "p", "balance": "round_robin",
            "backends": [{"address": o.address("b0")}, {"address": o.address("b1")}]}
    lb, admin = admin_lb4(edge, [pool], drain_timeout="20s")
    down_n, up_n = 16 * MiB, 8 * MiB
    downloads, uploads = [], []
    for seed in (1, 2, 3):
        s = edge.connect(lb.address(), timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 128 * 1024)
        s.sendall(b"SOURCE %d %d\n" % (down_n, seed))
        first = h.recv_exact(s, MiB)
        downloads.append((s, seed, hashlib.sha256(first), len(first)))
    for seed in (11, 12):
        s = edge.connect(lb.address(), timeout=30)
        chunks = list(h.stream_chunks(seed, up_n))
        s.sendall(b"SINK\n" + chunks[0])
        uploads.append((s, seed, chunks[1:]))
    assert value(metrics(admin), "lb4_connections_active") == 5
    lb.signal(signal.SIGTERM)
    h.wait_until(lambda: get(admin, "/healthz").status == 503, 5, "lb4 to drain")
    results = {}

    def finish_download(s, seed, sha, got):
        while True:
            b = s.recv(MiB)
            if not b:
                break
            got += len(b)
            sha.update(b)
        results[("down", seed)] = (got, sha.hexdigest())

    def finish_upload(s, seed, rest):
        for c in rest:
            s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        results[("up", seed)] = h.read_line(s)

    threads = [threading.Thread(target=finish_download, args=d, daemon=True) for d in downloads]
    threads += [threading.Thread(target=finish_upload, args=u, daemon=True) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60 * h.SLOW)
    assert not any(t.is_alive() for t in threads), "transfers did not finish"
    for seed in (1, 2, 3):
        assert results[("down", seed)] == (down_n, h.stream_sha256(seed, down_n)), seed
    for seed in (11, 12):
        sha = hashlib.sha256(b"SINK\n")
        for c in h.stream_chunks(seed, up_n):
            sha.update(c)
        assert results[("up", seed)] == "%d %s" % (5 + up_n, sha.hexdigest()), seed
    t_done = time.monotonic()
    for s, *_ in downloads + uploads:
        s.close()
    assert lb.wait_exit(10) == 0, lb.stderr()
    assert time.monotonic() - t_done < 5 * h.SLOW
    assert "drain complete" in lb.stderr(), lb.stderr()
