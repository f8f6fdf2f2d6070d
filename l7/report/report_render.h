#pragma once
// `gw7 report` output: the aggregated ReportData as JSON (--json) or as one self-contained HTML
// page (inline CSS and SVG, no script, nothing fetched), each chart with a table of the same
// numbers beside it.

#include <string>

#include "l7/report/report_builder.h"

namespace edge::l7::report {

// Consumers and routes sorted by requests (most first), each with its totals, latency quantiles
// and requests per bucket; per bucket the status mix and latency quantiles.
std::string RenderReportJson(const ReportData& data);
std::string RenderReportHtml(const ReportData& data, const std::string& sources);

}  // namespace edge::l7::report
