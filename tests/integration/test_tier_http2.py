"""HTTP/2 through the tier (issue 12): a client speaks h2 over TLS to lb4, which terminates TLS,
agrees "h2" by ALPN and tells gw7 so in its PROXY v2 header (the ALPN TLV); gw7 picks its HTTP/2
codec for the connection and sends HTTP/1.1 to the origin. The same listener still serves
HTTP/1.1 clients that offer only http/1.1. Real peers: curl --http2, nghttp, openssl s_client."""

import json
import shutil
import subprocess

import pytest

import tls_support as t
from tier_harness import tier  # noqa: F401

needs_tools = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("nghttp") is None,
                                 reason="curl or nghttp2-client not installed")


def h2_tier(tier_, tmp_path, n=2):
    d = tmp_path / "pki"
    d.mkdir()
    ca = t.Ca(str(d))
    cert, key = ca.issue("api.example.com", ["api.example.com"])
    origin = tier_.origin("o0", "o1")
    servers = [origin.address("o0"), origin.address("o1")]
    gws = [tier_.gw7("g%d" % i, servers, gw7={"http2": True}) for i in range(n)]
    tls = {"certificates": [{"cert": cert, "key": key}], "alpn": ["h2", "http/1.1"],
           "min_version": "1.2"}
    lb = tier_.lb4(gws, listener={"mode": "tls", "tls": tls})
    return ca, origin, lb


def curl(ca, lb, path, *args, source="127.0.0.1"):
    host, port = lb.address()
    r = subprocess.run(
        ["curl", "-sS", "--fail", "--max-time", "10", "--cacert", ca.cert, "--interface", source,
         "--resolve", "api.example.com:%d:%s" % (port, host), "-w", "\n%{http_version}", *args,
         "https://api.example.com:%d%s" % (port, path)],
        capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    body, _, version = r.stdout.rpartition("\n")
    return version, body


@needs_tools
def test_curl_http2_through_lb4_tls_and_gw7_to_an_http1_origin(tier, tmp_path):
    ca, origin, lb = h2_tier(tier, tmp_path)
    for i in (2, 3, 4, 5):
        ip = "127.0.0.%d" % i
        version, body = curl(ca, lb, "/h2/%d?x=1" % i, "--http2", source=ip)
        assert version == "2", body
        echo = json.loads(body)
        fields = {k.lower(): v for k, v in echo["headers"]}
        # The origin got HTTP/1.1 from gw7, with what lb4 told gw7 about the client.
        assert echo["target"] == "/h2/%d?x=1" % i
        assert fields["x-forwarded-proto"] == "https"
        assert fields["x-forwarded-for"] == ip
        assert fields["x-via-gw7"] in ("g0", "g1")
    # A POST body crosses both hops.
    version, body = curl(ca, lb, "/upload", "--http2", "--data-binary", "x" * 100000,
                         "-H", "Content-Type: application/octet-stream")
    assert version == "2"
    assert json.loads(body)["body_len"] == 100000


@needs_tools
def test_http1_client_on_the_same_listener_gets_http1(tier, tmp_path):
    ca, origin, lb = h2_tier(tier, tmp_path)
    version, body = curl(ca, lb, "/one", "--http1.1")
    assert version == "1.1"
    assert json.loads(body)["target"] == "/one"


@needs_tools
def test_nghttp_many_streams_on_one_connection(tier, tmp_path):
    ca, origin, lb = h2_tier(tier, tmp_path, n=1)
    host, port = lb.address()
    urls = ["https://%s:%d/n/%d" % (host, port, i) for i in range(20)]
    r = subprocess.run(["nghttp", "-n", "-s", "-m", "1", "--no-verify-peer"] + urls,
                       capture_output=True, text=True, timeout=60)
    # nghttp -s prints one line per stream: "id responseEnd requestStart process code size path".
    lines = [l for l in r.stdout.splitlines() if "/n/" in l]
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(lines) == 20, r.stdout
    assert all(" 200 " in l for l in lines), r.stdout
    assert len([e for e in origin.requests() if e["target"].startswith("/n/")]) == 20
