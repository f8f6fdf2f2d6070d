#pragma once
// The command-line conventions lb4 and gw7 share (DESIGN.md, CLI contract): `-h/--help` prints
// the usage to stdout and exits 0; an unknown argument or a flag without its value prints the
// error and the usage to stderr and exits 2; `--log-level debug|info|warn|error`.

#include <string>
#include <string_view>
#include <vector>

namespace edge {

class CommandLine {
 public:
  CommandLine(std::string_view program, std::string_view usage)
      : program_(program), usage_(usage) {}

  // A flag with a value: `--name VALUE` (and `--name=VALUE`); `short_name` may be empty.
  // `missing` completes "<flag> needs ..." when the value is absent.
  void Value(std::string_view short_name, std::string_view name, std::string* out,
             std::string_view missing);
  // A flag without a value.
  void Switch(std::string_view short_name, std::string_view name, bool* out);

  // Parses argv, then applies --log-level (always known to the parser). Returns -1 to go on,
  // or the exit code to leave with (0 after --help, 2 on a usage error).
  int Parse(int argc, char** argv);

  // Prints "<program>: message" and the usage to stderr; returns 2.
  int UsageError(std::string_view message) const;

 private:
  struct Flag {
    std::string short_name, name, missing;
    std::string* value = nullptr;  // null for a switch
    bool* set = nullptr;
  };
  std::string program_;
  std::string usage_;
  std::vector<Flag> flags_;
  std::string log_level_ = "info";
};

}  // namespace edge
