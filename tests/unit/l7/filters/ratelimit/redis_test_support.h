#pragma once
// Test support for the Redis store: a real redis-server on a free loopback port (started and
// stopped by the test), an event loop on its own thread, and a collector for asynchronous results
// with bounded waits.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/uring/event_loop.h"

namespace edge::l7::testing {

inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A blocking connection for test-side commands (inline protocol).
inline int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

class RedisServer {
 public:
  RedisServer() : port_(FreeLoopbackPort()) {
    // Its own directory: a replica (REPLICAOF) writes the RDB it receives there, not in the cwd.
    char dir[] = "/tmp/edge-redis-XXXXXX";
    if (mkdtemp(dir) != nullptr) dir_ = dir;
  }
  ~RedisServer() {
    Stop();
    for (int fd : side_fds_) close(fd);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts redis-server and waits (bounded) until it answers PING.
  bool Start() {
    const std::string port = std::to_string(port_);
    pid_ = fork();
    if (pid_ == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--loglevel",
             "warning", "--dir", dir_.empty() ? "/tmp" : dir_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      if (Send("PING") == "+PONG") return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // readiness poll, bounded
    }
    return false;
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Freezes the server (SIGSTOP, returning once it has stopped) and lets it go on (SIGCONT): a
  // Redis that is slow for exactly as long as the test says, unlike DEBUG SLEEP, whose start
  // cannot be ordered against a command sent on another connection.
  void Pause() {
    kill(pid_, SIGSTOP);
    int status = 0;
    waitpid(pid_, &status, WUNTRACED);
  }
  void Resume() {
    kill(pid_, SIGCONT);
    int status = 0;
    waitpid(pid_, &status, WCONTINUED);
  }

  // One inline command on a fresh connection; the first reply line ("" on failure).
  std::string Send(const std::string& command, bool wait_reply = true) {
    int fd = ConnectLoopback(port_);
    if (fd < 0) return "";
    std::string line = command + "\r\n";
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      close(fd);
      return "";
    }
    std::string reply;
    if (wait_reply) {
      char c;
      while (read(fd, &c, 1) == 1 && c != '\n') {
        if (c != '\r') reply.push_back(c);
      }
      close(fd);
    } else {
      side_fds_.push_back(fd);  // closed later, so the command is not cut short
    }
    return reply;
  }

 private:
  int port_;
  std::string dir_;
  pid_t pid_ = -1;
  std::vector<int> side_fds_;
};

// An EventLoop running on its own thread; Call runs code on it and waits.
class LoopThread {
 public:
  LoopThread() {
    std::promise<void> ready;
    thread_ = std::thread([this, &ready] {
      auto loop = uring::EventLoop::Create(uring::RingOptions{256, 1024});
      loop_ = loop->get();
      ready.set_value();
      (void)(*loop)->Run();
    });
    ready.get_future().wait();
  }
  ~LoopThread() {
    loop_->Stop();
    thread_.join();
  }
  uring::EventLoop* loop() { return loop_; }

  // Runs `fn` on the loop thread and returns when it has run (bounded: 10 s).
  void Call(std::function<void()> fn) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    loop_->Post([fn = std::move(fn), done] {
      fn();
      done->set_value();
    });
    future.wait_for(std::chrono::seconds(10));
  }

  // Polls `condition` on the loop thread until true or `timeout` passes.
  bool WaitUntil(std::function<bool()> condition, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool ok = false;
      Call([&] { ok = condition(); });
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

 private:
  uring::EventLoop* loop_ = nullptr;
  std::thread thread_;
};

// Collects results delivered on another thread.
template <typename T>
class Collector {
 public:
  void Add(T value) {
    std::lock_guard<std::mutex> lock(mu_);
    values_.push_back(std::move(value));
    cv_.notify_all();
  }
  // Waits (bounded) until at least n results arrived; returns them.
  std::vector<T> WaitFor(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return values_.size() >= n; });
    return values_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return values_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> values_;
};

}  // namespace edge::l7::testing
