#include "common/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge {
namespace {

struct Parsed {
  int code;
  std::string config, which;
  bool check = false;
};

Parsed ParseArgs(std::vector<std::string> args) {
  Parsed p{};
  std::vector<char*> argv;
  static char program[] = "prog";
  argv.push_back(program);
  for (auto& a : args) argv.push_back(a.data());
  CommandLine cl("prog", "usage: prog\n");
  cl.Value("-c", "--config", &p.config, "a file");
  cl.Switch("-t", "--check", &p.check);
  cl.Value("", "--which", &p.which, "an IP address");
  p.code = cl.Parse(static_cast<int>(argv.size()), argv.data());
  return p;
}

TEST(CommandLine, ValuesSwitchesAndInlineValues) {
  Parsed p = ParseArgs({"-c", "a.toml", "--check", "--which=10.0.0.1"});
  EXPECT_EQ(p.code, -1);
  EXPECT_EQ(p.config, "a.toml");
  EXPECT_TRUE(p.check);
  EXPECT_EQ(p.which, "10.0.0.1");
  p = ParseArgs({"--config=b.toml", "-t", "--log-level", "warn"});
  EXPECT_EQ(p.code, -1);
  EXPECT_EQ(p.config, "b.toml");
  EXPECT_TRUE(p.check);
}

TEST(CommandLine, HelpExitsZeroAndMistakesExitTwo) {
  EXPECT_EQ(ParseArgs({"--help"}).code, 0);
  EXPECT_EQ(ParseArgs({"-h", "--bogus"}).code, 0);  // help wins when it comes first
  EXPECT_EQ(ParseArgs({"--bogus"}).code, 2);
  EXPECT_EQ(ParseArgs({"-c"}).code, 2);                   // a value is missing
  EXPECT_EQ(ParseArgs({"--check=yes"}).code, 2);          // a switch takes no value
  EXPECT_EQ(ParseArgs({"--log-level", "loud"}).code, 2);  // not a level
  EXPECT_EQ(ParseArgs({"--log-level=debug"}).code, -1);
}

}  // namespace
}  // namespace edge
