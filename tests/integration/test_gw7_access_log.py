"""gw7's [gw7.access_log] around the request path: the log file is opened at start (an
unwritable one is exit 1 with the path named), SIGUSR1 after logrotate's rename reopens it under
its name, /metrics counts its lines and reopens, and GET /usage answers the usage windows."""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401


def with_log(origin, path):
    text = h.simple_config(origin, ["a"])
    # [gw7.access_log] belongs to [gw7]: put it before the first [[upstream]].
    return text.replace("\n[[upstream]]", '\n[gw7.access_log]\npath = "%s"\nsample = 0.5\n'
                        'redact = ["api_key"]\n\n[[upstream]]' % path, 1)


def test_log_opened_at_start_and_reopened_on_sigusr1(gw, tmp_path):
    o = gw.origin("a")
    log = str(tmp_path / "gw7-access.log")
    g = gw.gw7(with_log(o, log))
    assert os.path.exists(log)
    os.rename(log, log + ".1")
    g.signal(signal.SIGUSR1)
    h.wait_until(lambda: os.path.exists(log), 5, "the log reopened under its name")
    assert h.metric(g.metrics(), "gw7_access_log_reopens_total") == 1
    assert h.metric(g.metrics(), "gw7_access_log_lines_total", result="dropped") == 0
    assert h.request(g.addr, "GET", "/x").status == 200  # still serving after the signal


def test_usage_endpoint(gw):
    o = gw.origin("a")
    g = gw.gw7(h.simple_config(o, ["a"]))
    r = g.admin_get("/usage")
    assert r.status == 200 and r.header("content-type") == "application/json"
    usage = json.loads(r.body)
    assert usage["windows"] == ["1m", "5m"] and usage["slot_seconds"] == 10
    assert usage["max_consumers"] == 1000
    assert isinstance(usage["routes"], list) and isinstance(usage["consumers"], list)


def test_unwritable_log_is_exit_1(tmp_path):
    path = tmp_path / "gw7.toml"
    path.write_text('[gw7]\nlisten = "127.0.0.1:0"\n[gw7.access_log]\npath = "%s"\n'
                    % (tmp_path / "missing-dir" / "access.log"))
    r = subprocess.run([h.GW7, "-c", str(path)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1, r.stderr
    assert "[gw7.access_log] cannot open" in r.stderr and "missing-dir" in r.stderr
    # --check validates keys without opening the file: the path may be created at deployment.
    r = subprocess.run([h.GW7, "--check", "-c", str(path)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr


# ---- one line per request, however it ends ---------------------------------------------------

import hashlib  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
KEY = "alice-key-0123456789"
AUTH_EXTRA = """
[[auth]]
name = "keys"
type = "api_key"
header = "X-API-Key"
keys = [{ consumer = "alice", sha256 = "%s" }]

[[rate_limit]]
name = "one"
key = "consumer"
limit = 1
per = "1m"
store = "local"
""" % hashlib.sha256(KEY.encode()).hexdigest()


def logged_gw(gw, tmp_path, routes=None, extra="", upstream_extra=None, gw7=None, sample=None):
    o = gw.origin("a")
    log = str(tmp_path / "access.log")
    cfg = dict(gw7 or {})
    text = h.simple_config(o, ["a"], routes=routes, extra=extra, upstream_extra=upstream_extra,
                           gw7=cfg)
    section = '\n[gw7.access_log]\npath = "%s"\nredact = ["token"]\n' % log
    if sample is not None:
        section += "sample = %s\n" % sample
    text = text.replace("\n[[upstream]]", section + "\n[[upstream]]", 1)
    return o, gw.gw7(text), log


def lines(log, n, timeout=5):
    def read():
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [json.loads(l) for l in f if l.strip()]
    h.wait_until(lambda: len(read()) >= n, timeout, "%d access log lines" % n)
    return read()


def test_a_proxied_request_is_one_complete_line(gw, tmp_path):
    o, g, log = logged_gw(gw, tmp_path)
    r = h.request(g.addr, "POST", "/items/7?token=s3cret&x=1",
                  headers=[("traceparent", TRACEPARENT), ("User-Agent", "t/1")], body=b"abcde")
    assert r.status == 200
    [line] = lines(log, 1)
    origin_req = o.wait_requests(1)[0]
    sent = {k.lower(): v for k, v in origin_req["headers"]}
    assert line["request_id"] == r.header("x-request-id") == sent["x-request-id"]
    # The client's trace is kept; gw7's span is the parent the origin sees.
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert sent["traceparent"] == "00-%s-%s-01" % (line["trace_id"], line["span_id"])
    assert line["span_id"] != "00f067aa0ba902b7"
    assert line["route"] == "all" and line["upstream"] == "app"
    assert line["upstream_server"] == o.address("a")
    assert line["method"] == "POST" and line["protocol"] == "HTTP/1.1"
    assert line["path"] == "/items/7?token=REDACTED&x=1"
    assert line["status"] == 200 and line["end"] == "completed"
    assert line["bytes_in"] == 5 and line["bytes_out"] == len(r.body)
    assert line["user_agent"] == "t/1"
    assert line["client"].startswith("127.0.0.1:")
    assert line["upstream_first_byte_us"] is not None and line["duration_us"] > 0
    assert line["retries"] == 0


def test_a_request_without_traceparent_gets_a_new_trace(gw, tmp_path):
    o, g, log = logged_gw(gw, tmp_path)
    for i, tp in enumerate([None, "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                            "garbage"]):
        headers = [("traceparent", tp)] if tp else []
        assert h.request(g.addr, "GET", "/t/%d" % i, headers=headers).status == 200
    got = lines(log, 3)
    sent = [{k.lower(): v for k, v in e["headers"]}["traceparent"] for e in o.wait_requests(3)]
    for line, tp in zip(got, sent):
        assert len(line["trace_id"]) == 32 and line["trace_id"] != "0" * 32
        assert tp == "00-%s-%s-00" % (line["trace_id"], line["span_id"])
    assert len({l["trace_id"] for l in got}) == 3


def test_refusals_and_no_route_are_logged_with_their_outcome(gw, tmp_path):
    routes = [{"name": "api", "path_prefix": "/api", "upstream": "app", "auth": "keys",
               "rate_limit": "one"}]
    o, g, log = logged_gw(gw, tmp_path, routes=routes, extra=AUTH_EXTRA)
    assert h.request(g.addr, "GET", "/api/a").status == 401
    assert h.request(g.addr, "GET", "/api/b", headers=[("X-API-Key", "wrong")]).status == 401
    assert h.request(g.addr, "GET", "/api/c", headers=[("X-API-Key", KEY)]).status == 200
    assert h.request(g.addr, "GET", "/api/d", headers=[("X-API-Key", KEY)]).status == 429
    assert h.request(g.addr, "GET", "/elsewhere").status == 404
    a, b, c, d, e = lines(log, 5)
    assert (a["status"], a["auth"], a["end"]) == (401, "missing", "refused")
    assert (b["status"], b["auth"], b["end"]) == (401, "invalid", "refused")
    assert (c["status"], c["auth"], c["rate_limit"], c["consumer"]) == (200, "ok", "allowed",
                                                                         "alice")
    assert (d["status"], d["rate_limit"], d["end"], d["consumer"]) == (429, "limited", "refused",
                                                                       "alice")
    assert (e["status"], e["route"], e["upstream_server"]) == (404, None, None)
    usage = json.loads(g.admin_get("/usage").body)
    alice = [x for x in usage["consumers"] if x["name"] == "alice"]
    assert alice and alice[0]["1m"]["requests"] == 2 and alice[0]["1m"]["rate_limited"] == 1


def test_upstream_timeout_and_unreachable_server_are_logged(gw, tmp_path):
    o, g, log = logged_gw(gw, tmp_path, upstream_extra={"request_timeout": "300ms",
                                                        "retries": 0})
    assert h.request(g.addr, "GET", "/slow?delay=2").status == 504
    [line] = lines(log, 1)
    assert (line["status"], line["end"]) == (504, "timeout")
    dead = "127.0.0.1:%d" % h.closed_port()
    text = h.render_config(gw7={}, upstreams=[{"name": "down", "servers": [dead]}],
                           routes=[{"name": "all", "path_prefix": "/", "upstream": "down"}])
    log2 = str(tmp_path / "access2.log")
    g2 = gw.gw7(text.replace("\n[[upstream]]", '\n[gw7.access_log]\npath = "%s"\n\n[[upstream]]'
                             % log2, 1))
    assert h.request(g2.addr, "GET", "/x").status in (502, 503)
    [line] = lines(log2, 1)
    assert line["end"] == "upstream_error" and line["upstream_server"] == dead


def test_a_client_that_leaves_mid_response_is_client_gone(gw, tmp_path):
    o, g, log = logged_gw(gw, tmp_path)
    s = socket.create_connection(g.addr)
    s.sendall(h.request_bytes("GET", "/drip?size=65536&drip=0.05"))
    s.recv(100)
    s.close()
    [line] = lines(log, 1, timeout=10)
    assert line["end"] == "client_gone" and line["status"] == 200


def test_route_sampling_zero_logs_nothing_for_that_route(gw, tmp_path):
    routes = [{"name": "quiet", "path_prefix": "/quiet", "upstream": "app",
               "access_log_sample": 0.0},
              {"name": "all", "path_prefix": "/", "upstream": "app"}]
    o, g, log = logged_gw(gw, tmp_path, routes=routes)
    for i in range(5):
        assert h.request(g.addr, "GET", "/quiet/%d" % i).status == 200
    assert h.request(g.addr, "GET", "/loud").status == 200
    got = lines(log, 1)
    time.sleep(0.3)
    assert [l["route"] for l in lines(log, 1)] == ["all"]
    assert h.metric(g.metrics(), "gw7_access_log_lines_total", result="sampled_out") == 5


def test_http2_requests_are_logged_as_http2(gw, tmp_path):
    if shutil.which("curl") is None:
        return
    o, g, log = logged_gw(gw, tmp_path, gw7={"http2": True})
    r = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null",
                        "http://%s:%d/h2" % g.addr], capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    [line] = lines(log, 1)
    assert line["protocol"] == "HTTP/2" and line["status"] == 200


def test_a_head_gw7_cannot_parse_is_logged_as_a_client_error(gw, tmp_path):
    """No request stream ever exists for it: the codec's own 400 is still one line."""
    _, g, log = logged_gw(gw, tmp_path)
    reply, closed = h.raw(g.addr, b"GET /x HTTP/1.1\r\nHost: example.com\r\nBad Header\r\n\r\n")
    assert reply.status == 400 and closed
    (line,) = lines(log, 1)
    assert (line["status"], line["end"], line["route"]) == (400, "client_error", None)
    assert line["client"].startswith("127.0.0.1:") and line["request_id"]


def test_an_http2_head_refused_before_a_stream_is_logged_once(gw, tmp_path):
    """A head over the header list limit gets 431 from the HTTP/2 codec, before any request
    stream: logged once, as a client error."""
    import test_gw7_http2 as h2
    _, g, log = logged_gw(gw, tmp_path, gw7={"http2": True})
    c = h2.RawH2(g.addr)
    fields = [("x-big-%03d" % i, "v" * 120) for i in range(140)]
    block = h2.request_block("/big", extra=fields)
    half = len(block) // 2
    c.send(h2.frame(h2.HEADERS, h2.END_STREAM, 1, block[:half]) +
           h2.frame(h2.CONTINUATION, h2.END_HEADERS, 1, block[half:]))
    c.frames_until(lambda f: f[2] == 1 and f[1] & h2.END_STREAM, limit=20)
    c.close()
    h.wait_until(lambda: h.metric(g.metrics(), "gw7_access_log_lines_total",
                                  result="written") >= 1, 10, "a line written")
    got = lines(log, 1)
    assert len(got) == 1, got
    assert (got[0]["status"], got[0]["end"]) == (431, "client_error")


def test_a_full_queue_drops_lines_and_counts_them_without_blocking(gw, tmp_path):
    """The log is a FIFO nobody reads until the requests are done: the writer thread blocks, the
    64 KiB queue fills, and lines are dropped and counted while every request is still served."""
    import threading
    fifo = str(tmp_path / "access.fifo")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    drain, stop = threading.Event(), threading.Event()

    def read_later():
        drain.wait()
        while not stop.is_set():
            try:
                if not os.read(reader, 1 << 16):
                    stop.wait(0.01)
            except BlockingIOError:
                stop.wait(0.01)

    t = threading.Thread(target=read_later, daemon=True)
    t.start()
    try:
        o = gw.origin("a")
        text = h.simple_config(o, ["a"]).replace(
            "\n[[upstream]]", '\n[gw7.access_log]\npath = "%s"\nqueue = "64KiB"\n\n[[upstream]]'
            % fifo, 1)
        g = gw.gw7(text)
        c = h.Client(g.addr)
        for i in range(800):
            c.send(h.request_bytes("GET", "/q/%d?%s" % (i, "p" * 200)))
            assert c.read_response().status == 200
        c.close()
        m = g.metrics()
        dropped = h.metric(m, "gw7_access_log_lines_total", result="dropped")
        written = h.metric(m, "gw7_access_log_lines_total", result="written")
        assert dropped > 0 and written < 800, (dropped, written)
        drain.set()
        g.stop()
    finally:
        drain.set()
        stop.set()
        t.join(5)
        os.close(reader)
