#pragma once
// lb4's admin pages: /healthz, /metrics (Prometheus text) and /status (JSON), rendered from the
// running server's counters. Served by common/admin's AdminServer on its own thread.

#include <string>

#include "common/admin/admin_server.h"
#include "l4/server.h"

namespace edge::l4 {

std::string RenderMetrics(const Lb4Server& server);
std::string RenderStatus(const Lb4Server& server);
admin::AdminHandler MakeAdminHandler(const Lb4Server* server);

}  // namespace edge::l4
