#pragma once
// lb4's admin pages: /healthz, /metrics (Prometheus text) and /status (JSON), rendered from the
// running server's counters, and runtime control: POST /backends/{pool}/{server}/drain, /enable,
// /weight?value=N (common/admin/runtime_control.h; Lb4Server::Control). Served by common/admin's
// AdminServer on its own thread.

#include <string>

#include "common/admin/admin_server.h"
#include "l4/announce/vip_announcer.h"
#include "l4/server.h"

namespace edge::l4 {

// `announce` (may be null: no [lb4.announce] support in the caller) adds lb4_announced and
// /status "announce".
std::string RenderMetrics(const Lb4Server& server, const AnnounceState* announce = nullptr);
std::string RenderStatus(const Lb4Server& server, const AnnounceState* announce = nullptr);
admin::AdminRequestHandler MakeAdminHandler(Lb4Server* server,
                                            const AnnounceState* announce = nullptr);

}  // namespace edge::l4
