#include "common/log/line_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edge::log {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/line_sink_test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LineSinkTest, WritesLinesInOrderWithNewlines) {
  TempDir dir;
  auto sink = LineSink::Open(dir.File("a.log"));
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_TRUE((*sink)->Submit("one"));
  EXPECT_TRUE((*sink)->Submit("two"));
  (*sink)->Flush();
  EXPECT_EQ(ReadFile(dir.File("a.log")), "one\ntwo\n");
  EXPECT_EQ((*sink)->counters().written, 2u);
  EXPECT_EQ((*sink)->counters().dropped, 0u);
}

TEST(LineSinkTest, AppendsToAnExistingFile) {
  TempDir dir;
  { std::ofstream(dir.File("a.log")) << "old\n"; }
  {
    auto sink = LineSink::Open(dir.File("a.log"));
    ASSERT_TRUE(sink.ok());
    (*sink)->Submit("new");
  }  // destruction writes what is queued
  EXPECT_EQ(ReadFile(dir.File("a.log")), "old\nnew\n");
}

TEST(LineSinkTest, OffAndEmptyAreNotTargets) {
  EXPECT_FALSE(LineSink::Open("off").ok());
  EXPECT_FALSE(LineSink::Open("").ok());
}

TEST(LineSinkTest, UnwritablePathIsAnErrorAtOpen) {
  auto sink = LineSink::Open("/nonexistent-dir/x/access.log");
  ASSERT_FALSE(sink.ok());
  EXPECT_THAT(std::string(sink.status().message()), testing::HasSubstr("/nonexistent-dir/x"));
}

// The writer is stuck in write(2) on a pipe nobody reads: Submit must go on returning at once,
// dropping and counting what does not fit, and every accepted line arrives later, in order.
TEST(LineSinkTest, FullQueueDropsAndCountsWithoutBlocking) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  constexpr size_t kBound = 16 * 1024;
  auto sink = LineSink::ForFd(fds[1], kBound);
  const std::string payload(1000, 'x');
  constexpr int kLines = 5000;  // 5 MB: far beyond the pipe (64 KiB) plus the bound
  int accepted = 0;
  std::vector<int> accepted_ids;
  for (int i = 0; i < kLines; ++i) {
    std::string line = std::to_string(i) + " " + payload;
    if (sink->Submit(line)) accepted_ids.push_back(i), ++accepted;
  }
  LineSinkCounters c = sink->counters();
  EXPECT_GT(c.dropped, 0u);
  EXPECT_EQ(c.dropped + static_cast<uint64_t>(accepted), static_cast<uint64_t>(kLines));

  std::string received;
  std::thread reader([&] {
    char buf[65536];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
  });
  sink->Flush();
  EXPECT_EQ(sink->counters().written, static_cast<uint64_t>(accepted));
  sink.reset();
  close(fds[1]);
  reader.join();
  close(fds[0]);
  std::istringstream lines(received);
  std::string line;
  size_t k = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(k, accepted_ids.size());
    EXPECT_EQ(line, std::to_string(accepted_ids[k]) + " " + payload);
    ++k;
  }
  EXPECT_EQ(k, accepted_ids.size());
}

// logrotate: rename the file, signal; later lines go to a new file under the old name.
TEST(LineSinkTest, ReopenAfterRenameWritesANewFile) {
  TempDir dir;
  auto sink = LineSink::Open(dir.File("access.log"));
  ASSERT_TRUE(sink.ok());
  (*sink)->Submit("before");
  (*sink)->Flush();
  std::filesystem::rename(dir.File("access.log"), dir.File("access.log.1"));
  (*sink)->Submit("between");  // queued before the reopen: may go to either file, never lost
  ReopenAllLineSinks();
  (*sink)->Submit("after");
  (*sink)->Flush();
  EXPECT_EQ((*sink)->counters().reopens, 1u);
  const std::string old_file = ReadFile(dir.File("access.log.1"));
  const std::string new_file = ReadFile(dir.File("access.log"));
  EXPECT_TRUE(old_file.starts_with("before\n"));
  EXPECT_THAT(new_file, testing::EndsWith("after\n"));
  // "between" lands in the old file when the writer happened to wake before the reopen.
  EXPECT_EQ(old_file + new_file, "before\nbetween\nafter\n");
  EXPECT_FALSE(old_file.find("after") != std::string::npos);
}

TEST(LineSinkTest, ReopenFailureKeepsTheOldFile) {
  TempDir dir;
  const std::string sub = dir.File("sub");
  std::filesystem::create_directory(sub);
  auto sink = LineSink::Open(sub + "/access.log");
  ASSERT_TRUE(sink.ok());
  std::filesystem::rename(sub, dir.File("moved"));  // the path's directory is gone
  (*sink)->Reopen();
  (*sink)->Submit("still here");
  (*sink)->Flush();
  EXPECT_EQ((*sink)->counters().reopens, 0u);
  EXPECT_EQ(ReadFile(dir.File("moved") + "/access.log"), "still here\n");
}

}  // namespace
}  // namespace edge::log
