#include "common/health/probe.h"

#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/http/response_parser.h"
#include "common/net/socket.h"

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

Probe::~Probe() {
  loop_ = nullptr;
  if (fd_ >= 0) close(fd_);
}

void Probe::Start(const ProbeSpec* spec) {
  spec_ = spec;
  concluded_ = false;
  pending_ops_ = 0;
  sent_ = 0;
  received_ = 0;
  start_ns_ = uring::MonotonicNowNs();
  auto fd = net::NewTcpSocket(spec->address);
  if (!fd.ok()) {
    // Out of descriptors or memory. Reported from the timer, never from inside Start.
    concluded_ = true;
    verdict_ = {false, std::string(fd.status().message())};
    loop_->timers().Schedule(&timer_, loop_->now_ns());
    return;
  }
  fd_ = *fd;
  if (spec->http && buffer_ == nullptr) buffer_ = std::make_unique<char[]>(kMaxResponseHead);
  Submit(kConnect);
  loop_->timers().Schedule(&timer_, loop_->now_ns() + spec->timeout_ns);
}

void Probe::Submit(Op op) {
  io_uring_sqe* sqe = loop_->ring().GetSqe();
  switch (op) {
    case kConnect:
      io_uring_prep_connect(sqe, fd_, spec_->address.sockaddr_ptr(), spec_->address.length());
      break;
    case kSend:
      io_uring_prep_send(sqe, fd_, spec_->request.data() + sent_, spec_->request.size() - sent_,
                         MSG_NOSIGNAL);
      break;
    case kRecv:
      io_uring_prep_recv(sqe, fd_, buffer_.get() + received_, kMaxResponseHead - received_, 0);
      break;
  }
  io_uring_sqe_set_data64(sqe, uring::UserData(this, op));
  ++pending_ops_;
}

void Probe::OnCompletion(uint8_t op, int32_t res, uint32_t) {
  --pending_ops_;
  if (concluded_) {  // timed out or cancelled: this is the operation's last word
    MaybeFinish();
    return;
  }
  switch (op) {
    case kConnect:
      if (res < 0) return Conclude(false, DescribeError(-res));
      if (!spec_->http) return Conclude(true, "connected");
      return Submit(kSend);
    case kSend:
      if (res < 0) return Conclude(false, "send: " + DescribeError(-res));
      sent_ += static_cast<size_t>(res);
      return Submit(sent_ < spec_->request.size() ? kSend : kRecv);
    case kRecv: {
      if (res < 0) return Conclude(false, DescribeError(-res));
      received_ += static_cast<size_t>(res);
      std::optional<ProbeVerdict> verdict =
          JudgeHttpResponse(std::string_view(buffer_.get(), received_), res == 0, spec_->expect);
      if (verdict.has_value()) return Conclude(std::move(*verdict));
      if (received_ == kMaxResponseHead) {
        return Conclude(false, "malformed response: head too large");
      }
      return Submit(kRecv);
    }
    default:
      return;
  }
}

void Probe::Conclude(ProbeVerdict verdict) {
  if (concluded_) return;
  concluded_ = true;
  verdict_ = std::move(verdict);
  loop_->timers().Cancel(&timer_);
  if (pending_ops_ > 0) {
    // Cut the operation short; its completion (-ECANCELED, or a late success) ends the check.
    io_uring_sqe* sqe = loop_->ring().GetSqe();
    io_uring_prep_cancel_fd(sqe, fd_, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  }
  MaybeFinish();
}

void Probe::MaybeFinish() {
  if (!concluded_ || pending_ops_ > 0 || spec_ == nullptr) return;
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  ProbeOutcome outcome{std::move(verdict_), uring::MonotonicNowNs() - start_ns_};
  spec_ = nullptr;
  done_(outcome);  // may Start the next check
}

void Probe::OnTimer() {
  if (concluded_) {  // a verdict reached inside Start, delivered now
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
