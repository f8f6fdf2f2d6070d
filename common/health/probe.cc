#include "common/health/probe.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/http/response_parser.h"

namespace edge::health {

namespace {

// What a backend sends back ends up in logs and JSON: keep it short and printable ASCII.
std::string Printable(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace

std::string BuildHealthRequest(std::string_view path, std::string_view host,
                               std::string_view user_agent) {
  return absl::StrFormat(
      "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", path, host,
      user_agent);
}

std::optional<ProbeVerdict> JudgeHttpResponse(std::string_view received, bool eof,
                                              const ExpectStatus& expect) {
  http::HttpLimits limits;
  limits.max_header_bytes = Probe::kMaxResponseHead;
  limits.max_body_bytes = http::kUnlimitedBody;  // the body is never read
  http::HttpResponse response;
  size_t offset = 0;
  for (;;) {
    http::ParseResult r =
        http::ParseResponseHead(received.substr(offset), limits, http::Method::kGet, &response);
    if (r.error_status()) {
      return ProbeVerdict{false, absl::StrFormat("malformed response: %s", r.error.reason)};
    }
    if (r.need_more()) {
      if (!eof) return std::nullopt;
      return ProbeVerdict{false, offset == received.size()
                                     ? "connection closed without a response"
                                     : "connection closed inside the response head"};
    }
    if (response.status == 101) {
      return ProbeVerdict{false, "HTTP 101: the backend switched protocols"};
    }
    if (response.informational()) {  // 100 Continue, 103 Early Hints: the final one follows
      offset += r.consumed;
      continue;
    }
    std::string detail = absl::StrFormat("HTTP %d", response.status);
    if (!response.reason.empty()) {
      absl::StrAppendFormat(&detail, " %s", Printable(response.reason, 60));
    }
    return ProbeVerdict{expect.Matches(response.status), std::move(detail), response.status};
  }
}

std::string DescribeError(int error) {
  switch (error) {
    case ECONNREFUSED:
      return "connect refused";
    case ECONNRESET:
      return "reset by the backend";
    case EPIPE:
      return "connection closed by the backend";
    default:
      return absl::StrFormat("%s", strerror(error));
  }
}

Probe::Probe(uring::EventLoop* loop, Done done)
    : loop_(loop), done_(std::move(done)), timer_(&TimerThunk, this) {}

Probe::~Probe() = default;

void Probe::Start(const ProbeSpec* spec) {
  spec_ = spec;
  concluded_ = false;
  received_ = 0;
  start_ns_ = uring::MonotonicNowNs();
  socket_ = std::make_unique<uring::StreamSocket>(
      loop_, static_cast<uring::StreamSocket::Handler*>(this), nullptr);
  if (absl::Status connecting = socket_->Connect(spec->address); !connecting.ok()) {
    // Out of descriptors or memory. Reported from the timer, never from inside Start.
    socket_.reset();  // nothing was submitted
    concluded_ = true;
    verdict_ = {false, std::string(connecting.message())};
    loop_->timers().Schedule(&timer_, loop_->now_ns());
    return;
  }
  if (spec->http) {
    if (buffer_ == nullptr) buffer_ = std::make_unique<char[]>(kMaxResponseHead);
    socket_->Send(spec->request);  // leaves once connected
  }
  loop_->timers().Schedule(&timer_, loop_->now_ns() + spec->timeout_ns);
}

void Probe::OnSocketConnected(int error) {
  if (concluded_) return;
  if (error < 0) return Conclude(false, DescribeError(-error));
  if (!spec_->http) return Conclude(true, "connected");
}

void Probe::OnSocketData(std::string_view data) {
  if (concluded_) return;
  const size_t n = std::min(data.size(), kMaxResponseHead - received_);
  std::memcpy(buffer_.get() + received_, data.data(), n);
  received_ += n;
  std::optional<ProbeVerdict> verdict =
      JudgeHttpResponse(std::string_view(buffer_.get(), received_), false, spec_->expect);
  if (verdict.has_value()) return Conclude(std::move(*verdict));
  if (received_ == kMaxResponseHead) Conclude(false, "malformed response: head too large");
}

void Probe::OnSocketEnd(int error) {
  if (concluded_) return;
  if (error < 0) return Conclude(false, DescribeError(-error));
  if (!spec_->http) return Conclude(false, "connection closed by the backend");
  std::optional<ProbeVerdict> verdict =
      JudgeHttpResponse(std::string_view(buffer_.get(), received_), true, spec_->expect);
  Conclude(verdict.has_value() ? std::move(*verdict)
                               : ProbeVerdict{false, "connection closed without a response"});
}

void Probe::Conclude(ProbeVerdict verdict) {
  if (concluded_) return;
  concluded_ = true;
  verdict_ = std::move(verdict);
  loop_->timers().Cancel(&timer_);
  if (socket_ != nullptr && !socket_->closed()) {
    closing_ = true;
    socket_->Close();  // the release follows from the loop (at once if the loop has stopped)
    closing_ = false;
  }
  MaybeFinish();
}

void Probe::OnSocketReleased() {
  socket_.reset();  // the socket's last act: it touches nothing of its own after this call
  // Released inside Close() (a loop that has stopped): `done` is never called from inside
  // Cancel; the timer reports it if the loop ever runs again.
  if (closing_) {
    loop_->timers().Schedule(&timer_, loop_->now_ns());
    return;
  }
  MaybeFinish();
}

void Probe::MaybeFinish() {
  if (!concluded_ || socket_ != nullptr || spec_ == nullptr) return;
  ProbeOutcome outcome{std::move(verdict_), uring::MonotonicNowNs() - start_ns_};
  spec_ = nullptr;
  done_(outcome);  // may Start the next check
}

void Probe::OnTimer() {
  if (concluded_) {  // a verdict reached inside Start or Cancel, delivered now
    MaybeFinish();
    return;
  }
  Conclude(false, absl::StrFormat("timeout after %s",
                                  absl::FormatDuration(absl::Nanoseconds(spec_->timeout_ns))));
}

void Probe::Cancel() {
  if (!running()) return;
  Conclude(false, "cancelled");
}

}  // namespace edge::health
