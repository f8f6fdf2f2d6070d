#include "l7/upstream/health_probe.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace edge::l7 {
namespace {

http::HttpLimits ProbeLimits() {
  http::HttpLimits l;
  l.max_header_bytes = 16 * 1024;
  l.max_body_bytes = http::kUnlimitedBody;
  return l;
}

}  // namespace

bool HealthVerdict::Record(bool pass) {
  if (pass == up_) {
    streak_ = 0;
    return false;
  }
  ++streak_;
  if (streak_ < (up_ ? fall_ : rise_)) return false;
  up_ = !up_;
  streak_ = 0;
  return true;
}

HealthProbe::HealthProbe(uring::EventLoop* loop, const net::SocketAddress& server, std::string path,
                         int64_t interval_ns, int64_t timeout_ns, Callback callback)
    : loop_(loop),
      server_(server),
      request_(absl::StrFormat("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
                               "gw7-health-check\r\nConnection: close\r\n\r\n",
                               path, server.ToString())),
      interval_ns_(interval_ns),
      timeout_ns_(timeout_ns),
      callback_(std::move(callback)),
      tick_timer_(&TickThunk, this),
      timeout_timer_(&TimeoutThunk, this),
      parser_(ProbeLimits()) {}

HealthProbe::~HealthProbe() {
  loop_->timers().Cancel(&tick_timer_);
  loop_->timers().Cancel(&timeout_timer_);
  if (connection_ != nullptr) connection_->Close();  // detaches us
}

void HealthProbe::Start(int64_t first_delay_ns) {
  loop_->timers().Schedule(&tick_timer_, loop_->now_ns() + first_delay_ns);
}

void HealthProbe::OnTick() {
  loop_->timers().Schedule(&tick_timer_, loop_->now_ns() + interval_ns_);
  if (connection_ != nullptr) return;  // the previous check is still running (timeout < interval)
  response_.clear();
  parser_.Reset();
  auto c = UpstreamConnection::Connect(loop_, server_, this);
  if (!c.ok()) {
    Finish(false, std::string(c.status().message()));
    return;
  }
  connection_ = *c;
  connection_->Send(request_);
  loop_->timers().Schedule(&timeout_timer_, loop_->now_ns() + timeout_ns_);
}

void HealthProbe::Finish(bool pass, std::string_view detail) {
  loop_->timers().Cancel(&timeout_timer_);
  if (connection_ != nullptr) {
    connection_->Close();
    connection_ = nullptr;
  }
  callback_(pass, detail);
}

void HealthProbe::OnUpstreamConnected(UpstreamLink* c, int error) {
  if (c != connection_ || error == 0) return;
  connection_ = nullptr;
  Finish(false, absl::StrFormat("connect: %s", strerror(-error)));
}

void HealthProbe::OnUpstreamData(UpstreamLink* c, std::string_view data) {
  if (c != connection_) return;
  response_.append(data);
  for (;;) {
    http::ParseResult r = parser_.Parse(response_, http::Method::kGet, &parsed_);
    if (r.need_more()) return;
    if (r.error_status()) {
      Finish(false, absl::StrFormat("invalid response: %s", r.error.reason));
      return;
    }
    if (parsed_.informational()) {
      response_.erase(0, r.consumed);
      parser_.Reset();
      continue;
    }
    int status = parsed_.status;
    Finish(status >= 200 && status < 400, absl::StrFormat("%d", status));
    return;
  }
}

void HealthProbe::OnUpstreamClosed(UpstreamLink* c, int error) {
  if (c != connection_) return;
  connection_ = nullptr;
  Finish(false, error == 0 ? "closed before answering" : strerror(-error));
}

}  // namespace edge::l7
