#pragma once
// Files the soap tests' configs name (templates, secrets), written under the test's temp dir.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace edge::l7::testing {

inline std::string WriteTestFile(const std::string& name, const std::string& content) {
  const std::string path =
      ::testing::TempDir() + "/gw7_soap_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

}  // namespace edge::l7::testing
