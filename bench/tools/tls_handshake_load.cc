// tls_handshake_load: a load generator for new TLS handshakes per second, for bench/compare's
// tls-newconn-* scenarios. wrk (one thread) spends most of its core outside the handshake, so on
// one load core it could not make a proxy's core busy; this one does only what a handshake load
// needs, from one thread with non-blocking sockets and epoll.
//
// N connections are kept in flight. Each one: TCP connect, a full TLS handshake (no session is
// ever offered, so every handshake is a full one; the certificate is not verified, but the
// handshake signature is, as TLS requires), `GET PATH HTTP/1.1` with `Connection: close`, the
// response read to EOF, close; then the slot starts the next connection. After D seconds it
// prints one JSON line:
//   {"duration_s":..,"handshakes":..,"handshakes_per_s":..,"bytes":..,
//    "errors":{"connect":..,"handshake":..,"read":..,"status":..,"timeout":..},
//    "latency_us":{"p50":..,"p90":..,"p99":..,"max":..}}
// A handshake counts once its response was read to EOF with status 200; latency is from the
// connect to that EOF. Connections still open at the end are not counted.
//
// Usage: tls_handshake_load -a HOST:PORT [-c 32] [-d 10] [-p /small] [-s SNI] [-t TIMEOUT_S]

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000 + ts.tv_nsec / 1000;
}

struct Options {
  sockaddr_in address{};
  int connections = 32;
  double duration_s = 10;
  double timeout_s = 5;
  std::string path = "/small";
  std::string sni = "bench.test";
};

struct Counts {
  uint64_t handshakes = 0;
  uint64_t bytes = 0;
  uint64_t connect_errors = 0;
  uint64_t handshake_errors = 0;
  uint64_t read_errors = 0;
  uint64_t status_errors = 0;
  uint64_t timeouts = 0;
  std::vector<uint32_t> latencies_us;
};

enum class Phase { kConnecting, kHandshaking, kWriting, kReading };

struct Slot {
  int fd = -1;
  SSL* ssl = nullptr;
  Phase phase = Phase::kConnecting;
  int64_t started_us = 0;
  size_t written = 0;
  std::string head;  // the first bytes of the response, for the status line
  uint64_t received = 0;
  uint32_t events = 0;      // what epoll waits for now
  uint32_t generation = 0;  // which of the slot's connections an epoll event is about
};

class Load {
 public:
  Load(const Options& options, SSL_CTX* ctx) : o_(options), ctx_(ctx) {
    request_ = "GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.sni +
               "\r\nUser-Agent: tls_handshake_load\r\nConnection: close\r\n\r\n";
    slots_.resize(static_cast<size_t>(o_.connections));
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
  }

  int Run() {
    if (epfd_ < 0) return Fail("epoll_create1");
    start_us_ = NowUs();
    const int64_t end_us = start_us_ + static_cast<int64_t>(o_.duration_s * 1e6);
    for (size_t i = 0; i < slots_.size(); ++i) Open(i);
    std::vector<epoll_event> events(static_cast<size_t>(o_.connections));
    int64_t next_timeout_check = start_us_ + 100000;
    for (;;) {
      int64_t now = NowUs();
      if (now >= end_us) break;
      int wait_ms = static_cast<int>(std::min<int64_t>((end_us - now) / 1000 + 1, 100));
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), wait_ms);
      if (n < 0 && errno != EINTR) return Fail("epoll_wait");
      for (int k = 0; k < n; ++k) {
        const uint64_t data = events[static_cast<size_t>(k)].data.u64;
        const size_t i = static_cast<size_t>(data & 0xffffffff);
        // An event of a connection that ended earlier in this batch is stale.
        if (slots_[i].generation == data >> 32) Step(i);
      }
      now = NowUs();
      if (now >= next_timeout_check) {  // slots stuck past the timeout start over
        next_timeout_check = now + 100000;
        for (size_t i = 0; i < slots_.size(); ++i) {
          if (slots_[i].fd >= 0 && now - slots_[i].started_us > o_.timeout_s * 1e6) {
            ++c_.timeouts;
            Close(i);
            Open(i);
          }
        }
      }
    }
    const double elapsed = static_cast<double>(NowUs() - start_us_) / 1e6;
    for (size_t i = 0; i < slots_.size(); ++i) Close(i);
    Print(elapsed);
    return 0;
  }

 private:
  int Fail(const char* what) {
    std::fprintf(stderr, "tls_handshake_load: %s: %s\n", what, std::strerror(errno));
    return 1;
  }

  void Open(size_t i) {
    Slot& s = slots_[i];
    const uint32_t generation = s.generation + 1;
    s = Slot{};
    s.generation = generation;
    s.started_us = NowUs();
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0) {
      ++c_.connect_errors;
      return;
    }
    int one = 1;
    setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int r = connect(s.fd, reinterpret_cast<const sockaddr*>(&o_.address), sizeof(o_.address));
    if (r < 0 && errno != EINPROGRESS) {
      ++c_.connect_errors;
      close(s.fd);
      s.fd = -1;
      return;
    }
    s.phase = Phase::kConnecting;
    Watch(i, EPOLLOUT, EPOLL_CTL_ADD);
  }

  void Watch(size_t i, uint32_t want, int op = EPOLL_CTL_MOD) {
    Slot& s = slots_[i];
    if (op == EPOLL_CTL_MOD && s.events == want) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = uint64_t{s.generation} << 32 | i;
    epoll_ctl(epfd_, op, s.fd, &ev);
    s.events = want;
  }

  void Close(size_t i) {
    Slot& s = slots_[i];
    if (s.ssl != nullptr) SSL_free(s.ssl);
    s.ssl = nullptr;
    if (s.fd >= 0) close(s.fd);  // also leaves the epoll set
    s.fd = -1;
  }

  // Error in phase `counter`: the slot starts over.
  void Again(size_t i, uint64_t& counter) {
    ++counter;
    ERR_clear_error();
    Close(i);
    Open(i);
  }

  // Waits for what OpenSSL asked for.
  void WaitFor(size_t i, int ssl_result) {
    int err = SSL_get_error(slots_[i].ssl, ssl_result);
    Watch(i, err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN);
  }

  void Step(size_t i) {
    Slot& s = slots_[i];
    if (s.fd < 0) return;
    if (s.phase == Phase::kConnecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Again(i, c_.connect_errors);
      s.ssl = SSL_new(ctx_);
      if (s.ssl == nullptr) return Again(i, c_.handshake_errors);
      SSL_set_fd(s.ssl, s.fd);
      SSL_set_tlsext_host_name(s.ssl, o_.sni.c_str());
      SSL_set_connect_state(s.ssl);
      s.phase = Phase::kHandshaking;
    }
    if (s.phase == Phase::kHandshaking) {
      int r = SSL_do_handshake(s.ssl);
      if (r != 1) {
        int err = SSL_get_error(s.ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return WaitFor(i, r);
        return Again(i, c_.handshake_errors);
      }
      s.phase = Phase::kWriting;
    }
    if (s.phase == Phase::kWriting) {
      while (s.written < request_.size()) {
        int r = SSL_write(s.ssl, request_.data() + s.written,
                          static_cast<int>(request_.size() - s.written));
        if (r <= 0) {
          int err = SSL_get_error(s.ssl, r);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return WaitFor(i, r);
          return Again(i, c_.read_errors);
        }
        s.written += static_cast<size_t>(r);
      }
      s.phase = Phase::kReading;
    }
    char buf[16384];
    for (;;) {
      int r = SSL_read(s.ssl, buf, sizeof(buf));
      if (r > 0) {
        s.received += static_cast<uint64_t>(r);
        if (s.head.size() < 16) s.head.append(buf, std::min<size_t>(static_cast<size_t>(r), 16));
        continue;
      }
      int err = SSL_get_error(s.ssl, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return WaitFor(i, r);
      // close_notify or a bare FIN both end a Connection: close response.
      const bool eof = err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && r == 0);
      if (!eof || s.received == 0) return Again(i, c_.read_errors);
      if (s.head.compare(0, 7, "HTTP/1.") != 0 || s.head.compare(8, 4, " 200") != 0) {
        return Again(i, c_.status_errors);
      }
      ++c_.handshakes;
      c_.bytes += s.received;
      c_.latencies_us.push_back(static_cast<uint32_t>(NowUs() - s.started_us));
      ERR_clear_error();
      Close(i);
      Open(i);
      return;
    }
  }

  void Print(double elapsed) {
    std::vector<uint32_t>& l = c_.latencies_us;
    std::sort(l.begin(), l.end());
    auto pct = [&l](double p) -> uint32_t {
      if (l.empty()) return 0;
      size_t k = static_cast<size_t>(p / 100.0 * static_cast<double>(l.size() - 1) + 0.5);
      return l[std::min(k, l.size() - 1)];
    };
    std::printf(
        "{\"duration_s\":%.3f,\"handshakes\":%llu,\"handshakes_per_s\":%.1f,\"bytes\":%llu,"
        "\"errors\":{\"connect\":%llu,\"handshake\":%llu,\"read\":%llu,\"status\":%llu,"
        "\"timeout\":%llu},\"latency_us\":{\"p50\":%u,\"p90\":%u,\"p99\":%u,\"max\":%u}}\n",
        elapsed, static_cast<unsigned long long>(c_.handshakes),
        elapsed > 0 ? static_cast<double>(c_.handshakes) / elapsed : 0.0,
        static_cast<unsigned long long>(c_.bytes),
        static_cast<unsigned long long>(c_.connect_errors),
        static_cast<unsigned long long>(c_.handshake_errors),
        static_cast<unsigned long long>(c_.read_errors),
        static_cast<unsigned long long>(c_.status_errors),
        static_cast<unsigned long long>(c_.timeouts), pct(50), pct(90), pct(99),
        l.empty() ? 0u : l.back());
    std::fflush(stdout);
  }

  const Options& o_;
  SSL_CTX* ctx_;
  std::string request_;
  std::vector<Slot> slots_;
  int epfd_ = -1;
  int64_t start_us_ = 0;
  Counts c_;
};

int Usage() {
  std::fprintf(stderr,
               "usage: tls_handshake_load -a HOST:PORT [-c CONNECTIONS=32] [-d SECONDS=10] "
               "[-p PATH=/small] [-s SNI=bench.test] [-t TIMEOUT_S=5]\n");
  return 2;
}

bool ParseAddress(const char* text, sockaddr_in* out) {
  std::string s(text);
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  out->sin_family = AF_INET;
  int port = std::atoi(s.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  out->sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, s.substr(0, colon).c_str(), &out->sin_addr) == 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool have_address = false;
  int opt;
  while ((opt = getopt(argc, argv, "a:c:d:p:s:t:")) != -1) {
    switch (opt) {
      case 'a':
        if (!ParseAddress(optarg, &o.address)) return Usage();
        have_address = true;
        break;
      case 'c':
        o.connections = std::atoi(optarg);
        break;
      case 'd':
        o.duration_s = std::atof(optarg);
        break;
      case 'p':
        o.path = optarg;
        break;
      case 's':
        o.sni = optarg;
        break;
      case 't':
        o.timeout_s = std::atof(optarg);
        break;
      default:
        return Usage();
    }
  }
  if (!have_address || o.connections < 1 || o.connections > 10000 || o.duration_s <= 0 ||
      o.timeout_s <= 0) {
    return Usage();
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return 1;
  // Every handshake a full one: no session cache, no tickets asked for or offered.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof(kAlpn) - 1);
  int rc = Load(o, ctx).Run();
  SSL_CTX_free(ctx);
  return rc;
}
