"""l7-aggregate: gw7's request aggregation against the plain proxying it replaces. One aggregated
GET (/agg: three parts, each the origin's /json, merged under their names) costs gw7 CPU that is
set against three proxied GETs of /json, the calls a client would make without it.

  gw7-aggregate  wrk -t1 -c64 GET /agg     proxy CPU per aggregated request
  gw7            wrk -t1 -c64 GET /json    proxy CPU per proxied request, x3 in "CPU / 3 calls"

Run:  bench/compare/compare --scenarios l7-aggregate --proxies gw7-aggregate,gw7 \\
          --subject gw7-aggregate --baselines gw7

The "CPU / 3 calls" column is the comparison: for gw7-aggregate one aggregated request, for gw7
three proxied ones. Imported at the end of scenarios.py.
"""

import proxies
from l7_bench import Gw7, L7Scenario
from scenarios import Column, Ratio, register


@proxies.register
class Gw7Aggregate(Gw7):
    name = "gw7-aggregate"
    title = "gw7 + an aggregate route (three parts, merge = keys)"
    features = {"http", "aggregate"}
    default = False

    def config(self, listen, backends):
        name, text = super().config(listen, backends)
        return name, text + """
[[route]]
name = "agg"
path = "/agg"
aggregate = [
  { name = "product", upstream = "origin", path = "/json" },
  { name = "reviews", upstream = "origin", path = "/json" },
  { name = "stock", upstream = "origin", path = "/json" },
]
merge = "keys"
"""


@register
class L7Aggregate(L7Scenario):
    name = "l7-aggregate"
    title = "L7 aggregation: one GET of three merged parts against three proxied GETs (64 connections)"
    description = ("wrk -t1 -c64: gw7-aggregate GET /agg (three /json parts, merged), other "
                   "proxies GET /json; proxy CPU per aggregated request against three proxied ones")
    connections = 64
    columns = [Column("cpu_us_per_3_calls", "CPU / 3 calls µs", "{:.2f}")] + L7Scenario.columns
    ratios = [Ratio("cpu_us_per_3_calls", "CPU/3 calls", "lower")]

    def run(self, ctx, proxy):
        aggregated = "aggregate" in proxy.features
        self.path = "/agg" if aggregated else "/json"
        r = super().run(ctx, proxy)
        r["cpu_us_per_3_calls"] = r["cpu_us_per_req"] * (1 if aggregated else 3)
        return r
