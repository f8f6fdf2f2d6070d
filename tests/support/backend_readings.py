"""How common backend families read the request target a gateway forwards to them.

A gateway's auth is only as good as the agreement between its router and the upstream: if gw7
routes "/catalog%2F1" to a public catch-all while the upstream decodes it to "/catalog/1", the
upstream serves the protected resource to anyone. The attack suite (test_gw7_bypass.py) asks, of
every request an origin received: would any of these backends treat its path as a protected
resource? Each function below models one family's documented normalisation (not a full server):

  nginx        one percent-decoding pass (including %2F), merge_slashes on, dot segments resolved,
               case-sensitive; "%00" ends the path as a C string would.
  python       http.server's translate_path / a WSGI PATH_INFO: drop the query and a fragment,
               urllib.parse.unquote, then posixpath.normpath-style dot and slash folding.
               (A WSGI server also maps "X_Consumer" and "X-Consumer" to one HTTP_X_CONSUMER:
               see header_key.)
  servlet      Tomcat/Jetty: ";..." path parameters are dropped from every segment before
               decoding (so "/admin;x/stats" and "/..;/admin" are read as without them), then one
               decoding pass, slashes merged, dots resolved; a Windows deployment is
               case-insensitive.
  express      decoded, case-insensitive and trailing slash optional by default.
  iis          "\\" is a separator, "%uXXXX" is decoded, case-insensitive.

Every family also ignores one trailing slash (Express by default; the others serve a directory
index or redirect there), and case-insensitive families contribute their lower-cased reading.
"""

import posixpath
import re
import urllib.parse

_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")
_PCT_U = re.compile(r"%[uU]([0-9A-Fa-f]{4})")


def _decode_once(path):
    """One percent-decoding pass over text (latin-1 bytes): %XX -> the byte; the rest as is."""
    raw = path.encode("latin-1", "replace")
    return _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode("latin-1")


def _resolve(path):
    """Slashes merged, "." and ".." resolved (RFC 3986 5.2.4 after merging), never above "/"."""
    out = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    tail = "/" if path.endswith("/") and out else ""
    return "/" + "/".join(out) + tail


def _c_string(path):
    """What a C-string consumer reads: up to the first NUL."""
    return path.split("\x00", 1)[0]


def _strip_path_parameters(path):
    """Tomcat/Jetty: every segment loses ";..." (up to the next "/")."""
    return "/".join(seg.split(";", 1)[0] for seg in path.split("/"))


def path_of(target):
    """The path of a request line's target: origin-form or absolute-form, no query/fragment."""
    if "://" in target.split("?", 1)[0]:
        rest = target.split("://", 1)[1]
        slash = rest.find("/")
        target = rest[slash:] if slash >= 0 else "/"
    return target.split("?", 1)[0].split("#", 1)[0]


def authority_of(target):
    """The authority of an absolute-form target, else None."""
    head = target.split("?", 1)[0]
    if "://" not in head:
        return None
    return head.split("://", 1)[1].split("/", 1)[0]


def readings(target):
    """Every path a backend family might act on for this request target (a set of strings)."""
    path = path_of(target)
    decoded = _decode_once(path)
    nginx = _resolve(_c_string(decoded))
    python = posixpath.normpath(urllib.parse.unquote(path, encoding="latin-1")) or "/"
    if python.startswith("//"):  # normpath keeps a leading "//"; a WSGI router merges it
        python = "/" + python.lstrip("/")
    servlet = _resolve(_decode_once(_strip_path_parameters(path)))
    express = _resolve(decoded)
    iis = _resolve(_decode_once(_PCT_U.sub(lambda m: chr(int(m.group(1), 16) & 0xFF),
                                           path.replace("\\", "/"))).replace("\\", "/"))
    out = {nginx, python, servlet, express, iis}
    # Case-insensitive families (Express, IIS, a servlet container on Windows).
    out |= {express.lower(), iis.lower(), servlet.lower()}
    # One trailing slash is optional to all of them.
    out |= {p[:-1] for p in out if len(p) > 1 and p.endswith("/")}
    return out


def host_reading(host):
    """A virtual host as a backend compares it: lower case, no port, one trailing dot dropped."""
    if host is None:
        return None
    h = host.strip().lower()
    if h.startswith("["):
        h = h[:h.find("]") + 1]
    else:
        h = h.rsplit(":", 1)[0] if ":" in h else h
    return h[:-1] if h.endswith(".") else h


def header_key(name):
    """A field name as a CGI/WSGI backend keys it: HTTP_X_CONSUMER for X-Consumer and X_Consumer."""
    return name.strip().lower().replace("_", "-")
