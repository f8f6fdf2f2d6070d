#pragma once
// LineSink: lines (access logs, connection logs) handed from event-loop threads to a writer
// thread, so that no data-path thread ever waits on a disk or a pipe.
//
// Submit() appends the line to an in-memory buffer under a mutex held for the append only (no
// I/O, no allocation beyond the buffer's growth up to its bound). When the buffer already holds
// max_queued_bytes, the line is dropped and counted: a slow or full disk costs log lines, never
// request latency. The writer thread, once a line waits, lets kFlushInterval pass (less when the
// buffer is a quarter full, or on Flush/Reopen/destruction), swaps the buffer out and write(2)s
// it whole, so a busy process pays no wake-up per line; an idle writer sleeps until the first
// line of the next burst wakes it.
//
// Reopen() (SIGUSR1 through ReopenAllLineSinks, for logrotate's "rename, then signal") makes the
// writer open the path again before its next write; lines already handed over go to the old file
// until then, none is lost. A reopen that fails keeps the old file and is logged.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"

namespace edge::log {

struct LineSinkCounters {
  uint64_t written = 0;       // lines written
  uint64_t dropped = 0;       // lines refused because the buffer was full
  uint64_t write_errors = 0;  // lines lost to a failed write(2)
  uint64_t reopens = 0;       // successful reopens
};

class LineSink {
 public:
  static constexpr size_t kDefaultMaxQueuedBytes = 8u << 20;
  static constexpr int kFlushIntervalMs = 20;

  // `target`: a file path (created 0640 when absent, appended to), or "stdout". "off" is not a
  // target: callers keep no sink then. The file is opened here, so an unwritable path is an error
  // at start, not a silent loss later.
  static absl::StatusOr<std::unique_ptr<LineSink>> Open(
      const std::string& target, size_t max_queued_bytes = kDefaultMaxQueuedBytes);
  // Writes to `fd` (not closed by the sink, never reopened): stdout, or a pipe in tests.
  static std::unique_ptr<LineSink> ForFd(int fd, size_t max_queued_bytes = kDefaultMaxQueuedBytes);

  LineSink(const LineSink&) = delete;
  LineSink& operator=(const LineSink&) = delete;
  // Writes what is queued, then stops the writer thread.
  ~LineSink();

  // Any thread; never blocks on I/O. Queues `line` followed by '\n' (the line must not contain
  // one: a caller formats JSON, which escapes it). False: dropped (buffer full), counted.
  bool Submit(std::string_view line);
  // Any thread: the writer opens the path again before its next write (no effect on ForFd).
  void Reopen();
  // Blocks until every line submitted before the call has been written (or failed).
  void Flush();

  LineSinkCounters counters() const;
  const std::string& target() const { return target_; }

 private:
  LineSink(std::string target, int fd, bool owns_fd, size_t max_queued_bytes);
  void Run();
  void WriteAll(const std::string& bytes, uint64_t lines);
  void DoReopen();

  const std::string target_;
  const bool owns_fd_;
  const size_t max_queued_bytes_;
  int fd_;  // writer thread only (after construction)

  std::mutex mu_;
  std::condition_variable wake_;     // the writer: work, reopen, flush or stop
  std::condition_variable flushed_;  // Flush() callers
  std::string queued_;               // guarded by mu_
  uint64_t queued_lines_ = 0;        // guarded by mu_
  uint64_t submitted_ = 0;           // guarded by mu_: lines accepted so far
  uint64_t done_ = 0;                // guarded by mu_: lines written or failed so far
  bool flush_requested_ = false;     // guarded by mu_
  bool reopen_requested_ = false;    // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  bool writer_idle_ = false;         // guarded by mu_: asleep on an empty queue, Submit wakes it

  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> reopens_{0};
  bool error_logged_ = false;  // writer thread: one log line per run of failures

  std::thread writer_;  // last: started when everything above exists
};

// Reopens every LineSink of the process (the SIGUSR1 handler's job, called from the thread that
// waits for signals).
void ReopenAllLineSinks();

}  // namespace edge::log
