#pragma once
// The live dashboard served at GET /dashboard by lb4's and gw7's admin endpoints: one HTML page
// with its script and styles inline (no CDN, nothing fetched but the admin JSON and metrics of
// the same origin), built into the binary. Every second it reads /status and /metrics (and
// /usage on gw7) and redraws: for lb4 listeners, pools, backends with state and connections,
// byte rates and the health transitions it has seen; for gw7 routes with requests per second,
// latency, errors, limit outcomes, upstream servers and top consumers. The page tells lb4 from
// gw7 by the shape of /status.

#include <string_view>

namespace edge::admin {

// The page (text/html; charset=utf-8).
std::string_view DashboardHtml();

}  // namespace edge::admin
