#include "l7/report/report_render.h"

#include <algorithm>
#include <ctime>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log/json_line.h"

namespace edge::l7::report {
namespace {

constexpr size_t kTopSeries = 5;  // lines per over-time chart; the rest are summed as "others"
constexpr size_t kTopRows = 20;   // rows of the top-N tables
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                   "#9467bd", "#8c564b", "#7f7f7f"};

using Named = std::pair<const std::string*, const NameTotals*>;

std::vector<Named> ByRequests(const std::map<std::string, NameTotals, std::less<>>& map) {
  std::vector<Named> v;
  for (const auto& [name, totals] : map) v.emplace_back(&name, &totals);
  std::sort(v.begin(), v.end(), [](const Named& a, const Named& b) {
    return a.second->requests != b.second->requests ? a.second->requests > b.second->requests
                                                    : *a.first < *b.first;
  });
  return v;
}

std::string Time(int64_t us, bool with_date = true) {
  const time_t s = static_cast<time_t>(us / 1'000'000);
  struct tm tm;
  gmtime_r(&s, &tm);
  return with_date ? absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
                   : absl::StrFormat("%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string Esc(std::string_view s) {  // JSON string contents
  std::string out;
  log::AppendJsonEscaped(&out, s);
  return out;
}

std::string Html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

double Ms(const LatencySketch& s, double q) { return s.Quantile(q) / 1000.0; }

void AppendQuantilesJson(std::string* out, const LatencySketch& s) {
  absl::StrAppendFormat(out, "{\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f}", Ms(s, 0.5), Ms(s, 0.95),
                        Ms(s, 0.99));
}

void AppendStatusJson(std::string* out, const std::array<uint64_t, 6>& st) {
  absl::StrAppendFormat(out, "{\"1xx\":%d,\"2xx\":%d,\"3xx\":%d,\"4xx\":%d,\"5xx\":%d,\"none\":%d}",
                        st[1], st[2], st[3], st[4], st[5], st[0]);
}

void AppendNamesJson(std::string* out, const std::map<std::string, NameTotals, std::less<>>& map) {
  bool first = true;
  for (const auto& [name, t] : ByRequests(map)) {
    absl::StrAppendFormat(out, "%s{\"name\":\"%s\",\"requests\":%d,\"status\":", first ? "" : ",",
                          Esc(*name), t->requests);
    AppendStatusJson(out, t->status);
    absl::StrAppendFormat(out,
                          ",\"rate_limited\":%d,\"rate_limited_share\":%.4f,\"refused\":%d,"
                          "\"bytes_in\":%d,\"bytes_out\":%d,\"latency_ms\":",
                          t->rate_limited,
                          t->requests ? static_cast<double>(t->rate_limited) / t->requests : 0.0,
                          t->refused, t->bytes_in, t->bytes_out);
    AppendQuantilesJson(out, t->latency);
    *out += ",\"per_bucket\":[";
    for (size_t i = 0; i < t->per_bucket.size(); ++i) {
      absl::StrAppendFormat(out, "%s%d", i ? "," : "", t->per_bucket[i]);
    }
    *out += "]}";
    first = false;
  }
}

// ---- HTML ----

struct Series {
  std::string name;
  std::vector<double> values;
};

// A line chart, 640x260, y from 0 to the largest value, x labels at the ends.
std::string LineChart(const ReportData& d, const std::vector<Series>& series,
                      std::string_view unit) {
  constexpr double kW = 640, kH = 260, kLeft = 60, kRight = 10, kTop = 10, kBottom = 40;
  double max = 0;
  for (const Series& s : series) {
    for (double v : s.values) max = std::max(max, v);
  }
  if (max <= 0) max = 1;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  const size_t n = d.buckets;
  auto x = [&](size_t i) {
    return kLeft + (n > 1 ? pw * static_cast<double>(i) / (n - 1) : pw / 2);
  };
  auto y = [&](double v) { return kTop + ph - ph * v / max; };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
      "role=\"img\"><rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"#fff\" "
      "stroke=\"#ccc\"/>",
      kW, kH + 20.0 * static_cast<double>((series.size() + 3) / 4), kW,
      kH + 20.0 * static_cast<double>((series.size() + 3) / 4), kLeft, kTop, pw, ph);
  for (int k = 0; k <= 4; ++k) {
    const double v = max * k / 4;
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%g\" x2=\"%g\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
        "<text x=\"%g\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>",
        kLeft, kLeft + pw, y(v), y(v), kLeft - 4, y(v) + 4,
        absl::StrFormat("%.4g%s", v, std::string(unit)));
  }
  absl::StrAppendFormat(&svg,
                        "<text x=\"%g\" y=\"%g\" font-size=\"11\">%s</text>"
                        "<text x=\"%g\" y=\"%g\" font-size=\"11\" text-anchor=\"end\">%s</text>",
                        kLeft, kH - kBottom + 16, Time(d.from_us, false), kLeft + pw,
                        kH - kBottom + 16, Time(d.to_us, false));
  for (size_t s = 0; s < series.size(); ++s) {
    const char* color = kColors[s % std::size(kColors)];
    std::string points;
    for (size_t i = 0; i < series[s].values.size(); ++i) {
      absl::StrAppendFormat(&points, "%s%.1f,%.1f", i ? " " : "", x(i), y(series[s].values[i]));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                          "points=\"%s\"/>",
                          color, points);
    const double lx = 10 + 160.0 * static_cast<double>(s % 4);
    const double ly = kH + 20.0 * static_cast<double>(s / 4);
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%g\" y=\"%g\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                          "<text x=\"%g\" y=\"%g\" font-size=\"12\">%s</text>",
                          lx, ly - 10, color, lx + 16, ly, Html(series[s].name.substr(0, 20)));
  }
  svg += "</svg>";
  return svg;
}

// Horizontal bars, one per row.
std::string BarChart(const std::vector<std::pair<std::string, double>>& bars,
                     std::string_view unit) {
  constexpr double kW = 640, kRow = 22, kLabel = 170;
  double max = 0;
  for (const auto& b : bars) max = std::max(max, b.second);
  if (max <= 0) max = 1;
  const double h = kRow * static_cast<double>(std::max<size_t>(bars.size(), 1)) + 10;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
      "role=\"img\">",
      kW, h, kW, h);
  for (size_t i = 0; i < bars.size(); ++i) {
    const double y = 5 + kRow * static_cast<double>(i);
    const double w = (kW - kLabel - 90) * bars[i].second / max;
    absl::StrAppendFormat(&svg,
                          "<text x=\"%g\" y=\"%g\" font-size=\"12\" text-anchor=\"end\">%s</text>"
                          "<rect x=\"%g\" y=\"%g\" width=\"%.1f\" height=\"%g\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%g\" font-size=\"12\">%s</text>",
                          kLabel - 6, y + 14, Html(bars[i].first.substr(0, 24)), kLabel, y + 2, w,
                          kRow - 6, kColors[0], kLabel + w + 4, y + 14,
                          absl::StrFormat("%.4g%s", bars[i].second, std::string(unit)));
  }
  svg += "</svg>";
  return svg;
}

std::string Table(const std::vector<std::string>& headers,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<table><tr>";
  for (const auto& h : headers) t += "<th>" + Html(h) + "</th>";
  t += "</tr>";
  for (const auto& r : rows) {
    t += "<tr>";
    for (const auto& c : r) t += "<td>" + Html(c) + "</td>";
    t += "</tr>";
  }
  return t + "</table>";
}

void Section(std::string* out, std::string_view title, const std::string& chart,
             const std::string& table) {
  absl::StrAppendFormat(out,
                        "<section><h2>%s</h2><div class=\"row\"><div>%s</div><div "
                        "class=\"tbl\">%s</div></div></section>\n",
                        Html(title), chart, table);
}

// Top kTopSeries names over time, the rest summed as "others".
std::vector<Series> OverTime(const ReportData& d, const std::vector<Named>& ranked) {
  std::vector<Series> out;
  Series others{"others", std::vector<double>(d.buckets, 0)};
  for (size_t i = 0; i < ranked.size(); ++i) {
    const auto& per = ranked[i].second->per_bucket;
    if (i < kTopSeries) {
      out.push_back({*ranked[i].first, std::vector<double>(per.begin(), per.end())});
    } else {
      for (size_t b = 0; b < per.size(); ++b) others.values[b] += static_cast<double>(per[b]);
    }
  }
  if (ranked.size() > kTopSeries) out.push_back(std::move(others));
  return out;
}

std::vector<std::vector<std::string>> SeriesRows(const ReportData& d,
                                                 const std::vector<Series>& series, int decimals) {
  std::vector<std::vector<std::string>> rows;
  for (size_t b = 0; b < d.buckets; ++b) {
    std::vector<std::string> row{Time(d.from_us + static_cast<int64_t>(b) * d.bucket_us, false)};
    for (const Series& s : series) row.push_back(absl::StrFormat("%.*f", decimals, s.values[b]));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> Headers(const std::vector<Series>& series) {
  std::vector<std::string> h{"bucket start (UTC)"};
  for (const Series& s : series) h.push_back(s.name);
  return h;
}

}  // namespace

std::string RenderReportJson(const ReportData& d) {
  std::string out = absl::StrFormat(
      "{\"from\":\"%s\",\"to\":\"%s\",\"bucket_seconds\":%g,\"requests\":%d,\"malformed_lines\":%d,"
      "\"out_of_range\":%d,\"buckets\":[",
      Time(d.from_us), Time(d.to_us), static_cast<double>(d.bucket_us) / 1e6, d.rows, d.malformed,
      d.out_of_range);
  for (size_t b = 0; b < d.buckets; ++b) {
    uint64_t requests = 0;
    for (uint64_t c : d.status_per_bucket[b]) requests += c;
    absl::StrAppendFormat(&out, "%s{\"start\":\"%s\",\"requests\":%d,\"status\":", b ? "," : "",
                          Time(d.from_us + static_cast<int64_t>(b) * d.bucket_us), requests);
    AppendStatusJson(&out, d.status_per_bucket[b]);
    out += ",\"latency_ms\":";
    AppendQuantilesJson(&out, d.latency_per_bucket[b]);
    out += "}";
  }
  out += "],\"consumers\":[";
  AppendNamesJson(&out, d.consumers);
  out += "],\"routes\":[";
  AppendNamesJson(&out, d.routes);
  out += "]}\n";
  return out;
}

std::string RenderReportHtml(const ReportData& d, const std::string& sources) {
  std::string out =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gw7 usage report"
      "</title><style>body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
      "h2{font-size:1.1em;margin-top:1.6em}.row{display:flex;flex-wrap:wrap;gap:1.5em;"
      "align-items:flex-start}.tbl{max-height:420px;overflow:auto}table{border-collapse:collapse}"
      "th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right;font-variant-numeric:"
      "tabular-nums}th{background:#f3f3f3}td:first-child{text-align:left}</style></head><body>\n";
  absl::StrAppendFormat(&out,
                        "<h1>gw7 usage report</h1><p>%s to %s, %d requests in buckets of %gs "
                        "(%d malformed lines, %d outside the range) from %s</p>\n",
                        Time(d.from_us), Time(d.to_us), d.rows,
                        static_cast<double>(d.bucket_us) / 1e6, d.malformed, d.out_of_range,
                        Html(sources));
  const auto consumers = ByRequests(d.consumers);
  const auto routes = ByRequests(d.routes);

  auto per_consumer = OverTime(d, consumers);
  Section(&out, "Requests over time per consumer", LineChart(d, per_consumer, ""),
          Table(Headers(per_consumer), SeriesRows(d, per_consumer, 0)));
  auto per_route = OverTime(d, routes);
  Section(&out, "Requests over time per route", LineChart(d, per_route, ""),
          Table(Headers(per_route), SeriesRows(d, per_route, 0)));

  std::vector<Series> status;
  static const char* kClassNames[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (size_t c : {2u, 3u, 4u, 5u, 1u, 0u}) {
    Series s{kClassNames[c], std::vector<double>(d.buckets)};
    bool any = false;
    for (size_t b = 0; b < d.buckets; ++b) {
      s.values[b] = static_cast<double>(d.status_per_bucket[b][c]);
      any |= s.values[b] > 0;
    }
    if (any || c >= 2) status.push_back(std::move(s));
  }
  Section(&out, "Status mix over time", LineChart(d, status, ""),
          Table(Headers(status), SeriesRows(d, status, 0)));

  std::vector<Series> latency = {{"p50", {}}, {"p95", {}}, {"p99", {}}};
  for (size_t b = 0; b < d.buckets; ++b) {
    latency[0].values.push_back(Ms(d.latency_per_bucket[b], 0.5));
    latency[1].values.push_back(Ms(d.latency_per_bucket[b], 0.95));
    latency[2].values.push_back(Ms(d.latency_per_bucket[b], 0.99));
  }
  Section(&out, "Latency over time (ms)", LineChart(d, latency, "ms"),
          Table(Headers(latency), SeriesRows(d, latency, 2)));

  std::vector<std::pair<std::string, double>> bars;
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < consumers.size() && i < kTopRows; ++i) {
    const NameTotals& t = *consumers[i].second;
    bars.emplace_back(*consumers[i].first, static_cast<double>(t.requests));
    rows.push_back({*consumers[i].first, absl::StrCat(t.requests), absl::StrCat(t.status[4]),
                    absl::StrCat(t.status[5]), absl::StrFormat("%.2f", Ms(t.latency, 0.95)),
                    absl::StrCat(t.bytes_out)});
  }
  Section(&out, "Top consumers", BarChart(bars, ""),
          Table({"consumer", "requests", "4xx", "5xx", "p95 ms", "bytes out"}, rows));

  bars.clear();
  rows.clear();
  std::vector<Named> limited = consumers;
  std::stable_sort(limited.begin(), limited.end(), [](const Named& a, const Named& b) {
    return a.second->rate_limited * b.second->requests >
           b.second->rate_limited * a.second->requests;
  });
  for (size_t i = 0; i < limited.size() && i < kTopRows; ++i) {
    const NameTotals& t = *limited[i].second;
    const double share = t.requests ? 100.0 * static_cast<double>(t.rate_limited) / t.requests : 0;
    bars.emplace_back(*limited[i].first, share);
    rows.push_back({*limited[i].first, absl::StrFormat("%.1f%%", share),
                    absl::StrCat(t.rate_limited), absl::StrCat(t.requests)});
  }
  Section(&out, "Share rate-limited per consumer", BarChart(bars, "%"),
          Table({"consumer", "rate-limited", "limited requests", "requests"}, rows));

  bars.clear();
  rows.clear();
  std::vector<Named> slow = routes;
  std::stable_sort(slow.begin(), slow.end(), [](const Named& a, const Named& b) {
    return a.second->latency.Quantile(0.95) > b.second->latency.Quantile(0.95);
  });
  for (size_t i = 0; i < slow.size() && i < kTopRows; ++i) {
    const NameTotals& t = *slow[i].second;
    bars.emplace_back(*slow[i].first, Ms(t.latency, 0.95));
    rows.push_back({*slow[i].first, absl::StrFormat("%.2f", Ms(t.latency, 0.5)),
                    absl::StrFormat("%.2f", Ms(t.latency, 0.95)),
                    absl::StrFormat("%.2f", Ms(t.latency, 0.99)), absl::StrCat(t.requests)});
  }
  Section(&out, "Slowest routes (p95)", BarChart(bars, "ms"),
          Table({"route", "p50 ms", "p95 ms", "p99 ms", "requests"}, rows));
  out += "</body></html>\n";
  return out;
}

}  // namespace edge::l7::report
