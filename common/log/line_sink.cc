#include "common/log/line_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::log {
namespace {

// Every live sink, for ReopenAllLineSinks (signals arrive on one thread, sinks live elsewhere).
std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::vector<LineSink*>& Registry() {
  static std::vector<LineSink*> sinks;
  return sinks;
}

int OpenForAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineSink>> LineSink::Open(const std::string& target,
                                                         size_t max_queued_bytes) {
  if (target == "stdout") return ForFd(STDOUT_FILENO, max_queued_bytes);
  if (target.empty() || target == "off") {
    return absl::InvalidArgumentError("a log target is a file path or \"stdout\"");
  }
  int fd = OpenForAppend(target);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrFormat("cannot open %s: %s", target, strerror(errno)));
  }
  return std::unique_ptr<LineSink>(new LineSink(target, fd, true, max_queued_bytes));
}

std::unique_ptr<LineSink> LineSink::ForFd(int fd, size_t max_queued_bytes) {
  return std::unique_ptr<LineSink>(new LineSink("", fd, false, max_queued_bytes));
}

LineSink::LineSink(std::string target, int fd, bool owns_fd, size_t max_queued_bytes)
    : target_(std::move(target)),
      owns_fd_(owns_fd),
      max_queued_bytes_(std::max<size_t>(max_queued_bytes, 1)),
      fd_(fd),
      writer_([this] { Run(); }) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry().push_back(this);
}

LineSink::~LineSink() {
  {
    std::lock_guard<std::mutex> lock(RegistryMutex());
    auto& sinks = Registry();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), this), sinks.end());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

bool LineSink::Submit(std::string_view line) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_.size() + line.size() + 1 > max_queued_bytes_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    // Once a quarter of the bound waits, the writer should not sleep out its interval.
    const size_t quarter = max_queued_bytes_ / 4;
    wake =
        (queued_.size() < quarter && queued_.size() + line.size() + 1 >= quarter) || writer_idle_;
    writer_idle_ = false;
    queued_.append(line);
    queued_.push_back('\n');
    ++queued_lines_;
    ++submitted_;
  }
  if (wake) wake_.notify_one();
  return true;
}

void LineSink::Reopen() {
  if (!owns_fd_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_requested_ = true;
  }
  wake_.notify_one();
}

void LineSink::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = submitted_;
  flush_requested_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return done_ >= target; });
}

LineSinkCounters LineSink::counters() const {
  return {written_.load(std::memory_order_relaxed), dropped_.load(std::memory_order_relaxed),
          write_errors_.load(std::memory_order_relaxed), reopens_.load(std::memory_order_relaxed)};
}

void LineSink::Run() {
  std::string batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto ready = [&] {
      return stopping_ || flush_requested_ || reopen_requested_ ||
             queued_.size() >= max_queued_bytes_ / 4;
    };
    if (queued_.empty()) {
      // Nothing to write: sleep until a line arrives (the first Submit wakes us) instead of
      // waking every interval on an idle process.
      writer_idle_ = true;
      wake_.wait(lock, [&] { return ready() || !queued_.empty(); });
      writer_idle_ = false;
    }
    // Lines are waiting: give more a chance to join this write.
    wake_.wait_for(lock, std::chrono::milliseconds(kFlushIntervalMs), ready);
    const bool reopen = reopen_requested_;
    reopen_requested_ = false;
    flush_requested_ = false;
    // Take everything queued; the producers append to an empty buffer meanwhile (the swap
    // hands the old batch's capacity back to them, so steady state allocates nothing).
    batch.clear();
    batch.swap(queued_);
    const uint64_t lines = queued_lines_;
    queued_lines_ = 0;
    const bool stop = stopping_;
    lock.unlock();
    if (reopen) DoReopen();
    if (!batch.empty()) WriteAll(batch, lines);
    lock.lock();
    done_ += lines;
    flushed_.notify_all();
    if (stop && queued_.empty()) return;
  }
}

void LineSink::WriteAll(const std::string& bytes, uint64_t lines) {
  size_t offset = 0;
  while (offset < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + offset, bytes.size() - offset);
    if (n > 0) {
      offset += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // ENOSPC, EIO, EBADF...: this batch's unwritten lines are lost; the next batch tries again.
    const int err = n < 0 ? errno : EIO;
    uint64_t lost = 0;
    for (size_t i = offset; i < bytes.size(); ++i) lost += bytes[i] == '\n';
    write_errors_.fetch_add(lost, std::memory_order_relaxed);
    written_.fetch_add(lines - lost, std::memory_order_relaxed);
    if (!error_logged_) {
      LOG_ERROR("log %s: write failed (%s); lines are dropped until writes succeed",
                target_.empty() ? std::string("fd") : target_, strerror(err));
      error_logged_ = true;
    }
    return;
  }
  written_.fetch_add(lines, std::memory_order_relaxed);
  if (error_logged_) {
    LOG_INFO("log %s: writes succeed again", target_.empty() ? std::string("fd") : target_);
    error_logged_ = false;
  }
}

void LineSink::DoReopen() {
  int fd = OpenForAppend(target_);
  if (fd < 0) {
    LOG_ERROR("log %s: reopen failed (%s); still writing to the previous file", target_,
              strerror(errno));
    return;
  }
  ::close(fd_);
  fd_ = fd;
  reopens_.fetch_add(1, std::memory_order_relaxed);
}

void ReopenAllLineSinks() {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  for (LineSink* sink : Registry()) sink->Reopen();
}

}  // namespace edge::log
