#pragma once
// A scripted Redis Sentinel for the state machine's tests: it answers SENTINEL
// get-master-addr-by-name with whatever address the test set (or nil), takes SUBSCRIBE and
// publishes +switch-master messages when told to, and counts the questions. It serves on its own
// thread over blocking loopback sockets, polled with a bounded timeout.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace edge::l7::testing {

class FakeSentinel {
 public:
  explicit FakeSentinel(std::string master) : master_(std::move(master)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(listen_fd_, 16);
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeSentinel() {
    stop_ = true;
    thread_.join();
    for (Conn& c : conns_) close(c.fd);
    close(listen_fd_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The primary it names; nullopt: it answers nil (does not know the master).
  void SetMaster(std::optional<std::string> ip_port) {
    std::lock_guard<std::mutex> lock(mu_);
    named_ = std::move(ip_port);
  }
  // Sends "+switch-master MASTER OLDIP OLDPORT NEWIP NEWPORT" to every subscriber.
  void PublishSwitch(const std::string& old_ip_port, const std::string& new_ip_port) {
    std::string text = master_ + " " + Spaced(old_ip_port) + " " + Spaced(new_ip_port);
    std::string message = "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$" +
                          std::to_string(text.size()) + "\r\n" + text + "\r\n";
    std::lock_guard<std::mutex> lock(mu_);
    for (Conn& c : conns_) {
      if (c.subscribed) (void)!write(c.fd, message.data(), message.size());
    }
  }
  int questions() const { return questions_.load(); }
  int subscribers() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (Conn& c : conns_) n += c.subscribed ? 1 : 0;
    return n;
  }

 private:
  struct Conn {
    int fd;
    std::string in;
    bool subscribed = false;
  };

  static std::string Spaced(const std::string& ip_port) {
    std::string s = ip_port;
    s[s.rfind(':')] = ' ';
    return s;
  }
  static std::string Bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
  }

  // One complete RESP array of bulk strings from `in`, consumed; nullopt when incomplete.
  static std::optional<std::vector<std::string>> TakeCommand(std::string& in) {
    size_t pos = 0;
    auto line = [&](std::string* out) {
      size_t end = in.find("\r\n", pos);
      if (end == std::string::npos) return false;
      *out = in.substr(pos, end - pos);
      pos = end + 2;
      return true;
    };
    std::string head;
    if (!line(&head) || head.empty() || head[0] != '*') return std::nullopt;
    const int n = std::stoi(head.substr(1));
    std::vector<std::string> args;
    for (int i = 0; i < n; ++i) {
      std::string len;
      if (!line(&len) || len.empty() || len[0] != '$') return std::nullopt;
      const size_t size = std::stoul(len.substr(1));
      if (in.size() < pos + size + 2) return std::nullopt;
      args.push_back(in.substr(pos, size));
      pos += size + 2;
    }
    in.erase(0, pos);
    return args;
  }

  std::string Answer(Conn& c, const std::vector<std::string>& args) {
    if (args.size() == 3 && args[0] == "SENTINEL" && args[1] == "get-master-addr-by-name") {
      ++questions_;
      std::optional<std::string> named = named_;
      if (args[2] != master_ || !named) return "*-1\r\n";
      const size_t colon = named->rfind(':');
      return "*2\r\n" + Bulk(named->substr(0, colon)) + Bulk(named->substr(colon + 1));
    }
    if (args.size() == 2 && args[0] == "SUBSCRIBE") {
      c.subscribed = true;
      return "*3\r\n" + Bulk("subscribe") + Bulk(args[1]) + ":1\r\n";
    }
    return "-ERR unknown command\r\n";
  }

  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (Conn& c : conns_) fds.push_back({c.fd, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (fds[0].revents & POLLIN) {
        int fd = accept(listen_fd_, nullptr, nullptr);
        if (fd >= 0) conns_.push_back(Conn{fd});
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto it = std::find_if(conns_.begin(), conns_.end(),
                               [&](const Conn& c) { return c.fd == fds[i].fd; });
        if (it == conns_.end()) continue;
        char buf[4096];
        ssize_t n = read(it->fd, buf, sizeof(buf));
        if (n <= 0) {
          close(it->fd);
          conns_.erase(it);
          continue;
        }
        it->in.append(buf, static_cast<size_t>(n));
        while (auto args = TakeCommand(it->in)) {
          std::string reply = Answer(*it, *args);
          (void)!write(it->fd, reply.data(), reply.size());
        }
      }
    }
  }

  std::string master_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> questions_{0};
  std::mutex mu_;
  std::optional<std::string> named_;
  std::vector<Conn> conns_;
  std::thread thread_;
};

}  // namespace edge::l7::testing
