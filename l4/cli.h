#pragma once
// The lb4 command line: flags, config loading, signals, exit codes (DESIGN.md: 0 clean exit,
// 1 runtime failure, 2 usage or config error). main.cc only calls Lb4Main.

namespace edge::l4 {

int Lb4Main(int argc, char** argv);

}  // namespace edge::l4
