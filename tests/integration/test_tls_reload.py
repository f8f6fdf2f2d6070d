"""SIGHUP and mode = "tls": certificates changed on disk are picked up by new handshakes while live
TLS connections go on; a broken certificate file keeps the old config (and says why); session
tickets issued before a reload still resume after it, because the listener keeps its ticket keys
(and their rotation schedule) across reloads."""

import os
import shutil
import subprocess

import pytest

import lb4_harness as h
import tls_support as t


@pytest.fixture
def pki(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = t.Ca(str(d))
    ca.a = ca.issue("front-a.test", ["front.test"])
    ca.b = ca.issue("front-b.test", ["front.test"])
    return ca


def start(edge, pki, tmp_path, mode="echo", **tls):
    """lb4 terminating TLS with certificate A copied to live.crt/live.key, relaying to an echo
    (or http) origin, without a PROXY header."""
    cert, key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copy(pki.a[0], cert)
    shutil.copy(pki.a[1], key)
    o = edge.origin({"name": "b", "mode": mode})
    conf = {"certificates": [{"cert": cert, "key": key}], "alpn": ["http/1.1"]}
    conf.update(tls)
    lb = edge.lb4([{"name": "p", "balance": "round_robin",
                    "backends": [{"address": o.address("b")}]}],
                  listeners=[{"name": "tls", "bind": "127.0.0.1", "mode": "tls", "pool": "p",
                              "tls": conf}],
                  admin="127.0.0.1:%d" % h.free_port())
    return lb, cert, key


def replace(src, dst):
    """Atomically, as a deployment tool would (a reload never reads half a file)."""
    shutil.copy(src, dst + ".next")
    os.replace(dst + ".next", dst)


def cn_of(sock):
    return t.cert_subject_cn(sock.getpeercert(binary_form=True))


def echo(sock, text):
    sock.sendall(text + b"\n")
    assert h.read_line(sock) == text.decode()


def test_new_certificate_for_new_handshakes_live_connections_kept(edge, pki, tmp_path):
    lb, cert, key = start(edge, pki, tmp_path)
    ctx = t.client_context(pki.cert)
    live = t.tls_connect(lb.address(), "front.test", ctx)
    echo(live, b"before")
    assert cn_of(live) == "front-a.test"
    replace(pki.b[0], cert)
    replace(pki.b[1], key)
    assert t.reload(lb) == "ok"

    def all_new():  # each worker applies the reload on its own loop, just after the log line
        socks = [t.tls_connect(lb.address(), "front.test", ctx) for _ in range(4)]
        names = {cn_of(x) for x in socks}
        for x in socks[1:]:
            x.close()
        return socks[0] if names == {"front-b.test"} else socks[0].close()

    fresh = h.wait_until(all_new, 10, "new handshakes to use the new certificate")
    echo(fresh, b"new certificate")
    # The connection made before the reload was not cut and still relays both ways.
    echo(live, b"after the reload")
    live.close()
    fresh.close()


def test_broken_certificate_keeps_the_old_config(edge, pki, tmp_path):
    lb, cert, key = start(edge, pki, tmp_path)
    ctx = t.client_context(pki.cert)
    live = t.tls_connect(lb.address(), "front.test", ctx)
    with open(cert + ".next", "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    os.replace(cert + ".next", cert)
    assert t.reload(lb) == "failed"
    log = lb.stderr()
    failure = log[log.rindex("reload failed"):]
    assert 'listener "tls": tls: certificate "%s"' % cert in failure, failure
    assert t.metric(lb, "lb4_reloads_total", result="failed") == 1
    # The certificate loaded at start keeps serving, old and new connections alike.
    fresh = t.tls_connect(lb.address(), "front.test", ctx)
    assert cn_of(fresh) == "front-a.test"
    echo(fresh, b"still served")
    echo(live, b"still relayed")
    # A key that does not match the certificate is refused the same way.
    replace(pki.b[0], cert)
    assert t.reload(lb) == "failed"
    assert 'tls: key "%s": ' % key in lb.stderr()
    assert cn_of(t.tls_connect(lb.address(), "front.test", ctx)) == "front-a.test"


def _s_client(address, sess_flag, sess_file, version):
    host, port = address
    return subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (host, port),
                           "-servername", "front.test", sess_flag, sess_file, version,
                           "-ign_eof"],
                          input="GET / HTTP/1.1\r\nHost: front.test\r\n\r\n", capture_output=True, text=True, timeout=30 * h.SLOW)


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_ticket_issued_before_reload_resumes_after(edge, pki, tmp_path, version):
    lb, cert, key = start(edge, pki, tmp_path, mode="http")
    sess = str(tmp_path / "session.pem")
    r = _s_client(lb.address(), "-sess_out", sess, version)
    assert "New, TLSv1." in r.stdout, r.stdout + r.stderr
    # Two reloads (the config rebuilt each time, with a new certificate the second time).
    assert t.reload(lb) == "ok"
    replace(pki.b[0], cert)
    replace(pki.b[1], key)
    assert t.reload(lb) == "ok"
    for _ in range(3):  # with two workers, both see the same keys
        r = _s_client(lb.address(), "-sess_in", sess, version)
        assert "Reused, TLSv1." in r.stdout, r.stdout + r.stderr
    assert t.metric(lb, "lb4_tls_handshakes_total", resumed="true") == 3


def test_changed_rotation_starts_new_keys(edge, pki, tmp_path):
    """Keys are kept only while ticket_key_rotation stays: a changed schedule starts new keys,
    so the old ticket gets a full handshake (and a new ticket)."""
    lb, cert, key = start(edge, pki, tmp_path, mode="http")
    sess = str(tmp_path / "session.pem")
    r = _s_client(lb.address(), "-sess_out", sess, "-tls1_3")
    assert "New, TLSv1.3" in r.stdout, r.stdout + r.stderr
    lb.listeners[0]["tls"]["ticket_key_rotation"] = "2h"
    assert t.reload(lb) == "ok"
    r = _s_client(lb.address(), "-sess_in", sess, "-tls1_3")
    assert "New, TLSv1.3" in r.stdout, r.stdout + r.stderr
