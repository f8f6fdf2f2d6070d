"""REST to SOAP (issue 14) against a SOAP service this project did not write: Debian's python3-spyne
serving the banking example (GetBalance, Transfer with a Fault for insufficient funds) over WSGI,
in SOAP 1.1 and 1.2. gw7 routes GET /accounts/{id}/balance and POST /transfers (JSON) onto the
operations; the answers come back as JSON, faults as mapped statuses, the WS-Security header goes
when configured; python3-zeep and the WSDL's own schema (lxml) check that gw7's envelopes are what
the service's WSDL describes. A fake upstream sends hostile XML (billion laughs, external entity,
too deep, too large, not XML): 502 without harm, and gw7 goes on serving. Run with /usr/bin/python3
(Debian's spyne and zeep)."""

import copy
import http.server
import json
import logging
import os
import shutil
import socketserver
import subprocess
import sys
import threading
import urllib.request
from decimal import Decimal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import zeep
import zeep.helpers
from lxml import etree
from spyne import Application, Fault, ServiceBase, Unicode, rpc
from spyne import Decimal as SoapDecimal
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))

import gw7_harness as h  # noqa: E402
from gw7_harness import gw  # noqa: E402,F401

TEMPLATES = os.path.join(h.SOURCE_ROOT, "conf", "soap")
ENVELOPE = {"1.1": "http://schemas.xmlsoap.org/soap/envelope/",
            "1.2": "http://www.w3.org/2003/05/soap-envelope"}
XS = "{http://www.w3.org/2001/XMLSchema}"
WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
logging.getLogger("spyne").setLevel(logging.CRITICAL)  # a Fault is logged as a traceback


# ---- the SOAP service (spyne) ----

class Bank:
    """The accounts, shared by both protocol servers of one test."""

    def __init__(self):
        self.accounts = {"A1": Decimal("100.50"), "B2": Decimal("5.00")}


def bank_application(bank, protocol):
    class BankService(ServiceBase):
        @rpc(Unicode, _returns=(SoapDecimal, Unicode), _out_variable_names=("Balance", "Currency"))
        def GetBalance(ctx, account_id):
            if account_id == "boom":
                raise Fault(faultcode="Server", faultstring="core ledger unavailable")
            if account_id not in bank.accounts:
                raise Fault(faultcode="Client.UnknownAccount",
                            faultstring="no account %s" % account_id)
            return bank.accounts[account_id], "EUR"

        @rpc(Unicode, Unicode, SoapDecimal, _in_variable_names={"from_": "from"},
             _returns=Unicode, _out_variable_name="TransferId")
        def Transfer(ctx, from_, to, amount):
            if bank.accounts.get(from_, Decimal(0)) < amount:
                raise Fault(faultcode="Client.InsufficientFunds", faultstring="insufficient funds")
            bank.accounts[from_] -= amount
            bank.accounts[to] = bank.accounts.get(to, Decimal(0)) + amount
            return "T-%d" % len(bank.accounts)

    return WsgiApplication(Application([BankService], tns="urn:bank",
                                       in_protocol=protocol(validator="lxml"),
                                       out_protocol=protocol()))


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadedWsgi(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class SoapServer:
    """One protocol's WSGI server in a thread; every POST it gets is kept (headers and body)."""

    def __init__(self, bank, protocol):
        self.requests = []
        inner = bank_application(bank, protocol)

        def capture(environ, start_response):
            if environ["REQUEST_METHOD"] == "POST":
                n = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(n)
                self.requests.append({"content_type": environ.get("CONTENT_TYPE", ""),
                                      "soapaction": environ.get("HTTP_SOAPACTION"),
                                      "upgrade": environ.get("HTTP_UPGRADE"),
                                      "path": environ.get("PATH_INFO"), "body": body})
                import io
                environ["wsgi.input"] = io.BytesIO(body)
            return inner(environ, start_response)

        self.server = make_server("127.0.0.1", 0, capture, server_class=ThreadedWsgi,
                                  handler_class=Quiet)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wsdl_url(self):
        return "http://%s/bank?wsdl" % self.address

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bank():
    b = Bank()
    servers = {"1.1": SoapServer(b, Soap11), "1.2": SoapServer(b, Soap12)}
    b.servers = servers
    yield b
    for s in servers.values():
        s.stop()


# ---- the hostile upstream ----

LOL = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
       + "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10)
                 for i in range(1, 10))
       + ']><soap:Envelope xmlns:soap="%s"><soap:Body><r>&lol9;</r></soap:Body></soap:Envelope>'
       % ENVELOPE["1.1"])
XXE = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<soap:Envelope xmlns:soap="%s"><soap:Body><r>&xxe;</r></soap:Body></soap:Envelope>'
       % ENVELOPE["1.1"])
DEEP = ('<soap:Envelope xmlns:soap="%s"><soap:Body>' % ENVELOPE["1.1"] + "<d>" * 5000 + "x"
        + "</d>" * 5000 + "</soap:Body></soap:Envelope>")
LARGE = ('<soap:Envelope xmlns:soap="%s"><soap:Body><r>' % ENVELOPE["1.1"] + "a" * (200 << 10)
         + "</r></soap:Body></soap:Envelope>")
HOSTILE = {"lol": LOL, "xxe": XXE, "deep": DEEP, "large": LARGE,
           "notxml": '{"balance": "100.50"}', "html": "<html><body>Bad gateway</body></html>"}


class HostileHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = HOSTILE[self.path.strip("/")].encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


# ---- gw7 ----

def soap_routes(version, wss=None):
    """The balance and transfer routes for one SOAP version, under /v11 or /v12."""
    tag = version.replace(".", "")
    balance = {"version": version, "action": "GetBalance", "path": "/bank",
               "template": os.path.join(TEMPLATES, "get_balance.xml"),
               "response": {"balance": "//Balance", "currency": "//Currency"},
               "faults": {"Server": 502}}
    if wss:
        balance["wss"] = wss
    transfer = {"version": version, "action": "Transfer", "path": "/bank",
                "template": os.path.join(TEMPLATES, "transfer.xml")}
    if wss:
        transfer["wss"] = wss
    return [
        {"name": "balance" + tag, "path_template": "/v%s/accounts/{id}/balance" % tag,
         "methods": ["GET"], "upstream": "bank" + tag, "soap": balance},
        {"name": "transfer" + tag, "path": "/v%s/transfers" % tag, "methods": ["POST"],
         "upstream": "bank" + tag, "soap": transfer},
    ]


def start_gw7(gw, bank, wss=None, extra_upstreams=(), extra_routes=(), gw7=None):
    upstreams = [{"name": "bank" + v.replace(".", ""), "servers": [s.address]}
                 for v, s in bank.servers.items()]
    routes = soap_routes("1.1", wss) + soap_routes("1.2", wss)
    cfg = h.render_config(gw7=gw7, upstreams=upstreams + list(extra_upstreams),
                          routes=routes + list(extra_routes))
    return gw.gw7(cfg)


def get(g, path):
    return h.request(g.addr, "GET", path)


def post_json(g, path, body):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    data = data.encode() if isinstance(data, str) else data
    return h.request(g.addr, "POST", path, [("Content-Type", "application/json")], data)


def translations(g, route, outcome):
    return h.metric(g.metrics(), "gw7_soap_translations_total", route=route, outcome=outcome)


def password_file(gw, text="pa<ss&word"):
    path = os.path.join(gw.dir, "core.secret")
    with open(path, "w") as f:
        f.write(text + "\n")
    return path


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_balance_and_transfer_as_json(gw, bank, version):
    g = start_gw7(gw, bank)
    tag = version.replace(".", "")
    r = get(g, "/v%s/accounts/A1/balance" % tag)
    assert r.status == 200, r.body
    assert r.header("content-type") == "application/json"
    assert r.json() == {"balance": "100.50", "currency": "EUR"}

    r = post_json(g, "/v%s/transfers" % tag, {"from": "A1", "to": "B2", "amount": 40.25})
    assert r.status == 200, r.body
    # No `response` mapping: the Body by the documented rule.
    assert r.json() == {"TransferResponse": {"TransferId": "T-2"}}
    assert bank.accounts == {"A1": Decimal("60.25"), "B2": Decimal("45.25")}
    assert get(g, "/v%s/accounts/B2/balance" % tag).json()["balance"] == "45.25"

    sent = bank.servers[version].requests
    assert [s["path"] for s in sent] == ["/bank"] * 3
    if version == "1.1":
        assert sent[0]["content_type"] == "text/xml; charset=utf-8"
        assert sent[0]["soapaction"] == '"GetBalance"'
        assert sent[1]["soapaction"] == '"Transfer"'
    else:
        assert sent[0]["content_type"] == 'application/soap+xml; charset=utf-8; action="GetBalance"'
        assert sent[1]["content_type"] == 'application/soap+xml; charset=utf-8; action="Transfer"'
        assert sent[0]["soapaction"] is None
    for s in sent:
        assert etree.fromstring(s["body"]).tag == "{%s}Envelope" % ENVELOPE[version]
        assert b"Security" not in s["body"]  # no wss configured
    assert translations(g, "balance" + tag, "ok") == 2
    assert translations(g, "transfer" + tag, "ok") == 1


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_faults_map_to_statuses(gw, bank, version):
    g = start_gw7(gw, bank)
    tag = version.replace(".", "")
    r = post_json(g, "/v%s/transfers" % tag, {"from": "B2", "to": "A1", "amount": "1000"})
    assert r.status == 400, r.body
    # spyne says Client.X in 1.1, Sender with the Subcode X in 1.2.
    client_code = ("Client" if version == "1.1" else "Sender") + ".InsufficientFunds"
    assert r.json() == {"error": "soap_fault", "code": client_code,
                        "message": "insufficient funds"}
    assert bank.accounts["B2"] == Decimal("5.00")

    r = get(g, "/v%s/accounts/nobody/balance" % tag)
    assert r.status == 400
    assert r.json()["message"] == "no account nobody"
    assert r.json()["code"].endswith(".UnknownAccount")

    r = get(g, "/v%s/accounts/boom/balance" % tag)
    assert r.status == 502, r.body
    assert r.json() == {"error": "soap_fault",
                        "code": "Server" if version == "1.1" else "Receiver",
                        "message": "core ledger unavailable"}
    assert translations(g, "balance" + tag, "fault") == 2
    assert translations(g, "transfer" + tag, "fault") == 1


def test_client_mistakes_are_400_and_hostile_values_arrive_intact(gw, bank):
    g = start_gw7(gw, bank)
    for body, message in [({"from": "A1", "to": "B2", "amount": "12abc"},
                           "body.amount:decimal is not a valid decimal"),
                          ({"from": "A1", "amount": "1"}, "body.to is missing"),
                          ("not json", "the request body must be a JSON object"),
                          ({"from": "A1", "to": "B\u0001", "amount": "1"},
                           "body.to is not text XML can carry")]:
        r = post_json(g, "/v11/transfers", body)
        assert r.status == 400, (body, r.body)
        assert message in r.json()["error"]["message"], r.body  # gw7's own error body
    assert bank.servers["1.1"].requests == []  # nothing went upstream
    assert translations(g, "transfer11", "bad_request") == 4

    hostile = "x</tns:to><tns:amount>999999</tns:amount>&amp;]]>\r\n<!--"
    r = post_json(g, "/v11/transfers", {"from": "A1", "to": hostile, "amount": "1.5"})
    assert r.status == 200, r.body
    assert bank.accounts[hostile] == Decimal("1.5")  # one account, named exactly that
    assert bank.accounts["A1"] == Decimal("99.00")


def test_keep_alive_pipelined_and_chunked_requests(gw, bank):
    """Translated requests on one keep-alive connection, pipelined, a chunked JSON body among
    them (the proxy reads each body whole before the next request starts)."""
    g = start_gw7(gw, bank)
    c = h.Client(g.addr)
    try:
        transfer = json.dumps({"from": "A1", "to": "B2", "amount": "0.25"}).encode()
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(transfer), transfer)
        c.send(h.request_bytes("POST", "/v11/transfers", [("Content-Type", "application/json")],
                               transfer)
               + h.request_bytes("GET", "/v12/accounts/B2/balance")
               + h.request_bytes("POST", "/v12/transfers", [("Transfer-Encoding", "chunked")],
                                 chunked)
               + h.request_bytes("GET", "/v11/accounts/A1/balance"))
        answers = [c.read_response("POST"), c.read_response("GET"), c.read_response("POST"),
                   c.read_response("GET")]
    finally:
        c.close()
    assert [a.status for a in answers] == [200, 200, 200, 200], [a.body for a in answers]
    assert answers[1].json() == {"balance": "5.25", "currency": "EUR"}
    assert answers[2].json() == {"TransferResponse": {"TransferId": "T-2"}}
    assert answers[3].json() == {"balance": "100.00", "currency": "EUR"}


def test_an_upgrade_request_is_translated_not_tunnelled(gw, bank):
    g = start_gw7(gw, bank)
    r = h.request(g.addr, "GET", "/v11/accounts/A1/balance",
                  [("Connection", "Upgrade"), ("Upgrade", "websocket"),
                   ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                   ("Sec-WebSocket-Version", "13")])
    assert r.status == 200, r.body
    assert r.json() == {"balance": "100.50", "currency": "EUR"}
    assert bank.servers["1.1"].requests[-1]["upgrade"] is None


def test_ws_security_username_token(gw, bank):
    g = start_gw7(gw, bank, wss={"username": "gw7-core", "password_file": password_file(gw)})
    for tag, version in (("11", "1.1"), ("12", "1.2")):
        assert get(g, "/v%s/accounts/A1/balance" % tag).status == 200
        envelope = etree.fromstring(bank.servers[version].requests[-1]["body"])
        header = envelope.find("{%s}Header" % ENVELOPE[version])
        token = header.find("%sSecurity/%sUsernameToken" % (WSSE, WSSE))
        assert token.findtext(WSSE + "Username") == "gw7-core"
        password = token.find(WSSE + "Password")
        assert password.text == "pa<ss&word"
        assert password.get("Type").endswith("#PasswordText")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_http2_client(gw, bank):
    """The translation is a filter on the request stream: an HTTP/2 client gets it too, body and
    all."""
    g = start_gw7(gw, bank, gw7={"http2": True})
    base = "http://127.0.0.1:%d" % g.addr[1]
    curl = ["curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}"]
    r = subprocess.run(curl + [base + "/v12/accounts/A1/balance"], capture_output=True, text=True,
                       timeout=30)
    body, _, status = r.stdout.rpartition("\n")
    assert status == "2 200", r.stdout + r.stderr
    assert json.loads(body) == {"balance": "100.50", "currency": "EUR"}
    r = subprocess.run(curl + ["-H", "Content-Type: application/json", "--data",
                               '{"from": "A1", "to": "B2", "amount": "0.50"}',
                               base + "/v11/transfers"], capture_output=True, text=True, timeout=30)
    body, _, status = r.stdout.rpartition("\n")
    assert status == "2 200", r.stdout + r.stderr
    assert json.loads(body) == {"TransferResponse": {"TransferId": "T-2"}}
    assert bank.accounts["A1"] == Decimal("100.00")


def wsdl_schema(url):
    """The WSDL's types as an lxml XMLSchema (the schema element keeps the WSDL's prefixes)."""
    root = etree.fromstring(urllib.request.urlopen(url, timeout=10).read())
    schema = root.find(".//%sschema" % XS)
    nsmap = {k: v for k, v in root.nsmap.items() if k}
    nsmap.update({k: v for k, v in schema.nsmap.items() if k})
    standalone = etree.Element(schema.tag, nsmap=nsmap, attrib=dict(schema.attrib))
    for child in schema:
        standalone.append(copy.deepcopy(child))
    return etree.XMLSchema(standalone)


def shape(element):
    """(local name, text) of an element and its descendants: what a schema-valid body says."""
    return [(etree.QName(e).localname, (e.text or "").strip()) for e in element.iter()
            if isinstance(e.tag, str)]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_envelopes_are_valid_for_the_wsdl(gw, bank, version):
    g = start_gw7(gw, bank)
    tag = version.replace(".", "")
    assert get(g, "/v%s/accounts/A1/balance" % tag).status == 200
    assert post_json(g, "/v%s/transfers" % tag,
                     {"from": "A1", "to": "B2", "amount": "2.50"}).status == 200
    server = bank.servers[version]
    schema = wsdl_schema(server.wsdl_url())
    client = zeep.Client(server.wsdl_url())
    calls = [("GetBalance", {"account_id": "A1"}),
             ("Transfer", {"from": "A1", "to": "B2", "amount": Decimal("2.50")})]
    for sent, (operation, args) in zip(server.requests, calls):
        envelope = etree.fromstring(sent["body"])
        body = envelope.find("{%s}Body" % ENVELOPE[version])
        operation_element = body[0]
        # The WSDL's schema accepts the operation element gw7 wrote...
        schema.assertValid(operation_element)
        # ...zeep reads the values back from gw7's envelope...
        binding_operation = client.service._binding.get(operation)
        read = zeep.helpers.serialize_object(binding_operation.input.deserialize(envelope))
        if not isinstance(read, dict):  # zeep unwraps a one-part message to its value
            read = {next(iter(args)): read}
        assert dict(read) == args
        # ...and zeep's own envelope for the same call says the same.
        theirs = client.create_message(client.service, operation, **args)
        assert etree.QName(theirs).namespace == ENVELOPE[version]
        their_body = theirs.find("{%s}Body" % ENVELOPE[version])
        assert shape(operation_element) == shape(their_body[0])


def test_hostile_xml_is_refused_and_gw7_goes_on(gw, bank, hostile):
    routes = []
    for case in HOSTILE:
        soap = {"version": "1.1", "action": "GetBalance", "path": "/" + case,
                "template": os.path.join(TEMPLATES, "get_balance.xml"),
                "max_response_bytes": "64KiB"}
        routes.append({"name": "hostile-" + case, "path_template": "/h/%s/{id}" % case,
                       "upstream": "hostile", "soap": soap})
    g = start_gw7(gw, bank, extra_upstreams=[{"name": "hostile", "servers": [hostile]}],
                  extra_routes=routes)
    outcomes = {"lol": "bad_xml", "xxe": "bad_xml", "deep": "bad_xml", "large": "too_large",
                "notxml": "bad_xml", "html": "bad_xml"}
    for case, outcome in outcomes.items():
        r = get(g, "/h/%s/A1" % case)
        assert r.status == 502, (case, r.body)
        assert r.json()["error"] == "bad_upstream_response"
        assert b"root:" not in r.body and b"lol" not in r.body
        assert translations(g, "hostile-" + case, outcome) == 1, case
        assert g.proc.poll() is None
    text = g.stderr()
    assert "declares a DTD or an entity" in text
    assert "elements nested deeper than 64" in text
    assert "SOAP answer too_large" in text
    # Still serving, SOAP and all.
    assert get(g, "/v11/accounts/A1/balance").json() == {"balance": "100.50", "currency": "EUR"}


def test_gateway_answers_for_a_failed_upstream_are_not_translated(gw, bank):
    soap = {"action": "GetBalance", "path": "/bank",
            "template": os.path.join(TEMPLATES, "get_balance.xml")}
    g = start_gw7(gw, bank, extra_upstreams=[{"name": "down", "servers": ["127.0.0.1:%d" % h.closed_port()]}],
                  extra_routes=[{"name": "down", "path_template": "/down/{id}",
                                 "upstream": "down", "soap": soap}])
    r = get(g, "/down/A1")
    assert r.status in (502, 503), r.body
    assert r.json()["error"]["message"] in ("the upstream service failed to answer",
                                            "no upstream server is available")
    assert sum(translations(g, "down", o)
               for o in ("ok", "fault", "bad_xml", "too_large", "bad_request")) == 0


def check(tmp_path, soap, path_template="/accounts/{id}/balance"):
    cfg = h.render_config(upstreams=[{"name": "core", "servers": ["127.0.0.1:9"]}],
                          routes=[{"name": "balance", "path_template": path_template,
                                   "upstream": "core", "soap": soap}])
    path = os.path.join(str(tmp_path), "check.toml")
    with open(path, "w") as f:
        f.write(cfg)
    r = subprocess.run([h.GW7, "--check", "-c", path], capture_output=True, text=True, timeout=20)
    return r.returncode, r.stderr


def test_check_validates_the_soap_table(tmp_path):
    good = {"version": "1.2", "action": "GetBalance", "path": "/bank",
            "template": os.path.join(TEMPLATES, "get_balance.xml"),
            "faults": {"Client": 400, "Server": 502}}
    code, err = check(tmp_path, good)
    assert code == 0, err
    code, err = check(tmp_path, dict(good, version="2.0"))
    assert code == 2 and "soap.version" in err
    code, err = check(tmp_path, dict(good, faults={"Client": 200}))
    assert code == 2 and "soap.faults.Client: expected an HTTP status 400..599" in err
    code, err = check(tmp_path, good, path_template="/accounts/{account}/balance")
    assert code == 2 and "{path.id}: the route's path_template captures no \"id\"" in err
    code, err = check(tmp_path, dict(good, template=os.path.join(str(tmp_path), "missing.xml")))
    assert code == 2 and "soap.template: cannot read" in err
