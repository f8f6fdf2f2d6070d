"""l7-soap: gw7's REST to SOAP translation (issue 14), reported as gw7's CPU per translated request
against three plain proxied requests (the issue's unit: a translation should cost no more than
proxying three requests).

  l7-soap   on one gw7 (`gw7-soap`), one after the other, each with its warm-up:
            plain       wrk -t1 -c64 GET /small, proxied as is;
            translated  wrk -t1 -c64 GET /accounts/A1/balance, a `soap` route (SOAP 1.1, the
                        conf/soap/get_balance.xml template, a `response` mapping) POSTing an
                        envelope to the origin's /soap, which answers a fixed GetBalance envelope
                        (origins.SOAP_BALANCE); gw7 answers {"balance":"100.50","currency":"EUR"}.
            Figures: CPU µs per translated request, per plain request, and
            translated / (3 x plain).

Run:  bench/compare/compare --scenarios l7-soap --proxies gw7-soap --subject gw7-soap --baselines ""

The SOAP service is nginx's fixed answer, so that the figure is gw7's work (envelope, pugixml
parse, JSON) and not a SOAP stack's. Imported at the end of scenarios.py.
"""

import json
import os

import proxies
from l7_bench import REPO, Gw7, L7Scenario
from scenarios import Column, register

SOAP_ANSWER = json.dumps({"balance": "100.50", "currency": "EUR"}, separators=(",", ":")) + "\n"


@proxies.register
class Gw7Soap(Gw7):
    name = "gw7-soap"
    title = "gw7 + a soap route (REST GET -> SOAP 1.1 GetBalance)"
    features = {"http", "soap"}
    default = False

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        template = os.path.join(REPO, "conf", "soap", "get_balance.xml")
        return name, text + f"""
[[route]]
name = "balance"
path_template = "/accounts/{{id}}/balance"
methods = ["GET"]
upstream = "origin"
soap = {{ version = "1.1", action = "GetBalance", path = "/soap", template = "{template}", response = {{ balance = "//Balance", currency = "//Currency" }} }}
"""


class _Leg(L7Scenario):
    """One of l7-soap's two loads (not registered: run by L7Soap)."""
    connections = 64

    def __init__(self, name, path, body_bytes=None):
        self.name, self.path, self.body_bytes = name, path, body_bytes

    def expected_body_bytes(self):
        return self.body_bytes if self.body_bytes is not None else super().expected_body_bytes()


@register
class L7Soap(L7Scenario):
    name = "l7-soap"
    title = "L7 REST to SOAP: CPU per translated request against three plain proxied requests"
    description = ("wrk -t1 -c64 GET /small (plain) then GET /accounts/A1/balance (translated to "
                   "SOAP and back) through one gw7; CPU per translated request / 3 x per plain one")
    requires = {"http", "soap"}
    columns = [
        Column("cpu_us_per_req", "CPU µs/translated", "{:.2f}"),
        Column("plain_cpu_us_per_req", "CPU µs/plain", "{:.2f}"),
        Column("soap_vs_3_plain", "translated ÷ 3 plain", "{:.2f}"),
        Column("rps", "translated req/s", "{:,.0f}"),
        Column("p99_ms", "p99 ms", "{:.2f}"),
        Column("errors_total", "wrk errors", "{:,.0f}"),
    ]
    ratios = []

    def estimate_s(self, ctx):
        return 2 * (ctx.warmup + ctx.duration + 2)

    def run(self, ctx, proxy):
        plain = _Leg("l7-soap-plain", "/small").run(ctx, proxy)
        translated = _Leg("l7-soap-translated", "/accounts/A1/balance", len(SOAP_ANSWER)).run(
            ctx, proxy)
        r = dict(translated)
        r["plain_cpu_us_per_req"] = plain["cpu_us_per_req"]
        r["plain_rps"] = plain["rps"]
        r["soap_vs_3_plain"] = translated["cpu_us_per_req"] / (3 * plain["cpu_us_per_req"])
        r["notes"] = plain["notes"] + translated["notes"]
        return r
