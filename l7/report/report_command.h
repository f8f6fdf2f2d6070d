#pragma once
// `gw7 report [--from T] [--to T] [--json] [-o FILE] LOG...`: reads gw7 access logs (several
// gw7s' logs merge) and writes a usage report: one self-contained HTML page, or JSON.

namespace edge::l7::report {

// argv[0] is "report". Exit codes: 0 written, 1 a file could not be read or written, 2 usage.
int ReportMain(int argc, char** argv);

}  // namespace edge::l7::report
