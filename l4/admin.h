#pragma once
// lb4's admin pages: /healthz, /metrics (Prometheus text) and /status (JSON), rendered from the
// running server's counters, and runtime control: POST /backends/{pool}/{server}/drain, /enable,
// /weight?value=N (common/admin/runtime_control.h; Lb4Server::Control). Served by common/admin's
// AdminServer on its own thread.

#include <string>

#include "common/admin/admin_server.h"
#include "l4/server.h"

namespace edge::l4 {

std::string RenderMetrics(const Lb4Server& server);
std::string RenderStatus(const Lb4Server& server);
admin::AdminRequestHandler MakeAdminHandler(Lb4Server* server);

}  // namespace edge::l4
