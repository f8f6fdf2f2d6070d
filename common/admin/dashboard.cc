#include "common/admin/dashboard.h"

namespace edge::admin {
namespace {

// Kept as one literal so the binary carries it; textContent/escaping is used for every value
// from the JSON (names come from configs and clients), never innerHTML with raw data.
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>edge dashboard</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
.cards { display: flex; flex-wrap: wrap; gap: .8em; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .5em .9em; min-width: 9em; }
.card .v { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { color: #666; font-size: .85em; }
table { border-collapse: collapse; background: #fff; margin-bottom: .5em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
td.n { text-align: right; }
.up { color: #17702f; font-weight: 600; } .down { color: #b3261e; font-weight: 600; }
#error { color: #b3261e; min-height: 1.2em; }
.muted { color: #777; }
</style>
</head>
<body>
<h1 id="title">edge</h1>
<div class="muted">updated <span id="updated">never</span> &middot; every second from /status, /metrics<span id="usage-note"></span></div>
<div id="error"></div>
<div id="root"></div>
<script>
"use strict";
const prev = { t: 0, counters: new Map() };
const backendStates = new Map();
const transitions = [];

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function card(id, label, value) {
  return el("div", { class: "card" }, el("div", { class: "v", id: id }, value), el("div", { class: "k" }, label));
}
function table(headers, rows, id) {
  const t = el("table", id ? { id: id } : {});
  t.append(el("tr", {}, ...headers.map(h => el("th", {}, h))));
  for (const r of rows) {
    t.append(el("tr", {}, ...r.map(c => c instanceof Node ? el("td", {}, c)
        : el("td", typeof c === "number" ? { class: "n" } : {}, c))));
  }
  if (rows.length === 0) t.append(el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, "none")));
  return t;
}
function fmt(n, digits) {
  if (n === null || n === undefined || Number.isNaN(n)) return "-";
  return Number(n).toFixed(digits === undefined ? 0 : digits);
}
function bytesRate(n) {
  const u = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const m = line.match(/^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/);
    if (!m) continue;
    const labels = {};
    const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l;
    while ((l = re.exec(m[2] || "")) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
    out.push({ name: m[1], labels: labels, value: parseFloat(m[3]) });
  }
  return out;
}
function total(metrics, name, match) {
  let s = 0;
  for (const m of metrics) {
    if (m.name !== name) continue;
    if (match && !Object.entries(match).every(([k, v]) => m.labels[k] === v)) continue;
    s += m.value;
  }
  return s;
}
// Per-second rate of a counter since the previous update (null on the first one).
function rate(key, value, now) {
  const before = prev.counters.get(key);
  prev.counters.set(key, value);
  if (before === undefined || prev.t === 0 || now <= prev.t) return null;
  return Math.max(0, (value - before) / ((now - prev.t) / 1000));
}
async function get(path, json) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return json ? r.json() : r.text();
}

function renderLb4(status, metrics, now) {
  document.getElementById("title").textContent = "lb4";
  const root = el("div");
  const inRate = rate("bytes_client", total(metrics, "lb4_bytes_total", { from: "client" }), now);
  const outRate = rate("bytes_backend", total(metrics, "lb4_bytes_total", { from: "backend" }), now);
  const accepted = total(metrics, "lb4_connections_accepted_total");
  const acceptRate = rate("accepted", accepted, now);
  root.append(el("div", { class: "cards" },
    card("stat-active", "active connections", status.active_connections),
    card("stat-accepted", "accepted", accepted),
    card("stat-accept-rate", "new connections/s", fmt(acceptRate, 1)),
    card("stat-bytes-in", "from clients", inRate === null ? "-" : bytesRate(inRate)),
    card("stat-bytes-out", "from backends", outRate === null ? "-" : bytesRate(outRate)),
    card("stat-workers", "workers", status.workers),
    card("stat-draining", "draining", status.draining ? "yes" : "no")));
  root.append(el("h2", {}, "Listeners"));
  root.append(table(["name", "bind", "mode", "pool"],
    status.listeners.map(l => [l.name, l.bind, l.mode, l.pool]), "listeners"));
  for (const pool of status.pools) {
    root.append(el("h2", {}, "Pool " + pool.name + " (" + pool.balance + ")"));
    root.append(table(["backend", "weight", "state", "check", "active", "connect failures", "ejected", "last check"],
      pool.backends.map(b => {
        const key = pool.name + " " + b.address;
        const was = backendStates.get(key);
        if (was !== undefined && was !== b.state) {
          transitions.unshift([new Date().toLocaleTimeString(), pool.name, b.address, was + " \u2192 " + b.state]);
          transitions.length = Math.min(transitions.length, 50);
        }
        backendStates.set(key, b.state);
        return [b.address, b.weight, el("span", { class: b.state === "up" ? "up" : "down" }, b.state),
                b.check || "-", b.active_connections, b.connect_failures, b.ejected ? "yes" : "no",
                b.last_check ? b.last_check.result + " " + b.last_check.reason : "-"];
      }), "pool-" + pool.name));
  }
  root.append(el("h2", {}, "Health transitions seen"));
  root.append(table(["time", "pool", "backend", "change"], transitions, "transitions"));
  return root;
}

function renderGw7(status, metrics, usage, now) {
  document.getElementById("title").textContent = "gw7 " + status.listen;
  const root = el("div");
  const requests = total(metrics, "gw7_requests_total");
  const reqRate = rate("requests", requests, now);
  const errRate = rate("5xx", total(metrics, "gw7_requests_total", { class: "5xx" }), now);
  root.append(el("div", { class: "cards" },
    card("stat-active", "connections", status.connections),
    card("stat-requests", "requests", requests),
    card("stat-rps", "requests/s", fmt(reqRate, 1)),
    card("stat-5xx", "5xx/s", fmt(errRate, 1)),
    card("stat-generation", "config generation", status.generation),
    card("stat-draining", "draining", status.draining ? "yes" : "no")));
  const usageByRoute = new Map();
  if (usage) for (const r of usage.routes) usageByRoute.set(r.name, r["1m"]);
  root.append(el("h2", {}, "Routes"));
  root.append(table(["route", "path", "upstream", "req/s", "4xx/s", "5xx/s", "p50 ms", "p95 ms", "p99 ms", "rate limited (1m)", "refused (1m)"],
    status.routes.map(r => {
      const u = usageByRoute.get(r.name);
      const byClass = c => rate("route " + r.name + " " + c, total(metrics, "gw7_requests_total", { route: r.name, class: c }), now);
      const all = rate("route " + r.name, total(metrics, "gw7_requests_total", { route: r.name }), now);
      return [r.name, r.path, r.upstream, fmt(all, 1), fmt(byClass("4xx"), 1), fmt(byClass("5xx"), 1),
              u ? fmt(u.latency_ms.p50, 2) : "-", u ? fmt(u.latency_ms.p95, 2) : "-", u ? fmt(u.latency_ms.p99, 2) : "-",
              u ? u.rate_limited : "-", u ? u.refused : "-"];
    }), "routes"));
  const limits = metrics.filter(m => m.name === "gw7_rate_limit_requests_total" || m.name === "gw7_auth_requests_total" ||
                                     m.name === "gw7_concurrency_requests_total");
  root.append(el("h2", {}, "Auth and limit outcomes"));
  root.append(table(["metric", "policy", "outcome", "total", "per s"],
    limits.map(m => {
      const policy = m.labels.policy || m.labels.provider || m.labels.limit || "";
      return [m.name.replace(/^gw7_|_total$/g, ""), policy, m.labels.outcome || "", m.value,
              fmt(rate(m.name + JSON.stringify(m.labels), m.value, now), 1)];
    }), "limits"));
  root.append(el("h2", {}, "Upstream servers"));
  const servers = [];
  for (const up of status.upstreams) {
    for (const s of up.servers) {
      servers.push([up.name, s.address, el("span", { class: s.available ? "up" : "down" }, s.available ? "available" : "unavailable"),
                    s.check, s.active, s.requests, s.failures, s.idle_connections]);
    }
  }
  root.append(table(["upstream", "server", "state", "check", "active", "requests", "failures", "idle conns"], servers, "servers"));
  root.append(el("h2", {}, "Top consumers (5 minutes)"));
  root.append(table(["consumer", "requests", "req/s (1m)", "4xx", "5xx", "p95 ms", "rate limited"],
    (usage ? usage.consumers.slice(0, 20) : []).map(c => [c.name, c["5m"].requests, fmt(c["1m"].rps, 2),
      c["5m"].errors_4xx, c["5m"].errors_5xx, fmt(c["5m"].latency_ms.p95, 2), c["5m"].rate_limited]), "consumers"));
  return root;
}

async function tick() {
  try {
    const [status, metricsText] = await Promise.all([get("/status", true), get("/metrics", false)]);
    const metrics = parseMetrics(metricsText);
    const now = performance.now();
    let view;
    if (Array.isArray(status.listeners) && Array.isArray(status.pools)) {
      view = renderLb4(status, metrics, now);
    } else {
      const usage = await get("/usage", true);
      document.getElementById("usage-note").textContent = ", /usage";
      view = renderGw7(status, metrics, usage, now);
    }
    prev.t = now;
    document.getElementById("root").replaceChildren(view);
    document.getElementById("updated").textContent = new Date().toLocaleTimeString();
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "update failed: " + e.message;
  }
}
tick();
setInterval(tick, 1000);
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view DashboardHtml() { return kPage; }

}  // namespace edge::admin
