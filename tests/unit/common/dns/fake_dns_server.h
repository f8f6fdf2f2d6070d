#pragma once
// FakeDnsServer: a DNS server on a loopback UDP socket of its own (port 0), answered by a thread
// from tables the test sets: A and SRV records with one TTL, NXDOMAIN for unknown names, or
// silence. For resolver and discovery tests that need no external network and no fixed port.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/dns/dns_config.h"

namespace edge::dns::testing {

struct SrvData {
  uint16_t priority, weight, port;
  std::string target;
};

inline std::vector<uint8_t> EncodeName(const std::string& name) {
  std::vector<uint8_t> out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<uint8_t>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

// Answers A and SRV queries from its tables (TTL `ttl`), NOERROR/no data for other types of
// known names, NXDOMAIN otherwise; `silent` drops every query.
class FakeDnsServer {
 public:
  FakeDnsServer() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{0, 50'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~FakeDnsServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  void Start() {
    thread_ = std::thread([this] { Serve(); });
  }

  DnsConfig Config() const {
    DnsConfig c;
    c.resolvers.push_back(*net::SocketAddress::ParseIp("127.0.0.1", port_));
    c.timeout = absl::Milliseconds(100);
    c.attempts = 1;
    return c;
  }

  // The tables; the serving thread reads them under mu, so a test may change them while it runs.
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> a;  // name -> IPv4 addresses
  std::map<std::string, std::vector<SrvData>> srv;
  uint32_t ttl = 30;
  bool silent = false;
  std::atomic<int> queries{0};

 private:
  void Serve() {
    uint8_t buf[512];
    while (!stop_) {
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 12) continue;
      ++queries;
      std::lock_guard<std::mutex> lock(mu);
      if (silent) continue;
      std::vector<uint8_t> q(buf, buf + n);
      // Question name.
      size_t at = 12;
      std::string name;
      while (at < q.size() && q[at] != 0) {
        if (!name.empty()) name += '.';
        name.append(reinterpret_cast<char*>(&q[at + 1]), q[at]);
        at += q[at] + 1;
      }
      at += 1;
      if (at + 4 > q.size()) continue;
      const uint16_t type = static_cast<uint16_t>(q[at] << 8 | q[at + 1]);
      at += 4;
      std::vector<uint8_t> r(q.begin(), q.begin() + static_cast<long>(at));
      r[2] = 0x81;
      r[3] = 0x80;
      r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
      const bool known = a.contains(name) || srv.contains(name);
      if (!known) r[3] = 0x83;  // NXDOMAIN
      uint16_t count = 0;
      auto record = [&](uint16_t rtype, const std::vector<uint8_t>& rdata) {
        for (uint8_t b : {0xC0, 12}) r.push_back(b);
        r.push_back(static_cast<uint8_t>(rtype >> 8));
        r.push_back(static_cast<uint8_t>(rtype));
        for (uint8_t b : {0, 1}) r.push_back(b);
        for (int s : {24, 16, 8, 0}) r.push_back(static_cast<uint8_t>(ttl >> s));
        r.push_back(static_cast<uint8_t>(rdata.size() >> 8));
        r.push_back(static_cast<uint8_t>(rdata.size()));
        r.insert(r.end(), rdata.begin(), rdata.end());
        ++count;
      };
      if (type == 1 && a.contains(name)) {
        for (const std::string& ip : a[name]) {
          in_addr addr{};
          inet_pton(AF_INET, ip.c_str(), &addr);
          auto* p = reinterpret_cast<uint8_t*>(&addr);
          record(1, std::vector<uint8_t>(p, p + 4));
        }
      }
      if (type == 33 && srv.contains(name)) {
        for (const SrvData& s : srv[name]) {
          std::vector<uint8_t> rdata;
          for (uint16_t v : {s.priority, s.weight, s.port}) {
            rdata.push_back(static_cast<uint8_t>(v >> 8));
            rdata.push_back(static_cast<uint8_t>(v));
          }
          auto target = EncodeName(s.target);
          rdata.insert(rdata.end(), target.begin(), target.end());
          record(33, rdata);
        }
      }
      r[6] = static_cast<uint8_t>(count >> 8);
      r[7] = static_cast<uint8_t>(count);
      sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace edge::dns::testing
