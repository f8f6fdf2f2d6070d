#include "common/config/file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "common/config/toml.h"

namespace edge::config {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/edge_config_" +
         std::to_string(::getpid()) + "_" + name;
}

TEST(ReadConfigFile, ReadsAWholeFile) {
  const std::string path = TempPath("ok.toml");
  {
    std::ofstream out(path, std::ios::binary);
    out << "a = 1\n" << std::string(100000, '#') << "\n";
  }
  auto text = ReadConfigFile(path);
  std::remove(path.c_str());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->size(), 6u + 100000 + 1);
}

TEST(ReadConfigFile, NamesTheFileAndTheReason) {
  auto missing = ReadConfigFile("/nonexistent/edge.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(missing.status().message()),
            "cannot read /nonexistent/edge.toml: No such file or directory");

  auto directory = ReadConfigFile("/");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(std::string(directory.status().message()), "cannot read /: Is a directory");

  auto empty = ReadConfigFile("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(std::string(empty.status().message()), "cannot read \"\": empty path");
}

TEST(ReadConfigFile, RefusesEndlessInput) {
  auto zero = ReadConfigFile("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(std::string(zero.status().message()),
            "cannot read /dev/zero: larger than 4194304 bytes");
}

}  // namespace
}  // namespace edge::config
