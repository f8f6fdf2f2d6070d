#pragma once
// gw7's command line (DESIGN.md "CLI"): gw7 -c FILE [--listen ADDR] [--admin ADDR] [--check]
// [--log-level L]. Exit codes: 0 clean exit, 1 runtime failure, 2 usage or config error.

namespace edge::l7 {

int Gw7Main(int argc, char** argv);

}  // namespace edge::l7
